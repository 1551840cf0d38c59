// Package wait runs shmkit's blocking waits: in slices of bounded length, so
// that contexts are honoured and deadlines kept, and each slice holding one
// of a limited number of thread slots, so that goroutines blocked in the
// kernel never use more than MaxBlocked OS threads.
//
// A goroutine blocked in a system call or C call occupies its OS thread, and
// the Go runtime stops the process at 10,000 threads. Waits beyond the limit
// park in Go, where they cost a goroutine, not a thread. Slices rotate the
// slots: a waiter whose slice ends while others queue for a slot goes to the
// back of the queue, so a waiter that would unblock everybody (say, one that
// must lock a mutex before setting an event) always gets its turn.
package wait

import (
	"context"
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname

	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/internal/futex"
)

// DefaultMaxBlocked is the initial thread limit of a process.
const DefaultMaxBlocked = 1024

const (
	// sliceCancellable is the longest a wait with a cancellable context
	// stays in the kernel before looking at the context again.
	sliceCancellable = 10 * time.Millisecond
	// sliceIdle is the longest any other wait stays in the kernel before
	// letting a queued waiter have its thread slot.
	sliceIdle = 250 * time.Millisecond
)

var slots atomic.Pointer[chan struct{}]

func init() { SetMaxBlocked(DefaultMaxBlocked) }

// SetMaxBlocked sets how many OS threads this process's shmkit waits may
// hold blocked in the kernel at once (n >= 1) and returns the old limit.
// Waits in progress keep the slots they hold.
func SetMaxBlocked(n int) int {
	n = max(n, 1)
	c := make(chan struct{}, n)
	old := slots.Swap(&c)
	if old == nil {
		return 0
	}
	return cap(*old)
}

// MaxBlocked returns the current limit.
func MaxBlocked() int { return cap(*slots.Load()) }

// Now is the current CLOCK_MONOTONIC time in nanoseconds, the clock of every
// deadline in shmkit (and of pthread_mutex_clocklock and FUTEX_WAIT). It is
// the runtime's clock, read through the vDSO: unix.ClockGettime would be a
// system call on every blocking wait.
func Now() int64 { return nanotime() }

//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Deadline returns the monotonic deadline d from now, saturating.
func Deadline(d time.Duration) int64 {
	now := Now()
	if d <= 0 {
		return now
	}
	if int64(d) > (1<<63-1)-now {
		return 0 // too far to matter: no deadline
	}
	return now + int64(d)
}

// Attempt tries, once, to complete a wait, blocking in the kernel at most
// until the monotonic deadline until. It reports whether the wait is done.
type Attempt func(until int64) (done bool, err error)

// Block repeats attempt until it is done, fails, the monotonic deadline
// passes (deadline 0: none) or ctx ends. It returns (false, nil) when the
// deadline passed and ctx.Err() when ctx ended; a context's own deadline is
// kept to the clock, not to the slice.
func Block(ctx context.Context, deadline int64, attempt Attempt) (bool, error) {
	slice := sliceIdle
	if ctx.Done() != nil {
		slice = sliceCancellable
	}
	var ctxDeadline int64
	if d, ok := ctx.Deadline(); ok {
		ctxDeadline = Deadline(time.Until(d))
	}
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		now := Now()
		if deadline != 0 && now >= deadline {
			return false, nil
		}
		if ctxDeadline != 0 && now >= ctxDeadline {
			return false, context.DeadlineExceeded
		}
		until := now + int64(slice)
		for _, d := range [2]int64{deadline, ctxDeadline} {
			if d != 0 && d < until {
				until = d
			}
		}
		ch := *slots.Load()
		select {
		case ch <- struct{}{}:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		done, err := attempt(until)
		<-ch
		if done || err != nil {
			return done, err
		}
	}
}

// Changed is the Attempt of waiting until *word != from, sleeping on the
// word as a futex: what Cond, Event and Barrier wait for.
func Changed(word *atomic.Uint32, from uint32) Attempt {
	return func(until int64) (bool, error) {
		if word.Load() != from {
			return true, nil
		}
		if err := futex.Wait(word, from, until); err != nil && err != futex.ErrTimeout {
			return false, err
		}
		return word.Load() != from, nil
	}
}

// Yield gives the processor to another thread, of any process, that is
// ready to run. A spinning waiter calls it now and then, so that on a busy
// or single CPU the peer it waits for gets to run; runtime.Gosched would
// yield only to this process's goroutines.
func Yield() { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// Spin is what a waiter does between its looks at a shared word, look i of
// a spin: at first nothing, so that a peer running on the other core is
// seen within nanoseconds; then a pause instruction, which leaves the core
// to a sibling hardware thread; after spinPauses looks, a sched_yield every
// few looks, so that a peer waiting for this CPU (more processes than
// cores) gets it.
func Spin(i int) {
	switch {
	case i < spinHot:
	case i >= spinPauses && i%spinYieldEvery == spinYieldEvery-1:
		Yield()
	default:
		Pause()
	}
}

// SpinUntil is Spin for a wait that ends at deadline (monotonic
// nanoseconds, 0 for none) or when done is closed: where Spin would yield,
// it first looks at both, and once either has come it reports false
// without yielding. A yield can hand the CPU to another process for a
// whole time slice (about 1.5 ms), and a spin of 16 of them had outlasted a
// 1 ms timeout by 24 ms on a busy CPU.
func SpinUntil(i int, deadline int64, done <-chan struct{}) bool {
	if i >= spinPauses && i%spinYieldEvery == spinYieldEvery-1 && ended(deadline, done) {
		return false
	}
	Spin(i)
	return true
}

// SpinSharedUntil is SpinUntil without its hot looks, a pause after every
// look from the first, for a waiter whose looks read a cache line that its
// peer is writing, as a receiver that watches for the next record of a ring
// does. A look moves the line to the waiter's core, and the peer's next
// store must take it back; looks with no pause between them would hold up
// each of the peer's stores to that line, and the peer's several stores
// per message would each wait.
func SpinSharedUntil(i int, deadline int64, done <-chan struct{}) bool {
	return SpinUntil(max(i, spinHot), deadline, done)
}

func ended(deadline int64, done <-chan struct{}) bool {
	if deadline != 0 && Now() >= deadline {
		return true
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

const (
	spinHot        = 32
	spinPauses     = 64
	spinYieldEvery = 4
)

// A Budget is how much longer than its first few looks one side of a
// queue spins before it sleeps, learnt from how long its waits last.
// Sleeping costs both sides: the waiter's wake-up takes microseconds, and
// the peer pays a wake system call (and, on the single-producer ring, an
// interrupt from the sleeper's barrier) on the message it was busy with.
// So a side whose waits keep ending a little after its spin gave up spins
// long enough to cover them, up to MaxSpin; one whose waits run longer
// than that goes back to the short spin. The zero value spins no longer;
// a Budget may be shared by goroutines.
type Budget struct{ ns atomic.Int64 }

// MaxSpin bounds the spin: waits longer than this sleep, since their
// wake-up then costs a small share of the wait.
const MaxSpin = 100 * time.Microsecond

// Limit is how long to spin on, in nanoseconds.
func (b *Budget) Limit() int64 { return b.ns.Load() }

// Slept learns from a wait that went to sleep after spinning and had
// lasted waited nanoseconds from the start of the timed spin: the next
// spin covers such a wait with a quarter to spare, or, if the wait was
// longer than any spin, is halved.
func (b *Budget) Slept(waited int64) {
	if waited <= int64(MaxSpin) {
		b.ns.Store(min(waited+waited/4, int64(MaxSpin)))
		return
	}
	b.ns.Store(b.Limit() / 2)
}
