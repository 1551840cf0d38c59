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
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/roles"
)

// A Func is a worker's body. Its error, if any, is printed and the worker
// exits with status 1.
type Func func(args []string) error

// Role returns the role this process was started in, or "" for the
// program itself.
func Role() string { return identity().role }

// identity is this process's role, name and index, read once from the
// environment its parent gave it: Dispatch then takes them out of the
// environment, so that a program the worker runs is not taken for a
// worker in its role.
var identity = sync.OnceValue(func() (id struct{ role, name, index string }) {
	id.role, id.name, id.index = os.Getenv(roles.Env), os.Getenv(roles.NameEnv), os.Getenv(roles.IndexEnv)
	return id
})

// Register adds role, whose body returns the worker's exit status. A role
// registered twice, or the empty role, is a bug and panics.
func Register(role string, body func(args []string) int) { roles.Register(role, body) }

// Registered reports whether role can be started: some part of this
// program registered it (Main, Register).
func Registered(role string) bool {
	_, ok := roles.Body(role)
	return ok
}

// Name is this process's name, Python's current_process().name: the name
// its parent gave it, its role and index ("worker-2") if none, or
// "MainProcess" for the program itself.
func Name() string {
	if n := identity().name; n != "" {
		return n
	}
	if Role() == "" {
		return "MainProcess"
	}
	return fmt.Sprintf("%s-%d", Role(), Index())
}

// Index is this worker's index among those started with it (StartAll
// numbers them from 0), or -1 for the program itself.
func Index() int {
	i, err := strconv.Atoi(identity().index)
	if err != nil || Role() == "" {
		return -1
	}
	return i
}

// Dispatch runs this process's role and exits, if it was started as a
// worker in a registered role; otherwise it returns at once (a worker in a
// role nobody registered, which Start refuses to start, exits with status 2).
func Dispatch() {
	role := Role()
	if role == "" {
		return
	}
	for _, v := range []string{roles.Env, roles.NameEnv, roles.IndexEnv} {
		os.Unsetenv(v) // kept by identity; the programs this worker runs are not workers in its role
	}
	body, ok := roles.Body(role)
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: no worker function %q\n", os.Args[0], role)
		os.Exit(2)
	}
	os.Exit(body(os.Args[1:]))
}

// Main registers funcs and dispatches: it runs this process's role and
// exits, if it is a worker; otherwise it returns at once.
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

// A Process is a worker: Python's multiprocessing.Process. Fill in Role
// and the rest, then Start it; or use Start and StartAll.
type Process struct {
	Role string
	Args []string
	// Name is what the worker's Name returns; "" gives role-index.
	Name string
	// Index is what the worker's Index returns.
	Index int
	// Daemon makes the worker die with this process (SIGKILL when this
	// process exits or is killed), as Python kills daemon children at exit.
	Daemon bool
	// Stdout is where the worker's standard output goes; nil is this
	// process's.
	Stdout io.Writer
	// Path, if set, runs that program with Args instead of a copy of this
	// one (a worker in another language); Role then only names it.
	Path string

	cmd  *exec.Cmd
	done chan struct{} // closed once the worker has exited and been reaped
	err  error         // cmd.Wait's, set before done closes
}

// Start starts a worker in role with args, sharing this process's
// standard output and error.
func Start(role string, args ...string) (*Process, error) {
	p := &Process{Role: role, Args: args}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Start starts the worker.
func (p *Process) Start() error {
	if p.cmd != nil {
		return ErrStarted
	}
	var cmd *exec.Cmd
	if p.Path != "" {
		cmd = exec.Command(p.Path, p.Args...)
		cmd.Env = append(os.Environ(), roles.Env+"="+p.Role)
		cmd.Stderr = os.Stderr
	} else {
		var err error
		if cmd, err = roles.Command(context.Background(), p.Role, p.Args...); err != nil {
			return err
		}
	}
	var err error
	cmd.Env = append(cmd.Env, roles.NameEnv+"="+p.Name, roles.IndexEnv+"="+strconv.Itoa(p.Index))
	cmd.Stdout = os.Stdout
	if p.Stdout != nil {
		cmd.Stdout = p.Stdout
	}
	cmd.WaitDelay = outputDelay
	if p.Daemon {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		err = startOnSpawner(cmd)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return errtext.Errorf("process: start %s: %w", p.Role, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	go func() {
		// A program the worker started may hold its output pipe open after
		// the worker exits: WaitDelay (set above) stops copying then, and
		// the worker's own exit is what counts.
		if p.err = cmd.Wait(); errors.Is(p.err, exec.ErrWaitDelay) {
			p.err = nil
		}
		close(p.done)
	}()
	return nil
}

// outputDelay is how long after a worker exits its output is still
// copied (when Stdout is not a file, through a pipe) before Wait returns
// anyway: a program it started that kept the pipe would hold Wait for as
// long as it lives.
const outputDelay = time.Second

// The parent-death signal is sent when the thread that forked the child
// exits, not the process; Go may end a thread (one a goroutine locked and
// left), so daemon workers are forked from one thread kept for good. It
// is started with the first daemon, so that a program that starts none
// (a worker, a command-line tool) does not make a thread for it.
var (
	spawns       = make(chan spawn)
	spawnerStart sync.Once
)

type spawn struct {
	cmd  *exec.Cmd
	done chan error
}

func spawner() {
	runtime.LockOSThread() // never unlocked: this thread lives as long as the process
	for s := range spawns {
		s.done <- s.cmd.Start()
	}
}

func startOnSpawner(cmd *exec.Cmd) error {
	spawnerStart.Do(func() { go spawner() })
	s := spawn{cmd, make(chan error, 1)}
	spawns <- s
	return <-s.done
}

// Pid is the worker's process id, 0 before Start.
func (p *Process) Pid() int {
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Wait waits for the worker to exit; an error if it failed. Any number of
// goroutines may wait.
func (p *Process) Wait() error { return p.WaitContext(context.Background()) }

// WaitContext is Wait that gives up when ctx ends, returning its error.
func (p *Process) WaitContext(ctx context.Context) error {
	if p.done == nil {
		return ErrNotStarted
	}
	select {
	case <-p.done: // exited: so it says, even with ctx ended (a select of both would pick either)
	default:
		select {
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if p.err != nil {
		return errtext.Errorf("process: %s (pid %d): %w", p.Role, p.Pid(), p.err)
	}
	return nil
}

// WaitTimeout is Wait for at most d (Python's join(timeout)); exited is
// false if the worker still runs.
func (p *Process) WaitTimeout(d time.Duration) (exited bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err = p.WaitContext(ctx)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return false, nil
	case errors.Is(err, ErrNotStarted):
		return false, err
	}
	return true, err
}

// Done is closed when the worker has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Alive reports whether the worker was started and has not exited.
func (p *Process) Alive() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// ExitCode is the worker's exit status as Python reports it: the status
// it exited with, or -N if signal N ended it; exited is false while it
// runs (Python's None).
func (p *Process) ExitCode() (code int, exited bool) {
	if p.Alive() || p.done == nil {
		return 0, false
	}
	return exitCode(p.cmd.ProcessState), true
}

// Signaled is the signal that ended the worker, or 0.
func (p *Process) Signaled() syscall.Signal {
	if p.Alive() || p.done == nil {
		return 0
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return 0
}

func exitCode(st *os.ProcessState) int {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return st.ExitCode()
}

// Signal sends sig to the worker; nothing (nil) if it has already exited.
func (p *Process) Signal(sig os.Signal) error {
	if p.cmd == nil {
		return ErrNotStarted
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return errtext.Errorf("process: signal %s (pid %d): %w", p.Role, p.Pid(), err)
	}
	return nil
}

// Terminate asks the worker to stop with SIGTERM, as Python's terminate.
func (p *Process) Terminate() error { return p.Signal(syscall.SIGTERM) }

// Kill kills the worker with SIGKILL, as a crash would.
func (p *Process) Kill() error { return p.Signal(syscall.SIGKILL) }

// StartAll starts n workers in role, each with args, indexes 0..n-1 and
// names role-1..role-n; if one fails to start, those started are killed.
func StartAll(n int, role string, args ...string) ([]*Process, error) {
	if n < 0 {
		return nil, errtext.Errorf("%w: %d", ErrCount, n)
	}
	var ps []*Process
	for i := range n {
		p := &Process{Role: role, Args: args, Index: i, Name: fmt.Sprintf("%s-%d", role, i+1)}
		if err := p.Start(); err != nil {
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
