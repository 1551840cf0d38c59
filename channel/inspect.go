// Snapshots of a channel for tools.

package channel

import (
	"sync/atomic"

	"github.com/shmkit/shmkit/internal/elem"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/shm"
)

// State is a snapshot of a channel, for tools.
type State struct {
	Head, Tail               uint64 // positions (hints, see docs/channel.md)
	Len, Cap, MaxLen         int
	Ended                    bool // End was called
	RecvWaiters, SendWaiters int
	Recovered                int          // slots taken over from dead processes
	Producers, Consumers     []int        // recorded pids
	Layout                   *elem.Layout // the records' fields; nil for scalars
}

// sleepers is the count in a sleeper word.
func sleepers(w *atomic.Uint32) int { return int(w.Load() & layout.WaiterCountMask) }

// State returns a snapshot of the channel.
func (c *Channel[T]) State() State {
	c.r.mustBeOpen("state")
	h := c.r.h
	s := State{
		Head: h.Head.Load(), Tail: h.Tail.Load(), Len: c.Len(), Cap: c.Cap(), MaxLen: c.MaxLen(),
		Ended: h.Closed.Load() != 0, RecvWaiters: sleepers(&h.RecvWaiters), SendWaiters: sleepers(&h.SendWaiters),
		Recovered: int(h.Recovered.Load()),
	}
	_, s.Layout, _ = elem.ElemCode[T]()
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
	obj, err := objects.Core(seg).LookupKind(name, shm.KindChannel)
	if err != nil {
		return State{}, err
	}
	var rec *elem.Layout
	var size uint64
	if elem.Typecode(obj.Typecode) == elem.CodeStruct {
		l, err := elem.RecordLayout(obj, 0) // its size; its place is checked below
		if err != nil {
			return State{}, err
		}
		rec, size = &l, uint64(l.Size)
	} else {
		tc, err := elem.ParseTypecode(obj.Typecode)
		if err != nil {
			return State{}, errtext.Errorf("channel: %q: %w", name, err)
		}
		size = uint64(tc.Size())
	}
	r, err := newRing(seg, obj, size)
	if err != nil {
		return State{}, err
	}
	if rec != nil {
		if err := elem.DescribedAfter(obj, uint64(len(r.mem))); err != nil {
			return State{}, err
		}
	}
	s := newChannel[uint8](r).State()
	s.Layout = rec
	return s, nil
}
