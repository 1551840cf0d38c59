package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shmkit/shmkit/internal/roles"
	"github.com/shmkit/shmkit/shm"
)

// proc is a worker process, spoken to through its stdin and stdout.
type proc struct {
	role Role
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
}

// start runs a worker in role with args, passing files as descriptors 3,
// 4, ..., and waits until it says it is ready. The worker is this program,
// or prog (a compiled peer) with the role as its first argument.
func start(ctx context.Context, prog string, role Role, files []*os.File, args ...string) (*proc, error) {
	var cmd *exec.Cmd
	if prog != "" {
		cmd = exec.CommandContext(ctx, prog, append([]string{string(role)}, args...)...)
		cmd.Stderr = os.Stderr
	} else {
		var err error
		if cmd, err = roles.Command(ctx, string(role), args...); err != nil {
			return nil, err
		}
	}
	cmd.ExtraFiles = files
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{role: role, cmd: cmd, in: in, out: bufio.NewReader(out)}
	if _, err := p.expect("ready"); err != nil {
		p.kill()
		return nil, fmt.Errorf("worker %s: %w", role, err)
	}
	return p, nil
}

// expect reads the next line, which must start with word, and returns
// the rest of it.
func (p *proc) expect(word string) (string, error) {
	line, err := p.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("waiting for %q: %w", word, err)
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), word)
	if !ok {
		return "", fmt.Errorf("said %q, expected %q", strings.TrimSpace(line), word)
	}
	return strings.TrimSpace(rest), nil
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// gang starts ready workers together and returns the time from "go" until
// the last of them reported, with what each reported.
func gang(procs ...*proc) (time.Duration, []string, error) {
	defer func() {
		for _, p := range procs {
			p.kill()
		}
	}()
	t0 := time.Now()
	for _, p := range procs {
		if _, err := io.WriteString(p.in, "go\n"); err != nil {
			return 0, nil, err
		}
	}
	reports := make([]string, len(procs))
	for i, p := range procs {
		r, err := p.expect("done")
		if err != nil {
			return 0, nil, fmt.Errorf("worker %s: %w", p.role, err)
		}
		reports[i] = r
	}
	d := time.Since(t0)
	for _, p := range procs {
		p.in.Close()
		if err := p.cmd.Wait(); err != nil {
			return 0, nil, fmt.Errorf("worker %s: %w", p.role, err)
		}
	}
	return d, reports, nil
}

// startAll starts workers, killing those started if one fails.
func startAll(ctx context.Context, specs ...workerSpec) ([]*proc, error) {
	var procs []*proc
	for _, s := range specs {
		p, err := start(ctx, s.prog, s.role, s.files, s.args...)
		if err != nil {
			for _, q := range procs {
				q.kill()
			}
			return nil, err
		}
		procs = append(procs, p)
	}
	return procs, nil
}

type workerSpec struct {
	role  Role
	files []*os.File
	args  []string
	prog  string // a compiled peer to run instead of this program
}

// run starts the workers of specs, times them, and checks the report of
// worker check against want (none if check < 0). It closes this process's
// copies of the workers' files once they are started, so that a reader
// sees end of file when its writer is done.
func run(ctx context.Context, check int, want string, specs ...workerSpec) (time.Duration, error) {
	procs, err := startAll(ctx, specs...)
	for _, s := range specs {
		for _, f := range s.files {
			f.Close()
		}
	}
	if err != nil {
		return 0, err
	}
	d, reports, err := gang(procs...)
	if err != nil {
		return 0, err
	}
	if check >= 0 && reports[check] != want {
		return 0, fmt.Errorf("%w: %s reported %s, expected %s", ErrChecksum, specs[check].role, reports[check], want)
	}
	return d, nil
}

var segSeq atomic.Int64

// segment creates a fresh segment for one run; done closes and unlinks it.
func segment(size int) (seg *shm.Segment, name string, done func(), err error) {
	name = fmt.Sprintf("shmkit-bench-%d-%d", os.Getpid(), segSeq.Add(1))
	seg, err = shm.Create(name, size)
	if err != nil {
		return nil, "", nil, err
	}
	return seg, name, func() { seg.Close(); shm.Unlink(name) }, nil
}

// pipePair returns two connected descriptors: a pipe (read, write).
func pipePair() (r, w *os.File, err error) { return os.Pipe() }

// socketPair returns both ends of a Unix stream socket.
func socketPair() (a, b *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "unix-a"), os.NewFile(uintptr(fds[1]), "unix-b"), nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// streamSum is what a stream's consumer reports: every message k carries k
// in its first and last element.
func streamSum(count int) string { return itoa(count * (count - 1)) }

// pingSum is what a pinger reports: every answer is its question plus one.
func pingSum(count int) string { return itoa(count * (count + 1) / 2) }
