// Package futex sleeps on and wakes 32-bit words in shared memory with the
// Linux futex system call, in its shared (not process-private) form, so that
// waiters and wakers may be different processes. It is the same protocol
// shmkit.c speaks, without cgo.
package futex

import (
	"errors"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	opWaitBitset = 9 // FUTEX_WAIT_BITSET: absolute CLOCK_MONOTONIC deadline
	opWake       = 1 // FUTEX_WAKE
	matchAny     = 0xffffffff
)

// ErrTimeout is returned by Wait when the deadline passed.
var ErrTimeout = errors.New("futex: deadline passed")

// Wait sleeps while *word == expected, until woken, until deadline (an
// absolute CLOCK_MONOTONIC time in nanoseconds; 0 for none), or spuriously.
// Callers re-check their condition in a loop. A signal is a spurious wake.
func Wait(word *atomic.Uint32, expected uint32, deadline int64) error {
	var ts *unix.Timespec
	if deadline > 0 {
		t := unix.NsecToTimespec(deadline)
		ts = &t
	}
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), opWaitBitset,
		uintptr(expected), uintptr(unsafe.Pointer(ts)), 0, matchAny)
	switch errno {
	case 0, unix.EAGAIN, unix.EINTR:
		return nil
	case unix.ETIMEDOUT:
		return ErrTimeout
	default:
		return errno
	}
}

// Wake wakes up to n sleepers on word and returns how many it woke.
func Wake(word *atomic.Uint32, n int) int {
	r, _, errno := unix.Syscall(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), opWake, uintptr(n))
	if errno != 0 {
		return 0
	}
	return int(r)
}
