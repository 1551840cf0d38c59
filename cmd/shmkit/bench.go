package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/bench"
)

// cmdBench runs the workloads and prints medians and ratios to shmkit's
// implementation.
func cmdBench(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("bench")
	quick := fl.Bool("quick", false, "a tenth of the work, one round unless --rounds is given (well under 30 s)")
	rounds := fl.Int("rounds", 5, "interleaved rounds; the median is reported")
	only := fl.String("only", "", "comma-separated workloads to run, e.g. W1,W3")
	asJSON := fl.Bool("json", false, "one JSON object per line per workload and implementation")
	svg := fl.String("svg", "", "write a bar chart of the ratios to this SVG file")
	rest, err := parse(fl, "[--quick] [--rounds N] [--only W1,W3] [--json] [--svg FILE]", args, stdout)
	if err != nil {
		return err
	}
	if err := noArgs(rest); err != nil {
		return err
	}
	if *rounds < 1 {
		return usagef("--rounds must be at least 1, not %d", *rounds)
	}
	if *svg != "" { // before the run, not after it
		if err := unix.Access(filepath.Dir(*svg), unix.W_OK); err != nil {
			return usagef("--svg %s: cannot write there: %v", *svg, err)
		}
	}
	var ids []string
	if flagSet(fl, "only") {
		ids = strings.Split(*only, ",")
		for _, id := range ids {
			if strings.TrimSpace(id) == "" {
				return usagef("--only names workloads, as W1,W3: %q has an empty one", *only)
			}
		}
	}
	all := bench.Workloads()
	workloads, err := bench.Select(all, ids)
	if errors.Is(err, bench.ErrUnknown) {
		var known []string
		for _, w := range all {
			if len(known) == 0 || known[len(known)-1] != w.ID {
				known = append(known, w.ID)
			}
		}
		return usagef("--only %s: no such workload; they are %s", *only, strings.Join(known, ", "))
	}
	if err != nil {
		return err
	}
	o := bench.Options{Rounds: *rounds, Scale: 1}
	if *quick {
		o.Scale, o.Smoke = 0.1, true
		if !flagSet(fl, "rounds") {
			o.Rounds = 1
		}
	}
	// On a terminal, one line rewritten in place; elsewhere, one line per run.
	end := "\n"
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			end = "\r"
		}
	}
	o.Progress = func(w *bench.Workload, impl string, round int) {
		fmt.Fprintf(stderr, "round %d/%d  %-15s %-14s%s", round+1, o.Rounds, w.Label(), impl, end)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	loadBefore := loadAverage()
	results := bench.Run(ctx, workloads, o)
	load := fmt.Sprintf("load average %s before the run, %s after, on %d CPUs", loadBefore, loadAverage(), runtime.NumCPU())
	if end == "\r" {
		fmt.Fprintf(stderr, "%60s\r", "")
	}

	warnings := bench.FloorBeaten(results)
	if *asJSON {
		// The notes go to stderr, so that stdout stays one object a line.
		if o.Smoke {
			fmt.Fprintln(stderr, smokeNote)
		}
		fmt.Fprintln(stderr, "pre-faulting: "+bench.Prefault)
		fmt.Fprintln(stderr, load)
		printWarnings(stderr, warnings, load)
		enc := json.NewEncoder(stdout)
		for _, rs := range results {
			for _, r := range rs {
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
		}
	} else {
		printTable(stdout, results, o, load)
		printWarnings(stdout, warnings, load)
	}
	if *svg != "" {
		if err := os.WriteFile(*svg, []byte(chart(results, o)), 0o644); err != nil {
			return err
		}
	}
	for _, rs := range results {
		for _, r := range rs {
			if !r.OK && !r.Unavailable() {
				return fmt.Errorf("%s %s: %s", r.Label(), r.Impl, r.Error)
			}
		}
	}
	return nil
}

// smokeNote heads a --quick run's output.
const smokeNote = "SMOKE RUN (--quick): a tenth of the counts; start-up and the shared machine's noise " +
	"dominate, so these figures only show that every row runs. Compare figures from a full run."

// printTable prints one line per implementation: its medians with their
// spread over the rounds, and for baselines shmkit's figure divided by
// theirs.
func printTable(w io.Writer, results [][]*bench.Result, o bench.Options, load string) {
	if o.Smoke {
		fmt.Fprintln(w, smokeNote)
	}
	fmt.Fprintf(w, "shmkit bench: %s; %s; medians of %d interleaved round(s), min–max over the rounds beside them.\n",
		machine(), load, o.Rounds)
	fmt.Fprintln(w, "pre-faulting: "+bench.Prefault+".")
	fmt.Fprintln(w, "shmkit vs impl: how many times better (or worse) shmkit's figure is than the row's, whichever way the figure goes;")
	fmt.Fprintln(w, "by round: the same, the worst and the best of the rounds, each round's two figures set against each other.")
	fmt.Fprintln(w)
	// W8's stores also give the bytes they grew by per key set.
	space := false
	for _, rs := range results {
		for _, r := range rs {
			space = space || r.BytesPerKey > 0
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "workload\timpl\tcount\tmsgs/s\tMB/s\trtt ns\tops/s\tmin–max\tshmkit vs impl\tby round\tcheck\t"
	if space {
		head += "bytes/key\t"
	}
	fmt.Fprintln(tw, head)
	for _, rs := range results {
		for i, r := range rs {
			label := r.Label()
			if i > 0 {
				label = ""
			}
			ratio, rounds := "", ""
			if i > 0 {
				ratio = versus(bench.Speedup(rs[0], r))
				if lo, hi, ok := bench.RoundSpeedups(rs[0], r); ok {
					rounds = versus(lo) + " … " + versus(hi)
				}
			}
			check := "ok"
			if !r.OK {
				check = "–"
				if !r.Unavailable() {
					check = "FAILED"
				}
			}
			spread := ""
			if r.OK {
				spread = num(r.Min) + "–" + num(r.Max)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", label, r.Impl, r.Count,
				num(r.MsgsPerS), num(r.MBPerS), num(r.RTTNs), num(r.OpsPerS), spread, ratio, rounds, check)
			if space {
				fmt.Fprintf(tw, "%s\t", num(r.BytesPerKey))
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()
	for _, rs := range results {
		for _, r := range rs {
			if !r.OK {
				fmt.Fprintf(w, "%s %s: %s\n", r.Label(), r.Impl, r.Error)
			} else if r.Outcome != "" {
				fmt.Fprintf(w, "%s %s returned: %s\n", r.Label(), r.Impl, r.Outcome)
			}
		}
	}
}

// printWarnings prints the rows that beat the C floor, and the first
// place to look.
func printWarnings(w io.Writer, warnings []string, load string) {
	for _, m := range warnings {
		fmt.Fprintln(w, "warning: "+m)
	}
	if len(warnings) > 0 {
		fmt.Fprintf(w, "The C floor spins only: it is the floor while each of its two processes has a CPU to itself (%s).\n", load)
	}
}

// loadAverage is the system's one-minute load average, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// versus words a speedup: "2.41× better", "1.30× worse"; empty for 0.
func versus(s float64) string {
	switch {
	case s == 0:
		return ""
	case s >= 1:
		return fmt.Sprintf("%.2f× better", s)
	}
	return fmt.Sprintf("%.2f× worse", 1/s)
}

// machine names the CPU, its count, and the software, for the table and
// the chart.
func machine() string {
	model := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d × %s, %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// num formats a figure with three significant digits and thousands
// separators; empty for 0.
func num(x float64) string {
	if x == 0 {
		return ""
	}
	if x < 100 {
		return fmt.Sprintf("%.3g", x)
	}
	digits := int(math.Floor(math.Log10(x))) + 1
	p := math.Pow(10, float64(digits-3))
	s := fmt.Sprintf("%.0f", math.Round(x/p)*p)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// chart draws how many times better shmkit is than each baseline, on a
// log scale, one bar per workload and baseline.
func chart(results [][]*bench.Result, o bench.Options) string {
	type bar struct {
		label string
		x     float64
	}
	var bars []bar
	for _, rs := range results {
		for _, r := range rs[1:] {
			if s := bench.Speedup(rs[0], r); s > 0 {
				bars = append(bars, bar{rs[0].Label() + " vs " + r.Impl, s})
			}
		}
	}
	const left, width, rowH, top = 250, 520, 22, 58
	// The axis runs over whole powers of ten around the data, 0.1× to 10×
	// at least.
	lo, hi := -1.0, 1.0
	for _, br := range bars {
		lo, hi = math.Min(lo, math.Floor(math.Log10(br.x))), math.Max(hi, math.Ceil(math.Log10(br.x)))
	}
	xOf := func(v float64) float64 {
		l := math.Max(lo, math.Min(hi, math.Log10(v)))
		return left + (l-lo)/(hi-lo)*width
	}
	var b strings.Builder
	h := top + rowH*len(bars) + 40
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", left+width+80, h)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14">How many times better shmkit is than each baseline (log scale; right of 1× is better)</text>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="40" fill="#555">%s; medians of %d interleaved round(s)</text>`+"\n", html.EscapeString(machine()), o.Rounds)
	for e := lo; e <= hi; e++ {
		x := xOf(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ccc"/><text x="%.1f" y="%d" text-anchor="middle">%g×</text>`+"\n",
			x, top-5, x, h-30, x, h-15, math.Pow(10, e))
	}
	one := xOf(1)
	for i, br := range bars {
		y := top + i*rowH
		x := xOf(br.x)
		color, x0, x1 := "#2a7", one, x
		if br.x < 1 {
			color, x0, x1 = "#c44", x, one
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+14, html.EscapeString(br.label))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, y+3, math.Max(1, x1-x0), rowH-6, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", math.Max(x, one)+4, y+14, versus(br.x))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000"/>`+"\n", one, top-5, one, h-30)
	b.WriteString("</svg>\n")
	return b.String()
}

// flagSet reports whether the command line gave flag name.
func flagSet(fl *flag.FlagSet, name string) bool {
	set := false
	fl.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
