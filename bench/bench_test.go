package bench_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/shmkit/shmkit/bench"
	"github.com/shmkit/shmkit/internal/proctest"
)

func TestMain(m *testing.M) {
	bench.Worker()
	proctest.Main(m, nil, privatePythonCache())
}

// The workloads as go test benchmarks, one function per workload, named
// for benchstat: BenchmarkW1/impl=shmkit/size=100000. ns/op is the time
// of one message, round trip, addition or pool task between the workers,
// start-up excluded (W7c's is the time from the kill until the map
// returns); byte streams also give MB/s. W8 is in w8_test.go.
func BenchmarkW1(b *testing.B) { benchWorkload(b, "W1") }
func BenchmarkW2(b *testing.B) { benchWorkload(b, "W2") }
func BenchmarkW3(b *testing.B) { benchWorkload(b, "W3") }
func BenchmarkW4(b *testing.B) { benchWorkload(b, "W4") }
func BenchmarkW5(b *testing.B) { benchWorkload(b, "W5") }
func BenchmarkW6(b *testing.B) { benchWorkload(b, "W6") }
func BenchmarkW7(b *testing.B) { benchWorkload(b, "W7") }

func benchWorkload(b *testing.B, id string) {
	ws, err := bench.Select(bench.Workloads(), []string{id})
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range ws {
		for _, impl := range w.Impls {
			name := "impl=" + impl.Name
			if w.Variant != "" {
				name = "variant=" + w.Variant + "/" + name
			}
			if w.Elems > 0 {
				name += fmt.Sprintf("/size=%d", w.Elems)
			}
			b.Run(name, func(b *testing.B) {
				if w.Elems > 1 {
					b.SetBytes(int64(8 * w.Elems))
				}
				d, err := bench.RunOnce(b.Context(), w, impl, b.N)
				if errors.Is(err, bench.ErrUnavailable) {
					b.Skip(err)
				}
				if err != nil {
					b.Fatal(err)
				}
				perOp := float64(d.Nanoseconds()) / float64(b.N)
				b.ReportMetric(perOp, "ns/op") // the workers' time, not the start-up's
				if w.Elems > 1 {
					b.ReportMetric(float64(8*w.Elems)*1e3/perOp, "MB/s")
				}
			})
		}
	}
}

func TestSelect(t *testing.T) {
	all := bench.Workloads()
	ws, err := bench.Select(all, []string{"w4", "W1"})
	if err != nil || len(ws) != 3 || ws[0].ID != "W4" || ws[2].ID != "W1" {
		t.Fatalf("Select(w4, W1) = %v, %v", ws, err)
	}
	if _, err := bench.Select(all, []string{"W9"}); !errors.Is(err, bench.ErrUnknown) {
		t.Fatalf("Select(W9): %v, want ErrUnknown", err)
	}
	// A workload named twice runs once (it ran twice, its rows doubled);
	// spaces around a name are not part of it.
	if ws, err := bench.Select(all, []string{"W6", "w6", " W6 "}); err != nil || len(ws) != 1 {
		t.Fatalf("Select(W6, w6, ' W6 ') = %d workloads, %v", len(ws), err)
	}
}

// TestLongStreamChecksums runs W2's fastest rows over 200 M messages, whose
// checksum, Σ 2k, passes 2^54, from where a float64 holds only multiples
// of 4: every receiver must add it up exactly (they had added in float64,
// and these rows failed their checksums at such counts).
func TestLongStreamChecksums(t *testing.T) {
	if testing.Short() {
		t.Skip("200 M messages a row")
	}
	ws, err := bench.Select(bench.Workloads(), []string{"W2"})
	if err != nil {
		t.Fatal(err)
	}
	w := *ws[0]
	w.Impls = nil
	for _, impl := range ws[0].Impls {
		switch impl.Name {
		case bench.FloorImpl, bench.BatchedFloorImpl, bench.BatchedImpl, "Boost spsc_queue batched":
			w.Impls = append(w.Impls, impl)
		}
	}
	if len(w.Impls) != 4 {
		t.Fatalf("W2 has %d of the four rows", len(w.Impls))
	}
	scale := 200_000_000 / float64(w.Count)
	for _, r := range bench.Run(t.Context(), []*bench.Workload{&w}, bench.Options{Rounds: 1, Scale: scale})[0] {
		if !r.OK && !r.Unavailable() {
			t.Errorf("%s %s: %s", r.Label(), r.Impl, r.Error)
		}
	}
}

// TestQuickRun runs W1-W6 once at a small count: every implementation's
// data must check out. W7 and W8 have tests of their own (TestW7,
// TestW8Rows) that check their outcomes too.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every workload")
	}
	ws, err := bench.Select(bench.Workloads(), []string{"W1", "W2", "W3", "W4", "W5", "W6"})
	if err != nil {
		t.Fatal(err)
	}
	results := bench.Run(t.Context(), ws, bench.Options{Rounds: 1, Scale: 0.01})
	for _, rs := range results {
		for _, r := range rs {
			if !r.OK && !r.Unavailable() {
				t.Errorf("%s %s: %s", r.Label(), r.Impl, r.Error)
			}
			if r.OK && (r.Main() <= 0 || r.Min > r.Main() || r.Max < r.Main()) {
				t.Errorf("%s %s: figure %v, spread %v–%v", r.Label(), r.Impl, r.Main(), r.Min, r.Max)
			}
		}
	}
}
