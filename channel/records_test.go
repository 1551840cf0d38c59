package channel_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
)

// event is a record carried by a channel.
type event struct {
	Seq    int64
	Pos    [3]float32
	Flags  uint8
	_      [3]byte
	Energy float64
}

// helperSendEvents sends events 0..n-1 on channel args[1], one or three per
// message, then ends the stream.
func helperSendEvents(args []string) int {
	seg := proctest.OpenSegment(args[0])
	ch, err := channel.Open[event](seg, args[1])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	n, _ := strconv.Atoi(args[2])
	for k := 0; k < n; {
		batch := []event{}
		for j := 0; j < 1+k%3 && k < n; j++ {
			batch = append(batch, event{Seq: int64(k), Pos: [3]float32{float32(k), 1, 2}, Flags: uint8(k), Energy: float64(k) / 2})
			k++
		}
		if err := ch.Send(batch); err != nil {
			return proctest.Fail("send: %v", err)
		}
	}
	return exitOn(ch.End())
}

// Records cross processes whole, in order, on both kinds of channel.
func TestRecordChannelAcrossProcesses(t *testing.T) {
	for _, kind := range []string{"any", "spsc"} {
		t.Run(kind, func(t *testing.T) {
			seg, name := proctest.Segment(t, 4<<20)
			ch, err := channel.New[event](seg, "ev", 8, 3, options(kind)...)
			require.NoError(t, err)
			const n = 3000
			cmd := proctest.Command(t, "sendevents", name, "ev", strconv.Itoa(n))
			require.NoError(t, cmd.Start())
			k := 0
			for msg, err := range ch.Messages() {
				require.NoError(t, err)
				for _, e := range msg {
					require.Equal(t, event{Seq: int64(k), Pos: [3]float32{float32(k), 1, 2}, Flags: uint8(k), Energy: float64(k) / 2}, e)
					k++
				}
			}
			require.NoError(t, cmd.Wait())
			assert.Equal(t, n, k)
		})
	}
}

func TestRecordChannelMismatch(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	_, err := channel.New[event](seg, "ev", 4, 1)
	require.NoError(t, err)
	type other struct {
		Seq    int64
		Pos    [3]float32
		Kind   uint8
		_      [3]byte
		Energy float64
	}
	_, err = channel.Open[other](seg, "ev")
	require.ErrorIs(t, err, ctypes.ErrTypeMismatch)
	assert.Contains(t, err.Error(), "Kind (B at 20) in other, Flags (B at 20)")
	_, err = channel.Open[float64](seg, "ev")
	require.ErrorIs(t, err, ctypes.ErrTypeMismatch)
	_, err = channel.New[struct{ S string }](seg, "bad", 4, 1)
	require.ErrorIs(t, err, ctypes.ErrUnsupportedType)

	st, err := channel.Inspect(seg, "ev")
	require.NoError(t, err)
	assert.Equal(t, 4, st.Cap)
}
