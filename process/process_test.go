package process_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/internal/roles"
	"github.com/shmkit/shmkit/process"
)

func TestMain(m *testing.M) {
	process.Main(map[string]process.Func{
		"echo": func(args []string) error {
			os.Stdout.WriteString(strings.Join(args, " ") + "\n")
			return nil
		},
		"fail": func([]string) error { return errors.New("as asked") },
		"hang": func([]string) error { time.Sleep(time.Hour); return nil },
		// env prints what a program this worker runs would inherit of the
		// worker's identity, then its own.
		"env": func([]string) error {
			fmt.Printf("%q %q %q / %s %s %d\n", os.Getenv("SHMKIT_PROCESS"), os.Getenv("SHMKIT_PROCESS_NAME"),
				os.Getenv("SHMKIT_PROCESS_INDEX"), process.Role(), process.Name(), process.Index())
			return nil
		},
		// grandchild starts a long sleep that inherits its standard output,
		// and exits at once.
		"grandchild": func([]string) error {
			sleep := exec.Command("sleep", "30")
			sleep.Stdout = os.Stdout
			if err := sleep.Start(); err != nil {
				return err
			}
			fmt.Println(sleep.Process.Pid)
			return nil
		},
		"whoami": func([]string) error {
			fmt.Printf("%s %d\n", process.Name(), process.Index())
			return nil
		},
		// parent starts a daemon worker, prints its pid, and hangs until killed.
		"parent": func([]string) error {
			p := &process.Process{Role: "hang", Daemon: true}
			if err := p.Start(); err != nil {
				return err
			}
			fmt.Println(p.Pid())
			time.Sleep(time.Hour)
			return nil
		},
	})
	proctest.Main(m, nil)
}

func TestCommandRunsTheRole(t *testing.T) {
	cmd, err := roles.Command(t.Context(), "echo", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil || string(out) != "a b\n" {
		t.Fatalf("echo a b: %q, %v", out, err)
	}
}

func TestExitStatus(t *testing.T) {
	p, err := process.Start("fail")
	if err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := p.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("fail: %v, want exit status 1", err)
	}
	if code, exited := p.ExitCode(); code != 1 || !exited {
		t.Errorf("ExitCode %d, %v; want 1, true", code, exited)
	}
}

func TestUnknownRoleIsAnError(t *testing.T) {
	if _, err := process.Start("nosuchrole"); !errors.Is(err, process.ErrUnknownRole) {
		t.Errorf("Start of an unregistered role: %v, want ErrUnknownRole", err)
	}
	if _, err := roles.Command(t.Context(), "nosuchrole"); !errors.Is(err, process.ErrUnknownRole) {
		t.Errorf("Command of an unregistered role: %v, want ErrUnknownRole", err)
	}
}

func TestKill(t *testing.T) {
	ps, err := process.StartAll(3, "hang")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Pid() <= 0 || !p.Alive() {
			t.Errorf("pid %d, alive %v", p.Pid(), p.Alive())
		}
		p.Kill()
	}
	if err := process.WaitAll(ps); err == nil {
		t.Error("killed workers reported success")
	}
	for _, p := range ps {
		if code, exited := p.ExitCode(); code != -int(syscall.SIGKILL) || !exited || p.Alive() {
			t.Errorf("killed worker: exit code %d, %v, alive %v; want -9, true, false", code, exited, p.Alive())
		}
		if p.Signaled() != syscall.SIGKILL {
			t.Errorf("Signaled %v", p.Signaled())
		}
		if err := p.Kill(); err != nil {
			t.Errorf("Kill after exit: %v", err)
		}
	}
}

func TestTerminateAndWaitTimeout(t *testing.T) {
	p, err := process.Start("hang")
	if err != nil {
		t.Fatal(err)
	}
	if exited, err := p.WaitTimeout(20 * time.Millisecond); exited || err != nil {
		t.Fatalf("WaitTimeout on a hanging worker: %v, %v", exited, err)
	}
	if code, exited := p.ExitCode(); exited {
		t.Fatalf("ExitCode of a running worker: %d", code)
	}
	if err := p.Terminate(); err != nil {
		t.Fatal(err)
	}
	if exited, _ := p.WaitTimeout(time.Minute); !exited {
		t.Fatal("terminated worker still runs")
	}
	if code, _ := p.ExitCode(); code != -int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want -15", code)
	}
}

func TestNameAndIndex(t *testing.T) {
	for i := range 2 {
		cmd := &process.Process{Role: "whoami", Index: i + 5, Name: "PoolWorker-" + strconv.Itoa(i+1)}
		out := capture(t, cmd)
		if want := fmt.Sprintf("PoolWorker-%d %d\n", i+1, i+5); out != want {
			t.Errorf("worker said %q, want %q", out, want)
		}
	}
	if out := capture(t, &process.Process{Role: "whoami", Index: 2}); out != "whoami-2 2\n" {
		t.Errorf("unnamed worker said %q", out)
	}
	if process.Name() != "MainProcess" || process.Index() != -1 {
		t.Errorf("the program is %q %d", process.Name(), process.Index())
	}
}

func capture(t *testing.T, p *process.Process) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p.Stdout = f
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.Name())
	return string(b)
}

func TestStartTwice(t *testing.T) {
	p := &process.Process{Role: "echo"}
	if err := p.Wait(); !errors.Is(err, process.ErrNotStarted) {
		t.Errorf("Wait before Start: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); !errors.Is(err, process.ErrStarted) {
		t.Errorf("second Start: %v", err)
	}
	p.Wait()
}

// A daemon worker dies with its parent, even one killed with SIGKILL.
func TestDaemonDiesWithParent(t *testing.T) {
	parent, err := roles.Command(t.Context(), "parent")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := parent.StdoutPipe()
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(line))
	if !procs.Alive(child) {
		t.Fatalf("daemon %d not running", child)
	}
	parent.Process.Kill()
	parent.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for procs.Alive(child) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling an outside process; no event to wait on
	}
	if procs.Alive(child) {
		syscall.Kill(child, syscall.SIGKILL)
		t.Fatalf("daemon %d outlived its killed parent", child)
	}
}

func TestNotAWorker(t *testing.T) {
	if process.Role() != "" {
		t.Fatalf("the test binary has role %q", process.Role())
	}
}

// Path runs another program as the worker, with the same exit codes.
func TestPathRunsAnotherProgram(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	p := &process.Process{Role: "shell", Path: sh, Args: []string{"-c", "exit 3"}, Daemon: true}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	p.Wait()
	if code, exited := p.ExitCode(); code != 3 || !exited {
		t.Errorf("exit code %d, %v; want 3", code, exited)
	}
}

// A worker that has exited is seen as exited at once by a wait of no time
// and by a wait whose context has ended: before, both raced the exit
// against the deadline, and half of 1,000 tries said "still running".
func TestWaitAfterExitIsNotRandom(t *testing.T) {
	p, err := process.Start("echo")
	require.NoError(t, err)
	require.NoError(t, p.Wait())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 1000 {
		exited, err := p.WaitTimeout(0)
		require.NoError(t, err)
		require.True(t, exited, "try %d", i)
		require.NoError(t, p.WaitContext(ctx), "try %d", i)
	}
}

// A worker that exited while a program it started still holds its
// standard output (a pipe, since Stdout is no file) is waited for, not its
// grandchild: before, Wait and Alive waited for the grandchild's 30 s.
func TestWaitWhileAGrandchildHoldsStdout(t *testing.T) {
	var out syncBuffer
	p := &process.Process{Role: "grandchild", Stdout: &out}
	require.NoError(t, p.Start())
	t.Cleanup(func() {
		if pid, err := strconv.Atoi(strings.TrimSpace(out.String())); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	exited, err := p.WaitTimeout(10 * time.Second)
	require.True(t, exited, "the worker exited at once")
	require.NoError(t, err)
	assert.False(t, p.Alive())
	code, ok := p.ExitCode()
	assert.True(t, ok)
	assert.Zero(t, code)
}

// A worker does not hand its role to the programs it runs: before, a
// shmkit program that a worker ran took the worker's role as its own (and
// exited with status 2 if it had no such role). The worker itself still
// knows its role, name and index.
func TestWorkerIdentityIsNotInherited(t *testing.T) {
	var out syncBuffer
	p := &process.Process{Role: "env", Name: "w", Index: 3, Stdout: &out}
	require.NoError(t, p.Start())
	require.NoError(t, p.Wait())
	assert.Equal(t, `"" "" "" / env w 3`+"\n", out.String())
}

// The empty role cannot be registered: a worker started in it would be
// taken for the program itself and run the program's own work again.
func TestEmptyRoleRefused(t *testing.T) {
	assert.Panics(t, func() { process.Register("", func([]string) int { return 0 }) })
	_, err := process.Start("")
	assert.ErrorIs(t, err, process.ErrUnknownRole)
}

// syncBuffer is a bytes.Buffer that a worker's output copier and the test
// may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A Process never started has not exited: WaitTimeout says false with
// ErrNotStarted (it said true); StartAll of a negative number of workers
// is ErrCount (it started none and said nothing).
func TestNotStartedAndNegativeCount(t *testing.T) {
	exited, err := (&process.Process{Role: "echo"}).WaitTimeout(0)
	assert.False(t, exited)
	assert.ErrorIs(t, err, process.ErrNotStarted)
	ps, err := process.StartAll(-3, "echo")
	assert.ErrorIs(t, err, process.ErrCount)
	assert.Nil(t, ps)
}
