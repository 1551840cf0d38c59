package pool_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/shm"
)

func contextBackground() context.Context { return context.Background() }

// newPool makes a pool named for t, joined (or terminated) when t ends.
func newPool(t *testing.T, opts ...pool.Option) *pool.Pool {
	t.Helper()
	p, err := pool.New(append([]pool.Option{pool.WithName(proctest.Name(t))}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		p.Terminate()
		left, _ := filepath.Glob("/dev/shm/" + p.Name() + "*")
		assert.Empty(t, left, "segments left behind")
	})
	return p
}

func inputs(n int) []int64 {
	in := make([]int64, n)
	for i := range in {
		in[i] = int64(i)
	}
	return in
}

func TestMapInOrder(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2))
	for _, n := range []int{0, 1, 7, 1000} {
		out, err := pool.Map(t.Context(), p, double, inputs(n))
		require.NoError(t, err)
		require.Len(t, out, n)
		for i, v := range out {
			require.Equal(t, int64(2*i), v)
		}
	}
	p.Close()
	require.NoError(t, p.Join())
	_, err := pool.Map(t.Context(), p, double, inputs(3))
	require.ErrorIs(t, err, pool.ErrClosed)
}

func TestJoinBeforeClose(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1))
	require.ErrorIs(t, p.Join(), pool.ErrRunning)
}

func TestTypesCross(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1), pool.WithInitializer(setGreeting, "!"))
	s, err := pool.Apply(t.Context(), p, greet, "world")
	require.NoError(t, err)
	assert.Equal(t, "hello, world!", s)
	f, err := pool.Apply(t.Context(), p, sum, []float64{1, 2, 3.5})
	require.NoError(t, err)
	assert.Equal(t, 6.5, f)
	b, err := pool.Apply(t.Context(), p, echoBytes, []byte("raw"))
	require.NoError(t, err)
	assert.Equal(t, []byte("raw"), b)
	name, err := pool.Apply(t.Context(), p, named, 0)
	require.NoError(t, err)
	assert.Regexp(t, `^PoolWorker-\d+$`, name)
}

// A task's error is that task's only; the worker goes on.
func TestTaskErrorIsPerTask(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(5))
	out, err := pool.Map(t.Context(), p, sevens, inputs(100))
	var errs pool.Errors
	require.ErrorAs(t, err, &errs)
	require.ErrorIs(t, err, pool.ErrTaskFailed)
	var failed []int
	for _, e := range errs {
		failed = append(failed, e.Index)
		assert.Contains(t, e.Error(), "is a multiple of 7")
	}
	assert.Equal(t, []int{0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91, 98}, failed)
	for i, v := range out {
		if i%7 != 0 {
			require.Equal(t, int64(2*i), v)
		}
	}
	for _, w := range p.Workers() {
		assert.Equal(t, uint64(1), w.Generation-uint64(w.Slot), "a worker was replaced after a task's error: %+v", w)
	}
}

// A panic whose text and stack do not fit a message (here 512 bytes) is
// still a panic: its task fails with ErrPanic, cut short, and no other
// task is blamed for the worker's exit.
func TestPanicTooLongIsPerTask(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1), pool.WithChunkSize(1), pool.WithMaxMessage(512), pool.WithRetries(0))
	_, err := pool.Map(t.Context(), p, panics, inputs(40))
	var errs pool.Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 1, "%v", err)
	assert.Equal(t, 13, errs[0].Index)
	assert.ErrorIs(t, err, pool.ErrPanic)
	assert.Contains(t, err.Error(), "unlucky 13")
}

// A panic fails its task; the worker is replaced and the pool goes on.
func TestPanicIsPerTask(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	out, err := pool.Map(t.Context(), p, panics, inputs(40))
	var errs pool.Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 1)
	assert.Equal(t, 13, errs[0].Index)
	assert.ErrorIs(t, err, pool.ErrPanic)
	assert.Contains(t, err.Error(), "unlucky 13")
	for i, v := range out {
		if i != 13 {
			require.Equal(t, int64(2*i), v)
		}
	}
	assert.Eventually(t, func() bool { // it exits after it sent its results
		for _, w := range p.Workers() {
			if w.Generation > 2 {
				return true
			}
		}
		return false
	}, time.Minute, time.Millisecond, "the worker that panicked was not replaced")
	out, err = pool.Map(t.Context(), p, double, inputs(10))
	require.NoError(t, err)
	assert.Equal(t, int64(18), out[9])
}

func TestMaxTasksPerChild(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithMaxTasksPerChild(3), pool.WithChunkSize(1))
	pids, err := pool.Map(t.Context(), p, whoAmI, inputs(30))
	require.NoError(t, err)
	count := map[int64]int{}
	for _, pid := range pids {
		count[pid]++
	}
	for pid, n := range count {
		assert.LessOrEqual(t, n, 3, "worker %d ran %d tasks", pid, n)
	}
	assert.GreaterOrEqual(t, len(count), 10)
}

func crashFlag(t *testing.T) (string, *ctypes.RawValue[int32]) {
	seg, name := proctest.Segment(t, 1<<16)
	flag, err := ctypes.NewRawValue[int32](seg, "crashed", 0)
	require.NoError(t, err)
	return name, flag
}

// A worker that dies running a task: the task is run again by another
// (the retry budget, 1 by default), and every result is right.
func TestDeadWorkersTaskIsRetried(t *testing.T) {
	name, flag := crashFlag(t)
	p := newPool(t, pool.WithWorkers(2), pool.WithInitializer(openFlag, name), pool.WithChunkSize(10))
	out, err := pool.Map(t.Context(), p, dieOnce, inputs(2000))
	require.NoError(t, err)
	for i, v := range out {
		require.Equal(t, int64(2*i), v)
	}
	assert.Equal(t, int32(1), flag.Load(), "the worker never crashed")
}

// With no retries, the task fails with an error naming the dead worker;
// every other task has its result.
func TestDeadWorkersTaskFailsWithoutRetries(t *testing.T) {
	name, _ := crashFlag(t)
	p := newPool(t, pool.WithWorkers(2), pool.WithInitializer(openFlag, name), pool.WithChunkSize(1), pool.WithRetries(0))
	out, err := pool.Map(t.Context(), p, dieOnce, inputs(2000))
	var errs pool.Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 1)
	assert.Equal(t, crashAt, errs[0].Index)
	var werr *pool.WorkerError
	require.ErrorAs(t, err, &werr)
	assert.ErrorIs(t, err, pool.ErrWorkerDied)
	assert.Equal(t, syscall.SIGKILL, werr.Signal)
	assert.Equal(t, -9, werr.ExitCode)
	assert.NotZero(t, werr.Pid)
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(werr.Pid))
	for i, v := range out {
		if i != crashAt {
			require.Equal(t, int64(2*i), v)
		}
	}
}

// A task that kills every worker that runs it exhausts its retries and
// fails; it does not take the pool down.
func TestTaskThatAlwaysKillsItsWorker(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1), pool.WithRetries(2))
	out, err := pool.Map(t.Context(), p, dieAlways, inputs(1000))
	var werr *pool.WorkerError
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 3, werr.Attempts)
	for i, v := range out {
		if i != crashAt {
			require.Equal(t, int64(2*i), v)
		}
	}
}

// W7c: a worker killed from outside in the middle of a map. The map
// returns promptly; every task has its result, or (retries 0) an error
// naming the killed worker.
func TestWorkerKilledMidMap(t *testing.T) {
	for _, retries := range []int{0, 1} {
		t.Run("retries="+strconv.Itoa(retries), func(t *testing.T) {
			p := newPool(t, pool.WithWorkers(2), pool.WithRetries(retries), pool.WithChunkSize(1))
			r := pool.MapAsync(t.Context(), p, spin, inputs(4000), nil)
			victim := busyWorker(t, p)
			killed := time.Now()
			require.NoError(t, syscall.Kill(victim, syscall.SIGKILL))
			out, err := r.Get(t.Context())
			t.Logf("map returned %v after the kill", time.Since(killed))
			if err != nil {
				var errs pool.Errors
				require.ErrorAs(t, err, &errs)
				require.Equal(t, 0, retries, "with a retry the killed task should have its result: %v", err)
				require.LessOrEqual(t, len(errs), 1)
				var werr *pool.WorkerError
				require.ErrorAs(t, errs[0], &werr)
				assert.Equal(t, victim, werr.Pid)
				assert.Equal(t, syscall.SIGKILL, werr.Signal)
			}
			for i, v := range out {
				if err == nil || i != err.(pool.Errors)[0].Index {
					require.Equal(t, int64(2*i), v, "task %d", i)
				}
			}
			out, err = pool.Map(t.Context(), p, double, inputs(100))
			require.NoError(t, err, "the pool after the kill")
			assert.Equal(t, int64(198), out[99])
		})
	}
}

// busyWorker waits until some worker is running a task, and returns its pid.
func busyWorker(t *testing.T, p *pool.Pool) int {
	t.Helper()
	pid := busyPid(p)
	if pid == 0 {
		t.Fatal("no worker got busy")
	}
	return pid
}

// workerGotBusy is busyWorker for a goroutine other than the test's.
func workerGotBusy(p *pool.Pool) bool { return busyPid(p) != 0 }

// busyPid waits up to a minute for a worker that is busy and has done a
// task, and returns its pid, or 0.
func busyPid(p *pool.Pool) int {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		for _, w := range p.Workers() {
			if w.State == "busy" && w.Done > 0 {
				return w.Pid
			}
		}
	}
	return 0
}

// The kill soak: workers killed at random while maps run. Each task has
// its right result or an error naming a worker that was killed; nothing
// is lost, duplicated or hung.
func TestKillSoak(t *testing.T) {
	rounds, tasks := 4, 3000
	if testing.Short() {
		rounds = 1
	}
	for _, retries := range []int{0, 1} {
		t.Run("retries="+strconv.Itoa(retries), func(t *testing.T) {
			p := newPool(t, pool.WithWorkers(3), pool.WithRetries(retries))
			var mu sync.Mutex
			killedPids := map[int]bool{}
			var kills, failed int
			for round := range rounds {
				ctx, stop := context.WithCancel(t.Context())
				var killer sync.WaitGroup
				killer.Add(1)
				go func() { // kill a busy worker every few milliseconds
					defer killer.Done()
					rng := rand.New(rand.NewPCG(uint64(round), 1))
					for ctx.Err() == nil {
						time.Sleep(time.Duration(2+rng.IntN(8)) * time.Millisecond)
						ws := p.Workers()
						w := ws[rng.IntN(len(ws))]
						if w.State != "busy" {
							continue
						}
						mu.Lock()
						killedPids[w.Pid] = true
						kills++
						mu.Unlock()
						syscall.Kill(w.Pid, syscall.SIGKILL)
					}
				}()
				in := inputs(tasks)
				for i := range in {
					in[i] += int64(round * tasks)
				}
				out, err := pool.Map(ctx, p, spin, in)
				stop()
				killer.Wait()
				var errs pool.Errors
				if err != nil {
					require.ErrorAs(t, err, &errs)
				}
				bad := map[int]bool{}
				for _, e := range errs {
					require.False(t, bad[e.Index], "task %d failed twice", e.Index)
					bad[e.Index] = true
					var werr *pool.WorkerError
					require.ErrorAs(t, e, &werr, "task %d", e.Index)
					mu.Lock()
					require.True(t, killedPids[werr.Pid], "task %d names pid %d, which was not killed", e.Index, werr.Pid)
					mu.Unlock()
					require.Equal(t, syscall.SIGKILL, werr.Signal)
					require.Equal(t, retries+1, werr.Attempts, "task %d", e.Index)
					failed++
				}
				require.Len(t, out, tasks)
				for i, v := range out {
					if !bad[i] {
						require.Equal(t, 2*in[i], v, "task %d", i)
					}
				}
			}
			t.Logf("%d rounds of %d tasks, %d workers killed, %d tasks failed (each killed its worker %d times)",
				rounds, tasks, kills, failed, retries+1)
		})
	}
}

func TestMoreWorkersThanCores(t *testing.T) {
	p := newPool(t, pool.WithWorkers(8))
	out, err := pool.Map(t.Context(), p, spin, inputs(3000))
	require.NoError(t, err)
	for i, v := range out {
		require.Equal(t, int64(2*i), v)
	}
	pids, err := pool.Map(t.Context(), p, whoAmI, inputs(200))
	require.NoError(t, err)
	assert.Len(t, p.Workers(), 8)
	_ = pids
}

func TestApplyAsyncCallbacks(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2))
	var mu sync.Mutex
	var got []int64
	var errs []error
	var rs []*pool.AsyncResult[int64]
	for i := range int64(10) {
		rs = append(rs, pool.ApplyAsync(t.Context(), p, sevens, i, func(v int64, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			got = append(got, v)
		}))
	}
	for i, r := range rs {
		v, err := r.Get(t.Context())
		if i%7 == 0 {
			assert.ErrorIs(t, err, pool.ErrTaskFailed)
			assert.False(t, r.Successful())
		} else {
			assert.NoError(t, err)
			assert.Equal(t, int64(2*i), v)
			assert.True(t, r.Successful())
		}
	}
	mu.Lock()
	slices.Sort(got)
	assert.Equal(t, []int64{2, 4, 6, 8, 10, 12, 16, 18}, got)
	assert.Len(t, errs, 2)
	mu.Unlock()
}

// Get with a deadline gives up waiting, not the task (AsyncResult.get(timeout)).
func TestGetTimeout(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1))
	r := pool.ApplyAsync(t.Context(), p, sleepy, 300, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err := r.Get(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, r.Ready())
	v, err := r.Get(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(300), v)
}

// Cancelling a map's context returns it at once and drops its queued
// tasks; the pool goes on.
func TestMapContextCancelled(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	ctx, cancel := context.WithCancel(t.Context())
	r := pool.MapAsync(ctx, p, sleepy, slices.Repeat([]int64{20}, 1000), nil)
	busyWorker(t, p)
	cancel()
	_, err := r.Get(t.Context())
	require.ErrorIs(t, err, context.Canceled)
	out, err := pool.Map(t.Context(), p, double, inputs(50))
	require.NoError(t, err)
	assert.Equal(t, int64(98), out[49])
	p.Close()
	start := time.Now()
	require.NoError(t, p.Join())
	t.Logf("Join after the cancelled map took %v", time.Since(start)) // the dropped tasks did not run
}

// MapAsync's tasks are its inputs as they were when it was called: the
// caller may reuse the slice at once.
func TestMapAsyncKeepsItsInputs(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1), pool.WithChunkSize(1))
	in := slices.Repeat([]int64{2}, 200)
	r := pool.MapAsync(t.Context(), p, sleepy, in, nil)
	clear(in) // most tasks are not sent yet
	out, err := r.Get(t.Context())
	require.NoError(t, err)
	assert.Equal(t, slices.Repeat([]int64{2}, 200), out)
}

// Map sends its tasks from the caller's slice; once it returns, even
// cancelled, nothing reads the slice any more: the race detector would
// see a refill's read beside the caller's writes.
func TestCancelledMapLetsGoOfItsInputs(t *testing.T) {
	if !raceEnabled {
		t.Skip("only the race detector sees a read of the inputs after Map returned")
	}
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	ctx, cancel := context.WithCancel(t.Context())
	in := inputs(1 << 20)
	busy := make(chan bool, 1)
	go func() {
		busy <- workerGotBusy(p)
		cancel()
	}()
	_, err := pool.Map(ctx, p, double, in)
	require.True(t, <-busy, "no worker got busy")
	require.ErrorIs(t, err, context.Canceled)
	clear(in)
	out, err := pool.Map(t.Context(), p, double, inputs(50))
	require.NoError(t, err)
	assert.Equal(t, int64(98), out[49])
}

func TestImapOrderedAndLazy(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2))
	var mu sync.Mutex
	read := 0
	endless := func(yield func(int64) bool) {
		for i := int64(0); ; i++ {
			mu.Lock()
			read++
			mu.Unlock()
			if !yield(i) {
				return
			}
		}
	}
	want := int64(0)
	for v, err := range pool.Imap(t.Context(), p, double, endless) {
		require.NoError(t, err)
		require.Equal(t, 2*want, v)
		want++
		if want == 1000 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	assert.LessOrEqual(t, read, 1000+4096+2, "Imap read too far ahead of its results") // ahead, and one the iterator stopped
	out, err := pool.Map(t.Context(), p, double, inputs(5))                            // the pool after an abandoned Imap
	require.NoError(t, err)
	assert.Equal(t, int64(8), out[4])
}

func TestImapUnordered(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(20))
	seen := map[int]bool{}
	for r := range pool.ImapUnordered(t.Context(), p, sevens, slices.Values(inputs(500))) {
		require.False(t, seen[r.Index], "index %d twice", r.Index)
		seen[r.Index] = true
		if r.Index%7 == 0 {
			require.ErrorIs(t, r.Err, pool.ErrTaskFailed)
			continue
		}
		require.NoError(t, r.Err)
		require.Equal(t, int64(2*r.Index), r.Value)
	}
	assert.Len(t, seen, 500)
}

func TestTerminateMidMap(t *testing.T) {
	p, err := pool.New(pool.WithName(proctest.Name(t)), pool.WithWorkers(2), pool.WithChunkSize(1))
	require.NoError(t, err)
	r := pool.MapAsync(t.Context(), p, sleepy, slices.Repeat([]int64{20}, 1000), nil)
	busyWorker(t, p)
	require.NoError(t, p.Terminate())
	_, err = r.Get(t.Context())
	require.ErrorIs(t, err, pool.ErrTerminated)
	left, _ := filepath.Glob("/dev/shm/" + p.Name() + "*")
	assert.Empty(t, left)
}

// Workers whose initializer fails: the tasks fail, nothing hangs.
func TestFailingInitializer(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithInitializer(failInit))
	_, err := pool.Map(t.Context(), p, double, inputs(10))
	require.ErrorIs(t, err, pool.ErrWorkerStart)
}

// A pool's workers die with the process that owns the pool.
func TestWorkersDieWithTheirParent(t *testing.T) {
	name := proctest.Name(t)
	t.Cleanup(func() {
		left, _ := filepath.Glob("/dev/shm/" + name + "-w*")
		for _, f := range left {
			os.Remove(f)
		}
	})
	owner := proctest.Command(t, "poolowner", name)
	out, err := owner.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, owner.Start())
	sc := bufio.NewScanner(out)
	var pids []int
	for len(pids) < 2 && sc.Scan() {
		pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.Len(t, pids, 2)
	owner.Process.Kill()
	owner.Wait()
	for _, pid := range pids {
		for deadline := time.Now().Add(30 * time.Second); procs.Alive(pid) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond) // another process's exit: nothing to wait on
		}
		if procs.Alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("worker %d outlived its pool's process", pid)
		}
	}
}

func TestBadOptions(t *testing.T) {
	_, err := pool.New(pool.WithWorkers(0))
	require.Error(t, err)
	_, err = pool.New(pool.WithName(proctest.Name(t)), pool.WithRetries(-1))
	require.Error(t, err)
}

func TestTooLarge(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1), pool.WithMaxMessage(1024))
	big := make([]byte, 4096)
	_, err := pool.Apply(t.Context(), p, echoBytes, big)
	require.ErrorIs(t, err, pool.ErrTooLarge)
	out, err := pool.Map(t.Context(), p, echoBytes, [][]byte{[]byte("a"), big, []byte("c")})
	var errs pool.Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 1)
	assert.Equal(t, 1, errs[0].Index)
	assert.Equal(t, []byte("c"), out[2])
}

// Many chunks of messages near the longest size, and many tiny ones
// after them: the chunks in flight never need more room than a worker's
// ring has, so the parent never waits to send while the worker waits for
// it to take results (that would hang the map).
func TestChunksInFlightFitTheRing(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithMaxMessage(1024), pool.WithChunkSize(1))
	in := make([][]byte, 3000)
	for i := range in {
		in[i] = bytes.Repeat([]byte{byte(i)}, 900+i%90) // up to 989 bytes: 1,018 with the header
		if i >= 2000 {
			in[i] = []byte{byte(i)}
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for range 3 {
		out, err := pool.Map(ctx, p, echoBytes, in)
		require.NoError(t, err)
		for i := range in {
			require.Equal(t, in[i], out[i], "result %d", i)
		}
	}
}

// Inputs of one size are cut into chunks that fit a message, however
// large the chunk size asked for.
func TestFixedSizeInputsAreCutToFitAMessage(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithMaxMessage(256), pool.WithChunkSize(100))
	in := inputs(1000) // 12 bytes a task in a message: 19 fit in 256 bytes
	out, err := pool.Map(t.Context(), p, double, in)
	require.NoError(t, err)
	async, err := pool.MapAsync(t.Context(), p, double, in, nil).Get(t.Context())
	require.NoError(t, err)
	for i := range in {
		require.Equal(t, 2*in[i], out[i], "result %d", i)
		require.Equal(t, 2*in[i], async[i], "result %d", i)
	}
}

var _ = errors.Is

// Inspect reads a live pool's table from its segment, as another process would.
func TestInspect(t *testing.T) {
	name, _ := crashFlag(t)
	p := newPool(t, pool.WithWorkers(2), pool.WithInitializer(openFlag, name), pool.WithChunkSize(1), pool.WithRetries(0))
	_, err := pool.Map(t.Context(), p, dieOnce, inputs(1000))
	require.Error(t, err)
	seg, err := shm.Open(p.Name(), shm.WithReadOnly())
	require.NoError(t, err)
	defer seg.Close()
	st, err := pool.Inspect(seg)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), st.ParentPID)
	assert.True(t, st.ParentAlive)
	assert.Equal(t, uint64(999), st.Done)
	assert.Equal(t, uint64(1), st.Failed)
	assert.Zero(t, st.Queued)
	assert.Zero(t, st.InFlight)
	assert.Eventually(t, func() bool { // the replacement starts after the map has its answer
		st, err := pool.Inspect(seg)
		return err == nil && st.Starts >= 3
	}, time.Minute, time.Millisecond, "the dead worker was not replaced")
	require.Len(t, st.Workers, 2)
	for _, w := range st.Workers {
		if w.State == "idle" || w.State == "busy" { // a replacement may still be starting
			assert.True(t, w.Alive, "worker %+v", w)
		}
	}

	other, _ := proctest.Segment(t, 1<<16)
	_, err = pool.Inspect(other)
	require.ErrorIs(t, err, shm.ErrObjectNotFound)
}
