package dict

import (
	"errors"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/shm"
)

// A List is a shared list of mixed values (the types Dict holds), as
// Python's Manager().list(). Every change is atomic: a writer killed
// during Insert or Reverse leaves the list as it was before or after.
// Safe for concurrent use.
type List struct{ c *handle }

// NewList makes an empty list named name in seg.
func NewList(seg *shm.Segment, name string) (*List, error) {
	c, err := create(seg, name, true)
	if err != nil {
		return nil, err
	}
	return &List{c}, nil
}

// OpenList opens the list named name in seg.
func OpenList(seg *shm.Segment, name string) (*List, error) {
	c, err := open(seg, name, true)
	if err != nil {
		return nil, err
	}
	return &List{c}, nil
}

// Close releases this process's mapping; the list stays.
func (l *List) Close() error { return l.c.close() }

// Unlink removes the list's heap file (see Dict.Unlink).
func (l *List) Unlink() error { return l.c.unlink() }

// Stats reports the list's size and space.
func (l *List) Stats() (Stats, error) { return l.c.stats() }

// Len is the number of items.
func (l *List) Len() (int, error) { return l.c.length() }

// Clear removes every item.
func (l *List) Clear() error { return l.c.clear() }

// Get returns item i; ErrIndex if i is out of range.
func (l *List) Get(i int) (any, error) { return l.take("get", i, cbind.DictHandle.ListGet) }

// take reads item i by fetch (which may also remove it) and decodes it,
// on the handle once entered.
func (l *List) take(op string, i int, fetch func(h cbind.DictHandle, i int, buf []byte) (int, int, error)) (any, error) {
	if i < 0 {
		return nil, ErrIndex
	}
	if err := l.c.enter(); err != nil {
		return nil, err
	}
	defer l.c.leave()
	var v any
	err := read(func(buf []byte) (int, int, error) { return fetch(l.c.h, i, buf) },
		func(tag int, b []byte) (err error) { v, err = decode(tag, b); return })
	return v, wrap(l.c.name, op, err)
}

// Set replaces item i.
func (l *List) Set(i int, v any) error { return l.put("set", i, v, cbind.DictHandle.ListSet) }

// Insert puts v before item i (i >= Len appends).
func (l *List) Insert(i int, v any) error { return l.put("insert", i, v, cbind.DictHandle.ListInsert) }

// put encodes v and stores it at index i by store, on the handle once entered.
func (l *List) put(op string, i int, v any, store func(h cbind.DictHandle, i, vtag int, val []byte) error) error {
	if i < 0 {
		return ErrIndex
	}
	vt, vb, err := encode(v)
	if err != nil {
		return err
	}
	if err := l.c.enter(); err != nil {
		return err
	}
	defer l.c.leave()
	return wrap(l.c.name, op, store(l.c.h, i, vt, vb))
}

// Append adds v at the end.
func (l *List) Append(v any) error { return l.Insert(int(^uint(0)>>1), v) }

// Extend appends each of vs in turn (each append is atomic, the whole is not).
func (l *List) Extend(vs ...any) error {
	for _, v := range vs {
		if err := l.Append(v); err != nil {
			return err
		}
	}
	return nil
}

// Pop removes item i and returns it.
func (l *List) Pop(i int) (any, error) { return l.take("pop", i, cbind.DictHandle.ListPop) }

// Reverse reverses the list in place, in one atomic step.
func (l *List) Reverse() error {
	if err := l.c.enter(); err != nil {
		return err
	}
	defer l.c.leave()
	return wrap(l.c.name, "reverse", l.c.h.ListReverse())
}

// Items returns a copy of the list, item by item (each read is atomic; a
// list changed meanwhile may be seen partly before and partly after).
func (l *List) Items() ([]any, error) {
	var out []any
	for i := 0; ; i++ {
		v, err := l.Get(i)
		if errors.Is(err, ErrIndex) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
}
