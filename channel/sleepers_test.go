package channel_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// Receivers killed while asleep never take their count out of the sleeper
// word. The messages after them must not each pay a wake system call for
// the dead: after at most one wasted wake per sender, the count is known to
// hold no live sleeper until it changes.
func TestKilledSleepersCostNoWakes(t *testing.T) {
	for _, spsc := range []bool{false, true} {
		t.Run(fmt.Sprintf("spsc=%v", spsc), func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<20)
			var opts []channel.Option
			sleepers := 3 // more processes than cores
			if spsc {
				opts, sleepers = append(opts, channel.WithSPSC()), 1
			}
			ch, err := channel.New[float64](seg, "ch", 8, 4, opts...)
			require.NoError(t, err)
			cmds := startHelpers(t, sleepers, "recvonce-exit", name, "ch")
			for deadline := time.Now().Add(time.Minute); ch.State().RecvWaiters < sleepers; {
				require.True(t, time.Now().Before(deadline), "the receivers never slept: %+v", ch.State())
				time.Sleep(time.Millisecond) // observing state, not synchronising
			}
			for _, cmd := range cmds {
				require.NoError(t, cmd.Process.Kill())
				cmd.Wait()
			}

			before := channel.WakeCalls()
			buf := make([]float64, 4)
			for i := range 1000 {
				require.NoError(t, ch.Send([]float64{float64(i)}))
				n, err := ch.Recv(buf)
				require.NoError(t, err)
				require.Equal(t, []float64{float64(i)}, buf[:n])
			}
			assert.LessOrEqual(t, channel.WakeCalls()-before, int64(2),
				"wake system calls for 1,000 messages after %d sleepers were killed", sleepers)
		})
	}
}
