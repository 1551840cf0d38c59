package channel

import (
	"sync/atomic"
	"unsafe"

	"github.com/shmkit/shmkit/internal/bulk"
	"github.com/shmkit/shmkit/internal/fence"
	"github.com/shmkit/shmkit/internal/hold"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
)

// Sending and receiving messages on the SPSC ring (spsc.go): the general
// paths, and the hot paths of Send and Recv written out in one function each.

// payload is the n elements of the message at offset at of an SPSC ring.
func (c *Channel[T]) payload(at, n uint64) []T {
	if c.elems == nil { // records: sizes that do not divide 8
		return layout.Slice[T](c.r.sp.ring, at+recordHeader, n)
	}
	i := (at + recordHeader) / uint64(unsafe.Sizeof(*new(T)))
	return c.elems[i : i+n : i+n]
}

// sendSPSC is send on a single-producer channel.
func (c *Channel[T]) sendSPSC(m mode, n int, fill func([]T)) (bool, error) {
	r, s := c.r, c.r.sp
	if !s.send.leased {
		if err := s.leaseSend(); err != nil {
			return false, r.wrap("send on", m.ctx, err)
		}
	}
	if s.send.pending { // a Writer's batch goes first
		if err := c.flushBatch(); err != nil {
			return false, err
		}
	}
	size := s.recordSize(uint64(n))
	at, pad, ok, err := s.reserve(size)
	if !ok && err == nil && m.block {
		var d *hold.Drain
		d, ok, err = r.waitFor(m.ctx, m.deadline, &r.h.SpaceSeq, &r.h.SendWaiters, &r.sendSpin, true, func() (bool, error) {
			var ok bool
			var err error
			at, pad, ok, err = s.reserve(size)
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
	fill(c.payload(at+pad, uint64(n))) // a panic here publishes nothing
	err = s.publish(at, pad, uint32(n))
	if m.wake {
		r.wakeReceivers()
	}
	return err == nil, r.wrap("send on", m.ctx, err)
}

// sendFast sends values on a single-producer channel whose sending side is
// set up, if that needs no wait and no skip record: the hot path of Send,
// written out in one function (with no call through a function value, and
// none to reserve, payload or publish) so that the compiler keeps the
// positions in registers. false means nothing was sent; the general path
// then decides, and reports any error.
func (c *Channel[T]) sendFast(values []T) bool {
	r := c.r
	s := r.sp
	if s == nil || !s.send.leased || s.send.pending || len(values) > int(r.maxLen) || r.joinable || objects.Core(r.seg).Writable() != nil {
		return false // a Writer's batch is published first, by the general path
	}
	p, n := &s.send, uint64(len(values))
	size := s.recordSize(n)
	at, pad := p.off, uint64(0)
	if size >= recordHeader+padMin {
		pad = s.padBefore(at, size) // elements on a cache line
	}
	next := at + pad + size
	// The record and the zeroed word after it must fit before the ring's
	// end (else a skip record, or the end of a lap: the general path), with
	// room by the head last read, or read now.
	if next >= s.cap || r.h.Closed.Load() != 0 {
		return false
	}
	if p.tail+pad+size+recordHeader-p.head > s.cap {
		if p.head = r.h.Head.Load(); p.tail+pad+size+recordHeader-p.head > s.cap {
			return false
		}
	}
	if size < recordHeader+padMin && next/64 != at/64 {
		// The lines this record's end and the zeroed word after it run
		// into (the record's first line held the last one's zeroed word);
		// a large message's copy streams.
		s.ownAhead(at/64*64+64, (next/64-at/64)*64)
	}
	rec := at + pad
	var dst []T
	if c.elems != nil {
		i := (rec + recordHeader) / elemSize[T]()
		dst = c.elems[i : i+n : i+n]
	} else {
		dst = c.payload(rec, n)
	}
	if n == 1 {
		dst[0] = values[0]
	} else {
		copyElems(dst, values)
	}
	// As publish: zero the word after the record, then store the header,
	// then the pad's.
	fence.StorePair(s.word(next), 0, s.word(rec), headerWord(p.tail+pad, uint32(n)+1), true)
	if pad > 0 {
		fence.Store(s.word(at), headerWord(p.tail, layout.LenPad))
	}
	p.tail, p.off = p.tail+pad+size, next
	closed := r.h.Closed.Load() != 0
	if r.h.RecvWaiters.Load()&layout.WaiterCountMask != 0 { // wake's own first test, without the call
		r.wakeReceivers()
	}
	return !closed // closed meanwhile: the general path reports it
}

// wordRecord is the size of the record of a one-element message of an
// 8-byte type: its header, then the element.
const wordRecord = recordHeader + 8

// ownAheadLines is how far ahead of the line it starts writing a producer
// asks for a line of the ring (bulk.PrefetchForWrite). W2 ran 15.5–17.7 ns
// a message with none, 9.7–11.7 at 16 lines, 8.1–9.4 at 32 and 8.3–9.3 at
// 64 (interleaved rounds, docs/bench.md).
const ownAheadLines = 32

// aheadMinLines is the smallest ring, in lines, whose producer asks ahead:
// in a smaller one (a ping-pong's is two lines) the line ahead is too
// often one the consumer is on.
const aheadMinLines = 4 * ownAheadLines

// ownAhead asks for the lines of the n bytes ownAheadLines lines after
// offset at (aheadOf).
func (s *spsc) ownAhead(at, n uint64) {
	if from, lines := s.aheadOf(at, n); lines > 0 {
		bulk.PrefetchForWrite(unsafe.Pointer(&s.words[from/recordHeader]), int(lines))
	}
}

// aheadOf is the first line (its offset) and the number of lines of the n
// bytes ownAheadLines lines after offset at, wrapping round to the ring's
// start and stopping at its end; none in a ring of fewer than
// aheadMinLines lines. It does not look at the consumer's position: in a
// ring within ownAheadLines lines of full, the line asked for may hold a
// message the consumer has yet to read, which the consumer then takes
// back (a cost in speed, never in what is read). Skipping those lines by
// the consumer's position as the producer last read it, which lags, cost
// W2 a third (12.2–14.5 ns a message against 8.2–10.2).
func (s *spsc) aheadOf(at, n uint64) (from, lines uint64) {
	if s.cap < aheadMinLines*64 {
		return 0, 0
	}
	if from = at + ownAheadLines*64; from >= s.cap { // at < cap, so once round is enough
		from -= s.cap
	}
	from &^= 63
	return from, min((at+n+63)/64-at/64, (s.cap-from)/64)
}

// sendWord is Send (block) or TrySend of a message of one element of 8
// bytes, whose bits are v. Its fast path is sendFast's, written with no
// call but the wake of a sleeping receiver and, once a line, ownAhead's:
// every value stays in a register, and each message puts only its three
// ring stores and the two position updates in the store buffer, where a
// call would add its return address, its frame and the spills of every
// live value. Each line the producer writes was last read by the
// consumer's core, and its first store waits for it to come back; with
// few stores a message, the store buffer holds several lines' messages and
// those waits overlap, and ownAhead has the lines on their way before the
// stores. Everything else goes to the general path, sendWordSlow.
func (r *ring) sendWord(v uint64, block bool) (bool, error) {
	if s := r.sp; s != nil && s.send.leased && !s.send.pending && !r.joinable &&
		objects.Core(r.seg).Writable() == nil && r.h.Closed.Load() == 0 {
		// As sendFast: the record and the zeroed word after it before the
		// ring's end, with room by the head last read, or read now.
		p := &s.send
		at := p.off
		w := s.words[at/recordHeader:]
		fits := len(w) >= 3 // the header, the element and the word after them
		room := p.tail+wordRecord+recordHeader-p.head <= s.cap
		if fits && !room {
			p.head = r.h.Head.Load()
			room = p.tail+wordRecord+recordHeader-p.head <= s.cap
		}
		if fits && room {
			if at%64 == 0 { // a new line: ask for one further on
				s.ownAhead(at, 64)
			}
			fence.StoreInline(plain(&w[1]), v)
			fence.StoreInline(plain(&w[2]), 0)
			fence.StoreInline(plain(&w[0]), headerWord(p.tail, 2))
			p.tail, p.off = p.tail+wordRecord, at+wordRecord
			if r.h.RecvWaiters.Load()&layout.WaiterCountMask != 0 {
				r.wakeReceivers()
			}
			if r.h.Closed.Load() == 0 {
				return true, nil
			} // closed meanwhile: the general path reports it
		}
	}
	return r.sendWordSlow(v, block)
}

// recvWord is recvFast for a message of one 8-byte element, as sendWord
// sends it: its header is known in full beforehand, so one compare tests
// stamp and length, and the next record's offset follows from this one's
// without waiting for the header's value.
func (r *ring) recvWord() (v uint64, ok bool) {
	s := r.sp
	if s == nil || !s.recv.leased || r.joinable || objects.Core(r.seg).Writable() != nil {
		return 0, false
	}
	q := &s.recv
	at := q.off
	w := s.words[at/recordHeader:]
	if len(w) < 2 { // the record would cross the ring's end
		return 0, false
	}
	if w[0].Load() != headerWord(q.head, 2) {
		return 0, false
	}
	v = w[1].Load()
	q.head += wordRecord
	if q.off = at + wordRecord; q.off == s.cap {
		q.off = 0
	}
	fence.StoreInline(plain(&r.h.Head), q.head)
	if r.h.SendWaiters.Load()&layout.WaiterCountMask != 0 {
		r.wakeSenders()
	}
	return v, true
}

// plain is the word w as a *uint64, for fence.StoreInline.
func plain(w *atomic.Uint64) *uint64 { return (*uint64)(unsafe.Pointer(w)) }

// recvFast is the hot path of Recv on a single-producer channel: a message
// that is there, fits dst and lies before the ring's end, taken in one
// function as sendFast sends. false means nothing was received.
func (c *Channel[T]) recvFast(dst []T) (int, bool) {
	r := c.r
	s := r.sp
	if s == nil || !s.recv.leased || r.joinable || objects.Core(r.seg).Writable() != nil {
		return 0, false // a joinable channel counts what it receives: the general path
	}
	q := &s.recv
	at, hd := q.off, s.word(q.off).Load()
	n := uint32(hd) - 1 // a zero length word wraps to fail the tests below
	if uint32(hd>>32) != stamp(q.head) || n > r.maxLen || int(n) > len(dst) {
		return 0, false
	}
	size := s.recordSize(uint64(n))
	if at+size > s.cap {
		return 0, false // corrupt: the general path says so
	}
	var src []T
	if c.elems != nil {
		i := (at + recordHeader) / elemSize[T]()
		src = c.elems[i : i+uint64(n) : i+uint64(n)]
	} else {
		src = c.payload(at, uint64(n))
	}
	if n == 1 {
		dst[0] = src[0]
	} else {
		copyElems(dst, src)
	}
	// As consume.
	q.head += size
	if q.off = at + size; q.off == s.cap {
		q.off = 0
	}
	fence.Store(&r.h.Head, q.head)
	if r.h.SendWaiters.Load()&layout.WaiterCountMask != 0 {
		r.wakeSenders()
	}
	return int(n), true
}

// awaiting reports whether nothing is published yet at the receiver's
// position of a usable, open ring: only then is another look worth a
// pause (Recv).
func (s *spsc) awaiting() bool {
	r, q := s.r, &s.recv
	return objects.Core(r.seg).Writable() == nil && r.h.Closed.Load() == 0 &&
		uint32(s.word(q.off).Load()>>32) != stamp(q.head)
}

// recvBatchFast is recvFast for as many messages as are ready and fit in
// bufs, in order, passing skip records: each bufs[i] is filled up to its
// capacity and resliced to the message. The consumer's position is
// published once, after the last. It stops at the first message it cannot
// take here (none yet, one too long for its buffer, a corrupt header), which
// the general path then handles.
func (c *Channel[T]) recvBatchFast(bufs [][]T) int {
	r := c.r
	s := r.sp
	if s == nil || !s.recv.leased || r.joinable || objects.Core(r.seg).Writable() != nil {
		return 0
	}
	q := &s.recv
	head, off := q.head, q.off
	taken, takenOff := head, off // after the last message taken
	got := 0
	for got < len(bufs) {
		hd := s.word(off).Load()
		if uint32(hd>>32) != stamp(head) {
			break
		}
		if uint32(hd) == layout.LenSkip || uint32(hd) == layout.LenPad {
			next := s.cap
			if uint32(hd) == layout.LenPad {
				next = afterPad(off)
			}
			if next == off || next == s.cap && off == 0 {
				break // a pad that moves nothing, a skip at the start: corrupt, the general path says so
			}
			head += next - off
			if off = next; off == s.cap {
				off = 0
			}
			continue
		}
		dst := bufs[got][:cap(bufs[got])]
		n := uint32(hd) - 1
		if n > r.maxLen || int(n) > len(dst) {
			break
		}
		size := s.recordSize(uint64(n))
		if off+size > s.cap {
			break
		}
		var src []T
		if c.elems != nil {
			i := (off + recordHeader) / elemSize[T]()
			src = c.elems[i : i+uint64(n) : i+uint64(n)]
		} else {
			src = c.payload(off, uint64(n))
		}
		if n == 1 {
			dst[0] = src[0]
		} else {
			copyElems(dst, src)
		}
		bufs[got] = dst[:n]
		got++
		head += size
		if off += size; off == s.cap {
			off = 0
		}
		taken, takenOff = head, off
	}
	if taken == q.head { // skip and pad records count only with a message behind them (see peekSlow)
		return got
	}
	q.head, q.off = taken, takenOff
	fence.Store(&r.h.Head, taken)
	if r.h.SendWaiters.Load()&layout.WaiterCountMask != 0 {
		r.wakeSenders()
	}
	return got
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
	// Counted before the message leaves the ring.
	r.received()
	defer func() { // also if use panics: the message is consumed either way
		s.consume(n)
		if m.wake {
			r.wakeSenders()
		}
	}()
	use(c.payload(at, uint64(n)))
	return int(n), true, nil
}

// recvValuesFast is recvBatchFast for messages of one element each, taken
// straight into dst: every one that is ready, up to len(dst), passing
// skip records, and an empty message, which it takes and stops at (empty).
// It stops at anything else (nothing yet, a message of another length, a
// pad, a corrupt header), which the general path then handles, and
// publishes the consumer's position once.
func (c *Channel[T]) recvValuesFast(dst []T) (got int, empty bool) {
	r := c.r
	s := r.sp
	if s == nil || !s.recv.leased || r.joinable || c.elems == nil || objects.Core(r.seg).Writable() != nil {
		return 0, false
	}
	size := s.recordSize(1)
	if size != 2*recordHeader {
		return 0, false // an element wider than a word
	}
	q := &s.recv
	head, off := q.head, q.off
	taken, takenOff := head, off // after the last message taken
	for got < len(dst) {
		// The records up to the ring's end, as Writer.sendValuesFast
		// writes them: a header whose stamp grows by 2 from one to the
		// next, then the element.
		// n is 0 only at the lap's last word, where only a skip fits.
		n := min(uint64(len(dst)-got), (s.cap-off)/size)
		if n > 0 {
			w0 := s.words[off/recordHeader : off/recordHeader+2*n]
			recs := unsafe.Slice((*[2]atomic.Uint64)(unsafe.Pointer(&w0[0])), n)
			out := dst[got : got+int(n)]
			want := headerWord(head, 2)
			k := 0
			for ; k < len(out) && recs[k][0].Load() == want; k++ {
				out[k] = *(*T)(unsafe.Pointer(&recs[k][1]))
				want += 2 << 32
			}
			if k > 0 {
				got += k
				head += uint64(k) * size
				if off += uint64(k) * size; off == s.cap {
					off = 0
				}
				taken, takenOff = head, off
			}
			if k == len(out) {
				continue
			}
		}
		hd := s.words[off/recordHeader].Load()
		if hd == headerWord(head, 1) { // an empty message: taken, and it ends the batch
			head += recordHeader
			if off += recordHeader; off == s.cap {
				off = 0
			}
			taken, takenOff, empty = head, off, true
			break
		}
		if off == 0 || hd != headerWord(head, layout.LenSkip) {
			break // nothing yet, or not a one-element message; a skip at the start is corrupt
		}
		head += s.cap - off
		off = 0
	}
	if taken == q.head {
		return 0, false
	}
	q.head, q.off = taken, takenOff // a skip counts only with a message behind it (see recvBatchFast)
	fence.Store(&r.h.Head, taken)
	if r.h.SendWaiters.Load()&layout.WaiterCountMask != 0 {
		r.wakeSenders()
	}
	return got, empty
}
