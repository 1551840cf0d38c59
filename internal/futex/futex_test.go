package futex_test

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/internal/futex"
)

func now(t *testing.T) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano()
}

func TestWaitReturnsAtOnceIfTheWordChanged(t *testing.T) {
	var w atomic.Uint32
	w.Store(1)
	if err := futex.Wait(&w, 0, now(t)+int64(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func TestWaitTimesOutOnCLOCK_MONOTONIC(t *testing.T) {
	var w atomic.Uint32
	deadline := now(t) + int64(20*time.Millisecond)
	for {
		err := futex.Wait(&w, 0, deadline)
		if err == futex.ErrTimeout {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := now(t); n < deadline {
		t.Fatalf("timed out %v early", time.Duration(deadline-n))
	}
}

// A wake reaches a sleeper, and reports it; with nobody asleep it reports 0.
func TestWakeWakesASleeper(t *testing.T) {
	var w atomic.Uint32
	if n := futex.Wake(&w, 1); n != 0 {
		t.Fatalf("Wake with nobody asleep = %d", n)
	}
	done := make(chan error)
	go func() {
		for w.Load() == 0 {
			if err := futex.Wait(&w, 0, 0); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	woken := 0
	for woken == 0 { // until the sleeper is asleep: then exactly it is woken
		w.Store(0)
		woken = futex.Wake(&w, 1)
		if woken == 0 {
			time.Sleep(time.Millisecond) // observing state, not synchronising
		}
	}
	w.Store(1)
	futex.Wake(&w, 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if woken != 1 {
		t.Fatalf("Wake woke %d", woken)
	}
}
