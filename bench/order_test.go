package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunRotates: each round starts one implementation later, so every
// implementation runs first, and after each other one, in some round.
func TestRunRotates(t *testing.T) {
	var order []string
	impl := func(name string) Impl {
		return Impl{Name: name, run: func(context.Context, *Workload, int) (time.Duration, error) {
			order = append(order, name)
			return time.Millisecond, nil
		}}
	}
	w := &Workload{ID: "W0", Figure: Throughput, Count: 10, Impls: []Impl{impl("A"), impl("B"), impl("C")}}
	results := Run(context.Background(), []*Workload{w}, Options{Rounds: 4})
	if got, want := strings.Join(order, ""), "ABCBCACABABC"; got != want {
		t.Fatalf("runs in order %s, want %s", got, want)
	}
	for j, r := range results[0] {
		if r.Impl != w.Impls[j].Name || r.Rounds != 4 {
			t.Errorf("result %d is %s after %d rounds, want %s after 4", j, r.Impl, r.Rounds, w.Impls[j].Name)
		}
	}
}

// fixedImpl is an implementation whose runs take the given times in turn.
func fixedImpl(name string, runs ...time.Duration) Impl {
	i := 0
	return Impl{Name: name, run: func(context.Context, *Workload, int) (time.Duration, error) {
		d := runs[i%len(runs)]
		i++
		return d, nil
	}}
}

// TestRunSpread: each result gives the slowest and fastest round beside
// the median, in the workload's unit, and each round's figure; says when
// it is a smoke run; and names its workload's variant (in --json, W5's
// lock from its atomic).
func TestRunSpread(t *testing.T) {
	w := &Workload{ID: "W0", Variant: "lock", Figure: RoundTrip, Count: 1000,
		Impls: []Impl{fixedImpl("A", 3*time.Millisecond, time.Millisecond, 2*time.Millisecond)}}
	r := Run(context.Background(), []*Workload{w}, Options{Rounds: 3, Smoke: true})[0][0]
	if len(r.Samples) != 3 || r.Samples[0] != 3000 || r.Samples[1] != 1000 || r.Samples[2] != 2000 {
		t.Fatalf("samples %v, want each round's figure in order: [3000 1000 2000]", r.Samples)
	}
	if r.RTTNs != 2000 || r.Min != 1000 || r.Max != 3000 || !r.Smoke || r.Variant != "lock" {
		t.Fatalf("median %v min %v max %v smoke %v variant %q, want 2000 1000 3000 true lock", r.RTTNs, r.Min, r.Max, r.Smoke, r.Variant)
	}
}

// TestFloorBeaten: a row more than 10% better than the C floor of its
// workload is named, whichever way the figure goes; one within 10% is not.
// Batched rows are held to the batched floor, which is not itself held to
// the per-message one.
func TestFloorBeaten(t *testing.T) {
	ms := time.Millisecond
	stream := &Workload{ID: "W2", Figure: Throughput, Count: 1000, Impls: []Impl{
		fixedImpl("fast", 8*ms), fixedImpl(FloorImpl, 10*ms), fixedImpl("close", 9500*time.Microsecond), fixedImpl("slow", 20*ms),
		fixedImpl(BatchedFloorImpl, 4*ms), fixedImpl("x batched", 5*ms), fixedImpl("y batched", 3*ms)}}
	pingPong := &Workload{ID: "W3", Figure: RoundTrip, Count: 1000, Impls: []Impl{
		fixedImpl(FloorImpl, 10*ms), fixedImpl("quick", 5*ms), fixedImpl("slow", 20*ms)}}
	noFloor := &Workload{ID: "W5", Figure: Ops, Count: 1000, Impls: []Impl{fixedImpl("a", ms), fixedImpl("b", 9*ms)}}
	dict := &Workload{ID: "W8", Variant: "set", Figure: Ops, Count: 1000, Impls: []Impl{
		fixedImpl("shmkit", 4*ms), fixedImpl(W8Floor, 5*ms)}}
	got := FloorBeaten(Run(context.Background(), []*Workload{stream, pingPong, noFloor, dict}, Options{Rounds: 1}))
	if len(got) != 4 || got[0] != "W2 fast beats the C floor by 1.25× on the median: the floor or the row is wrong" ||
		!strings.HasPrefix(got[1], "W2 y batched beats the C floor batched by 1.33×") ||
		!strings.HasPrefix(got[2], "W3 quick beats the C floor by 2.00×") ||
		!strings.HasPrefix(got[3], "W8 set shmkit beats the Go map+Mutex (floor) by 1.25×") {
		t.Fatalf("FloorBeaten = %q", got)
	}

	// Over rounds: a row ahead in every round is wrong, one behind in a
	// round is inside the spread.
	spread := &Workload{ID: "W1", Figure: Throughput, Count: 1000, Impls: []Impl{
		fixedImpl(FloorImpl, 10*ms, 10*ms, 8*ms), fixedImpl("ahead", 8*ms, 7*ms, 7*ms), fixedImpl("mixed", 8*ms, 8*ms, 10*ms)}}
	got = FloorBeaten(Run(context.Background(), []*Workload{spread}, Options{Rounds: 3}))
	want := []string{
		"W1 ahead beats the C floor by 1.43× on the median and in every round (1.14–1.43× by round): the floor or the row is wrong",
		"W1 mixed beats the C floor by 1.25× on the median, but not in every round (0.80–1.25× by round): the gap is inside the spread between rounds",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("FloorBeaten over rounds = %q, want %q", got, want)
	}

	// A smoke run says so, in place of a verdict.
	got = FloorBeaten(Run(context.Background(), []*Workload{stream}, Options{Rounds: 1, Smoke: true}))
	if len(got) != 2 || got[0] != "W2 fast beats the C floor by 1.25× on the median in a smoke run, where start-up and placement decide the short runs: compare a full run" {
		t.Fatalf("FloorBeaten of a smoke run = %q", got)
	}
}

// TestRoundSpeedups: each round's figures are set against each other, so
// a round where the row ran slow and the baseline fast shows, which the
// medians hide; a round trip counts a shorter time as better.
func TestRoundSpeedups(t *testing.T) {
	ms := time.Millisecond
	w := &Workload{ID: "W3", Figure: RoundTrip, Count: 1000, Impls: []Impl{
		fixedImpl("shmkit", 12*ms, 10*ms, 15*ms), fixedImpl(FloorImpl, 10*ms, 10*ms, 10*ms)}}
	rs := Run(context.Background(), []*Workload{w}, Options{Rounds: 3})[0]
	lo, hi, ok := RoundSpeedups(rs[0], rs[1])
	if !ok || lo != 10.0/15 || hi != 1 {
		t.Fatalf("RoundSpeedups = %v, %v, %v; want %v, 1, true", lo, hi, ok, 10.0/15)
	}
	if s := Speedup(rs[0], rs[1]); s != 10.0/12 {
		t.Fatalf("median Speedup = %v, want %v", s, 10.0/12)
	}
	one := Run(context.Background(), []*Workload{w}, Options{Rounds: 1})[0]
	if _, _, ok := RoundSpeedups(one[0], one[1]); ok {
		t.Fatal("RoundSpeedups of one round: ok")
	}
}
