// The any-to-any protocol of shmkit.h (struct shmkit_slot): send and recv,
// which hand an SPSC channel to spsc.go, and the slot states they move.

package channel

import (
	"io"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/hold"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/shm"
)

// send claims a slot, lets fill write n elements into it, and publishes it.
// The fast path (a free slot) makes no indirect call but fill.
func (c *Channel[T]) send(m mode, n int, fill func([]T)) (bool, error) {
	r := c.r
	if err := r.check(); err != nil {
		return false, err
	}
	if n > int(r.maxLen) || n < 0 {
		return false, errtext.Errorf("channel: send on %q: %w: %d elements, at most %d", r.name, ErrTooLarge, n, r.maxLen)
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
	if r.h.Closed.Load() != 0 { // ended after we claimed: no message
		r.publish(cl, layout.LenSkip)
		published = true
		r.wakeReceivers()
		return false, r.wrap("send on", m.ctx, ErrEnded)
	}
	fill(layout.Slice[T](r.mem, cl.data, uint64(n)))
	r.publish(cl, uint32(n))
	published = true
	if m.wake {
		r.wakeReceivers()
	}
	return true, nil
}

// trySend claims a slot for sending unless the channel is ended.
func (r *ring) trySend() (claimed, blocker, bool, error) {
	if r.h.Closed.Load() != 0 {
		return claimed{}, blocker{}, false, ErrEnded
	}
	return r.claimSend()
}

// tryRecv claims the next message of at most maxLen elements, dropping
// slots that hold no message; io.EOF once the channel is ended and empty.
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
	// Counted while the slot is still claimed: a Join sees the message one
	// way or the other.
	r.received()
	defer func() { // also if use panics: the message is consumed either way
		r.free(cl)
		if m.wake {
			r.wakeSenders()
		}
	}()
	use(layout.Slice[T](r.mem, cl.data, uint64(n)))
	return int(n), true, nil
}

// slot returns position pos's slot and the offset of its data.
func (r *ring) slot(pos uint64) (*layout.Slot, uint64) {
	off := headerSize + (pos%r.slots)*r.stride
	return layout.At[layout.Slot](r.mem, off), off + slotHeader
}

// behind reports whether sequence a is behind b, modulo 2^40.
func behind(a, b uint64) bool { return (a-b)&seqMask >= 1<<39 }

func seqOf(pos uint64) uint64 { return (2 * pos) & seqMask }

// claimed is a slot this process holds: for writing (claimSend) or reading
// (claimRecv).
type claimed struct {
	pos  uint64
	s    *layout.Slot
	data uint64 // offset of the slot's data in r.mem
}

// claimSend claims the next slot to send into. If the ring is full it
// returns ok false and the state word of the slot it waits for.
func (r *ring) claimSend() (c claimed, b blocker, ok bool, err error) {
	for range maxHelps {
		pos := r.h.Tail.Load()
		s, data := r.slot(pos)
		st := s.State.Load()
		seq, want := layout.SlotSeq(st), seqOf(pos)
		switch {
		case seq == want && st&layout.SlotBusy == 0:
			if s.State.CompareAndSwap(st, layout.SlotState(want, true, r.pid)) {
				r.h.Tail.CompareAndSwap(pos, pos+1)
				return claimed{pos, s, data}, blocker{}, true, nil
			}
		case behind(seq, want):
			return claimed{}, blocker{s, st}, false, nil // the previous lap is still there
		default: // claimed or done by another producer: help the tail on
			r.h.Tail.CompareAndSwap(pos, pos+1)
		}
	}
	return claimed{}, blocker{}, false, r.errConfused()
}

// publish makes a claimed slot's message visible to receivers.
func (r *ring) publish(c claimed, n uint32) {
	c.s.Len.Store(n)
	c.s.State.Store(layout.SlotState(seqOf(c.pos)+1, false, 0))
}

// claimRecv claims the next full slot. If there is none it returns ok
// false and the state word of the slot it waits for.
func (r *ring) claimRecv(maxLen int) (c claimed, n uint32, b blocker, ok bool, err error) {
	for range maxHelps {
		pos := r.h.Head.Load()
		s, data := r.slot(pos)
		st := s.State.Load()
		seq, full := layout.SlotSeq(st), seqOf(pos)+1
		switch {
		case seq == full && st&layout.SlotBusy == 0:
			// Look at the length before claiming, so that a buffer too
			// short leaves the message queued: it is valid if the state
			// did not move meanwhile (sequences never repeat).
			n = s.Len.Load()
			if s.State.Load() != st {
				continue
			}
			if n != layout.LenSkip && n > r.maxLen {
				return claimed{}, 0, blocker{}, false, errtext.Errorf("channel: %q: %w: message of %d elements, at most %d",
					r.name, shm.ErrCorrupt, n, r.maxLen)
			}
			if n != layout.LenSkip && int(n) > maxLen {
				return claimed{}, n, blocker{}, false, io.ErrShortBuffer
			}
			if s.State.CompareAndSwap(st, layout.SlotState(full, true, r.pid)) {
				r.h.Head.CompareAndSwap(pos, pos+1)
				return claimed{pos, s, data}, n, blocker{}, true, nil
			}
		case behind(seq, full):
			return claimed{}, 0, blocker{s, st}, false, nil // empty, or a producer still writing
		default: // taken by another receiver: help the head on
			r.h.Head.CompareAndSwap(pos, pos+1)
		}
	}
	return claimed{}, 0, blocker{}, false, r.errConfused()
}

// free returns a read slot to producers.
func (r *ring) free(c claimed) {
	c.s.State.Store(layout.SlotState(seqOf(c.pos+r.slots), false, 0))
}

// takeOver frees a slot whose claimer has died, as shmkit.h describes. It
// reports whether it changed anything.
func (r *ring) takeOver(b blocker) bool {
	pid := layout.SlotOwner(b.st)
	if pid == 0 || r.alive(int(pid)) {
		return false
	}
	s, seq := b.s, layout.SlotSeq(b.st)
	var next uint64
	if seq&1 == 0 { // a producer died writing: publish "no message"
		s.Len.Store(layout.LenSkip)
		next = layout.SlotState(seq+1, false, 0)
	} else { // a consumer died reading: the message is lost, free the slot
		next = layout.SlotState(seq-1+2*r.slots, false, 0)
	}
	if s.State.CompareAndSwap(b.st, next) {
		r.h.Recovered.Add(1)
		r.wakeReceivers()
		r.wakeSenders()
		return true
	}
	return false
}
