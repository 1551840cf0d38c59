package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/shm"
)

// W5: five processes add 1 to one counter, under its lock or atomically.

const (
	roleCountLock    Role = "count-lock"
	roleCountAtomic  Role = "count-atomic"
	roleCountPtr     Role = "count-ptr"
	roleCCountLock   Role = "c-count-lock"
	roleCCountAtomic Role = "c-count-atomic"
)

func init() {
	register(roleCountLock, countLock)
	register(roleCountAtomic, countAtomic)
	register(roleCountPtr, countPtr)
}

func counterWorkloads() []*Workload {
	return []*Workload{
		{ID: "W5", Variant: "lock", Title: "5 processes add 1 under the value's lock", Count: 1_000_000, Figure: Ops,
			Impls: []Impl{
				{Name: "shmkit", run: counterRun(roleCountLock, true)},
				{Name: "C", run: nativeRun(counterRun(roleCCountLock, true))},
				{Name: "Boost interprocess_mutex", run: boostMutexCount},
				{Name: "python", Div: 20, run: pythonRun("counter")},
			}},
		{ID: "W5", Variant: "atomic", Title: "5 processes add 1 atomically", Count: 10_000_000, Figure: Ops,
			Impls: []Impl{
				{Name: "shmkit-atomic", run: counterRun(roleCountAtomic, false)},
				{Name: "shmkit Ptr+sync/atomic", run: counterRun(roleCountPtr, false)},
				{Name: "C-atomic", run: nativeRun(counterRun(roleCCountAtomic, false))},
			}},
	}
}

// countLock: args segment value k. Adds 1, k times, under the value's lock.
func countLock(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		v, err := ctypes.OpenValue[int64](seg, args[1])
		if err != nil {
			return "", err
		}
		inc := func(x int64) int64 { return x + 1 }
		ready()
		for range n[0] {
			if _, err := v.Update(inc); err != nil {
				return "", err
			}
		}
		return "0", nil
	})
}

// countAtomic adds 1, k times, with an atomic add.
func countAtomic(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		v, err := ctypes.OpenRawValue[int64](seg, args[1])
		if err != nil {
			return "", err
		}
		ready()
		for range n[0] {
			v.Add(1)
		}
		return "0", nil
	})
}

// countPtr adds 1, k times, with sync/atomic on the value's Ptr: the
// loop a hot counter can use, with no call and no closed check per add.
func countPtr(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		v, err := ctypes.OpenRawValue[int64](seg, args[1])
		if err != nil {
			return "", err
		}
		p := v.Ptr()
		ready()
		for range n[0] {
			atomic.AddInt64(p, 1)
		}
		return "0", nil
	})
}

// counterProcs is how many processes W5 runs.
const counterProcs = 5

// W5: five processes add 1 to one int64, locked or atomically; the total
// must be exact.
func counterRun(role Role, locked bool) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		seg, name, done, err := segment(segmentFor(4096))
		if err != nil {
			return 0, err
		}
		defer done()
		var read func() int64
		if locked {
			v, err := ctypes.NewValue[int64](seg, "n", 0)
			if err != nil {
				return 0, err
			}
			read = func() int64 { x, _ := v.Get(); return x }
		} else {
			v, err := ctypes.NewRawValue[int64](seg, "n", 0)
			if err != nil {
				return 0, err
			}
			read = v.Load
		}
		each := max(1, count/counterProcs)
		specs := make([]workerSpec, counterProcs)
		for i := range specs {
			specs[i] = workerSpec{role: role, args: []string{name, "n", itoa(each)}}
		}
		d, err := run(ctx, -1, "", specs...)
		if err != nil {
			return 0, err
		}
		if got := read(); got != int64(each*counterProcs) {
			return 0, fmt.Errorf("%w: counter is %d, expected %d", ErrChecksum, got, each*counterProcs)
		}
		return d * time.Duration(count) / time.Duration(each*counterProcs), nil
	}
}
