package pool

import (
	"github.com/shmkit/shmkit/internal/procs"
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
	Alive bool
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
	for _, w := range describe(rows) {
		st.Workers = append(st.Workers, WorkerState{w, w.State != "exited" && procs.Alive(w.Pid)})
	}
	return st, nil
}
