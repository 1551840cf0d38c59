package pool_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

// scribbleRole is a process that rewrites a pool worker's row in the
// pool's table, as any process that can map the segment may.
const scribbleRole = "pool.test.scribble"

func init() { process.Register(scribbleRole, scribbleRow) }

// scribbleRow: args are the way to scribble, the pool's segment and the
// pid whose row to rewrite.
func scribbleRow(args []string) int {
	seg, err := shm.Open(args[1])
	if err != nil {
		return proctest.Fail("scribble: %v", err)
	}
	defer seg.Close()
	obj, err := objects.Core(seg).LookupKind("pool", shm.KindBytes)
	if err != nil {
		return proctest.Fail("scribble: %v", err)
	}
	h, _ := layout.PoolTable(obj.Bytes(), 0)
	_, rows := layout.PoolTable(obj.Bytes(), int(h.Workers))
	if args[0] == "starts" { // the header's count of workers started
		n, _ := strconv.ParseUint(args[2], 10, 64)
		h.Starts.Store(n)
		return 0
	}
	pid, _ := strconv.Atoi(args[2])
	for i := range rows {
		r := &rows[i]
		if int(r.PID.Load()) != pid {
			continue
		}
		switch args[0] {
		case "idle": // as if it had finished its chunk
			r.State.Store(layout.PoolIdle)
			r.Task.Store(^uint64(0))
			r.Item.Store(^uint32(0))
		case "starting": // as if it had never served
			r.State.Store(layout.PoolStarting)
			r.Done.Store(0)
		case "baditem": // its chunk, a task past its end
			r.Item.Store(^uint32(0))
		case "exited":
			r.State.Store(layout.PoolExited)
			r.Task.Store(0)
		case "lies": // an impossible state, another live process's pid, another generation
			r.State.Store(7)
			r.PID.Store(1)
			r.Generation.Add(1000)
		}
		return 0
	}
	return proctest.Fail("scribble: no row of pid %d", pid)
}

// scribbleDie, given "way|pool|file", has another process rewrite its
// worker's row, then dies by SIGKILL; each run is a line in file. From
// the fifth run on it gives up and answers, so that a pool that never
// stops retrying it ends instead of hanging.
var scribbleDie = pool.Register("scribbledie", func(arg string) (string, error) {
	parts := strings.Split(arg, "|")
	f, err := os.OpenFile(parts[2], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	fmt.Fprintln(f, os.Getpid())
	f.Close()
	runs, _ := os.ReadFile(parts[2])
	if strings.Count(string(runs), "\n") >= 5 {
		return "gave up", nil
	}
	s := &process.Process{Role: scribbleRole, Args: []string{parts[0], parts[1], strconv.Itoa(os.Getpid())}}
	if err := s.Start(); err != nil {
		return "", err
	}
	if err := s.Wait(); err != nil {
		return "", errors.New("scribbler: " + err.Error())
	}
	if len(parts) > 3 && parts[3] == "exit" { // of itself, as a failing initializer does
		os.Exit(3)
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
})

// A worker's row is another process's to rewrite: whatever it says, a
// task whose worker dies under it uses up a retry, and once they are
// spent fails with a WorkerError; the pool goes on serving.
func TestScribbledRowSparesNoRetry(t *testing.T) {
	for _, way := range []string{"idle", "starting", "baditem", "exited", "lies"} {
		t.Run(way, func(t *testing.T) {
			p := newPool(t, pool.WithWorkers(1), pool.WithRetries(1))
			_, err := pool.Map(t.Context(), p, double, []int64{1, 2, 3}) // it has served
			require.NoError(t, err)
			runs := t.TempDir() + "/runs"
			got, err := pool.Apply(t.Context(), p, scribbleDie, way+"|"+p.Name()+"|"+runs)
			var werr *pool.WorkerError
			require.ErrorAs(t, err, &werr, "answered %q: the row spared it its retry", got)
			assert.Equal(t, 2, werr.Attempts)
			lines, _ := os.ReadFile(runs)
			assert.Equal(t, 2, strings.Count(string(lines), "\n"), "runs")
			out, err := pool.Map(t.Context(), p, double, []int64{4, 5})
			require.NoError(t, err)
			assert.Equal(t, []int64{8, 10}, out)
			seg, err := shm.Open(p.Name(), shm.WithReadOnly())
			require.NoError(t, err)
			st, err := pool.Inspect(seg)
			seg.Close()
			require.NoError(t, err)
			assert.Equal(t, uint64(1), st.Retried)
			p.Close()
			require.NoError(t, p.Join())
		})
	}
}

// The header's count of starts is another process's to rewrite too: the
// pool named each new worker's segment after it, so a count set back made
// a replacement's segment the name of a live worker's, and the pool broke
// ("file exists") for good. Its own count names them.
func TestScribbledStartsCount(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2))
	_, err := pool.Map(t.Context(), p, double, []int64{1, 2, 3, 4})
	require.NoError(t, err)
	s := &process.Process{Role: scribbleRole, Args: []string{"starts", p.Name(), "1"}}
	require.NoError(t, s.Start())
	require.NoError(t, s.Wait())
	var first int
	w := p.Workers()[0]
	first = w.Pid
	require.Equal(t, uint64(1), w.Generation)
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	require.Eventually(t, func() bool { // its replacement serves
		w := p.Workers()[0]
		return w.Generation > 1 && w.State == "idle"
	}, time.Minute, time.Millisecond, "the killed worker was not replaced: %+v", p.Workers())
	out, err := pool.Map(t.Context(), p, double, []int64{5, 6, 7, 8, 9, 10})
	require.NoError(t, err)
	assert.Equal(t, []int64{10, 12, 14, 16, 18, 20}, out)
	p.Close()
	require.NoError(t, p.Join())
}

// A row rewritten to STARTING under a task that makes its worker exit of
// itself (exit status 3, no signal) is not a worker that failed to start:
// the worker had taken the task from its channel. The task uses up its
// retry and fails with a WorkerError; the pool does not break with
// ErrWorkerStart and serves on.
func TestScribbledStartingRowThenExit(t *testing.T) {
	p := newPool(t, pool.WithWorkers(1), pool.WithRetries(1))
	runs := t.TempDir() + "/runs"
	got, err := pool.Apply(t.Context(), p, scribbleDie, "starting|"+p.Name()+"|"+runs+"|exit")
	var werr *pool.WorkerError
	require.ErrorAs(t, err, &werr, "answered %q", got)
	assert.Equal(t, 2, werr.Attempts)
	assert.Equal(t, 3, werr.ExitCode)
	lines, _ := os.ReadFile(runs)
	assert.Equal(t, 2, strings.Count(string(lines), "\n"), "runs")
	out, err := pool.Map(t.Context(), p, double, []int64{4, 5})
	require.NoError(t, err)
	assert.Equal(t, []int64{8, 10}, out)
	p.Close()
	require.NoError(t, p.Join())
}

// Inspect (and so shmkit inspect) reads a worker's row as a claim to
// check, not a fact: a row of an impossible state, of an impossible pid,
// naming a live process that is not the worker (it does not map the
// worker's segment), or of a generation whose segment is not there, is
// reported with its problem and never as a live worker. The pool itself
// takes no row for its workers' pids: it serves on, and Terminate kills
// only its own workers.
func TestInspectDistrustsHostileRows(t *testing.T) {
	p := newPool(t, pool.WithWorkers(5))
	_, err := pool.Map(t.Context(), p, double, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, w := range p.Workers() {
			if w.State != "idle" {
				return false
			}
		}
		return true
	}, time.Minute, time.Millisecond, "workers: %+v", p.Workers())
	bystander := exec.Command("sleep", "60")
	require.NoError(t, bystander.Start())
	t.Cleanup(func() { bystander.Process.Kill(); bystander.Wait() })

	seg, err := shm.Open(p.Name())
	require.NoError(t, err)
	defer seg.Close()
	obj, err := objects.Core(seg).LookupKind("pool", shm.KindBytes)
	require.NoError(t, err)
	_, rows := layout.PoolTable(obj.Bytes(), 5)
	rows[0].State.Store(7)
	rows[1].PID.Store(int32(bystander.Process.Pid))
	rows[2].Generation.Add(1000)
	rows[3].PID.Store(-1)
	// Process 1, whose mappings /proc may keep even from root, and which
	// is no child of the pool's parent (it is only looked at, never signalled).
	rows[4].PID.Store(1)
	st, err := pool.Inspect(seg)
	require.NoError(t, err)
	for i, want := range []string{"impossible state 7", "does not map", "-w10", "impossible pid -1", "process 1"} {
		w := st.Workers[i]
		assert.False(t, w.Alive, "row %d: %+v", i, w)
		assert.Contains(t, w.Problem, want, "row %d: %+v", i, w)
	}

	// The pool serves on, and ends only its own workers.
	out, err := pool.Map(t.Context(), p, double, []int64{4, 5})
	require.NoError(t, err)
	assert.Equal(t, []int64{8, 10}, out)
	require.NoError(t, p.Terminate())
	assert.NoError(t, bystander.Process.Signal(syscall.Signal(0)), "the bystander was killed")
}

// Workers that are starting have not yet mapped their segments: Inspect,
// looking while a pool starts, says so of none of them (it called each
// a hostile row, "does not map"), since each is a child of the pool's
// parent.
func TestInspectWhileWorkersStart(t *testing.T) {
	p := newPool(t, pool.WithWorkers(2))
	seg, err := shm.Open(p.Name(), shm.WithReadOnly())
	require.NoError(t, err)
	defer seg.Close()
	for deadline := time.Now().Add(time.Minute); ; {
		st, err := pool.Inspect(seg)
		require.NoError(t, err)
		idle := 0
		for i, w := range st.Workers {
			require.Empty(t, w.Problem, "row %d of a starting pool: %+v", i, w)
			if w.State == "idle" {
				idle++
			}
		}
		if idle == len(st.Workers) || time.Now().After(deadline) {
			require.Equal(t, len(st.Workers), idle, "workers: %+v", st.Workers)
			break
		}
	}
	p.Close()
	require.NoError(t, p.Join())
}
