package channel_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// A process sends 0, 1, 2, ... as one-value messages through SendValues,
// in runs of 1 to 97, with a Flush now and then and now and then a
// two-value message by Send (so that laps end in skip records), over a
// ring of 8 slots that is often full; the receiver takes them with
// RecvValues into buffers of varying length, and the two-value messages
// with Recv, and gets every value once, in order, then EOF.
func TestValuesAcrossProcesses(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 8, 2)
	count := total(400_000)
	cmd := proctest.Command(t, "sendvalues", name, "ch", strconv.Itoa(count))
	require.NoError(t, cmd.Start())
	require.NoError(t, ch.ExpectSender(cmd.Process.Pid))
	buf := make([]float64, 300)
	next, calls := 0, 0
	for {
		n, err := ch.RecvValues(buf[:1+calls%len(buf)])
		calls++
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, io.ErrShortBuffer) {
			n, err = ch.Recv(buf[:2])
			require.NoError(t, err)
			require.Equal(t, []float64{float64(next), -1}, buf[:n], "the two-value message")
			next++
			continue
		}
		require.NoError(t, err)
		for _, v := range buf[:n] {
			require.Equal(t, float64(next), v, "in order, none lost")
			next++
		}
	}
	require.NoError(t, cmd.Wait())
	assert.Equal(t, count, next)
	t.Logf("%d values in %d calls", next, calls)
}

// helperSendValues sends args[2] values as described above, then ends.
func helperSendValues(args []string) int {
	_, ch := openChan(args)
	count, _ := strconv.Atoi(args[2])
	w, err := ch.Writer(13)
	if err != nil {
		return proctest.Fail("%v", err)
	}
	vs := make([]float64, 97)
	for k, run := 0, 0; k < count; run++ {
		n := min(1+run*31%len(vs), count-k)
		for i := range vs[:n] {
			vs[i] = float64(k + i)
		}
		switch {
		case run%17 == 5:
			err = ch.Send([]float64{vs[0], -1}) // publishes the batch before it
			n = 1
		default:
			var sent int
			sent, err = w.SendValues(vs[:n])
			if sent != n && err == nil {
				return proctest.Fail("sent %d of %d", sent, n)
			}
		}
		if err == nil && run%11 == 3 {
			err = w.Flush()
		}
		if err != nil {
			return proctest.Fail("send: %v", err)
		}
		k += n
	}
	if err := w.End(); err != nil {
		return proctest.Fail("end: %v", err)
	}
	return 0
}

// RecvValues takes one-value messages only: a longer one stops the batch
// and stays queued for Recv, an empty one is taken and ends the batch.
func TestValuesOtherLengths(t *testing.T) {
	_, _, ch := newSPSC[int32](t, 8, 3)
	for _, m := range [][]int32{{1}, {2}, {3, 4}, {5}, {}, {6}} {
		require.NoError(t, ch.Send(m))
	}
	buf := make([]int32, 10)
	n, err := ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []int32{1, 2}, buf[:n], "up to the longer message")
	_, err = ch.RecvValues(buf)
	assert.ErrorIs(t, err, io.ErrShortBuffer, "a longer message first")
	n, err = ch.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, []int32{3, 4}, buf[:n], "left queued for Recv")
	n, err = ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []int32{5}, buf[:n], "up to the empty message")
	n, err = ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "the empty message")
	n, err = ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []int32{6}, buf[:n])
	n, err = ch.RecvValues(nil)
	assert.NoError(t, err)
	assert.Zero(t, n)
}

// SendValues writes the records Send writes, for elements narrower than
// a word as well: each value arrives whole through Recv and RecvValues.
func TestValuesNarrowElements(t *testing.T) {
	t.Run("int8", func(t *testing.T) { narrow(t, []int8{-128, -1, 0, 1, 127}) })
	t.Run("uint16", func(t *testing.T) { narrow(t, []uint16{0, 1, 0xfffe, 0xffff}) })
	t.Run("float32", func(t *testing.T) { narrow(t, []float32{-1.5, 0, 3.25, 1e38}) })
	t.Run("uint64", func(t *testing.T) { narrow(t, []uint64{0, 1 << 63, 1<<64 - 1}) })
}

func narrow[T comparable](t *testing.T, vs []T) {
	s, _ := proctest.Segment(t, 1<<20)
	ch, err := channel.New[T](s, "ch", 4, 1, channel.WithSPSC())
	require.NoError(t, err)
	w, err := ch.Writer(0)
	require.NoError(t, err)
	for lap := range 20 { // several laps of a small ring: skips between runs
		n, err := w.SendValues(vs)
		require.NoError(t, err)
		require.Equal(t, len(vs), n)
		require.NoError(t, w.Flush())
		got := make([]T, len(vs))
		if lap%2 == 0 {
			for i := range got {
				k, err := ch.Recv(got[i : i+1])
				require.NoError(t, err)
				require.Equal(t, 1, k)
			}
		} else {
			for k := 0; k < len(got); {
				m, err := ch.RecvValues(got[k:])
				require.NoError(t, err)
				k += m
			}
		}
		require.Equal(t, vs, got, "lap %d", lap)
	}
}

// A writer killed after SendValues wrote a batch it never published
// leaves none of it: the receiver gets only what was sent before.
func TestValuesKilledMidBatch(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 16, 1)
	killInside(t, "stuckvalues", name, "written")
	buf := make([]float64, 10)
	n, err := ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []float64{1}, buf[:n], "the message sent before the batch")
	_, ok, err := ch.TryRecv(buf[:1])
	require.NoError(t, err)
	assert.False(t, ok, "an unpublished batch is no message")
}

// helperStuckValues sends one message, writes five values through a
// Writer whose batch is larger, says so, and waits to be killed.
func helperStuckValues(args []string) int {
	_, ch := openChan(args)
	if err := ch.Send([]float64{1}); err != nil {
		return proctest.Fail("send: %v", err)
	}
	w, err := ch.Writer(100)
	if err != nil {
		return proctest.Fail("%v", err)
	}
	if _, err := w.SendValues([]float64{100, 101, 102, 103, 104}); err != nil {
		return proctest.Fail("send: %v", err)
	}
	fmt.Println("written")
	io.ReadAll(os.Stdin)
	return 0
}

// After End, SendValues reports ErrEnded and how many values went first;
// RecvValues returns what is queued, then EOF. On an any-to-any channel
// RecvValues takes what is queued, one message at a time.
func TestValuesEnd(t *testing.T) {
	_, _, ch := newSPSC[float64](t, 8, 1)
	w, err := ch.Writer(0)
	require.NoError(t, err)
	n, err := w.SendValues([]float64{1, 2, 3})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NoError(t, w.End())
	n, err = w.SendValues([]float64{4})
	assert.ErrorIs(t, err, channel.ErrEnded)
	assert.Zero(t, n)
	buf := make([]float64, 8)
	n, err = ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 2, 3}, buf[:n])
	_, err = ch.RecvValues(buf)
	assert.ErrorIs(t, err, io.EOF)

	seg, _ := proctest.Segment(t, 1<<20)
	any, err := channel.New[float64](seg, "any", 8, 1)
	require.NoError(t, err)
	for v := range 5 {
		require.NoError(t, any.Send([]float64{float64(v)}))
	}
	n, err = any.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []float64{0, 1, 2, 3, 4}, buf[:n])
}
