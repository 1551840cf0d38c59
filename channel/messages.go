// The public ways to send and receive: each is send or recv (anyring.go)
// with a mode, or an SPSC fast path (spsc.go) first.

package channel

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
	"unsafe"

	"github.com/shmkit/shmkit/internal/bulk"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/wait"
)

// how a send or receive proceeds when it cannot complete at once
type mode struct {
	ctx      context.Context
	deadline int64 // monotonic; 0 none
	block    bool
	wake     bool // wake sleepers on the other side when done
}

var blocking = mode{ctx: context.Background(), block: true, wake: true}

// wrap adds the channel's name to an error, leaving io.EOF and the
// context's own errors as they are.
func (r *ring) wrap(op string, ctx context.Context, err error) error {
	if err == nil || err == io.EOF || (ctx != nil && err == ctx.Err()) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errtext.Errorf("channel: %s %q: %w", op, r.name, err)
}

// bigCopy is the size from which messages are copied with bulk.Copy,
// which is faster than Go's copy for large copies into shared memory.
const bigCopy = 64 << 10

// copyElems copies src to dst, as copy does.
func copyElems[T any](dst, src []T) {
	if len(src)*int(unsafe.Sizeof(src[0])) < bigCopy {
		copy(dst, src)
		return
	}
	bulk.Copy(layout.Bytes(dst), layout.Bytes(src))
}

func copyIn[T any](values []T) func([]T) { return func(s []T) { copyElems(s, values) } }

// Send sends a copy of values as one message, waiting while the channel is
// full. It fails with ErrTooLarge if len(values) > MaxLen, ErrEnded once
// the channel is ended, ErrClosed once this handle is closed, and
// ErrPeerDead if every receiver has died.
func (c *Channel[T]) Send(values []T) error {
	if len(values) == 1 && elemSize[T]() == 8 {
		_, err := c.r.sendWord(wordOf(values[0]), true)
		return err
	}
	if c.sendFast(values) {
		return nil
	}
	_, err := c.send(blocking, len(values), copyIn(values))
	return err
}

// TrySend sends without waiting; it reports false if the channel is full.
func (c *Channel[T]) TrySend(values []T) (bool, error) {
	if len(values) == 1 && elemSize[T]() == 8 {
		return c.r.sendWord(wordOf(values[0]), false)
	}
	if c.sendFast(values) {
		return true, nil
	}
	return c.send(mode{wake: true}, len(values), copyIn(values))
}

// SendTimeout is Send giving up after d (CLOCK_MONOTONIC); false on timeout.
func (c *Channel[T]) SendTimeout(values []T, d time.Duration) (bool, error) {
	m := blocking
	m.deadline = wait.Deadline(d)
	return c.send(m, len(values), copyIn(values))
}

// SendContext is Send giving up when ctx ends, returning ctx.Err(). With
// room in the ring the message is sent even if ctx has ended: ctx only
// ends a wait.
func (c *Channel[T]) SendContext(ctx context.Context, values []T) error {
	m := blocking
	m.ctx = ctx
	_, err := c.send(m, len(values), copyIn(values))
	return err
}

// Messages ranges over the messages received until the channel is ended
// and drained, each in a new slice the loop may keep. A receive that fails
// otherwise (ErrPeerDead, a closed segment) ends the loop with its error as
// the last pair; io.EOF is the normal end and is not yielded:
//
//	for msg, err := range ch.Messages() {
//		if err != nil {
//			return err
//		}
//		use(msg)
//	}
func (c *Channel[T]) Messages() iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		for {
			msg, err := c.RecvNew()
			switch {
			case errors.Is(err, io.EOF):
				return
			case err != nil:
				yield(nil, err)
				return
			case !yield(msg, nil):
				return
			}
		}
	}
}

// SendFunc sends a message of n elements that fill writes in place, in the
// slot itself: no copy. fill must not keep the slice. If fill panics, no
// message is sent and the panic goes on.
func (c *Channel[T]) SendFunc(n int, fill func([]T)) error {
	_, err := c.send(blocking, n, fill)
	return err
}

// SendBatch sends each of msgs in order, waking sleeping receivers once
// rather than per message where it can. It returns how many it sent.
func (c *Channel[T]) SendBatch(msgs [][]T) (int, error) {
	pending := false
	for i, msg := range msgs {
		ok, err := c.send(mode{}, len(msg), copyIn(msg))
		if ok {
			pending = true
			continue
		}
		if pending { // wake them before we sleep ourselves
			c.r.wakeReceivers()
			pending = false
		}
		if err == nil {
			_, err = c.send(blocking, len(msg), copyIn(msg))
		}
		if err != nil {
			return i, err
		}
	}
	if pending {
		c.r.wakeReceivers()
	}
	return len(msgs), nil
}

func copyOut[T any](dst []T) func([]T) { return func(s []T) { copyElems(dst, s) } }

// recvLooks is how many more looks, a pause apart, Recv takes on an SPSC
// ring where nothing has been published yet, before its general path: a
// message its peer is about to send (a ping-pong's answer) comes within
// them, and the general path's wait costs more to set up than they do.
// Anything else the fast path does not take (a pad or skip record, a
// message too long for dst, the end of the stream) goes to the general
// path at once. W3's round trip went from 1.46× to
// 1.21× the C floor's (means of five interleaved runs); W2 did not move.
const recvLooks = 16

// Recv receives the next message into dst and returns its length, waiting
// while the channel is empty. If dst is too short the message stays queued
// and the error satisfies errors.Is(err, io.ErrShortBuffer). After End,
// it returns the messages still queued, then io.EOF. If every sender has
// died without ending the stream, it returns ErrPeerDead.
func (c *Channel[T]) Recv(dst []T) (int, error) {
	if n, ok := c.recvQuick(dst); ok {
		return n, nil
	}
	if s := c.r.sp; s != nil && s.recv.leased && !c.r.joinable {
		for i := 0; i < recvLooks && s.awaiting(); i++ {
			wait.Pause()
			if n, ok := c.recvQuick(dst); ok {
				return n, nil
			}
		}
	}
	n, _, err := c.recv(blocking, len(dst), copyOut(dst))
	return n, err
}

// recvQuick is recvFast, by recvWord for a message of one 8-byte element.
func (c *Channel[T]) recvQuick(dst []T) (int, bool) {
	if elemSize[T]() == 8 && len(dst) > 0 {
		if v, ok := c.r.recvWord(); ok {
			dst[0] = fromWord[T](v)
			return 1, true
		}
	}
	return c.recvFast(dst)
}

// TryRecv receives without waiting; ok is false if nothing was queued.
func (c *Channel[T]) TryRecv(dst []T) (n int, ok bool, err error) {
	if n, ok := c.recvQuick(dst); ok {
		return n, true, nil
	}
	return c.recv(mode{wake: true}, len(dst), copyOut(dst))
}

// RecvTimeout is Recv giving up after d; ok is false on timeout.
func (c *Channel[T]) RecvTimeout(dst []T, d time.Duration) (n int, ok bool, err error) {
	m := blocking
	m.deadline = wait.Deadline(d)
	return c.recv(m, len(dst), copyOut(dst))
}

// RecvContext is Recv giving up when ctx ends, returning ctx.Err(). A
// message already queued is received even if ctx has ended: ctx only ends
// a wait.
func (c *Channel[T]) RecvContext(ctx context.Context, dst []T) (int, error) {
	m := blocking
	m.ctx = ctx
	n, _, err := c.recv(m, len(dst), copyOut(dst))
	return n, err
}

// RecvNew receives the next message as a new slice, the way Python's
// recv() returns a new list.
func (c *Channel[T]) RecvNew() ([]T, error) {
	var out []T
	_, _, err := c.recv(blocking, int(c.r.maxLen), func(s []T) { out = append([]T(nil), s...) })
	return out, err
}

// RecvFunc hands the next message to use in place, in the slot itself: no
// copy. use must not keep the slice; the slot is freed when use returns.
func (c *Channel[T]) RecvFunc(use func([]T)) error {
	_, _, err := c.recv(blocking, int(c.r.maxLen), use)
	return err
}

// RecvBatch receives up to len(bufs) messages: it waits for the first, then
// takes whatever else is queued, waking sleeping senders once. Each
// bufs[i] is received into up to its capacity and resliced to the
// message's length. It returns how many messages it received.
//
// On an SPSC channel it gives the batch's ring space back to the sender
// with one store, after the last message, rather than one per message.
func (c *Channel[T]) RecvBatch(bufs [][]T) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	if n := c.recvBatchFast(bufs); n > 0 {
		return n, nil
	}
	m := blocking
	m.wake = false
	for i := range bufs {
		if i == 1 && c.r.sp != nil {
			n := 1 + c.recvBatchFast(bufs[1:])
			c.r.wakeSenders()
			return n, nil
		}
		dst := bufs[i][:cap(bufs[i])]
		n, ok, err := c.recv(m, len(dst), copyOut(dst))
		if !ok || err != nil {
			if i > 0 {
				c.r.wakeSenders()
				return i, nil // what was queued; the error comes next call
			}
			return 0, err
		}
		bufs[i] = dst[:n]
		m.block = false
	}
	c.r.wakeSenders()
	return len(bufs), nil
}

// RecvValues receives up to len(dst) messages of one element each into
// dst, in order: every one that is queued, waiting as Recv does for the
// first. It is Recv for a stream of single values, with the consumer's
// position published once per call rather than once per message. A
// message of another length ends the batch and stays queued for Recv
// (io.ErrShortBuffer if it is the first); an empty message is taken and
// ends the batch (n is then 0 if it was the first), so a caller that
// delimits runs of values by empty messages receives them with Recv. On a
// joinable channel it takes one message a call, so that each call is one
// TaskDone owed, whether it returned a value or, for an empty message,
// none. Errors are Recv's; an empty dst returns 0 and no error, as
// RecvBatch does with no buffers.
func (c *Channel[T]) RecvValues(dst []T) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	if n, empty := c.recvValuesFast(dst); n > 0 || empty {
		return n, nil
	}
	n, err := c.Recv(dst[:1])
	if n == 0 || err != nil {
		return 0, err
	}
	if c.r.joinable {
		return 1, nil // one message a call: an empty one, taken unseen after values, would be owed a TaskDone
	}
	if c.r.sp != nil {
		k, empty := c.recvValuesFast(dst[1:])
		if n += k; empty {
			return n, nil
		}
	}
	for n < len(dst) { // what the fast path does not take: any-to-any, wide or odd elements
		k, ok, err := c.TryRecv(dst[n : n+1])
		if !ok || err != nil || k == 0 {
			break // an error comes again on the next call
		}
		n++
	}
	return n, nil
}
