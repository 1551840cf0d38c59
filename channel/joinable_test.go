package channel_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// helperTaskWorker receives from channel args[1] until the stream ends,
// marking each message done after handling it; with args[2] "die" it
// receives one message and exits without marking it done.
func helperTaskWorker(args []string) int {
	_, ch := openChan(args)
	if len(args) > 2 && args[2] == "die" {
		if _, err := ch.RecvNew(); err != nil {
			return proctest.Fail("recv: %v", err)
		}
		return 0
	}
	for _, err := range ch.Messages() {
		if err != nil {
			return proctest.Fail("recv: %v", err)
		}
		if err := ch.TaskDone(); err != nil {
			return proctest.Fail("task done: %v", err)
		}
	}
	return 0
}

// Python's JoinableQueue across processes: Join returns once every message
// sent has been marked done by the consumers, before the stream ends.
func TestJoinableAcrossProcesses(t *testing.T) {
	for _, spsc := range []bool{false, true} {
		t.Run(fmt.Sprintf("spsc=%v", spsc), func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<20)
			opts := []channel.Option{channel.Joinable()}
			workers := 3 // more processes than cores
			if spsc {
				opts, workers = append(opts, channel.SPSC()), 1
			}
			ch, err := channel.New[float64](seg, "q", 4, 2, opts...)
			require.NoError(t, err)
			cmds := startHelpers(t, workers, "taskworker", name, "q")
			for i := range 30 {
				require.NoError(t, ch.Send([]float64{float64(i)}))
			}
			ok, err := ch.JoinTimeout(time.Minute)
			require.NoError(t, err)
			assert.True(t, ok, "every message was marked done")
			assert.Equal(t, 0, ch.Len())
			require.NoError(t, ch.End())
			for _, cmd := range cmds {
				require.NoError(t, cmd.Wait())
			}
		})
	}
}

// A consumer that dies between receiving and TaskDone leaves its message
// unfinished: Join then ends only by its timeout (the documented choice).
// Marking it done by hand lets Join return.
func TestJoinAfterAConsumerDied(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "q", 4, 2, channel.Joinable())
	require.NoError(t, err)
	require.NoError(t, ch.Send([]float64{1}))
	proctest.Output(t, "taskworker", name, "q", "die")
	ok, err := ch.JoinTimeout(50 * time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok, "the dead consumer's message is still unfinished")
	require.NoError(t, ch.TaskDone())
	require.NoError(t, ch.Join())
	assert.ErrorIs(t, ch.TaskDone(), channel.ErrTaskDone)

	plain, err := channel.New[float64](seg, "plain", 4, 2)
	require.NoError(t, err)
	assert.ErrorIs(t, plain.TaskDone(), channel.ErrNotJoinable)
	assert.ErrorIs(t, plain.Join(), channel.ErrNotJoinable)
}
