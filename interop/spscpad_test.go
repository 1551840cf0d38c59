package interop_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// TestSPSCPaddedGoToPeer: Go sends messages of 1 KB and more on an SPSC
// channel, so that it pads before them (SHMKIT_LEN_PAD) to start their
// elements on a cache line, between small ones that shift the positions;
// the peer takes every message, in order, past the pads, then EOF.
func TestSPSCPaddedGoToPeer(t *testing.T) {
	const count, maxLen = 600, 300
	lens := []int{300, 1, 129, 7, 200}
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", 8, maxLen, channel.WithSPSC())
		require.NoError(t, err)
		r := start(t, p, "recv", name, "ch")
		msg := make([]float64, maxLen)
		var sum float64
		for k := range count {
			n := lens[k%len(lens)]
			for j := range n {
				msg[j] = float64(k*n + j)
				sum += msg[j]
			}
			require.NoError(t, ch.Send(msg[:n]))
		}
		require.NoError(t, ch.End())
		r.expect(t, fmt.Sprintf("received=%d sum=%.0f order=ok", count, sum))
		require.NoError(t, r.cmd.Wait())
	})
}
