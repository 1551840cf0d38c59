package channel_test

import (
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// A large message (1 KB or more) on an SPSC ring starts its elements on a
// 64-byte line, whatever came before it: the producer pads when the ring
// has room. Small messages are never padded. Every message arrives whole
// and in order, through Recv, RecvFunc and RecvBatch.
func TestSPSCLargeMessagesStartOnALine(t *testing.T) {
	const maxLen = 704
	seg, _ := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "ch", 8, maxLen, channel.WithSPSC())
	require.NoError(t, err)
	sizes := []int{1, 128, 3, 704, 127, 129, 2, 500, 5, 5, 300}
	msg := make([]float64, maxLen)
	buf := make([]float64, maxLen)
	bufs := [][]float64{make([]float64, maxLen), make([]float64, maxLen), make([]float64, maxLen)}
	for round := range 40 {
		for i, n := range sizes {
			for j := range n {
				msg[j] = float64(round<<20 | i<<10 | j)
			}
			require.NoError(t, ch.Send(msg[:n]))
		}
		check := func(i int, got []float64) {
			require.Len(t, got, sizes[i], "round %d message %d", round, i)
			for j, x := range got {
				require.Equal(t, float64(round<<20|i<<10|j), x, "round %d message %d element %d", round, i, j)
			}
		}
		for i := 0; i < len(sizes); {
			way := 0 // even rounds: RecvFunc, which shows where the elements are
			if round%2 == 1 {
				way = 1 + i%2
			}
			switch way {
			case 0:
				require.NoError(t, ch.RecvFunc(func(got []float64) {
					if len(got)*8 >= 1024 {
						require.Zero(t, uintptr(unsafe.Pointer(&got[0]))%64, "round %d message %d: %d elements", round, i, len(got))
					}
					check(i, got)
				}))
				i++
			case 1:
				n, err := ch.Recv(buf)
				require.NoError(t, err)
				check(i, buf[:n])
				i++
			default:
				n, err := ch.RecvBatch(bufs[:min(len(bufs), len(sizes)-i)])
				require.NoError(t, err)
				for k := range n {
					check(i+k, bufs[k])
				}
				i += n
			}
		}
	}
}

// Producer and consumer processes stream messages of 2 to 600 float64,
// most of them padded, through a ring of 4 and of 64 messages.
func TestSPSCStreamLarge(t *testing.T) {
	for _, slots := range []int{64, 4} {
		t.Run("slots="+strconv.Itoa(slots), func(t *testing.T) {
			stream(t, 1, 1, total(100_000)/slots*3, slots, 600, channel.WithSPSC())
		})
	}
}

// Pads never cost the room promised: an SPSC ring takes slots messages of
// MaxLen, padded or not, whatever the stride leaves for a pad.
func TestSPSCPadsKeepPromisedRoom(t *testing.T) {
	// 134 float64 leave 8 bytes of the stride beyond a record, 296 leave 56.
	for _, g := range []struct{ slots, maxLen int }{{4, 128}, {4, 296}, {4, 300}, {4, 1000}, {64, 134}, {16, 296}} {
		slots, maxLen := g.slots, g.maxLen
		seg, _ := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", slots, maxLen, channel.WithSPSC())
		require.NoError(t, err)
		msg := make([]float64, maxLen)
		small := []float64{1}
		for i := range 3 * ch.Cap() { // small messages between move the positions on
			require.NoError(t, ch.Send(small))
			_, err := ch.Recv(msg)
			require.NoError(t, err)
			for j := range ch.Cap() {
				ok, err := ch.TrySend(msg)
				require.NoError(t, err)
				require.True(t, ok, "MaxLen %d, lap %d: no room for message %d of %d", maxLen, i, j, ch.Cap())
			}
			for range ch.Cap() {
				_, err := ch.Recv(msg)
				require.NoError(t, err)
			}
		}
	}
}
