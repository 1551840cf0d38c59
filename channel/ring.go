package channel

import (
	"context"
	"math"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/fence"
	"github.com/shmkit/shmkit/internal/futex"
	"github.com/shmkit/shmkit/internal/hold"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/shm"
)

// ring runs the slot protocol of shmkit.h (struct shmkit_channel) over one
// channel object, whatever its element type. Geometry (slots, stride,
// max_len) is checked once at attach and trusted afterwards; every length
// read from a slot is checked again, so a hostile process cannot make
// this process read or write outside the object.
type ring struct {
	name     string
	seg      *shm.Segment
	h        *layout.Channel
	mem      []byte
	slots    uint64
	maxLen   uint32
	stride   uint64
	pid      uint32
	sendReg  atomic.Bool // this handle recorded our pid as a producer
	recvReg  atomic.Bool // ... as a consumer
	sp       *spsc       // the single-producer protocol's state, for such a channel
	joinable bool        // layout.FlagJoinable: sends count in Unfinished

	// sendWordSlow is the general path of sendWord: Send (block) or
	// TrySend of one element of 8 bytes, whose bits are v (newChannel).
	sendWordSlow func(v uint64, block bool) (bool, error)

	closed atomic.Bool // Close was called on this handle

	recvStale, sendStale atomic.Uint32 // sleeper words found to hold only dead sleepers (wake)
	recvSpin, sendSpin   wait.Budget   // how long each side spins before sleeping
}

// blocker is the slot a sender or receiver waits for, and its state then.
type blocker struct {
	s  *layout.Slot
	st uint64
}

const (
	headerSize = uint64(unsafe.Sizeof(layout.Channel{}))
	slotHeader = uint64(unsafe.Sizeof(layout.Slot{}))
	seqMask    = layout.SlotSeqMask
	// spinTries bounds the busy wait before sleeping: long enough to catch
	// a peer running on another core, short enough not to starve one that
	// shares ours.
	spinTries = 128
	// spinClock is how many looks a longer spin takes between readings of
	// the clock.
	spinClock = 16
	// maxHelps bounds how far one claim moves an index on. Each step means
	// another process claimed a slot, so a real ring never comes near it;
	// a ring whose states were overwritten can, and is reported corrupt.
	maxHelps = 1 << 16
)

// errConfused is returned when slot states contradict the indices.
func (r *ring) errConfused() error {
	return errtext.Errorf("channel: %q: %w: slot states and positions disagree", r.name, shm.ErrCorrupt)
}

// geometry computes a channel's stride and object length, or an error; a
// single-producer channel's ring is one stride longer (see shmkit.h).
func geometry(slots, maxLen int, elemSize uint64, single bool) (stride, length uint64, err error) {
	stride, length, ok := layout.RingGeometry(slots, maxLen, elemSize)
	if !ok {
		return 0, 0, errtext.Errorf("%w: %d slots of %d elements of %d bytes", shm.ErrInvalidSize, slots, maxLen, elemSize)
	}
	if single {
		_, length, err = spscGeometry(slots, stride)
		return stride, length, err
	}
	return stride, length, nil
}

// populate maps a channel's pages into the process ahead (shm.Populate)
// if it is at most layout.PopulateMax bytes, so that the first lap of
// messages takes no page faults. Mapping takes about a quarter of a
// millisecond per megabyte here, paid at New or Open instead of on the hot
// path; a larger ring is faulted in by its first lap, as any mapping is.
// It is best effort: where the kernel cannot, the first lap faults the
// pages in.
func populate(seg *shm.Segment, obj shm.Object) {
	if obj.Length <= layout.PopulateMax {
		_ = objects.Core(seg).Populate(obj)
	}
}

// newRing checks a channel object against its directory entry and itself.
func newRing(seg *shm.Segment, obj shm.Object, elemSize uint64) (*ring, error) {
	h, err := objects.As[layout.Channel](obj)
	if err != nil {
		return nil, err
	}
	single := obj.Flags&layout.FlagSPSC != 0
	stride, length, err := geometry(int(min(obj.Param0, math.MaxInt32)), int(min(obj.Param1, math.MaxInt32)), elemSize, single)
	switch {
	case err != nil:
		return nil, errtext.Errorf("channel: %q: %w: %w", obj.Name, shm.ErrCorrupt, err)
	case uint64(h.Slots) != obj.Param0 || uint64(h.MaxLen) != obj.Param1 ||
		uint64(h.ElemSize) != elemSize || uint64(h.SlotStride) != stride || (h.SPSC != 0) != single:
		return nil, errtext.Errorf("channel: %q: %w: header disagrees with its directory entry", obj.Name, shm.ErrCorrupt)
	case obj.Length < length:
		return nil, errtext.Errorf("channel: %q: %w: %d bytes, needs %d", obj.Name, shm.ErrCorrupt, obj.Length, length)
	}
	r := &ring{
		name: obj.Name, seg: seg, h: h, mem: obj.Bytes()[:length:length],
		slots: obj.Param0, maxLen: uint32(obj.Param1), stride: stride, pid: uint32(os.Getpid()),
		joinable: obj.Flags&layout.FlagJoinable != 0,
	}
	if h.PidNamespace != procs.PIDNamespace() && objects.Core(seg).Writable() == nil {
		h.MixedNS.Store(1) // before this process claims or registers anything
	}
	if single {
		r.sp = newSPSC(r, length-headerSize, elemSize)
		fence.Register() // now, not in the first message (it can take milliseconds); errors come with it
	}
	return r, nil
}

// wakeCalls counts wake system calls, for tests.
var wakeCalls atomic.Int64

func (r *ring) wakeReceivers() { wake(&r.h.RecvWaiters, &r.h.DataSeq, &r.recvStale) }

func (r *ring) wakeSenders() { wake(&r.h.SendWaiters, &r.h.SpaceSeq, &r.sendStale) }

// wake wakes the sleepers on seq if the sleeper word waiters counts any. A
// wake that found nobody asleep marks that exact word stale for this
// handle: its count is of sleepers that were killed, and no live sleeper
// counted in it sleeps on (it read seq before registering, and seq has
// moved), while a new sleeper changes the word's generation. So killed
// sleepers cost each handle one wasted system call, not one per message.
func wake(waiters, seq, stale *atomic.Uint32) {
	w := waiters.Load()
	if w&layout.WaiterCountMask == 0 || w == stale.Load() {
		return
	}
	seq.Add(1)
	wakeCalls.Add(1)
	if futex.Wake(seq, math.MaxInt32) == 0 {
		stale.Store(w)
	}
}

// register records this process as a producer or consumer, once per handle.
func (r *ring) register(flag *atomic.Bool, table *[layout.Peers]atomic.Int32) {
	if flag.Load() {
		return
	}
	if r.seg.ReadOnly() { // as a send on a closed Go channel: a programming error
		panic(errtext.Errorf("channel: register on %q: %w", r.name, shm.ErrReadOnly))
	}
	if !flag.CompareAndSwap(false, true) {
		return
	}
	r.record(table, int32(r.pid))
}

// expect records process pid in a peer table on its behalf (ExpectSender).
func (r *ring) expect(side string, table *[layout.Peers]atomic.Int32, pid int) error {
	if err := r.check(); err != nil {
		return err
	}
	if pid <= 0 || pid > math.MaxInt32 {
		return errtext.Errorf("channel: expect %s %d on %q: %w", side, pid, r.name, ErrInvalidPid)
	}
	r.record(table, int32(pid))
	return nil
}

// record puts pid in a peer table, unless it is there: in an empty entry or
// one whose process is dead.
func (r *ring) record(table *[layout.Peers]atomic.Int32, pid int32) {
	for i := range table {
		if table[i].Load() == pid {
			return
		}
	}
	for i := range table {
		if p := table[i].Load(); (p == 0 || !r.alive(int(p))) && table[i].CompareAndSwap(p, pid) {
			return
		}
	}
	r.h.PeersOverflow.Store(1) // not recorded: never report peers dead
}

// alive reports whether peer pid may be alive. Once processes of different
// pid namespaces have opened the channel, a pid may name a process that
// this one cannot see, so every peer counts as alive: nothing is taken over
// and nobody is reported dead (docs/channel.md).
func (r *ring) alive(pid int) bool { return r.h.MixedNS.Load() != 0 || procs.Alive(pid) }

// allDead reports whether a peer table has entries and all their processes
// are gone.
func (r *ring) allDead(table *[layout.Peers]atomic.Int32) bool {
	if r.h.PeersOverflow.Load() != 0 {
		return false
	}
	seen := false
	for i := range table {
		if p := table[i].Load(); p != 0 {
			if r.alive(int(p)) {
				return false
			}
			seen = true
		}
	}
	return seen
}

// check is asked before every operation that writes to the channel:
// shm.ErrClosed once its segment is closed, ErrReadOnly on a read-only
// attach, ErrClosed once this handle is closed.
func (r *ring) check() error {
	if err := objects.Core(r.seg).Writable(); err != nil {
		return errtext.Errorf("channel: %q: %w", r.name, err)
	}
	if r.closed.Load() {
		return errtext.Errorf("channel: %q: %w", r.name, ErrClosed)
	}
	return nil
}

// mustBeOpen panics, with an error wrapping shm.ErrClosed, where a method
// that returns no error is called after its segment's Close: the memory is
// gone.
func (r *ring) mustBeOpen(op string) {
	if r.seg.Closed() {
		panic(errtext.Errorf("channel: %s of %q: %w", op, r.name, shm.ErrClosed))
	}
}

// waitFor spins on try, then sleeps on the futex word seq (counting itself
// in waiters) until try succeeds, fails, or the wait ends. While nothing
// moves for a whole slice, stuck reports whether to give up (a dead peer)
// and may repair the ring (a dead claimer).
//
// With heavy, the other side publishes without a full fence (package
// fence), so a waiter runs a heavy barrier after counting itself and before
// its last look.
func (r *ring) waitFor(ctx context.Context, deadline int64, seq, waiters *atomic.Uint32, spin *wait.Budget, heavy bool,
	try func() (bool, error), stuck func() error) (d *hold.Drain, ok bool, err error) {
	// Counted in from here until the caller is done with what it claimed
	// and calls d.Leave: Close wakes us and unmaps only after that.
	if d = objects.Core(r.seg).Drain(); !d.Enter() {
		return nil, false, shm.ErrClosed
	}
	// spinTries looks, then on for as long as spin has learnt: the clock
	// is read only from there on, so that a short wait never pays for it.
	var start int64
	done, cut := ctx.Done(), false
	for i := 0; ; i++ {
		if ok, err := try(); ok || err != nil {
			return d, ok, err
		}
		if cut = !wait.SpinSharedUntil(i, deadline, done); cut {
			break // the deadline, or ctx, came first: nothing to learn
		}
		if i < spinTries || i%spinClock != 0 {
			continue
		}
		now := wait.Now()
		if start == 0 {
			start = now
		}
		if now-start >= spin.Limit() {
			break
		}
	}
	defer func() {
		if !cut {
			spin.Slept(wait.Now() - start)
		}
	}()
	idle := false
	ok, err = wait.Block(ctx, deadline, d.Sleep(seq, shm.ErrClosed, func(until int64) (bool, error) {
		v := seq.Load() // before registering: see wake
		waiters.Add(layout.WaiterRegister)
		defer waiters.Add(^uint32(0))
		if heavy {
			if err := fence.Heavy(); err != nil {
				return false, err
			}
		}
		if ok, err := try(); ok || err != nil {
			return ok, err
		}
		if idle {
			if err := stuck(); err != nil {
				return false, err
			}
		}
		err := futex.Wait(seq, v, until)
		idle = err == futex.ErrTimeout
		if err != nil && err != futex.ErrTimeout {
			return false, err
		}
		return try()
	}))
	return d, ok, err
}
