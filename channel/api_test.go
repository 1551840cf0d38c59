package channel_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// A channel names itself, as every handle of shmkit does, for the caller's
// errors and logs; the name is the object's, from any handle.
func TestChannelName(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "jobs", 4, 2)
	require.NoError(t, err)
	assert.Equal(t, "jobs", ch.Name())
	o, err := channel.Open[float64](seg, "jobs")
	require.NoError(t, err)
	assert.Equal(t, "jobs", o.Name())
}

// JoinContext is Join giving up when ctx ends (the README's JoinableQueue
// row; every blocking call has a Context form): an ended context returns
// ctx.Err() while a message is unfinished, and a consumer in another
// process marking it done lets it return nil.
func TestJoinContext(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "q", 4, 2, channel.WithJoinable())
	require.NoError(t, err)
	require.NoError(t, ch.Send([]float64{1}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, ch.JoinContext(ctx), context.DeadlineExceeded, "no consumer yet")

	cmds := startHelpers(t, 1, "taskworker", name, "q")
	require.NoError(t, ch.JoinContext(context.Background()))
	require.NoError(t, ch.End())
	require.NoError(t, cmds[0].Wait())
}
