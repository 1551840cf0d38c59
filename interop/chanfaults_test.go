package interop_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// TestCChannelReadOnly: every C channel call that writes, made on a
// read-only attach, returns SHMKIT_EREADONLY, on each kind of channel;
// none dies of a signal (each runs in a child of its own, so that one
// crash does not hide the next). Reading the length still works.
func TestCChannelReadOnly(t *testing.T) {
	kinds := map[string][]channel.Option{
		"any": nil, "spsc": {channel.SPSC()}, "joinable": {channel.Joinable()},
		"spsc-joinable": {channel.SPSC(), channel.Joinable()},
	}
	for kind, opts := range kinds {
		t.Run(kind, func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<20)
			ch, err := channel.New[float64](seg, "ch", 4, 2, opts...)
			require.NoError(t, err)
			require.NoError(t, ch.Send([]float64{1, 2}))
			out := run(t, peer{"C", cPeer}, "chan-readonly", name, "ch")
			assert.Equal(t, "send=readonly\nrecv=readonly\nend=readonly\nregister=readonly\n"+
				"task_done=readonly\njoin=readonly\nlen=1", out)
			assert.Equal(t, 1, ch.Len(), "nothing was taken")
			assert.False(t, ch.State().Closed)
		})
	}
}
