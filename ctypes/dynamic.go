package ctypes

import (
	"math"

	"github.com/shmkit/shmkit/internal/elem"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// An Object is a value or array opened without knowing its element type at
// compile time, for tools such as `shmkit inspect` and bindings for other
// languages. Elements are read atomically and converted. An object of
// records (typecode T) has a Layout; its fields are read through Field.
type Object struct {
	Name     string
	Kind     shm.Kind // shm.KindValue or shm.KindArray
	Typecode Typecode
	Layout   *Layout // records' fields; nil for scalars
	Locked   bool    // has an embedded lock
	data     []byte
	lock     *semaphore.RMutex
}

// OpenObject opens any value or array by name.
func OpenObject(seg *shm.Segment, name string) (*Object, error) {
	obj, err := seg.Lookup(name)
	if err != nil {
		return nil, err
	}
	if obj.Kind != shm.KindValue && obj.Kind != shm.KindArray {
		return nil, errtext.Errorf("ctypes: %q: %w: it is of kind %v", name, shm.ErrKindMismatch, obj.Kind)
	}
	o := &Object{Name: name, Kind: obj.Kind, Typecode: Typecode(obj.Typecode)}
	size := uint64(o.Typecode.Size())
	if o.Typecode == CodeStruct {
		l, err := elem.RecordLayout(obj, 0) // its size; its place is checked below
		if err != nil {
			return nil, err
		}
		o.Layout, size = &l, uint64(l.Size)
	} else if _, err := ParseTypecode(obj.Typecode); err != nil {
		return nil, errtext.Errorf("ctypes: %q: %w", name, err)
	}
	// Check count and length exactly as a typed open would.
	p, err := placeOf(obj, size)
	if err != nil {
		return nil, err
	}
	if o.Layout != nil {
		if err := elem.DescribedAfter(obj, p.end); err != nil {
			return nil, err
		}
	}
	n := obj.Count * size
	o.data, o.Locked = obj.Bytes()[:n:n], p.lock != nil
	if p.lock != nil {
		if o.lock, err = embeddedRMutex(seg, name+" lock", p.lock); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Field is field f of record i, as an array of f.Count elements of
// f.Typecode (a live view without the lock).
func (o *Object) Field(i int, f Field) *Object {
	off := i*o.Layout.Size + f.Offset
	n := f.Count * f.Typecode.Size()
	return &Object{Name: o.Name + "." + f.Name, Kind: shm.KindArray, Typecode: f.Typecode, data: o.data[off : off+n : off+n]}
}

// Len returns the number of elements, or of records.
func (o *Object) Len() int {
	if o.Layout != nil {
		return len(o.data) / o.Layout.Size
	}
	return len(o.data) / o.Typecode.Size()
}

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
