package channel_test

import (
	"bufio"
	"fmt"
	"os/exec"
	"runtime"
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
			opts := []channel.Option{channel.WithJoinable()}
			workers := 3 // more processes than cores
			if spsc {
				opts, workers = append(opts, channel.WithSPSC()), 1
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
	ch, err := channel.New[float64](seg, "q", 4, 2, channel.WithJoinable())
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

// A producer killed where its message never entered the queue leaves
// nothing unfinished: blocked in Send on a full channel, or killed while
// writing into a slot it claimed. Every queued message is received and
// marked done, and Join returns.
func TestJoinAfterAProducerDied(t *testing.T) {
	for _, spsc := range []bool{false, true} {
		for _, where := range []string{"blocked", "writing"} {
			t.Run(fmt.Sprintf("spsc=%v/%s", spsc, where), func(t *testing.T) {
				seg, name := proctest.Segment(t, 1<<20)
				opts := []channel.Option{channel.WithJoinable()}
				if spsc {
					opts = append(opts, channel.WithSPSC())
				}
				ch, err := channel.New[float64](seg, "q", 4, 16, opts...)
				require.NoError(t, err)
				var cmd *exec.Cmd
				if where == "blocked" {
					cmd = proctest.Command(t, "sendforever", name, "q", "1")
					require.NoError(t, cmd.Start())
					// Asleep in Send on the full channel: past any counting
					// done before a slot is claimed.
					for ch.State().SendWaiters == 0 {
						runtime.Gosched()
					}
				} else {
					cmd = proctest.Command(t, "stuckwriter", name, "q")
					out, err := cmd.StdoutPipe()
					require.NoError(t, err)
					in, err := cmd.StdinPipe() // open: it writes until killed
					require.NoError(t, err)
					defer in.Close()
					require.NoError(t, cmd.Start())
					line, err := bufio.NewReader(out).ReadString('\n')
					require.NoError(t, err)
					require.Equal(t, "writing\n", line)
				}
				require.NoError(t, cmd.Process.Kill())
				_ = cmd.Wait()

				queued := 0
				buf := make([]float64, 16)
				for {
					_, ok, err := ch.TryRecv(buf)
					require.NoError(t, err)
					if !ok {
						break
					}
					queued++
					require.NoError(t, ch.TaskDone())
				}
				if where == "blocked" {
					assert.GreaterOrEqual(t, queued, 4, "the full channel's messages")
				}
				ok, err := ch.JoinTimeout(10 * time.Second)
				require.NoError(t, err)
				assert.True(t, ok, "Join returned: nothing the dead producer left is unfinished")
				assert.ErrorIs(t, ch.TaskDone(), channel.ErrTaskDone)
			})
		}
	}
}
