package semaphore_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
)

// osThreads is this process's OS thread count.
func osThreads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no Threads line")
	return 0
}

func TestThousandGoroutinesContend(t *testing.T) {
	proctest.NeedCgo(t, "a mutex (pthread)")
	seg, _ := newSeg(t)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	sem, err := semaphore.New(seg, "sem", 1)
	require.NoError(t, err)
	before := osThreads(t)
	require.NoError(t, mu.Lock()) // everybody piles up behind this
	var started atomic.Int64
	var underMu, underSem int // each protected by its own lock
	var wg sync.WaitGroup
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			for range 10 {
				if err := mu.Lock(); err != nil {
					t.Error(err)
					return
				}
				underMu++
				if err := mu.Unlock(); err != nil {
					t.Error(err)
					return
				}
				if err := sem.Acquire(); err != nil {
					t.Error(err)
					return
				}
				underSem++
				if err := sem.Release(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for started.Load() < 1000 {
		time.Sleep(time.Millisecond) // observing, not synchronising
	}
	time.Sleep(100 * time.Millisecond) // let them reach the kernel, to measure
	blocked := osThreads(t)
	require.NoError(t, mu.Unlock())
	wg.Wait()
	assert.Equal(t, 1000*10, underMu)
	assert.Equal(t, 1000*10, underSem)
	t.Logf("OS threads: %d before, %d with 1000 goroutines blocked on one Mutex (limit %d)",
		before, blocked, semaphore.MaxBlockedThreads())
}

// 10,000 goroutines blocked at once stay within the thread limit instead
// of exhausting the runtime's 10,000 threads.
func TestTenThousandBlockedWaiters(t *testing.T) {
	const waiters, limit = 10000, 64
	old := semaphore.SetMaxBlockedThreads(limit)
	defer semaphore.SetMaxBlockedThreads(old)
	seg, _ := newSeg(t)
	sem, err := semaphore.New(seg, "sem", 0)
	require.NoError(t, err)
	ev, err := semaphore.NewEvent(seg, "ev")
	require.NoError(t, err)

	before := osThreads(t)
	var started, done atomic.Int64
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			var err error
			if i%2 == 0 {
				err = sem.AcquireContext(context.Background())
			} else {
				err = ev.Wait()
			}
			if err != nil {
				t.Error(err)
			}
			done.Add(1)
		}()
	}
	for started.Load() < waiters {
		time.Sleep(time.Millisecond) // observing, not synchronising
	}
	blocked := osThreads(t)
	ev.Set()
	for range waiters / 2 {
		require.NoError(t, sem.Release())
	}
	wg.Wait()
	assert.Equal(t, int64(waiters), done.Load())
	assert.Less(t, blocked, before+2*limit, "threads stay near the limit, not one per waiter")
	t.Logf("OS threads: %d before, %d with %d goroutines blocked (limit %d)", before, blocked, waiters, limit)
}

// 10,000 goroutines waiting for one Mutex used about 210-250 OS threads
// with a limit of 64: each spun with forty cgo calls, wired to its thread,
// and a wired goroutine in a C call holds its thread. Spinning now reads
// the lock word from Go, and the waiters stay near the limit.
func TestTenThousandMutexWaitersKeepTheThreadLimit(t *testing.T) {
	proctest.NeedCgo(t, "a mutex (pthread)")
	const waiters, limit = 10000, 64
	old := semaphore.SetMaxBlockedThreads(limit)
	defer semaphore.SetMaxBlockedThreads(old)
	seg, _ := newSeg(t)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	before := osThreads(t)
	require.NoError(t, mu.Lock()) // everybody piles up behind this
	var started atomic.Int64
	var wg sync.WaitGroup
	for range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			if err := mu.Lock(); err != nil {
				t.Error(err)
				return
			}
			if err := mu.Unlock(); err != nil {
				t.Error(err)
			}
		}()
	}
	peak := 0
	for end := time.Now().Add(500 * time.Millisecond); started.Load() < waiters || time.Now().Before(end); {
		peak = max(peak, osThreads(t)) // observing, not synchronising
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, mu.Unlock())
	wg.Wait()
	assert.Less(t, peak, before+2*limit, "threads stay near the limit, not one per spinning waiter")
	t.Logf("OS threads: %d before, at most %d with %d goroutines waiting for a Mutex (limit %d)", before, peak, waiters, limit)
}
