package segment

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/wait"
)

// The allocation lock is a word in the header (shmkit.h, alloc_lock): the
// holder's pid namespace and thread id. A thread id, not a pid, so that
// two handles of one segment in one process, or two libraries in one
// program, never take each other's lock as their own. Only a writable
// attach can take it, so a reader cannot stall allocation, and a holder
// that died is taken over. The holder stays wired to its thread
// (runtime.LockOSThread) while it holds the lock, so the word keeps naming
// it.

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

// An allocGate queues this process's allocators of one segment file, all
// handles together, so that they wait in Go rather than on the lock word.
type allocGate struct {
	sem    chan struct{} // capacity 1: held from before the lock word is taken until after it is freed
	holder atomic.Int32  // thread id of the holder, 0 if none
	refs   int           // handles using the gate; under gates' lock
}

var gates struct {
	sync.Mutex
	of map[fileID]*allocGate
}

// gateOf returns the gate of the segment file id, counting one more
// handle in.
func gateOf(id fileID) *allocGate {
	gates.Lock()
	defer gates.Unlock()
	if gates.of == nil {
		gates.of = map[fileID]*allocGate{}
	}
	g := gates.of[id]
	if g == nil {
		g = &allocGate{sem: make(chan struct{}, 1)}
		gates.of[id] = g
	}
	g.refs++
	return g
}

// dropGate counts a handle of the segment file id out of its gate.
func dropGate(id fileID, g *allocGate) {
	gates.Lock()
	defer gates.Unlock()
	if g.refs--; g.refs == 0 {
		delete(gates.of, id)
	}
}

func allocWord(tid int) uint64 { return uint64(procs.PIDNamespace())<<32 | uint64(uint32(tid)) }

// holderDead reports whether the holder named by word w has died, as far as
// this thread (tid) can tell: a holder in another pid namespace is never
// judged. An id that no thread can have is a corrupt word, taken over. The
// caller holds the gate, so a word naming its own thread is left over from
// a thread that had the id before.
func holderDead(w uint64, tid int) bool {
	if uint32(w>>32) != procs.PIDNamespace() {
		return false
	}
	id := uint32(w)
	return !procs.Possible(id) || int(id) == tid || !procs.Alive(int(id))
}

// lockAlloc takes the segment's allocation lock for this thread (tid); the
// caller holds the gate and is wired to its thread. It gives up when ctx
// ends, when the segment is closed, or after the segment's allocation wait.
func (s *Segment) lockAlloc(ctx context.Context, tid int) error {
	h := layout.HeaderOf(s.mem)
	me := allocWord(tid)
	var deadline int64
	if s.allocWait > 0 {
		deadline = wait.Deadline(s.allocWait)
	}
	for i := 0; ; i++ {
		seq := h.AllocSeq.Load()
		held := h.AllocLock.Load()
		if held == 0 || holderDead(held, tid) {
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
			return errtext.Errorf("%w: %s has held the allocation lock for %v", ErrBusy, holderName(held), s.allocWait)
		}
		until := wait.Deadline(allocLook)
		if deadline != 0 {
			until = min(until, deadline)
		}
		_, err := wait.Block(ctx, until, s.drain.Sleep(&h.AllocSeq, ErrClosed, func(u int64) (bool, error) {
			h.AllocWaiters.Add(1)
			defer h.AllocWaiters.Add(^uint32(0))
			if h.AllocLock.Load() != held {
				return true, nil
			}
			if err := futex.Wait(&h.AllocSeq, seq, u); err != nil && err != futex.ErrTimeout {
				return false, err
			}
			return true, nil
		}))
		if err != nil {
			return err
		}
	}
}

// holderName says which thread and process lock word w names.
func holderName(w uint64) string {
	tid := uint32(w)
	if uint32(w>>32) != procs.PIDNamespace() {
		return fmt.Sprintf("thread %d of another pid namespace", tid)
	}
	if pid := procs.ProcessOf(int(tid)); pid > 0 && pid != int(tid) {
		return fmt.Sprintf("thread %d of process %d", tid, pid)
	}
	return fmt.Sprintf("process %d", tid)
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

// enterAlloc passes the segment file's gate and wires the goroutine to its
// thread, returning the thread's id; it gives up when ctx ends or the
// segment is closed. An allocation made from the init of another on the
// same segment would wait for itself: it is refused.
func (s *Segment) enterAlloc(ctx context.Context) (tid int, err error) {
	g := s.gate
	if g.holder.Load() == int32(unix.Gettid()) {
		// Only the holder's goroutine runs on the holder's wired thread.
		return 0, errtext.Errorf("%w: an allocation's init allocates in the same segment", ErrBusy)
	}
	select {
	case g.sem <- struct{}{}:
	default:
		select {
		case g.sem <- struct{}{}:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-s.done:
			return 0, ErrClosed
		}
	}
	runtime.LockOSThread()
	tid = unix.Gettid()
	g.holder.Store(int32(tid))
	return tid, nil
}

// leaveAlloc undoes enterAlloc.
func (s *Segment) leaveAlloc() {
	s.gate.holder.Store(0)
	runtime.UnlockOSThread()
	<-s.gate.sem
}
