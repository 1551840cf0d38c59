package semaphore

import (
	"errors"
	"syscall"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/shm"
)

// Errors returned by this package, usable with errors.Is. Failures to find
// or open an object come from package shm (shm.ErrObjectNotFound,
// shm.ErrKindMismatch, …).
var (
	// ErrOwnerDead: the previous holder died holding the mutex; it is now held by the caller, who must repair the data and call Consistent.
	ErrOwnerDead = errors.New("semaphore: previous owner died holding the mutex")
	// ErrNotRecoverable: a holder unlocked after ErrOwnerDead without calling Consistent; the mutex can never be locked again.
	ErrNotRecoverable = errors.New("semaphore: mutex is not recoverable")
	// ErrNotOwner: the calling goroutine does not hold the mutex (or it is not in the owner-dead state, for Consistent).
	ErrNotOwner = errors.New("semaphore: mutex not held by this goroutine")
	// ErrDeadlock: the calling goroutine already holds this non-recursive mutex.
	ErrDeadlock = errors.New("semaphore: mutex already held by this goroutine")
	// ErrTooManyReleases: a bounded semaphore was released above its initial value.
	ErrTooManyReleases = errors.New("semaphore: released too many times")
	// ErrOverflow: the semaphore's value would exceed SEM_VALUE_MAX.
	ErrOverflow = errors.New("semaphore: value would overflow")
	// ErrInvalidValue: a negative or too large initial value, or fewer than one barrier party.
	ErrInvalidValue = errors.New("semaphore: invalid value")
	// ErrBrokenBarrier: the barrier was aborted, reset, or broken by a timeout or a dead party.
	ErrBrokenBarrier = errors.New("semaphore: broken barrier")
	// ErrNoMutex: a Cond was made or opened without the mutex it releases while it waits.
	ErrNoMutex = errors.New("semaphore: a Cond needs a mutex (a *Mutex or *RMutex), got nil")
	// ErrNoCgo: the program was built without cgo, which these primitives need.
	ErrNoCgo = cbind.ErrNoCgo
)

// errnoSentinels maps the C library's answers to this package's errors.
var errnoSentinels = map[syscall.Errno]error{
	syscall.EOWNERDEAD:      ErrOwnerDead,
	syscall.ENOTRECOVERABLE: ErrNotRecoverable,
	syscall.EPERM:           ErrNotOwner,
	syscall.EDEADLK:         ErrDeadlock,
	syscall.ERANGE:          ErrTooManyReleases,
	syscall.EOVERFLOW:       ErrOverflow,
	syscall.ESHUTDOWN:       ErrBrokenBarrier,
	syscall.EUCLEAN:         shm.ErrCorrupt, // SHMKIT_ECORRUPT: a named semaphore's file holds what glibc never leaves
}

// mustWrite panics, as a send on a closed Go channel does, when an
// operation with no error to return would write to a read-only or closed
// segment.
func mustWrite(seg *shm.Segment, op, name string) {
	if err := objects.Core(seg).Writable(); err != nil {
		panic(opError(op, name, err))
	}
}

// mustBeOpen panics, as mustWrite, when an operation with no error to
// return would read a closed segment.
func mustBeOpen(seg *shm.Segment, op, name string) {
	if seg.Closed() {
		panic(opError(op, name, shm.ErrClosed))
	}
}

// allocError is a failed Alloc of a new object: its error names the
// operation, the object and the segment already, so only an errno from
// the object's initialisation is translated.
func allocError(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if s, ok := errnoSentinels[errno]; ok {
			return errtext.Errorf("%w (%w)", err, s)
		}
	}
	return err
}

// opError wraps err from operation op on object name, translating errnos.
func opError(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if s, ok := errnoSentinels[errno]; ok {
			err = s
		}
	}
	return errtext.Errorf("semaphore: %s %q: %w", op, name, err)
}
