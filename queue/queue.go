// Package queue is Python's multiprocessing.Queue over shared memory: a
// queue of byte messages of any length up to a limit set at creation,
// between any number of sending and receiving processes, found by name.
//
// A message longer than one slot of the queue's channel crosses as several
// parts. A sender holds the queue's send lock while it sends the parts of
// one message, and a receiver its receive lock while it takes them, so
// the parts of two messages never interleave (Python's Queue serialises
// its writers and readers the same way). Both locks are robust mutexes: a
// process killed while sending or receiving a message never blocks the
// others, and never makes them see part of a message. What it was sending
// is dropped; what it was receiving is lost with it, as with any queue.
package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"time"
	"unsafe"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// Each part of a message starts with a header of two little-endian uint32:
// its flags and the whole message's length.
const (
	headerLen = 8
	partFirst = 1 // the first part: the header's length is the message's
	partLast  = 2 // the last part
)

// A Queue is one process's handle on a queue. A handle is used by one
// goroutine at a time.
type Queue struct {
	name      string
	ch        *channel.Channel[byte]
	sendLock  *semaphore.Mutex
	recvLock  *semaphore.Mutex
	limit     uint64
	queued    *ctypes.RawValue[int64]
	part      []byte // the slot-sized buffer of receives
	assembled []byte
}

// The objects of queue name: its channel of parts, its two locks, its
// limit and its count of whole messages queued.
func names(name string) (ch, sendLock, recvLock, limit, queued string) {
	return name, name + ".send", name + ".recv", name + ".max", name + ".len"
}

// New creates a queue named name in seg of slots slots of slotBytes bytes
// each, for messages of up to maxMessage bytes. A message of up to
// slotBytes-8 bytes takes one slot; a longer one takes several, one after
// another.
func New(seg *shm.Segment, name string, slots, slotBytes, maxMessage int) (*Queue, error) {
	if slotBytes <= headerLen {
		return nil, errtext.Errorf("%w: create %q: slots of %d bytes hold no part of a message (at least %d)", ErrTooLarge, name, slotBytes, headerLen+1)
	}
	if maxMessage < 0 || uint64(maxMessage) > 1<<32-1 {
		return nil, errtext.Errorf("%w: create %q: a limit of %d bytes (at most 4 GiB-1)", ErrTooLarge, name, maxMessage)
	}
	chName, sendName, recvName, limitName, queuedName := names(name)
	// Refuse before making anything: a queue made in part would hold its
	// name, and the segment's space, for good.
	for _, n := range []string{sendName, recvName, limitName, queuedName} {
		if len(n) > layout.NameMax {
			return nil, errtext.Errorf("%w: create queue %q: its object %q is longer than %d bytes", shm.ErrInvalidName, name, n, layout.NameMax)
		}
		if _, err := seg.Lookup(n); !errors.Is(err, shm.ErrObjectNotFound) {
			if err == nil {
				err = shm.ErrObjectExists
			}
			return nil, errtext.Errorf("create queue %q: object %q: %w", name, n, err)
		}
	}
	// Refuse too when the segment has no room for all five: running out
	// part-way would leave the first ones behind for good.
	if _, ring, ok := layout.RingGeometry(slots, slotBytes, 1); ok { // else channel.New says why
		mutex, _ := layout.AlignUp(uint64(unsafe.Sizeof(layout.Mutex{})))
		if err := objects.Core(seg).Room(ring, mutex, mutex, 8, 8); err != nil {
			return nil, errtext.Errorf("create queue %q: %w", name, err)
		}
	}
	if _, err := channel.New[byte](seg, chName, slots, slotBytes); err != nil {
		return nil, err
	}
	if _, err := semaphore.NewMutex(seg, sendName); err != nil {
		return nil, err
	}
	if _, err := semaphore.NewMutex(seg, recvName); err != nil {
		return nil, err
	}
	if _, err := ctypes.NewRawValue(seg, limitName, uint64(maxMessage)); err != nil {
		return nil, err
	}
	if _, err := ctypes.NewRawValue(seg, queuedName, int64(0)); err != nil {
		return nil, err
	}
	return Open(seg, name)
}

// Open attaches to the queue named name in seg.
func Open(seg *shm.Segment, name string) (*Queue, error) {
	chName, sendName, recvName, limitName, queuedName := names(name)
	q := &Queue{name: name}
	var err error
	if q.ch, err = channel.Open[byte](seg, chName); err != nil {
		return nil, err
	}
	if q.sendLock, err = semaphore.OpenMutex(seg, sendName); err != nil {
		return nil, err
	}
	if q.recvLock, err = semaphore.OpenMutex(seg, recvName); err != nil {
		return nil, err
	}
	limit, err := ctypes.OpenRawValue[uint64](seg, limitName)
	if err != nil {
		return nil, err
	}
	if q.limit = limit.Load(); q.limit > 1<<32-1 { // more than New makes: MaxMessage would not fit an int
		return nil, errtext.Errorf("%w: queue %q has a limit of %d bytes (at most 4 GiB-1)", ErrCorrupt, name, q.limit)
	}
	if q.queued, err = ctypes.OpenRawValue[int64](seg, queuedName); err != nil {
		return nil, err
	}
	if q.ch.MaxLen() <= headerLen {
		return nil, errtext.Errorf("%w: queue %q has slots of %d bytes", ErrCorrupt, name, q.ch.MaxLen())
	}
	q.part = make([]byte, q.ch.MaxLen())
	return q, nil
}

// MaxMessage returns the longest message the queue carries, in bytes.
func (q *Queue) MaxMessage() int { return int(q.limit) }

// Cap returns the number of slots; a long message takes several.
func (q *Queue) Cap() int { return q.ch.Cap() }

// Len returns how many whole messages are queued: a snapshot, and, as
// Python's qsize, approximate (a message a killed process was receiving
// may still be counted).
func (q *Queue) Len() int { return int(max(q.queued.Load(), 0)) }

// lock takes l by ctx; a holder that died is nothing to repair here (a
// sender's parts are dropped by receivers, a receiver's message is lost),
// so the lock is marked consistent and taken.
func lock(ctx context.Context, l *semaphore.Mutex) error {
	err := l.LockContext(ctx)
	if errors.Is(err, semaphore.ErrOwnerDead) {
		err = l.Consistent()
		if err != nil {
			l.Unlock()
		}
	}
	return err
}

// Send sends msg as one message, waiting while the queue is full.
func (q *Queue) Send(msg []byte) error { return q.SendContext(context.Background(), msg) }

// SendTimeout is Send giving up after d; false if the first part found no
// room in time. Once the first part is in, the rest follows without a
// deadline, so a message is never left half sent by a timeout.
func (q *Queue) SendTimeout(msg []byte, d time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := q.SendContext(ctx, msg)
	if errors.Is(err, context.DeadlineExceeded) {
		return false, nil
	}
	return err == nil, err
}

// TrySend sends msg only if every part of it fits at once, without
// waiting; false if the queue (or its send lock) is busy.
func (q *Queue) TrySend(msg []byte) (bool, error) {
	if err := q.checkLen(msg); err != nil {
		return false, err
	}
	held, err := q.sendLock.TryLock()
	if errors.Is(err, semaphore.ErrOwnerDead) {
		err = q.sendLock.Consistent()
	}
	if !held || err != nil {
		if held {
			q.sendLock.Unlock()
		}
		return false, err
	}
	defer q.sendLock.Unlock()
	// Holding the send lock, only receivers change the count, and they
	// free slots: what fits now still fits when the parts go in.
	if q.parts(len(msg)) > q.ch.Cap()-q.ch.Len() {
		return false, nil
	}
	// The count is a snapshot of hints another process may have left
	// wrong: the first part is only tried, so that a full ring says so
	// instead of holding the send lock for ever.
	return q.sendParts(context.Background(), msg, true)
}

func (q *Queue) checkLen(msg []byte) error {
	if uint64(len(msg)) > q.limit {
		return errtext.Errorf("%w: send on %q: %d bytes, at most %d", ErrTooLarge, q.name, len(msg), q.limit)
	}
	return nil
}

// parts is how many slots a message of n bytes takes.
func (q *Queue) parts(n int) int {
	room := q.ch.MaxLen() - headerLen
	return max(1, (n+room-1)/room)
}

// SendContext is Send giving up when ctx ends before the first part is in.
func (q *Queue) SendContext(ctx context.Context, msg []byte) error {
	if err := q.checkLen(msg); err != nil {
		return err
	}
	if err := lock(ctx, q.sendLock); err != nil {
		return err
	}
	defer q.sendLock.Unlock()
	_, err := q.sendParts(ctx, msg, false)
	return err
}

// sendParts sends msg's parts, the send lock held; ctx bounds the first,
// or, with try, the first is sent only if it fits now (false, and nothing
// sent, if not).
func (q *Queue) sendParts(ctx context.Context, msg []byte, try bool) (bool, error) {
	room := q.ch.MaxLen() - headerLen
	flags := uint32(partFirst)
	for first := true; first || len(msg) > 0; first = false {
		n := min(room, len(msg))
		if n == len(msg) {
			flags |= partLast
		}
		total := uint32(len(msg))
		fill := func(s []byte) {
			binary.LittleEndian.PutUint32(s, flags)
			binary.LittleEndian.PutUint32(s[4:], total)
			copy(s[headerLen:], msg[:n])
		}
		var err error
		switch {
		case first && try:
			part := make([]byte, headerLen+n)
			fill(part)
			var ok bool
			if ok, err = q.ch.TrySend(part); !ok && err == nil {
				return false, nil
			}
		case first:
			err = sendFunc(ctx, q.ch, headerLen+n, fill)
		default:
			err = q.ch.SendFunc(headerLen+n, fill)
		}
		if err != nil {
			return false, err
		}
		msg, flags = msg[n:], 0
	}
	q.queued.Add(1)
	return true, nil
}

// sendFunc is SendFunc giving up when ctx ends.
func sendFunc(ctx context.Context, ch *channel.Channel[byte], n int, fill func([]byte)) error {
	if ctx.Done() == nil {
		return ch.SendFunc(n, fill)
	}
	part := make([]byte, n)
	fill(part)
	return ch.SendContext(ctx, part)
}

// Recv receives the next message as a new slice. After End, once the
// queue is drained, it returns io.EOF.
func (q *Queue) Recv() ([]byte, error) { return q.RecvContext(context.Background()) }

// RecvTimeout is Recv giving up after d; ok is false if no message began
// to arrive in time.
func (q *Queue) RecvTimeout(d time.Duration) (msg []byte, ok bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	msg, err = q.RecvContext(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, false, nil
	}
	return msg, err == nil, err
}

// RecvContext is Recv giving up when ctx ends before the first part of a
// message arrived; after that it takes the rest whatever ctx does, so a
// message is never lost to a cancellation. A message whose sender died
// inside it is dropped (see orphaned), and the wait goes on under ctx.
func (q *Queue) RecvContext(ctx context.Context) ([]byte, error) {
	if err := lock(ctx, q.recvLock); err != nil {
		return nil, err
	}
	defer q.recvLock.Unlock()
	assembling := false
	var total uint32
	for {
		var n int
		var err error
		if assembling {
			var ok bool
			n, ok, err = q.ch.RecvTimeout(q.part, orphanCheck)
			if err == nil && !ok {
				if q.orphaned() {
					assembling = false // its sender died inside it: drop it, wait for the next
				}
				continue
			}
		} else {
			n, err = q.ch.RecvContext(ctx, q.part)
		}
		// io.EOF inside a message too: its sender died, or End cut it off
		// (its sender's next part failed); nothing was damaged.
		if err != nil {
			return nil, err
		}
		if n < headerLen {
			return nil, errtext.Errorf("%w: a part of %d bytes on %q", ErrCorrupt, n, q.name)
		}
		flags := binary.LittleEndian.Uint32(q.part)
		if flags&partFirst != 0 {
			// A first part always begins a message: the parts before it
			// were sent by a process that died in the middle of its message.
			total = binary.LittleEndian.Uint32(q.part[4:])
			if uint64(total) > q.limit {
				return nil, errtext.Errorf("%w: a message of %d bytes on %q, whose limit is %d", ErrCorrupt, total, q.name, q.limit)
			}
			q.assembled = q.assembled[:0]
			assembling = true
		} else if !assembling {
			continue // the rest of a message whose receiver died
		}
		if uint64(len(q.assembled))+uint64(n-headerLen) > uint64(total) {
			return nil, errtext.Errorf("%w: parts longer than their message of %d bytes on %q", ErrCorrupt, total, q.name)
		}
		q.assembled = append(q.assembled, q.part[headerLen:n]...)
		if flags&partLast != 0 {
			if len(q.assembled) != int(total) {
				return nil, errtext.Errorf("%w: a message of %d bytes ended after %d on %q", ErrCorrupt, total, len(q.assembled), q.name)
			}
			q.queued.Add(-1)
			return append([]byte{}, q.assembled...), nil
		}
	}
}

// orphanCheck is how long a receiver inside a message waits for its next
// part before it looks whether the message's sender is still sending it.
const orphanCheck = 100 * time.Millisecond

// orphaned reports whether the message being assembled can never be
// finished: no sender is inside a message (the send lock is free, or its
// holder died) and no part is queued. A live sender holds the send lock
// from a message's first part to its last, and this receiver holds the
// receive lock, so nothing can add to the message once that is seen.
func (q *Queue) orphaned() bool {
	held, err := q.sendLock.TryLock()
	if errors.Is(err, semaphore.ErrOwnerDead) {
		err = q.sendLock.Consistent()
	}
	if !held {
		return false
	}
	defer q.sendLock.Unlock()
	return err == nil && q.ch.Len() == 0
}

// RegisterSender records this process as a sender now, not at its first
// Send: a coordinator that will End the queue without sending calls it,
// so that receivers do not take its workers' exit for the death of every
// sender (channel.ErrPeerDead). RegisterReceiver is the same for receivers.
func (q *Queue) RegisterSender() { q.ch.RegisterSender() }

// RegisterReceiver records this process as a receiver now; see RegisterSender.
func (q *Queue) RegisterReceiver() { q.ch.RegisterReceiver() }

// ExpectSender names a process that will send on the queue, before it
// runs: if it dies, even before it opens the queue, a receiver waiting for
// it gets channel.ErrPeerDead once every recorded sender is dead
// (channel.ExpectSender). ExpectReceiver is the same for receivers.
func (q *Queue) ExpectSender(pid int) error { return q.ch.ExpectSender(pid) }

// ExpectReceiver names a process that will receive; see ExpectSender.
func (q *Queue) ExpectReceiver(pid int) error { return q.ch.ExpectReceiver(pid) }

// End ends the queue for every process: sends fail with channel.ErrEnded,
// and receivers get what is queued, then io.EOF.
func (q *Queue) End() error { return q.ch.End() }

// Close lets go of this handle; the queue goes on for everyone else.
func (q *Queue) Close() error { return q.ch.Close() }
