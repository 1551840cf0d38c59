package semaphore

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/race"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/shm"
)

// MaxValue is the largest value a semaphore can hold (SEM_VALUE_MAX).
const MaxValue = math.MaxInt32

// semStore is where a semaphore's count lives: a futex word in a segment
// (futexSem) or a named POSIX sem_t (namedSem).
type semStore interface {
	take() (bool, error)             // take one if the value is above zero; never waits
	sleep(until int64) (bool, error) // take one, sleeping at most until the monotonic time until
	give() error                     // add one, waking a sleeper
	count() (int, error)
	spins() int // how many takes a waiter tries before it sleeps
}

// semCore is the waiting side shared by every semaphore.
type semCore struct {
	name     string
	store    semStore
	closed   func() bool  // whether the store's memory is gone
	readOnly bool         // the store is mapped read-only: only Value works
	seg      *shm.Segment // the segment holding the store; nil for a named semaphore
	word     *atomic.Uint32
}

func (s *semCore) check(op string) error {
	switch {
	case s.closed():
		return opError(op, s.name, shm.ErrClosed)
	case s.readOnly && op != "value":
		return opError(op, s.name, shm.ErrReadOnly)
	}
	return nil
}

// Acquire decrements the semaphore, waiting as long as it is zero.
func (s *semCore) Acquire() error {
	_, err := s.acquire(context.Background(), 0, "acquire")
	return err
}

// TryAcquire decrements the semaphore if it is above zero, without waiting.
func (s *semCore) TryAcquire() (bool, error) {
	if err := s.check("acquire"); err != nil {
		return false, err
	}
	return s.take("acquire")
}

// take makes one attempt to take a unit, without waiting.
func (s *semCore) take(op string) (bool, error) {
	ok, err := s.store.take()
	if ok {
		race.Acquire()
	}
	return ok, opError(op, s.name, err)
}

// AcquireTimeout is Acquire giving up after d; it reports false on timeout.
// The timeout runs on CLOCK_MONOTONIC: setting the clock does not move it.
func (s *semCore) AcquireTimeout(d time.Duration) (bool, error) {
	return s.acquire(context.Background(), wait.Deadline(d), "acquire")
}

// AcquireContext is Acquire giving up when ctx ends, returning ctx.Err().
func (s *semCore) AcquireContext(ctx context.Context) error {
	_, err := s.acquire(ctx, 0, "acquire")
	return err
}

// acquire spins on the store, yielding the CPU now and then so that a peer
// sharing it can release, then sleeps in the kernel.
func (s *semCore) acquire(ctx context.Context, deadline int64, op string) (bool, error) {
	if err := s.check(op); err != nil {
		return false, err
	}
	if ok, err := s.take(op); ok || err != nil {
		return ok, err
	}
	// Held from the spin on: Close wakes us and unmaps only after we left.
	attempt := s.store.sleep
	if s.seg != nil {
		d, err := enter(s.seg)
		if err != nil {
			return false, opError(op, s.name, err)
		}
		defer d.Leave()
		attempt = d.Sleep(s.word, shm.ErrClosed, attempt)
	}
	done := ctx.Done()
	for i := range s.store.spins() {
		if s.closed() {
			return false, opError(op, s.name, shm.ErrClosed)
		}
		if ok, err := s.take(op); ok || err != nil {
			return ok, err
		}
		if !wait.SpinUntil(i, deadline, done) {
			break
		}
	}
	ok, err := wait.Block(ctx, deadline, attempt)
	if ok {
		race.Acquire()
	}
	if err != nil && ctx.Err() == nil {
		err = opError(op, s.name, err)
	}
	return ok, err
}

// Value returns the semaphore's current value (already stale when returned).
func (s *semCore) Value() (int, error) {
	if err := s.check("value"); err != nil {
		return 0, err
	}
	v, err := s.store.count()
	return v, opError("value", s.name, err)
}

// Release increments the semaphore, waking one waiter. For a bounded
// semaphore at its bound it fails with ErrTooManyReleases and changes
// nothing.
func (s *semCore) Release() error {
	if err := s.check("release"); err != nil {
		return err
	}
	race.Release()
	return opError("release", s.name, s.store.give())
}

// futexSem is a struct shmkit_semaphore: the count is a futex word that Go
// changes with atomics, with no C call; the kernel is entered only to
// sleep, and to wake a sleeper.
type futexSem struct {
	s     *layout.Semaphore
	bound uint32 // read once, at attach
}

// semSpins is how many times a waiter looks at the value before sleeping:
// a few microseconds, enough for a peer on the other core to release.
const semSpins = 128

func (f *futexSem) spins() int { return semSpins }

func (f *futexSem) corrupt(v uint32) error {
	return errtext.Errorf("%w: value %d above the bound %d", shm.ErrCorrupt, v, f.bound)
}

func (f *futexSem) take() (bool, error) {
	for {
		v := f.s.Value.Load()
		switch {
		case v > f.bound:
			return false, f.corrupt(v)
		case v == 0:
			return false, nil
		case f.s.Value.CompareAndSwap(v, v-1):
			return true, nil
		}
	}
}

func (f *futexSem) sleep(until int64) (bool, error) {
	f.s.Waiters.Add(1)
	defer f.s.Waiters.Add(^uint32(0))
	if ok, err := f.take(); ok || err != nil {
		return ok, err
	}
	if err := futex.Wait(&f.s.Value, 0, until); err != nil && err != futex.ErrTimeout {
		return false, err
	}
	return f.take()
}

func (f *futexSem) give() error {
	for {
		v := f.s.Value.Load()
		switch {
		case v > f.bound:
			return f.corrupt(v)
		case v == f.bound && f.bound == layout.SemValueMax:
			return ErrOverflow
		case v == f.bound:
			return ErrTooManyReleases
		}
		if f.s.Value.CompareAndSwap(v, v+1) {
			break
		}
	}
	if f.s.Waiters.Load() != 0 {
		futex.Wake(&f.s.Value, 1)
	}
	return nil
}

func (f *futexSem) count() (int, error) {
	v := f.s.Value.Load()
	if v > f.bound {
		return 0, f.corrupt(v)
	}
	return int(v), nil
}

// A Semaphore is a counting semaphore in a shared memory segment that any
// process attached to the segment — Go, C through shmkit.h, or Python —
// may acquire and release. Unlike a Mutex it has no owner: any goroutine
// of any process may release it. It is safe for concurrent use, and it
// needs no cgo.
//
// Acquire and Release are atomic operations on the shared memory; a waiter
// spins briefly, then sleeps on a futex, and a Release wakes one sleeper.
// Each sleeping goroutine occupies an OS thread, up to the process's limit
// (see SetMaxBlockedThreads).
type Semaphore struct {
	semCore
	bounded bool
	bound   uint32
}

// New creates a semaphore named name in seg with the given initial value.
func New(seg *shm.Segment, name string, value int) (*Semaphore, error) {
	return create(seg, name, value, false)
}

// NewBounded creates a bounded semaphore: Release above the initial value
// fails with ErrTooManyReleases. Unlike Python's BoundedSemaphore the bound
// holds even when several processes release at once.
func NewBounded(seg *shm.Segment, name string, value int) (*Semaphore, error) {
	return create(seg, name, value, true)
}

func create(seg *shm.Segment, name string, value int, bounded bool) (*Semaphore, error) {
	if value < 0 || value > MaxValue {
		return nil, opError("create", name, errtext.Errorf("%w: initial value %d outside 0..%d", ErrInvalidValue, value, MaxValue))
	}
	req := segment.Request{Name: name, Kind: shm.KindSemaphore}
	bound := uint32(layout.SemValueMax)
	if bounded {
		req.Kind, req.Param0, bound = shm.KindBounded, uint64(value), uint32(value)
	}
	obj, _, err := objects.Make(seg, req, func(s *layout.Semaphore, _ []byte) error {
		s.Bound = bound
		s.Value.Store(uint32(value))
		return nil
	})
	if err != nil {
		return nil, allocError(err)
	}
	return fromObject(seg, obj)
}

// Open attaches to the semaphore or bounded semaphore named name in seg.
func Open(seg *shm.Segment, name string) (*Semaphore, error) {
	obj, err := seg.Lookup(name)
	if err != nil {
		return nil, err
	}
	if obj.Kind != shm.KindSemaphore && obj.Kind != shm.KindBounded {
		return nil, opError("open", name, errtext.Errorf("%w: it is of kind %v", shm.ErrKindMismatch, obj.Kind))
	}
	return fromObject(seg, obj)
}

// fromObject checks the bound once: a plain semaphore's is SemValueMax, a
// bounded one's is its directory entry's param0.
func fromObject(seg *shm.Segment, obj shm.Object) (*Semaphore, error) {
	sem, err := objects.As[layout.Semaphore](obj)
	if err != nil {
		return nil, err
	}
	bounded, bound := obj.Kind == shm.KindBounded, atomic.LoadUint32(&sem.Bound)
	if want := uint64(layout.SemValueMax); bounded && (obj.Param0 != uint64(bound) || bound > layout.SemValueMax) ||
		!bounded && uint64(bound) != want {
		return nil, opError("open", obj.Name, errtext.Errorf("%w: bound %d, directory says %d", shm.ErrCorrupt, bound, obj.Param0))
	}
	return &Semaphore{
		semCore: semCore{name: obj.Name, store: &futexSem{s: sem, bound: bound}, closed: seg.Closed, readOnly: seg.ReadOnly(),
			seg: seg, word: &sem.Value},
		bounded: bounded, bound: bound,
	}, nil
}

// Name returns the semaphore's name in its segment.
func (s *Semaphore) Name() string { return s.name }

// Bound returns the bound of a bounded semaphore, or 0 for an unbounded one.
func (s *Semaphore) Bound() int {
	if !s.bounded {
		return 0
	}
	return int(s.bound)
}

// SetMaxBlockedThreads sets how many OS threads this process's waits (on
// semaphores, mutexes, conditions, events, barriers) may hold blocked at
// once, and returns the previous limit (initially 1024). Waiters beyond it
// park as goroutines until a thread slot frees; waiters take turns, so none
// is starved.
func SetMaxBlockedThreads(n int) int { return wait.SetMaxBlocked(n) }

// MaxBlockedThreads returns the limit SetMaxBlockedThreads sets.
func MaxBlockedThreads() int { return wait.MaxBlocked() }
