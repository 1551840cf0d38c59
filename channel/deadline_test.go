package channel_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// Timed sends and receives that cannot go ahead, with another process
// spinning on the same CPU: each gives up near its deadline. The spin had
// yielded the CPU 16 times before looking at the clock, each yield a time
// slice of the busy process, and returned about 24 ms late.
func TestTimeoutsOnBusyCPU(t *testing.T) {
	for _, spsc := range []bool{false, true} {
		t.Run(map[bool]string{false: "any-to-any", true: "spsc"}[spsc], func(t *testing.T) {
			seg, _ := proctest.Segment(t, 1<<20)
			var opts []channel.Option
			if spsc {
				opts = append(opts, channel.WithSPSC())
			}
			ch, err := channel.New[float64](seg, "ch", 1, 1, opts...)
			require.NoError(t, err)
			proctest.OneBusyCPU(t)
			buf := make([]float64, 1)
			recv := proctest.Late(time.Millisecond, func() {
				_, ok, err := ch.RecvTimeout(buf, time.Millisecond)
				require.NoError(t, err)
				require.False(t, ok)
			})
			require.Less(t, recv, 10*time.Millisecond, "RecvTimeout late by %v (median)", recv)
			for { // fill it
				ok, err := ch.TrySend([]float64{1})
				require.NoError(t, err)
				if !ok {
					break
				}
			}
			send := proctest.Late(time.Millisecond, func() {
				ok, err := ch.SendTimeout([]float64{2}, time.Millisecond)
				require.NoError(t, err)
				require.False(t, ok)
			})
			require.Less(t, send, 10*time.Millisecond, "SendTimeout late by %v (median)", send)
		})
	}
}
