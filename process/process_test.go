package process_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/shmkit/shmkit/process"
)

func TestMain(m *testing.M) {
	process.Main(map[string]process.Func{
		"echo": func(args []string) error {
			os.Stdout.WriteString(strings.Join(args, " ") + "\n")
			return nil
		},
		"fail": func([]string) error { return errors.New("as asked") },
		"hang": func([]string) error { select {} },
	})
	os.Exit(m.Run())
}

func TestCommandRunsTheRole(t *testing.T) {
	cmd, err := process.Command(t.Context(), "echo", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil || string(out) != "a b\n" {
		t.Fatalf("echo a b: %q, %v", out, err)
	}
}

func TestExitStatus(t *testing.T) {
	for role, want := range map[string]int{"fail": 1, "nosuchrole": 2} {
		p, err := process.Start(role)
		if err != nil {
			t.Fatal(err)
		}
		var exit *exec.ExitError
		if err := p.Wait(); !errors.As(err, &exit) || exit.ExitCode() != want {
			t.Errorf("%s: %v, want exit status %d", role, err, want)
		}
	}
}

func TestKill(t *testing.T) {
	ps, err := process.StartAll(3, "hang")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Pid() <= 0 {
			t.Errorf("pid %d", p.Pid())
		}
		p.Kill()
	}
	if err := process.WaitAll(ps); err == nil {
		t.Error("killed workers reported success")
	}
}

func TestNotAWorker(t *testing.T) {
	if process.Role() != "" {
		t.Fatalf("the test binary has role %q", process.Role())
	}
}
