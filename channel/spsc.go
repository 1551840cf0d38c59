package channel

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync/atomic"

	"github.com/shmkit/shmkit/internal/fence"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/shm"
)

// spsc runs the single-producer, single-consumer protocol of shmkit.h
// (SHMKIT_FLAG_SPSC) over a channel object:
//
//	header (576 bytes)   ring: cap = (slots+1) * stride bytes
//	+----------------+   +-----------+-----------+-----+------------+----
//	| producer lease |   | hdr elems | hdr elems | ... | hdr (skip) | ...
//	| head, consumer |   +-----------+-----------+-----+------------+----
//	+----------------+     ^ head                  ^ the producer's position
//
// A message is a record: an 8-byte header (the position's stamp, n+1) and
// n elements padded to 8 bytes. The consumer finds messages by their
// headers, not by reading an index, so while both sides keep up the only
// cache lines that move are the ones holding records, several small
// messages to a line, and the producer reads head only when the ring looks
// full. Every store is a release store and every load an acquire load, with
// no read-modify-write and no full fence per message; a side that goes to
// sleep pays for the full barrier (package fence).
type spsc struct {
	r     *ring
	ring  []byte // cap bytes after the header
	cap   uint64
	elem  uint64
	token uint64 // this handle's lease: pid << 32 | random

	// Each side is used by one goroutine at a time (see SPSC): a lock
	// here would be an atomic read-modify-write per message, a full fence.
	send struct {
		leased bool   // the producer lease is ours and the position found
		tail   uint64 // where the next record goes
		head   uint64 // the consumer's position, as last read
	}
	recv struct {
		leased bool
		eof    bool // closed and drained: final
		head   uint64
	}
}

const (
	recordHeader = 8
	lenWriting   = 0 // a header's low half while its record is being written
)

// stamp is what a header at position pos carries in its upper half: never
// 0, and different from the stamp of the same offset a lap earlier.
func stamp(pos uint64) uint32 { return uint32(pos>>3) | 1 }

func headerWord(pos uint64, low uint32) uint64 { return uint64(stamp(pos))<<32 | uint64(low) }

func (s *spsc) recordSize(n uint64) uint64 { return recordHeader + (n*s.elem+7)&^7 }

// spscGeometry is a SPSC channel's ring size and object length.
func spscGeometry(slots int, stride uint64) (capacity, length uint64, err error) {
	if uint64(slots) > (1<<34)/stride-1 { // stamps repeat after 2^35 bytes: keep the ring far below
		return 0, 0, fmt.Errorf("%w: %d slots of %d bytes for a single-producer channel", shm.ErrInvalidSize, slots, stride)
	}
	capacity = (uint64(slots) + 1) * stride
	return capacity, headerSize + capacity, nil
}

func newSPSC(r *ring, capacity, elemSize uint64) *spsc {
	return &spsc{
		r: r, ring: r.mem[headerSize : headerSize+capacity : headerSize+capacity], cap: capacity, elem: elemSize,
		token: uint64(uint32(os.Getpid()))<<32 | uint64(rand.Uint32()|1),
	}
}

func (s *spsc) word(off uint64) *atomic.Uint64 { return layout.At[atomic.Uint64](s.ring, off) }

func (s *spsc) corrupt(format string, args ...any) error {
	return fmt.Errorf("channel: %q: %w: %s", s.r.name, shm.ErrCorrupt, fmt.Sprintf(format, args...))
}

// lease makes this handle the one on a side, if that side is free or its
// holder's process is dead.
func (s *spsc) lease(word *atomic.Uint64) error {
	if err := fence.Register(); err != nil {
		return fmt.Errorf("%w: membarrier: %v", errors.ErrUnsupported, err)
	}
	for {
		cur := word.Load()
		switch {
		case cur == s.token:
			return nil
		case cur != 0 && procs.Alive(int(cur>>32)):
			return ErrInUse
		case word.CompareAndSwap(cur, s.token):
			return nil
		}
	}
}

// record describes the header at position pos: ok false if there is no
// record there yet (or one still being written, writing true); skip for a
// skip record; else a message of n elements.
func (s *spsc) record(pos uint64) (n uint32, ok, skip, writing bool, err error) {
	off := pos % s.cap
	hd := s.word(off).Load()
	if uint32(hd>>32) != stamp(pos) {
		return 0, false, false, false, nil
	}
	switch low := uint32(hd); {
	case low == lenWriting:
		return 0, false, false, true, nil
	case low == layout.LenSkip:
		return 0, true, true, false, nil
	case low-1 > s.r.maxLen || off+s.recordSize(uint64(low-1)) > s.cap:
		return 0, false, false, false, s.corrupt("bad record header %#x at %d", hd, pos)
	default:
		return low - 1, true, false, false, nil
	}
}

// next is the position after the record at pos (n elements, or a skip).
func (s *spsc) next(pos uint64, n uint32, skip bool) uint64 {
	if skip {
		return pos + s.cap - pos%s.cap
	}
	return pos + s.recordSize(uint64(n))
}

// end walks the published records from pos and returns the position after
// the last one, and how many messages it passed.
func (s *spsc) end(pos uint64) (uint64, int, error) {
	count := 0
	for range s.cap / recordHeader {
		n, ok, skip, _, err := s.record(pos)
		if err != nil || !ok {
			return pos, count, err
		}
		if !skip {
			count++
		}
		pos = s.next(pos, n, skip)
	}
	return pos, count, s.corrupt("records never end")
}

// leaseSend takes the producer side; sending goes on after the last
// record published, from the consumer's position on.
func (s *spsc) leaseSend() error {
	h, p := s.r.h, &s.send
	if err := s.lease(&h.Producer); err != nil {
		return err
	}
	p.head = h.Head.Load()
	tail, _, err := s.end(p.head)
	if err != nil {
		return err
	}
	p.tail, p.leased = tail, true
	return nil
}

func (s *spsc) leaseRecv() error {
	h, q := s.r.h, &s.recv
	if err := s.lease(&h.Consumer); err != nil {
		return err
	}
	q.head, q.leased = h.Head.Load(), true
	return nil
}

// reserve finds room for a record of size bytes, writing a skip record
// first if the record would run past the end of the ring, and marks the
// record as being written before it looks at closed: a consumer that sees
// the channel closed then sees the mark and waits for the record. It
// returns the record's offset.
func (s *spsc) reserve(size uint64) (at uint64, ok bool, err error) {
	h, p := s.r.h, &s.send
	off := p.tail % s.cap
	var skip uint64
	if off+size > s.cap {
		skip = s.cap - off
	}
	end := p.tail + skip + size
	if end%s.cap != 0 {
		end += recordHeader // the zeroed word after the record
	}
	if end-p.head > s.cap {
		if p.head = h.Head.Load(); end-p.head > s.cap {
			return 0, false, nil
		}
	}
	if skip > 0 {
		fence.Store(s.word(off), headerWord(p.tail, layout.LenSkip))
		p.tail += skip
		off = 0
	}
	fence.Store(s.word(off), headerWord(p.tail, lenWriting))
	if h.Closed.Load() != 0 {
		fence.Store(s.word(off), 0)
		return 0, false, ErrClosed
	}
	return off, true, nil
}

// publish makes the record at offset at, n elements already written,
// visible to the consumer.
func (s *spsc) publish(at uint64, n uint32) {
	p := &s.send
	size := s.recordSize(uint64(n))
	if next := at + size; next < s.cap {
		fence.Store(s.word(next), 0) // old elements there never read as a header
	}
	fence.Store(s.word(at), headerWord(p.tail, n+1))
	p.tail += size
}

// abandon removes the mark of a reserved record that was never written.
func (s *spsc) abandon(at uint64) { fence.Store(s.word(at), 0) }

// peek finds the next message: its offset and length; ok false if there is
// none yet. A message longer than maxLen stays queued (io.ErrShortBuffer).
func (s *spsc) peek(maxLen int) (at uint64, n uint32, ok, writing bool, err error) {
	q := &s.recv
	for range 2 { // at most one skip record before a message
		n, ok, skip, writing, err := s.record(q.head)
		switch {
		case err != nil || !ok:
			return 0, 0, false, writing, err
		case skip:
			q.head = s.next(q.head, 0, true)
			continue
		case int(n) > maxLen:
			return 0, n, false, false, io.ErrShortBuffer
		}
		return q.head % s.cap, n, true, false, nil
	}
	return 0, 0, false, false, s.corrupt("two skip records in a row at %d", q.head)
}

// tryRecv is peek, with io.EOF once the channel is closed and drained: it
// is closed, and after a full barrier no record is being written (or its
// writer is dead) and the ring is still empty.
func (s *spsc) tryRecv(maxLen int) (at uint64, n uint32, ok bool, err error) {
	q, h := &s.recv, s.r.h
	closed := h.Closed.Load() != 0
	at, n, ok, _, err = s.peek(maxLen)
	if ok || err != nil || !closed {
		return at, n, ok, err
	}
	if q.eof {
		return 0, 0, false, io.EOF
	}
	if err := fence.Heavy(); err != nil {
		return 0, 0, false, err
	}
	at, n, ok, writing, err := s.peek(maxLen)
	switch {
	case ok || err != nil:
		return at, n, ok, err
	case writing && procs.Alive(int(h.Producer.Load()>>32)):
		return 0, 0, false, nil // a send that began before the close: wait for it
	}
	q.eof = true
	return 0, 0, false, io.EOF
}

// consume gives the message at the consumer's position back to the
// producer.
func (s *spsc) consume(n uint32) {
	q := &s.recv
	q.head += s.recordSize(uint64(n))
	fence.Store(&s.r.h.Head, q.head)
}

// length is how many messages are queued (a snapshot).
func (s *spsc) length() int {
	_, count, _ := s.end(s.r.h.Head.Load())
	return count
}
