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
	"sync"
)

// Env is the environment variable that carries a worker's role.
const Env = "SHMKIT_PROCESS"

// A Func is a worker's body. Its error, if any, is printed and the worker
// exits with status 1.
type Func func(args []string) error

// Role returns the role this process was started in, or "" for the
// program itself.
func Role() string { return os.Getenv(Env) }

// registry holds every role this program can be started in: the
// program's own (Main), its tests' helpers and the benchmark's workers
// register here, so one table answers for all of them.
var (
	registryMu sync.Mutex
	registry   = map[string]func(args []string) int{}
)

// Register adds role, whose body returns the worker's exit status. A role
// registered twice is a bug and panics.
func Register(role string, body func(args []string) int) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[role]; dup {
		panic("process: role " + role + " registered twice")
	}
	registry[role] = body
}

// Dispatch runs this process's role and exits, if it was started as a
// worker in a registered role; otherwise it returns at once (a worker in a
// role nobody registered exits with status 2).
func Dispatch() {
	role := Role()
	if role == "" {
		return
	}
	registryMu.Lock()
	body, ok := registry[role]
	registryMu.Unlock()
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: no worker function %q\n", os.Args[0], role)
		os.Exit(2)
	}
	os.Exit(body(os.Args[1:]))
}

// Main registers funcs and dispatches: it runs this process's role and
// exits, if it is a worker; otherwise it returns at once. An unknown role
// exits with status 2.
func Main(funcs map[string]Func) {
	for role, f := range funcs {
		Register(role, func(args []string) int {
			if err := f(args); err != nil {
				fmt.Fprintf(os.Stderr, "worker %s: %v\n", role, err)
				return 1
			}
			return 0
		})
	}
	Dispatch()
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
