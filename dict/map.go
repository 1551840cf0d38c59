package dict

import (
	"encoding/binary"
	"errors"
	"syscall"

	"github.com/shmkit/shmkit/internal/cbind"

	"github.com/shmkit/shmkit/shm"
)

// Key is what a typed Map's keys may be.
type Key interface {
	~string | ~[]byte | ~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

// Value is what a typed Map's values may be.
type Value interface {
	Key | ~bool | ~float32 | ~float64
}

// A Map is a shared dict with keys of type K and values of type V, in the
// same encoding as Dict: a Python process sees str, bytes, int, float and
// bool. A stored value that V cannot hold (another process wrote a str
// into a Map[string, int64]) is ErrType. Safe for concurrent use.
type Map[K Key, V Value] struct{ c *handle }

// NewMap makes an empty map named name in seg.
func NewMap[K Key, V Value](seg *shm.Segment, name string) (*Map[K, V], error) {
	c, err := create(seg, name, false)
	if err != nil {
		return nil, err
	}
	return &Map[K, V]{c}, nil
}

// OpenMap opens the dict named name in seg as a Map.
func OpenMap[K Key, V Value](seg *shm.Segment, name string) (*Map[K, V], error) {
	c, err := open(seg, name, false)
	if err != nil {
		return nil, err
	}
	return &Map[K, V]{c}, nil
}

// encodeKey is encode for the common key and value types without boxing.
func encodeKey[T Value](k T, scratch *[8]byte) (int, []byte, error) {
	switch x := any(k).(type) {
	case string:
		return tagStr, stringBytes(x), nil
	case int64:
		binary.LittleEndian.PutUint64(scratch[:], uint64(x))
		return tagInt, scratch[:], nil
	case int:
		binary.LittleEndian.PutUint64(scratch[:], uint64(x))
		return tagInt, scratch[:], nil
	}
	return encode(k)
}

// Close releases this process's mapping; the dict stays.
func (m *Map[K, V]) Close() error { return m.c.close() }

// Unlink removes the dict's heap file (see Dict.Unlink).
func (m *Map[K, V]) Unlink() error { return m.c.unlink() }

// Stats reports the map's size and space.
func (m *Map[K, V]) Stats() (Stats, error) { return m.c.stats() }

// Get returns the key's value and whether it has one.
func (m *Map[K, V]) Get(k K) (V, bool, error) {
	var s [8]byte
	var v V
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return v, false, err
	}
	c := m.c
	if err := c.enter(); err != nil {
		return v, false, err
	}
	defer c.leave()
	var small [64]byte // most values fit: no buffer to fetch
	tag, n, err := c.get(kt, kb, small[:])
	switch {
	case err == nil:
		v, err = decodeAs[V](tag, small[:n])
		return v, err == nil, err
	case errors.Is(err, cbind.ShortBuf):
		return getLarge[V](c, kt, kb)
	case errors.Is(err, syscall.ENOENT):
		return v, false, nil
	}
	return v, false, wrap(c.name, "get", err)
}

// getLarge is Get for a value that did not fit Get's own buffer.
func getLarge[V Value](c *handle, kt int, kb []byte) (V, bool, error) {
	var v V
	ok, err := c.read(kt, kb, func(tag int, b []byte) (err error) { v, err = decodeAs[V](tag, b); return })
	return v, ok && err == nil, err
}

// Set stores v under k.
func (m *Map[K, V]) Set(k K, v V) error {
	var s, t [8]byte
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return err
	}
	vt, vb, err := encodeKey(v, &t)
	if err != nil {
		return err
	}
	return m.c.set(kt, kb, vt, vb)
}

// Delete removes k and reports whether it had a value.
func (m *Map[K, V]) Delete(k K) (bool, error) {
	var s [8]byte
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return false, err
	}
	return m.c.delete(kt, kb)
}

// Len is the number of keys.
func (m *Map[K, V]) Len() (int, error) { return m.c.length() }

// Clear removes every key.
func (m *Map[K, V]) Clear() error { return m.c.clear() }

// LoadOrStore returns k's value if it has one (loaded true), else stores v
// and returns it.
func (m *Map[K, V]) LoadOrStore(k K, v V) (actual V, loaded bool, err error) {
	var s, t [8]byte
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return v, false, err
	}
	vt, vb, err := encodeKey(v, &t)
	if err != nil {
		return v, false, err
	}
	actual = v
	loaded, err = m.c.loadOrStore(kt, kb, vt, vb, func(tag int, b []byte) (err error) { actual, err = decodeAs[V](tag, b); return })
	return actual, loaded, err
}

// CompareAndSwap stores newValue if k's value is old.
func (m *Map[K, V]) CompareAndSwap(k K, old, newValue V) (bool, error) {
	var s, t, u [8]byte
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return false, err
	}
	ot, ob, err := encodeKey(old, &t)
	if err != nil {
		return false, err
	}
	nt, nb, err := encodeKey(newValue, &u)
	if err != nil {
		return false, err
	}
	return m.c.cas(kt, kb, ot, ob, nt, nb)
}

// Update sets k to fn(old, ok) atomically (see Dict.Update) and returns
// what it stored.
func (m *Map[K, V]) Update(k K, fn func(old V, ok bool) V) (V, error) {
	var s, t [8]byte
	var stored V
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return stored, err
	}
	err = m.c.update(kt, kb, func(tag int, b []byte, ok bool) (int, []byte, error) {
		var old V
		if ok {
			if old, err = decodeAs[V](tag, b); err != nil {
				return 0, nil, err
			}
		}
		stored = fn(old, ok)
		vt, vb, err := encodeKey(stored, &t)
		return vt, append([]byte{}, vb...), err
	})
	if err != nil {
		var zero V
		return zero, err // stored was not stored
	}
	return stored, nil
}

// Add adds delta to k's integer value (none counts as 0) under the writer
// lock, and returns the new value.
func (m *Map[K, V]) Add(k K, delta int64) (int64, error) {
	if ks, ok := any(k).(string); ok { // before s, which escapes
		return m.c.add(tagStr, stringBytes(ks), delta)
	}
	var s [8]byte
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return 0, err
	}
	return m.c.add(kt, kb, delta)
}

// Range calls fn for each key and value until fn returns false (see
// Dict.Range).
func (m *Map[K, V]) Range(fn func(k K, v V) bool) error {
	return m.c.each(func(kt int, kb []byte, vt int, vb []byte) (bool, error) {
		k, err := decodeAs[K](kt, kb)
		if err != nil {
			return false, err
		}
		v, err := decodeAs[V](vt, vb)
		if err != nil {
			return false, err
		}
		return fn(k, v), nil
	})
}
