package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"

	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

// A Role names what a worker process does: a Go role in this package
// (registered by the file of its workload), a C one (native.go), or a
// compiled peer's (boost.go). Workers are this program started again with
// SHMKIT_PROCESS=<role> (package process).
type Role string

// A role sets up, calls ready (which returns on "go"), works, and returns
// its report.
type role func(args []string, ready func()) (string, error)

// register adds a worker role to the program's one registry (package
// process); a name registered twice is a bug and panics.
func register(r Role, f role) {
	process.Register(string(r), func(args []string) int { return playRole(string(r), f, args) })
}

// Worker makes this process a benchmark worker if it was started as one:
// it plays its role and exits. Programs that run benchmarks (the shmkit
// command, the package's tests) call it first thing in main or TestMain;
// otherwise it returns at once.
func Worker() { process.Dispatch() }

// profileEnv names a directory where each Go worker writes a CPU profile,
// <role>-<pid>.pprof, to find out where a workload spends its time.
const profileEnv = "SHMKIT_BENCH_PROFILE"

func profile(dir, role string) (stop func(), err error) {
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", role, os.Getpid())))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func playRole(name string, r role, args []string) int {
	in := bufio.NewReader(os.Stdin)
	ready := func() {
		os.Stdout.WriteString("ready\n")
		if line, err := in.ReadString('\n'); err != nil || line != "go\n" {
			os.Exit(3)
		}
	}
	if dir := os.Getenv(profileEnv); dir != "" {
		stop, err := profile(dir, name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench worker %s: profile: %v\n", name, err)
			return 1
		}
		defer stop()
	}
	report, err := r(args, ready)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench worker %s: %v\n", name, err)
		return 1
	}
	fmt.Printf("done %s\n", report)
	return 0
}

// ints parses the integer arguments from args[from:].
func ints(args []string, from int) ([]int, error) {
	var out []int
	for _, a := range args[from:] {
		n, err := strconv.Atoi(a)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// sum formats a checksum. Checksums are whole numbers added up in an
// int64: a float64 sum of a W2 stream stops being exact past 2^53, about
// 95 M messages.
func sum(x int64) string { return strconv.FormatInt(x, 10) }

// onSegment opens segment args[0], parses args[from:] as integers, and
// runs a role's body on them: what every shared memory role starts with.
func onSegment(args []string, from int, body func(seg *shm.Segment, n []int) (string, error)) (string, error) {
	n, err := ints(args, from)
	if err != nil {
		return "", err
	}
	seg, err := shm.Open(args[0])
	if err != nil {
		return "", err
	}
	defer seg.Close()
	return body(seg, n)
}

// segmentFor sizes a segment for objects of about n bytes.
func segmentFor(n int) int { return n + 1<<20 }
