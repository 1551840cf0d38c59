// Package robust locks and unlocks shmkit's robust, process-shared pthread
// mutexes from Go, without a call into C, when the mutex is free.
//
// A robust mutex is only robust if the kernel knows the thread holds it: at
// the thread's death the kernel walks the thread's robust list (registered
// by glibc with set_robust_list) and marks every mutex on it owner-dead. So
// the Go path does exactly what glibc's pthread_mutex_lock does for such a
// mutex, in the same order: announce the mutex in list_op_pending, take the
// lock word with a compare-and-swap, link the mutex into the thread's list,
// clear list_op_pending, record the owner. Unlock is the mirror image. The
// list manipulation is in assembly (fast_amd64.s), so the order of the
// stores is the order of the instructions; a process killed between any two
// of them leaves a list the kernel can walk, as with glibc.
//
// Everything that is not the plain case — a held mutex, an owner that died,
// a recursive re-lock, an inconsistent or unrecoverable mutex, a foreign
// mutex kind, a thread the package has not seen — is left to glibc through
// the caller's C path, so glibc keeps deciding every hard case.
//
// At start-up (initialise, from this package's init) a self-test checks on
// this machine that glibc lays out the mutex and links its robust list as
// this package expects (cbind.RobustLayout and cbind.RobustSelfTest, in C);
// if anything differs, Enabled is false and every call takes the C path.
// Only programs that link package semaphore (or ctypes) run it.
package robust

import (
	"sync/atomic"
	"unsafe"

	"github.com/shmkit/shmkit/internal/futex"
)

// Result is the outcome of TryLock.
type Result int

const (
	Locked         Result = iota // the mutex is now held by this thread
	Held                         // another thread holds it: spin or sleep
	Other                        // not the plain case: let glibc decide
	NotRecoverable               // a dead owner's mutex was never made consistent
)

// Bits of the lock word (linux/futex.h).
const (
	futexWaiters   = 0x80000000
	futexOwnerDied = 0x40000000
	futexTIDMask   = 0x3fffffff
)

// Offsets in pthread_mutex_t that Go reads (bits/struct_mutex.h); the
// assembly uses the same, and the self-test checks both against C.
const (
	offLock  = 0
	offCount = 4
	offOwner = 8
	offKind  = 16
)

var (
	// enabled is true once the self-test passed on this machine.
	enabled bool
	// kindErrorCheck and kindRecursive are the __kind values glibc writes
	// for shmkit's two mutex types (robust, process-shared); a mutex with
	// any other kind takes the C path.
	kindErrorCheck, kindRecursive int32
)

func init() { initialise() }

// Enabled reports whether the Go path is in use in this process.
func Enabled() bool { return enabled }

func word(m unsafe.Pointer) *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Add(m, offLock)) }

func field(m unsafe.Pointer, off uintptr) *atomic.Int32 { return (*atomic.Int32)(unsafe.Add(m, off)) }

// Word returns the mutex's lock word (owner, waiters, owner-died bits).
func Word(m unsafe.Pointer) uint32 { return word(m).Load() }

func (r Result) String() string {
	return [...]string{"locked", "held", "other", "not recoverable"}[r]
}

// A Code is what LockPlain or UnlockPlain did.
type Code uint32

// Codes of LockPlain and UnlockPlain (the assembly's answers).
const (
	Taken              Code = 0 // LockPlain: the mutex is now held by this thread
	lockBusy           Code = 1
	lockUnrecoverable  Code = 2
	lockUnrecoverableW Code = 3 // and waiters to wake
	lockMissed         Code = 4

	Released     Code = 0 // UnlockPlain: the mutex is free
	ReleasedWake Code = 1 // free, and a waiter must be woken (Wake)
	unlockMissed Code = 2
)

func kindOf(recursive bool) int32 {
	if recursive {
		return kindRecursive
	}
	return kindErrorCheck
}

// A Kind is the __kind of one of shmkit's two mutex types (KindOf), which
// LockPlain and UnlockPlain check the mutex against.
type Kind int32

// KindOf is the Kind of a recursive or an error-checking mutex, for a
// caller that keeps it beside the mutex.
func KindOf(recursive bool) Kind { return Kind(kindOf(recursive)) }

// fastTable is the thread table once the self-test has passed, else nil:
// the assembly then takes nothing.
var fastTable unsafe.Pointer

// Table is the thread table to pass to LockPlain and UnlockPlain.
func Table() unsafe.Pointer { return fastTable }

// LockPlain (assembly) is TryLock's plain case alone, for hot paths called
// straight from the caller: it takes the free mutex m, of kind kind, for the
// calling thread (wired, as for TryLock), which it finds in table
// (Table()). On any answer but Taken nothing is held: the caller passes the
// answer to Settle and goes on with TryLock, which decides every other
// case.
//
// func LockPlain(m, table unsafe.Pointer, kind Kind) Code

// Settle finishes a LockPlain that did not take the mutex: one found not
// recoverable has been given back, and a waiter is woken if there was one
// (TryLock will find it not recoverable again).
func Settle(m unsafe.Pointer, c Code) {
	if c == lockUnrecoverableW {
		futex.Wake(word(m), 1)
	}
}

// UnlockPlain (assembly) is Unlock's plain case alone: it releases m, of
// the given kind, if the calling thread, found in table, holds it at one level in
// the plain state. On ReleasedWake the caller wakes a waiter (Wake); on
// any other answer but Released nothing changed and the caller goes on with
// Unlock.
//
// func UnlockPlain(m, table unsafe.Pointer, kind Kind) Code

// Wake wakes one waiter of m, after UnlockPlain said ReleasedWake.
func Wake(m unsafe.Pointer) { futex.Wake(word(m), 1) }

// TryLock takes mutex m (a robust, process-shared pthread_mutex_t that
// shmkit initialised) for the calling thread if it is free. The caller has
// wired its goroutine to the thread (runtime.LockOSThread). On Other the
// caller must ask glibc; on Held, wait.
func TryLock(m unsafe.Pointer, recursive bool) Result {
	if !enabled {
		return Other
	}
	r := LockPlain(m, fastTable, KindOf(recursive))
	if r == lockMissed {
		// A thread new to the table: enter it (one C call), then try again.
		if !kindIs(m, recursive) {
			return Other
		}
		if _, ok := current(); !ok {
			return Other
		}
		if r = LockPlain(m, fastTable, KindOf(recursive)); r == lockMissed {
			return Other
		}
	}
	switch r {
	case Taken:
		return Locked
	case lockBusy:
		w := word(m).Load()
		if t, ok := lookup(); !ok || w&futexOwnerDied != 0 || w&futexTIDMask == t.tid {
			return Other // a dead owner, or ours already (EDEADLK, or a recursive level): glibc's call
		}
		return Held
	case lockUnrecoverableW:
		futex.Wake(word(m), 1)
	}
	return NotRecoverable
}

// Unlock releases m if the calling thread holds it in the plain state and
// reports whether it did; otherwise the caller asks glibc, which also gives
// the right error.
func Unlock(m unsafe.Pointer, recursive bool) bool {
	if !enabled {
		return false
	}
	return unlockPlain(m, recursive) || unlockLevel(m, recursive)
}

// unlockPlain is UnlockPlain, waking a waiter if there is one.
func unlockPlain(m unsafe.Pointer, recursive bool) bool {
	switch UnlockPlain(m, fastTable, KindOf(recursive)) {
	case Released:
		return true
	case ReleasedWake:
		Wake(m)
		return true
	}
	return false
}

// unlockLevel is Unlock when the plain case missed: a thread new to the
// table, or a recursive level to remove.
func unlockLevel(m unsafe.Pointer, recursive bool) bool {
	if !kindIs(m, recursive) {
		return false
	}
	t, ok := current()
	if !ok || word(m).Load()&futexTIDMask != t.tid || uint32(field(m, offOwner).Load()) != t.tid {
		return false
	}
	if c := field(m, offCount); recursive && c.Load() > 1 {
		c.Store(c.Load() - 1) // only the holder touches __count
		return true
	}
	return unlockPlain(m, recursive) // now that the thread is in the table
}

func kindIs(m unsafe.Pointer, recursive bool) bool {
	k := field(m, offKind).Load()
	if recursive {
		return k == kindRecursive
	}
	return k == kindErrorCheck
}
