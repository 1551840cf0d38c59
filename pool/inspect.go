package pool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/shm"
)

// State is what a pool's table says, read from its segment by any
// process (shmkit inspect). Every figure is a snapshot, not a promise.
type State struct {
	ParentPID   int
	ParentAlive bool
	Closed      bool
	Queued      uint64 // tasks waiting for a worker
	InFlight    uint64 // tasks sent to a worker and not yet answered
	Done        uint64 // tasks answered with a result
	Failed      uint64 // tasks answered with an error
	Retried     uint64 // tasks run again after their worker died
	Starts      uint64 // workers started so far
	Workers     []WorkerState
}

// WorkerState is one slot of State.
type WorkerState struct {
	WorkerInfo
	Alive   bool
	Problem string `json:",omitempty"` // why the row cannot describe a worker of the pool; "" if it can
}

// Inspect reads the pool table in seg, a pool's segment (Pool.Name);
// ErrNotPool if seg holds none, or shm's errors if it has no "pool" object.
func Inspect(seg *shm.Segment) (State, error) {
	h, rows, err := table(seg)
	if err != nil {
		return State{}, err
	}
	st := State{
		ParentPID: int(h.ParentPID), ParentAlive: procs.Alive(int(h.ParentPID)), Closed: h.Closed.Load() != 0,
		Queued: h.Queued.Load(), InFlight: h.InFlight.Load(), Done: h.Done.Load(), Failed: h.Failed.Load(),
		Retried: h.Retried.Load(), Starts: h.Starts.Load(),
	}
	for i, w := range describe(rows) {
		ws := WorkerState{WorkerInfo: w}
		ws.Alive, ws.Problem = checkRow(seg.Name(), int(h.ParentPID), rows[i].State.Load(), w)
		st.Workers = append(st.Workers, ws)
	}
	return st, nil
}

// checkRow judges a worker's row of the pool whose segment is poolName,
// started by process parent (any process that maps the segment may have
// written both): whether it names a live worker of the pool, and if it
// cannot describe one, why. A live worker maps its own segment,
// "<pool>-w<generation>", so a pid of another live process, or a
// generation not its own, is found out where /proc lets this process read
// the pid's mappings. Where it does not (another user's process, or one
// that /proc keeps to itself), and while a worker is starting and has not
// yet mapped its segment, the worker must be a child of the pool's parent.
func checkRow(poolName string, parent int, state uint32, w WorkerInfo) (alive bool, problem string) {
	switch {
	case state > layout.PoolExited:
		return false, fmt.Sprintf("impossible state %d", state)
	case w.Pid < 0 || w.Pid > procs.MaxPID:
		return false, fmt.Sprintf("impossible pid %d", w.Pid)
	case state == layout.PoolExited:
		return false, ""
	case w.Pid == 0:
		if state != layout.PoolStarting {
			return false, fmt.Sprintf("no pid in a row that is %s", w.State)
		}
		return false, "" // its parent has not yet written the pid
	}
	own := segment.Dir + workerSegment(poolName, w.Generation)
	if _, err := os.Lstat(own); errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Sprintf("generation %d has no segment (%s)", w.Generation, own)
	}
	if !procs.Alive(w.Pid) {
		return false, ""
	}
	child := parent > 0 && procs.ParentOf(w.Pid) == parent
	maps, err := os.ReadFile("/proc/" + strconv.Itoa(w.Pid) + "/maps")
	if err != nil {
		if child {
			return true, ""
		}
		return false, fmt.Sprintf("process %d: its mappings cannot be read, and its parent is not the pool's (%d)", w.Pid, parent)
	}
	for line := range strings.Lines(string(maps)) {
		if strings.HasSuffix(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), " (deleted)"), " "+own) {
			return true, ""
		}
	}
	if state == layout.PoolStarting && child {
		return true, "" // it has not mapped its segment yet
	}
	return false, fmt.Sprintf("process %d does not map %s", w.Pid, own)
}
