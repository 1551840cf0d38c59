// The examples are programs; this test builds each one, runs it as a user
// would, and checks what it prints.
package examples_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shmkit/shmkit/internal/cbind"
)

var examples = []struct {
	name string
	args []string
	want []string // regular expressions, each must match the output
	// check looks at the output beyond the patterns, if set.
	check func(t *testing.T, out string)
	// cgo, if set, is what of the example needs cgo: it is skipped without.
	cgo string
}{
	{name: "counter", cgo: "the value's lock (a pthread mutex)", want: []string{`with the value's lock: 5000\n`, `with atomic Add:\s+5000\n`}, check: func(t *testing.T, out string) {
		m := regexp.MustCompile(`load, add, store:\s+(\d+) of 1000000`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no racy count in %q", out)
		}
		if n, _ := strconv.Atoi(m[1]); n < 1 || n > 1000000 {
			t.Errorf("racy count %d outside 1..1000000", n)
		}
	}},
	{name: "sharedctypes", cgo: "Value and Array's lock (a pthread mutex)", want: []string{`^3\.1415927\n\[0 -1 -2 -3 -4 -5 -6 -7 -8 -9\]\n$`}},
	{name: "squaresum", cgo: "Value and Array's lock (a pthread mutex)", want: []string{`squares: \[1 4 9 16 25 36 49 64 81 100\]`, `sum of squares: 385\n`}},
	{name: "prodcons", want: []string{`sentinel: 3 consumers handled jobs 1\.\.30, sum 465`, `close: 3 consumers handled jobs 1\.\.30, sum 465`}},
	{name: "joinablequeue", want: []string{`^1\n2\n3\n4\nall 4 items handled\n$`}},
	{name: "particles", want: []string{`consumer \((numpy|go)\): 20000 particles`}, check: sameSummary},
	{name: "particles", args: []string{"-consumer", "go", "-n", "5000"}, want: []string{`consumer \(go\): 5000 particles`}, check: sameSummary},
	{name: "adder", want: []string{`1 \+ 2 = 3\n3\.5 \+ 4 = 7\.5\n-10 \+ 10 = 0\n1e\+06 \+ 1 = 1\.000001e\+06\n`, `Server done\n`}},
	{name: "pipe", cgo: "the readers' Lock (a pthread mutex)", want: []string{`^1\n2\n3\n4\nConsumer done\n`, `(?s)Receiver: Received Hello\n.*Receiver: Received World\n.*Receiver: Received From\n.*Receiver: Received Pipe\n.*Done\n`,
		`(?s)(read q and q status: [A-E]\n.*){4}`}},
	{name: "semaphore", want: []string{`(?s)(worker \d holds the semaphore \([12] inside\)\n.*){5}`, `at most [12] of 5 workers held the semaphore at once`}},
	{name: "eventbarrier", cgo: "the Barrier", want: []string{`(?s)(worker \d passed the barrier\n.*){3}`, `phase 1 done by 3 workers; 0 started phase 2 before all finished phase 1`}},
	{name: "floatchannel", args: []string{"-count", "200"}, want: []string{`Done: 200 messages of 100000 float64`, `\d+ msgs/s, \d+ MB/s`}},
	{name: "robustmutex", cgo: "a robust mutex (pthread)", want: []string{`worker killed while holding the lock: true`, `the owner died; pair was \[42 0\], repairing`, `pair is \[42 42\], invariant holds: true`}},
	{name: "managerdict", cgo: "the shared dict and list (the C library)", want: []string{`^\{'2': 2, 0\.25: None, 1: '1'\}\n\[9 8 7 6 5 4 3 2 1 0\]\nsquares: 0:0 1:1 2:4 3:9 4:16 5:25 6:36 7:49 8:64 9:81 10:100 11:121 12:144 13:169 14:196 15:225 16:256 17:289 18:324 19:361\n$`}},
	{name: "dictcounter", cgo: "the shared dict (the C library)", want: []string{`d\["year"\] after 5 processes x 1000 \(add\): 7000\n`, `d\["year"\] after 5 processes x 1000 \(update\): 7000\n`}},
	{name: "poolmap", want: []string{`Built-in: \[0, 2, 4, .*, 198\]\n`, `(Starting PoolWorker-\d+\n(?s:.*)){5}`, `Pool    : \[0, 2, 4, 6, .*, 196, 198\]\n`}, check: samePoolOutput},
	{name: "pooldigest", args: []string{"-dir", ".."}, want: []string{`\.\./pooldigest/main\.go: [0-9a-f]{16}\n`, `\d+ files, digests agree with this process's: true\n`}},
	{name: "poolasync", want: []string{`map: \[42 43 44 45 46 47 48 49 50 51\]\nmap_async: \[42 43 44 45 46 47 48 49 50 51\]\n`,
		`imap_unordered, sorted: \[42 43 44 45 46 47 48 49 50 51\]\n`, `apply_async\(multi, 20\): 62\n`, `a worker's pid differs from ours: true\n`,
		`callback got \[0 2 4 6 8\]; error_callback got 5 errors\n`, `map_async callback: \[42 43`, `we lacked patience and got a timeout error\n`}},
	{name: "poolimap", want: []string{`^Result: 2\nResult: 4\nResult: 6\nResult: 8\nResult: 10\nResults: \[3 6 9 12 15\]\n$`}},
	{name: "resultstable", cgo: "the shared dict (the C library)", want: []string{`Go stored 12 results\n`, `Python reads 12 results: 12 done\n`,
		`  job01: primes below 1000: 168\n(?s:.*)  job12: primes below 12000: 1438\n`, `Go sees 12 of 12 rows reviewed by Python\n`,
		`Python's summary: reviewed = 12\nPython's summary: largest = job12\nPython's summary: total_primes = 9929\n`}},
	{name: "pythongo", want: []string{`tasks: collatz <q -> <q, scale \[\]<d -> \[\]<d, shout str -> str, stats \[\]<d -> <ddd\n`,
		`collatz: longest below 10001 starts at 6171, 261 steps\nmap agrees with Python: True\nimap: HELLO!\nimap: POOL!\n`,
		`stats: \[\(2\.0, 1\.0, 3\.0\), \(3\.0, -4\.0, 10\.0\), \(0\.5, 0\.5, 0\.5\)\]\nimap_unordered means, sorted: \[0\.5, 2\.0, 3\.0\]\n`,
		`apply_async\(collatz, 27\): \[111\]; error_callback: collatz: n must be positive\n`, `numpy in, array out: \[0\.0, 0\.625, 1\.25, 1\.875, 2\.5\]\npool done\n$`}},
	{name: "poolnumpy", want: []string{`16 samples, Python's moments agree with Go's: true\n`, `sorted by Python: \[1 1 2 3 4 5 6 9\]\n`,
		`the workers computed with (numpy [0-9.]+|plain Python)\n$`}},
	{name: "gopython", cgo: "the Array's lock (a pthread mutex)", want: []string{`Python sees 12 numbers from Go`, `Go received: \[1 2 3 4\]\nGo received: \[5 6 7 8\]\nGo received: \[9 10 11 12\]`,
		`Go sees the array Python rewrote: \[1 3 6 10 15 21 28 36 45 55 66 78\]`}},
	{name: "processbasics", want: []string{`Worker name: MyWorkerProcess\nWorker PID: \d+\nthe worker's PID is p\.Pid\(\): true\n`,
		`daemon\? false\ndaemon\? true\n`, `bob done sleeping\n`, `the child's parent is this process: true\n`,
		`in global \[1\]\nparent's a: \[\]\nin local \[2\]\nparent's a: \[\]\n$`},
		check: all(lines(`^The time is [^(\n]+$`, 3), lines(`^The time is .+ \(ClockProcess\)$`, 3),
			lines(`^Worker \d: Finishing$`, 3), before(`Worker \d: Finishing`, `All workers finished`))},
	{name: "splitwork", want: []string{`100 items in 32 sublists \(28 of 3 items, 4 of 4\), each processed once: true\n`,
		`All task done; 10 of 10 results came back through shared memory\n`},
		check: all(lines(`^Processing \d+ \.\.\.$`, 100), lines(`^Task \d run `, 10), before(`Task \d run `, `All task done`))},
	{name: "valuearray", cgo: "Value and Array's lock and the Lock (pthread mutexes)", want: []string{`child 1 3\.14\n`, `child 2 3\.14\n`,
		`parent 3\.14 \[10 10 2 3 4 5 6 7 8 9\]\n`, `Final value: 300000 \(3 workers x 100000\)\n`}},
	{name: "writelock", cgo: "the Lock (a pthread mutex)", want: []string{`^400 lines from 4 workers, every pair whole: true\n$`}},
	{name: "poolapply", want: []string{`Results: \[1 8 27 64 125\]\nResults: \[1 4 9 16 25\]\n`, `wait for all subprocess done\.\ntask start\n`,
		`threads: callback got tasks \[0 1 2 3 4 5 6 7 8 9\]\n`}, check: all(lines(`^Task \d run `, 20), poolThenThreads)},
	{name: "workerpool", want: []string{`Join returned with 50 of 50 tasks done by 5 workers\n$`}, check: lines(`^worker-\d: sleep for \(\d\)ms$`, 50)},
	{name: "workerpool", args: []string{"-workers", "10", "-tasks", "20"}, want: []string{`Join returned with 20 of 20 tasks done by 10 workers\n$`},
		check: lines(`^worker-\d: sleep for \(\d\)ms$`, 20)},
	{name: "poolshared", cgo: "the shared dict and list (the C library)", want: []string{`\{"2": 2, 0\.25: None, 1: "1"\}\n\[9 8 7 6 5 4 3 2 1 0\]\n`,
		`\[parent\] child 2 heard "\[child 1\] Xiaoming, skewers tonight\?"; child 1 heard "\[child 2\] Not tonight, I have plans"\n`},
		check: childrenOfParent},
	{name: "namedqueues", cgo: "the Queue's locks (robust pthread mutexes)", want: []string{`ming got: \[Zhang\] Xiaoming, is the boss away tomorrow\?\n`, `zhang got: \[Ming\] Yes, and no overtime for days \(>_<\)\n`}},
	{name: "runonce", cgo: "the Lock (a pthread mutex)", want: []string{`none: printers started 3, at most [123] at once\n`,
		`parent-lock: printers started 3, at most [123] at once\n`, `semaphore: printers started 3, at most 1 at once\n`,
		`lock: printers started 3, at most 1 at once\n`, `flag: printers started 1, at most 1 at once\n$`},
		check: all(lines(`^printx is running\.\.\.$`, 13), lines(`^printx has ran\.$`, 2), lines(`^hello x$`, 26))},
	{name: "queuereader", cgo: "the Queue's locks (robust pthread mutexes)", want: []string{`empty: taken [0-5], left [0-5], lost 0\n`, `terminate: taken [0-5], left [0-5], lost [01]\n`,
		`wait-empty: taken (5, left 0, lost 0|4, left 0, lost 1)\n`, `end: taken 5, left 0, lost 0\n$`}},
}

// samePoolOutput checks that the pool's map printed the built-in map's list.
func samePoolOutput(t *testing.T, out string) {
	builtin := regexp.MustCompile(`Built-in: (.*)\n`).FindStringSubmatch(out)
	pooled := regexp.MustCompile(`Pool    : (.*)\n`).FindStringSubmatch(out)
	if builtin == nil || pooled == nil || builtin[1] != pooled[1] {
		t.Errorf("the pool's map differs from the built-in one:\n%s", out)
	}
}

// sameSummary checks that the consumer's reduction equals the producer's.
func sameSummary(t *testing.T, out string) {
	prod := regexp.MustCompile(`producer: (.*)\n`).FindStringSubmatch(out)
	cons := regexp.MustCompile(`consumer \(\w+\): (.*)\n`).FindStringSubmatch(out)
	if prod == nil || cons == nil || prod[1] != cons[1] {
		t.Errorf("producer and consumer disagree:\n%s", out)
	}
}

func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every example (built without -race whatever this test's flags)")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := t.TempDir()
	build := exec.Command(goTool, "build", "-o", bin+string(filepath.Separator), "./...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/...: %v\n%s", err, out)
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			if ex.cgo != "" && !cbind.Available {
				t.Skipf("built without cgo: %s needs it", ex.cgo)
			}
			if slices.Contains([]string{"gopython", "resultstable", "pythongo", "poolnumpy"}, ex.name) {
				if _, err := exec.LookPath("python3"); err != nil {
					t.Skip("no python3")
				}
			}
			cmd := exec.CommandContext(t.Context(), filepath.Join(bin, ex.name), ex.args...)
			cmd.Dir = ex.name // gopython finds its script and the package from its source
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if cmd.Process != nil {
				// An example names its segments after its pid: a failed run's
				// are removed here, and a successful run must leave none.
				left, _ := filepath.Glob(fmt.Sprintf("/dev/shm/example-%s-%d*", ex.name, cmd.Process.Pid))
				for _, f := range left {
					os.Remove(f)
				}
				if err == nil && len(left) > 0 {
					t.Errorf("segments left behind: %v", left)
				}
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", ex.name, err, out)
			}
			for _, w := range ex.want {
				if !regexp.MustCompile(w).Match(out) {
					t.Errorf("output does not match %q:\n%s", w, out)
				}
			}
			if ex.check != nil {
				ex.check(t, string(out))
			}
		})
	}
}

// TestGoPythonPeerFailsEarly: the Python side of gopython exits before it
// opens anything (here the "interpreter" is false(1), as a bad import or a
// typo would make it). The Go side reports the dead peer and exits,
// removing its segment, instead of waiting on its channel for good.
func TestGoPythonPeerFailsEarly(t *testing.T) {
	if !cbind.Available {
		t.Skip("built without cgo: gopython's Array lock (a pthread mutex) needs it")
	}
	falseCmd, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false(1)")
	}
	bin := buildExample(t, "gopython")
	cmd := exec.CommandContext(t.Context(), bin, "-python", falseCmd)
	cmd.Dir = "gopython"
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("gopython succeeded without its Python side:\n%s", out)
	}
	if !regexp.MustCompile(`every peer process has died`).Match(out) {
		t.Errorf("gopython did not report the dead peer:\n%s", out)
	}
	// Only this run's segments: other programs may run the example too.
	left, _ := filepath.Glob(fmt.Sprintf("/dev/shm/example-gopython-%d*", cmd.Process.Pid))
	for _, f := range left {
		os.Remove(f)
	}
	if len(left) > 0 {
		t.Errorf("segments left behind: %v", left)
	}
}

// buildExample builds the example in dir into a temporary directory and
// returns the program's path; without a go command the test is skipped.
func buildExample(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := filepath.Join(t.TempDir(), dir)
	if out, err := exec.Command(goTool, "build", "-o", bin, "./"+dir).CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", dir, err, out)
	}
	return bin
}

// lines checks that exactly n lines of the output match pattern.
func lines(pattern string, n int) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		if got := len(regexp.MustCompile(`(?m)`+pattern).FindAllString(out, -1)); got != n {
			t.Errorf("%d lines match %q, want %d:\n%s", got, pattern, n, out)
		}
	}
}

// before checks that every match of first comes before the first match of then.
func before(first, then string) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		firsts := regexp.MustCompile(first).FindAllStringIndex(out, -1)
		next := regexp.MustCompile(then).FindStringIndex(out)
		if len(firsts) == 0 || next == nil || firsts[len(firsts)-1][0] > next[0] {
			t.Errorf("not every %q comes before %q:\n%s", first, then, out)
		}
	}
}

func all(checks ...func(*testing.T, string)) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		for _, c := range checks {
			c(t, out)
		}
	}
}

// poolThenThreads checks that poolapply's ten pool tasks ran in other
// processes, all before "All task done.", and its ten threads in its own.
func poolThenThreads(t *testing.T, out string) {
	parent := regexp.MustCompile(`Parent process (\d+)\n`).FindStringSubmatch(out)
	pool, threads, ok := strings.Cut(out, "All task done.\n")
	if parent == nil || !ok {
		t.Fatalf("no parent pid or no \"All task done.\":\n%s", out)
	}
	running := regexp.MustCompile(`Running task \d \((\d+)\)\n`)
	for part, wantSame := range map[string]bool{pool: false, threads: true} {
		runs := running.FindAllStringSubmatch(part, -1)
		if len(runs) != 10 {
			t.Errorf("%d tasks ran on one side of \"All task done.\", want 10:\n%s", len(runs), out)
		}
		for _, r := range runs {
			if (r[1] == parent[1]) != wantSame {
				t.Errorf("task in pid %s, parent %s: want in the parent %v:\n%s", r[1], parent[1], wantSame, out)
			}
		}
	}
}

// childrenOfParent checks that poolshared's tasks ran in children of the
// program.
func childrenOfParent(t *testing.T, out string) {
	parent := regexp.MustCompile(`\[parent\] PPID=\d+, PID=(\d+)\n`).FindStringSubmatch(out)
	children := regexp.MustCompile(`\[child \d\] PPID=(\d+), PID=\d+\n`).FindAllStringSubmatch(out, -1)
	if parent == nil || len(children) != 2 {
		t.Fatalf("want the parent's pid and two children's:\n%s", out)
	}
	for _, c := range children {
		if c[1] != parent[1] {
			t.Errorf("a task's parent is %s, not the program %s:\n%s", c[1], parent[1], out)
		}
	}
}

// TestSeedsTable keeps SEEDS.md and README.md's examples table true: each
// example directory is in both, each example they name exists, and each
// seed program has an example or says why it has none.
func TestSeedsTable(t *testing.T) {
	dirs := map[string]bool{}
	mains, err := filepath.Glob("*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, m := range mains {
		dirs[filepath.Dir(m)] = true
	}
	seeds, err := os.ReadFile("SEEDS.md")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Examples\n")
	if !ok {
		t.Fatal(`README.md has no "## Examples" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")

	backticked := regexp.MustCompile("`([^`]+)`")
	inSeeds, inReadme := map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(string(seeds), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.HasPrefix(cells[1], "---") || strings.TrimSpace(cells[1]) == "seed" || strings.TrimSpace(cells[1]) == "example" {
			continue // not a table row, or a header
		}
		cell := cells[len(cells)-2] // the mapping's example column
		if len(cells) == 4 {
			cell = cells[1] // the other examples' table names them first
		}
		names := backticked.FindAllStringSubmatch(cell, -1)
		if len(names) == 0 && !strings.Contains(cell, "not a program") {
			t.Errorf("SEEDS.md: a row with no example and no reason: %s", line)
		}
		for _, n := range names {
			inSeeds[strings.Fields(n[1])[0]] = true
		}
	}
	_, table, ok := strings.Cut(section, "| example | what |\n")
	if !ok {
		t.Fatal(`README.md's Examples section has no "| example | what |" table`)
	}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			break // the table's end
		}
		if m := regexp.MustCompile("^\\| `([^`]+)` \\|").FindStringSubmatch(line); m != nil {
			inReadme[m[1]] = true
		}
	}
	sorted := slices.Sorted(maps.Keys(dirs))
	for table, names := range map[string]map[string]bool{"SEEDS.md": inSeeds, "README.md's examples table": inReadme} {
		for _, d := range sorted {
			if !names[d] {
				t.Errorf("example %s is missing from %s", d, table)
			}
		}
		for n := range names {
			if !dirs[n] {
				t.Errorf("%s names example %s, which does not exist", table, n)
			}
		}
	}
}

// TestNamedQueuesByHand runs namedqueues as its doc comment says a user
// would in three terminals: a server, then two clients given only the
// segment's name; SIGINT stops the server, which removes the segment.
func TestNamedQueuesByHand(t *testing.T) {
	if !cbind.Available {
		t.Skip("built without cgo: the Queue's locks (robust pthread mutexes) need it")
	}
	bin := buildExample(t, "namedqueues")
	name := fmt.Sprintf("example-namedqueues-%d-byhand", os.Getpid())
	t.Cleanup(func() { os.Remove("/dev/shm/" + name) })

	server := exec.CommandContext(t.Context(), bin, "-serve", "-name", name)
	server.Stderr = os.Stderr
	stdout, err := server.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "serving "+name {
		t.Fatalf("the server did not say it serves %s: %q", name, lines.Text())
	}

	var clients []*exec.Cmd
	var outs []*strings.Builder
	for _, who := range []string{"zhang", "ming"} {
		c := exec.CommandContext(t.Context(), bin, "-client", who, "-name", name)
		out := new(strings.Builder)
		c.Stdout, c.Stderr = out, out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		outs = append(outs, out)
	}
	for i, c := range clients {
		if err := c.Wait(); err != nil {
			t.Errorf("client %d: %v\n%s", i, err, outs[i])
		}
	}
	if want := "zhang got: [Ming] Yes, and no overtime for days (>_<)\n"; outs[0].String() != want {
		t.Errorf("client zhang printed %q, want %q", outs[0], want)
	}
	if want := "ming got: [Zhang] Xiaoming, is the boss away tomorrow?\n"; outs[1].String() != want {
		t.Errorf("client ming printed %q, want %q", outs[1], want)
	}

	if err := server.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if !lines.Scan() || lines.Text() != "server done" {
		t.Errorf("the server did not say it is done: %q", lines.Text())
	}
	if err := server.Wait(); err != nil {
		t.Errorf("server: %v", err)
	}
	if _, err := os.Stat("/dev/shm/" + name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the server left its segment: %v", err)
	}
}
