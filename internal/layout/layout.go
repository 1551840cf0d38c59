// Package layout mirrors cgo/shmkit.h, the byte-for-byte layout of a shmkit
// segment, and holds all of shmkit's pointer arithmetic over mapped memory.
//
// Nothing here trusts the bytes it is given: callers validate offsets and
// lengths (see package shm) before asking for a typed view, and every view
// function checks its bounds and panics rather than step outside the slice.
//
// The cgo package's tests compile shmkit.h and check that every size and
// offset below agrees with the C compiler's.
package layout

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Constants of shmkit.h.
const (
	Magic    uint64 = 0x000054494B4D4853 // "SHMKIT\0\0" as little-endian
	Version  uint32 = 3
	Align           = 64 // every object starts on a cache line
	NameMax         = 63 // object name bytes, without the NUL
	PageSize        = 4096

	EntryEmpty uint32 = 0
	EntryReady uint32 = 1

	FlagLocked uint8 = 0x01
	FlagSPSC   uint8 = 0x02
	// FlagJoinable marks a channel that counts unfinished messages.
	FlagJoinable uint8 = 0x04
)

// Object kinds (SHMKIT_KIND_*).
const (
	KindBytes     uint16 = 1
	KindValue     uint16 = 2
	KindArray     uint16 = 3
	KindSemaphore uint16 = 4
	KindBounded   uint16 = 5
	KindMutex     uint16 = 6
	KindRMutex    uint16 = 7
	KindCond      uint16 = 8
	KindEvent     uint16 = 9
	KindBarrier   uint16 = 10
	KindChannel   uint16 = 11
	KindDict      uint16 = 12
	KindList      uint16 = 13
)

// Header is struct shmkit_header. Fields that several processes write after
// creation are atomics.
type Header struct {
	Magic        atomic.Uint64 // stored last on creation
	Version      uint32
	HeaderSize   uint32
	SegmentSize  uint64
	DirCapacity  uint32
	DirCount     atomic.Uint32
	AllocCursor  atomic.Uint64
	CreatorPID   int32
	Flags        uint32
	CreatedNs    int64
	AllocLock    atomic.Uint64 // holder's pid namespace << 32 | pid; 0 if free
	AllocSeq     atomic.Uint32 // futex
	AllocWaiters atomic.Uint32
	Reserved     [56]byte
}

// Entry is struct shmkit_entry, one slot of the named-object directory.
type Entry struct {
	Name     [64]byte
	State    atomic.Uint32 // published last
	Kind     uint16
	Typecode uint8
	Flags    uint8
	Count    uint64
	Offset   uint64
	Length   uint64
	Param0   uint64
	Param1   uint64
	Desc     uint64 // typecode 'T': its StructDesc, from the object's start
	Reserved [8]byte
}

// TypecodeStruct is SHMKIT_TYPECODE_STRUCT: elements that are records,
// described by a StructDesc and its Fields inside the object.
const TypecodeStruct = 'T'

// Limits of a struct description (SHMKIT_FIELD_NAME_MAX, SHMKIT_FIELDS_MAX).
const (
	FieldNameMax = 47
	FieldsMax    = 4096
)

// StructDesc is struct shmkit_struct_desc; Fields records follow it.
type StructDesc struct {
	TypeName [48]byte
	Size     uint32
	Align    uint32
	Fields   uint32
	Reserved uint32
}

// Field is struct shmkit_field, one leaf of a record.
type Field struct {
	Name     [48]byte
	Offset   uint32
	Count    uint32
	Typecode uint8
	Reserved [7]byte
}

// Sizes of the structs above.
const (
	HeaderSize = int(unsafe.Sizeof(Header{}))
	EntrySize  = int(unsafe.Sizeof(Entry{}))
)

// AlignUp rounds n up to a multiple of Align; ok is false on overflow.
func AlignUp(n uint64) (r uint64, ok bool) {
	r = (n + Align - 1) &^ (Align - 1)
	return r, r >= n
}

// DataStart is the offset of the first object in a segment whose directory
// has the given capacity: the header, the directory, then 64-byte alignment.
func DataStart(capacity uint32) uint64 {
	r, _ := AlignUp(uint64(HeaderSize) + uint64(capacity)*uint64(EntrySize))
	return r // cannot overflow: capacity is 32 bits
}

// At returns a typed pointer to b[off:off+sizeof(T)]. It panics if that range
// is not inside b or is not aligned for T: callers validate untrusted offsets
// first, so a panic here is a bug in shmkit, never a reaction to bad input.
// The checks are cheap enough to inline; the message is built only to panic.
func At[T any](b []byte, off uint64) *T {
	var zero T
	size := uint64(unsafe.Sizeof(zero))
	if off > uint64(len(b)) || size > uint64(len(b))-off {
		outside(fmt.Sprintf("%T", zero), 1, off, len(b))
	}
	p := unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), off)
	if uintptr(p)%unsafe.Alignof(zero) != 0 {
		misaligned(fmt.Sprintf("%T", zero), off)
	}
	return (*T)(p)
}

// ErrShort is As's error: an object too short for its layout struct.
var ErrShort = errors.New("too short for its kind")

// As returns a typed pointer to the layout struct T at the start of an
// object's bytes b, or an error wrapping ErrShort if b cannot hold one:
// the object's length comes from a directory that another process wrote.
func As[T any](b []byte) (*T, error) {
	var zero T
	if uint64(len(b)) < uint64(unsafe.Sizeof(zero)) {
		return nil, fmt.Errorf("%w: %d bytes, %T needs %d", ErrShort, len(b), zero, unsafe.Sizeof(zero))
	}
	return At[T](b, 0), nil
}

//go:noinline
func outside(typ string, n, off uint64, size int) {
	panic(fmt.Sprintf("layout: %d x %s at offset %d outside %d bytes", n, typ, off, size))
}

//go:noinline
func misaligned(typ string, off uint64) {
	panic(fmt.Sprintf("layout: %s at offset %d is misaligned", typ, off))
}

// HeaderOf returns the header at the start of b.
func HeaderOf(b []byte) *Header { return At[Header](b, 0) }

// EntryOf returns directory entry i of a segment.
func EntryOf(b []byte, i uint32) *Entry {
	return At[Entry](b, uint64(HeaderSize)+uint64(i)*uint64(EntrySize))
}

// Slice returns n elements of T starting at b[off:], after checking that they
// lie inside b and are aligned. n*sizeof(T) is checked for overflow.
func Slice[T any](b []byte, off uint64, n uint64) []T {
	var zero T
	size := uint64(unsafe.Sizeof(zero))
	if n == 0 {
		return []T{}
	}
	if (size != 0 && n > (^uint64(0))/size) || off > uint64(len(b)) || n*size > uint64(len(b))-off {
		outside(fmt.Sprintf("%T", zero), n, off, len(b))
	}
	p := unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), off)
	if uintptr(p)%unsafe.Alignof(zero) != 0 {
		misaligned(fmt.Sprintf("%T", zero), off)
	}
	return unsafe.Slice((*T)(p), int(n))
}

// Bytes is the memory of s as bytes.
func Bytes[T any](s []T) []byte {
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}

// CString returns the bytes of a NUL-terminated name field, without the NUL;
// ok is false when there is no NUL.
func CString(field []byte) (s []byte, ok bool) {
	for i, c := range field {
		if c == 0 {
			return field[:i], true
		}
	}
	return field, false
}
