package bench_test

import (
	"errors"
	"os"
	"testing"

	"github.com/shmkit/shmkit/bench"
)

func BenchmarkW8(b *testing.B) { benchWorkload(b, "W8") }

// w8 returns W8's set, get and counter workloads.
func w8(t *testing.T) []*bench.Workload {
	ws, err := bench.Select(bench.Workloads(), []string{"W8"})
	if err != nil || len(ws) != 3 {
		t.Fatalf("Select(W8) = %d workloads, %v", len(ws), err)
	}
	return ws
}

// TestW8Rows runs every row of W8 once at a small count: each checks its
// data (every key read back with its value, the counter exact), and the
// set rows report the bytes per key their store grew by. A row whose
// peer is not installed here is skipped, saying why.
func TestW8Rows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, Python and compiled peers")
	}
	for _, w := range w8(t) {
		for _, impl := range w.Impls {
			t.Run(w.Variant+"/"+impl.Name, func(t *testing.T) {
				count := 2000
				if w.Variant == "counter" {
					count = 200
				}
				d, err := bench.RunOnce(t.Context(), w, impl, count)
				if errors.Is(err, bench.ErrUnavailable) {
					t.Skip(err)
				}
				if err != nil {
					t.Fatal(err)
				}
				if d <= 0 {
					t.Fatalf("took %v", d)
				}
			})
		}
	}
}

// privatePythonCache gives this test binary's Python workers a cache of
// their own for the C library they compile (other builds of its sources
// share the machine), unless SHMKIT_CACHE names one; it returns the
// cache's removal.
func privatePythonCache() func() {
	if os.Getenv("SHMKIT_CACHE") != "" {
		return func() {}
	}
	dir, err := os.MkdirTemp("", "shmkit-bench-cache-")
	if err != nil {
		return func() {}
	}
	os.Setenv("SHMKIT_CACHE", dir)
	return func() { os.RemoveAll(dir) }
}
