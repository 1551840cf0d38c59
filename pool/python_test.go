package pool_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/shm"
)

const pythonWorker = `
import struct, sys, time
import shmkit

def square(b):
    (x,) = struct.unpack("<d", b)
    return struct.pack("<d", x * x)

def slow_square(b):
    time.sleep(0.0005)
    return square(b)

def refuse(b):
    raise ValueError("refused %r" % struct.unpack("<d", b))

def big(b):
    return bytes(4096)

def mimic(b):
    raise ValueError("pool: task input or result longer than the pool's message size")

sys.exit(shmkit.serve_pool({"py.square": square, "py.slow_square": slow_square, "py.refuse": refuse,
                            "py.big": big, "py.mimic": mimic}))
`

var (
	pySquare     = pool.Declare[float64, float64]("py.square")
	pySlowSquare = pool.Declare[float64, float64]("py.slow_square")
	pyRefuse     = pool.Declare[float64, float64]("py.refuse")
	pyBig        = pool.Declare[float64, []byte]("py.big")
	pyMimic      = pool.Declare[float64, float64]("py.mimic")
)

// pythonPool starts a pool whose workers are Python processes serving
// functions through shmkit.serve_pool.
func pythonPool(t *testing.T, opts ...pool.Option) *pool.Pool {
	return pythonPoolRunning(t, pythonWorker, opts...)
}

// pythonPoolRunning starts a pool of Python workers running source.
func pythonPoolRunning(t *testing.T, source string, opts ...pool.Option) *pool.Pool {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	pkg, err := filepath.Abs("../python")
	require.NoError(t, err)
	t.Setenv("PYTHONPATH", pkg)
	t.Setenv("SHMKIT_CACHE", t.TempDir())
	// Build the C library once, before several workers would at once.
	out, err := exec.Command(py, "-c", "import shmkit").CombinedOutput()
	require.NoError(t, err, "%s", out)
	script := filepath.Join(t.TempDir(), "worker.py")
	require.NoError(t, os.WriteFile(script, []byte(source), 0o600))
	return newPool(t, append([]pool.Option{pool.WithWorkerCommand(py, script)}, opts...)...)
}

func floats(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i) + 0.5
	}
	return xs
}

func TestPythonWorkers(t *testing.T) {
	p := pythonPool(t, pool.WithWorkers(2), pool.WithChunkSize(7))
	xs := floats(1000)
	out, err := pool.Map(t.Context(), p, pySquare, xs)
	require.NoError(t, err)
	for i, x := range xs {
		require.Equal(t, x*x, out[i])
	}
	v, err := pool.Apply(t.Context(), p, pyRefuse, 2)
	require.ErrorIs(t, err, pool.ErrTaskFailed)
	assert.Contains(t, err.Error(), "ValueError: refused 2.0")
	assert.Zero(t, v)
	_, err = pool.Apply(t.Context(), p, double, 2) // a Go task: Python does not know it
	require.ErrorIs(t, err, pool.ErrTaskFailed)
	assert.Contains(t, err.Error(), "no task function")
	p.Close()
	require.NoError(t, p.Join())
}

// A Python worker killed mid-map: its task is retried, the map has every result.
func TestPythonWorkerKilledMidMap(t *testing.T) {
	p := pythonPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	xs := floats(600)
	r := pool.MapAsync(t.Context(), p, pySlowSquare, xs, nil)
	require.NoError(t, syscall.Kill(busyWorker(t, p), syscall.SIGKILL))
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

// A worker that answers each chunk under another chunk's id, and never
// shows BUSY in its row: the pool kills it, and once the retries are
// spent the task fails with a WorkerError, instead of the pool starting
// worker after worker for the same task.
func TestWorkerBreakingTheProtocol(t *testing.T) {
	rogue := strings.Replace(pythonWorker, "sys.exit(", "import shmkit._pool as sp\n_r = sp._result\n"+
		"sp._result = lambda cid, answers: _r(cid + 1000, answers)\n"+
		"sp._Row.state = property(None, lambda row, v: row._i32.__setitem__(1, 1))\n"+
		"sys.exit(", 1)
	p := pythonPoolRunning(t, rogue, pool.WithWorkers(2), pool.WithChunkSize(1))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := pool.Apply(ctx, p, pySquare, 3)
	var werr *pool.WorkerError
	require.ErrorAs(t, err, &werr, "the task must fail, not wait for ever")
	assert.Equal(t, 2, werr.Attempts)
	seg, err := shm.Open(p.Name(), shm.WithReadOnly())
	require.NoError(t, err)
	defer seg.Close()
	st, err := pool.Inspect(seg)
	require.NoError(t, err)
	assert.LessOrEqual(t, st.Starts, uint64(6), "two workers, two starts for the task, and their replacements")
}

// A Python worker's result too long for a message is ErrTooLarge; its
// error that only reads like one is ErrTaskFailed.
func TestPythonWorkerTooLarge(t *testing.T) {
	p := pythonPool(t, pool.WithWorkers(1), pool.WithMaxMessage(1024))
	_, err := pool.Apply(t.Context(), p, pyBig, 1)
	require.ErrorIs(t, err, pool.ErrTooLarge)
	assert.NotErrorIs(t, err, pool.ErrTaskFailed)
	_, err = pool.Apply(t.Context(), p, pyMimic, 1)
	require.ErrorIs(t, err, pool.ErrTaskFailed)
	assert.NotErrorIs(t, err, pool.ErrTooLarge)
	p.Close()
	require.NoError(t, p.Join())
}
