package ctypes

import (
	"sync/atomic"
	"unsafe"

	"github.com/shmkit/shmkit/internal/fence"
)

// Every access to shared elements goes through these functions: a peer
// process may read or write any element at any time, so every load and
// store is atomic, at every size. 8- and 4-byte elements use sync/atomic
// directly; 1- and 2-byte elements go through the aligned 32-bit word that
// contains them (objects are 64-byte aligned and padded, so that word is
// always inside the object), with a compare-and-swap loop for writes.

// word returns the aligned 32-bit word holding *p and p's bit shift in it
// (little-endian).
func word[T Elem](p *T) (*uint32, uint) {
	off := uintptr(unsafe.Pointer(p)) & 3
	return (*uint32)(unsafe.Add(unsafe.Pointer(p), -int(off))), uint(off) * 8
}

// bits and fromBits convert between T and its bit pattern.
func bits[T Elem](v T) uint64 {
	switch unsafe.Sizeof(v) {
	case 8:
		return *(*uint64)(unsafe.Pointer(&v))
	case 4:
		return uint64(*(*uint32)(unsafe.Pointer(&v)))
	case 2:
		return uint64(*(*uint16)(unsafe.Pointer(&v)))
	default:
		return uint64(*(*uint8)(unsafe.Pointer(&v)))
	}
}

func fromBits[T Elem](b uint64) T {
	var v T
	switch unsafe.Sizeof(v) {
	case 8:
		*(*uint64)(unsafe.Pointer(&v)) = b
	case 4:
		*(*uint32)(unsafe.Pointer(&v)) = uint32(b)
	case 2:
		*(*uint16)(unsafe.Pointer(&v)) = uint16(b)
	default:
		*(*uint8)(unsafe.Pointer(&v)) = uint8(b)
	}
	return v
}

func mask[T Elem]() uint32 {
	var v T
	return uint32(1)<<(8*unsafe.Sizeof(v)) - 1
}

func load[T Elem](p *T) T {
	// No call on any path, so that load inlines into every read: the
	// element's bytes are the low bytes of u (little-endian).
	var u uint64
	switch unsafe.Sizeof(*p) {
	case 8:
		u = atomic.LoadUint64((*uint64)(unsafe.Pointer(p)))
	case 4:
		u = uint64(atomic.LoadUint32((*uint32)(unsafe.Pointer(p))))
	default:
		w, shift := word(p)
		u = uint64(atomic.LoadUint32(w) >> shift)
	}
	return *(*T)(unsafe.Pointer(&u))
}

// cas is the one read-modify-write primitive; store, swap and add build on
// it for sub-word sizes.
func cas[T Elem](p *T, old, new T) bool {
	switch unsafe.Sizeof(*p) {
	case 8:
		return atomic.CompareAndSwapUint64((*uint64)(unsafe.Pointer(p)), bits(old), bits(new))
	case 4:
		return atomic.CompareAndSwapUint32((*uint32)(unsafe.Pointer(p)), uint32(bits(old)), uint32(bits(new)))
	default:
		w, shift := word(p)
		m := mask[T]() << shift
		for {
			cur := atomic.LoadUint32(w)
			if cur&m != uint32(bits(old))<<shift {
				return false
			}
			if atomic.CompareAndSwapUint32(w, cur, cur&^m|uint32(bits(new))<<shift) {
				return true
			}
		}
	}
}

func swap[T Elem](p *T, v T) T {
	switch unsafe.Sizeof(*p) {
	case 8:
		return fromBits[T](atomic.SwapUint64((*uint64)(unsafe.Pointer(p)), bits(v)))
	case 4:
		return fromBits[T](uint64(atomic.SwapUint32((*uint32)(unsafe.Pointer(p)), uint32(bits(v)))))
	default:
		for {
			old := load(p)
			if cas(p, old, v) {
				return old
			}
		}
	}
}

func store[T Elem](p *T, v T) {
	switch unsafe.Sizeof(*p) {
	case 8:
		atomic.StoreUint64((*uint64)(unsafe.Pointer(p)), bits(v))
	case 4:
		atomic.StoreUint32((*uint32)(unsafe.Pointer(p)), uint32(bits(v)))
	default:
		swap(p, v)
	}
}

// storeHeld is store for a writer that holds the value's lock: a release
// store (a plain MOV on amd64, internal/fence) where store's is sequentially
// consistent (an XCHG, a full barrier). Readers that take the lock are
// ordered by it; one that reads without it still sees the old value or the
// new one, whole. The unlock that follows is a full barrier anyway: a
// second one inside the critical section was a sixth of Value.Update's time.
func storeHeld[T Elem](p *T, v T) {
	switch unsafe.Sizeof(*p) {
	case 8:
		fence.Store64((*uint64)(unsafe.Pointer(p)), bits(v))
	case 4:
		fence.Store32((*uint32)(unsafe.Pointer(p)), uint32(bits(v)))
	default:
		store(p, v)
	}
}

// Adds: integers wrap like C's unsigned arithmetic; floats, and 1- and
// 2-byte integers, add with a compare-and-swap loop. The callers spell out
// "if hasXadd { xadd } else { addCAS }" so that the common case makes no
// further call.

// hasXadd reports whether T is added by one instruction (LOCK XADD): the
// 4- and 8-byte integers. It is a constant in each instance.
func hasXadd[T Elem]() bool { return !isFloat[T]() && unsafe.Sizeof(*new(T)) >= 4 }

// xadd is add for the types hasXadd accepts, small enough to inline into
// the callers' hot paths: a plain conversion is an integer's bit pattern.
func xadd[T Elem](p *T, delta T) T {
	if unsafe.Sizeof(delta) == 8 {
		return T(atomic.AddUint64((*uint64)(unsafe.Pointer(p)), uint64(delta)))
	}
	return T(atomic.AddUint32((*uint32)(unsafe.Pointer(p)), uint32(delta)))
}

// addCAS adds by compare-and-swap: floats, and 1- and 2-byte integers.
func addCAS[T Elem](p *T, delta T) T {
	for {
		old := load(p)
		if n := old + delta; cas(p, old, n) {
			return n
		}
	}
}
