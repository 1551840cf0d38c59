package channel

import (
	"math"
	"unsafe"

	"github.com/shmkit/shmkit/internal/elem"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/segment"
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
	if elemSize[T]() == 8 {
		r.sendWordSlow = func(v uint64, block bool) (bool, error) {
			m := mode{wake: true}
			if block {
				m = blocking
			}
			return c.send(m, 1, func(s []T) { s[0] = fromWord[T](v) })
		}
	}
	return c
}

func elemSize[T any]() uint64 { return uint64(unsafe.Sizeof(*new(T))) }

// wordOf is the 8 bytes of x, of an 8-byte type, as a uint64; fromWord is
// the inverse. Each moves the value as its own type into or out of an
// aligned word, so that an 8-byte type of smaller alignment (such as
// [8]byte) is never read or written as a uint64 where it lies.
func wordOf[T any](x T) (w uint64) {
	*(*T)(unsafe.Pointer(&w)) = x
	return w
}

func fromWord[T any](w uint64) T { return *(*T)(unsafe.Pointer(&w)) }

// An Option changes how New makes a channel.
type Option func(*options)

type options struct{ single, joinable bool }

// WithJoinable makes a channel that counts the messages received and not yet
// marked done, as Python's JoinableQueue: receivers call TaskDone for each
// message they have handled, and Join waits until no message is queued and
// every message received is done. A message counts from the moment a
// receiver takes it, so one that never entered the queue (its producer
// died blocked in Send, or while writing it) never counts. A message whose
// receiver dies before TaskDone stays unfinished for good, so a Join then
// ends only by its timeout or context (JoinTimeout, JoinContext); a Join
// that finds messages queued and every recorded receiver dead returns
// ErrPeerDead. Each receive costs one more atomic addition.
func WithJoinable() Option { return func(o *options) { o.joinable = true } }

// WithSPSC makes a channel for one sender and one receiver at a time, the
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
func WithSPSC() Option { return func(o *options) { o.single = true } }

// New creates a channel named name in seg with slots messages of at most
// maxLen elements each. By default any number of processes may send and
// receive; see SPSC for one of each.
func New[T any](seg *shm.Segment, name string, slots, maxLen int, opts ...Option) (*Channel[T], error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	code, rec, err := elem.ElemCode[T]()
	if err != nil {
		return nil, errtext.Errorf("channel: create %q: %w", name, err)
	}
	stride, length, err := geometry(slots, maxLen, elemSize[T](), o.single)
	if err != nil {
		return nil, errtext.Errorf("channel: create %q: %w", name, err)
	}
	req := segment.Request{
		Name: name, Kind: shm.KindChannel, Typecode: byte(code),
		Length: length, Param0: uint64(slots), Param1: uint64(maxLen),
	}
	describe := func([]byte) {}
	if rec != nil { // records: their description follows the ring
		req.Length, req.Desc, describe = elem.DescribedBy(*rec, length)
	}
	if o.single {
		req.Flags |= layout.FlagSPSC
	}
	if o.joinable {
		req.Flags |= layout.FlagJoinable
	}
	obj, err := objects.Core(seg).Alloc(req, func(mem []byte) error {
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
// type T (elem.ErrTypeMismatch otherwise).
func Open[T any](seg *shm.Segment, name string) (*Channel[T], error) {
	obj, err := objects.Core(seg).LookupKind(name, shm.KindChannel)
	if err != nil {
		return nil, err
	}
	want, rec, err := elem.ElemCode[T]()
	if err != nil {
		return nil, errtext.Errorf("channel: open %q: %w", name, err)
	}
	if elem.Typecode(obj.Typecode) != want {
		return nil, errtext.Errorf("channel: open %q: %w: it carries %v, not %v",
			name, elem.ErrTypeMismatch, elem.Typecode(obj.Typecode), want)
	}
	r, err := newRing(seg, obj, elemSize[T]())
	if err != nil {
		return nil, err
	}
	if rec != nil {
		got, err := elem.RecordLayout(obj, uint64(len(r.mem)))
		if err != nil {
			return nil, err
		}
		if err := elem.Match(*rec, got); err != nil {
			return nil, errtext.Errorf("channel: open %q: %w", name, err)
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

// ExpectSender records process pid as a sender before it runs: a program
// this one starts to send on the channel (in Python, C or Go) gets named
// here, after its start and before this process waits on it. If that
// process dies, whether or not it ever opened the channel, receivers
// blocked on the channel get ErrPeerDead (once every recorded sender is
// dead), instead of waiting for good for a peer that failed at its start.
// The process's own registration, when it sends, is the same entry.
// ErrInvalidPid for a pid that cannot name a process.
func (c *Channel[T]) ExpectSender(pid int) error { return c.r.expect("sender", &c.r.h.Producers, pid) }

// ExpectReceiver records process pid as a receiver before it runs; see
// ExpectSender. A Send blocked on a full channel, or a Join with messages
// queued, then gets ErrPeerDead once every recorded receiver has died.
func (c *Channel[T]) ExpectReceiver(pid int) error {
	return c.r.expect("receiver", &c.r.h.Consumers, pid)
}

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

// End ends the stream for every process, as close(ch) does a Go channel:
// sends fail with ErrEnded, and receivers get what is still queued, then
// io.EOF. It is the sender's call; ending twice is ErrEnded. (Close only
// lets go of this handle.)
func (c *Channel[T]) End() error {
	r := c.r
	if err := r.check(); err != nil {
		return err
	}
	if !r.h.Closed.CompareAndSwap(0, 1) {
		return errtext.Errorf("channel: end %q: %w already", r.name, ErrEnded)
	}
	r.h.DataSeq.Add(1)
	r.h.SpaceSeq.Add(1)
	futex.Wake(&r.h.DataSeq, math.MaxInt32)
	futex.Wake(&r.h.SpaceSeq, math.MaxInt32)
	return nil
}

// Close lets go of this handle, and never ends the stream (End does), so a
// consumer's defer ch.Close() is harmless to everyone else. As for an
// os.File, the handle is then done: every later call that returns an error
// returns ErrClosed (a second Close too); Len and State still read. On a
// single-producer channel (SPSC) it gives back the sides this handle sent
// or received on, so that another handle may take them at once; that
// matters where a holder's death cannot be seen (once a process of another
// pid namespace opened the channel, a side is never taken over from a
// holder that looks dead). Call it from the goroutine that sends or
// receives, between operations.
func (c *Channel[T]) Close() error {
	r := c.r
	if r.seg.Closed() {
		return errtext.Errorf("channel: close %q: %w", r.name, shm.ErrClosed)
	}
	if !r.closed.CompareAndSwap(false, true) {
		return errtext.Errorf("channel: close %q: %w already", r.name, ErrClosed)
	}
	if s := r.sp; s != nil {
		if s.send.pending && !r.seg.Closed() { // a Writer's batch is sent, as a file's buffer is written
			s.flush()
			r.wakeReceivers()
		}
		if s.send.leased {
			s.send.leased = false
			r.h.Producer.CompareAndSwap(s.token, 0)
		}
		if s.recv.leased {
			s.recv.leased = false
			r.h.Consumer.CompareAndSwap(s.token, 0)
		}
	}
	return nil
}
