package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/hold"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/shm"
)

// A Channel is a bounded queue of messages between processes: a ring of
// Cap slots in a shared memory segment, each holding one message of up to
// MaxLen elements of T. Any number of processes (and goroutines) may send
// and receive at once; each producer's messages arrive in the order it sent
// them.
//
// Send and Recv touch only the shared memory while both sides keep up. A
// side that must wait spins briefly, then sleeps on a futex; the other
// side's Send or Recv wakes it, costing one system call only when someone
// sleeps. A message is never seen half-written, even if its producer is
// killed while writing it; a killed receiver loses the message it was
// reading. When every process on the other side has died, a blocked Send or
// Recv returns ErrPeerDead (within about a quarter of a second).
//
// A Channel must not be used after its segment is closed.
type Channel[T any] struct {
	r     *ring
	elems []T // an SPSC channel's ring as elements, for the fast paths
}

func newChannel[T any](r *ring) *Channel[T] {
	c := &Channel[T]{r: r}
	// Messages start 8-aligned; when the element size divides 8, the ring
	// is one slice of elements that every payload is a piece of.
	if size := elemSize[T](); r.sp != nil && recordHeader%size == 0 {
		c.elems = layout.Slice[T](r.sp.ring, 0, r.sp.cap/size)
	}
	return c
}

// payload is the n elements of the message at offset at of an SPSC ring.
func (c *Channel[T]) payload(at, n uint64) []T {
	if c.elems == nil { // records: sizes that do not divide 8
		return layout.Slice[T](c.r.sp.ring, at+recordHeader, n)
	}
	i := (at + recordHeader) / uint64(unsafe.Sizeof(*new(T)))
	return c.elems[i : i+n : i+n]
}

func elemSize[T any]() uint64 { return uint64(unsafe.Sizeof(*new(T))) }

// An Option changes how New makes a channel.
type Option func(*options)

type options struct{ single, joinable bool }

// Joinable makes a channel that counts the messages sent and not yet
// marked done, as Python's JoinableQueue: receivers call TaskDone for each
// message they have handled, and Join waits until every message sent so
// far is done. A message whose receiver dies before TaskDone stays
// unfinished for good, so a Join then ends only by its timeout or context
// (JoinTimeout, JoinContext). Each send costs one more atomic addition.
func Joinable() Option { return func(o *options) { o.joinable = true } }

// SPSC makes a channel for one sender and one receiver at a time, the
// common pipeline: messages lie end to end in the ring, so several small
// ones share a cache line, and sending and receiving take no atomic
// read-modify-write and no full fence. Unlike the default channel, a
// handle's sending side must be used by one goroutine at a time, and so
// must its receiving side (the race detector reports a breach); End and
// the other methods may be called from anywhere. The channel holds at
// least slots messages of MaxLen elements, and more of shorter ones (its
// ring holds slots+1 of the longest), and keeps every other promise of
// Channel; a second
// live sending (or receiving) handle, in any process, gets ErrInUse, and one
// whose predecessor's process died takes over. A message that a killed receiver was reading
// is received again by the next receiver, not lost. C and Python speak the
// same protocol. It needs membarrier(2) (Linux 4.16 and later; without it,
// errors.ErrUnsupported).
func SPSC() Option { return func(o *options) { o.single = true } }

// New creates a channel named name in seg with slots messages of at most
// maxLen elements each. By default any number of processes may send and
// receive; see SPSC for one of each.
func New[T any](seg *shm.Segment, name string, slots, maxLen int, opts ...Option) (*Channel[T], error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	code, rec, err := ctypes.ElemCode[T]()
	if err != nil {
		return nil, fmt.Errorf("channel: create %q: %w", name, err)
	}
	stride, length, err := geometry(slots, maxLen, elemSize[T](), o.single)
	if err != nil {
		return nil, fmt.Errorf("channel: create %q: %w", name, err)
	}
	req := shm.Request{
		Name: name, Kind: shm.KindChannel, Typecode: byte(code),
		Length: length, Param0: uint64(slots), Param1: uint64(maxLen),
	}
	describe := func([]byte) {}
	if rec != nil { // records: their description follows the ring
		req.Length, req.Desc, describe = rec.DescribedBy(length)
	}
	if o.single {
		req.Flags |= layout.FlagSPSC
	}
	if o.joinable {
		req.Flags |= layout.FlagJoinable
	}
	obj, err := seg.Alloc(req, func(mem []byte) error {
		describe(mem)
		h := layout.At[layout.Channel](mem, 0)
		h.Slots, h.MaxLen, h.ElemSize, h.SlotStride = uint32(slots), uint32(maxLen), uint32(elemSize[T]()), uint32(stride)
		h.PidNamespace = procs.PIDNamespace()
		if o.single {
			h.SPSC = 1 // the ring's zeroes match no record's stamp
			return nil
		}
		for i := range uint64(slots) { // slot i first serves position i
			layout.At[layout.Slot](mem, headerSize+i*stride).State.Store(layout.SlotState(seqOf(i), false, 0))
		}
		return nil
	})
	if err != nil {
		return nil, err // Alloc's error names the operation, the object and the segment
	}
	r, err := newRing(seg, obj, elemSize[T]())
	if err != nil {
		return nil, err
	}
	populate(seg, obj)
	return newChannel[T](r), nil
}

// Open attaches to the channel named name in seg; it must carry elements of
// type T (ctypes.ErrTypeMismatch otherwise).
func Open[T any](seg *shm.Segment, name string) (*Channel[T], error) {
	obj, err := seg.LookupKind(name, shm.KindChannel)
	if err != nil {
		return nil, err
	}
	want, rec, err := ctypes.ElemCode[T]()
	if err != nil {
		return nil, fmt.Errorf("channel: open %q: %w", name, err)
	}
	if ctypes.Typecode(obj.Typecode) != want {
		return nil, fmt.Errorf("channel: open %q: %w: it carries %v, not %v",
			name, ctypes.ErrTypeMismatch, ctypes.Typecode(obj.Typecode), want)
	}
	r, err := newRing(seg, obj, elemSize[T]())
	if err != nil {
		return nil, err
	}
	if rec != nil {
		got, err := ctypes.RecordLayout(obj, uint64(len(r.mem)))
		if err != nil {
			return nil, err
		}
		if err := rec.Match(got); err != nil {
			return nil, fmt.Errorf("channel: open %q: %w", name, err)
		}
	}
	populate(seg, obj)
	return newChannel[T](r), nil
}

// NewFloatChannel makes the classic FloatChannel: one slot holding a
// message of up to maxsize float64; Send waits until the previous message
// was taken.
func NewFloatChannel(seg *shm.Segment, name string, maxsize int) (*Channel[float64], error) {
	return New[float64](seg, name, 1, maxsize)
}

// OpenFloatChannel attaches to a FloatChannel.
func OpenFloatChannel(seg *shm.Segment, name string) (*Channel[float64], error) {
	return Open[float64](seg, name)
}

// RegisterSender records this process as a sender now rather than at its
// first Send. Receivers blocked on an empty channel report ErrPeerDead once
// every recorded sender has died without closing it. A process that will
// close the channel without sending (a coordinator that waits for its
// workers, then closes) calls RegisterSender first, so that the workers'
// exit is not taken for the death of every sender before it closes.
func (c *Channel[T]) RegisterSender() { c.r.register(&c.r.sendReg, &c.r.h.Producers) }

// RegisterReceiver records this process as a receiver now rather than at
// its first Recv; see RegisterSender.
func (c *Channel[T]) RegisterReceiver() { c.r.register(&c.r.recvReg, &c.r.h.Consumers) }

// Name returns the channel's name in its segment.
func (c *Channel[T]) Name() string { return c.r.name }

// Cap returns the number of slots.
func (c *Channel[T]) Cap() int { return int(c.r.slots) }

// MaxLen returns the most elements one message may hold.
func (c *Channel[T]) MaxLen() int { return int(c.r.maxLen) }

// Len returns how many messages are queued or being written (a snapshot).
func (c *Channel[T]) Len() int {
	c.r.mustBeOpen("len")
	if c.r.sp != nil {
		return c.r.sp.length()
	}
	t, h := c.r.h.Tail.Load(), c.r.h.Head.Load()
	if t <= h {
		return 0
	}
	return int(min(t-h, c.r.slots))
}

// how a send or receive proceeds when it cannot complete at once
type mode struct {
	ctx      context.Context
	deadline int64 // monotonic; 0 none
	block    bool
	wake     bool // wake sleepers on the other side when done
}

var blocking = mode{ctx: context.Background(), block: true, wake: true}

// send claims a slot, lets fill write n elements into it, and publishes it.
// The fast path (a free slot) makes no indirect call but fill.
func (c *Channel[T]) send(m mode, n int, fill func([]T)) (ok bool, err error) {
	r := c.r
	if !r.joinable {
		return c.sendMsg(m, n, fill)
	}
	if err := r.check(); err != nil {
		return false, err
	}
	r.h.Unfinished.Add(1) // before the message can be seen: a Join never misses it
	defer func() {
		if !ok || err != nil { // not sent, fill panicking included
			r.taskDone()
		}
	}()
	return c.sendMsg(m, n, fill)
}

// sendMsg is send without the joinable count.
func (c *Channel[T]) sendMsg(m mode, n int, fill func([]T)) (bool, error) {
	r := c.r
	if err := r.check(); err != nil {
		return false, err
	}
	if n > int(r.maxLen) || n < 0 {
		return false, fmt.Errorf("channel: send on %q: %w: %d elements, at most %d", r.name, ErrTooLarge, n, r.maxLen)
	}
	if !r.sendReg.Load() {
		r.register(&r.sendReg, &r.h.Producers)
	}
	if r.sp != nil {
		return c.sendSPSC(m, n, fill)
	}
	cl, blk, ok, err := r.trySend()
	if !ok && err == nil && m.block {
		var d *hold.Drain
		d, ok, err = r.waitFor(m.ctx, m.deadline, &r.h.SpaceSeq, &r.h.SendWaiters, &r.sendSpin, false, func() (bool, error) {
			var ok bool
			var err error
			cl, blk, ok, err = r.trySend()
			return ok, err
		}, func() error {
			if !r.takeOver(blk) && r.allDead(&r.h.Consumers) {
				return ErrPeerDead
			}
			return nil
		})
		if d != nil {
			defer d.Leave() // the segment stays mapped until we are done with the slot
		}
	}
	if !ok || err != nil {
		return false, r.wrap("send on", m.ctx, err)
	}
	published := false
	defer func() {
		if !published { // fill panicked: leave no claimed slot behind
			r.publish(cl, layout.LenSkip)
			r.wakeReceivers()
		}
	}()
	if r.h.Closed.Load() != 0 { // closed after we claimed: no message
		r.publish(cl, layout.LenSkip)
		published = true
		r.wakeReceivers()
		return false, r.wrap("send on", m.ctx, ErrClosed)
	}
	fill(layout.Slice[T](r.mem, cl.data, uint64(n)))
	r.publish(cl, uint32(n))
	published = true
	if m.wake {
		r.wakeReceivers()
	}
	return true, nil
}

// trySend claims a slot for sending unless the channel is closed.
func (r *ring) trySend() (claimed, blocker, bool, error) {
	if r.h.Closed.Load() != 0 {
		return claimed{}, blocker{}, false, ErrClosed
	}
	return r.claimSend()
}

// tryRecv claims the next message of at most maxLen elements, dropping
// slots that hold no message; io.EOF once the channel is closed and empty.
func (r *ring) tryRecv(maxLen int) (claimed, uint32, blocker, bool, error) {
	for {
		closed := r.h.Closed.Load() != 0 // before looking: see docs/channel.md
		cl, n, blk, ok, err := r.claimRecv(maxLen)
		switch {
		case err != nil:
			return cl, n, blk, false, err
		case !ok && closed && layout.SlotOwner(blk.st) == 0:
			return cl, n, blk, false, io.EOF
		case !ok:
			return cl, n, blk, false, nil
		case n == layout.LenSkip: // a message that never was: drop it
			r.free(cl)
			r.wakeSenders()
			continue
		}
		return cl, n, blk, true, nil
	}
}

// recv claims the next message of at most maxLen elements, hands it to use,
// and frees its slot. It returns the message's length.
func (c *Channel[T]) recv(m mode, maxLen int, use func([]T)) (int, bool, error) {
	r := c.r
	if err := r.check(); err != nil {
		return 0, false, err
	}
	if !r.recvReg.Load() {
		r.register(&r.recvReg, &r.h.Consumers)
	}
	if r.sp != nil {
		return c.recvSPSC(m, maxLen, use)
	}
	cl, n, blk, ok, err := r.tryRecv(maxLen)
	if !ok && err == nil && m.block {
		var d *hold.Drain
		d, ok, err = r.waitFor(m.ctx, m.deadline, &r.h.DataSeq, &r.h.RecvWaiters, &r.recvSpin, false, func() (bool, error) {
			var ok bool
			var err error
			cl, n, blk, ok, err = r.tryRecv(maxLen)
			return ok, err
		}, func() error {
			if !r.takeOver(blk) && r.h.Closed.Load() == 0 && r.allDead(&r.h.Producers) {
				return ErrPeerDead
			}
			return nil
		})
		if d != nil {
			defer d.Leave() // the segment stays mapped until we are done with the slot
		}
	}
	if !ok || err != nil {
		return 0, false, r.wrap("receive on", m.ctx, err)
	}
	defer func() { // also if use panics: the message is consumed either way
		r.free(cl)
		if m.wake {
			r.wakeSenders()
		}
	}()
	use(layout.Slice[T](r.mem, cl.data, uint64(n)))
	return int(n), true, nil
}

// sendSPSC is send on a single-producer channel.
func (c *Channel[T]) sendSPSC(m mode, n int, fill func([]T)) (bool, error) {
	r, s := c.r, c.r.sp
	if !s.send.leased {
		if err := s.leaseSend(); err != nil {
			return false, r.wrap("send on", m.ctx, err)
		}
	}
	size := s.recordSize(uint64(n))
	at, ok, err := s.reserve(size)
	if !ok && err == nil && m.block {
		var d *hold.Drain
		d, ok, err = r.waitFor(m.ctx, m.deadline, &r.h.SpaceSeq, &r.h.SendWaiters, &r.sendSpin, true, func() (bool, error) {
			var ok bool
			var err error
			at, ok, err = s.reserve(size)
			return ok, err
		}, func() error {
			if r.allDead(&r.h.Consumers) {
				return ErrPeerDead
			}
			return nil
		})
		if d != nil {
			defer d.Leave() // the segment stays mapped until we are done with the slot
		}
	}
	if !ok || err != nil {
		return false, r.wrap("send on", m.ctx, err)
	}
	fill(c.payload(at, uint64(n))) // a panic here publishes nothing
	err = s.publish(at, uint32(n))
	if m.wake {
		r.wakeReceivers()
	}
	return err == nil, r.wrap("send on", m.ctx, err)
}

// recvSPSC is recv on a single-producer channel.
func (c *Channel[T]) recvSPSC(m mode, maxLen int, use func([]T)) (int, bool, error) {
	r, s := c.r, c.r.sp
	if !s.recv.leased {
		if err := s.leaseRecv(); err != nil {
			return 0, false, r.wrap("receive on", m.ctx, err)
		}
	}
	at, n, ok, err := s.tryRecv(maxLen)
	if !ok && err == nil && m.block {
		var d *hold.Drain
		d, ok, err = r.waitFor(m.ctx, m.deadline, &r.h.DataSeq, &r.h.RecvWaiters, &r.recvSpin, true, func() (bool, error) {
			var ok bool
			var err error
			at, n, ok, err = s.tryRecv(maxLen)
			return ok, err
		}, func() error {
			if r.h.Closed.Load() == 0 && r.allDead(&r.h.Producers) {
				return ErrPeerDead
			}
			return nil
		})
		if d != nil {
			defer d.Leave() // the segment stays mapped until we are done with the slot
		}
	}
	if !ok || err != nil {
		return 0, false, r.wrap("receive on", m.ctx, err)
	}
	defer func() { // also if use panics: the message is consumed either way
		s.consume(n)
		if m.wake {
			r.wakeSenders()
		}
	}()
	use(c.payload(at, uint64(n)))
	return int(n), true, nil
}

// wrap adds the channel's name to an error, leaving io.EOF and the
// context's own errors as they are.
func (r *ring) wrap(op string, ctx context.Context, err error) error {
	if err == nil || err == io.EOF || (ctx != nil && err == ctx.Err()) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("channel: %s %q: %w", op, r.name, err)
}

// bigCopy is the size from which messages are copied with C's memcpy,
// which is faster than Go's copy for large copies into shared memory
// (cbind.Copy).
const bigCopy = 64 << 10

// copyElems copies src to dst, as copy does.
func copyElems[T any](dst, src []T) {
	if len(src)*int(unsafe.Sizeof(src[0])) < bigCopy {
		copy(dst, src)
		return
	}
	cbind.Copy(layout.Bytes(dst), layout.Bytes(src))
}

func copyIn[T any](values []T) func([]T) { return func(s []T) { copyElems(s, values) } }

// Send sends a copy of values as one message, waiting while the channel is
// full. It fails with ErrTooLarge if len(values) > MaxLen, ErrClosed once
// the channel is closed, and ErrPeerDead if every receiver has died.
func (c *Channel[T]) Send(values []T) error {
	if c.sendFast(values) {
		return nil
	}
	_, err := c.send(blocking, len(values), copyIn(values))
	return err
}

// TrySend sends without waiting; it reports false if the channel is full.
func (c *Channel[T]) TrySend(values []T) (bool, error) {
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

// SendContext is Send giving up when ctx ends, returning ctx.Err().
func (c *Channel[T]) SendContext(ctx context.Context, values []T) error {
	m := blocking
	m.ctx = ctx
	_, err := c.send(m, len(values), copyIn(values))
	return err
}

// Messages ranges over the messages received until the channel is closed
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

// Recv receives the next message into dst and returns its length, waiting
// while the channel is empty. If dst is too short the message stays queued
// and the error satisfies errors.Is(err, io.ErrShortBuffer). After End,
// it returns the messages still queued, then io.EOF. If every sender has
// died without ending the stream, it returns ErrPeerDead.
func (c *Channel[T]) Recv(dst []T) (int, error) {
	if n, ok := c.recvFast(dst); ok {
		return n, nil
	}
	n, _, err := c.recv(blocking, len(dst), copyOut(dst))
	return n, err
}

// TryRecv receives without waiting; ok is false if nothing was queued.
func (c *Channel[T]) TryRecv(dst []T) (n int, ok bool, err error) {
	if n, ok := c.recvFast(dst); ok {
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

// RecvContext is Recv giving up when ctx ends, returning ctx.Err().
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
func (c *Channel[T]) RecvBatch(bufs [][]T) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	m := blocking
	m.wake = false
	for i := range bufs {
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

// End ends the stream for every process, as close(ch) does a Go channel:
// sends fail with ErrClosed, and receivers get what is still queued, then
// io.EOF. It is the sender's call; ending twice is ErrClosed. (Close only
// lets go of this handle.)
func (c *Channel[T]) End() error {
	r := c.r
	if err := r.check(); err != nil {
		return err
	}
	if !r.h.Closed.CompareAndSwap(0, 1) {
		return fmt.Errorf("channel: close %q: %w: already closed", r.name, ErrClosed)
	}
	r.h.DataSeq.Add(1)
	r.h.SpaceSeq.Add(1)
	futex.Wake(&r.h.DataSeq, math.MaxInt32)
	futex.Wake(&r.h.SpaceSeq, math.MaxInt32)
	return nil
}

// Close lets go of this handle, and never ends the stream (End does), so a
// consumer's defer ch.Close() is harmless to everyone else. On a
// single-producer channel (SPSC) it gives back the sides this handle sent
// or received on, so that another handle may take them at once; that
// matters where a holder's death cannot be seen (once a process of another
// pid namespace opened the channel, a side is never taken over from a
// holder that looks dead). The handle stays usable: its next send or
// receive takes the side again. Call it from the goroutine that sends or
// receives, between operations.
func (c *Channel[T]) Close() error {
	if err := c.r.check(); err != nil {
		return err
	}
	if s := c.r.sp; s != nil {
		if s.send.leased {
			s.send.leased = false
			c.r.h.Producer.CompareAndSwap(s.token, 0)
		}
		if s.recv.leased {
			s.recv.leased = false
			c.r.h.Consumer.CompareAndSwap(s.token, 0)
		}
	}
	return nil
}

// TaskDone marks one received message handled, on a Joinable channel:
// ErrTaskDone if no message is unfinished, ErrNotJoinable on another.
func (c *Channel[T]) TaskDone() error {
	r := c.r
	if err := r.check(); err != nil {
		return err
	}
	if !r.joinable {
		return fmt.Errorf("channel: task done on %q: %w", r.name, ErrNotJoinable)
	}
	if !r.taskDone() {
		return fmt.Errorf("channel: task done on %q: %w", r.name, ErrTaskDone)
	}
	return nil
}

// Join waits until every message sent on a Joinable channel has been marked
// done with TaskDone.
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
		return false, fmt.Errorf("channel: join %q: %w", r.name, ErrNotJoinable)
	}
	h := r.h
	if h.Unfinished.Load() == 0 {
		return true, nil
	}
	d := hold.Of(r.seg)
	if !d.Enter() {
		return false, fmt.Errorf("channel: join %q: %w", r.name, shm.ErrClosed)
	}
	defer d.Leave()
	ok, err := wait.Block(ctx, deadline, d.Sleep(&h.Unfinished, shm.ErrClosed, func(until int64) (bool, error) {
		h.JoinWaiters.Add(1) // before the last look: TaskDone sees us or we see its 0
		defer h.JoinWaiters.Add(^uint32(0))
		v := h.Unfinished.Load()
		if v == 0 {
			return true, nil
		}
		if err := futex.Wait(&h.Unfinished, v, until); err != nil && err != futex.ErrTimeout {
			return false, err
		}
		return h.Unfinished.Load() == 0, nil
	}))
	return ok, r.wrap("join", ctx, err)
}

// State is a snapshot of a channel, for tools.
type State struct {
	Head, Tail               uint64 // positions (hints, see docs/channel.md)
	Len, Cap, MaxLen         int
	Closed                   bool
	RecvWaiters, SendWaiters int
	Recovered                int            // slots taken over from dead processes
	Producers, Consumers     []int          // recorded pids
	Layout                   *ctypes.Layout // the records' fields; nil for scalars
}

// sleepers is the count in a sleeper word.
func sleepers(w *atomic.Uint32) int { return int(w.Load() & layout.WaiterCountMask) }

// State returns a snapshot of the channel.
func (c *Channel[T]) State() State {
	c.r.mustBeOpen("state")
	h := c.r.h
	s := State{
		Head: h.Head.Load(), Tail: h.Tail.Load(), Len: c.Len(), Cap: c.Cap(), MaxLen: c.MaxLen(),
		Closed: h.Closed.Load() != 0, RecvWaiters: sleepers(&h.RecvWaiters), SendWaiters: sleepers(&h.SendWaiters),
		Recovered: int(h.Recovered.Load()),
	}
	_, s.Layout, _ = ctypes.ElemCode[T]()
	for i := range h.Producers {
		if p := h.Producers[i].Load(); p != 0 {
			s.Producers = append(s.Producers, int(p))
		}
		if p := h.Consumers[i].Load(); p != 0 {
			s.Consumers = append(s.Consumers, int(p))
		}
	}
	return s
}

// Inspect returns the state of the channel named name in seg whatever its
// element type, for tools.
func Inspect(seg *shm.Segment, name string) (State, error) {
	obj, err := seg.LookupKind(name, shm.KindChannel)
	if err != nil {
		return State{}, err
	}
	var rec *ctypes.Layout
	var size uint64
	if ctypes.Typecode(obj.Typecode) == ctypes.CodeStruct {
		l, err := ctypes.RecordLayout(obj, 0) // its size; its place is checked below
		if err != nil {
			return State{}, err
		}
		rec, size = &l, uint64(l.Size)
	} else {
		tc, err := ctypes.ParseTypecode(obj.Typecode)
		if err != nil {
			return State{}, fmt.Errorf("channel: %q: %w", name, err)
		}
		size = uint64(tc.Size())
	}
	r, err := newRing(seg, obj, size)
	if err != nil {
		return State{}, err
	}
	if rec != nil {
		if err := ctypes.DescribedAfter(obj, uint64(len(r.mem))); err != nil {
			return State{}, err
		}
	}
	s := newChannel[uint8](r).State()
	s.Layout = rec
	return s, nil
}
