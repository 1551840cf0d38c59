package pool

import (
	"errors"
	"fmt"

	"github.com/shmkit/shmkit/shm"
)

// Errors returned by this package, usable with errors.Is. A task's own
// error reaches the caller as a *TaskError wrapping it (or, from a worker,
// its text); a worker's death as a *WorkerError.
var (
	// ErrClosed: a task submitted after Close or Terminate.
	ErrClosed = errors.New("pool: closed")
	// ErrTerminated: a task that Terminate stopped before it had a result.
	ErrTerminated = errors.New("pool: terminated")
	// ErrRunning: Join before Close (Python's "Pool is still running").
	ErrRunning = errors.New("pool: Join before Close")
	// ErrWorkerDied: the worker running the task died (see WorkerError).
	ErrWorkerDied = errors.New("pool: the worker running the task died")
	// ErrPanic: the task panicked in its worker.
	ErrPanic = errors.New("pool: task panicked")
	// ErrTaskFailed: the task returned an error in its worker; the text is the error's.
	ErrTaskFailed = errors.New("pool: task failed")
	// ErrUnknownTask: a task or initializer name this program never registered.
	ErrUnknownTask = errors.New("pool: no task function registered under this name")
	// ErrUnsupportedType: a task's input or output type cannot cross between processes.
	ErrUnsupportedType = errors.New("pool: type cannot cross between processes")
	// ErrTooLarge: an encoded input or result longer than the pool's message size.
	ErrTooLarge = errors.New("pool: task input or result longer than the pool's message size")
	// ErrWorkerStart: workers keep exiting before they serve a task (a failing initializer, say).
	ErrWorkerStart = errors.New("pool: workers exit before serving a task")
	// ErrVersion: a pool's worker table of another protocol version than
	// this build's. It is a shm.ErrVersion too, as C's SHMKIT_EVERSION and
	// Python's VersionError are the same for both.
	ErrVersion = fmt.Errorf("pool: worker table of another protocol version: %w", shm.ErrVersion)
	// ErrNotPool: a segment's "pool" object is not a pool's worker table.
	ErrNotPool = errors.New("pool: not a pool's worker table")
	// ErrNoDispatch: New in a process started as a pool worker, which means
	// the program's main never called process.Dispatch (or process.Main)
	// first; without this refusal each worker would start a pool of its own.
	ErrNoDispatch = errors.New("pool: started as a pool worker, but main did not call process.Dispatch first")
	// ErrRefRange: an ArrayRef's elements are not all in its array.
	ErrRefRange = errors.New("pool: array reference out of range")
	// ErrStaleRef: an ArrayRef's segment was made again under its name
	// since the reference was made.
	ErrStaleRef = errors.New("pool: array reference to a segment made again since")
	// ErrProtocol: a worker answered out of turn; the worker is killed and replaced.
	ErrProtocol = errors.New("pool: a worker broke the pool protocol")
)
