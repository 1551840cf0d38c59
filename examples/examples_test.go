// The examples are programs; this test builds each one, runs it as a user
// would, and checks what it prints.
package examples_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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
	{name: "pythongo", want: []string{`tasks: collatz <q -> <q, scale \[\]<d -> \[\]<d, shout str -> str, stats \[\]<d -> <ddd\n`,
		`collatz: longest below 10001 starts at 6171, 261 steps\nmap agrees with Python: True\nimap: HELLO!\nimap: POOL!\n`,
		`stats: \[\(2\.0, 1\.0, 3\.0\), \(3\.0, -4\.0, 10\.0\), \(0\.5, 0\.5, 0\.5\)\]\nimap_unordered means, sorted: \[0\.5, 2\.0, 3\.0\]\n`,
		`apply_async\(collatz, 27\): \[111\]; error_callback: collatz: n must be positive\n`, `numpy in, array out: \[0\.0, 0\.625, 1\.25, 1\.875, 2\.5\]\npool done\n$`}},
	{name: "poolnumpy", want: []string{`16 samples, Python's moments agree with Go's: true\n`, `sorted by Python: \[1 1 2 3 4 5 6 9\]\n`,
		`the workers computed with (numpy [0-9.]+|plain Python)\n$`}},
	{name: "gopython", cgo: "the Array's lock (a pthread mutex)", want: []string{`Python sees 12 numbers from Go`, `Go received: \[1 2 3 4\]\nGo received: \[5 6 7 8\]\nGo received: \[9 10 11 12\]`,
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
			if ex.cgo != "" && !cbind.Available {
				t.Skipf("built without cgo: %s needs it", ex.cgo)
			}
			if ex.name == "gopython" || ex.name == "pythongo" || ex.name == "poolnumpy" {
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
	cmd := exec.CommandContext(t.Context(), "go", "run", ".", "-python", falseCmd)
	cmd.Dir = "gopython"
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("gopython succeeded without its Python side:\n%s", out)
	}
	if !regexp.MustCompile(`every peer process has died`).Match(out) {
		t.Errorf("gopython did not report the dead peer:\n%s", out)
	}
	if left, _ := filepath.Glob("/dev/shm/example-gopython-*"); len(left) > 0 {
		t.Errorf("segments left behind: %v", left)
	}
}
