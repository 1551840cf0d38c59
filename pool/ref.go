package pool

import (
	"container/list"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/shm"
)

// An ArrayRef stands for n elements of a shared array, from element off,
// as a task's input or result: only the reference crosses (the segment's
// and the array's names, the segment's creation stamp, off and n), never
// the elements. The process at the other end maps the segment once, the
// first time a reference names it, and keeps it mapped (a pool worker for
// its life, up to maxShared segments at a time); Slice there is the
// array's memory itself, so a worker may also write its results in place.
//
// The array is any shared array of element type T: a ctypes RawArray or
// Array, or one Python or C made with shmkit.
type ArrayRef[T ctypes.Elem] struct {
	segment, array string
	created        int64 // the segment's creation stamp: a segment made again under the name is another one
	off, n         int
	data           []T
}

// Ref refers to n elements of the array named array in seg, from element
// off. It fails if there is no such array of T's typecode (ctypes'
// errors), or with ErrRefRange if the elements are not all in it.
func Ref[T ctypes.Elem](seg *shm.Segment, array string, off, n int) (ArrayRef[T], error) {
	a, err := ctypes.OpenRawArray[T](seg, array)
	if err != nil {
		return ArrayRef[T]{}, fmt.Errorf("pool: ref: %w", err)
	}
	if off < 0 || n < 0 || off > a.Len()-n {
		return ArrayRef[T]{}, fmt.Errorf("%w: elements %d to %d of %q, which has %d", ErrRefRange, off, off+n, array, a.Len())
	}
	return ArrayRef[T]{seg.Name(), array, seg.Created().UnixNano(), off, n, a.Slice()[off : off+n : off+n]}, nil
}

// Sub refers to n of r's elements, from its element off.
func (r ArrayRef[T]) Sub(off, n int) (ArrayRef[T], error) {
	if off < 0 || n < 0 || off > r.n-n {
		return ArrayRef[T]{}, fmt.Errorf("%w: elements %d to %d of a reference to %d", ErrRefRange, off, off+n, r.n)
	}
	s := r
	s.off, s.n = r.off+off, n
	if r.data != nil {
		s.data = r.data[off : off+n : off+n]
	}
	return s, nil
}

// Slice is the referenced elements in this process's mapping of the
// array: in a worker, valid while its task runs; in the process that made
// the reference, while its segment is open. It is nil for the zero
// ArrayRef.
func (r ArrayRef[T]) Slice() []T { return r.data }

// Segment and Array name the array; Off and Len are the elements'.
func (r ArrayRef[T]) Segment() string { return r.segment }
func (r ArrayRef[T]) Array() string   { return r.array }
func (r ArrayRef[T]) Off() int        { return r.off }
func (r ArrayRef[T]) Len() int        { return r.n }

// The encoding of an ArrayRef, which workers in other languages read
// (docs/design.md): a 32-byte header, little-endian, then the names.
//
//	u8 typecode | u8 0 | u16 segment name length | u16 array name length | u16 0 |
//	i64 the segment's creation time, ns | u64 first element | u64 count | segment name | array name
const refHeader = 32

func (r ArrayRef[T]) appendRef(b []byte) []byte {
	b = append(b, byte(ctypes.TypecodeOf[T]()), 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.segment)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.array)))
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.created))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.off))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.n))
	b = append(b, r.segment...)
	return append(b, r.array...)
}

// resolveRef decodes a reference and finds its elements in this
// process's mappings, mapping the segment if it is not yet.
func (r *ArrayRef[T]) resolveRef(b []byte) error {
	if len(b) < refHeader {
		return fmt.Errorf("%w: an array reference of %d bytes", ErrProtocol, len(b))
	}
	code := ctypes.Typecode(b[0])
	segLen, arrLen := int(binary.LittleEndian.Uint16(b[2:])), int(binary.LittleEndian.Uint16(b[4:]))
	if refHeader+segLen+arrLen != len(b) {
		return fmt.Errorf("%w: an array reference of %d bytes names %d and %d bytes", ErrProtocol, len(b), segLen, arrLen)
	}
	if want := ctypes.TypecodeOf[T](); code != want {
		return fmt.Errorf("pool: ref: %w: a reference to %v elements for a task that takes %v", ctypes.ErrTypeMismatch, code, want)
	}
	created := int64(binary.LittleEndian.Uint64(b[8:]))
	off, n := binary.LittleEndian.Uint64(b[16:]), binary.LittleEndian.Uint64(b[24:])
	segment, array := string(b[refHeader:refHeader+segLen]), string(b[refHeader+segLen:])
	a, err := sharedArray[T](segment, array, created)
	if err != nil {
		return err
	}
	if off > uint64(a.Len()) || n > uint64(a.Len())-off {
		return fmt.Errorf("%w: elements %d to %d of %q, which has %d", ErrRefRange, off, off+n, array, a.Len())
	}
	*r = ArrayRef[T]{segment, array, created, int(off), int(n), a.Slice()[off : off+n : off+n]}
	return nil
}

// refCoder is what the codec looks for: an ArrayRef of any element type.
type refCoder interface{ appendRef([]byte) []byte }

// refCodec is T's codec if T is an ArrayRef.
func refCodec[T any]() (codec[T], bool) {
	if _, ok := any(*new(T)).(refCoder); !ok {
		return codec[T]{}, false
	}
	return codec[T]{
		enc: func(b []byte, v T) ([]byte, error) { return any(v).(refCoder).appendRef(b), nil },
		dec: func(b []byte) (T, error) {
			var v T
			err := any(&v).(interface{ resolveRef([]byte) error }).resolveRef(b)
			return v, err
		},
	}, true
}

// maxShared is how many segments a process keeps mapped for references;
// past it the one used least recently is closed. A worker runs one task
// at a time, so no view of a closed one is still in use there.
const maxShared = 64

// shared is this process's segments mapped for references, most recently
// used first, and the arrays found in them.
var shared struct {
	sync.Mutex
	order  list.List // of *sharedSeg
	segs   map[string]*list.Element
	opened int // segments mapped so far, for tests
}

type sharedSeg struct {
	seg    *shm.Segment
	arrays map[string]any // *ctypes.RawArray[T] by array name and typecode
}

// sharedArray finds array in the segment named segment, created at
// created, mapping the segment if this process has not yet.
func sharedArray[T ctypes.Elem](segment, array string, created int64) (*ctypes.RawArray[T], error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.segs == nil {
		shared.segs = map[string]*list.Element{}
	}
	e := shared.segs[segment]
	if e != nil && e.Value.(*sharedSeg).seg.Created().UnixNano() != created {
		dropShared(e) // the name is another segment's now
		e = nil
	}
	if e == nil {
		seg, err := shm.Open(segment)
		if err != nil {
			return nil, fmt.Errorf("pool: ref: %w", err)
		}
		shared.opened++
		if got := seg.Created().UnixNano(); got != created {
			seg.Close()
			return nil, fmt.Errorf("%w: %q was made at %d ns, the reference's at %d", ErrStaleRef, segment, got, created)
		}
		if shared.order.Len() >= maxShared {
			dropShared(shared.order.Back())
		}
		e = shared.order.PushFront(&sharedSeg{seg: seg, arrays: map[string]any{}})
		shared.segs[segment] = e
	}
	shared.order.MoveToFront(e)
	s := e.Value.(*sharedSeg)
	key := string(rune(ctypes.TypecodeOf[T]())) + array
	if a, ok := s.arrays[key]; ok {
		return a.(*ctypes.RawArray[T]), nil
	}
	a, err := ctypes.OpenRawArray[T](s.seg, array)
	if err != nil {
		return nil, fmt.Errorf("pool: ref: %w", err)
	}
	s.arrays[key] = a
	return a, nil
}

func dropShared(e *list.Element) {
	s := shared.order.Remove(e).(*sharedSeg)
	delete(shared.segs, s.seg.Name())
	s.seg.Close()
}

// CloseShared unmaps the segments this process mapped to resolve
// references: a program that got ArrayRef results, once it is done with
// their Slices. Pool workers need not call it.
func CloseShared() {
	shared.Lock()
	defer shared.Unlock()
	for shared.order.Len() > 0 {
		dropShared(shared.order.Front())
	}
}
