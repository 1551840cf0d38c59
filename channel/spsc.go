package channel

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/fence"
	"github.com/shmkit/shmkit/internal/layout"
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
	ring  []byte          // cap bytes after the header
	words []atomic.Uint64 // the same, as words: the headers
	cap   uint64
	elem  uint64
	token uint64 // this handle's lease: pid << 32 | random

	// Each side is used by one goroutine at a time (see SPSC): a lock
	// here would be an atomic read-modify-write per message, a full fence.
	send struct {
		leased bool   // the producer lease is ours and the position found
		tail   uint64 // where the next record goes
		off    uint64 // tail % cap, kept without dividing
		head   uint64 // the consumer's position, as last read
		// A Writer's batch (writer.go): records written behind one
		// withheld header, at offset pendAt, published by storing it.
		pending bool
		pendAt  uint64
		pendHdr uint64
		pendN   int // messages in the batch
	}
	recv struct {
		leased bool
		eof    bool // ended and drained: final
		head   uint64
		off    uint64 // head % cap
	}
}

const recordHeader = 8

// stamp is what a header at position pos carries in its upper half: never
// 0, and different from the stamp of the same offset a lap earlier.
func stamp(pos uint64) uint32 { return uint32(pos>>3) | 1 }

func headerWord(pos uint64, low uint32) uint64 { return uint64(stamp(pos))<<32 | uint64(low) }

func (s *spsc) recordSize(n uint64) uint64 { return recordHeader + (n*s.elem+7)&^7 }

// roomFor is how many records of size bytes fit behind the head the
// producer last read, each with the word after it: m of them need
// tail + m*size + 8 - head <= cap. A record that ends a lap exactly has
// no word after it, so tail - head can be all of cap.
func (s *spsc) roomFor(size uint64) uint64 {
	p := &s.send
	used := p.tail - p.head + recordHeader
	if used >= s.cap {
		return 0
	}
	return (s.cap - used) / size
}

// afterPad is the position after a pad record at pos: the next one whose
// elements start on a 64-byte line (the ring's length is a multiple of
// 64, so offsets and positions agree mod 64). A pad record where the
// elements would already start on a line is corrupt: it moves nothing.
func afterPad(pos uint64) uint64 { return (pos+recordHeader+63)&^63 - recordHeader }

// padMin is the payload, in bytes, from which a producer pads before a
// message, so that the elements start on a cache line: copies of large
// messages run 15-20% faster aligned, and small ones would only lose room.
const padMin = 1024

// padBefore is the pad a producer writes before a record of size bytes at
// offset off: 0 for a small record, or where the pad and the record would
// take more than a stride. Within a stride the ring still holds slots
// messages however they are padded (it is slots+1 strides long, and a
// skip record and the word after the last record take less than one).
func (s *spsc) padBefore(off, size uint64) uint64 {
	if size < recordHeader+padMin {
		return 0
	}
	if pad := afterPad(off) - off; pad+size <= s.r.stride {
		return pad
	}
	return 0
}

// spscGeometry is a SPSC channel's ring size and object length.
func spscGeometry(slots int, stride uint64) (capacity, length uint64, err error) {
	if uint64(slots) > (1<<34)/stride-1 { // stamps repeat after 2^35 bytes: keep the ring far below
		return 0, 0, errtext.Errorf("%w: %d slots of %d bytes for a single-producer channel", shm.ErrInvalidSize, slots, stride)
	}
	capacity = (uint64(slots) + 1) * stride
	return capacity, headerSize + capacity, nil
}

func newSPSC(r *ring, capacity, elemSize uint64) *spsc {
	ring := r.mem[headerSize : headerSize+capacity : headerSize+capacity]
	return &spsc{
		r: r, ring: ring, words: layout.Slice[atomic.Uint64](ring, 0, capacity/recordHeader), cap: capacity,
		elem: elemSize, token: uint64(uint32(os.Getpid()))<<32 | uint64(rand.Uint32()|1),
	}
}

// word is the 8-byte word at offset off (a multiple of 8) of the ring.
func (s *spsc) word(off uint64) *atomic.Uint64 { return &s.words[off/recordHeader] }

// storePlain stores v in the word at offset off with a plain store: only
// for words no consumer reads before a later release store (flush) makes
// them visible.
func (s *spsc) storePlain(off, v uint64) { *(*uint64)(unsafe.Pointer(s.word(off))) = v }

// flush publishes a Writer's batch: its first header, withheld while the
// records behind it were written with plain stores, is stored last with a
// release store, so the consumer sees the whole batch at once or none of
// it. The word after the batch is zeroed just before: within a batch each
// record's header covers the word after the one before, so the records
// themselves zero nothing. It reports whether the channel was closed at
// that point (see publish).
func (s *spsc) flush() (closed bool) {
	p := &s.send
	if !p.pending {
		return false
	}
	if p.off < s.cap { // the word after the last record: old elements there must not pass for a header
		s.storePlain(p.off, 0)
	}
	fence.Store(s.word(p.pendAt), p.pendHdr)
	p.pending, p.pendN = false, 0
	return s.r.h.Closed.Load() != 0
}

func (s *spsc) corrupt(format string, args ...any) error {
	return errtext.Errorf("channel: %q: %w: %s", s.r.name, shm.ErrCorrupt, fmt.Sprintf(format, args...))
}

// lease makes this handle the one on a side, if that side is free or its
// holder's process is dead.
func (s *spsc) lease(word *atomic.Uint64) error {
	if err := fence.Register(); err != nil {
		return errtext.Errorf("%w: membarrier: %v", errors.ErrUnsupported, err)
	}
	for {
		cur := word.Load()
		switch {
		case cur == s.token:
			return nil
		case cur != 0 && s.r.alive(int(cur>>32)):
			return ErrInUse
		case word.CompareAndSwap(cur, s.token):
			return nil
		}
	}
}

// What a record header holds (record).
const (
	recNone    = iota // nothing published there yet
	recMessage        // a message
	recSkip           // the rest of the lap is empty
	recPad            // go on at afterPad
)

// record describes the header at position pos (offset off = pos % cap):
// its kind, and for a message its n elements.
func (s *spsc) record(pos, off uint64) (n uint32, kind int, err error) {
	hd := s.word(off).Load()
	if uint32(hd>>32) != stamp(pos) {
		return 0, recNone, nil
	}
	switch low := uint32(hd); {
	case low == layout.LenSkip:
		return 0, recSkip, nil
	case low == layout.LenPad && afterPad(pos) != pos:
		return 0, recPad, nil
	case low == 0 || low-1 > s.r.maxLen || off+s.recordSize(uint64(low-1)) > s.cap:
		return 0, recNone, s.corrupt("bad record header %#x at %d", hd, pos)
	default:
		return low - 1, recMessage, nil
	}
}

// next is the position after the record at pos (of kind, n elements).
func (s *spsc) next(pos uint64, n uint32, kind int) uint64 {
	switch kind {
	case recSkip:
		return pos + s.cap - pos%s.cap
	case recPad:
		return afterPad(pos)
	}
	return pos + s.recordSize(uint64(n))
}

// end walks the published records from pos and returns the position after
// the last one, and how many messages it passed.
func (s *spsc) end(pos uint64) (uint64, int, error) {
	count := 0
	for range s.cap / recordHeader {
		n, kind, err := s.record(pos, pos%s.cap)
		if err != nil || kind == recNone {
			return pos, count, err
		}
		if kind == recMessage {
			count++
		}
		pos = s.next(pos, n, kind)
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
	if p.head = h.Head.Load(); p.head%recordHeader != 0 {
		return s.corrupt("the consumer's position %d is not a multiple of 8", p.head)
	}
	tail, _, err := s.end(p.head)
	if err != nil {
		return err
	}
	p.tail, p.off, p.leased = tail, tail%s.cap, true
	return nil
}

func (s *spsc) leaseRecv() error {
	h, q := s.r.h, &s.recv
	if err := s.lease(&h.Consumer); err != nil {
		return err
	}
	if q.head = h.Head.Load(); q.head%recordHeader != 0 {
		return s.corrupt("the consumer's position %d is not a multiple of 8", q.head)
	}
	q.leased, q.off = true, q.head%s.cap
	return nil
}

// reserve finds room for a record of size bytes, writing a skip record
// first if the record would run past the end of the ring, and returns the
// offset at which it goes and the pad before it (see padMin): the record
// lies at at+pad, and a pad record at at if pad > 0. ErrEnded if the
// channel is ended. The common case, a small record that fits before the
// end with room for the word after it by the head last read, is decided
// here in few enough steps to be inlined.
func (s *spsc) reserve(size uint64) (at, pad uint64, ok bool, err error) {
	p := &s.send
	if end := p.off + size + recordHeader; end < s.cap && p.tail+size+recordHeader-p.head <= s.cap &&
		size < recordHeader+padMin && s.r.h.Closed.Load() == 0 {
		return p.off, 0, true, nil
	}
	return s.reserveSlow(size)
}

// reserveSlow is reserve when the record does not plainly fit: it may need
// a skip record, to end the lap exactly, a fresh look at head, or a pad
// (padBefore).
func (s *spsc) reserveSlow(size uint64) (at, pad uint64, ok bool, err error) {
	h, p := s.r.h, &s.send
	if h.Closed.Load() != 0 {
		return 0, 0, false, ErrEnded
	}
	off := p.off
	var skip uint64
	pad = s.padBefore(off, size)
	if off+pad+size > s.cap {
		skip = s.cap - off
		pad = s.padBefore(0, size)
	}
	end := p.tail + skip + pad + size
	if off+skip+pad+size != s.cap {
		end += recordHeader // the zeroed word after the record
	}
	if end-p.head > s.cap {
		if p.head = h.Head.Load(); end-p.head > s.cap {
			return 0, 0, false, nil
		}
	}
	if skip > 0 {
		fence.Store(s.word(off), headerWord(p.tail, layout.LenSkip))
		p.tail += skip
		p.off, off = 0, 0
	}
	return off, pad, true, nil
}

// publish makes the record at offset at+pad, n elements already written,
// visible to the consumer, with the pad record before it if pad > 0. It
// reports ErrEnded if the channel was ended meanwhile: the message may
// then still be received before io.EOF, but a consumer can have ended its
// stream first. A send that finds the channel open here is received: a
// consumer concludes io.EOF only after a heavy barrier, which makes this
// header visible to it (see tryRecv).
func (s *spsc) publish(at, pad uint64, n uint32) error {
	p := &s.send
	size := s.recordSize(uint64(n))
	rec := at + pad
	next := rec + size
	if next == s.cap {
		next = 0 // the lap ends here: the next header is a header already
	}
	// Zero the word after the record, so old elements there never read as
	// a header, then store the header; the pad's header last, so that a
	// consumer never passes the pad before the message is there.
	fence.StorePair(s.word(next), 0, s.word(rec), headerWord(p.tail+pad, n+1), next != 0)
	if pad > 0 {
		fence.Store(s.word(at), headerWord(p.tail, layout.LenPad))
	}
	p.tail, p.off = p.tail+pad+size, next
	if s.r.h.Closed.Load() != 0 {
		return ErrEnded
	}
	return nil
}

// peek finds the next message: its offset and length; ok false if there is
// none yet. A message longer than maxLen stays queued (io.ErrShortBuffer).
func (s *spsc) peek(maxLen int) (at uint64, n uint32, ok bool, err error) {
	// The common cases first, without a call: no record yet, or a message
	// that fits dst and lies wholly in the ring.
	q := &s.recv
	hd := s.word(q.off).Load()
	if uint32(hd>>32) != stamp(q.head) {
		return 0, 0, false, nil
	}
	if n := uint32(hd) - 1; n <= s.r.maxLen && int(n) <= maxLen && q.off+s.recordSize(uint64(n)) <= s.cap {
		return q.off, n, true, nil
	}
	return s.peekSlow(maxLen)
}

// peekSlow is peek past a skip or pad record, or for a message that is
// too long or a corrupt header.
//
// The consumer's position moves past skip and pad records only together
// with the message behind them, so that a corrupt chain of them is
// reported again at every look, not passed once and then waited behind.
func (s *spsc) peekSlow(maxLen int) (at uint64, n uint32, ok bool, err error) {
	q := &s.recv
	pos, off := q.head, q.off
	passed := recNone
	for range 3 { // at most a skip record, then a pad record, before a message
		n, kind, err := s.record(pos, off)
		switch {
		case err != nil || kind == recNone:
			return 0, 0, false, err
		case kind != recMessage && passed >= kind:
			return 0, 0, false, s.corrupt("a skip or pad record after a pad or skip at %d", pos)
		case kind != recMessage:
			passed = kind
			pos = s.next(pos, 0, kind)
			off = pos % s.cap
			continue
		case int(n) > maxLen:
			return 0, n, false, io.ErrShortBuffer
		}
		q.head, q.off = pos, off
		return off, n, true, nil
	}
	return 0, 0, false, s.corrupt("records never begin at %d", pos)
}

// tryRecv is peek, with io.EOF once the channel is ended and drained: it
// is ended, and after a heavy barrier the ring is still empty. The
// barrier makes visible every header whose producer then found the channel
// open (see publish).
func (s *spsc) tryRecv(maxLen int) (at uint64, n uint32, ok bool, err error) {
	q, h := &s.recv, s.r.h
	closed := h.Closed.Load() != 0
	at, n, ok, err = s.peek(maxLen)
	if ok || err != nil || !closed {
		return at, n, ok, err
	}
	if q.eof {
		return 0, 0, false, io.EOF
	}
	if err := fence.Heavy(); err != nil {
		return 0, 0, false, err
	}
	if at, n, ok, err = s.peek(maxLen); ok || err != nil {
		return at, n, ok, err
	}
	q.eof = true
	return 0, 0, false, io.EOF
}

// consume gives the message at the consumer's position back to the
// producer.
func (s *spsc) consume(n uint32) {
	q := &s.recv
	size := s.recordSize(uint64(n))
	q.head += size
	if q.off += size; q.off == s.cap {
		q.off = 0
	}
	fence.Store(&s.r.h.Head, q.head)
}

// length is how many messages are queued (a snapshot).
func (s *spsc) length() int {
	_, count, _ := s.end(s.r.h.Head.Load())
	return count
}
