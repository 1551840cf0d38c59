package dict

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/shm"
)

// A Dict is a shared dict of mixed keys and values, as a Python dict
// holds: keys and values are nil, bool, int64 (any Go integer), float64,
// string, []byte or Pickled. Safe for concurrent use.
type Dict struct{ c *handle }

// New makes an empty dict named name in seg.
func New(seg *shm.Segment, name string) (*Dict, error) {
	c, err := create(seg, name, false)
	if err != nil {
		return nil, err
	}
	return &Dict{c}, nil
}

// Open opens the dict named name in seg.
func Open(seg *shm.Segment, name string) (*Dict, error) {
	c, err := open(seg, name, false)
	if err != nil {
		return nil, err
	}
	return &Dict{c}, nil
}

// Close releases this process's mapping of the dict; the dict stays. Calls
// begun before it finish first (the mapping goes when the last returns);
// calls after it, a Range's function's included, are ErrClosed.
func (d *Dict) Close() error { return d.c.close() }

// Unlink removes the dict's heap file from /dev/shm: processes that have it
// open keep using it; nobody can open it again.
func (d *Dict) Unlink() error { return d.c.unlink() }

// Stats reports the dict's size and space.
func (d *Dict) Stats() (Stats, error) { return d.c.stats() }

// getRaw reads the key's value into use; ok false if it has none.
func (c *handle) getRaw(ktag int, key []byte, use func(tag int, b []byte) error) (bool, error) {
	if err := c.enter(); err != nil {
		return false, err
	}
	defer c.leave()
	return c.read(ktag, key, use)
}

// read is getRaw for a caller that has entered c.
func (c *handle) read(ktag int, key []byte, use func(tag int, b []byte) error) (bool, error) {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	for {
		tag, n, err := c.get(ktag, key, *bp)
		switch {
		case errors.Is(err, cbind.ShortBuf):
			*bp = make([]byte, n+n/4)
			continue
		case errors.Is(err, syscall.ENOENT):
			return false, nil
		case err != nil:
			return false, wrap(c.name, "get", err)
		}
		return true, use(tag, (*bp)[:n])
	}
}

// encodeAnyKey is encode for a Dict's key, which may not be a Record:
// a record is a value only.
func encodeAnyKey(key any) (int, []byte, error) {
	if _, ok := key.(Record); ok {
		return 0, nil, fmt.Errorf("%w: a record is a value, never a key", ErrType)
	}
	return encode(key)
}

// Get returns the key's value and whether it has one.
func (d *Dict) Get(key any) (any, bool, error) {
	kt, kb, err := encodeAnyKey(key)
	if err != nil {
		return nil, false, err
	}
	var v any
	ok, err := d.c.getRaw(kt, kb, func(tag int, b []byte) (err error) { v, err = decode(tag, b); return })
	return v, ok, err
}

func (c *handle) set(kt int, kb []byte, vt int, vb []byte) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	return wrap(c.name, "set", c.h.Set(kt, kb, vt, vb))
}

// Set stores value under key.
func (d *Dict) Set(key, value any) error {
	kt, kb, err := encodeAnyKey(key)
	if err != nil {
		return err
	}
	vt, vb, err := encode(value)
	if err != nil {
		return err
	}
	return d.c.set(kt, kb, vt, vb)
}

func (c *handle) delete(kt int, kb []byte) (bool, error) {
	if err := c.enter(); err != nil {
		return false, err
	}
	defer c.leave()
	err := c.h.Delete(kt, kb)
	if errors.Is(err, syscall.ENOENT) {
		return false, nil
	}
	return err == nil, wrap(c.name, "delete", err)
}

// Delete removes key and reports whether it had a value.
func (d *Dict) Delete(key any) (bool, error) {
	kt, kb, err := encodeAnyKey(key)
	if err != nil {
		return false, err
	}
	return d.c.delete(kt, kb)
}

func (c *handle) length() (int, error) {
	if err := c.enter(); err != nil {
		return 0, err
	}
	defer c.leave()
	n, err := c.h.Len()
	return n, wrap(c.name, "len", err)
}

// Len is the number of keys.
func (d *Dict) Len() (int, error) { return d.c.length() }

func (c *handle) clear() error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	return wrap(c.name, "clear", c.h.Clear())
}

// Clear removes every key.
func (d *Dict) Clear() error { return d.c.clear() }

func (c *handle) loadOrStore(kt int, kb []byte, vt int, vb []byte, use func(tag int, b []byte) error) (bool, error) {
	if err := c.enter(); err != nil {
		return false, err
	}
	defer c.leave()
	var loaded bool
	err := read(func(buf []byte) (int, int, error) {
		l, tag, n, err := c.h.LoadOrStore(kt, kb, vt, vb, buf)
		loaded = l
		return tag, n, err
	}, func(tag int, b []byte) error {
		if loaded {
			return use(tag, b)
		}
		return nil
	})
	return loaded, wrap(c.name, "load or store", err)
}

// LoadOrStore returns the key's value if it has one (loaded true), else
// stores value and returns it.
func (d *Dict) LoadOrStore(key, value any) (actual any, loaded bool, err error) {
	kt, kb, err := encodeAnyKey(key)
	if err != nil {
		return nil, false, err
	}
	vt, vb, err := encode(value)
	if err != nil {
		return nil, false, err
	}
	actual = value
	loaded, err = d.c.loadOrStore(kt, kb, vt, vb, func(tag int, b []byte) (err error) { actual, err = decode(tag, b); return })
	return actual, loaded, err
}

func (c *handle) cas(kt int, kb []byte, ot int, ob []byte, nt int, nb []byte) (bool, error) {
	if err := c.enter(); err != nil {
		return false, err
	}
	defer c.leave()
	ok, err := c.h.CompareAndSwap(kt, kb, ot, ob, nt, nb)
	return ok, wrap(c.name, "compare and swap", err)
}

// CompareAndSwap stores newValue if key's value is old (same type and
// bytes) and reports whether it did.
func (d *Dict) CompareAndSwap(key, old, newValue any) (bool, error) {
	kt, kb, err := encodeAnyKey(key)
	if err != nil {
		return false, err
	}
	ot, ob, err := encode(old)
	if err != nil {
		return false, err
	}
	nt, nb, err := encode(newValue)
	if err != nil {
		return false, err
	}
	return d.c.cas(kt, kb, ot, ob, nt, nb)
}

// update runs fn on the key's value until a compare-and-swap of the old
// value for fn's result succeeds: atomic per key, without holding the
// writer lock while fn runs (fn may run more than once).
func (c *handle) update(kt int, kb []byte, fn func(tag int, b []byte, ok bool) (int, []byte, error)) error {
	for {
		var ot int
		var ob []byte
		ok, err := c.getRaw(kt, kb, func(tag int, b []byte) error { ot, ob = tag, append([]byte{}, b...); return nil })
		if err != nil {
			return err
		}
		nt, nb, err := fn(ot, ob, ok)
		if err != nil {
			return err
		}
		if !ok {
			ot = tagAbsent
		}
		swapped, err := c.cas(kt, kb, ot, ob, nt, nb)
		if err != nil || swapped {
			return err
		}
	}
}

// Update sets key to fn(old, ok) atomically: fn sees the current value
// (ok false if none), and if another process changed it meanwhile fn runs
// again on the new one. It returns what was stored (nil with an error).
func (d *Dict) Update(key any, fn func(old any, ok bool) (any, error)) (any, error) {
	kt, kb, err := encodeAnyKey(key)
	if err != nil {
		return nil, err
	}
	var stored any
	err = d.c.update(kt, kb, func(tag int, b []byte, ok bool) (int, []byte, error) {
		var old any
		if ok {
			if old, err = decode(tag, b); err != nil {
				return 0, nil, err
			}
		}
		nv, err := fn(old, ok)
		if err != nil {
			return 0, nil, err
		}
		stored = nv
		return encode(nv)
	})
	if err != nil {
		return nil, err // stored was not stored
	}
	return stored, nil
}

func (c *handle) add(kt int, kb []byte, delta int64) (int64, error) {
	if err := c.enter(); err != nil {
		return 0, err
	}
	defer c.leave()
	if n, ok := c.goAdd(kt, kb, delta); ok {
		return n, nil
	}
	n, err := c.h.Add(kt, kb, delta)
	return n, wrap(c.name, "add", err)
}

// Add adds delta to key's integer value (none counts as 0) under the
// writer lock and returns the new value: the counter d["year"] += 1 needs.
func (d *Dict) Add(key any, delta int64) (int64, error) {
	kt, kb, err := encodeAnyKey(key)
	if err != nil {
		return 0, err
	}
	return d.c.add(kt, kb, delta)
}

// each calls fn for every item; a key present for the whole walk is seen
// exactly once, even if the table grows meanwhile.
func (c *handle) each(fn func(kt int, kb []byte, vt int, vb []byte) (bool, error)) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	var cur cbind.DictCursor
	kbuf, vbuf := make([]byte, 64), make([]byte, 256)
	seen := map[string]struct{}{}
	for {
		kt, kl, vt, vl, _, err := c.h.Next(&cur, kbuf, vbuf)
		if errors.Is(err, cbind.ShortBuf) {
			kbuf, vbuf = make([]byte, max(kl, len(kbuf))), make([]byte, max(vl, len(vbuf)))
			continue
		}
		if errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if err != nil {
			return wrap(c.name, "range", err)
		}
		id := string(append([]byte{byte(kt)}, kbuf[:kl]...))
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		more, err := fn(kt, bytes.Clone(kbuf[:kl]), vt, vbuf[:vl])
		if err != nil || !more {
			return err
		}
	}
}

// Range calls fn for each key and value until fn returns false. Writes by
// others during the walk may or may not be seen; a key present throughout
// is seen exactly once.
func (d *Dict) Range(fn func(key, value any) bool) error {
	return d.c.each(func(kt int, kb []byte, vt int, vb []byte) (bool, error) {
		k, err := decode(kt, kb)
		if err != nil {
			return false, err
		}
		v, err := decode(vt, vb)
		if err != nil {
			return false, err
		}
		return fn(k, v), nil
	})
}
