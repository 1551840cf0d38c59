package channel

import (
	"fmt"
	"unsafe"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
)

// A Writer sends on an SPSC channel in batches: it writes each message into
// the ring at once, but makes the messages visible to the receiver only
// together, by one release store per batch instead of one per message, and
// looks at the receiver's sleepers only then. The receiver then finds the
// batch in the cache lines the writer has finished with, instead of taking
// each line while the writer still fills it. It suits a producer that makes
// many small messages in a row; a receiver takes them fastest with
// RecvBatch.
//
// A batch is published when it holds the Writer's batch size, when the
// ring is full (before the Writer waits for room), at Flush, End and the
// channel's Close, and before any other send on the same handle. Until
// then its messages are not sent: a receiver does not see them, and they
// are lost if the process dies, as a bufio.Writer's unflushed bytes are.
// A message is never seen half-written or out of order, and a killed
// writer leaves no part of a batch visible.
//
// A Writer is the channel's sending side: it must be used by one goroutine
// at a time, the one that sends on the channel handle it came from.
type Writer[T any] struct {
	c     *Channel[T]
	batch int
}

// DefaultBatch is the batch size of a Writer made with batch <= 0.
const DefaultBatch = 64

// Writer returns a Writer that publishes every batch messages (DefaultBatch
// if batch <= 0). It takes the channel's sending side for this handle, as
// a first Send does: ErrInUse if another live handle has it, ErrNotSPSC if
// the channel is not an SPSC channel.
func (c *Channel[T]) Writer(batch int) (*Writer[T], error) {
	r := c.r
	if r.sp == nil {
		return nil, fmt.Errorf("channel: writer on %q: %w", r.name, ErrNotSPSC)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	r.register(&r.sendReg, &r.h.Producers)
	if !r.sp.send.leased {
		if err := r.sp.leaseSend(); err != nil {
			return nil, fmt.Errorf("channel: writer on %q: %w", r.name, err)
		}
	}
	if batch <= 0 {
		batch = DefaultBatch
	}
	return &Writer[T]{c: c, batch: batch}, nil
}

// Send writes a copy of values as the next message of the batch, and
// publishes the batch if it is then full. It waits while the ring is full
// (after publishing what it holds), and returns the errors Channel.Send
// does: ErrTooLarge, ErrEnded once the channel is ended, ErrPeerDead.
// An error from publishing the batch (ErrEnded if the channel was ended
// meanwhile: its messages may still be received) is returned by the Send
// that published it.
//
// Its common case is reserve and commit written out in one function, with
// no call: calls between a generic type's methods are not inlined.
func (w *Writer[T]) Send(values []T) error {
	c := w.c
	r, s := c.r, c.r.sp
	p := &s.send
	n := uint64(len(values))
	if p.leased && n <= uint64(r.maxLen) && !r.joinable && objects.Core(r.seg).Writable() == nil && r.h.Closed.Load() == 0 && c.elems != nil {
		size := s.recordSize(n)
		at, next := p.off, p.off+size
		if next < s.cap && (p.tail+size+recordHeader-p.head <= s.cap ||
			w.roomNow(size)) {
			i := (at + recordHeader) / elemSize[T]()
			dst := c.elems[i : i+n : i+n]
			if n == 1 {
				dst[0] = values[0]
			} else {
				copyElems(dst, values)
			}
			// As commit.
			hd := uint64(stamp(p.tail))<<32 | (n + 1)
			if p.pending {
				*(*uint64)(unsafe.Pointer(&s.words[at/recordHeader])) = hd
			} else {
				p.pending, p.pendAt, p.pendHdr = true, at, hd
			}
			p.tail, p.off = p.tail+size, next
			if p.pendN++; p.pendN >= w.batch {
				return w.Flush()
			}
			return nil
		}
	}
	if dst, ok := w.reserve(len(values)); ok { // records whose size does not divide 8
		copyElems(dst, values)
		return w.commit(len(values))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return c.Send(values)
}

// roomNow reads the consumer's position again and reports whether a record
// of size bytes and the word after it now fit.
func (w *Writer[T]) roomNow(size uint64) bool {
	s := w.c.r.sp
	p := &s.send
	p.head = w.c.r.h.Head.Load()
	return p.tail+size+recordHeader-p.head <= s.cap
}

// SendFunc writes a message of n elements that fill writes in place, in
// the ring itself: no copy. fill must not keep the slice. If fill panics,
// the message is not sent and the panic goes on; the batch before it stays
// pending.
func (w *Writer[T]) SendFunc(n int, fill func([]T)) error {
	if dst, ok := w.reserve(n); ok {
		fill(dst)
		return w.commit(n)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return w.c.SendFunc(n, fill)
}

// Flush publishes the messages written since the last batch, and wakes a
// sleeping receiver. It reports ErrEnded if the channel was ended before
// they were published: they may still be received before io.EOF.
func (w *Writer[T]) Flush() error {
	r := w.c.r
	s := r.sp
	if !s.send.pending {
		return nil
	}
	if err := r.check(); err != nil {
		return err // a closed segment: the batch is gone with the mapping
	}
	closed := s.flush()
	if r.h.RecvWaiters.Load()&layout.WaiterCountMask != 0 {
		r.wakeReceivers()
	}
	if closed {
		return errtext.Errorf("channel: send on %q: %w", r.name, ErrEnded)
	}
	return nil
}

// End publishes the batch, then ends the stream (Channel.End).
func (w *Writer[T]) End() error {
	err := w.Flush()
	if err2 := w.c.End(); err == nil {
		err = err2
	}
	return err
}

// reserve returns where the next message of n elements goes, if the
// channel is open and set up for sending and the record fits before the
// ring's end with room behind the head last read, or read now. false sends
// the message by the general path.
func (w *Writer[T]) reserve(n int) ([]T, bool) {
	c := w.c
	r, s := c.r, c.r.sp
	p := &s.send
	if !p.leased || n < 0 || n > int(r.maxLen) || r.joinable || objects.Core(r.seg).Writable() != nil || r.h.Closed.Load() != 0 {
		return nil, false
	}
	size := s.recordSize(uint64(n))
	if p.off+size >= s.cap { // a skip record or the end of a lap: the general path
		return nil, false
	}
	if p.tail+size+recordHeader-p.head > s.cap {
		if p.head = r.h.Head.Load(); p.tail+size+recordHeader-p.head > s.cap {
			return nil, false
		}
	}
	if c.elems != nil {
		i := (p.off + recordHeader) / elemSize[T]()
		return c.elems[i : i+uint64(n) : i+uint64(n)], true
	}
	return c.payload(p.off, uint64(n)), true
}

// commit adds the record of n elements just written at the producer's
// position to the batch. Its header's store is plain: the consumer reads
// none of the batch before its first header, stored last by flush, which
// also zeroes the word after the batch.
func (w *Writer[T]) commit(n int) error {
	s := w.c.r.sp
	p := &s.send
	size := s.recordSize(uint64(n))
	at, next := p.off, p.off+size
	hd := headerWord(p.tail, uint32(n)+1)
	if p.pending {
		s.storePlain(at, hd)
	} else {
		p.pending, p.pendAt, p.pendHdr = true, at, hd
	}
	p.tail, p.off = p.tail+size, next
	if p.pendN++; p.pendN >= w.batch {
		return w.Flush()
	}
	return nil
}

// flushBatch publishes a pending Writer batch of this handle before
// another send on it.
func (c *Channel[T]) flushBatch() error {
	r := c.r
	closed := r.sp.flush()
	r.wakeReceivers()
	if closed {
		return errtext.Errorf("channel: send on %q: %w", r.name, ErrEnded)
	}
	return nil
}

// SendValues sends each element of values as a message of its own, as
// len(values) calls of Send with one element would, and returns how many
// it sent. The records that fit before the ring's end, in the room last
// seen and in the batch are written in one loop, with no store but the
// element and its header for each. Errors are Send's; the values before
// an error were sent (published, or pending in the batch). As with Send,
// ErrEnded may come after the value it names was published: the count
// leaves that value out, though a receiver may still get it.
func (w *Writer[T]) SendValues(values []T) (int, error) {
	sent := 0
	for sent < len(values) {
		if k := w.sendValuesFast(values[sent:]); k > 0 {
			sent += k
			if w.c.r.sp.send.pendN >= w.batch {
				if err := w.Flush(); err != nil {
					return sent, err
				}
			}
			continue
		}
		if err := w.Send(values[sent : sent+1]); err != nil { // a skip, a full ring, a closed channel: Send decides
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// sendValuesFast writes as many of values as one-element records as fit
// before the ring's end, in the room last seen (or seen now) and in the
// batch, and adds them to the batch; 0 sends the next one by Send.
func (w *Writer[T]) sendValuesFast(values []T) int {
	c := w.c
	r, s := c.r, c.r.sp
	p := &s.send
	if !p.leased || r.maxLen < 1 || r.joinable || c.elems == nil || objects.Core(r.seg).Writable() != nil || r.h.Closed.Load() != 0 {
		return 0
	}
	size := s.recordSize(1)
	if size != 2*recordHeader || p.off+size >= s.cap {
		return 0 // an element wider than a word; a skip record or the end of a lap
	}
	// Each record and the word after it lie before the ring's end and
	// within cap of the head: m records need off + m*size < cap and
	// tail + m*size + 8 - head <= cap.
	m := min(uint64(len(values)), uint64(w.batch-p.pendN), (s.cap-p.off-1)/size)
	if s.roomFor(size) < m {
		p.head = r.h.Head.Load()
		m = min(m, s.roomFor(size))
	}
	if m == 0 {
		return 0
	}
	// A one-element record is 16 bytes (recordSize): its header, then a
	// word whose first bytes are the element. Each header's stamp is the
	// one before plus 2 (stamp), so the loop only adds.
	at := p.off
	w0 := s.words[at/recordHeader : at/recordHeader+2*m]
	recs := unsafe.Slice((*[2]uint64)(unsafe.Pointer(&w0[0])), m)
	vals := values[:m]
	hd := headerWord(p.tail, 2)
	if !p.pending { // the batch's first header is withheld until flush
		*(*T)(unsafe.Pointer(&recs[0][1])) = vals[0]
		p.pending, p.pendAt, p.pendHdr = true, at, hd
		recs, vals, hd = recs[1:], vals[1:], hd+2<<32
	}
	recs = recs[:len(vals)]
	for k, v := range vals {
		*(*T)(unsafe.Pointer(&recs[k][1])) = v
		recs[k][0] = hd
		hd += 2 << 32
	}
	p.tail, p.off = p.tail+m*size, at+m*size
	p.pendN += int(m)
	return int(m)
}
