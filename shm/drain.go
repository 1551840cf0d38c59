package shm

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmkit/shmkit/internal/futex"
)

// drain keeps count of the calls blocked on a segment's memory, so that
// Close can wake them and unmap only once they have left.
type drain struct {
	n     atomic.Int64 // calls holding the segment
	mu    sync.Mutex
	words map[*atomic.Uint32]int // futex words they sleep on
	empty chan struct{}          // made by Close, closed when n drops to 0
}

// Hold keeps the segment mapped while a call blocks on its memory, for the
// packages that build blocking objects on segments. Close, meanwhile, wakes
// word (the futex word the call sleeps on, or nil if a wake cannot end its
// sleep, which then ends at its next slice), waits until release is called,
// and only then unmaps; the call must look at Closed after every wake and
// return ErrClosed once it is true. Hold returns ErrClosed once Close has
// begun.
func (s *Segment) Hold(word *atomic.Uint32) (release func(), err error) {
	d := &s.drain
	d.n.Add(1)
	if s.closed.Load() { // Close sets closed, then reads n: one of us sees the other
		s.leave(nil)
		return func() {}, ErrClosed
	}
	if word == nil {
		return func() { s.leave(nil) }, nil
	}
	d.mu.Lock()
	if d.words == nil {
		d.words = map[*atomic.Uint32]int{}
	}
	d.words[word]++
	d.mu.Unlock()
	return func() { s.leave(word) }, nil
}

func (s *Segment) leave(word *atomic.Uint32) {
	d := &s.drain
	if word != nil {
		d.mu.Lock()
		if d.words[word]--; d.words[word] == 0 {
			delete(d.words, word)
		}
		d.mu.Unlock()
	}
	if d.n.Add(-1) == 0 && s.closed.Load() {
		d.mu.Lock()
		if d.empty != nil && d.n.Load() == 0 {
			close(d.empty)
			d.empty = nil
		}
		d.mu.Unlock()
	}
}

// closeAndDrain marks the segment closed and waits until every held call
// has left, waking their words until then: a call between its last look
// and its sleep misses a wake, so the wakes repeat. It reports false if the
// segment was closed already.
func (s *Segment) closeAndDrain() bool {
	d := &s.drain
	if !s.closed.CompareAndSwap(false, true) {
		return false
	}
	d.mu.Lock()
	var empty chan struct{}
	if d.n.Load() > 0 {
		empty = make(chan struct{})
		d.empty = empty
	}
	d.mu.Unlock()
	for empty != nil {
		d.mu.Lock()
		for w := range d.words {
			futex.Wake(w, math.MaxInt32)
		}
		d.mu.Unlock()
		select {
		case <-empty:
			empty = nil
		case <-time.After(2 * time.Millisecond):
		}
	}
	return true
}
