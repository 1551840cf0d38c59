package bench

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/shm"
)

// W7: a process pool of 2 workers (package pool) beside Python's
// multiprocessing.Pool and ProcessPoolExecutor, a C pool of forked
// workers over pipes, and goroutines (no process boundary).
//
//	W7a  100,000 tasks f(x) = 2x, results in order          tasks/s
//	W7b  tasks that each sum a 1 MiB float64 array          tasks/s
//	W7c  a worker SIGKILLed mid-map                         ns from the kill until the map returns
//
// The pools' workers are copies of this program: the tasks below are
// registered at package level, so every copy knows them.

const (
	poolWorkers = 2
	// arrayElems is a W7b array: 1 MiB of float64. W7b's tasks go over
	// at most poolArrays of them, task i over array i mod poolArrays.
	arrayElems = 1 << 17
	poolArrays = 64
	// inflight is how many tasks the C pool keeps outstanding per worker.
	inflight = 64
	// pythonHang bounds Python's Pool.map in W7c, which never returns once
	// a worker is killed (CPython gh-66587).
	pythonHang = 3 * time.Second
)

var (
	doubleTask = pool.Register("bench.double", func(x int64) (int64, error) { return 2 * x, nil })
	sumTask    = pool.Register("bench.sum", func(r pool.ArrayRef[float64]) (float64, error) { return sumOf(r.Slice()), nil })
	// dieTask doubles x, but the task kill.at kills its worker, once: the
	// flag, the index and the time of the kill live in a segment that the
	// initializer opens.
	dieTask = pool.Register("bench.double-or-die", func(x int64) (int64, error) {
		if x == kill.at.Load() && kill.done.CompareAndSwap(0, 1) {
			kill.when.Store(time.Now().UnixNano())
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return 2 * x, nil
	})
	openKill = pool.RegisterInit("bench.open-kill", func(args []string) error {
		seg, err := shm.Open(args[0])
		if err != nil {
			return err
		}
		if kill.done, err = ctypes.OpenRawValue[int32](seg, "done"); err != nil {
			return err
		}
		if kill.at, err = ctypes.OpenRawValue[int64](seg, "at"); err != nil {
			return err
		}
		kill.when, err = ctypes.OpenRawValue[int64](seg, "when")
		return err // the segment stays mapped for the worker's life
	})
	kill struct {
		done     *ctypes.RawValue[int32]
		at, when *ctypes.RawValue[int64]
	}
)

// sumOf is W7b's task: the sum of an array, in order.
func sumOf(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// arraySum is what sumOf gives for W7b's array k, whose element j is
// k·arrayElems + j (exact: every partial sum is an integer below 2^53).
func arraySum(k int) float64 {
	n := float64(arrayElems)
	return float64(k)*n*n + n*(n-1)/2
}

func poolWorkloads() []*Workload {
	return []*Workload{
		{ID: "W7", Variant: "a", Title: "100,000 tasks f(x) = 2x on 2 workers, results in order (tasks/s)",
			Count: 100_000, Figure: Throughput, Impls: []Impl{
				{Name: "shmkit pool chunk 1", run: poolMapRun(1)},
				{Name: "shmkit pool chunked", run: poolMapRun(0)},
				{Name: "Python Pool.map chunksize=1", Div: 10, run: pythonPoolRun("w7a-map1", tinyChecksum)},
				{Name: "Python Pool.map default chunks", run: pythonPoolRun("w7a-map", tinyChecksum)},
				{Name: "Python imap_unordered chunksize=1", Div: 10, run: pythonPoolRun("w7a-imapu1", unorderedChecksum)},
				{Name: "Python ProcessPoolExecutor.map", Div: 100, run: pythonPoolRun("w7a-ppe", tinyChecksum)},
				{Name: "C pipe pool, 64 in flight", run: cPoolRun},
				{Name: "goroutines (floor)", run: goroutineMapRun},
			}},
		{ID: "W7", Variant: "b", Title: "tasks that each sum a 1 MiB float64 array, on 2 workers (tasks/s)",
			Count: 640, Figure: Throughput, Impls: []Impl{
				{Name: "shmkit pool, arrays by reference", run: poolArraysRun},
				{Name: "Python Pool, arrays pickled", Div: 10, run: pythonPoolRun("w7b-pickle", arraysChecksum)},
				{Name: "Python Pool, SharedMemory + offsets", Div: 5, run: pythonPoolRun("w7b-shm", arraysChecksum)},
				{Name: "goroutines (floor)", run: goroutineArraysRun},
			}},
		{ID: "W7", Variant: "c", Title: "a worker SIGKILLed mid-map: ns from the kill until the map returns",
			Count: 2000, Figure: RoundTrip, Impls: []Impl{
				{Name: "shmkit pool Map", run: poolKillRun},
				{Name: "Python Pool.map", run: pythonKillRun("w7c-map")},
				{Name: "Python ProcessPoolExecutor.map", run: pythonKillRun("w7c-ppe")},
			}},
	}
}

// newBenchPool starts a pool of poolWorkers under a bench name.
func newBenchPool(opts ...pool.Option) (*pool.Pool, error) {
	name := fmt.Sprintf("shmkit-bench-%d-%d", os.Getpid(), segSeq.Add(1))
	return pool.New(append([]pool.Option{pool.WithWorkers(poolWorkers), pool.WithName(name)}, opts...)...)
}

// closePool lets the workers go and waits for them.
func closePool(p *pool.Pool) {
	p.Close()
	p.Join()
}

func countTo(n int) []int64 {
	in := make([]int64, n)
	for i := range in {
		in[i] = int64(i)
	}
	return in
}

// checkDoubled checks W7a's results: 2i at place i.
func checkDoubled(out []int64) error {
	for i, v := range out {
		if v != 2*int64(i) {
			return fmt.Errorf("%w: result %d is %d, expected %d", ErrChecksum, i, v, 2*i)
		}
	}
	return nil
}

// W7a through shmkit's pool: chunk tasks per message, 0 for Python's rule.
func poolMapRun(chunk int) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		p, err := newBenchPool(pool.WithChunkSize(chunk))
		if err != nil {
			return 0, err
		}
		defer closePool(p)
		in := countTo(count)
		if _, err := pool.Map(ctx, p, doubleTask, in[:min(count, 100*poolWorkers)]); err != nil { // workers up
			return 0, err
		}
		settle()
		t0 := time.Now()
		out, err := pool.Map(ctx, p, doubleTask, in)
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		return d, checkDoubled(out)
	}
}

// W7a's floor: goroutines taking tasks from a Go channel and answering on
// another, with no process boundary.
func goroutineMapRun(ctx context.Context, w *Workload, count int) (time.Duration, error) {
	type answer struct{ i, v int64 }
	tasks, answers := make(chan int64, inflight*poolWorkers), make(chan answer, inflight*poolWorkers)
	var wg sync.WaitGroup
	for range poolWorkers {
		wg.Go(func() {
			for x := range tasks {
				answers <- answer{x, 2 * x}
			}
		})
	}
	out := make([]int64, count)
	settle()
	t0 := time.Now()
	go func() {
		for i := range count {
			tasks <- int64(i)
		}
		close(tasks)
	}()
	for range count {
		a := <-answers
		out[a.i] = a.v
	}
	d := time.Since(t0)
	wg.Wait()
	return d, checkDoubled(out)
}

// W7b through shmkit's pool: each task's input is a reference to its
// array in a shared segment, which the worker maps once and reads in
// place.
func poolArraysRun(ctx context.Context, w *Workload, count int) (time.Duration, error) {
	used := min(count, poolArrays)
	lengths := make([]uint64, used)
	for k := range lengths {
		lengths[k] = 8 * arrayElems
	}
	seg, _, done, err := segment(shm.SizeFor(lengths...))
	if err != nil {
		return 0, err
	}
	defer done()
	refs := make([]pool.ArrayRef[float64], used)
	for k := range refs {
		a, err := ctypes.NewRawArray[float64](seg, "a"+itoa(k), arrayElems)
		if err != nil {
			return 0, err
		}
		for j, s := 0, a.Slice(); j < arrayElems; j++ {
			s[j] = float64(k*arrayElems + j)
		}
		if refs[k], err = pool.Ref[float64](seg, a.Name(), 0, arrayElems); err != nil {
			return 0, err
		}
	}
	in := make([]pool.ArrayRef[float64], count)
	for i := range in {
		in[i] = refs[i%used]
	}
	p, err := newBenchPool(pool.WithChunkSize(1))
	if err != nil {
		return 0, err
	}
	defer closePool(p)
	// Two passes over the arrays first, untimed: the workers map the
	// segment and take their page faults, as Python's SharedMemory row does.
	if _, err := pool.Map(ctx, p, sumTask, append(refs, refs...)); err != nil {
		return 0, err
	}
	settle()
	t0 := time.Now()
	sums, err := pool.Map(ctx, p, sumTask, in)
	d := time.Since(t0)
	if err != nil {
		return 0, err
	}
	return d, checkSums(sums, used)
}

func checkSums(sums []float64, used int) error {
	for i, s := range sums {
		if want := arraySum(i % used); s != want {
			return fmt.Errorf("%w: task %d summed %v, expected %v", ErrChecksum, i, s, want)
		}
	}
	return nil
}

// W7b's floor: goroutines summing arrays on the Go heap.
func goroutineArraysRun(ctx context.Context, w *Workload, count int) (time.Duration, error) {
	used := min(count, poolArrays)
	arrays := make([][]float64, used)
	for k := range arrays {
		arrays[k] = make([]float64, arrayElems)
		for j := range arrays[k] {
			arrays[k][j] = float64(k*arrayElems + j)
		}
	}
	type answer struct {
		i int
		s float64
	}
	tasks, answers := make(chan int, count), make(chan answer, count)
	sums := make([]float64, count)
	var wg sync.WaitGroup
	settle()
	t0 := time.Now()
	for range poolWorkers {
		wg.Go(func() {
			for i := range tasks {
				answers <- answer{i, sumOf(arrays[i%used])}
			}
		})
	}
	for i := range count {
		tasks <- i
	}
	close(tasks)
	for range count {
		a := <-answers
		sums[a.i] = a.s
	}
	d := time.Since(t0)
	wg.Wait()
	return d, checkSums(sums, used)
}

// W7c through shmkit's pool: Map over count tasks, Python's chunk size,
// the default retry; the task in the middle kills its worker.
func poolKillRun(ctx context.Context, w *Workload, count int) (time.Duration, error) {
	seg, name, done, err := segment(segmentFor(4096))
	if err != nil {
		return 0, err
	}
	defer done()
	flag, err := ctypes.NewRawValue[int32](seg, "done", 0)
	if err != nil {
		return 0, err
	}
	_, err = ctypes.NewRawValue[int64](seg, "at", int64(count/2))
	if err != nil {
		return 0, err
	}
	when, err := ctypes.NewRawValue[int64](seg, "when", 0)
	if err != nil {
		return 0, err
	}
	p, err := newBenchPool(pool.WithInitializer(openKill, name))
	if err != nil {
		return 0, err
	}
	defer closePool(p)
	if _, err := pool.Map(ctx, p, doubleTask, countTo(4*poolWorkers)); err != nil { // workers up
		return 0, err
	}
	out, err := pool.Map(ctx, p, dieTask, countTo(count))
	end := time.Now().UnixNano()
	if flag.Load() != 1 {
		return 0, fmt.Errorf("W7c: no worker was killed (%v)", err)
	}
	var errs pool.Errors
	if err != nil && !errors.As(err, &errs) {
		return 0, err
	}
	correct := 0
	for i, v := range out {
		if v == 2*int64(i) {
			correct++
		} else if !failedAt(errs, i) {
			return 0, fmt.Errorf("%w: result %d is %d, expected %d", ErrChecksum, i, v, 2*i)
		}
	}
	note := fmt.Sprintf("%d of %d correct, %d errors", correct, count, len(errs))
	if len(errs) > 0 {
		note += ": " + errs[0].Error()
	}
	setOutcome(ctx, note)
	return time.Duration(end-when.Load()) * time.Duration(count), nil // W7c's figure is one time, not a rate per task
}

// failedAt reports whether task i is among errs.
func failedAt(errs pool.Errors, i int) bool {
	for _, e := range errs {
		if e.Index == i {
			return true
		}
	}
	return false
}

// The Python rows: pool.py, run with python3.

//go:embed pool.py
var poolPy []byte

// pythonPool runs pool.py kind count workers and extra, and returns the
// words it printed.
func pythonPool(ctx context.Context, kind string, count int, extra ...string) ([]string, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("%w: no python3", ErrUnavailable)
	}
	dir, err := os.MkdirTemp("", "shmkit-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "pool.py")
	if err := os.WriteFile(script, poolPy, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, py, append([]string{script, kind, itoa(count), itoa(poolWorkers)}, extra...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("python3 pool.py %s: %w", kind, err)
	}
	return strings.Fields(string(out)), nil
}

// The checksums pool.py reports: the sum of i·result[i] for ordered
// results, of the results for unordered ones, of the sums for W7b.
func tinyChecksum(n int) string      { return strconv.FormatInt(int64(n-1)*int64(n)*int64(2*n-1)/3, 10) }
func unorderedChecksum(n int) string { return strconv.FormatInt(int64(n)*int64(n-1), 10) }
func arraysChecksum(n int) string {
	var s float64
	for i := range n {
		s += arraySum(i % min(n, poolArrays))
	}
	return strconv.FormatFloat(s, 'f', 0, 64)
}

// W7a and W7b through Python: pool.py times the map itself.
func pythonPoolRun(kind string, want func(int) string) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		f, err := pythonPool(ctx, kind, count)
		if err != nil {
			return 0, err
		}
		if len(f) != 2 {
			return 0, fmt.Errorf("python3 pool.py %s: printed %q", kind, f)
		}
		if f[1] != want(count) {
			return 0, fmt.Errorf("%w: python3 pool.py %s reported %s, expected %s", ErrChecksum, kind, f[1], want(count))
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		return time.Duration(ns), err
	}
}

// W7c through Python: the time from the kill until the map returned, or
// until pythonHang ran out (a hang is the row's outcome, not a failure).
func pythonKillRun(kind string) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		f, err := pythonPool(ctx, kind, count, strconv.FormatFloat(pythonHang.Seconds(), 'f', -1, 64))
		if err != nil {
			return 0, err
		}
		if len(f) != 4 {
			return 0, fmt.Errorf("python3 pool.py %s: printed %q", kind, f)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		switch f[3] {
		case "hung":
			setOutcome(ctx, fmt.Sprintf("hung: no result %v after the kill (gave up at %v); terminated", time.Duration(ns).Round(time.Millisecond), pythonHang))
		case "broken":
			setOutcome(ctx, fmt.Sprintf("%s of %d correct, then BrokenProcessPool for the other %s; the executor cannot be used again", f[1], count, f[2]))
		case "returned":
			setOutcome(ctx, fmt.Sprintf("%s of %d correct, %s errors", f[1], count, f[2]))
		default:
			return 0, fmt.Errorf("%w: python3 pool.py %s: %q", ErrChecksum, kind, f)
		}
		return time.Duration(ns) * time.Duration(count), nil // one time, not a rate
	}
}

// W7a's C baseline: cpool/cpool.c, built with cc on first use and kept in
// the user's cache directory under the source's hash.

//go:embed cpool/cpool.c
var cPoolSource []byte

var cPoolBuilt struct {
	sync.Mutex
	path string
}

// cPoolBuild returns the built C pool, building it if this process has
// not yet (a failure is not kept: cc may be on the PATH next time).
func cPoolBuild() (string, error) {
	cPoolBuilt.Lock()
	defer cPoolBuilt.Unlock()
	if cPoolBuilt.path == "" {
		path, err := buildCPool()
		if err != nil {
			return "", err
		}
		cPoolBuilt.path = path
	}
	return cPoolBuilt.path, nil
}

func buildCPool() (string, error) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return "", fmt.Errorf("%w: no cc", ErrUnavailable)
	}
	sum := sha256.Sum256(cPoolSource)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "shmkit", "cpool-"+hex.EncodeToString(sum[:8]))
	bin := filepath.Join(dir, "cpool")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	src := filepath.Join(dir, "cpool.c")
	if err := os.WriteFile(src, cPoolSource, 0o644); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
	if out, err := exec.Command(cc, "-O2", "-o", tmp, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("cc cpool.c: %w: %s", err, out)
	}
	return bin, os.Rename(tmp, bin)
}

func cPoolRun(ctx context.Context, w *Workload, count int) (time.Duration, error) {
	prog, err := cPoolBuild()
	if err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, prog, itoa(count), itoa(poolWorkers), itoa(inflight)).Output()
	if err != nil {
		return 0, fmt.Errorf("cpool: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[1] != tinyChecksum(count) {
		return 0, fmt.Errorf("%w: cpool printed %q, expected the checksum %s", ErrChecksum, out, tinyChecksum(count))
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns), err
}

// settle collects the garbage of a row's set-up before its timed part,
// so that no mark phase of this process takes a CPU from the timed map
// (the floors allocate their 64 MiB of arrays just before).
func settle() { runtime.GC() }
