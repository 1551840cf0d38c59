package bench_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shmkit/shmkit/bench"
)

// TestW7 runs every row of W7 once at a tiny count: each checks what its
// pool returned, and W7c says what each map returned after the kill.
func TestW7(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python's pools and a C pool, and waits out Pool.map's hang")
	}
	ws, err := bench.Select(bench.Workloads(), []string{"W7"})
	if err != nil || len(ws) != 3 {
		t.Fatalf("Select(W7) = %d workloads, %v", len(ws), err)
	}
	for i, rs := range bench.Run(t.Context(), ws, bench.Options{Rounds: 1, Scale: 0.001}) {
		for _, r := range rs {
			switch {
			case r.Unavailable():
				t.Logf("%s %s: %s", r.Label(), r.Impl, r.Error)
				continue
			case !r.OK:
				t.Errorf("%s %s: %s", r.Label(), r.Impl, r.Error)
				continue
			case r.Main() <= 0:
				t.Errorf("%s %s: figure %v", r.Label(), r.Impl, r.Main())
			}
			if ws[i].Variant != "c" {
				continue
			}
			t.Logf("%s %s: %.3g ms: %s", r.Label(), r.Impl, r.RTTNs/1e6, r.Outcome)
			switch {
			case strings.HasPrefix(r.Impl, "shmkit"):
				if want := fmt.Sprintf("%d of %d correct, 0 errors", r.Count, r.Count); r.Outcome != want {
					t.Errorf("%s %s: outcome %q, want %q", r.Label(), r.Impl, r.Outcome, want)
				}
			case r.Outcome == "":
				t.Errorf("%s %s: no outcome", r.Label(), r.Impl)
			}
		}
	}
}

// TestW7WithoutPython: with no python3 to be found, the Python rows are
// unavailable, and the others still run.
func TestW7WithoutPython(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	ws, err := bench.Select(bench.Workloads(), []string{"W7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range bench.Run(t.Context(), ws, bench.Options{Rounds: 1, Scale: 0.001}) {
		for _, r := range rs {
			python := strings.HasPrefix(r.Impl, "Python")
			if python && !r.Unavailable() {
				t.Errorf("%s %s: ok %v, error %q; want unavailable", r.Label(), r.Impl, r.OK, r.Error)
			}
			if !python && !r.OK && !r.Unavailable() {
				t.Errorf("%s %s: %s", r.Label(), r.Impl, r.Error)
			}
		}
	}
}
