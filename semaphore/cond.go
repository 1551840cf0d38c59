package semaphore

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/shm"
)

// CondLocker is a mutex a Cond can release while it waits: *Mutex or *RMutex.
type CondLocker interface {
	Locker
	condRelease(entered *shm.Segment) (levels int, err error)
	condReacquire(levels int) error
}

// A Cond is a condition variable in a shared memory segment, used with a
// Mutex or RMutex of the caller's (Python's Condition).
//
// Wait releases the mutex (every level of an RMutex), sleeps until Signal or
// Broadcast, and locks it again before returning. As with pthread
// conditions, a Signal may wake more than one waiter, so callers re-check
// their condition in a loop. A process that dies while waiting leaves
// nothing to repair.
type Cond struct {
	name string
	st   *layout.Cond
	l    CondLocker
	seg  *shm.Segment
}

// NewCond creates a condition variable named name in seg, used with l.
// Without a mutex it returns ErrNoMutex.
func NewCond(seg *shm.Segment, name string, l CondLocker) (*Cond, error) {
	if noMutex(l) {
		return nil, opError("create", name, ErrNoMutex)
	}
	obj, st, err := objects.Make[layout.Cond](seg, segment.Request{Name: name, Kind: shm.KindCond}, nil)
	if err != nil {
		return nil, allocError(err)
	}
	return &Cond{name: obj.Name, st: st, l: l, seg: seg}, nil
}

// OpenCond attaches to the condition variable named name in seg, used with l
// (which must be the same mutex every party uses with it).
func OpenCond(seg *shm.Segment, name string, l CondLocker) (*Cond, error) {
	if noMutex(l) {
		return nil, opError("open", name, ErrNoMutex)
	}
	obj, st, err := objects.Attach[layout.Cond](seg, name, shm.KindCond)
	if err != nil {
		return nil, err
	}
	return &Cond{name: obj.Name, st: st, l: l, seg: seg}, nil
}

// noMutex reports whether l is no mutex at all: nil, or a nil *Mutex or
// *RMutex, on which Wait would panic.
func noMutex(l CondLocker) bool {
	switch m := l.(type) {
	case nil:
		return true
	case *Mutex:
		return m == nil
	case *RMutex:
		return m == nil
	}
	return false
}

// Locker returns the mutex the Cond was made with.
func (c *Cond) Locker() CondLocker { return c.l }

// Wait waits for Signal or Broadcast. The caller holds the mutex; Wait holds
// it again when it returns, including with ErrOwnerDead. A wait that the
// segment's Close ends returns an error wrapping shm.ErrClosed, with the
// mutex released (if it is in that segment, other processes can lock it).
func (c *Cond) Wait() error {
	_, err := c.wait(context.Background(), 0)
	return err
}

// WaitTimeout is Wait giving up after d; it reports false on timeout (the
// mutex is held again either way).
func (c *Cond) WaitTimeout(d time.Duration) (bool, error) {
	return c.wait(context.Background(), wait.Deadline(d))
}

// WaitContext is Wait giving up when ctx ends (the mutex is held again).
func (c *Cond) WaitContext(ctx context.Context) error {
	_, err := c.wait(ctx, 0)
	return err
}

func (c *Cond) wait(ctx context.Context, deadline int64) (bool, error) {
	if err := objects.Core(c.seg).Writable(); err != nil {
		return false, opError("wait", c.name, err)
	}
	d, err := enter(c.seg)
	if err != nil {
		return false, opError("wait", c.name, err)
	}
	defer d.Leave()
	seq := c.st.Seq.Load() // before releasing: a signal after this is seen
	c.st.Waiters.Add(1)
	levels, err := c.l.condRelease(c.seg) // even if Close has begun: it waits for us
	if err != nil {
		c.st.Waiters.Add(^uint32(0))
		return false, err
	}
	ok, werr := wait.Block(ctx, deadline, d.Sleep(&c.st.Seq, shm.ErrClosed, wait.Changed(&c.st.Seq, seq)))
	c.st.Waiters.Add(^uint32(0))
	if errors.Is(werr, shm.ErrClosed) {
		return false, opError("wait", c.name, werr) // the mutex is in the closed segment
	}
	if err := c.l.condReacquire(levels); err != nil {
		return ok, err
	}
	if werr != nil && ctx.Err() == nil {
		werr = opError("wait", c.name, werr)
	}
	return ok, werr
}

// Signal wakes at least one waiter, if any. The caller need not hold the
// mutex, though it usually does. On a read-only or closed segment it
// panics, as Event.Set.
func (c *Cond) Signal() { c.notify(1) }

// Broadcast wakes every waiter.
func (c *Cond) Broadcast() { c.notify(math.MaxInt32) }

func (c *Cond) notify(n int) {
	mustWrite(c.seg, "notify", c.name)
	c.st.Seq.Add(1)
	if c.st.Waiters.Load() > 0 {
		futex.Wake(&c.st.Seq, n)
	}
}
