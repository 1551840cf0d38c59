package semaphore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

func newSeg(t testing.TB) (*shm.Segment, string) {
	t.Helper()
	seg, name := proctest.Segment(t, 1<<20, shm.WithCapacity(256))
	_, err := seg.Alloc(shm.Request{Name: "counters", Kind: shm.KindBytes, Length: 64}, nil)
	require.NoError(t, err)
	return seg, name
}

// runAll starts n helpers and waits for every one to succeed.
func runAll(t testing.TB, n int, helper string, args ...string) []string {
	t.Helper()
	outs := make([]string, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := proctest.Command(t, helper, args...).Output()
			outs[i], errs[i] = strings.TrimSpace(string(out)), err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "helper %s #%d", helper, i)
	}
	return outs
}

// Go forms of CPython's _TestSemaphore.
func TestSemaphoreValues(t *testing.T) {
	seg, _ := newSeg(t)
	sem, err := semaphore.New(seg, "sem", 2)
	require.NoError(t, err)
	value := func() int { v, err := sem.Value(); require.NoError(t, err); return v }
	assert.Equal(t, 2, value())
	require.NoError(t, sem.Acquire())
	assert.Equal(t, 1, value())
	ok, err := sem.TryAcquire()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 0, value())
	ok, err = sem.TryAcquire()
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, sem.Release())
	require.NoError(t, sem.Release())
	require.NoError(t, sem.Release()) // an unbounded semaphore may go above its start
	assert.Equal(t, 3, value())
	assert.Equal(t, 0, sem.Bound())

	other, err := semaphore.Open(seg, "sem")
	require.NoError(t, err)
	ok, err = other.TryAcquire()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 2, value(), "two handles, one semaphore")

	_, err = semaphore.New(seg, "neg", -1)
	assert.ErrorIs(t, err, semaphore.ErrInvalidValue)
	_, err = semaphore.New(seg, "sem", 1)
	assert.ErrorIs(t, err, shm.ErrObjectExists)
	_, err = semaphore.Open(seg, "nope")
	assert.ErrorIs(t, err, shm.ErrObjectNotFound)
	_, err = semaphore.Open(seg, "counters")
	assert.ErrorIs(t, err, shm.ErrKindMismatch)
	_, err = semaphore.OpenMutex(seg, "sem")
	assert.ErrorIs(t, err, shm.ErrKindMismatch)
}

// CPython's test_timeout: a zero semaphore times out after about the timeout.
func TestSemaphoreTimeout(t *testing.T) {
	seg, _ := newSeg(t)
	sem, err := semaphore.New(seg, "sem", 0)
	require.NoError(t, err)
	ok, err := sem.AcquireTimeout(0)
	require.NoError(t, err)
	assert.False(t, ok)
	start := time.Now()
	ok, err = sem.AcquireTimeout(150 * time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	require.NoError(t, sem.Release())
	ok, err = sem.AcquireTimeout(time.Hour)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestBoundedSemaphore(t *testing.T) {
	seg, name := newSeg(t)
	sem, err := semaphore.NewBounded(seg, "sem", 2)
	require.NoError(t, err)
	assert.Equal(t, 2, sem.Bound())
	assert.ErrorIs(t, sem.Release(), semaphore.ErrTooManyReleases)
	require.NoError(t, sem.Acquire())
	require.NoError(t, sem.Release())
	assert.ErrorIs(t, sem.Release(), semaphore.ErrTooManyReleases)

	// Several processes release at once: exactly as many succeed as were
	// acquired, and the value ends at the bound.
	big, err := semaphore.NewBounded(seg, "big", 40)
	require.NoError(t, err)
	for range 40 {
		require.NoError(t, big.Acquire())
	}
	outs := runAll(t, 4, "release", name, "big", "25")
	total := 0
	for _, o := range outs {
		n, err := strconv.Atoi(o)
		require.NoError(t, err)
		total += n
	}
	assert.Equal(t, 40, total, "successful releases")
	v, err := big.Value()
	require.NoError(t, err)
	assert.Equal(t, 40, v)
}

// Go forms of CPython's _TestLock.
func TestMutexOwnership(t *testing.T) {
	proctest.NeedCgo(t, "a mutex (pthread)")
	seg, _ := newSeg(t)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	require.NoError(t, mu.Lock())
	assert.ErrorIs(t, mu.Lock(), semaphore.ErrDeadlock, "relock by the owner is an error, not a hang")

	other := make(chan error, 2)
	go func() {
		ok, err := mu.TryLock()
		if ok {
			err = fmt.Errorf("TryLock succeeded on a held mutex")
		}
		other <- err
		other <- mu.Unlock() // not the owner
	}()
	assert.NoError(t, <-other)
	assert.ErrorIs(t, <-other, semaphore.ErrNotOwner)

	require.NoError(t, mu.Unlock())
	assert.ErrorIs(t, mu.Unlock(), semaphore.ErrNotOwner, "double unlock")
	ok, err := mu.TryLock()
	require.NoError(t, err)
	assert.True(t, ok)
	require.NoError(t, mu.Unlock())
	assert.ErrorIs(t, mu.Consistent(), semaphore.ErrNotOwner)
}

func TestRMutexRecursion(t *testing.T) {
	proctest.NeedCgo(t, "a recursive mutex (pthread)")
	seg, _ := newSeg(t)
	mu, err := semaphore.NewRMutex(seg, "rmu")
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, mu.Lock())
	}
	done := make(chan bool)
	go func() { ok, _ := mu.TryLock(); done <- ok }()
	assert.False(t, <-done, "held by another goroutine")
	for range 3 {
		require.NoError(t, mu.Unlock())
	}
	assert.ErrorIs(t, mu.Unlock(), semaphore.ErrNotOwner)
	go func() { ok, _ := mu.TryLock(); mu.Unlock(); done <- ok }()
	assert.True(t, <-done, "free once every level is released")
}

// startHolder starts a helper that locks mutex name and waits to be killed.
func startHolder(t *testing.T, seg string, name, kind string) *exec.Cmd {
	cmd := proctest.Command(t, "hold", seg, name, kind)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	t.Cleanup(func() { stdin.Close() })
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)
	return cmd
}

func killHolder(t *testing.T, cmd *exec.Cmd) {
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err := cmd.Wait()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "killed")
}

func TestOwnerDeadRecovery(t *testing.T) {
	proctest.NeedCgo(t, "a robust mutex (pthread)")
	for _, kind := range []string{"mutex", "rmutex"} {
		t.Run(kind, func(t *testing.T) {
			seg, name := newSeg(t)
			var mu interface {
				semaphore.Locker
				LockTimeout(time.Duration) (bool, error)
				TryLock() (bool, error)
				Consistent() error
			}
			var err error
			if kind == "rmutex" {
				mu, err = semaphore.NewRMutex(seg, "mu")
			} else {
				mu, err = semaphore.NewMutex(seg, "mu")
			}
			require.NoError(t, err)

			// Repaired: Consistent, and the mutex keeps working.
			killHolder(t, startHolder(t, name, "mu", kind))
			ok, err := mu.LockTimeout(30 * time.Second)
			assert.True(t, ok, "held despite the error")
			require.ErrorIs(t, err, semaphore.ErrOwnerDead)
			require.NoError(t, mu.Consistent())
			require.NoError(t, mu.Unlock())
			require.NoError(t, mu.Lock())
			require.NoError(t, mu.Unlock())

			// The same for a plain Lock, this time not repaired.
			killHolder(t, startHolder(t, name, "mu", kind))
			require.ErrorIs(t, mu.Lock(), semaphore.ErrOwnerDead)
			require.NoError(t, mu.Unlock())
			assert.ErrorIs(t, mu.Lock(), semaphore.ErrNotRecoverable)
			ok, err = mu.TryLock()
			assert.False(t, ok)
			assert.ErrorIs(t, err, semaphore.ErrNotRecoverable)
		})
	}
}

// The seeds' Semaphore(2) program: 5 workers, never more than 2 inside.
func TestSeedSemaphoreTwo(t *testing.T) {
	seg, name := newSeg(t)
	_, err := semaphore.New(seg, "sem", 2)
	require.NoError(t, err)
	runAll(t, 5, "sem2", name)
	c := counters(seg)
	assert.Equal(t, int32(0), c[0].Load(), "nobody inside at the end")
	assert.LessOrEqual(t, c[1].Load(), int32(2), "most inside at once")
	assert.Equal(t, int32(5*20), c[2].Load(), "every pass counted")
}

func TestSignalStorm(t *testing.T) {
	proctest.NeedCgo(t, "a Cond's mutex (pthread)")
	const rounds = 200
	seg, name := newSeg(t)
	sem, err := semaphore.New(seg, "sem", 0)
	require.NoError(t, err)
	_, err = semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	cmd := proctest.Command(t, "eintr", name, strconv.Itoa(rounds))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	sent := 0
	for range rounds {
		// The child is asleep in Acquire (or about to be) while signals land.
		for range 20 {
			require.NoError(t, cmd.Process.Signal(syscall.SIGUSR1))
			sent++
		}
		require.NoError(t, sem.Release())
	}
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, cmd.Wait(), "no spurious errors under %d signals", sent)
	got, err := strconv.Atoi(strings.TrimSpace(string(rest)))
	require.NoError(t, err)
	assert.Positive(t, got)
	t.Logf("%d signals sent, %d delivered to the waiting process", sent, got)
}

func TestContextCancellation(t *testing.T) {
	proctest.NeedCgo(t, "a mutex (pthread)")
	seg, _ := newSeg(t)
	sem, err := semaphore.New(seg, "sem", 0)
	require.NoError(t, err)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	ev, err := semaphore.NewEvent(seg, "ev")
	require.NoError(t, err)
	b, err := semaphore.NewBarrier(seg, "b", 2)
	require.NoError(t, err)

	held, release, unlocked := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() { mu.Lock(); close(held); <-release; unlocked <- mu.Unlock() }()
	<-held
	defer func() { close(release); assert.NoError(t, <-unlocked) }() // before the segment closes

	waits := map[string]func(context.Context) error{
		"semaphore": sem.AcquireContext,
		"mutex":     mu.LockContext,
		"event":     ev.WaitContext,
		"barrier":   func(ctx context.Context) error { _, err := b.WaitContext(ctx); return err },
	}
	for what, waitFor := range waits {
		require.NoError(t, b.Reset()) // the previous case broke it
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() { errc <- waitFor(ctx) }()
		cancel()
		select {
		case err := <-errc:
			assert.ErrorIs(t, err, context.Canceled, what)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: cancellation did not unblock the waiter", what)
		}
		require.NoError(t, b.Reset())
		ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
		assert.ErrorIs(t, waitFor(ctx), context.DeadlineExceeded, what)
		cancel()
		if what == "barrier" {
			assert.True(t, b.Broken(), "a party that gives up breaks the barrier")
			_, err = b.WaitTimeout(time.Second)
			assert.ErrorIs(t, err, semaphore.ErrBrokenBarrier)
		}
	}
}

func TestBarrierTenProcesses(t *testing.T) {
	proctest.NeedCgo(t, "a barrier")
	const parties, rounds = 10, 5
	seg, name := newSeg(t)
	b, err := semaphore.NewBarrier(seg, "b", parties)
	require.NoError(t, err)
	assert.Equal(t, parties, b.Parties())
	outs := runAll(t, parties, "barrier", name, strconv.Itoa(rounds))
	for r := range rounds {
		seen := map[string]bool{}
		for _, o := range outs {
			seen[strings.Split(o, "\n")[r]] = true
		}
		assert.Len(t, seen, parties, "round %d: every arrival index once", r)
	}
	assert.False(t, b.Broken())
}

// Go forms of CPython's _TestBarrier cases.
func TestBarrierBreakAndReset(t *testing.T) {
	proctest.NeedCgo(t, "a barrier")
	seg, _ := newSeg(t)
	b, err := semaphore.NewBarrier(seg, "b", 3)
	require.NoError(t, err)
	_, err = semaphore.NewBarrier(seg, "zero", 0)
	assert.ErrorIs(t, err, semaphore.ErrInvalidValue)

	// A timeout breaks it for everyone waiting.
	errc := make(chan error)
	go func() { _, err := b.Wait(); errc <- err }()
	_, err = b.WaitTimeout(50 * time.Millisecond)
	assert.ErrorIs(t, err, semaphore.ErrBrokenBarrier)
	assert.ErrorIs(t, <-errc, semaphore.ErrBrokenBarrier)
	assert.True(t, b.Broken())
	_, err = b.Wait()
	assert.ErrorIs(t, err, semaphore.ErrBrokenBarrier, "stays broken until reset")

	require.NoError(t, b.Reset())
	assert.False(t, b.Broken())
	var wg sync.WaitGroup
	idx := make(chan int, 3)
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); i, err := b.Wait(); assert.NoError(t, err); idx <- i }()
	}
	wg.Wait()
	close(idx)
	got := map[int]bool{}
	for i := range idx {
		got[i] = true
	}
	assert.Equal(t, map[int]bool{0: true, 1: true, 2: true}, got)

	// Abort wakes waiters with the error; Reset while waiting breaks them too.
	go func() { _, err := b.Wait(); errc <- err }()
	for b.Waiting() == 0 {
		time.Sleep(time.Millisecond) // observing state, not synchronising
	}
	require.NoError(t, b.Abort())
	assert.ErrorIs(t, <-errc, semaphore.ErrBrokenBarrier)
	require.NoError(t, b.Reset())
	go func() { _, err := b.Wait(); errc <- err }()
	for b.Waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, b.Reset())
	assert.ErrorIs(t, <-errc, semaphore.ErrBrokenBarrier)
	assert.False(t, b.Broken(), "reset leaves it usable")
}

func TestBarrierThousandWaits(t *testing.T) {
	proctest.NeedCgo(t, "a barrier")
	seg, _ := newSeg(t)
	b, err := semaphore.NewBarrier(seg, "b", 2)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if _, err := b.Wait(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestEventAcrossProcesses(t *testing.T) {
	seg, name := newSeg(t)
	ev, err := semaphore.NewEvent(seg, "ev")
	require.NoError(t, err)
	assert.False(t, ev.IsSet())
	ok, err := ev.WaitTimeout(20 * time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok)

	done := make(chan []string)
	go func() { done <- runAll(t, 3, "event", name) }()
	c := counters(seg)
	for c[0].Load() < 3 {
		time.Sleep(time.Millisecond) // observing state, not synchronising
	}
	ev.Set()
	<-done
	assert.Equal(t, int32(3), c[1].Load(), "all three woken")
	assert.True(t, ev.IsSet())
	ok, err = ev.WaitTimeout(0)
	require.NoError(t, err)
	assert.True(t, ok)
	ev.Clear()
	assert.False(t, ev.IsSet())
}

func TestCondAcrossProcesses(t *testing.T) {
	proctest.NeedCgo(t, "a Cond's mutex (pthread)")
	seg, name := newSeg(t)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	cv, err := semaphore.NewCond(seg, "cv", mu)
	require.NoError(t, err)

	done := make(chan []string)
	go func() { done <- runAll(t, 3, "cond", name, "2") }()
	c := counters(seg)
	for c[2].Load() < 3 {
		time.Sleep(time.Millisecond) // observing state, not synchronising
	}
	for range 2 {
		require.NoError(t, mu.Lock())
		c[0].Add(1)
		cv.Broadcast()
		require.NoError(t, mu.Unlock())
	}
	<-done
	assert.Equal(t, int32(3), c[1].Load())

	// Signal, and a timed wait, in one process; with an RMutex held twice.
	rmu, err := semaphore.NewRMutex(seg, "rmu")
	require.NoError(t, err)
	rcv, err := semaphore.NewCond(seg, "rcv", rmu)
	require.NoError(t, err)
	require.NoError(t, rmu.Lock())
	require.NoError(t, rmu.Lock())
	ok, err := rcv.WaitTimeout(20 * time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok)
	woken := make(chan bool)
	go func() {
		require.NoError(t, rmu.Lock()) // possible only because Wait released both levels
		rcv.Signal()
		require.NoError(t, rmu.Unlock())
		woken <- true
	}()
	ok, err = rcv.WaitTimeout(time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)
	<-woken
	require.NoError(t, rmu.Unlock())
	require.NoError(t, rmu.Unlock())
}

func TestLockedCounterAcrossProcesses(t *testing.T) {
	proctest.NeedCgo(t, "a mutex (pthread)")
	seg, name := newSeg(t)
	_, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	runAll(t, 5, "countlock", name, "1000")
	assert.Equal(t, int32(5000), counters(seg)[0].Load())
}

func TestClosedSegment(t *testing.T) {
	seg, _ := newSeg(t)
	sem, err := semaphore.New(seg, "sem", 1)
	require.NoError(t, err)
	var mu *semaphore.Mutex
	if cbind.Available { // a Mutex is a pthread mutex
		mu, err = semaphore.NewMutex(seg, "mu")
		require.NoError(t, err)
	}
	require.NoError(t, seg.Close())
	assert.ErrorIs(t, sem.Acquire(), shm.ErrClosed)
	assert.ErrorIs(t, sem.Release(), shm.ErrClosed)
	if mu != nil {
		assert.ErrorIs(t, mu.Lock(), shm.ErrClosed)
	}
}

// A holder killed at random points of its critical section: each time, the
// next Lock either finds the data consistent, or gets ErrOwnerDead, repairs
// it, and calls Consistent. The mutex never hangs or fails otherwise.
func TestMutexHolderKilledAtRandomPoints(t *testing.T) {
	proctest.NeedCgo(t, "a robust mutex (pthread)")
	seg, name := newSeg(t)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	c := counters(seg)
	rng := rand.New(rand.NewPCG(1, 2))
	dead := 0
	const rounds = 20
	for range rounds {
		cmd, out := startHelper(t, name)
		line, err := out.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "running\n", line)
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond) // a random point, not a synchronisation
		killHolder(t, cmd)
		ok, err := mu.LockTimeout(30 * time.Second)
		require.True(t, ok, "never a hang")
		if errors.Is(err, semaphore.ErrOwnerDead) {
			dead++
			c[4].Store(c[3].Load()) // repair: finish the dead holder's step
			require.NoError(t, mu.Consistent())
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, c[3].Load(), c[4].Load(), "consistent once locked (and repaired)")
		require.NoError(t, mu.Unlock())
	}
	t.Logf("%d kills, %d of them inside the critical section", rounds, dead)
}

func startHelper(t *testing.T, seg string) (*exec.Cmd, *bufio.Reader) {
	cmd := proctest.Command(t, "pairs", seg)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	return cmd, bufio.NewReader(out)
}

// A semaphore has no owner (as in POSIX and Python): a unit taken by a
// process that dies is not given back. Survivors are not stuck for good:
// their timed and cancellable waits end.
func TestSemaphoreHolderKilled(t *testing.T) {
	seg, name := newSeg(t)
	sem, err := semaphore.New(seg, "sem", 1)
	require.NoError(t, err)
	cmd := proctest.Command(t, "semhold", name)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "acquired\n", line)
	killHolder(t, cmd)
	ok, err := sem.AcquireTimeout(100 * time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok, "the dead holder's unit is gone, as documented")
	require.NoError(t, sem.Release()) // whoever knows it died gives it back
	ok, err = sem.AcquireTimeout(time.Second)
	require.NoError(t, err)
	assert.True(t, ok)
}

// A party killed while waiting at a barrier still counts as arrived; the
// survivors' timeouts break the barrier instead of hanging.
func TestBarrierWaiterKilled(t *testing.T) {
	proctest.NeedCgo(t, "a barrier")
	seg, name := newSeg(t)
	b, err := semaphore.NewBarrier(seg, "b3", 3)
	require.NoError(t, err)
	cmd := proctest.Command(t, "barrier3", name)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "waiting\n", line)
	killHolder(t, cmd)
	_, err = b.WaitTimeout(200 * time.Millisecond)
	assert.ErrorIs(t, err, semaphore.ErrBrokenBarrier)
	require.NoError(t, b.Reset())
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := b.WaitTimeout(time.Minute); assert.NoError(t, err) }()
	}
	wg.Wait()
}

// A process scribbles over a semaphore's words. Every later call in this
// process answers shm.ErrCorrupt, never a crash or a hang (a sem_t in the
// same state made glibc abort the process).
func TestScribbledSemaphore(t *testing.T) {
	for _, bounded := range []bool{false, true} {
		t.Run(fmt.Sprintf("bounded=%v", bounded), func(t *testing.T) {
			seg, name := newSeg(t)
			create := semaphore.New
			if bounded {
				create = semaphore.NewBounded
			}
			sem, err := create(seg, "sem", 1)
			require.NoError(t, err)
			proctest.Output(t, "scribble", name, "sem")

			_, err = sem.TryAcquire()
			assert.ErrorIs(t, err, shm.ErrCorrupt)
			assert.ErrorIs(t, sem.Acquire(), shm.ErrCorrupt)
			_, err = sem.AcquireTimeout(time.Millisecond)
			assert.ErrorIs(t, err, shm.ErrCorrupt)
			assert.ErrorIs(t, sem.Release(), shm.ErrCorrupt)
			_, err = sem.Value()
			assert.ErrorIs(t, err, shm.ErrCorrupt)
			_, err = semaphore.Open(seg, "sem")
			assert.ErrorIs(t, err, shm.ErrCorrupt, "the bound was scribbled too")
		})
	}
}

// NewCond took a nil mutex, and the Cond's Wait panicked on it. A Cond
// without a mutex is now refused when it is made or opened, and nothing is
// published in the segment.
func TestCondNeedsAMutex(t *testing.T) {
	seg, _ := newSeg(t)
	before, err := seg.Objects()
	require.NoError(t, err)
	for what, l := range map[string]semaphore.CondLocker{"nil": nil, "nil *Mutex": (*semaphore.Mutex)(nil), "nil *RMutex": (*semaphore.RMutex)(nil)} {
		c, err := semaphore.NewCond(seg, "c", l)
		assert.ErrorIs(t, err, semaphore.ErrNoMutex, what)
		assert.Nil(t, c, what)
	}
	after, err := seg.Objects()
	require.NoError(t, err)
	assert.Len(t, after, len(before), "a refused Cond takes no place in the segment")

	if cbind.Available { // a Cond made with its mutex, opened without one
		mu, err := semaphore.NewMutex(seg, "mu")
		require.NoError(t, err)
		_, err = semaphore.NewCond(seg, "c", mu)
		require.NoError(t, err)
		_, err = semaphore.OpenCond(seg, "c", nil)
		assert.ErrorIs(t, err, semaphore.ErrNoMutex)
	}
}
