package channel_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// A context that has already ended does not stop a call that need not
// wait: a queued message is received, and a message with room is sent.
// Only a call that would wait returns ctx.Err().
func TestEndedContextLosesToAReadyMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []channel.Option
	}{{"any-to-any", nil}, {"spsc", []channel.Option{channel.WithSPSC()}}} {
		t.Run(tc.name, func(t *testing.T) {
			seg, _ := proctest.Segment(t, 1<<20)
			ch, err := channel.New[int32](seg, "ch", 2, 1, tc.opts...)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()

			require.NoError(t, ch.SendContext(ctx, []int32{7}), "room in the ring: sent")
			buf := make([]int32, 1)
			n, err := ch.RecvContext(ctx, buf)
			require.NoError(t, err, "a queued message is received")
			assert.Equal(t, []int32{7}, buf[:n])

			_, err = ch.RecvContext(ctx, buf)
			assert.ErrorIs(t, err, context.Canceled, "nothing queued: the ended context")
		})
	}
}
