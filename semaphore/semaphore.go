package semaphore

import (
	"context"
	"fmt"
	"math"
	"syscall"
	"time"
	"unsafe"

	"github.com/shmkit/shmkit/cgo"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/shm"
)

// MaxValue is the largest value a semaphore can hold (SEM_VALUE_MAX).
const MaxValue = math.MaxInt32

// semCore is the waiting side shared by every semaphore: a sem_t somewhere
// in memory that all parties map.
type semCore struct {
	name   string
	sem    unsafe.Pointer
	closed func() bool // whether sem's memory is gone
}

func (s *semCore) check(op string) error {
	if s.closed() {
		return opError(op, s.name, shm.ErrClosed)
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
	switch err := cgo.SemTryWait(s.sem); err {
	case nil:
		return true, nil
	case syscall.EAGAIN:
		return false, nil
	default:
		return false, opError("acquire", s.name, err)
	}
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

// spinTries is how many times a waiter retries before sleeping in the kernel:
// about a microsecond or two of cgo calls, enough to catch a peer running on
// another core, short enough not to starve one sharing ours.
const spinTries = 40

func (s *semCore) acquire(ctx context.Context, deadline int64, op string) (bool, error) {
	for range spinTries {
		if ok, err := s.TryAcquire(); ok || err != nil {
			return ok, err
		}
	}
	ok, err := wait.Block(ctx, deadline, func(until int64) (bool, error) {
		switch err := cgo.SemTimedWait(s.sem, until); err {
		case nil:
			return true, nil
		case syscall.ETIMEDOUT:
			return false, nil
		default:
			return false, err
		}
	})
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
	v, err := cgo.SemValue(s.sem)
	return v, opError("value", s.name, err)
}

// A Semaphore is a counting semaphore in a shared memory segment: a
// process-shared sem_t that any process attached to the segment — Go, C
// through shmkit.h, or Python through ctypes — may acquire and release.
// Unlike a Mutex it has no owner: any goroutine of any process may release
// it. It is safe for concurrent use.
//
// Waiting for it costs one OS thread per waiting goroutine, up to the
// process's limit (see SetMaxBlockedThreads); a Release wakes one waiter.
type Semaphore struct {
	semCore
	bounded *layout.Bounded // nil unless created by NewBounded
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
		return nil, opError("create", name, fmt.Errorf("%w: initial value %d outside 0..%d", ErrInvalidValue, value, MaxValue))
	}
	if !cgo.Available {
		return nil, opError("create", name, ErrNoCgo)
	}
	req := shm.Request{Name: name, Kind: shm.KindSemaphore, Length: uint64(unsafe.Sizeof(layout.Semaphore{}))}
	if bounded {
		req.Kind, req.Length = shm.KindBounded, uint64(unsafe.Sizeof(layout.Bounded{}))
	}
	obj, err := seg.Alloc(req, func(mem []byte) error {
		if bounded {
			b := layout.At[layout.Bounded](mem, 0)
			b.Bound = uint32(value)
			if err := cgo.MutexInit(unsafe.Pointer(&b.Lock), false); err != nil {
				return err
			}
		}
		return cgo.SemInit(unsafe.Pointer(&mem[0]), uint32(value))
	})
	if err != nil {
		return nil, opError("create", name, err)
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
		return nil, opError("open", name, fmt.Errorf("%w: it is a %v", shm.ErrKindMismatch, obj.Kind))
	}
	return fromObject(seg, obj)
}

func fromObject(seg *shm.Segment, obj shm.Object) (*Semaphore, error) {
	s := &Semaphore{semCore: semCore{name: obj.Name, closed: seg.Closed}}
	if obj.Kind == shm.KindBounded {
		b, err := shm.ObjectAs[layout.Bounded](obj)
		if err != nil {
			return nil, err
		}
		s.bounded, s.sem = b, unsafe.Pointer(&b.Sem)
		return s, nil
	}
	sem, err := shm.ObjectAs[layout.Semaphore](obj)
	if err != nil {
		return nil, err
	}
	s.sem = unsafe.Pointer(&sem.Sem)
	return s, nil
}

// Name returns the semaphore's name in its segment.
func (s *Semaphore) Name() string { return s.name }

// Bound returns the bound of a bounded semaphore, or 0 for an unbounded one.
func (s *Semaphore) Bound() int {
	if s.bounded == nil {
		return 0
	}
	return int(s.bounded.Bound)
}

// Release increments the semaphore, waking one waiter. For a bounded
// semaphore at its bound it fails with ErrTooManyReleases and changes
// nothing.
func (s *Semaphore) Release() error {
	if err := s.check("release"); err != nil {
		return err
	}
	if s.bounded != nil {
		return opError("release", s.name, cgo.BoundedPost(unsafe.Pointer(s.bounded)))
	}
	return opError("release", s.name, cgo.SemPost(s.sem))
}

// SetMaxBlockedThreads sets how many OS threads this process's waits (on
// semaphores, mutexes, conditions, events, barriers) may hold blocked at
// once, and returns the previous limit (initially 1024). Waiters beyond it
// park as goroutines until a thread slot frees; waiters take turns, so none
// is starved.
func SetMaxBlockedThreads(n int) int { return wait.SetMaxBlocked(n) }

// MaxBlockedThreads returns the limit SetMaxBlockedThreads sets.
func MaxBlockedThreads() int { return wait.MaxBlocked() }
