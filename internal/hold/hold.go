// Package hold lets a segment's Close wait for the calls blocked on the
// segment's memory: they count themselves in before they touch it on a
// slow path, Close wakes them, and unmaps only once they have left.
package hold

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/wait"
)

// A Drain counts the calls blocked on one segment (shm.Segment.Drain). The
// zero value is ready.
type Drain struct {
	closing atomic.Bool
	n       atomic.Int64
	mu      sync.Mutex
	words   map[*atomic.Uint32]int // futex words slept on now
	empty   chan struct{}          // made by Close, closed when n drops to 0
}

// Enter counts a call in. It reports false once Close has begun: the
// memory is going away.
func (d *Drain) Enter() bool {
	d.n.Add(1)
	if d.closing.Load() { // Close sets closing, then reads n: one of us sees the other
		d.Leave()
		return false
	}
	return true
}

// Leave counts a call out.
func (d *Drain) Leave() {
	if d.n.Add(-1) == 0 && d.closing.Load() {
		d.mu.Lock()
		if d.empty != nil && d.n.Load() == 0 {
			close(d.empty)
			d.empty = nil
		}
		d.mu.Unlock()
	}
}

// Sleep is attempt, run by a call that Entered, failing with closed once
// Close has begun and letting Close wake word while attempt sleeps on it.
func (d *Drain) Sleep(word *atomic.Uint32, closed error, attempt wait.Attempt) wait.Attempt {
	return func(until int64) (bool, error) {
		if d.closing.Load() {
			return false, closed
		}
		d.mu.Lock()
		if d.words == nil {
			d.words = map[*atomic.Uint32]int{}
		}
		d.words[word]++
		d.mu.Unlock()
		defer func() {
			d.mu.Lock()
			if d.words[word]--; d.words[word] == 0 {
				delete(d.words, word)
			}
			d.mu.Unlock()
		}()
		return attempt(until)
	}
}

// Close marks the drain closing and returns once every call has left,
// waking the words they sleep on until then: a call between its last look
// and its sleep misses a wake, so the wakes repeat. A call that sleeps
// where a wake cannot reach it leaves at the end of its slice.
func (d *Drain) Close() {
	d.closing.Store(true)
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
}
