package semaphore_test

import (
	"runtime"

	"bufio"
	"os"
	"sync"
	"testing"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/layout"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
)

func BenchmarkUncontended(b *testing.B) {
	seg, _ := newSeg(b)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(b, err)
	rmu, err := semaphore.NewRMutex(seg, "rmu")
	require.NoError(b, err)
	sem, err := semaphore.New(seg, "sem", 1)
	require.NoError(b, err)
	b.Run("impl=Mutex", func(b *testing.B) {
		for b.Loop() {
			mu.Lock()
			mu.Unlock()
		}
	})
	b.Run("impl=RMutex", func(b *testing.B) {
		for b.Loop() {
			rmu.Lock()
			rmu.Unlock()
		}
	})
	b.Run("impl=Semaphore", func(b *testing.B) {
		for b.Loop() {
			sem.Acquire()
			sem.Release()
		}
	})
	b.Run("impl=glibc-through-cgo", func(b *testing.B) { // baseline: the same mutex, one cgo call to lock and one to unlock
		m := new(layout.Mutex)
		require.NoError(b, cbind.MutexInit(m, false))
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for b.Loop() {
			cbind.MutexLock(m)
			cbind.MutexUnlock(m)
		}
	})
	b.Run("impl=sync.Mutex", func(b *testing.B) { // baseline: in-process only
		var m sync.Mutex
		for b.Loop() {
			m.Lock()
			//lint:ignore SA2001 the baseline is exactly an empty critical section
			m.Unlock()
		}
	})
}

// BenchmarkContendedTwoProcesses locks and unlocks a mutex that a second
// process locks and unlocks in a loop at the same time.
func BenchmarkContendedTwoProcesses(b *testing.B) {
	seg, name := newSeg(b)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(b, err)
	ev, err := semaphore.NewEvent(seg, "stop")
	require.NoError(b, err)
	cmd := proctest.Command(b, "contend", name)
	out, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(b, err)
	require.Equal(b, "running\n", line)
	b.ResetTimer()
	for b.Loop() {
		mu.Lock()
		mu.Unlock()
	}
	b.StopTimer()
	ev.Set()
	require.NoError(b, cmd.Wait())
}

// helperContend locks and unlocks "mu" until event "stop" is set.
func helperContend(args []string) int {
	seg := openSeg(args[0])
	mu, err := semaphore.OpenMutex(seg, "mu")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	stop, err := semaphore.OpenEvent(seg, "stop")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	os.Stdout.WriteString("running\n")
	for !stop.IsSet() {
		for range 100 {
			if err := mu.Lock(); err != nil {
				return proctest.Fail("lock: %v", err)
			}
			mu.Unlock()
		}
	}
	return 0
}
