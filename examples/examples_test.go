// The examples are programs; this test builds each one, runs it as a user
// would, and checks what it prints.
package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

var examples = []struct {
	name string
	args []string
	want []string // regular expressions, each must match the output
	// check looks at the output beyond the patterns, if set.
	check func(t *testing.T, out string)
}{
	{name: "counter", want: []string{`with the value's lock: 5000\n`, `with atomic Add:\s+5000\n`}, check: func(t *testing.T, out string) {
		m := regexp.MustCompile(`load, add, store:\s+(\d+) of 1000000`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no racy count in %q", out)
		}
		if n, _ := strconv.Atoi(m[1]); n < 1 || n > 1000000 {
			t.Errorf("racy count %d outside 1..1000000", n)
		}
	}},
	{name: "sharedctypes", want: []string{`^3\.1415927\n\[0 -1 -2 -3 -4 -5 -6 -7 -8 -9\]\n$`}},
	{name: "squaresum", want: []string{`squares: \[1 4 9 16 25 36 49 64 81 100\]`, `sum of squares: 385\n`}},
	{name: "prodcons", want: []string{`sentinel: 3 consumers handled jobs 1\.\.30, sum 465`, `close: 3 consumers handled jobs 1\.\.30, sum 465`}},
	{name: "joinablequeue", want: []string{`^1\n2\n3\n4\nall 4 items handled\n$`}},
	{name: "particles", want: []string{`consumer \((numpy|go)\): 20000 particles`}, check: sameSummary},
	{name: "particles", args: []string{"-consumer", "go", "-n", "5000"}, want: []string{`consumer \(go\): 5000 particles`}, check: sameSummary},
	{name: "adder", want: []string{`1 \+ 2 = 3\n3\.5 \+ 4 = 7\.5\n-10 \+ 10 = 0\n1e\+06 \+ 1 = 1\.000001e\+06\n`}},
	{name: "semaphore", want: []string{`(?s)(worker \d holds the semaphore \([12] inside\)\n.*){5}`, `at most [12] of 5 workers held the semaphore at once`}},
	{name: "eventbarrier", want: []string{`(?s)(worker \d passed the barrier\n.*){3}`, `phase 1 done by 3 workers; 0 started phase 2 before all finished phase 1`}},
	{name: "floatchannel", args: []string{"-count", "200"}, want: []string{`Done: 200 messages of 100000 float64`, `\d+ msgs/s, \d+ MB/s`}},
	{name: "robustmutex", want: []string{`worker killed while holding the lock: true`, `the owner died; pair was \[42 0\], repairing`, `pair is \[42 42\], invariant holds: true`}},
	{name: "poolmap", want: []string{`Built-in: \[0, 2, 4, .*, 198\]\n`, `(Starting PoolWorker-\d+\n(?s:.*)){5}`, `Pool    : \[0, 2, 4, 6, .*, 196, 198\]\n`}, check: samePoolOutput},
	{name: "pooldigest", args: []string{"-dir", ".."}, want: []string{`\.\./pooldigest/main\.go: [0-9a-f]{16}\n`, `\d+ files, digests agree with this process's: true\n`}},
	{name: "poolasync", want: []string{`map: \[42 43 44 45 46 47 48 49 50 51\]\nmap_async: \[42 43 44 45 46 47 48 49 50 51\]\n`,
		`imap_unordered, sorted: \[42 43 44 45 46 47 48 49 50 51\]\n`, `apply_async\(multi, 20\): 62\n`, `a worker's pid differs from ours: true\n`,
		`callback got \[0 2 4 6 8\]; error_callback got 5 errors\n`, `map_async callback: \[42 43`, `we lacked patience and got a timeout error\n`}},
	{name: "poolimap", want: []string{`^Result: 2\nResult: 4\nResult: 6\nResult: 8\nResult: 10\nResults: \[3 6 9 12 15\]\n$`}},
	{name: "gopython", want: []string{`Python sees 12 numbers from Go`, `Go received: \[1 2 3 4\]\nGo received: \[5 6 7 8\]\nGo received: \[9 10 11 12\]`,
		`Go sees the array Python rewrote: \[1 3 6 10 15 21 28 36 45 55 66 78\]`}},
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
			if ex.name == "gopython" {
				if _, err := exec.LookPath("python3"); err != nil {
					t.Skip("no python3")
				}
			}
			cmd := exec.CommandContext(t.Context(), filepath.Join(bin, ex.name), ex.args...)
			cmd.Dir = ex.name // gopython finds its script and the package from its source
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
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
			if left, _ := filepath.Glob("/dev/shm/example-" + ex.name + "-*"); len(left) > 0 {
				t.Errorf("segments left behind: %v", left)
			}
		})
	}
}
