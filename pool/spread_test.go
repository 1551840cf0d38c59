package pool_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
	"github.com/stretchr/testify/require"
)

// meet takes "segment/mine/theirs": it sets its own event, then waits for
// the other task's, so two of them finish only when they run at once.
// The wait is bounded so that a failure is an error, not a hang.
var meet = pool.Register("meet", func(arg string) (int64, error) {
	parts := strings.Split(arg, "/")
	seg, err := shm.Open(parts[0])
	if err != nil {
		return 0, err
	}
	defer seg.Close()
	mine, err := semaphore.OpenEvent(seg, parts[1])
	if err != nil {
		return 0, err
	}
	theirs, err := semaphore.OpenEvent(seg, parts[2])
	if err != nil {
		return 0, err
	}
	mine.Set()
	if ok, err := theirs.WaitTimeout(20 * time.Second); err != nil || !ok {
		return 0, fmt.Errorf("%s never started beside %s (%v)", parts[2], parts[1], err)
	}
	return int64(os.Getpid()), nil
})

// Two tasks submitted to two idle workers run on both, as Python's pool
// runs them, rather than queued on one: tasks that wait for each other
// must not deadlock.
func TestTwoTasksGoToTwoIdleWorkers(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	for _, ev := range []string{"a", "b"} {
		_, err := semaphore.NewEvent(seg, ev)
		require.NoError(t, err)
	}
	p := newPool(t, pool.WithWorkers(2), pool.WithChunkSize(1))
	ctx := t.Context()
	a := pool.ApplyAsync(ctx, p, meet, name+"/a/b", nil)
	b := pool.ApplyAsync(ctx, p, meet, name+"/b/a", nil)
	pa, errA := a.Get(ctx)
	pb, errB := b.Get(ctx)
	require.NoError(t, errA)
	require.NoError(t, errB)
	require.NotEqual(t, pa, pb, "both tasks ran in one worker")
}
