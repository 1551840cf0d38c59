package ctypes

import "github.com/shmkit/shmkit/shm"

// A RawValue is one element of type T in a shared memory segment, with no
// lock (Python's RawValue), found by name from any process. Every method is
// atomic, so unlike Python's `v.value += 1`, Add never loses an update.
//
// A RawValue must not be used after its segment is closed: its memory is
// gone and access faults.
type RawValue[T Elem] struct {
	e elems[T]
	p *T // the element
}

func rawValue[T Elem](e elems[T]) *RawValue[T] { return &RawValue[T]{e: e, p: &e.data[0]} }

// NewRawValue creates a value named name in seg holding init.
func NewRawValue[T Elem](seg *shm.Segment, name string, init T) (*RawValue[T], error) {
	e, err := createElems(seg, name, shm.KindValue, 1, false, func(s []T) { s[0] = init })
	if err != nil {
		return nil, err
	}
	return rawValue(e), nil
}

// OpenRawValue attaches to the value named name in seg. It fails with
// ErrTypeMismatch if the value holds another element type.
func OpenRawValue[T Elem](seg *shm.Segment, name string) (*RawValue[T], error) {
	e, err := openElems[T](seg, name, shm.KindValue)
	if err != nil {
		return nil, err
	}
	return rawValue(e), nil
}

// Name returns the value's name in its segment.
func (v *RawValue[T]) Name() string { return v.e.obj.Name }

// Typecode returns the value's typecode.
func (v *RawValue[T]) Typecode() Typecode { return TypecodeOf[T]() }

// Load reads the value.
func (v *RawValue[T]) Load() T { v.e.read(); return load(v.p) }

// Store writes the value.
func (v *RawValue[T]) Store(x T) { v.e.write(); store(v.p, x) }

// storeHeld is Store by a holder of the value's lock (see storeHeld).
func (v *RawValue[T]) storeHeld(x T) { v.e.write(); storeHeld(v.p, x) }

// Add adds delta and returns the new value. Integers wrap around as in C;
// floats are added with a compare-and-swap loop.
func (v *RawValue[T]) Add(delta T) T {
	v.e.write()
	if hasXadd[T]() { // spelled out so that a counter's add makes one call
		return xadd(v.p, delta)
	}
	return addCAS(v.p, delta)
}

// Swap stores x and returns the old value.
func (v *RawValue[T]) Swap(x T) T { v.e.write(); return swap(v.p, x) }

// CompareAndSwap stores new if the value is old, comparing bit patterns
// (so for floats, NaN can match and -0 does not match +0).
func (v *RawValue[T]) CompareAndSwap(old, new T) bool {
	v.e.write()
	return cas(v.p, old, new)
}

// Ptr returns a pointer to the element in shared memory, for use with
// sync/atomic or by code that knows what it is doing.
func (v *RawValue[T]) Ptr() *T { return &v.e.data[0] }

// A Value is a RawValue with a lock (Python's Value): by default a robust
// recursive mutex stored beside it in the segment, so every process that
// opens the value shares the lock. Lock, Unlock and GetLock work on it.
type Value[T Elem] struct {
	guard
	raw *RawValue[T]
}

// NewValue creates a locked value named name in seg holding init. Options
// choose the caller's own lock, or none.
func NewValue[T Elem](seg *shm.Segment, name string, init T, opts ...Option) (*Value[T], error) {
	c := choose(opts)
	e, err := createElems(seg, name, shm.KindValue, 1, c.lock == nil && !c.none, func(s []T) { s[0] = init })
	if err != nil {
		return nil, err
	}
	return valueOf(e, c)
}

// OpenValue attaches to the value named name in seg, with its own lock
// unless an option says otherwise.
func OpenValue[T Elem](seg *shm.Segment, name string, opts ...Option) (*Value[T], error) {
	e, err := openElems[T](seg, name, shm.KindValue)
	if err != nil {
		return nil, err
	}
	return valueOf(e, choose(opts))
}

func valueOf[T Elem](e elems[T], c lockChoice) (*Value[T], error) {
	g, err := guardFor(e, c)
	if err != nil {
		return nil, err
	}
	return &Value[T]{guard: g, raw: rawValue(e)}, nil
}

// Raw returns the value without its lock.
func (v *Value[T]) Raw() *RawValue[T] { return v.raw }

// Get reads the value under its lock. If the lock's last holder died, the
// value is still read and semaphore.ErrOwnerDead is returned with it.
func (v *Value[T]) Get() (x T, err error) {
	err = v.do(func() { x = v.raw.Load() })
	return x, err
}

// Set writes the value under its lock.
func (v *Value[T]) Set(x T) error { return v.do(func() { v.raw.storeHeld(x) }) }

// Update replaces the value with f(value) under the lock and returns the
// result: the locked form of Python's `with v.get_lock(): v.value += 1`.
func (v *Value[T]) Update(f func(T) T) (x T, err error) {
	if m := v.rm; m != nil { // do, spelt out: no closure, for a counter's hot path
		if err = m.Lock(); err == nil {
			// The lock found the segment open and writable; the write
			// asks again, after f.
			x = f(load(v.raw.p))
			v.raw.e.write()
			storeHeld(v.raw.p, x)
			return x, m.Unlock()
		}
		err = lockedAfter(m, err, func() { x = f(v.raw.Load()); v.raw.storeHeld(x) })
		return x, err
	}
	err = v.do(func() { x = f(v.raw.Load()); v.raw.storeHeld(x) })
	return x, err
}
