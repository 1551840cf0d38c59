package semaphore

import (
	"io/fs"
	"sync/atomic"
	"syscall"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/shm"
)

// Named is a POSIX named semaphore (sem_open): it lives outside any segment,
// as /dev/shm/sem.NAME, and a C program or Python (through ctypes and libc)
// opens it by the same name. It has Semaphore's methods and Close.
type Named struct {
	semCore
	sem  cbind.NamedSem
	shut atomic.Bool
}

// namedSem is a named sem_t, reached through C.
type namedSem struct{ sem cbind.NamedSem }

// namedSpins: each take is a C call of about 100 ns, so fewer than for a
// futex semaphore make the same few microseconds.
const namedSpins = 40

func (n namedSem) spins() int { return namedSpins }

func (n namedSem) take() (bool, error) {
	switch err := cbind.NamedTryWait(n.sem); err {
	case nil:
		return true, nil
	case syscall.EAGAIN:
		return false, nil
	default:
		return false, err
	}
}

func (n namedSem) sleep(until int64) (bool, error) {
	switch err := cbind.NamedTimedWait(n.sem, until); err {
	case nil:
		return true, nil
	case syscall.ETIMEDOUT:
		return false, nil
	default:
		return false, err
	}
}

func (n namedSem) give() error         { return cbind.NamedPost(n.sem) }
func (n namedSem) count() (int, error) { return cbind.NamedValue(n.sem) }

// A NamedOption changes how CreateNamed makes a named semaphore.
type NamedOption func(*namedOptions)

type namedOptions struct{ mode fs.FileMode }

// WithNamedMode sets the permission bits of a new named semaphore (default
// 0600), exactly, whatever the process umask.
func WithNamedMode(perm fs.FileMode) NamedOption {
	return func(o *namedOptions) { o.mode = perm.Perm() }
}

// CreateNamed creates a named semaphore, with mode 0600 unless
// WithNamedMode says otherwise. The name must not exist: otherwise
// errors.Is(err, fs.ErrExist).
func CreateNamed(name string, value int, opts ...NamedOption) (*Named, error) {
	o := namedOptions{mode: 0o600}
	for _, opt := range opts {
		opt(&o)
	}
	return openNamed(name, true, value, o.mode)
}

// OpenNamed opens an existing named semaphore; a missing one satisfies
// errors.Is(err, fs.ErrNotExist), and a file too short to be one
// errors.Is(err, shm.ErrCorrupt).
func OpenNamed(name string) (*Named, error) {
	return openNamed(name, false, 0, 0)
}

func openNamed(name string, create bool, value int, mode fs.FileMode) (*Named, error) {
	pname, err := shm.PosixName(name)
	if err != nil {
		return nil, err
	}
	if value < 0 || value > MaxValue {
		return nil, opError("create", pname, errtext.Errorf("%w: initial value %d", ErrInvalidValue, value))
	}
	sem, err := cbind.NamedOpen(pname, create, uint32(mode), uint32(value))
	if err != nil {
		if err == cbind.ErrNoCgo {
			return nil, opError("open", pname, ErrNoCgo)
		}
		if err == syscall.EUCLEAN { // SHMKIT_ECORRUPT
			return nil, opError("open", pname, errtext.Errorf("%w: the file is shorter than a semaphore", shm.ErrCorrupt))
		}
		return nil, &fs.PathError{Op: "sem_open", Path: pname, Err: err}
	}
	n := &Named{sem: sem}
	n.semCore = semCore{name: pname, store: namedSem{sem}, closed: n.shut.Load}
	return n, nil
}

// UnlinkNamed removes a named semaphore's name; processes that have it open
// keep using it.
func UnlinkNamed(name string) error {
	pname, err := shm.PosixName(name)
	if err != nil {
		return err
	}
	if err := cbind.NamedUnlink(pname); err != nil {
		return &fs.PathError{Op: "sem_unlink", Path: pname, Err: err}
	}
	return nil
}

// Name returns the POSIX name ("/foo").
func (n *Named) Name() string { return n.name }

// Close releases this process's handle. The semaphore must not be in use by
// other goroutines of the process; afterwards every method fails.
func (n *Named) Close() error {
	if !n.shut.CompareAndSwap(false, true) {
		return opError("close", n.name, shm.ErrClosed)
	}
	if err := cbind.NamedClose(n.sem); err != nil {
		return opError("close", n.name, err)
	}
	return nil
}
