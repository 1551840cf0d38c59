package pool_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/pool"
)

var (
	// forever never returns. It sleeps rather than block on select {}: a
	// worker whose only goroutine blocks with no timer pending is killed
	// by Go's deadlock check (exit status 2), which made the task's worker
	// die before the test could terminate it.
	forever = pool.Register("forever", func(int64) (int64, error) {
		for {
			time.Sleep(time.Hour)
		}
	})
	exits = pool.Register("exits", func(x int64) (int64, error) {
		if x == 3 {
			os.Exit(0)
		}
		return x, nil
	})
	panicNil  = pool.Register("panicnil", func(int64) (int64, error) { panic(nil) })
	panic42   = pool.Register("panic42", func(int64) (int64, error) { panic(42) })
	bigResult = pool.Register("bigresult", func(n int64) ([]byte, error) { return make([]byte, n), nil })
	// mimicTooLarge fails with an error whose text starts with
	// ErrTooLarge's: a task's own failure, not a result too long.
	mimicTooLarge = pool.Register("mimictoolarge", func(int64) (int64, error) {
		return 0, errors.New(pool.ErrTooLarge.Error() + ": says the task")
	})
	initPanic = pool.RegisterInit("initpanic", func([]string) error { panic("init boom") })
)

// An iterator with a huge chunk size read ahead as many tasks as 128
// chunks of that size would hold, and allocated room for them: the
// process died out of memory.
func TestImapHugeChunkSize(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1<<30))
	n := 0
	for v, err := range pool.Imap(t.Context(), p, double, slices.Values(inputs(10))) {
		require.NoError(t, err)
		require.Equal(t, int64(2*n), v)
		n++
	}
	assert.Equal(t, 10, n)
}

// Every call on a closed pool is ErrClosed, even one of no tasks (Map
// of nothing returned no error).
func TestCallsAfterClose(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1))
	p.Close()
	_, err := pool.Map(t.Context(), p, double, nil)
	assert.ErrorIs(t, err, pool.ErrClosed)
	_, err = pool.Map(t.Context(), p, double, inputs(3))
	assert.ErrorIs(t, err, pool.ErrClosed)
	_, err = pool.Apply(t.Context(), p, double, 1)
	assert.ErrorIs(t, err, pool.ErrClosed)
	for _, err := range pool.Imap(t.Context(), p, double, slices.Values(inputs(3))) {
		assert.ErrorIs(t, err, pool.ErrClosed)
	}
	require.NoError(t, p.Join())
	_, err = pool.Map(t.Context(), p, double, inputs(3))
	assert.ErrorIs(t, err, pool.ErrClosed)
}

// Terminate, from several goroutines at once, ends a Map, an Imap and an
// ApplyAsync whose tasks never end, each with ErrTerminated.
func TestTerminateEndsEveryCall(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2))
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Add(3)
	go func() { defer wg.Done(); _, errs[0] = pool.Map(t.Context(), p, forever, inputs(10)) }()
	go func() {
		defer wg.Done()
		for _, err := range pool.Imap(t.Context(), p, forever, slices.Values(inputs(10))) {
			if err != nil {
				errs[1] = err
			}
		}
	}()
	r := pool.ApplyAsync(t.Context(), p, forever, 1, nil)
	go func() { defer wg.Done(); _, errs[2] = r.Get(t.Context()) }()
	require.True(t, running(p, 2), "the workers never got busy")
	var tw sync.WaitGroup
	for range 4 {
		tw.Add(1)
		go func() { defer tw.Done(); p.Terminate(); p.Close(); p.Join() }()
	}
	tw.Wait()
	wg.Wait()
	for i, err := range errs {
		assert.ErrorIs(t, err, pool.ErrTerminated, "call %d", i)
	}
}

// A task that exits its worker fails with a WorkerError; panics with nil
// or a non-error are ErrPanic; a result too long for a message is
// ErrTooLarge (it was ErrTaskFailed only), and only for its task.
func TestTaskFaults(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	out, err := pool.Map(t.Context(), p, exits, inputs(6))
	t.Logf("exits: %v %v", out, err)
	var we *pool.WorkerError
	require.ErrorAs(t, err, &we)
	_, err = pool.Apply(t.Context(), p, panicNil, 1)
	t.Logf("panicnil: %v", err)
	assert.ErrorIs(t, err, pool.ErrPanic)
	_, err = pool.Apply(t.Context(), p, panic42, 1)
	assert.ErrorIs(t, err, pool.ErrPanic)
	b, err := pool.Map(t.Context(), p, bigResult, []int64{10, 1 << 20, 10})
	t.Logf("big: %v", err)
	assert.ErrorIs(t, err, pool.ErrTooLarge)
	assert.Len(t, b[2], 10)
	p.Close()
	require.NoError(t, p.Join())
}

// A result too long for a message is ErrTooLarge by its answer's status;
// a task's error whose text merely reads like it is the task's failure.
func TestTooLargeByStatus(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1), pool.WithMaxMessage(1024))
	_, err := pool.Apply(t.Context(), p, mimicTooLarge, 1)
	require.ErrorIs(t, err, pool.ErrTaskFailed)
	assert.NotErrorIs(t, err, pool.ErrTooLarge, "the text of a task's error decided its kind")
	_, err = pool.Apply(t.Context(), p, bigResult, 4096)
	require.ErrorIs(t, err, pool.ErrTooLarge)
	assert.NotErrorIs(t, err, pool.ErrTaskFailed)
	p.Close()
	require.NoError(t, p.Join())
}

// An initializer that panics is a failing initializer.
func TestInitializerPanics(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithInitializer(initPanic))
	_, err := pool.Map(t.Context(), p, double, inputs(10))
	require.ErrorIs(t, err, pool.ErrWorkerStart)
}

// A stopped worker holds its tasks (it is not dead); a Map's deadline
// still returns it, and Terminate kills the worker.
func TestStoppedWorker(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1))
	_, err := pool.Apply(t.Context(), p, double, 1)
	require.NoError(t, err)
	pid := p.Workers()[0].Pid
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = pool.Map(ctx, p, double, inputs(10))
	if !errors.Is(err, context.DeadlineExceeded) { // seen once under -race with every package at once: say what the pool had
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		t.Fatalf("Map returned %v with worker %d stopped (stat %q); the pool's workers now: %+v", err, pid, stat, p.Workers())
	}
	require.NoError(t, p.Terminate())
}

func TestChunkSizes(t *testing.T) {
	for _, c := range []int{0, 1, 1 << 40, math.MaxInt} {
		p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(c))
		out, err := pool.Map(t.Context(), p, double, inputs(100000))
		require.NoError(t, err)
		assert.Equal(t, int64(2*99999), out[99999])
		n := 0
		for r := range pool.ImapUnordered(t.Context(), p, double, slices.Values(inputs(20000))) {
			require.NoError(t, r.Err)
			n++
		}
		assert.Equal(t, 20000, n)
		p.Close()
		require.NoError(t, p.Join())
	}
}

// running waits up to a minute until n workers are busy.
func running(p *pool.Pool, n int) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		k := 0
		for _, w := range p.Workers() {
			if w.State == "busy" {
				k++
			}
		}
		if k >= n {
			return true
		}
	}
	return false
}

// Close while an Imap reads its input lets it finish: it failed with
// ErrClosed at its next top-up and lost the rest of its input.
func TestCloseDuringImap(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2))
	n := 0
	for v, err := range pool.Imap(t.Context(), p, double, slices.Values(inputs(20000))) {
		require.NoError(t, err)
		require.Equal(t, int64(2*n), v)
		if n == 0 {
			p.Close()
		}
		n++
	}
	assert.Equal(t, 20000, n)
	require.NoError(t, p.Join())
}

// An Imap left half way lets go of its queued tasks: the next Map runs,
// and Close and Join end.
func TestAbandonedImapThenJoin(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	n := 0
	for _, err := range pool.Imap(t.Context(), p, sleepy, slices.Values(slices.Repeat([]int64{1}, 100000))) {
		require.NoError(t, err)
		if n++; n == 3 {
			break
		}
	}
	out, err := pool.Map(t.Context(), p, double, inputs(5))
	require.NoError(t, err)
	assert.Equal(t, int64(8), out[4])
	p.Close()
	require.NoError(t, p.Join())
}

// Terminate while workers are being replaced after every task: every
// call ends and no worker segment is left (newPool checks), under -race
// too (30 runs passed).
func TestTerminateDuringWorkerChurn(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithMaxTasksPerChild(1), pool.WithChunkSize(1))
	r := pool.MapAsync(t.Context(), p, double, inputs(300), nil)
	require.True(t, running(p, 1), "no worker got busy")
	require.NoError(t, p.Terminate())
	require.NoError(t, r.Wait(t.Context()))
}

// A task name past the 65,535 bytes a task message's u16 holds is refused
// when declared: it crossed with its length cut to 16 bits, and a Go
// worker read the name's own bytes as the task's input. This one is read
// as "echobytes" with an input of 65,532 X's, whatever the input given.
func TestTaskNameTooLong(t *testing.T) {
	name := "echobytes" + string(binary.LittleEndian.AppendUint32(nil, 65532)) + strings.Repeat("X", 65532)
	var task pool.Task[[]byte, []byte]
	declared := false
	assert.Panics(t, func() { task, declared = pool.Declare[[]byte, []byte](name), true })
	assert.Panics(t, func() { pool.Register(name, func(b []byte) ([]byte, error) { return b, nil }) })
	if !declared {
		return
	}
	p := newPool(t, pool.WithWorkers(1), pool.WithMaxMessage(1<<20))
	out, err := pool.Apply(t.Context(), p, task, []byte("mine"))
	t.Errorf("a task named with %d bytes ran: it answered %d bytes (%.8q...), %v", len(name), len(out), out, err)
}

// Workers replaced after every chunk whose initializer fails: each was
// told to leave as soon as it got its one chunk, and a worker told to
// leave never counted as failing to start, so the pool started workers
// for good (hundreds in seconds). It is ErrWorkerStart, as without
// WithMaxTasksPerChild.
func TestMaxTasksPerChildFailingInitializer(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2), pool.WithMaxTasksPerChild(1), pool.WithChunkSize(1), pool.WithInitializer(failInit))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := pool.Map(ctx, p, double, []int64{1, 2, 3})
	require.ErrorIs(t, err, pool.ErrWorkerStart)
}
