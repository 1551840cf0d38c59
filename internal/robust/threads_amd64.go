//go:build cgo && linux && amd64

package robust

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/shmkit/shmkit/internal/cbind"
)

// thread is struct robust_thread of internal/cbind/robust.c.
type thread struct {
	tp   atomic.Uintptr // the key: the thread pointer; 0 while written
	head atomic.Uintptr // struct robust_list_head *
	tid  atomic.Uint32
	_    [3]uint32
}

const threadSlots = 4096 // ROBUST_THREADS

var threads *[threadSlots]thread

// table is the thread table for the assembly.
func table() unsafe.Pointer { return unsafe.Pointer(threads) }

// threadIndex is robust_index of internal/cbind/robust.c.
func threadIndex(tp uintptr) uint32 { return uint32((uint64(tp) * 0x9E3779B97F4A7C15) >> 52) }

// threadInfo is what the fast path needs of the calling thread.
type threadInfo struct {
	head uintptr
	tid  uint32
}

// lookup returns the calling thread's entry if the table has it. The key
// is read before and after the fields: a writer clears it first, so an
// unchanged key means the fields are this thread's.
func lookup() (threadInfo, bool) {
	tp := threadPointer()
	t := &threads[threadIndex(tp)]
	if t.tp.Load() != tp {
		return threadInfo{}, false
	}
	info := threadInfo{t.head.Load(), t.tid.Load()}
	return info, t.tp.Load() == tp
}

// current is lookup, entering the thread first if needed: one C call per
// thread, or again after a thread sharing its entry took it.
func current() (threadInfo, bool) {
	if info, ok := lookup(); ok {
		return info, true
	}
	if cbind.RobustRegister(threadPointer()) != nil {
		return threadInfo{}, false
	}
	return lookup()
}

// initialise turns the fast path on if glibc and the kernel lay things out
// as the assembly expects.
func initialise() {
	want := [9]uint64{offLock, offCount, offOwner, 12, offKind, 24, 32, 16, uint64(unsafe.Sizeof(thread{}))}
	if cbind.RobustLayout() != want {
		return
	}
	threads = (*[threadSlots]thread)(cbind.RobustThreads())
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ke, kr, err := cbind.RobustSelfTest()
	if err != nil {
		return
	}
	kindErrorCheck, kindRecursive = ke, kr
	enabled = true
	fastTable = table()
}
