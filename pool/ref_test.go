package pool_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/shm"
)

// Tasks over shared arrays, for every copy of the test binary.
var (
	sumRef = pool.Register("sumref", func(r pool.ArrayRef[float64]) (float64, error) {
		var s float64
		for _, x := range r.Slice() {
			s += x
		}
		return s, nil
	})
	// doubleInPlace doubles the elements where they are.
	doubleInPlace = pool.Register("doubleinplace", func(r pool.ArrayRef[float64]) (int64, error) {
		xs := r.Slice()
		for i := range xs {
			xs[i] *= 2
		}
		return int64(len(xs)), nil
	})
	// secondHalf answers with a reference to the second half of its input.
	secondHalf = pool.Register("secondhalf", func(r pool.ArrayRef[float64]) (pool.ArrayRef[float64], error) {
		return r.Sub(r.Len()/2, r.Len()-r.Len()/2)
	})
	opened = pool.Register("opened", func(int64) (int64, error) { return int64(pool.SharedOpened()), nil })
)

// sharedFloats makes a segment named for t with an array "xs" of n
// float64, xs[i] = i.
func sharedFloats(t *testing.T, n int) (*shm.Segment, *ctypes.RawArray[float64]) {
	t.Helper()
	seg, err := shm.Create(proctest.Name(t), shm.SizeFor(uint64(8*n)))
	require.NoError(t, err)
	t.Cleanup(func() { seg.Close() })
	xs, err := ctypes.NewRawArray[float64](seg, "xs", n)
	require.NoError(t, err)
	for i, s := 0, xs.Slice(); i < n; i++ {
		s[i] = float64(i)
	}
	return seg, xs
}

// refs cuts xs into k references of n elements each.
func refs(t *testing.T, seg *shm.Segment, k, n int) []pool.ArrayRef[float64] {
	out := make([]pool.ArrayRef[float64], k)
	for i := range out {
		var err error
		out[i], err = pool.Ref[float64](seg, "xs", i*n, n)
		require.NoError(t, err)
	}
	return out
}

// TestArrayRefShared: workers read the arrays where they are, and what
// they write there the parent sees: the elements were not copied.
func TestArrayRefShared(t *testing.T) {
	const k, n = 8, 4096
	seg, xs := sharedFloats(t, k*n)
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	in := refs(t, seg, k, n)
	sums, err := pool.Map(t.Context(), p, sumRef, in)
	require.NoError(t, err)
	for i, s := range sums {
		first := float64(i * n)
		assert.Equal(t, first*n+n*(n-1)/2, s, "sum of part %d", i)
	}
	counts, err := pool.Map(t.Context(), p, doubleInPlace, in)
	require.NoError(t, err)
	for _, c := range counts {
		require.Equal(t, int64(n), c)
	}
	for i, x := range xs.Slice() {
		require.Equal(t, float64(2*i), x, "element %d after the workers doubled it", i)
	}
}

// TestArrayRefAttachesOnce: a worker maps a segment the first time a
// reference names it, not for every task.
func TestArrayRefAttachesOnce(t *testing.T) {
	segA, _ := sharedFloats(t, 1000)
	segB, _ := sharedFloats(t, 1000)
	p := newPool(t, pool.WithWorkers(1), pool.WithChunkSize(1))
	in := append(refs(t, segA, 50, 20), refs(t, segB, 50, 20)...)
	_, err := pool.Map(t.Context(), p, sumRef, in)
	require.NoError(t, err)
	n, err := pool.Apply(t.Context(), p, opened, 0)
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "segments the worker mapped for 100 references")
}

// TestArrayRefResult: a worker's answer can be a reference; the parent
// maps the segment to read it.
func TestArrayRefResult(t *testing.T) {
	seg, _ := sharedFloats(t, 100)
	t.Cleanup(pool.CloseShared)
	p := newPool(t, pool.WithWorkers(1))
	whole, err := pool.Ref[float64](seg, "xs", 0, 100)
	require.NoError(t, err)
	half, err := pool.Apply(t.Context(), p, secondHalf, whole)
	require.NoError(t, err)
	assert.Equal(t, seg.Name(), half.Segment())
	assert.Equal(t, "xs", half.Array())
	assert.Equal(t, 50, half.Off())
	require.Len(t, half.Slice(), 50)
	assert.Equal(t, 50.0, half.Slice()[0])
	assert.Equal(t, 99.0, half.Slice()[49])
}

// TestRefRefused: a reference to elements that are not there, or to an
// array of another type, is refused where it is made.
func TestRefRefused(t *testing.T) {
	seg, _ := sharedFloats(t, 10)
	for _, c := range [][2]int{{-1, 2}, {0, 11}, {9, 2}, {11, 0}, {0, -1}} {
		_, err := pool.Ref[float64](seg, "xs", c[0], c[1])
		assert.ErrorIs(t, err, pool.ErrRefRange, "off %d n %d", c[0], c[1])
	}
	_, err := pool.Ref[int32](seg, "xs", 0, 1)
	assert.ErrorIs(t, err, ctypes.ErrTypeMismatch)
	_, err = pool.Ref[float64](seg, "nothing", 0, 1)
	assert.ErrorIs(t, err, shm.ErrObjectNotFound)
	r, err := pool.Ref[float64](seg, "xs", 10, 0)
	require.NoError(t, err)
	assert.Empty(t, r.Slice())
}

// TestArrayRefGone: a reference whose segment was removed, or made again
// under its name since, is that task's error in the worker; the other
// tasks of the map have their results, and the worker goes on.
func TestArrayRefGone(t *testing.T) {
	good, _ := sharedFloats(t, 10)
	gone, _ := sharedFloats(t, 10)
	again, _ := sharedFloats(t, 10)
	in := []pool.ArrayRef[float64]{refs(t, good, 1, 10)[0], refs(t, gone, 1, 10)[0], refs(t, again, 1, 10)[0]}
	require.NoError(t, gone.Close())
	require.NoError(t, shm.Unlink(gone.Name()))
	require.NoError(t, again.Close())
	require.NoError(t, shm.Unlink(again.Name()))
	remade, err := shm.Create(again.Name(), shm.SizeFor(80))
	require.NoError(t, err)
	defer remade.Close()
	_, err = ctypes.NewRawArray[float64](remade, "xs", 10)
	require.NoError(t, err)

	p := newPool(t, pool.WithWorkers(1), pool.WithChunkSize(1))
	out, err := pool.Map(t.Context(), p, sumRef, in)
	var errs pool.Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 2, "%v", err)
	assert.Equal(t, 45.0, out[0])
	assert.Equal(t, 1, errs[0].Index)
	assert.ErrorIs(t, errs[0], pool.ErrTaskFailed)
	assert.Contains(t, errs[0].Error(), "no such file")
	assert.Equal(t, 2, errs[1].Index)
	assert.Contains(t, errs[1].Error(), pool.ErrStaleRef.Error())
	s, err := pool.Apply(t.Context(), p, sumRef, in[0])
	require.NoError(t, err, "the worker goes on")
	assert.Equal(t, 45.0, s)
}

// TestArrayRefRemade: a segment made again under a name a worker has
// mapped is mapped afresh for a new reference; the old one is refused.
func TestArrayRefRemade(t *testing.T) {
	seg, _ := sharedFloats(t, 10)
	p := newPool(t, pool.WithWorkers(1))
	old := refs(t, seg, 1, 10)[0]
	s, err := pool.Apply(t.Context(), p, sumRef, old)
	require.NoError(t, err)
	require.Equal(t, 45.0, s)
	require.NoError(t, seg.Close())
	require.NoError(t, shm.Unlink(seg.Name()))
	remade, err := shm.Create(seg.Name(), shm.SizeFor(80))
	require.NoError(t, err)
	defer remade.Close()
	xs, err := ctypes.NewRawArray[float64](remade, "xs", 10)
	require.NoError(t, err)
	xs.Set(0, 1000)
	fresh, err := pool.Ref[float64](remade, "xs", 0, 10)
	require.NoError(t, err)
	s, err = pool.Apply(t.Context(), p, sumRef, fresh)
	require.NoError(t, err)
	assert.Equal(t, 1000.0, s, "the new segment's elements")
	_, err = pool.Apply(t.Context(), p, sumRef, old)
	require.ErrorIs(t, err, pool.ErrTaskFailed)
	assert.Contains(t, err.Error(), pool.ErrStaleRef.Error())
}

// TestArrayRefToPythonArray: a reference to an array Python made with
// shmkit (Array('d', ...) with its lock) reaches Go workers, which read
// Python's elements where they are.
func TestArrayRefToPythonArray(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	pkg, err := filepath.Abs("../python")
	require.NoError(t, err)
	name := proctest.Name(t)
	cmd := exec.Command(py, "-c", `
import sys, shmkit
with shmkit.create(sys.argv[1], 1 << 20) as seg:
    seg.new_array("xs", "d", [float(i) for i in range(1000)])
`, name)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pkg, "SHMKIT_CACHE="+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	seg, err := shm.Open(name)
	require.NoError(t, err)
	defer seg.Close()
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	in := refs(t, seg, 4, 250)
	sums, err := pool.Map(t.Context(), p, sumRef, in)
	require.NoError(t, err)
	for k, s := range sums {
		first := float64(250 * k)
		assert.Equal(t, 250*first+250*249/2, s, "sum of part %d", k)
	}
}
