package semaphore

import (
	"context"
	"math"
	"time"

	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/shm"
)

// An Event is a flag in a shared memory segment that processes wait for
// (Python's Event): Set wakes every waiter, Clear resets it. Waiting costs
// one OS thread while blocked; Set with no waiters makes no system call.
type Event struct {
	name string
	st   *layout.Event
	seg  *shm.Segment
}

// NewEvent creates a clear event named name in seg.
func NewEvent(seg *shm.Segment, name string) (*Event, error) {
	obj, st, err := objects.Make[layout.Event](seg, segment.Request{Name: name, Kind: shm.KindEvent}, nil)
	if err != nil {
		return nil, allocError(err)
	}
	return &Event{name: obj.Name, st: st, seg: seg}, nil
}

// OpenEvent attaches to the event named name in seg.
func OpenEvent(seg *shm.Segment, name string) (*Event, error) {
	obj, st, err := objects.Attach[layout.Event](seg, name, shm.KindEvent)
	if err != nil {
		return nil, err
	}
	return &Event{name: obj.Name, st: st, seg: seg}, nil
}

// Set sets the flag and wakes every waiter.
//
// On a segment attached read-only, or closed, it panics with an error
// wrapping shm.ErrReadOnly or shm.ErrClosed, as a send on a closed Go
// channel panics.
func (e *Event) Set() {
	mustWrite(e.seg, "set", e.name)
	e.st.Flag.Store(1)
	if e.st.Waiters.Load() > 0 {
		futex.Wake(&e.st.Flag, math.MaxInt32)
	}
}

// Clear resets the flag. On a read-only segment it panics, as Set.
func (e *Event) Clear() {
	mustWrite(e.seg, "clear", e.name)
	e.st.Flag.Store(0)
}

// IsSet reports whether the flag is set. After Close it panics, as Set.
func (e *Event) IsSet() bool {
	mustBeOpen(e.seg, "is set", e.name)
	return e.st.Flag.Load() != 0
}

// Wait waits until the flag is set.
func (e *Event) Wait() error {
	_, err := e.wait(context.Background(), 0)
	return err
}

// WaitTimeout waits at most d and reports whether the flag is set.
func (e *Event) WaitTimeout(d time.Duration) (bool, error) {
	return e.wait(context.Background(), wait.Deadline(d))
}

// WaitContext waits until the flag is set or ctx ends.
func (e *Event) WaitContext(ctx context.Context) error {
	_, err := e.wait(ctx, 0)
	return err
}

func (e *Event) wait(ctx context.Context, deadline int64) (bool, error) {
	if err := objects.Core(e.seg).Writable(); err != nil { // a waiter counts itself in
		return false, opError("wait", e.name, err)
	}
	if e.st.Flag.Load() != 0 {
		return true, nil
	}
	d, err := enter(e.seg)
	if err != nil {
		return false, opError("wait", e.name, err)
	}
	defer d.Leave()
	e.st.Waiters.Add(1) // before the last look at the flag: Set sees us or we see it
	defer e.st.Waiters.Add(^uint32(0))
	ok, err := wait.Block(ctx, deadline, d.Sleep(&e.st.Flag, shm.ErrClosed, wait.Changed(&e.st.Flag, 0)))
	if err != nil && ctx.Err() == nil {
		err = opError("wait", e.name, err)
	}
	return ok, err
}
