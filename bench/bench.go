package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shmkit/shmkit/internal/cbind"
)

// A Workload is one row of the benchmark: shmkit's implementation first,
// then the baselines it is compared with.
type Workload struct {
	ID      string // W1 ... W6
	Variant string // "lock" or "atomic" for W5, else ""
	Title   string
	Elems   int // float64 per message, or 0
	Count   int // messages, round trips or additions in a full run
	Figure  Figure
	Impls   []Impl
}

// Figure says what a workload measures.
type Figure int

const (
	Throughput Figure = iota // messages per second (and MB/s when Elems > 1)
	RoundTrip                // nanoseconds per round trip
	Ops                      // operations per second
)

// An Impl runs a workload count times and reports how long that took.
type Impl struct {
	Name string
	// Div divides the count for slow implementations, so that each run
	// takes about as long; figures are rates, so they stay comparable.
	Div int
	run func(ctx context.Context, w *Workload, count int) (time.Duration, error)
}

// FloorImpl names the C floor's row in W1-W3: the least work that can
// move the data, which no other row should beat (FloorBeaten).
const FloorImpl = "C floor"

// BatchedFloorImpl names W2's floor for batching rows: values stored in a
// plain ring and published once a batch. A row whose name says "batched"
// is held to it rather than to FloorImpl, which publishes every message.
const BatchedFloorImpl = "C floor batched"

// Prefault says how the rows treat their rings' pages, for the output:
// all alike, so that W1 compares protocols rather than page faults.
const Prefault = "every shared ring and buffer is mapped in before the timed run " +
	"(MADV_POPULATE_WRITE, then a read of each page): shmkit's channels at open in Go, C and Python; the C floor, " +
	"the C FloatChannel and the Boost peers after they map it; the Python seed's objects as Python makes them"

// Label names a workload in tables: "W1", "W4 size=1", "W5 lock", "W7a".
func (w *Workload) Label() string {
	switch {
	case w.ID == "W7":
		return w.ID + w.Variant
	case w.Variant != "":
		return w.ID + " " + w.Variant
	case w.ID == "W4":
		return fmt.Sprintf("W4 size=%d", w.Elems)
	}
	return w.ID
}

// Workloads returns the workloads W1-W8 with their implementations, each
// defined in its own file with its roles (stream.go, pingpong.go,
// counter.go, semaphores.go, pool.go, w8.go).
func Workloads() []*Workload {
	const big = 100_000
	return append([]*Workload{
		streamWorkload("W1", "100,000 float64 per message, copied out", big, 6000),
		streamWorkload("W2", "one float64 per message, streamed", 1, 20_000_000),
		pingPongWorkload(),
		floatChannelWorkload(1, 200_000),
		floatChannelWorkload(big, 2000),
	}, append(append(append(counterWorkloads(), semaphoreWorkload()), poolWorkloads()...), dictWorkloads()...)...)
}

// Select keeps the workloads whose ID is in ids (all if ids is empty).
func Select(all []*Workload, ids []string) ([]*Workload, error) {
	if len(ids) == 0 {
		return all, nil
	}
	var out []*Workload
	for _, id := range ids {
		id = strings.TrimSpace(id)
		found := false
		for _, w := range all {
			if strings.EqualFold(w.ID, id) {
				found = true
				if !slices.Contains(out, w) { // W6,w6: once
					out = append(out, w)
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: %q", ErrUnknown, id)
		}
	}
	return out, nil
}

// Result is the outcome of one implementation of one workload over all
// rounds: medians, and whether every run's data checked out.
type Result struct {
	Workload string  `json:"workload"`
	Variant  string  `json:"variant,omitempty"` // W5's "lock" or "atomic", W7's "a", W8's "set", ...
	Impl     string  `json:"impl"`
	Elems    int     `json:"elems,omitempty"`
	Count    int     `json:"count"`
	Rounds   int     `json:"rounds"`
	MsgsPerS float64 `json:"msgs_per_s,omitempty"`
	MBPerS   float64 `json:"MB_per_s,omitempty"`
	RTTNs    float64 `json:"rtt_ns,omitempty"`
	OpsPerS  float64 `json:"ops_per_s,omitempty"`
	// Min and Max are the spread of the main figure (msgs/s, rtt ns or
	// ops/s) over the rounds, beside its median; Samples is the figure of
	// each round, in order, so that rows can be set against each other
	// round by round (RoundSpeedups).
	Min     float64   `json:"min,omitempty"`
	Max     float64   `json:"max,omitempty"`
	Samples []float64 `json:"samples,omitempty"`
	Smoke   bool      `json:"smoke,omitempty"` // a --quick run: not steady state
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
	// BytesPerKey is what a store grew by per key set (W8 set), median
	// over the rounds.
	BytesPerKey float64 `json:"bytes_per_key,omitempty"`
	// Outcome is what the implementation returned, where that is part of
	// the result (W7c: which tasks had their results after a worker died).
	Outcome string `json:"outcome,omitempty"`

	err    error
	label  string
	figure Figure

	spaces []float64 // per round, bytes per key, from runs that report it
}

// Unavailable reports whether the implementation could not run here (no
// python3, no cgo: a lock that is a pthread mutex), as opposed to failing.
func (r *Result) Unavailable() bool {
	return errors.Is(r.err, ErrUnavailable) || errors.Is(r.err, cbind.ErrNoCgo)
}

// Label is the workload's label ("W4 size=1").
func (r *Result) Label() string { return r.label }

// Main is the figure compared between implementations: msgs/s, rtt ns or
// ops/s. HigherIsBetter says which way is better.
func (r *Result) Main() float64 {
	switch r.figure {
	case RoundTrip:
		return r.RTTNs
	case Ops:
		return r.OpsPerS
	}
	return r.MsgsPerS
}

// HigherIsBetter is false for round trips.
func (r *Result) HigherIsBetter() bool { return r.figure != RoundTrip }

// Ratio is a's main figure over b's: for throughputs above 1 means a is
// faster, for round trips below 1 does. 0 if either did not run.
func Ratio(a, b *Result) float64 {
	if !a.OK || !b.OK || a.Main() == 0 || b.Main() == 0 {
		return 0
	}
	return a.Main() / b.Main()
}

// Speedup is how many times better a is than b, whichever way the figure
// goes (above 1: a wins).
func Speedup(a, b *Result) float64 {
	r := Ratio(a, b)
	if r == 0 || a.HigherIsBetter() {
		return r
	}
	return 1 / r
}

// RoundSpeedups is the least and the most Speedup of a over b in any one
// round, each round's figures set against each other: for a bound that
// must hold in every round, where the medians' Speedup says nothing of
// the spread. ok is false unless both ran more than one round.
func RoundSpeedups(a, b *Result) (lo, hi float64, ok bool) {
	if !a.OK || !b.OK || len(a.Samples) < 2 || len(a.Samples) != len(b.Samples) {
		return 0, 0, false
	}
	lo, hi = math.Inf(1), 0
	for k := range a.Samples {
		if a.Samples[k] == 0 || b.Samples[k] == 0 {
			return 0, 0, false
		}
		s := a.Samples[k] / b.Samples[k]
		if !a.HigherIsBetter() {
			s = 1 / s
		}
		lo, hi = min(lo, s), max(hi, s)
	}
	return lo, hi, true
}

// Options of a run.
type Options struct {
	Rounds   int                                       // interleaved rounds; the median is kept
	Scale    float64                                   // multiplies every count (--quick uses 0.1)
	Smoke    bool                                      // a smoke run (--quick): results say so
	Progress func(w *Workload, impl string, round int) // called before each run, if set
}

// Run runs each workload's implementations once per round, interleaved
// and rotated (round 1: A B C, round 2: B C A, ...) so that drift in the
// machine hits them alike and no implementation always runs right after
// the same one: a run pays for what the one before it left behind (pages
// freed by the Python baseline made the next run's first lap of page
// faults up to a third slower). It returns one Result per workload and
// implementation.
func Run(ctx context.Context, workloads []*Workload, o Options) [][]*Result {
	if o.Rounds < 1 {
		o.Rounds = 1
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	results := make([][]*Result, len(workloads))
	for i, w := range workloads {
		for _, impl := range w.Impls {
			results[i] = append(results[i], &Result{Workload: w.ID, Variant: w.Variant, Impl: impl.Name, Elems: w.Elems,
				Count: countOf(w, impl, o.Scale), Smoke: o.Smoke, OK: true, label: w.Label(), figure: w.Figure})
		}
	}
	for round := range o.Rounds {
		for i, w := range workloads {
			for k := range w.Impls {
				j := (k + round) % len(w.Impls)
				impl, r := w.Impls[j], results[i][j]
				if !r.OK {
					continue // it failed or cannot run here: do not retry
				}
				if o.Progress != nil {
					o.Progress(w, impl.Name, round)
				}
				var rep runReport
				d, err := impl.run(context.WithValue(ctx, reportKey{}, &rep), w, r.Count)
				if rep.outcome != "" {
					r.Outcome = rep.outcome
				}
				if err != nil {
					r.OK, r.Error, r.err = false, err.Error(), err
					continue
				}
				r.Samples = append(r.Samples, rate(w, r.Count, d))
				if rep.space > 0 {
					r.spaces = append(r.spaces, rep.space)
				}
				r.Rounds = len(r.Samples)
			}
		}
	}
	for _, rs := range results {
		for _, r := range rs {
			r.summarise()
		}
	}
	return results
}

func countOf(w *Workload, impl Impl, scale float64) int {
	c := float64(w.Count) * scale
	if impl.Div > 1 {
		c /= float64(impl.Div)
	}
	return max(10, int(c))
}

// rate turns a run into the workload's main unit.
func rate(w *Workload, count int, d time.Duration) float64 {
	if w.Figure == RoundTrip {
		return float64(d.Nanoseconds()) / float64(count)
	}
	return float64(count) / d.Seconds()
}

func (r *Result) summarise() {
	if len(r.Samples) == 0 {
		r.OK = r.OK && r.Error == ""
		if r.Error == "" {
			r.Error = "no runs"
		}
		return
	}
	if len(r.spaces) > 0 {
		r.BytesPerKey = median(r.spaces)
	}
	m := median(r.Samples)
	r.Min, r.Max = slices.Min(r.Samples), slices.Max(r.Samples)
	switch r.figure {
	case RoundTrip:
		r.RTTNs = m
	case Ops:
		r.OpsPerS = m
	default:
		r.MsgsPerS = m
		if r.Elems > 1 {
			r.MBPerS = m * float64(8*r.Elems) / 1e6
		}
	}
}

// floorMargin is how far a row may beat the C floor's median before the
// run calls it more than noise.
const floorMargin = 1.10

// FloorBeaten names each row that beats its workload's floor (the C floor
// of W1-W3, the batched floor for W2's batched rows, W8's Go map) by more
// than noise (10% on the median), as warnings to print: the floor is the
// least work that can move the data, so a row that beats it in every round
// means a wrong floor or a wrong row. A row that beats it on the median
// but not in every interleaved round is said to be inside the spread: W1's
// rows move by a fifth between rounds (docs/bench.md). In a smoke run it
// says so instead: there, where the processes start can decide a row.
// Boost's W2 pair, whose waits yield, ran 3.1 ns a message on one CPU
// against about 10 on two.
func FloorBeaten(results [][]*Result) []string {
	var out []string
	for _, rs := range results {
		var floor, batched *Result
		for _, r := range rs {
			switch r.Impl {
			case FloorImpl, W8Floor:
				floor = r
			case BatchedFloorImpl:
				batched = r
			}
		}
		for _, r := range rs {
			f := floor
			if batched != nil && batched.OK && strings.Contains(r.Impl, "batched") {
				f = batched // which is itself so named, and not held to floor
			}
			if f == nil || r == f || r == batched {
				continue
			}
			s := Speedup(r, f)
			if s <= floorMargin {
				continue
			}
			m := fmt.Sprintf("%s %s beats the %s by %.2f× on the median", r.Label(), r.Impl, f.Impl, s)
			if lo, hi, ok := RoundSpeedups(r, f); r.Smoke {
				m += " in a smoke run, where start-up and placement decide the short runs: compare a full run"
			} else if ok && lo <= 1 {
				m += fmt.Sprintf(", but not in every round (%.2f–%.2f× by round): the gap is inside the spread between rounds", lo, hi)
			} else if ok {
				m += fmt.Sprintf(" and in every round (%.2f–%.2f× by round): the floor or the row is wrong", lo, hi)
			} else {
				m += ": the floor or the row is wrong"
			}
			out = append(out, m)
		}
	}
	return out
}

// A runReport is what a run may say beside its time, carried in its context
// under reportKey: the bytes per key its store took (W8 set) and what it
// returned (W7c).
type runReport struct {
	space   float64
	outcome string
}

type reportKey struct{}

// reportSpace records a run's bytes per key for its Result.
func reportSpace(ctx context.Context, bytesPerKey float64) {
	if rep, ok := ctx.Value(reportKey{}).(*runReport); ok {
		rep.space = bytesPerKey
	}
}

// setOutcome records what a run returned, for its Result's Outcome.
func setOutcome(ctx context.Context, s string) {
	if rep, ok := ctx.Value(reportKey{}).(*runReport); ok {
		rep.outcome = s
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// nativeRun runs a C implementation where this build has the C workers.
func nativeRun(run func(context.Context, *Workload, int) (time.Duration, error)) func(context.Context, *Workload, int) (time.Duration, error) {
	if !cgoWorkers {
		return func(context.Context, *Workload, int) (time.Duration, error) {
			return 0, fmt.Errorf("%w: built without cgo", ErrUnavailable)
		}
	}
	return run
}

// RunOnce runs one implementation of w over count items, once, and
// returns how long the work took (start-up excluded).
func RunOnce(ctx context.Context, w *Workload, impl Impl, count int) (time.Duration, error) {
	return impl.run(ctx, w, count)
}
