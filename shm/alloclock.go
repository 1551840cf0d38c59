package shm

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/wait"
)

// The allocation lock is a word in the header (shmkit.h, alloc_lock): the
// holder's pid and pid namespace. Only a writable attach can take it, so a
// reader cannot stall allocation, and a holder that died is taken over.

const (
	// allocSpins is how often a waiter looks at the lock before sleeping.
	allocSpins = 64
	// allocLook is how long a sleeping waiter goes without looking whether
	// the holder has died: nothing wakes it then.
	allocLook = 20 * time.Millisecond
	// DefaultAllocWait is how long Alloc waits for another process's
	// allocation to end before it gives up with ErrBusy (WithAllocWait).
	DefaultAllocWait = 30 * time.Second
)

func allocWord() uint64 { return uint64(procs.PIDNamespace())<<32 | uint64(uint32(os.Getpid())) }

// holderDead reports whether the holder named by word w has died, as far as
// this process can tell: a holder in another pid namespace is never judged.
// The caller holds allocSem, so a word naming this process is left over
// from an earlier process with our pid.
func holderDead(w uint64) bool {
	if uint32(w>>32) != procs.PIDNamespace() {
		return false
	}
	pid := int(uint32(w))
	return pid == os.Getpid() || !procs.Alive(pid)
}

// lockAlloc takes the segment's allocation lock; the caller holds allocSem.
// It gives up when ctx ends or after the segment's allocation wait.
func (s *Segment) lockAlloc(ctx context.Context) error {
	h := layout.HeaderOf(s.mem)
	me := allocWord()
	var deadline int64
	if s.allocWait > 0 {
		deadline = wait.Deadline(s.allocWait)
	}
	for i := 0; ; i++ {
		seq := h.AllocSeq.Load()
		held := h.AllocLock.Load()
		if held == 0 || holderDead(held) {
			if h.AllocLock.CompareAndSwap(held, me) {
				return nil
			}
			continue
		}
		if i < allocSpins {
			wait.Spin(i)
			continue
		}
		if deadline != 0 && wait.Now() >= deadline {
			return fmt.Errorf("%w: process %d has held the allocation lock for %v", ErrBusy, uint32(held), s.allocWait)
		}
		until := wait.Deadline(allocLook)
		if deadline != 0 {
			until = min(until, deadline)
		}
		_, err := wait.Block(ctx, until, func(u int64) (bool, error) {
			h.AllocWaiters.Add(1)
			defer h.AllocWaiters.Add(^uint32(0))
			if h.AllocLock.Load() != held {
				return true, nil
			}
			if err := futex.Wait(&h.AllocSeq, seq, u); err != nil && err != futex.ErrTimeout {
				return false, err
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}
}

// unlockAlloc releases the allocation lock and wakes its waiters.
func (s *Segment) unlockAlloc() {
	h := layout.HeaderOf(s.mem)
	h.AllocLock.Store(0)
	h.AllocSeq.Add(1)
	if h.AllocWaiters.Load() != 0 {
		futex.Wake(&h.AllocSeq, 1<<30)
	}
}

// enterAlloc takes allocSem, which serialises this process's allocators
// (they share one lock word), or gives up when ctx ends.
func (s *Segment) enterAlloc(ctx context.Context) error {
	select {
	case s.allocSem <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.allocSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Segment) leaveAlloc() { <-s.allocSem }
