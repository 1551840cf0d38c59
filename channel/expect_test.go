package channel_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// helperExitEarly fails before it opens anything, as a peer program with a
// bad import or a typo does.
func helperExitEarly([]string) int { return 3 }

// helperSendThree sends three one-number messages on channel args[1], then
// ends the stream.
func helperSendThree(args []string) int {
	_, ch := openChan(args)
	for i := range 3 {
		if err := ch.Send([]float64{float64(i)}); err != nil {
			return proctest.Fail("send: %v", err)
		}
	}
	return exitOn(ch.End())
}

// A peer that dies before it opens the channel is never recorded, so
// nothing tells the other side it is gone: a receive waits for good. The
// starter names the pid it expects (ExpectSender, ExpectReceiver), and the
// waits of every kind return ErrPeerDead once that process has died.
func TestExpectedPeerDiesBeforeOpening(t *testing.T) {
	for _, kind := range []string{"any", "spsc"} {
		for _, wait := range []string{"recv", "send", "join"} {
			t.Run(kind+"/"+wait, func(t *testing.T) {
				seg, name := proctest.Segment(t, 1<<20)
				opts := []channel.Option{channel.WithJoinable()}
				if kind == "spsc" {
					opts = append(opts, channel.WithSPSC())
				}
				ch, err := channel.New[float64](seg, "q", 2, 1, opts...)
				require.NoError(t, err)
				peer := proctest.Command(t, "exitearly", name, "q")
				require.NoError(t, peer.Start())
				defer peer.Wait()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				buf := make([]float64, 1)
				switch wait {
				case "recv":
					ch.RegisterReceiver()
					// Without the expectation, the receive cannot know.
					_, ok, err := ch.RecvTimeout(buf, 600*time.Millisecond)
					require.NoError(t, err)
					require.False(t, ok)
					require.NoError(t, ch.ExpectSender(peer.Process.Pid))
					_, err = ch.RecvContext(ctx, buf)
					assert.ErrorIs(t, err, channel.ErrPeerDead)
				case "send":
					for ok := true; ok; { // fill the ring
						ok, err = ch.TrySend([]float64{1})
						require.NoError(t, err)
					}
					require.NoError(t, ch.ExpectReceiver(peer.Process.Pid))
					assert.ErrorIs(t, ch.SendContext(ctx, []float64{1}), channel.ErrPeerDead)
				case "join":
					require.NoError(t, ch.Send([]float64{1}))
					require.NoError(t, ch.ExpectReceiver(peer.Process.Pid))
					assert.ErrorIs(t, ch.JoinContext(ctx), channel.ErrPeerDead)
				}
				st := ch.State()
				assert.Contains(t, append(st.Producers, st.Consumers...), peer.Process.Pid)
			})
		}
	}
}

// An expected peer that does open the channel is the same entry as its own
// registration: its messages flow, and its end is io.EOF, not ErrPeerDead.
func TestExpectedPeerOpens(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "q", 2, 1)
	require.NoError(t, err)
	peer := proctest.Command(t, "sendthree", name, "q")
	require.NoError(t, peer.Start())
	require.NoError(t, ch.ExpectSender(peer.Process.Pid))
	n := 0
	for msg, err := range ch.Messages() {
		require.NoError(t, err)
		assert.Equal(t, []float64{float64(n)}, msg)
		n++
	}
	assert.Equal(t, 3, n)
	require.NoError(t, peer.Wait())
	assert.Equal(t, []int{peer.Process.Pid}, ch.State().Producers)

	assert.ErrorIs(t, ch.ExpectSender(0), channel.ErrInvalidPid)
	assert.ErrorIs(t, ch.ExpectReceiver(-1), channel.ErrInvalidPid)
	ro, err := shm.Open(name, shm.WithReadOnly())
	require.NoError(t, err)
	defer ro.Close()
	roch, err := channel.Open[float64](ro, "q")
	require.NoError(t, err)
	assert.ErrorIs(t, roch.ExpectSender(1), shm.ErrReadOnly)
}
