//go:build cgo

package cbind

/*
#cgo LDFLAGS: -lpthread
#include <stdlib.h>
#include <string.h>
#include "shmkit.h"
*/
import "C"

import (
	"syscall"
	"unsafe"

	"github.com/shmkit/shmkit/internal/layout"
)

// Available reports whether this build has the C primitives.
const Available = true

// errno turns a C return value (0 or a positive errno) into an error.
func errno(rc C.int) error {
	if rc == 0 {
		return nil
	}
	return syscall.Errno(rc)
}

// The functions below operate on pointers into a mapped segment. The caller
// guarantees each points at a live object of the right kind and keeps the
// mapping alive for the duration of the call.

// NamedTryWait returns EAGAIN when the named semaphore's value is zero.
func NamedTryWait(sem NamedSem) error { return errno(C.shmkit_nsem_trywait((*C.sem_t)(sem.p))) }

// NamedTimedWait waits until the monotonic deadline; ETIMEDOUT after it.
func NamedTimedWait(sem NamedSem, deadline int64) error {
	return errno(C.shmkit_nsem_timedwait((*C.sem_t)(sem.p), C.int64_t(deadline)))
}

// NamedPost adds one; EOVERFLOW at SEM_VALUE_MAX.
func NamedPost(sem NamedSem) error { return errno(C.shmkit_nsem_post((*C.sem_t)(sem.p))) }

// NamedValue returns the current value.
func NamedValue(sem NamedSem) (int, error) {
	var v C.int
	err := errno(C.shmkit_nsem_getvalue((*C.sem_t)(sem.p), &v))
	return int(v), err
}

// NamedOpen opens (or, with create, exclusively creates) a POSIX named
// semaphore. name is its POSIX name, "/foo".
func NamedOpen(name string, create bool, mode, value uint32) (NamedSem, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var cr C.int
	if create {
		cr = 1
	}
	var sem *C.sem_t
	if err := errno(C.shmkit_nsem_open(cname, cr, C.unsigned(mode), C.unsigned(value), &sem)); err != nil {
		return NamedSem{}, err
	}
	return NamedSem{unsafe.Pointer(sem)}, nil
}

// NamedClose closes a semaphore from NamedOpen.
func NamedClose(sem NamedSem) error { return errno(C.shmkit_nsem_close((*C.sem_t)(sem.p))) }

// NamedUnlink removes a named semaphore.
func NamedUnlink(name string) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return errno(C.shmkit_nsem_unlink(cname))
}

// MutexInit initialises a robust, process-shared pthread mutex, recursive or
// error-checking.
func MutexInit(m *layout.Mutex, recursive bool) error {
	var r C.int
	if recursive {
		r = 1
	}
	return errno(C.shmkit_mutex_init(unsafe.Pointer(m), r))
}

// MutexLock locks; EOWNERDEAD means locked with a dead previous owner.
// The caller must stay on this OS thread until it unlocks.
func MutexLock(m *layout.Mutex) error { return errno(C.shmkit_mutex_lock(unsafe.Pointer(m))) }

// MutexTryLock returns EBUSY when the mutex is held.
func MutexTryLock(m *layout.Mutex) error { return errno(C.shmkit_mutex_trylock(unsafe.Pointer(m))) }

// MutexTimedLock waits until the monotonic deadline; ETIMEDOUT after it.
func MutexTimedLock(m *layout.Mutex, deadline int64) error {
	return errno(C.shmkit_mutex_timedlock(unsafe.Pointer(m), C.int64_t(deadline)))
}

// MutexUnlock returns EPERM when this thread does not hold the mutex.
func MutexUnlock(m *layout.Mutex) error { return errno(C.shmkit_mutex_unlock(unsafe.Pointer(m))) }

// MutexConsistent marks a mutex recovered after EOWNERDEAD.
func MutexConsistent(m *layout.Mutex) error {
	return errno(C.shmkit_mutex_consistent(unsafe.Pointer(m)))
}

func barrier(b *layout.Barrier) *C.struct_shmkit_barrier {
	return (*C.struct_shmkit_barrier)(unsafe.Pointer(b))
}

// BarrierInit initialises a struct shmkit_barrier for parties.
func BarrierInit(b *layout.Barrier, parties uint32) error {
	return errno(C.shmkit_barrier_init(barrier(b), C.uint32_t(parties)))
}

// BarrierArrive registers an arrival: ESHUTDOWN if broken, else the arrival
// index and the generation to wait out.
func BarrierArrive(b *layout.Barrier) (index, gen uint32, err error) {
	var i, g C.uint32_t
	err = errno(C.shmkit_barrier_arrive(barrier(b), &i, &g))
	return uint32(i), uint32(g), err
}

// BarrierOutcome tells a waiter of generation gen, once it ended, whether it
// tripped (nil) or broke (ESHUTDOWN).
func BarrierOutcome(b *layout.Barrier, gen uint32) error {
	return errno(C.shmkit_barrier_outcome(barrier(b), C.uint32_t(gen)))
}

// BarrierTimeout breaks generation gen if it is still current.
func BarrierTimeout(b *layout.Barrier, gen uint32) error {
	return errno(C.shmkit_barrier_timeout(barrier(b), C.uint32_t(gen)))
}

// Copy copies src into dst (min of the lengths) with the C library's
// memcpy: package bulk's copy of messages larger than it moves in Go,
// since a goroutine inside a cgo call does not hold up a stop-the-world.
func Copy(dst, src []byte) {
	if n := min(len(dst), len(src)); n > 0 {
		C.memcpy(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), C.size_t(n))
	}
}

// BarrierAbort breaks the barrier.
func BarrierAbort(b *layout.Barrier) error { return errno(C.shmkit_barrier_abort(barrier(b))) }

// BarrierReset returns the barrier to empty, breaking current waiters.
func BarrierReset(b *layout.Barrier) error { return errno(C.shmkit_barrier_reset(barrier(b))) }
