package channel_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// Cross-process workloads (W1-W4 beside pipes, sockets, C and Python) are
// in package bench; here is the channel between two goroutines. A message
// is n float64.

var sizes = []int{1, 100_000}

// slotsFor keeps the ring a few megabytes whatever the message size.
func slotsFor(n int) int { return max(4, min(1024, (4<<20)/(8*n))) }

// BenchmarkStreamInProcess is W1/W2 between two goroutines.
func BenchmarkStreamInProcess(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			seg, _ := proctest.Segment(b, 64<<20)
			ch, err := channel.New[float64](seg, "ch", slotsFor(n), n)
			require.NoError(b, err)
			msg := make([]float64, n)
			done := make(chan error)
			go func() {
				buf := make([]float64, n)
				for range b.N {
					if _, err := ch.Recv(buf); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			b.SetBytes(int64(8 * n))
			b.ResetTimer()
			for range b.N {
				ch.Send(msg)
			}
			require.NoError(b, <-done)
		})
	}
}

// helperSink receives args[2] messages, copying each out.
func helperSink(args []string) int {
	_, ch := openChan(args)
	n, _ := strconv.Atoi(args[2])
	buf := make([]float64, ch.MaxLen())
	for range n {
		if _, err := ch.Recv(buf); err != nil {
			return proctest.Fail("recv: %v", err)
		}
	}
	return 0
}
