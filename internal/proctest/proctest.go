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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/roles"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

const (
	// Prefix starts every segment name a test makes, so leaks can be found.
	Prefix = "shmkit-test-"
	// Timeout bounds every helper process: a hang fails the test, it does
	// not stall the suite.
	Timeout = 2 * time.Minute
)

// Helper is the body of a helper process.
type Helper func(args []string) int

// Main runs the helper named in the environment, if any, and exits;
// otherwise it runs the tests, then each of after, and fails the run if any
// test segment of this process is left in /dev/shm.
func Main(m *testing.M, helpers map[string]Helper, after ...func()) {
	for name, h := range helpers {
		process.Register(name, h) // one registry with the program's and the benchmark's roles
	}
	process.Dispatch()
	// The runtime's poller opens two descriptors for good on first use:
	// start it now, so that they are in the baseline.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	fds, goroutines, maps := openFDs(), liveGoroutines(), shmMappings()
	code := m.Run()
	for _, f := range after {
		f()
	}
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "proctest: "+format+"\n", args...)
		if code == 0 {
			code = 1
		}
	}
	if leaked := Leaked(); len(leaked) > 0 {
		fail("segments left in /dev/shm: %v", leaked)
	}
	// Goroutines and descriptors of finished tests take a moment to go.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && (liveGoroutines() > goroutines || openFDs() > fds) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := liveGoroutines(); n > goroutines {
		buf := make([]byte, 1<<20)
		fail("%d goroutines left behind (%d at start):\n%s", n-goroutines, goroutines, buf[:runtime.Stack(buf, true)])
	}
	if m := shmMappings(); len(m) > len(maps) {
		fail("shared memory still mapped (a Segment or Named not closed): %v", m)
	}
	if n := openFDs(); n > fds {
		var names []string // say what they are: that finds the leak
		entries, _ := os.ReadDir("/proc/self/fd")
		for _, e := range entries {
			l, _ := os.Readlink("/proc/self/fd/" + e.Name())
			names = append(names, e.Name()+"->"+l)
		}
		fail("%d file descriptors left open (%d at start): %v", n-fds, fds, names)
	}
	os.Exit(code)
}

// shmMappings lists this process's mappings of files in /dev/shm. A Go
// finalizer may close a forgotten file, but nothing unmaps a forgotten
// mapping, so this is where a Segment that was never closed shows.
func shmMappings() []string {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil
	}
	var m []string
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, "/dev/shm/"); i >= 0 {
			m = append(m, line[i:])
		}
	}
	return m
}

// liveGoroutines counts goroutines, leaving out the ones started for good
// on first use: os/signal's, when a package (or the fuzzing engine) first
// asks for signals, and package process's, with the first daemon.
func liveGoroutines() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if !strings.Contains(g, "os/signal.signal_recv") && !strings.Contains(g, "process.spawner") {
			n++
		}
	}
	return n
}

// openFDs counts this process's open file descriptors.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
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

// NeedCgo skips t in a build without cgo, saying what of t needs the C
// library: pthread mutexes, the barrier, named semaphores, C peers.
func NeedCgo(t testing.TB, what string) {
	t.Helper()
	if !cbind.Available {
		t.Skipf("built without cgo: %s needs it", what)
	}
}

// Command returns a command that runs helper name with args in a new copy of
// the test binary. It is killed if the test outlives Timeout.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	cmd, err := roles.Command(ctx, name, args...)
	if err != nil {
		t.Fatal(err)
	}
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

// ListObjects is a helper's body: it prints the names of segment args[0]'s
// objects, one a line, so that a test sees them from another process.
func ListObjects(args []string) int {
	seg := OpenSegment(args[0])
	defer seg.Close()
	objs, err := seg.Objects()
	if err != nil {
		return Fail("objects: %v", err)
	}
	for _, o := range objs {
		fmt.Println(o.Name)
	}
	return 0
}

// Segment creates a shmkit segment of size bytes under a fresh name for t,
// closed (and, through Name, removed) when t ends.
func Segment(t testing.TB, size int, opts ...shm.CreateOption) (*shm.Segment, string) {
	t.Helper()
	name := Name(t)
	seg, err := shm.Create(name, size, opts...)
	if err != nil {
		t.Fatalf("create segment: %v", err)
	}
	t.Cleanup(func() { seg.Close() })
	return seg, name
}

// PageFaults counts the page faults (minor and major) that this goroutine's
// thread takes while it runs do; the goroutine is wired to its thread for
// the count.
func PageFaults(t testing.TB, do func()) int64 {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before, after unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &before); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	do()
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &after); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return (after.Minflt - before.Minflt) + (after.Majflt - before.Majflt)
}

// CloseWhileWaiting is a helper's body for the tests of Close: it runs wait
// in a goroutine, closes seg once asleep reports the wait counted in, and
// prints "closed" if the wait then ended with an error wrapping
// shm.ErrClosed, or what it ended with. A wait that ends before it is seen
// asleep (a lock it needs is held by a dead peer, say) is reported as such:
// waiting for it to sleep would hang.
func CloseWhileWaiting(seg *shm.Segment, wait func() error, asleep func() bool) int {
	done := make(chan error, 1)
	go func() { done <- wait() }()
	for !asleep() {
		select {
		case err := <-done:
			fmt.Println("wait ended before Close with", err)
			return 0
		case <-time.After(time.Millisecond): // observing state, not synchronising
		}
	}
	if err := seg.Close(); err != nil {
		return Fail("close: %v", err)
	}
	if err := <-done; errors.Is(err, shm.ErrClosed) {
		fmt.Println("closed")
	} else {
		fmt.Println("wait ended with", err)
	}
	return 0
}

// OneBusyCPU wires the calling goroutine to its thread and puts that thread
// on one CPU beside a process that spins there for the rest of the test, so
// that every sched_yield the test makes gives the CPU away for a time
// slice. The thread's CPUs are given back at cleanup.
func OneBusyCPU(t testing.TB) {
	t.Helper()
	runtime.LockOSThread()
	var was unix.CPUSet
	if err := unix.SchedGetaffinity(0, &was); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("sched_getaffinity: %v", err)
	}
	var one unix.CPUSet
	for cpu := 0; cpu < 1024; cpu++ { // the first this process may use
		if was.IsSet(cpu) {
			one.Set(cpu)
			break
		}
	}
	busy := exec.Command("sh", "-c", "while :; do :; done")
	if err := busy.Start(); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("start a busy process: %v", err)
	}
	t.Cleanup(func() {
		busy.Process.Kill()
		busy.Wait()
		unix.SchedSetaffinity(0, &was)
		runtime.UnlockOSThread()
	})
	if err := unix.SchedSetaffinity(busy.Process.Pid, &one); err != nil {
		t.Fatalf("pin the busy process: %v", err)
	}
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatalf("pin the test's thread: %v", err)
	}
}

// Late is how long after timeout a timed call op gave up: the median of
// five tries.
func Late(timeout time.Duration, op func()) time.Duration {
	var late [5]time.Duration
	for i := range late {
		start := time.Now()
		op()
		late[i] = time.Since(start) - timeout
	}
	slices.Sort(late[:])
	return late[2]
}
