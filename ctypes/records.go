package ctypes

import (
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/shm"
)

// A StructValue is one record of type T in a segment — Python's
// Value(Point) — found by name from any process. T is a struct of element
// types, nested structs and fixed arrays (see LayoutOf); its layout is
// stored with it, so C reads its fields and Python gets a numpy record.
//
// A record is bigger than one atomic access, so by default it has a robust
// recursive mutex beside it and Get, Set and Update hold it: a reader never
// sees half of a writer's record. With WithoutLock they copy without any
// lock, and a concurrent reader may see a torn record. Ptr gives the record
// in place, for code that takes the lock itself.
type StructValue[T any] struct {
	guard
	e elems[T]
}

// NewStructValue creates a record named name in seg holding init. Options
// choose the caller's own lock, or none.
func NewStructValue[T any](seg *shm.Segment, name string, init T, opts ...Option) (*StructValue[T], error) {
	if _, err := LayoutOf[T](); err != nil {
		return nil, errtext.Errorf("ctypes: create %q: %w", name, err)
	}
	c := choose(opts)
	e, err := createElems(seg, name, shm.KindValue, 1, c.lock == nil && !c.none, func(s []T) { s[0] = init })
	if err != nil {
		return nil, err
	}
	return structValueOf(e, c)
}

// OpenStructValue attaches to the record named name in seg. It fails with
// ErrTypeMismatch, naming the first field that differs, if the record was
// made from another layout.
func OpenStructValue[T any](seg *shm.Segment, name string, opts ...Option) (*StructValue[T], error) {
	if _, err := LayoutOf[T](); err != nil {
		return nil, errtext.Errorf("ctypes: open %q: %w", name, err)
	}
	e, err := openElems[T](seg, name, shm.KindValue)
	if err != nil {
		return nil, err
	}
	return structValueOf(e, choose(opts))
}

func structValueOf[T any](e elems[T], c lockChoice) (*StructValue[T], error) {
	g, err := guardFor(e, c)
	if err != nil {
		return nil, err
	}
	return &StructValue[T]{guard: g, e: e}, nil
}

// Name returns the record's name in its segment.
func (v *StructValue[T]) Name() string { return v.e.obj.Name }

// Layout returns the record's layout.
func (v *StructValue[T]) Layout() Layout { l, _ := LayoutOf[T](); return l }

// Get copies the record out, under the lock if it has one.
func (v *StructValue[T]) Get() (x T, err error) {
	err = v.e.doRead(v.guard, func() { x = v.e.data[0] })
	return x, err
}

// Set copies x in, under the lock if it has one.
func (v *StructValue[T]) Set(x T) error {
	return v.e.doWrite(v.guard, func() { v.e.data[0] = x })
}

// Update lets f change the record in place, under the lock if it has one.
func (v *StructValue[T]) Update(f func(*T)) error {
	return v.e.doWrite(v.guard, func() { f(&v.e.data[0]) })
}

// Ptr returns the record in shared memory. Its fields are plain memory:
// hold the lock, or use sync/atomic on single fields.
func (v *StructValue[T]) Ptr() *T { v.e.read(); return &v.e.data[0] }

// A StructArray is a fixed-length array of records of type T in a segment
// — Python's Array(Point, n) — with a robust recursive mutex beside it by
// default, as StructValue. Slice gives the records in place; numpy sees the
// same memory as a structured array.
type StructArray[T any] struct {
	guard
	e elems[T]
}

// NewStructArray creates an array of n zero records named name in seg.
func NewStructArray[T any](seg *shm.Segment, name string, n int, opts ...Option) (*StructArray[T], error) {
	if _, err := LayoutOf[T](); err != nil {
		return nil, errtext.Errorf("ctypes: create %q: %w", name, err)
	}
	c := choose(opts)
	e, err := createElems[T](seg, name, shm.KindArray, n, c.lock == nil && !c.none, nil)
	if err != nil {
		return nil, err
	}
	return structArrayOf(e, c)
}

// NewStructArrayFrom creates an array holding a copy of init.
func NewStructArrayFrom[T any](seg *shm.Segment, name string, init []T, opts ...Option) (*StructArray[T], error) {
	if _, err := LayoutOf[T](); err != nil {
		return nil, errtext.Errorf("ctypes: create %q: %w", name, err)
	}
	c := choose(opts)
	e, err := createElems(seg, name, shm.KindArray, len(init), c.lock == nil && !c.none, func(s []T) { copy(s, init) })
	if err != nil {
		return nil, err
	}
	return structArrayOf(e, c)
}

// OpenStructArray attaches to the array of records named name in seg; see
// OpenStructValue.
func OpenStructArray[T any](seg *shm.Segment, name string, opts ...Option) (*StructArray[T], error) {
	if _, err := LayoutOf[T](); err != nil {
		return nil, errtext.Errorf("ctypes: open %q: %w", name, err)
	}
	e, err := openElems[T](seg, name, shm.KindArray)
	if err != nil {
		return nil, err
	}
	return structArrayOf(e, choose(opts))
}

func structArrayOf[T any](e elems[T], c lockChoice) (*StructArray[T], error) {
	g, err := guardFor(e, c)
	if err != nil {
		return nil, err
	}
	return &StructArray[T]{guard: g, e: e}, nil
}

// Name returns the array's name in its segment.
func (a *StructArray[T]) Name() string { return a.e.obj.Name }

// Len returns the number of records.
func (a *StructArray[T]) Len() int { return len(a.e.data) }

// Layout returns the records' layout.
func (a *StructArray[T]) Layout() Layout { l, _ := LayoutOf[T](); return l }

// At copies record i out, under the lock if there is one. An index out of
// range panics, as for a Go slice.
func (a *StructArray[T]) At(i int) (x T, err error) {
	_ = a.e.data[i]
	err = a.e.doRead(a.guard, func() { x = a.e.data[i] })
	return x, err
}

// Set copies x into record i, under the lock if there is one.
func (a *StructArray[T]) Set(i int, x T) error {
	_ = a.e.data[i]
	return a.e.doWrite(a.guard, func() { a.e.data[i] = x })
}

// Update lets f change the records in place, under the lock if there is one.
func (a *StructArray[T]) Update(f func(records []T)) error {
	return a.e.doWrite(a.guard, func() { f(a.e.data) })
}

// Slice returns the records in shared memory, as plain memory.
func (a *StructArray[T]) Slice() []T { a.e.read(); return a.e.data }

// doRead and doWrite run f under g's lock, or without one if g has none,
// after checking that the object may be read or written.
func (e *elems[T]) doRead(g guard, f func()) error {
	if e.seg.Closed() {
		return unusable(e.seg, e.obj.Name, "read of")
	}
	return g.doOrRun(f)
}

func (e *elems[T]) doWrite(g guard, f func()) error {
	if err := e.writable(); err != nil {
		return err
	}
	return g.doOrRun(f)
}

// doOrRun runs f under the lock, or just runs it if there is none.
func (g guard) doOrRun(f func()) error {
	if g.lock == nil {
		f()
		return nil
	}
	return g.do(f)
}
