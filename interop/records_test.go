package interop_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
)

// particle and event are the records Go shares with the peers.
type particle struct {
	Pos    [3]float64
	ID     int64
	Kind   uint8
	_      [3]byte
	Charge int32
	Energy float64
}

type event struct {
	Seq   int64
	Where [2]float32
}

// TestRecords: Go makes an array of records and a channel of records; each
// peer reads the layout from the segment (not from a declaration of its
// own), reads the records by their described offsets, and receives the
// channel's records.
func TestRecords(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		init := make([]particle, 10)
		for i := range init {
			init[i] = particle{ID: int64(i), Energy: float64(i) / 4, Kind: 1}
		}
		_, err := ctypes.NewStructArrayFrom(seg, "p", init)
		require.NoError(t, err)
		ch, err := channel.New[event](seg, "ev", 4, 3)
		require.NoError(t, err)
		r := start(t, p, "records", name, "p", "ev")
		r.expect(t, "layout particle size=48 Pos:d@0x3 ID:q@24 Kind:B@32 Charge:i@36 Energy:d@40")
		r.expect(t, "records=10 ids=45 energy=11.25")
		const n = 500
		for k := 0; k < n; k += 2 {
			require.NoError(t, ch.Send([]event{{Seq: int64(k)}, {Seq: int64(k + 1), Where: [2]float32{1, 2}}}))
		}
		require.NoError(t, ch.End())
		r.expect(t, fmt.Sprintf("events=%d seq=%s", n, strconv.Itoa(n*(n-1)/2)))
		require.NoError(t, r.cmd.Wait())
	})
}
