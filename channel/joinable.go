// Joinable channels: TaskDone, Join and the count behind them.

package channel

import (
	"context"
	"math"
	"time"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/shm"
)

// TaskDone marks one received message handled, on a Joinable channel:
// ErrTaskDone if no received message is unfinished, ErrNotJoinable on
// another.
func (c *Channel[T]) TaskDone() error {
	r := c.r
	if err := r.check(); err != nil {
		return err
	}
	if !r.joinable {
		return errtext.Errorf("channel: task done on %q: %w", r.name, ErrNotJoinable)
	}
	if !r.taskDone() {
		return errtext.Errorf("channel: task done on %q: %w", r.name, ErrTaskDone)
	}
	return nil
}

// Join waits until every message sent on a Joinable channel has been
// received and marked done with TaskDone. It returns ErrPeerDead if
// messages are queued and every recorded receiver has died.
func (c *Channel[T]) Join() error {
	_, err := c.join(context.Background(), 0)
	return err
}

// JoinTimeout is Join giving up after d; false on timeout.
func (c *Channel[T]) JoinTimeout(d time.Duration) (bool, error) {
	return c.join(context.Background(), wait.Deadline(d))
}

// JoinContext is Join giving up when ctx ends, returning ctx.Err().
func (c *Channel[T]) JoinContext(ctx context.Context) error {
	_, err := c.join(ctx, 0)
	return err
}

func (c *Channel[T]) join(ctx context.Context, deadline int64) (bool, error) {
	r := c.r
	if err := r.check(); err != nil {
		return false, err
	}
	if !r.joinable {
		return false, errtext.Errorf("channel: join %q: %w", r.name, ErrNotJoinable)
	}
	h := r.h
	// Nothing queued, then nothing received and not done: in this order,
	// since a receiver counts a message before it leaves the ring.
	done := func() bool { return !r.queued() && h.Unfinished.Load() == 0 }
	if done() {
		return true, nil
	}
	d := objects.Core(r.seg).Drain()
	if !d.Enter() {
		return false, errtext.Errorf("channel: join %q: %w", r.name, shm.ErrClosed)
	}
	defer d.Leave()
	ok, err := wait.Block(ctx, deadline, d.Sleep(&h.Unfinished, shm.ErrClosed, func(until int64) (bool, error) {
		h.JoinWaiters.Add(1) // before the last look: TaskDone sees us or we see its 0
		defer h.JoinWaiters.Add(^uint32(0))
		v := h.Unfinished.Load()
		if done() {
			return true, nil
		}
		if r.queued() && r.allDead(&h.Consumers) {
			return false, ErrPeerDead // queued messages that no receiver is left to take
		}
		// TaskDone wakes us at 0; a message received, dropped or taken
		// over moves nothing we sleep on, so the slice's end looks again.
		if err := futex.Wait(&h.Unfinished, v, until); err != nil && err != futex.ErrTimeout {
			return false, err
		}
		return done(), nil
	}))
	return ok, r.wrap("join", ctx, err)
}

// received counts a message this process has claimed and will hand out,
// on a joinable channel. Counting it here, not at sending, means that a
// message that never entered the ring never counts, wherever its producer
// died: Join looks at the ring for the messages not yet received.
func (r *ring) received() {
	if r.joinable {
		r.h.Unfinished.Add(1)
	}
}

// queued reports whether the ring holds a message that no receiver has
// counted yet: published and not freed, or claimed by a receiver. A
// receiver that died holding a claim is taken over here (its message is
// lost, as anywhere), so that Join does not wait for it.
func (r *ring) queued() bool {
	if r.sp != nil {
		_, n, err := r.sp.end(r.h.Head.Load())
		return n > 0 || err != nil // a record that does not read right: wait, never skip it
	}
	for i := range r.slots {
		s, _ := r.slot(i)
		st := s.State.Load()
		switch {
		case layout.SlotSeq(st)&1 == 0: // empty, or a producer writing: not sent yet
		case layout.SlotOwner(st) != 0: // a receiver holds it, counted or about to be
			if !r.takeOver(blocker{s, st}) {
				return true
			}
		case s.Len.Load() != layout.LenSkip || s.State.Load() != st:
			return true
		}
	}
	return false
}

// taskDone takes one message off Unfinished, never below 0, and wakes the
// joiners when none is left; false if none was unfinished.
func (r *ring) taskDone() bool {
	for {
		v := r.h.Unfinished.Load()
		if v == 0 {
			return false
		}
		if r.h.Unfinished.CompareAndSwap(v, v-1) {
			if v == 1 && r.h.JoinWaiters.Load() != 0 {
				futex.Wake(&r.h.Unfinished, math.MaxInt32)
			}
			return true
		}
	}
}
