package ctypes

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/shmkit/shmkit/internal/elem"
	"github.com/shmkit/shmkit/internal/embed"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// elems is a value's or array's place in a segment: its elements, and the
// bytes of its embedded mutex if it has one.
type elems[T any] struct {
	seg  *shm.Segment
	obj  shm.Object
	data []T
	lock []byte // nil unless layout.FlagLocked
}

// write is asked by every raw write, which has no error to return: on a
// read-only attach, or after the segment's Close, it panics with an error
// wrapping shm.ErrReadOnly or shm.ErrClosed, as a send on a closed Go
// channel panics, rather than fault. It is small enough to inline, with
// one load and no call on the way, so that RawValue.Add and the like make
// no call but their own.
func (e *elems[T]) write() {
	if objects.Core(e.seg).RefusesWrites() {
		panic(unusable(e.seg, e.obj.Name, "write to"))
	}
}

// read is asked by every raw read: after Close it panics as write does.
func (e *elems[T]) read() {
	if e.seg.Closed() {
		panic(unusable(e.seg, e.obj.Name, "read of"))
	}
}

// writable is write's answer as an error, for methods that return one.
func (e *elems[T]) writable() error {
	if objects.Core(e.seg).RefusesWrites() {
		return unusable(e.seg, e.obj.Name, "write to")
	}
	return nil
}

// unusable is the error of an operation on a closed segment, or of a
// write to a read-only one.
func unusable(seg *shm.Segment, name, op string) error {
	return &refusal{name, op, seg.Closed()}
}

// A refusal is unusable's error, and the value write and read panic with.
// It is built without a call (unusable inlines), so that the checks stay
// cheap to inline; its text is made when asked for.
type refusal struct {
	name, op string
	closed   bool // else read-only
}

func (r *refusal) Error() string { return fmt.Sprintf("ctypes: %s %q: %v", r.op, r.name, r.Unwrap()) }

func (r *refusal) Unwrap() error {
	if r.closed {
		return shm.ErrClosed
	}
	return shm.ErrReadOnly
}

// createElems allocates a value or array of n elements of T, with an
// embedded recursive mutex if locked, filled by fill before publication.
// T is an element type or a record (ElemCode).
func createElems[T any](seg *shm.Segment, name string, kind shm.Kind, n int, locked bool, fill func([]T)) (elems[T], error) {
	code, rec, err := elem.ElemCode[T]()
	if err != nil {
		return elems[T]{}, err
	}
	size := uint64(unsafe.Sizeof(*new(T)))
	if n < 0 {
		return elems[T]{}, errtext.Errorf("ctypes: create %q: %w: %d", name, ErrNegativeLength, n)
	}
	if uint64(n) > math.MaxInt64/size/2 {
		return elems[T]{}, errtext.Errorf("ctypes: create %q: %w: %d elements", name, shm.ErrInvalidSize, n)
	}
	dataBytes := uint64(n) * size
	length := max(dataBytes, 1)
	var flags uint8
	if locked {
		flags = layout.FlagLocked
		length = embed.LockOffset(dataBytes) + layout.SlotSize
	}
	var desc uint64
	describe := func([]byte) {}
	if rec != nil {
		length, desc, describe = elem.DescribedBy(*rec, length)
	}
	obj, err := objects.Core(seg).Alloc(segment.Request{
		Name: name, Kind: kind, Typecode: byte(code), Flags: flags, Count: uint64(n), Length: length, Desc: desc,
	}, func(mem []byte) error {
		describe(mem)
		if locked {
			if err := embed.InitRMutex(mem[embed.LockOffset(dataBytes):]); err != nil {
				return err
			}
		}
		if fill != nil {
			fill(layout.Slice[T](mem, 0, uint64(n)))
		}
		return nil
	})
	if err != nil {
		return elems[T]{}, err // Alloc's error names the operation, the object and the segment
	}
	return elemsOf[T](seg, obj)
}

// openElems finds a value or array by name and checks that it holds T:
// the same typecode, and for records the same fields.
func openElems[T any](seg *shm.Segment, name string, kind shm.Kind) (elems[T], error) {
	code, _, err := elem.ElemCode[T]()
	if err != nil {
		return elems[T]{}, err
	}
	obj, err := objects.Core(seg).LookupKind(name, kind)
	if err != nil {
		return elems[T]{}, err
	}
	if Typecode(obj.Typecode) != code {
		return elems[T]{}, errtext.Errorf("ctypes: open %q: %w: it holds %v, not %v",
			name, ErrTypeMismatch, Typecode(obj.Typecode), code)
	}
	return elemsOf[T](seg, obj)
}

// elemsOf checks an object's count and length against each other — they
// come from a segment, which is never trusted — and, for records, its
// description against T's; then it makes the views.
func elemsOf[T any](seg *shm.Segment, obj shm.Object) (elems[T], error) {
	p, err := placeOf(obj, uint64(unsafe.Sizeof(*new(T))))
	if err != nil {
		return elems[T]{}, err
	}
	if err := checkRecord[T](obj, p.end); err != nil {
		return elems[T]{}, err
	}
	return elems[T]{seg: seg, obj: obj, data: layout.Slice[T](obj.Bytes(), 0, obj.Count), lock: p.lock}, nil
}

// place is where a value's or array's parts lie in its object.
type place struct {
	lock []byte // nil unless layout.FlagLocked
	end  uint64 // the end of the data and lock: a record description may start here
}

// placeOf checks that an object of elements of size bytes has room for
// them and for its lock.
func placeOf(obj shm.Object, size uint64) (place, error) {
	if obj.Kind == shm.KindValue && obj.Count != 1 {
		return place{}, errtext.Errorf("ctypes: %q: %w: a value of %d elements", obj.Name, shm.ErrCorrupt, obj.Count)
	}
	if obj.Count > obj.Length/size {
		return place{}, errtext.Errorf("ctypes: %q: %w: %d elements of %d bytes in %d bytes",
			obj.Name, shm.ErrCorrupt, obj.Count, size, obj.Length)
	}
	p := place{end: obj.Count * size}
	if obj.Flags&layout.FlagLocked != 0 {
		off := embed.LockOffset(obj.Count * size)
		if off > obj.Length || obj.Length-off < layout.SlotSize {
			return place{}, errtext.Errorf("ctypes: %q: %w: no room for its lock", obj.Name, shm.ErrCorrupt)
		}
		p.lock = obj.Bytes()[off : off+layout.SlotSize]
		p.end = off + layout.SlotSize
	}
	return p, nil
}

// checkRecord checks that an object of records, whose description may start
// at or after end, describes T.
func checkRecord[T any](obj shm.Object, end uint64) error {
	_, rec, err := elem.ElemCode[T]()
	if err != nil || rec == nil {
		return err
	}
	got, err := elem.RecordLayout(obj, end)
	if err != nil {
		return err
	}
	if err := elem.Match(*rec, got); err != nil {
		return errtext.Errorf("ctypes: open %q: %w", obj.Name, err)
	}
	return nil
}

// Option chooses the lock of a Value or Array.
type Option func(*lockChoice)

type lockChoice struct {
	lock semaphore.Locker
	none bool
}

// WithLock uses the caller's lock instead of a new one (Python's
// lock=<lock>). It is not recorded in the segment: every process passes
// its own handle to the same lock.
func WithLock(l semaphore.Locker) Option { return func(c *lockChoice) { c.lock = l } }

// WithoutLock makes or opens the object with no lock (Python's lock=False);
// Lock, Get and Set then fail with ErrNoLock, and Raw gives the raw object.
// Opening an object that was made without a lock fails with ErrNoLock
// unless WithoutLock or WithLock says how to do without it.
func WithoutLock() Option { return func(c *lockChoice) { c.none = true } }

func choose(opts []Option) lockChoice {
	var c lockChoice
	for _, o := range opts {
		o(&c)
	}
	return c
}

// guardFor returns the lock a Value or Array uses: the caller's, or the
// object's embedded recursive mutex, or none.
func guardFor[T any](e elems[T], c lockChoice) (guard, error) {
	g := guard{name: e.obj.Name}
	switch {
	case c.lock == nil && !c.none && e.lock == nil:
		return guard{}, errtext.Errorf("ctypes: %q: %w: it was made without one; open it with WithLock or WithoutLock, or as a raw object",
			e.obj.Name, ErrNoLock)
	case c.lock != nil:
		g.lock = c.lock
	case !c.none && e.lock != nil:
		m, err := embeddedRMutex(e.seg, e.obj.Name+" lock", e.lock)
		if err != nil {
			return guard{}, err
		}
		g.lock = m
	}
	g.rm, _ = g.lock.(*semaphore.RMutex)
	return g, nil
}

// guard is the lock of a Value or Array, with the methods both offer.
type guard struct {
	name string
	lock semaphore.Locker // nil: none
	// rm is lock when it is an RMutex, as by default: the hot paths call
	// it directly rather than through the interface.
	rm *semaphore.RMutex
}

// GetLock returns the lock, or nil for an object without one.
func (g guard) GetLock() semaphore.Locker { return g.lock }

// Lock takes the lock (recursively, for the default lock).
func (g guard) Lock() error {
	if g.lock == nil {
		return errtext.Errorf("ctypes: %q: %w", g.name, ErrNoLock)
	}
	return g.lock.Lock()
}

// Unlock releases the lock.
func (g guard) Unlock() error {
	if g.lock == nil {
		return errtext.Errorf("ctypes: %q: %w", g.name, ErrNoLock)
	}
	return g.lock.Unlock()
}

// do runs f holding the lock; see locked.
func (g guard) do(f func()) error {
	if m := g.rm; m != nil {
		if err := m.Lock(); err != nil {
			return lockedAfter(m, err, f)
		}
		f()
		return m.Unlock()
	}
	return locked(g.name, g.lock, f)
}

// locked runs f holding l. A holder that died is reported as
// semaphore.ErrOwnerDead after f has run; since each of shmkit's element
// writes is atomic, the lock is marked consistent and released.
func locked(name string, l semaphore.Locker, f func()) error {
	if l == nil {
		return errtext.Errorf("ctypes: %q: %w", name, ErrNoLock)
	}
	return lockedAfter(l, l.Lock(), f)
}

// lockedAfter is locked once l.Lock has answered err.
func lockedAfter(l semaphore.Locker, err error, f func()) error {
	if err != nil && !errors.Is(err, semaphore.ErrOwnerDead) {
		return err
	}
	f()
	if err != nil {
		if c, ok := l.(interface{ Consistent() error }); ok {
			c.Consistent()
		}
	}
	if uerr := l.Unlock(); uerr != nil {
		return uerr
	}
	return err
}

// embeddedRMutex is the recursive mutex that lives inside a locked value or
// array: semaphore.RMutex is defined from package internal/embed's Mutex.
func embeddedRMutex(seg *shm.Segment, name string, mem []byte) (*semaphore.RMutex, error) {
	m, err := embed.RMutex(seg, name, mem)
	if err != nil {
		return nil, err
	}
	return (*semaphore.RMutex)(m), nil
}
