package interop_test

import (
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// TestChannelBatchesGoToPeer: Go sends through a Writer, in batches of 7
// published by one store each, and ends; the peer, receiving one message
// at a time with its own SPSC code, gets every message in order, then EOF.
func TestChannelBatchesGoToPeer(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", 8, msgLen, channel.WithSPSC())
		require.NoError(t, err)
		r := start(t, p, "recv", name, "ch")
		w, err := ch.Writer(7)
		require.NoError(t, err)
		msg := make([]float64, msgLen)
		for k := range messages {
			for j := range msg {
				msg[j] = float64(k*msgLen + j)
			}
			require.NoError(t, w.Send(msg))
		}
		require.NoError(t, w.End())
		r.expect(t, fmt.Sprintf("received=%d sum=%d order=ok", messages, total))
		require.NoError(t, r.cmd.Wait())
	})
}

// TestChannelPeerToGoBatches: the peer sends and ends; Go takes what is
// ready with RecvBatch, storing head once per batch, and gets every
// message in order, then EOF.
func TestChannelPeerToGoBatches(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", 8, msgLen, channel.WithSPSC())
		require.NoError(t, err)
		ch.RegisterReceiver()
		r := start(t, p, "send", name, "ch", strconv.Itoa(messages), strconv.Itoa(msgLen))
		bufs := make([][]float64, 5)
		for i := range bufs {
			bufs[i] = make([]float64, msgLen)
		}
		k := 0
		for k < messages {
			n, err := ch.RecvBatch(bufs)
			require.NoError(t, err, "message %d", k)
			for _, m := range bufs[:n] {
				require.Len(t, m, msgLen)
				for j, x := range m {
					require.Equal(t, float64(k*msgLen+j), x, "message %d element %d", k, j)
				}
				k++
			}
		}
		_, err = ch.RecvBatch(bufs)
		require.ErrorIs(t, err, io.EOF)
		r.expect(t, fmt.Sprintf("sent=%d sum=%d", messages, total))
		require.NoError(t, r.cmd.Wait())
	})
}

// sendValuesInRuns sends 0 .. count-1 as one-value messages through a
// Writer's SendValues, in runs of 1 to 61 (step picks their lengths), and
// ends the stream.
func sendValuesInRuns(t *testing.T, ch *channel.Channel[float64], count, step int) {
	w, err := ch.Writer(7)
	require.NoError(t, err)
	vs := make([]float64, 61)
	for k, run := 0, 0; k < count; run++ {
		n := min(1+run*step%len(vs), count-k)
		for i := range vs[:n] {
			vs[i] = float64(k + i)
		}
		sent, err := w.SendValues(vs[:n])
		require.NoError(t, err)
		require.Equal(t, n, sent)
		k += n
	}
	require.NoError(t, w.End())
}

// recvValuesInOrder takes count one-value messages with RecvValues, up to
// bufLen at a time, checks that they are 0 .. count-1, then EOF.
func recvValuesInOrder(t *testing.T, ch *channel.Channel[float64], count, bufLen int) {
	buf := make([]float64, bufLen)
	for k := 0; k < count; {
		n, err := ch.RecvValues(buf)
		require.NoError(t, err, "value %d", k)
		for _, v := range buf[:n] {
			require.Equal(t, float64(k), v, "value %d", k)
			k++
		}
	}
	_, err := ch.RecvValues(buf)
	require.ErrorIs(t, err, io.EOF)
}

// TestChannelValuesGoToPeer: Go sends one-value messages through a
// Writer's SendValues, in runs of varying length, and ends; the peer
// receives them one at a time and gets every one in order, then EOF.
func TestChannelValuesGoToPeer(t *testing.T) {
	const count = messages * msgLen
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", 8, 1, channel.WithSPSC())
		require.NoError(t, err)
		r := start(t, p, "recv", name, "ch")
		sendValuesInRuns(t, ch, count, 13)
		r.expect(t, fmt.Sprintf("received=%d sum=%d order=ok", count, total))
		require.NoError(t, r.cmd.Wait())
	})
}

// TestChannelPeerToGoValues: the peer sends one-value messages and ends;
// Go takes what is ready with RecvValues and gets every value in order,
// then EOF.
func TestChannelPeerToGoValues(t *testing.T) {
	const count = messages * msgLen
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", 8, 1, channel.WithSPSC())
		require.NoError(t, err)
		ch.RegisterReceiver()
		r := start(t, p, "send", name, "ch", strconv.Itoa(count), "1")
		recvValuesInOrder(t, ch, count, 37)
		r.expect(t, fmt.Sprintf("sent=%d sum=%d", count, total))
		require.NoError(t, r.cmd.Wait())
	})
}

// TestChannelPeerValuesBothWays: the peer's own calls for streams of single
// values (C's shmkit_chan_send_values and shmkit_chan_recv_values, Python's
// send_values and recv_values) against Go's: the peer sends runs of values
// to Go's RecvValues, and receives Go's SendValues; every value arrives once,
// in order, then EOF.
func TestChannelPeerValuesBothWays(t *testing.T) {
	const count = messages * msgLen
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		for _, ch := range []string{"in", "out"} {
			_, err := channel.New[float64](seg, ch, 8, 1, channel.WithSPSC())
			require.NoError(t, err)
		}
		in, err := channel.Open[float64](seg, "in")
		require.NoError(t, err)
		in.RegisterReceiver()
		s := start(t, p, "send-values", name, "in", strconv.Itoa(count))
		recvValuesInOrder(t, in, count, 53)
		s.expect(t, fmt.Sprintf("sent=%d sum=%d", count, total))
		require.NoError(t, s.cmd.Wait())

		out, err := channel.Open[float64](seg, "out")
		require.NoError(t, err)
		r := start(t, p, "recv-values", name, "out")
		sendValuesInRuns(t, out, count, 29)
		r.expect(t, fmt.Sprintf("received=%d sum=%d order=ok", count, total))
		require.NoError(t, r.cmd.Wait())
	})
}
