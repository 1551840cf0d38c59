package semaphore

import (
	"context"
	"errors"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/embed"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/hold"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/race"
	"github.com/shmkit/shmkit/internal/robust"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/shm"
)

// Locker is a lock whose operations can fail, as shared locks can: the
// holder may have died. *Mutex, *RMutex and *Semaphore-based locks
// implement it; ctypes' locked values accept any Locker.
type Locker interface {
	Lock() error
	Unlock() error
}

// mutexCore is a robust, process-shared pthread mutex in a segment.
//
// A pthread mutex is owned by an OS thread, so the goroutine that locks it
// is wired to its thread (runtime.LockOSThread) until it unlocks; every path
// that does not end holding the lock unwires it again.
//
// A free mutex is taken and given back in Go (package internal/robust, the
// same steps as glibc's, so the kernel still marks it owner-dead if the
// holder dies); for a held one the waiter looks once more from Go and then
// calls C to sleep (tryOnce). glibc handles every other case: a dead
// owner, a recursive level, an error.
//
// It points to a package internal/embed Mutex, from which RMutex is
// defined, so that a mutex embedded in a ctypes value converts to an
// *RMutex (see there).
type mutexCore struct{ c *embed.Mutex }

func (mu mutexCore) check(op string) error {
	return opError(op, mu.c.Label(), objects.Core(mu.c.Segment()).Writable()) // locking writes the lock word
}

// held reports whether a lock call's answer leaves the mutex held.
func held(err error) bool { return err == nil || err == syscall.EOWNERDEAD }

// lockWith runs one locking call wired to this thread, and unwires unless
// the mutex ended up held.
func lockWith(call func() error) error {
	runtime.LockOSThread()
	err := call()
	if !held(err) {
		runtime.UnlockOSThread()
	}
	return err
}

// enter counts a blocking call on seg in (package internal/hold): Close
// wakes it and waits for it to Leave before it unmaps. ErrClosed once Close
// has begun.
func enter(seg *shm.Segment) (*hold.Drain, error) {
	d := objects.Core(seg).Drain()
	if !d.Enter() {
		return nil, shm.ErrClosed
	}
	return d, nil
}

// tryLock makes one attempt without sleeping; the caller is wired. busy
// reports that another thread holds the mutex.
func (mu mutexCore) tryLock() (busy bool, err error) {
	switch robust.TryLock(unsafe.Pointer(mu.c.Mutex()), mu.c.Recursive()) {
	case robust.Locked:
		return false, nil
	case robust.Held:
		return true, nil
	case robust.NotRecoverable:
		return false, syscall.ENOTRECOVERABLE
	}
	if err := cbind.MutexTryLock(mu.c.Mutex()); err != syscall.EBUSY {
		return false, err
	}
	return true, nil
}

// tryOnce makes one attempt from Go, wiring the goroutine for it. done is
// false if another thread holds the mutex; the goroutine stays wired only
// if the mutex is held at the end. A waiter does not spin, as glibc's
// robust lock does not: a waiter that spins takes the lock the moment it
// sees it free, and each such hand-over moves the lock's and the data's
// lines to the other core, while a sleeping waiter leaves the holder to
// run on alone until its unlock wakes one (docs/bench.md, W5).
func (mu mutexCore) tryOnce() (done bool, err error) {
	runtime.LockOSThread()
	busy, err := mu.tryLock()
	if busy {
		runtime.UnlockOSThread()
		return false, nil
	}
	if held(err) {
		race.Acquire()
	} else {
		runtime.UnlockOSThread()
	}
	return true, err
}

// lock locks, waiting until the monotonic deadline (0: none) or until ctx
// ends. It reports whether the mutex is held; it is held also when the error
// is ErrOwnerDead.
func (mu mutexCore) lock(ctx context.Context, deadline int64, try bool) (bool, error) {
	if mu.c.LockFree() { // the uncontended case first
		return true, nil
	}
	return mu.lockSlow(ctx, deadline, try)
}

// lockSlow is lock once LockFree has not taken the mutex.
func (mu mutexCore) lockSlow(ctx context.Context, deadline int64, try bool) (bool, error) {
	if objects.Core(mu.c.Segment()).Writable() != nil {
		return false, mu.check("lock")
	}
	if try {
		done, err := mu.tryOnce()
		return done && held(err), opError("lock", mu.c.Label(), err)
	}
	// Held from the look on: Close waits for us to leave before it unmaps.
	// glibc sleeps in its own loop, which a wake cannot end; its slice does.
	d, err := enter(mu.c.Segment())
	if err != nil {
		return false, opError("lock", mu.c.Label(), err)
	}
	defer d.Leave()
	if done, err := mu.tryOnce(); done { // one more look before sleeping
		return held(err), opError("lock", mu.c.Label(), err)
	}
	ok, err := wait.Block(ctx, deadline, func(until int64) (bool, error) {
		if mu.c.Segment().Closed() {
			return false, shm.ErrClosed
		}
		err := lockWith(func() error { return cbind.MutexTimedLock(mu.c.Mutex(), until) })
		switch {
		case err == nil && mu.c.Segment().Closed(): // too late to hold it: give it back
			cbind.MutexUnlock(mu.c.Mutex())
			runtime.UnlockOSThread()
			return false, shm.ErrClosed
		case held(err):
			race.Acquire()
			return true, err
		case err == syscall.ETIMEDOUT:
			return false, nil
		default:
			return false, err
		}
	})
	if err != nil && ctx.Err() == nil {
		err = opError("lock", mu.c.Label(), err)
	}
	return ok, err
}

// unlockIn is unlock for a caller that has entered segment entered's drain
// (enter), as a Cond's wait has before it releases its mutex. If the mutex
// is in that segment, its memory stays mapped until the caller leaves, so
// the unlock goes ahead even once Close has begun: refusing it would leave
// the mutex locked by a thread that can never unlock it, and once the
// mapping is gone not even the kernel could mark it owner-dead when the
// thread exits, so every other process's Lock would hang.
func (mu mutexCore) unlockIn(entered *shm.Segment) error {
	if mu.c.UnlockHeld() { // the plain case first
		return nil
	}
	return mu.unlockSlow(entered)
}

// unlockSlow is unlockIn once UnlockHeld has not released the mutex.
func (mu mutexCore) unlockSlow(entered *shm.Segment) error {
	if seg := mu.c.Segment(); seg != entered && objects.Core(seg).Writable() != nil {
		return mu.check("unlock")
	}
	race.Release()
	if !robust.Unlock(unsafe.Pointer(mu.c.Mutex()), mu.c.Recursive()) {
		if err := cbind.MutexUnlock(mu.c.Mutex()); err != nil {
			return opError("unlock", mu.c.Label(), err) // still wired: we did not hold it
		}
	}
	runtime.UnlockOSThread()
	return nil
}

// Consistent marks the mutex repaired after Lock returned ErrOwnerDead: the
// caller, still holding it, has made the protected data consistent. Without
// it, the next Unlock leaves the mutex permanently ErrNotRecoverable.
func (mu mutexCore) Consistent() error {
	if err := mu.check("consistent"); err != nil {
		return err
	}
	if err := cbind.MutexConsistent(mu.c.Mutex()); err != nil {
		if err == syscall.EINVAL {
			err = errtext.Errorf("%w: the mutex is not in the owner-dead state", ErrNotOwner)
		}
		return opError("consistent", mu.c.Label(), err)
	}
	return nil
}

// Name returns the mutex's name in its segment.
func (mu mutexCore) Name() string { return mu.c.Label() }

func newMutex(seg *shm.Segment, name string, kind shm.Kind) (mutexCore, error) {
	if !cbind.Available {
		return mutexCore{}, opError("create", name, ErrNoCgo)
	}
	obj, m, err := objects.Make(seg, segment.Request{Name: name, Kind: kind},
		func(m *layout.Mutex, _ []byte) error { return cbind.MutexInit(m, kind == shm.KindRMutex) })
	if err != nil {
		return mutexCore{}, allocError(err)
	}
	return mutexCore{embed.New(obj.Name, m, seg, kind == shm.KindRMutex)}, nil
}

func openMutex(seg *shm.Segment, name string, kind shm.Kind) (mutexCore, error) {
	obj, m, err := objects.Attach[layout.Mutex](seg, name, kind)
	if err != nil {
		return mutexCore{}, err
	}
	return mutexCore{embed.New(obj.Name, m, seg, kind == shm.KindRMutex)}, nil
}

// A Mutex is a robust mutual exclusion lock in a shared memory segment, a
// process-shared pthread mutex that Go, C and Python processes can lock.
//
// Unlike sync.Mutex, a Mutex is owned by the goroutine that locked it: that
// goroutine stays on its OS thread until it calls Unlock, and Unlock from
// any other goroutine fails with ErrNotOwner. Locking it again from the
// owner fails with ErrDeadlock rather than hanging.
//
// If the holder dies — its process is killed, or its thread exits — the
// next Lock returns ErrOwnerDead with the mutex held. The caller repairs the
// protected data and calls Consistent before Unlock; unlocking without
// Consistent makes the mutex ErrNotRecoverable for everyone, for good.
//
// A waiting Lock occupies one OS thread (see SetMaxBlockedThreads); Unlock
// wakes one waiter.
type Mutex struct{ mutexCore }

// NewMutex creates a mutex named name in seg.
func NewMutex(seg *shm.Segment, name string) (*Mutex, error) {
	c, err := newMutex(seg, name, shm.KindMutex)
	if err != nil {
		return nil, err
	}
	return &Mutex{c}, nil
}

// OpenMutex attaches to the mutex named name in seg.
func OpenMutex(seg *shm.Segment, name string) (*Mutex, error) {
	c, err := openMutex(seg, name, shm.KindMutex)
	if err != nil {
		return nil, err
	}
	return &Mutex{c}, nil
}

// Lock locks m, waiting as long as another holds it. It returns nil or
// ErrOwnerDead with m held, or another error without.
func (m *Mutex) Lock() error {
	if m.c.LockFree() {
		return nil
	}
	_, err := m.lockSlow(context.Background(), 0, false)
	return err
}

// TryLock locks m if it is free, without waiting. It reports whether m is
// now held (true also with ErrOwnerDead).
func (m *Mutex) TryLock() (bool, error) { return m.lock(context.Background(), 0, true) }

// LockTimeout is Lock giving up after d (on CLOCK_MONOTONIC); false on
// timeout.
func (m *Mutex) LockTimeout(d time.Duration) (bool, error) {
	return m.lock(context.Background(), wait.Deadline(d), false)
}

// LockContext is Lock giving up when ctx ends, returning ctx.Err().
func (m *Mutex) LockContext(ctx context.Context) error {
	_, err := m.lock(ctx, 0, false)
	return err
}

// Unlock unlocks m and unwires the goroutine from its thread.
func (m *Mutex) Unlock() error {
	if m.c.UnlockHeld() {
		return nil
	}
	return m.unlockSlow(nil)
}

// condRelease and condReacquire let a Cond release the mutex while waiting;
// the Cond has entered segment entered (see unlockIn).
func (m *Mutex) condRelease(entered *shm.Segment) (int, error) { return 1, m.unlockIn(entered) }
func (m *Mutex) condReacquire(int) error                       { return m.Lock() }

// An RMutex is a recursive Mutex, as Python's RLock: the goroutine holding
// it may lock it again, and it is released when every Lock has been matched
// by an Unlock. It is robust in the same way as Mutex.
type RMutex embed.Mutex // not a mutexCore: ctypes converts the mutex beside a locked value to an *RMutex

func (m *RMutex) core() mutexCore { return mutexCore{(*embed.Mutex)(m)} }

// NewRMutex creates a recursive mutex named name in seg.
func NewRMutex(seg *shm.Segment, name string) (*RMutex, error) {
	c, err := newMutex(seg, name, shm.KindRMutex)
	if err != nil {
		return nil, err
	}
	return (*RMutex)(c.c), nil
}

// OpenRMutex attaches to the recursive mutex named name in seg.
func OpenRMutex(seg *shm.Segment, name string) (*RMutex, error) {
	c, err := openMutex(seg, name, shm.KindRMutex)
	if err != nil {
		return nil, err
	}
	return (*RMutex)(c.c), nil
}

// Lock locks m, or adds a level if this goroutine holds it already.
func (m *RMutex) Lock() error {
	if (*embed.Mutex)(m).LockFree() {
		return nil
	}
	_, err := m.core().lockSlow(context.Background(), 0, false)
	return err
}

// TryLock is Lock without waiting; it reports whether m is held.
func (m *RMutex) TryLock() (bool, error) { return m.core().lock(context.Background(), 0, true) }

// LockTimeout is Lock giving up after d; false on timeout.
func (m *RMutex) LockTimeout(d time.Duration) (bool, error) {
	return m.core().lock(context.Background(), wait.Deadline(d), false)
}

// LockContext is Lock giving up when ctx ends.
func (m *RMutex) LockContext(ctx context.Context) error {
	_, err := m.core().lock(ctx, 0, false)
	return err
}

// Unlock removes one level; the last one releases m.
func (m *RMutex) Unlock() error {
	if (*embed.Mutex)(m).UnlockHeld() {
		return nil
	}
	return m.core().unlockSlow(nil)
}

// Consistent marks m repaired after Lock returned ErrOwnerDead; see
// Mutex.Consistent.
func (m *RMutex) Consistent() error { return m.core().Consistent() }

// Name returns the mutex's name in its segment.
func (m *RMutex) Name() string { return m.core().Name() }

// condRelease releases every level, for a Cond that has entered segment
// entered to wait.
func (m *RMutex) condRelease(entered *shm.Segment) (int, error) {
	// glibc counts the holder's levels. A caller that does not hold m reads
	// a stranger's count, but its first Unlock fails.
	n := max(cbind.MutexLevels(m.core().c.Mutex()), 1)
	for i := range n {
		if err := m.core().unlockIn(entered); err != nil {
			return i, err
		}
	}
	return n, nil
}

// condReacquire takes back n levels. The first Lock may report ErrOwnerDead,
// which is passed on with the mutex held.
func (m *RMutex) condReacquire(n int) error {
	err := m.Lock()
	if err != nil && !errors.Is(err, ErrOwnerDead) {
		return err
	}
	for range n - 1 {
		if err := m.Lock(); err != nil {
			return err
		}
	}
	return err
}

var (
	_ Locker = (*Mutex)(nil)
	_ Locker = (*RMutex)(nil)
)
