package pool_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/pool"
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

sys.exit(shmkit.serve_pool({"py.square": square, "py.slow_square": slow_square, "py.refuse": refuse}))
`

var (
	pySquare     = pool.Declare[float64, float64]("py.square")
	pySlowSquare = pool.Declare[float64, float64]("py.slow_square")
	pyRefuse     = pool.Declare[float64, float64]("py.refuse")
)

// pythonPool starts a pool whose workers are Python processes serving
// functions through shmkit.serve_pool.
func pythonPool(t *testing.T, opts ...pool.Option) *pool.Pool {
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
	require.NoError(t, os.WriteFile(script, []byte(pythonWorker), 0o600))
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
