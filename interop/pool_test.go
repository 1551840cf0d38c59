package interop_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/shm"
)

// Tasks this test binary serves as a Go worker of a Python driver.
var (
	_ = pool.Register("go.double", func(x int64) (int64, error) { return 2 * x, nil })
	_ = pool.Register("go.slow", func(x int64) (int64, error) {
		time.Sleep(time.Millisecond)
		return 2 * x, nil
	})
	_ = pool.Register("go.fail", func(x int64) (int64, error) {
		if x%7 == 0 {
			return 0, fmt.Errorf("%d is a multiple of 7", x)
		}
		return 2 * x, nil
	})
	_ = pool.Register("go.panic", func(x int64) (int64, error) {
		if x == 13 {
			panic("unlucky 13")
		}
		return x, nil
	})
	_ = pool.Register("go.die", func(x int64) (int64, error) {
		if x == 500 {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return 2 * x, nil
	})
	_ = pool.Register("go.stats", func(xs []float64) (sampleStats, error) {
		var s sampleStats
		for _, x := range xs {
			s.Sum += x
		}
		s.N = int32(len(xs))
		return s, nil
	})
	_ = pool.Register("go.greet", func(s string) (string, error) { return "hello, " + s + greetSuffix, nil })
	_ = pool.RegisterInit("go.suffix", func(args []string) error { greetSuffix = args[0]; return nil })
	_ = pool.RegisterInit("go.failinit", func([]string) error { return errors.New("no, as asked") })
	_ = pool.Register("go.bytes", func(b []byte) ([]byte, error) {
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return b, nil
	})
)

var greetSuffix string // set by the initializer go.suffix

// sampleStats has padding after N, which the task list spells out.
type sampleStats struct {
	Sum float64
	N   int32
}

// pyDriver runs testdata/pooldriver.py in mode with a pool named after t,
// whose workers run command, and returns its output. It is killed if it
// runs past proctest.Timeout: a hang fails the test.
func pyDriver(t *testing.T, mode string, command ...string) string {
	t.Helper()
	dir := build(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), proctest.Timeout)
	defer cancel()
	name := proctest.Name(t)
	cmd := exec.CommandContext(ctx, py, append([]string{"testdata/pooldriver.py", mode, name}, command...)...)
	pkg, err := filepath.Abs("../python")
	require.NoError(t, err)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pkg, "SHMKIT_LIBRARY="+filepath.Join(dir, "libshmkit.so"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err, "pooldriver.py %s: %s", mode, out)
	left, _ := filepath.Glob("/dev/shm/" + name + "*")
	assert.Empty(t, left, "segments left behind")
	return string(out)
}

func goWorker(t *testing.T) string {
	self, err := os.Executable()
	require.NoError(t, err)
	return self
}

// TestPoolPythonDrivesGo: a Python shmkit.Pool whose workers are this
// test binary's registered tasks: types learnt from the program, every
// call, per-task errors and panics.
func TestPoolPythonDrivesGo(t *testing.T) {
	out := pyDriver(t, "go-basic", goWorker(t))
	assert.Equal(t, strings.Join([]string{
		"types ('<q', '<q') ('[]<d', '<di4x') ('str', 'str') ('bytes', 'bytes')",
		"map True",
		"map default chunks True",
		"imap True",
		"imap_unordered True",
		"stats (7.0, 3) [(0.0, 0), (4.0, 1)]",
		"greet hello, wörld bytes b'cba'",
		"map raises the first failure: 6 7 is a multiple of 7",
		"imap goes on past failures: [10, 12, '7 is a multiple of 7', 16, 18]",
		"panic: TaskError True True []",
		"apply_async: 42 [42] True",
		"map_async: [2, 4, 6] [2, 4, 6]",
		"refused: go.nosuch ValueError",
		"refused: go.double error",
		"refused: go.double error",
		"after all that [10, 12]",
		"joined, segments left: []",
		""}, "\n"), out)
}

// TestPoolPythonDrivesGoKilled: a Go worker SIGKILLed by the Python
// driver mid-map; its task is run again, every result is right, the
// worker is replaced.
func TestPoolPythonDrivesGoKilled(t *testing.T) {
	out := pyDriver(t, "kill", goWorker(t))
	assert.Equal(t, "killed a worker mid-map; every result right: True\nreplaced: True killed pid serving: False\njoined, segments left: []\n", out)
}

// TestPoolPythonDrivesGoTaskKillsWorker: a task that kills its Go worker
// each time: with no retries it fails at once, with one after a second
// worker died, naming the pid and the signal; every other task is right.
func TestPoolPythonDrivesGoTaskKillsWorker(t *testing.T) {
	out := pyDriver(t, "die", goWorker(t))
	assert.Equal(t, strings.Join([]string{
		"retries=0: failed [500], WorkerDiedError, signal 9, attempts 1, pid named True, others right True",
		"pool still serves: [2, 4]",
		"retries=1: failed [500], WorkerDiedError, signal 9, attempts 2, pid named True, others right True",
		"pool still serves: [2, 4]",
		""}, "\n"), out)
}

// TestPoolPythonDrivesGoKillSoak: Go workers SIGKILLed at random while a
// Python driver maps 10,000 tasks, with 0 and 1 retries. Each task has its
// right result or a WorkerDiedError naming a killed worker: nothing lost,
// wrong or hung.
func TestPoolPythonDrivesGoKillSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a soak of 20 kills")
	}
	out := pyDriver(t, "soak", goWorker(t))
	t.Log(out)
	lines := regexp.MustCompile(`retries=(\d): (\d+) tasks, (\d+) right, (\d+) failed naming a killed worker, (\d+) wrong, (\d+) kills`).FindAllStringSubmatch(out, -1)
	require.Len(t, lines, 2, out)
	for _, m := range lines {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		assert.Equal(t, 10000, n(2), "retries=%s: tasks", m[1])
		assert.Equal(t, n(2), n(3)+n(4), "retries=%s: right and failed", m[1])
		assert.Zero(t, n(5), "retries=%s: wrong results", m[1])
		assert.Positive(t, n(6), "retries=%s: no worker was killed", m[1])
		if m[1] == "0" {
			assert.Positive(t, n(4), "with no retries, a kill fails a task")
		}
	}
}

// TestPoolPythonDrivesGoLifecycle: a Go initializer with arguments,
// maxtasksperchild, an unknown initializer, and workers whose initializer
// fails (the map fails with WorkerStartError instead of restarting them
// forever).
func TestPoolPythonDrivesGoLifecycle(t *testing.T) {
	out := pyDriver(t, "lifecycle", goWorker(t))
	assert.Equal(t, strings.Join([]string{
		"['hello, a!', 'hello, b!', 'hello, c!', 'hello, d!', 'hello, e!', 'hello, f!']",
		"replaced after 2 chunks each: True",
		"joined, segments left: []",
		"unknown initializer: ValueError",
		"failing initializer: WorkerStartError True",
		""}, "\n"), out)
}

// TestPoolPythonTerminatesGo: terminate mid-map returns promptly, fails
// the map with TerminatedError and leaves no worker.
func TestPoolPythonTerminatesGo(t *testing.T) {
	out := pyDriver(t, "terminate", goWorker(t))
	assert.Equal(t, "terminated: the map's result is TerminatedError\nterminate took under 10 s: True\nworkers exited: True\nafter terminate: Pool not running\n", out)
}

// TestPoolPythonDrivesC: a Python pool of C workers (shmkit_pool_main),
// whose task list the C program gives.
func TestPoolPythonDrivesC(t *testing.T) {
	out := pyDriver(t, "c-basic", filepath.Join(build(t), "poolworker"))
	assert.Equal(t, "types ('<d', '<d') ('[]<d', '<d') ('bytes', 'bytes')\nmap [0.25, 2.25, 9.0] 7.5 b'tikmhs'\nrefused: refused 2\njoined, segments left: []\n", out)
}

// TestPoolPythonDrivesCInitializer: a C worker runs the initializer the
// Python driver names, with its initargs; one that fails stops the pool
// starting workers (WorkerStartError), and an unknown one is refused at
// once.
func TestPoolPythonDrivesCInitializer(t *testing.T) {
	out := pyDriver(t, "c-init", filepath.Join(build(t), "poolworker"))
	assert.Equal(t, "scaled [1.5, 4.5, 9.0]\njoined, segments left: []\nbad initargs: WorkerStartError\nunknown initializer: True\n", out)
}

// TestPoolGoDrivesCInitializer: the same from a Go driver, the C
// initializer declared with pool.DeclareInit; a C worker told to run an
// initializer it lacks exits before serving, as one that fails does.
func TestPoolGoDrivesCInitializer(t *testing.T) {
	p := cPool(t, pool.WithWorkers(2), pool.WithInitializer(cFactor, "2.5"))
	out, err := pool.Map(t.Context(), p, cScale, []float64{1, 2, 4})
	require.NoError(t, err)
	assert.Equal(t, []float64{2.5, 5, 10}, out)
	bad := cPool(t, pool.WithWorkers(2), pool.WithInitializer(cFactor))
	_, err = pool.Map(t.Context(), bad, cScale, []float64{1})
	require.ErrorIs(t, err, pool.ErrWorkerStart)
	absent := cPool(t, pool.WithWorkers(1), pool.WithInitializer(pool.DeclareInit("c.absent")))
	_, err = pool.Map(t.Context(), absent, cScale, []float64{1})
	require.ErrorIs(t, err, pool.ErrWorkerStart)
}

var (
	cFactor  = pool.DeclareInit("c.factor")
	cScale   = pool.Declare[float64, float64]("c.scale")
	cSquare  = pool.Declare[float64, float64]("c.square")
	cSlow    = pool.Declare[float64, float64]("c.slow")
	cRefuse  = pool.Declare[float64, float64]("c.refuse")
	cCrash   = pool.Declare[float64, float64]("c.crash")
	cSum     = pool.Declare[[]float64, float64]("c.sum")
	cReverse = pool.Declare[[]byte, []byte]("c.reverse")
	cMissing = pool.Declare[float64, float64]("c.missing")
	cBig     = pool.Declare[float64, []byte]("c.big")
	cMimic   = pool.Declare[float64, float64]("c.mimic")
)

// cPool starts a Go pool whose workers are testdata/poolworker.c.
func cPool(t *testing.T, opts ...pool.Option) *pool.Pool {
	t.Helper()
	worker := filepath.Join(build(t), "poolworker")
	name := proctest.Name(t)
	p, err := pool.New(append([]pool.Option{pool.WithName(name), pool.WithWorkerCommand(worker)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		p.Terminate()
		left, _ := filepath.Glob("/dev/shm/" + name + "*")
		assert.Empty(t, left, "segments left behind")
	})
	return p
}

func halves(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i) + 0.5
	}
	return xs
}

// TestPoolGoDrivesC: a Go pool of C workers.
func TestPoolGoDrivesC(t *testing.T) {
	p := cPool(t, pool.WithWorkers(2), pool.WithChunkSize(7))
	xs := halves(1000)
	out, err := pool.Map(t.Context(), p, cSquare, xs)
	require.NoError(t, err)
	for i, x := range xs {
		require.Equal(t, x*x, out[i])
	}
	s, err := pool.Apply(t.Context(), p, cSum, []float64{1, 2, 4.5})
	require.NoError(t, err)
	assert.Equal(t, 7.5, s)
	b, err := pool.Apply(t.Context(), p, cReverse, []byte("shmkit"))
	require.NoError(t, err)
	assert.Equal(t, "tikmhs", string(b))
	_, err = pool.Apply(t.Context(), p, cRefuse, 2)
	require.ErrorIs(t, err, pool.ErrTaskFailed)
	assert.Contains(t, err.Error(), "refused 2")
	_, err = pool.Apply(t.Context(), p, cMissing, 2)
	require.ErrorIs(t, err, pool.ErrTaskFailed)
	assert.Contains(t, err.Error(), `no task function registered under this name: "c.missing"`)
	p.Close()
	require.NoError(t, p.Join())
}

// TestPoolGoDrivesCTooLarge: a C task's result too long for a message is
// ErrTooLarge; its error that only reads like one is ErrTaskFailed.
func TestPoolGoDrivesCTooLarge(t *testing.T) {
	p := cPool(t, pool.WithWorkers(1), pool.WithMaxMessage(1024))
	_, err := pool.Apply(t.Context(), p, cBig, 1)
	require.ErrorIs(t, err, pool.ErrTooLarge)
	assert.NotErrorIs(t, err, pool.ErrTaskFailed)
	_, err = pool.Apply(t.Context(), p, cMimic, 1)
	require.ErrorIs(t, err, pool.ErrTaskFailed)
	assert.NotErrorIs(t, err, pool.ErrTooLarge)
	p.Close()
	require.NoError(t, p.Join())
}

// TestPoolGoDrivesCKilledMidMap: a C worker SIGKILLed mid-map; its task
// is retried and every result is right.
func TestPoolGoDrivesCKilledMidMap(t *testing.T) {
	p := cPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	xs := halves(600)
	r := pool.MapAsync(t.Context(), p, cSlow, xs, nil)
	var pid int
	for deadline := time.Now().Add(time.Minute); pid == 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		for _, w := range p.Workers() {
			if w.State == "busy" && w.Done > 0 {
				pid = w.Pid
			}
		}
	}
	require.NotZero(t, pid, "no C worker got busy")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	out, err := r.Get(t.Context())
	require.NoError(t, err)
	for i, x := range xs {
		require.Equal(t, x*x, out[i])
	}
	assert.Eventually(t, func() bool {
		for _, w := range p.Workers() {
			if w.Generation > 2 {
				return true
			}
		}
		return false
	}, time.Minute, time.Millisecond, "the killed worker was not replaced")
}

// TestPoolGoDrivesCSegfault: a C task that segfaults fails alone, with a
// WorkerError naming the worker's pid and SIGSEGV, once the retries are
// spent; the other tasks are right.
func TestPoolGoDrivesCSegfault(t *testing.T) {
	for _, retries := range []int{0, 1} {
		t.Run(fmt.Sprint("retries=", retries), func(t *testing.T) {
			p := cPool(t, pool.WithWorkers(2), pool.WithRetries(retries), pool.WithChunkSize(5))
			xs := make([]float64, 100)
			for i := range xs {
				xs[i] = float64(i)
			}
			out, err := pool.Map(t.Context(), p, cCrash, xs)
			var errs pool.Errors
			require.ErrorAs(t, err, &errs)
			require.Len(t, errs, 1)
			assert.Equal(t, 13, errs[0].Index)
			var werr *pool.WorkerError
			require.True(t, errors.As(err, &werr), "%v", err)
			assert.Equal(t, syscall.SIGSEGV, werr.Signal)
			assert.Equal(t, -int(syscall.SIGSEGV), werr.ExitCode)
			assert.Equal(t, retries+1, werr.Attempts)
			assert.Positive(t, werr.Pid)
			assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", werr.Pid))
			for i, x := range xs {
				if i != 13 {
					require.Equal(t, x*x, out[i], "task %d", i)
				}
			}
		})
	}
}

// TestPoolCWorkerRefusesBadArguments: a C worker given a segment that is
// not a pool's, a slot outside the table or a missing worker segment
// exits with status 1 and says why; it never crashes.
func TestPoolCWorkerRefusesBadArguments(t *testing.T) {
	worker := filepath.Join(build(t), "poolworker")
	_, name := proctest.Segment(t, 1<<16) // a shmkit segment without a pool table
	p := cPool(t, pool.WithWorkers(1))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{name, "0", name}, "pool worker: " + name + " slot 0: "},
		{[]string{p.Name(), "1", name}, "pool worker: " + p.Name() + " slot 1: "},
		{[]string{p.Name(), "x", name}, "pool worker: " + p.Name() + " slot x: "},
		{[]string{p.Name(), "0", name + "-missing"}, "pool worker: " + name + "-missing: "},
		{[]string{p.Name()}, "pool worker: want the pool's segment"},
	} {
		cmd := exec.CommandContext(t.Context(), worker, c.args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%v", c.args)
		assert.Equal(t, 1, exit.ExitCode(), "%v: %s", c.args, stderr.String())
		assert.Contains(t, stderr.String(), c.want, "%v", c.args)
	}
}

// TestPoolWorkersRefuseAnotherVersion: a C and a Python worker given a
// pool table of another protocol version (0: a build before the field, 2:
// a later one) leave with status 1 and say so, before they serve; with
// this build's version they serve (here: the tasks ring has ended, so
// they exit 0). Before, both served any version.
func TestPoolWorkersRefuseAnotherVersion(t *testing.T) {
	for _, v := range []uint32{layout.PoolVersion, 0, 2} {
		poolName, workerName := tableOfVersion(t, v)
		for _, w := range []*exec.Cmd{
			exec.CommandContext(t.Context(), filepath.Join(build(t), "poolworker"), poolName, "0", workerName),
			python(t, "-c", "import shmkit, sys; sys.exit(shmkit.serve_pool({}))", poolName, "0", workerName),
		} {
			w.Stderr = nil
			out, err := w.CombinedOutput()
			if v == layout.PoolVersion {
				assert.NoError(t, err, "%s: %s", w.Path, out)
				continue
			}
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "version %d: %s served: %s", v, w.Path, out)
			assert.Equal(t, 1, exit.ExitCode())
			assert.Contains(t, string(out), "version", "%s", w.Path)
		}
	}
}

// tableOfVersion makes a one-row pool table of protocol version v and a
// worker segment whose tasks ring has ended.
func tableOfVersion(t *testing.T, v uint32) (poolName, workerName string) {
	seg, poolName := proctest.Segment(t, 1<<16)
	_, err := seg.Alloc(shm.Request{Name: "pool", Kind: shm.KindBytes, Length: uint64(layout.PoolTableSize(1))}, func(mem []byte) error {
		h, _ := layout.PoolTable(mem, 1)
		h.Workers, h.ParentPID, h.Version = 1, 1, v
		h.Magic.Store(layout.PoolMagic)
		return nil
	})
	require.NoError(t, err)
	wseg, workerName := proctest.Segment(t, 1<<16)
	tasks, err := channel.New[byte](wseg, "tasks", 4, 256)
	require.NoError(t, err)
	_, err = channel.New[byte](wseg, "results", 4, 256)
	require.NoError(t, err)
	require.NoError(t, tasks.End())
	return poolName, workerName
}
