package semaphore

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/shm"
)

// A Barrier makes a fixed number of parties wait for each other (Python's
// Barrier): each Wait returns once parties calls have arrived, with a
// distinct arrival index from 0 to parties-1.
//
// A Wait that times out or is cancelled breaks the barrier, as does Abort
// and a process dying in the middle of a barrier operation: every waiter,
// and every later Wait until Reset, fails with ErrBrokenBarrier. A party
// that dies while merely waiting is not detected; the others' timeouts are
// what free them.
type Barrier struct {
	name string
	st   *layout.Barrier
	seg  *shm.Segment
}

// NewBarrier creates a barrier for parties (at least 1) named name in seg.
func NewBarrier(seg *shm.Segment, name string, parties int) (*Barrier, error) {
	if parties < 1 || parties > math.MaxInt32 {
		return nil, opError("create", name, errtext.Errorf("%w: %d parties", ErrInvalidValue, parties))
	}
	if !cbind.Available {
		return nil, opError("create", name, ErrNoCgo)
	}
	obj, st, err := objects.Make(seg, segment.Request{Name: name, Kind: shm.KindBarrier},
		func(st *layout.Barrier, _ []byte) error { return cbind.BarrierInit(st, uint32(parties)) })
	if err != nil {
		return nil, allocError(err)
	}
	return &Barrier{name: obj.Name, st: st, seg: seg}, nil
}

// OpenBarrier attaches to the barrier named name in seg.
func OpenBarrier(seg *shm.Segment, name string) (*Barrier, error) {
	obj, st, err := objects.Attach[layout.Barrier](seg, name, shm.KindBarrier)
	if err != nil {
		return nil, err
	}
	return &Barrier{name: obj.Name, st: st, seg: seg}, nil
}

// Parties returns the number of parties the barrier waits for.
func (b *Barrier) Parties() int {
	mustBeOpen(b.seg, "parties", b.name)
	return int(atomic.LoadUint32(&b.st.Parties))
}

// Waiting returns how many parties are waiting now.
func (b *Barrier) Waiting() int {
	mustBeOpen(b.seg, "waiting", b.name)
	return int(atomic.LoadUint32(&b.st.Count))
}

// Broken reports whether the barrier is broken.
func (b *Barrier) Broken() bool {
	mustBeOpen(b.seg, "broken", b.name)
	return atomic.LoadUint32(&b.st.Broken) != 0
}

// Wait waits until every party has arrived and returns this party's
// arrival index.
func (b *Barrier) Wait() (int, error) { return b.wait(context.Background(), 0) }

// WaitTimeout is Wait giving up after d, which breaks the barrier.
func (b *Barrier) WaitTimeout(d time.Duration) (int, error) {
	return b.wait(context.Background(), wait.Deadline(d))
}

// WaitContext is Wait giving up when ctx ends, which breaks the barrier; the
// error satisfies both errors.Is(err, ErrBrokenBarrier) and ctx.Err().
func (b *Barrier) WaitContext(ctx context.Context) (int, error) { return b.wait(ctx, 0) }

func (b *Barrier) wait(ctx context.Context, deadline int64) (int, error) {
	if err := objects.Core(b.seg).Writable(); err != nil {
		return 0, opError("wait", b.name, err)
	}
	d, err := enter(b.seg)
	if err != nil {
		return 0, opError("wait", b.name, err)
	}
	defer d.Leave()
	index, gen, err := cbind.BarrierArrive(b.st)
	if err != nil {
		return 0, opError("wait", b.name, err)
	}
	if int(index) == int(atomic.LoadUint32(&b.st.Parties))-1 { // not Parties: it panics once Close has begun
		return int(index), nil // the last arrival tripped it
	}
	done, werr := wait.Block(ctx, deadline, d.Sleep(&b.st.Gen, shm.ErrClosed, wait.Changed(&b.st.Gen, gen)))
	if errors.Is(werr, shm.ErrClosed) { // break our generation, as a timeout does: nobody waits for us
		cbind.BarrierTimeout(b.st, gen)
		return int(index), opError("wait", b.name, werr)
	}
	if done {
		return int(index), opError("wait", b.name, cbind.BarrierOutcome(b.st, gen))
	}
	// Timed out or cancelled: break our generation, unless it just ended.
	if err := cbind.BarrierTimeout(b.st, gen); err != nil {
		if werr != nil {
			return int(index), errtext.Errorf("semaphore: wait %q: %w: %w", b.name, ErrBrokenBarrier, werr)
		}
		return int(index), opError("wait", b.name, err)
	}
	return int(index), nil
}

// Abort breaks the barrier: current and future waiters fail with
// ErrBrokenBarrier until Reset.
func (b *Barrier) Abort() error {
	if err := objects.Core(b.seg).Writable(); err != nil {
		return opError("abort", b.name, err)
	}
	return opError("abort", b.name, cbind.BarrierAbort(b.st))
}

// Reset returns the barrier to its empty state; parties waiting now fail
// with ErrBrokenBarrier.
func (b *Barrier) Reset() error {
	if err := objects.Core(b.seg).Writable(); err != nil {
		return opError("reset", b.name, err)
	}
	return opError("reset", b.name, cbind.BarrierReset(b.st))
}
