package process_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
