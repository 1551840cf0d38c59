package interop_test

import (
	"fmt"
	"io"
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// TestSPSCPaddedGoToPeer: Go sends messages of 1 KB and more on an SPSC
// channel, so that it pads before them (SHMKIT_LEN_PAD) to start their
// elements on a cache line, between small ones that shift the positions;
// the peer takes every message, in order, past the pads, then EOF.
func TestSPSCPaddedGoToPeer(t *testing.T) {
	const count, maxLen = 600, 296
	lens := []int{296, 1, 129, 7, 200}
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

// TestSPSCPaddedPeerToGo: the peer (C, or Python through C) sends messages
// of 2,368 bytes on an SPSC channel; it pads before each, so Go finds
// every message's elements on a cache line, whole and in order.
func TestSPSCPaddedPeerToGo(t *testing.T) {
	const count, msgLen = 300, 296
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", 8, msgLen, channel.WithSPSC())
		require.NoError(t, err)
		ch.RegisterReceiver()
		r := start(t, p, "send", name, "ch", strconv.Itoa(count), strconv.Itoa(msgLen))
		var sum float64
		for k := range count {
			require.NoError(t, ch.RecvFunc(func(got []float64) {
				require.Len(t, got, msgLen, "message %d", k)
				require.Zero(t, uintptr(unsafe.Pointer(&got[0]))%64, "message %d starts off a line", k)
				for j, x := range got {
					require.Equal(t, float64(k*msgLen+j), x, "message %d element %d", k, j)
					sum += x
				}
			}))
		}
		require.ErrorIs(t, ch.RecvFunc(func([]float64) {}), io.EOF)
		r.expect(t, fmt.Sprintf("sent=%d sum=%.0f", count, sum))
		require.NoError(t, r.cmd.Wait())
	})
}
