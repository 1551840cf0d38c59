package wait

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/internal/futex"
)

func monotonic(t *testing.T) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano()
}

// Now must be CLOCK_MONOTONIC, since C and the kernel compare deadlines
// made from it with that clock.
func TestNowIsClockMonotonic(t *testing.T) {
	for range 1000 {
		before := monotonic(t)
		now := Now()
		after := monotonic(t)
		if now < before || now > after {
			t.Fatalf("Now() = %d, not within CLOCK_MONOTONIC's %d..%d", now, before, after)
		}
	}
}

func TestDeadlineSaturates(t *testing.T) {
	if d := Deadline(1<<63 - 1); d != 0 {
		t.Errorf("Deadline(max) = %d, want 0 (none)", d)
	}
	if d, now := Deadline(-time.Second), Now(); d > now {
		t.Errorf("Deadline(-1s) = %d is after now %d", d, now)
	}
}

func TestBlockEndsAtTheDeadline(t *testing.T) {
	var word atomic.Uint32
	deadline := Deadline(20 * time.Millisecond)
	done, err := Block(context.Background(), deadline, Changed(&word, 0))
	if done || err != nil {
		t.Fatalf("Block = %v, %v; want false, nil at the deadline", done, err)
	}
	if now := Now(); now < deadline {
		t.Fatalf("Block returned %v before its deadline", time.Duration(deadline-now))
	}
}

func TestBlockEndsWithTheContext(t *testing.T) {
	var word atomic.Uint32
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	done, err := Block(ctx, 0, Changed(&word, 0))
	if done || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Block = %v, %v; want false, context.DeadlineExceeded", done, err)
	}
}

// A change made by another goroutine ends the wait; the waker bumps the word
// and wakes it, as Event and Cond do.
func TestBlockSeesAChange(t *testing.T) {
	var word atomic.Uint32
	started := make(chan struct{})
	go func() {
		<-started
		word.Store(1)
		futex.Wake(&word, 1)
	}()
	close(started)
	done, err := Block(context.Background(), Deadline(time.Minute), Changed(&word, 0))
	if !done || err != nil {
		t.Fatalf("Block = %v, %v; want true, nil", done, err)
	}
}

// The thread limit holds: with one slot, a second waiter parks in Go until
// the first gives its slot back at the end of its slice.
func TestMaxBlockedIsKept(t *testing.T) {
	old := SetMaxBlocked(1)
	defer SetMaxBlocked(old)
	if MaxBlocked() != 1 {
		t.Fatalf("MaxBlocked() = %d after SetMaxBlocked(1)", MaxBlocked())
	}
	var inKernel, most atomic.Int32
	attempt := func(until int64) (bool, error) {
		n := inKernel.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond)
		inKernel.Add(-1)
		return true, nil
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() { _, err := Block(context.Background(), 0, attempt); errs <- err }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if most.Load() != 1 {
		t.Fatalf("%d attempts ran at once with a limit of 1", most.Load())
	}
}

func TestBudgetLearnsWaitsItCanCover(t *testing.T) {
	var b Budget
	require.Zero(t, b.Limit(), "a fresh budget spins no longer than the first looks")

	b.Slept(int64(40 * time.Microsecond))
	require.Equal(t, int64(50*time.Microsecond), b.Limit(), "a short wait is covered with a quarter to spare")

	b.Slept(int64(MaxSpin) - 1)
	require.Equal(t, int64(MaxSpin), b.Limit(), "never beyond MaxSpin")

	b.Slept(int64(time.Millisecond))
	require.Equal(t, int64(MaxSpin)/2, b.Limit(), "a wait longer than any spin halves it")
	for range 40 {
		b.Slept(int64(time.Second))
	}
	require.Zero(t, b.Limit(), "idle waits bring it back to the first looks alone")
}
