package interop_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/queue"
)

// TestCChannelReadOnly: every C channel call that writes, made on a
// read-only attach, returns SHMKIT_EREADONLY, on each kind of channel;
// none dies of a signal (each runs in a child of its own, so that one
// crash does not hide the next). Reading the length still works.
func TestCChannelReadOnly(t *testing.T) {
	kinds := map[string][]channel.Option{
		"any": nil, "spsc": {channel.WithSPSC()}, "joinable": {channel.WithJoinable()},
		"spsc-joinable": {channel.WithSPSC(), channel.WithJoinable()},
	}
	for kind, opts := range kinds {
		t.Run(kind, func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<20)
			ch, err := channel.New[float64](seg, "ch", 4, 2, opts...)
			require.NoError(t, err)
			require.NoError(t, ch.Send([]float64{1, 2}))
			out := run(t, peer{"C", cPeer}, "chan-readonly", name, "ch")
			assert.Equal(t, "send=readonly\nrecv=readonly\nend=readonly\nregister=readonly\n"+
				"task_done=readonly\njoin=readonly\nexpect=readonly\nsend_values=readonly\nrecv_values=readonly\nlen=1", out)
			assert.Equal(t, 1, ch.Len(), "nothing was taken")
			assert.False(t, ch.State().Ended)
		})
	}
}

// TestCQueueReadOnly: a C process attached read-only gets
// SHMKIT_EREADONLY from the queue's send and recv; before, both died of
// SIGSEGV taking the queue's lock in the read-only mapping. The message
// queued before is still there.
func TestCQueueReadOnly(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	q, err := queue.New(seg, "q", 4, 64, 1000)
	require.NoError(t, err)
	require.NoError(t, q.Send([]byte("before")))
	out := run(t, peer{"C", cPeer}, "queue-readonly", name, "q")
	assert.Equal(t, "send=readonly\nrecv=readonly", out)
	msg, err := q.Recv()
	require.NoError(t, err)
	assert.Equal(t, []byte("before"), msg)
}

// TestCJoinAfterProducerKilled: a C producer killed while blocked in send
// on a full joinable channel leaves nothing unfinished. A C process then
// receives every queued message, marks each done and joins: the join
// returns, in C and in Go.
func TestCJoinAfterProducerKilled(t *testing.T) {
	for kind, opts := range channelKinds {
		t.Run(kind, func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<20)
			ch, err := channel.New[float64](seg, "q", 4, 1, append(opts, channel.WithJoinable())...)
			require.NoError(t, err)
			producer := cPeer(t, "send-forever", name, "q")
			require.NoError(t, producer.Start())
			for ch.State().SendWaiters == 0 { // asleep in send on the full channel
				runtime.Gosched()
			}
			require.NoError(t, producer.Process.Kill())
			_ = producer.Wait()
			queued := ch.Len()
			require.GreaterOrEqual(t, queued, 4)
			out := run(t, peer{"C", cPeer}, "drain-join", name, "q", "10")
			assert.Equal(t, fmt.Sprintf("received=%d join=ok", queued), out)
			ok, err := ch.JoinTimeout(10 * time.Second)
			require.NoError(t, err)
			assert.True(t, ok, "nothing the dead producer left is unfinished")
		})
	}
}

// TestCExpectedPeerDiesBeforeOpening: a C process names the pid of a
// child it started (which exits before opening anything) as the peer on
// the other side; its recv, and its send on a full channel, return
// SHMKIT_EPEERDEAD rather than waiting out their minute.
func TestCExpectedPeerDiesBeforeOpening(t *testing.T) {
	for kind, opts := range channelKinds {
		for _, side := range []string{"recv", "send"} {
			t.Run(kind+"/"+side, func(t *testing.T) {
				seg, name := proctest.Segment(t, 1<<20)
				_, err := channel.New[float64](seg, "q", 2, 1, opts...)
				require.NoError(t, err)
				out := run(t, peer{"C", cPeer}, "expect", name, "q", side)
				assert.Equal(t, side+"=peerdead expect0=einval", out)
			})
		}
	}
}
