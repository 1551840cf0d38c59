package channel_test

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// The brief's workloads W1-W4, each beside a pipe between the same two
// processes carrying the same bytes. A message is n float64.

var sizes = []int{1, 100_000}

// slotsFor keeps the ring a few megabytes whatever the message size.
func slotsFor(n int) int { return max(4, min(1024, (4<<20)/(8*n))) }

// BenchmarkStream is W1 (size=100000: big messages, the consumer copies
// each out) and W2 (size=1: one float64 per message).
func BenchmarkStream(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("impl=channel/size=%d", n), func(b *testing.B) {
			seg, name := proctest.Segment(b, 64<<20)
			ch, err := channel.New[float64](seg, "ch", slotsFor(n), n)
			require.NoError(b, err)
			msg := make([]float64, n)
			cmd := proctest.Command(b, "sink", name, "ch", strconv.Itoa(b.N))
			require.NoError(b, cmd.Start())
			b.SetBytes(int64(8 * n))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if err := ch.Send(msg); err != nil {
					b.Fatal(err)
				}
			}
			require.NoError(b, cmd.Wait()) // the last message is received
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
		b.Run(fmt.Sprintf("impl=pipe/size=%d", n), func(b *testing.B) {
			cmd := proctest.Command(b, "pipesink", strconv.Itoa(8*n), strconv.Itoa(b.N))
			in, err := cmd.StdinPipe()
			require.NoError(b, err)
			require.NoError(b, cmd.Start())
			msg := make([]byte, 8*n)
			b.SetBytes(int64(8 * n))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := in.Write(msg); err != nil {
					b.Fatal(err)
				}
			}
			in.Close()
			require.NoError(b, cmd.Wait())
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

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

// BenchmarkPingPong is W3: one float64 there and back.
func BenchmarkPingPong(b *testing.B) {
	b.Run("impl=channel", func(b *testing.B) {
		seg, name := proctest.Segment(b, 1<<20)
		ping, err := channel.New[float64](seg, "ping", 1, 1)
		require.NoError(b, err)
		pong, err := channel.New[float64](seg, "pong", 1, 1)
		require.NoError(b, err)
		cmd := proctest.Command(b, "echo", name, strconv.Itoa(b.N))
		require.NoError(b, cmd.Start())
		v := []float64{1}
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			ping.Send(v)
			pong.Recv(v)
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "rtt-ns")
		require.NoError(b, cmd.Wait())
	})
	b.Run("impl=pipe", proctest.PipeRoundTrip)
}

// BenchmarkFloatChannel is W4: the seed's one-slot FloatChannel.
func BenchmarkFloatChannel(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			seg, name := proctest.Segment(b, 4<<20)
			ch, err := channel.NewFloatChannel(seg, "fc", n)
			require.NoError(b, err)
			cmd := proctest.Command(b, "sink", name, "fc", strconv.Itoa(b.N))
			require.NoError(b, cmd.Start())
			msg := make([]float64, n)
			b.SetBytes(int64(8 * n))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				ch.Send(msg)
			}
			require.NoError(b, cmd.Wait())
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
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

// helperPipeSink reads args[1] messages of args[0] bytes from stdin.
func helperPipeSink(args []string) int {
	size, _ := strconv.Atoi(args[0])
	n, _ := strconv.Atoi(args[1])
	buf := make([]byte, size)
	for range n {
		if _, err := io.ReadFull(os.Stdin, buf); err != nil {
			return proctest.Fail("read: %v", err)
		}
	}
	return 0
}

// helperEcho answers args[2] messages on "ping" with the same on "pong".
func helperEcho(args []string) int {
	_, ping := openChan([]string{args[0], "ping"})
	_, pong := openChan([]string{args[0], "pong"})
	n, _ := strconv.Atoi(args[1])
	v := make([]float64, 1)
	for range n {
		if _, err := ping.Recv(v); err != nil {
			return proctest.Fail("recv: %v", err)
		}
		if err := pong.Send(v); err != nil {
			return proctest.Fail("send: %v", err)
		}
	}
	return 0
}
