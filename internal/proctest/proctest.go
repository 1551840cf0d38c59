// Package proctest runs parts of a test in separate processes, by
// re-executing the test binary as a helper, and checks that tests leave no
// shared memory segments behind.
//
// A package's TestMain calls Main with its helpers; a test starts one with
// Command. A helper is an ordinary function that gets its arguments and
// returns an exit code; it prints what the parent should check on stdout.
package proctest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmkit/shmkit/shm"
)

const (
	helperEnv = "SHMKIT_TEST_HELPER"
	// Prefix starts every segment name a test makes, so leaks can be found.
	Prefix = "shmkit-test-"
	// Timeout bounds every helper process: a hang fails the test, it does
	// not stall the suite.
	Timeout = 2 * time.Minute
)

// Helper is the body of a helper process.
type Helper func(args []string) int

// Main runs the helper named in the environment, if any, and exits;
// otherwise it runs the tests and fails the run if any test segment of this
// process is left in /dev/shm.
func Main(m *testing.M, helpers map[string]Helper) {
	if name := os.Getenv(helperEnv); name != "" {
		h, ok := helpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "proctest: no helper %q\n", name)
			os.Exit(2)
		}
		os.Exit(h(os.Args[1:]))
	}
	code := m.Run()
	if leaked := Leaked(); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "proctest: segments left in /dev/shm: %v\n", leaked)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Leaked lists the test segments of this process still in /dev/shm.
func Leaked() []string {
	matches, _ := filepath.Glob("/dev/shm/" + ownPrefix() + "*")
	return matches
}

func ownPrefix() string { return fmt.Sprintf("%s%d-", Prefix, os.Getpid()) }

var seq atomic.Int64

// Name returns a fresh segment name for t and removes the segment, if one
// was made, when t ends.
func Name(t testing.TB) string {
	name := fmt.Sprintf("%s%d", ownPrefix(), seq.Add(1))
	t.Cleanup(func() { os.Remove("/dev/shm/" + name) })
	return name
}

// Command returns a command that runs helper name with args in a new copy of
// the test binary. It is killed if the test outlives Timeout.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	cmd.Stderr = os.Stderr
	return cmd
}

// Output runs helper name to completion and returns its trimmed stdout,
// failing t if it exits non-zero.
func Output(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := Command(t, name, args...).Output()
	if err != nil {
		t.Fatalf("helper %s %v: %v (stdout %q)", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Fail prints a helper's failure and returns the exit code for it.
func Fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "helper: "+format+"\n", args...)
	return 1
}

// OpenSegment opens a helper's segment, or ends the helper with a message.
func OpenSegment(name string) *shm.Segment {
	seg, err := shm.Open(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		os.Exit(1)
	}
	return seg
}

// PipeEcho is a helper that echoes stdin to stdout in 8-byte messages: the
// far end of a pipe round trip, the baseline for shared memory ones.
func PipeEcho([]string) int {
	buf := make([]byte, 8)
	for {
		if _, err := io.ReadFull(os.Stdin, buf); err != nil {
			return 0
		}
		os.Stdout.Write(buf)
	}
}

// PipeRoundTrip measures b.N round trips of an 8-byte message through a
// pipe pair to a PipeEcho helper (registered as "pipeecho"), and reports
// the round trip in ns as "rtt-ns". It is the baseline beside which shared
// memory round trips are measured.
func PipeRoundTrip(b *testing.B) {
	cmd := Command(b, "pipeecho")
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 8)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		in.Write(buf)
		if _, err := io.ReadFull(out, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "rtt-ns")
	in.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
}
