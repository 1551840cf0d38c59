package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shmkit/shmkit/internal/elem"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/shm"
)

// A Conn is one end of a pipe (Python's multiprocessing.Pipe): a pair of
// channels in a segment, named NAME.0 and NAME.1, where NAME.e carries the
// messages to end e. Each end is opened by name from any process. Closing
// an end ends the stream it sends on, so the other end's Recv returns
// io.EOF once it has read what was sent. A one-way pipe (OneWay) has only
// NAME.0: end 0 receives and end 1 sends, as Python's Pipe(duplex=False)
// returns (reader, writer).
//
// An end is used by one goroutine at a time, like an os.File read from two
// places. If the process at the other end dies without closing it, a
// blocked Recv or Send returns ErrPeerDead.
type Conn[T any] struct {
	name string
	end  int
	in   *Channel[T] // messages to this end; nil on a send-only end
	out  *Channel[T] // messages from this end; nil on a receive-only end

	// A message (or the end of the stream) that Poll received ahead.
	ahead    []T
	hasAhead bool
	aheadErr error
}

// PipeOption configures NewPipe.
type PipeOption func(*pipeOptions)

type pipeOptions struct{ oneWay bool }

// WithOneWay makes a pipe that carries messages from end 1 to end 0 only.
func WithOneWay() PipeOption { return func(o *pipeOptions) { o.oneWay = true } }

func pipeChannel(name string, end int) string { return fmt.Sprintf("%s.%d", name, end) }

// NewPipe creates a pipe named name in seg whose directions each queue up
// to slots messages of up to maxLen elements, and returns its end 0. The
// other end is opened with OpenPipe(seg, name, 1), by another process or
// by this one.
func NewPipe[T any](seg *shm.Segment, name string, slots, maxLen int, opts ...PipeOption) (*Conn[T], error) {
	var o pipeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if !o.oneWay {
		if err := roomForTwo[T](seg, name, slots, maxLen); err != nil {
			return nil, err
		}
	}
	if _, err := New[T](seg, pipeChannel(name, 0), slots, maxLen); err != nil {
		return nil, err
	}
	if !o.oneWay {
		if _, err := New[T](seg, pipeChannel(name, 1), slots, maxLen); err != nil {
			return nil, err
		}
	}
	return OpenPipe[T](seg, name, 0)
}

// roomForTwo refuses a two-way pipe before its first channel is made if
// the second could not be: its name taken, or no room in seg for both. A
// pipe made in part would hold its name, and the segment's space, for good.
func roomForTwo[T any](seg *shm.Segment, name string, slots, maxLen int) error {
	second := pipeChannel(name, 1)
	if _, err := seg.Lookup(second); !errors.Is(err, shm.ErrObjectNotFound) {
		if err == nil {
			err = shm.ErrObjectExists
		}
		return errtext.Errorf("channel: create pipe %q: %q: %w", name, second, err)
	}
	_, rec, err := elem.ElemCode[T]()
	if err != nil {
		return nil // New says why
	}
	_, length, err := geometry(slots, maxLen, elemSize[T](), false)
	if err != nil {
		return nil // New says why
	}
	if rec != nil {
		length, _, _ = elem.DescribedBy(*rec, length)
	}
	if err := objects.Core(seg).Room(length, length); err != nil {
		return errtext.Errorf("channel: create pipe %q: %w", name, err)
	}
	return nil
}

// OpenPipe opens end 0 or 1 of the pipe named name in seg, and records
// this process on both of its channels, so that the other end learns of
// its death.
func OpenPipe[T any](seg *shm.Segment, name string, end int) (*Conn[T], error) {
	if end != 0 && end != 1 {
		return nil, errtext.Errorf("%w: open pipe %q: end %d (a pipe has ends 0 and 1)", ErrNoSuchEnd, name, end)
	}
	c := &Conn[T]{name: name, end: end}
	in, err := Open[T](seg, pipeChannel(name, end))
	switch {
	case err == nil:
		c.in = in
		in.RegisterReceiver()
	case !errors.Is(err, shm.ErrObjectNotFound) || end == 0:
		return nil, err
	}
	out, err := Open[T](seg, pipeChannel(name, 1-end))
	switch {
	case err == nil:
		c.out = out
		out.RegisterSender()
	case !errors.Is(err, shm.ErrObjectNotFound) || end == 1:
		return nil, err
	}
	return c, nil
}

func (c *Conn[T]) refuse(op string) error {
	return errtext.Errorf("%w: %s on end %d of one-way pipe %q", ErrNoSuchEnd, op, c.end, c.name)
}

// Send sends one message of up to the pipe's maxLen elements, waiting
// while the other end's queue is full.
func (c *Conn[T]) Send(msg []T) error {
	if c.out == nil {
		return c.refuse("send")
	}
	return c.out.Send(msg)
}

// SendContext is Send giving up when ctx ends.
func (c *Conn[T]) SendContext(ctx context.Context, msg []T) error {
	if c.out == nil {
		return c.refuse("send")
	}
	return c.out.SendContext(ctx, msg)
}

// Recv receives the next message as a new slice. After the other end
// closed and everything it sent was read, it returns io.EOF.
func (c *Conn[T]) Recv() ([]T, error) {
	if c.in == nil {
		return nil, c.refuse("recv")
	}
	if c.hasAhead {
		return c.takeAhead()
	}
	msg, err := c.in.RecvNew()
	if msg == nil && err == nil {
		msg = []T{} // an empty message, not "none"
	}
	return msg, err
}

// RecvInto receives the next message into dst and returns its length;
// io.ErrShortBuffer (and the message stays queued) if dst is too short.
func (c *Conn[T]) RecvInto(dst []T) (int, error) {
	if c.in == nil {
		return 0, c.refuse("recv")
	}
	if !c.hasAhead {
		return c.in.Recv(dst)
	}
	if c.aheadErr == nil && len(dst) < len(c.ahead) {
		return 0, errtext.Errorf("channel: recv on pipe %q: %w: message of %d elements", c.name, io.ErrShortBuffer, len(c.ahead))
	}
	msg, err := c.takeAhead()
	return copy(dst, msg), err
}

func (c *Conn[T]) takeAhead() ([]T, error) {
	msg, err := c.ahead, c.aheadErr
	c.ahead, c.hasAhead, c.aheadErr = nil, false, nil
	return msg, err
}

// Poll reports whether a Recv would return at once: a message is queued,
// or the stream ended (Recv then returns io.EOF), waiting up to d for one
// (0: look once).
func (c *Conn[T]) Poll(d time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := c.PollContext(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return false, nil
	}
	return err == nil, err
}

// PollContext waits until a Recv would return at once, or ctx ends.
func (c *Conn[T]) PollContext(ctx context.Context) error {
	if c.in == nil {
		return c.refuse("poll")
	}
	if c.hasAhead {
		return nil
	}
	msg := []T{}
	keep := func(s []T) { msg = append(msg, s...) }
	maxLen := int(c.in.r.maxLen)
	_, ok, err := c.in.recv(mode{wake: true}, maxLen, keep)
	if !ok && err == nil {
		m := blocking
		m.ctx = ctx
		_, ok, err = c.in.recv(m, maxLen, keep)
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err == nil && !ok {
		return ctx.Err()
	}
	c.ahead, c.hasAhead, c.aheadErr = msg, true, err
	return nil
}

// ExpectPeer names the process that will open the other end, before it
// runs (see Channel.ExpectSender): if it dies, even before it opens its
// end, a Recv or Send blocked on it returns ErrPeerDead instead of waiting
// for good.
func (c *Conn[T]) ExpectPeer(pid int) error {
	var err error
	if c.in != nil {
		err = c.in.ExpectSender(pid)
	}
	if c.out != nil && err == nil {
		err = c.out.ExpectReceiver(pid)
	}
	return err
}

// Close ends the stream this end sends on (the other end reads what was
// sent, then io.EOF) and lets go of both channels.
func (c *Conn[T]) Close() error {
	var err error
	if c.out != nil {
		if e := c.out.End(); e != nil && !errors.Is(e, ErrEnded) {
			err = e
		}
		err = errors.Join(err, c.out.Close())
	}
	if c.in != nil {
		err = errors.Join(err, c.in.Close())
	}
	return err
}
