// Package process starts copies of the running program as worker
// processes: what multiprocessing.Process does in Python. Go cannot fork a
// running program, so a worker is the same executable started again with
// its role in the environment; Main, called first thing in main, sends it
// to its function instead of the program's normal work.
//
//	func main() {
//		process.Main(map[string]process.Func{"worker": worker})
//		seg, _ := shm.Create("demo", 1<<20) // the parent's work
//		p, _ := process.Start("worker", "demo")
//		p.Wait()
//	}
//
//	func worker(args []string) error {
//		seg, err := shm.Open(args[0]) // find the shared objects by name
//		...
//	}
//
// Workers share nothing with the parent but what they open by name, and
// the standard output and error they inherit.
package process

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// Env is the environment variable that carries a worker's role.
const Env = "SHMKIT_PROCESS"

// A Func is a worker's body. Its error, if any, is printed and the worker
// exits with status 1.
type Func func(args []string) error

// Role returns the role this process was started in, or "" for the
// program itself.
func Role() string { return os.Getenv(Env) }

// Main runs this process's role from funcs and exits, if it is a worker;
// otherwise it returns at once. An unknown role exits with status 2.
func Main(funcs map[string]Func) {
	role := Role()
	if role == "" {
		return
	}
	f, ok := funcs[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: no worker function %q\n", os.Args[0], role)
		os.Exit(2)
	}
	if err := f(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "worker %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Command returns a command that runs this program as a worker in role
// with args, killed if ctx ends. Its standard error is this process's; the
// caller may set its input, output and extra files before starting it.
func Command(ctx context.Context, role string, args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), Env+"="+role)
	cmd.Stderr = os.Stderr
	return cmd, nil
}

// A Process is a started worker.
type Process struct {
	Role string
	cmd  *exec.Cmd
}

// Start starts a worker in role with args, sharing this process's
// standard output and error.
func Start(role string, args ...string) (*Process, error) {
	cmd, err := Command(context.Background(), role, args...)
	if err != nil {
		return nil, err
	}
	cmd.Stdout = os.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("process: start %s: %w", role, err)
	}
	return &Process{Role: role, cmd: cmd}, nil
}

// Pid is the worker's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Wait waits for the worker to exit; an error if it failed.
func (p *Process) Wait() error {
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("process: %s (pid %d): %w", p.Role, p.Pid(), err)
	}
	return nil
}

// Kill kills the worker with SIGKILL, as a crash would.
func (p *Process) Kill() error { return p.cmd.Process.Kill() }

// StartAll starts n workers in role, each with args, and returns them; if
// one fails to start, those started are killed.
func StartAll(n int, role string, args ...string) ([]*Process, error) {
	var ps []*Process
	for range n {
		p, err := Start(role, args...)
		if err != nil {
			for _, q := range ps {
				q.Kill()
				q.Wait()
			}
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// WaitAll waits for every worker and returns the first error.
func WaitAll(ps []*Process) error {
	var first error
	for _, p := range ps {
		if err := p.Wait(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
