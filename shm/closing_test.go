package shm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// helperCloseWhileAllocWaits opens segment args[0], whose allocation lock
// names the parent (alive), and closes it while two goroutines allocate:
// one asleep on the lock word, one queued behind it. args[1] "timeout"
// gives the allocations a context with a deadline.
func helperCloseWhileAllocWaits(args []string) int {
	seg := proctest.OpenSegment(args[0])
	ctx := context.Background()
	if args[1] == "timeout" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Hour)
		defer cancel()
	}
	h := layout.HeaderOf(seg.Bytes())
	alloc := func(name string) error {
		_, err := seg.AllocContext(ctx, shm.Request{Name: name, Kind: shm.KindBytes, Length: 64}, nil)
		return err
	}
	wait := func() error {
		second := make(chan error, 1)
		go func() { second <- alloc("second") }()
		first := alloc("first")
		if err := <-second; !errors.Is(err, shm.ErrClosed) {
			return fmt.Errorf("the queued allocation ended with %v", err)
		}
		return first
	}
	return proctest.CloseWhileWaiting(seg, wait, func() bool { return h.AllocWaiters.Load() > 0 })
}

// Close while Alloc waited for the allocation lock faulted ("unexpected
// fault address" at the lock's waiter word): the wait went on in the
// unmapped header. It now ends with ErrClosed, as the other blocking calls.
func TestCloseWhileAllocWaits(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	plant(seg, uint32(os.Getpid()))
	defer plant(seg, 0)
	for _, form := range []string{"plain", "timeout"} {
		t.Run(form, func(t *testing.T) {
			assert.Equal(t, "closed", proctest.Output(t, "closewhilealloc", name, form))
		})
	}
	objs, err := seg.Objects()
	require.NoError(t, err)
	assert.Empty(t, objs)
}
