package ctypes

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// An Object is a value or array opened without knowing its element type at
// compile time, for tools such as `shmkit inspect` and bindings for other
// languages. Elements are read atomically and converted.
type Object struct {
	Name     string
	Kind     shm.Kind // shm.KindValue or shm.KindArray
	Typecode Typecode
	Locked   bool // has an embedded lock
	data     []byte
	lock     *semaphore.RMutex
}

// LockState describes the embedded lock, if there is one (see Locked).
func (o *Object) LockState() semaphore.MutexState {
	if o.lock == nil {
		return semaphore.MutexState{}
	}
	return o.lock.State()
}

// OpenObject opens any value or array by name.
func OpenObject(seg *shm.Segment, name string) (*Object, error) {
	obj, err := seg.Lookup(name)
	if err != nil {
		return nil, err
	}
	if obj.Kind != shm.KindValue && obj.Kind != shm.KindArray {
		return nil, fmt.Errorf("ctypes: %q: %w: it is of kind %v", name, shm.ErrKindMismatch, obj.Kind)
	}
	tc, err := ParseTypecode(obj.Typecode)
	if err != nil {
		return nil, fmt.Errorf("ctypes: %q: %w", name, err)
	}
	// Check count and length exactly as a typed open would.
	var e elems[uint8]
	switch tc.Size() {
	case 1:
		e, err = viewBytes[uint8](seg, obj)
	case 2:
		e, err = viewBytes[uint16](seg, obj)
	case 4:
		e, err = viewBytes[uint32](seg, obj)
	default:
		e, err = viewBytes[uint64](seg, obj)
	}
	if err != nil {
		return nil, err
	}
	o := &Object{Name: name, Kind: obj.Kind, Typecode: tc, Locked: e.lock != nil, data: e.data}
	if e.lock != nil {
		if o.lock, err = embeddedRMutex(seg, name+" lock", e.lock); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// viewBytes validates obj as elements of the size of T and returns its data
// as bytes.
func viewBytes[T Elem](seg *shm.Segment, obj shm.Object) (elems[uint8], error) {
	e, err := elemsOf[T](seg, obj)
	if err != nil {
		return elems[uint8]{}, err
	}
	n := uint64(len(e.data)) * uint64(unsafe.Sizeof(*new(T)))
	return elems[uint8]{seg: seg, obj: obj, data: obj.Bytes()[:n:n], lock: e.lock}, nil
}

// Len returns the number of elements.
func (o *Object) Len() int { return len(o.data) / o.Typecode.Size() }

// Bytes returns the elements' bytes (a live view, like RawArray.Slice).
func (o *Object) Bytes() []byte { return o.data }

func at[T Elem](o *Object, i int) T {
	s := layout.Slice[T](o.data, 0, uint64(o.Len()))
	return load(&s[i])
}

// Uint64 returns element i's bits as an unsigned integer (floats: the
// IEEE bit pattern).
func (o *Object) Uint64(i int) uint64 {
	switch o.Typecode.Size() {
	case 1:
		return uint64(at[uint8](o, i))
	case 2:
		return uint64(at[uint16](o, i))
	case 4:
		return uint64(at[uint32](o, i))
	default:
		return at[uint64](o, i)
	}
}

// Int64 returns element i as a signed integer, sign-extended for signed
// typecodes; floats are truncated.
func (o *Object) Int64(i int) int64 {
	if o.Typecode.IsFloat() {
		return int64(o.Float64(i))
	}
	u := o.Uint64(i)
	if o.Typecode.IsSigned() {
		shift := 64 - 8*o.Typecode.Size()
		return int64(u<<shift) >> shift
	}
	return int64(u)
}

// Float64 returns element i as a float64.
func (o *Object) Float64(i int) float64 {
	switch o.Typecode {
	case CodeFloat:
		return float64(math.Float32frombits(uint32(o.Uint64(i))))
	case CodeDouble:
		return math.Float64frombits(o.Uint64(i))
	case CodeULong, CodeULongLong:
		return float64(o.Uint64(i))
	}
	return float64(o.Int64(i))
}
