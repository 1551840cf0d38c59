package ctypes

import "github.com/shmkit/shmkit/shm"

// A RawArray is a fixed-length array of T in a shared memory segment, with
// no lock (Python's RawArray), found by name from any process. At, Set and
// Add are atomic per element; Slice, CopyFrom and CopyTo are plain memory
// access, for speed, like Python's slices. An index out of range panics, as
// it does for a Go slice.
//
// A RawArray and its Slice must not be used after its segment is closed:
// the memory is gone and access faults.
type RawArray[T Elem] struct {
	e elems[T]
}

// NewRawArray creates a zeroed array of n elements named name in seg.
func NewRawArray[T Elem](seg *shm.Segment, name string, n int) (*RawArray[T], error) {
	e, err := createElems[T](seg, name, shm.KindArray, n, false, nil)
	if err != nil {
		return nil, err
	}
	return &RawArray[T]{e}, nil
}

// NewRawArrayFrom creates an array holding a copy of init.
func NewRawArrayFrom[T Elem](seg *shm.Segment, name string, init []T) (*RawArray[T], error) {
	e, err := createElems(seg, name, shm.KindArray, len(init), false, func(s []T) { copy(s, init) })
	if err != nil {
		return nil, err
	}
	return &RawArray[T]{e}, nil
}

// OpenRawArray attaches to the array named name in seg. It fails with
// ErrTypeMismatch if the array holds another element type.
func OpenRawArray[T Elem](seg *shm.Segment, name string) (*RawArray[T], error) {
	e, err := openElems[T](seg, name, shm.KindArray)
	if err != nil {
		return nil, err
	}
	return &RawArray[T]{e}, nil
}

// Name returns the array's name in its segment.
func (a *RawArray[T]) Name() string { return a.e.obj.Name }

// Typecode returns the array's typecode.
func (a *RawArray[T]) Typecode() Typecode { return TypecodeOf[T]() }

// Len returns the number of elements.
func (a *RawArray[T]) Len() int { return len(a.e.data) }

// At reads element i.
func (a *RawArray[T]) At(i int) T { a.e.read(); return load(&a.e.data[i]) }

// Set writes element i.
func (a *RawArray[T]) Set(i int, v T) { a.e.write(); store(&a.e.data[i], v) }

// Add adds delta to element i and returns the new value.
func (a *RawArray[T]) Add(i int, delta T) T {
	a.e.write()
	if hasXadd[T]() { // as RawValue.Add
		return xadd(&a.e.data[i], delta)
	}
	return addCAS(&a.e.data[i], delta)
}

// CompareAndSwap stores new in element i if it is old (bitwise).
func (a *RawArray[T]) CompareAndSwap(i int, old, new T) bool {
	a.e.write()
	return cas(&a.e.data[i], old, new)
}

// Slice returns the elements as a Go slice over the shared memory itself:
// writes are seen by every process, and other processes' writes show
// through. It is valid until the segment is closed.
func (a *RawArray[T]) Slice() []T { return a.e.data }

// CopyFrom copies src into the array from element 0 and returns how many
// elements it copied, as copy does.
func (a *RawArray[T]) CopyFrom(src []T) int { a.e.write(); return copy(a.e.data, src) }

// CopyTo copies the array into dst and returns how many elements it copied.
func (a *RawArray[T]) CopyTo(dst []T) int { a.e.read(); return copy(dst, a.e.data) }

// An Array is a RawArray with a lock (Python's Array): by default a robust
// recursive mutex stored beside it in the segment. Lock, Unlock and GetLock
// work on it.
type Array[T Elem] struct {
	guard
	raw *RawArray[T]
}

// NewArray creates a zeroed, locked array of n elements.
func NewArray[T Elem](seg *shm.Segment, name string, n int, opts ...Option) (*Array[T], error) {
	c := choose(opts)
	e, err := createElems[T](seg, name, shm.KindArray, n, c.lock == nil && !c.none, nil)
	if err != nil {
		return nil, err
	}
	return arrayOf(e, c)
}

// NewArrayFrom creates a locked array holding a copy of init.
func NewArrayFrom[T Elem](seg *shm.Segment, name string, init []T, opts ...Option) (*Array[T], error) {
	c := choose(opts)
	e, err := createElems(seg, name, shm.KindArray, len(init), c.lock == nil && !c.none, func(s []T) { copy(s, init) })
	if err != nil {
		return nil, err
	}
	return arrayOf(e, c)
}

// OpenArray attaches to the array named name in seg, with its own lock
// unless an option says otherwise.
func OpenArray[T Elem](seg *shm.Segment, name string, opts ...Option) (*Array[T], error) {
	e, err := openElems[T](seg, name, shm.KindArray)
	if err != nil {
		return nil, err
	}
	return arrayOf(e, choose(opts))
}

func arrayOf[T Elem](e elems[T], c lockChoice) (*Array[T], error) {
	g, err := guardFor(e, c)
	if err != nil {
		return nil, err
	}
	return &Array[T]{guard: g, raw: &RawArray[T]{e}}, nil
}

// Raw returns the array without its lock.
func (a *Array[T]) Raw() *RawArray[T] { return a.raw }

// Len returns the number of elements.
func (a *Array[T]) Len() int { return a.raw.Len() }

// At reads element i under the lock.
func (a *Array[T]) At(i int) (v T, err error) {
	_ = a.raw.e.data[i] // out of range panics before locking
	err = a.do(func() { v = a.raw.At(i) })
	return v, err
}

// Set writes element i under the lock.
func (a *Array[T]) Set(i int, v T) error {
	_ = a.raw.e.data[i]
	return a.do(func() { a.raw.Set(i, v) })
}

// Update runs f on the live elements while holding the lock: the locked
// form of Python's `with arr.get_lock(): ...`.
func (a *Array[T]) Update(f func(elems []T)) error {
	return a.do(func() { f(a.raw.Slice()) })
}
