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

// BenchmarkStreamInProcess is W1/W2 between two goroutines, on the default
// channel and on an SPSC one.
func BenchmarkStreamInProcess(b *testing.B) {
	for _, kind := range []string{"any", "spsc", "spsc-batched"} {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("kind=%s/size=%d", kind, n), func(b *testing.B) { streamInProcess(b, kind, n) })
		}
	}
}

// BenchmarkSendRecvOneGoroutine sends and receives one float64 in turn from
// one goroutine: the instructions each takes, with no other core involved.
func BenchmarkSendRecvOneGoroutine(b *testing.B) {
	for _, kind := range []string{"any", "spsc"} {
		b.Run("kind="+kind, func(b *testing.B) {
			seg, _ := proctest.Segment(b, 1<<20)
			ch, err := channel.New[float64](seg, "ch", 64, 1, options(kind)...)
			require.NoError(b, err)
			msg := []float64{1}
			for b.Loop() {
				ch.Send(msg)
				ch.Recv(msg)
			}
		})
	}
}

// BenchmarkSendRecvLargeOneGoroutine is BenchmarkSendRecvOneGoroutine with
// W1's messages of 100,000 float64 on an SPSC ring of five: the cost of the
// two 800 KB copies, into and out of the ring, wherever the messages land.
func BenchmarkSendRecvLargeOneGoroutine(b *testing.B) {
	const n = 100_000
	seg, _ := proctest.Segment(b, 8<<20)
	ch, err := channel.New[float64](seg, "ch", 5, n, channel.WithSPSC())
	require.NoError(b, err)
	msg, buf := make([]float64, n), make([]float64, n)
	small := []float64{1}
	b.SetBytes(8 * n)
	for i := 0; b.Loop(); i++ {
		if i%3 == 0 { // a small message now and then moves the positions on
			ch.Send(small)
			ch.Recv(buf)
		}
		ch.Send(msg)
		ch.Recv(buf)
	}
}

// BenchmarkBatchOneGoroutine is BenchmarkSendRecvOneGoroutine through a
// Writer and RecvBatch, 64 messages of one float64 at a time; ns/op is per
// message.
func BenchmarkBatchOneGoroutine(b *testing.B) {
	const batch = 64
	ch, w := batchWriter(b, batch)
	msg := []float64{1}
	bufs := make([][]float64, batch)
	for i := range bufs {
		bufs[i] = make([]float64, 1)
	}
	for i := 0; i < b.N; i += batch {
		for range batch {
			w.Send(msg)
		}
		w.Flush() // the ring's end cuts a batch short: publish the rest
		for got := 0; got < batch; {
			n, err := ch.RecvBatch(bufs[got:])
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}

func options(kind string) []channel.Option {
	if kind == "spsc" {
		return []channel.Option{channel.WithSPSC()}
	}
	return nil
}

func streamInProcess(b *testing.B, kind string, n int) {
	if kind == "spsc-batched" {
		batchedInProcess(b, n)
		return
	}
	seg, _ := proctest.Segment(b, 64<<20)
	ch, err := channel.New[float64](seg, "ch", slotsFor(n), n, options(kind)...)
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
}

// batchedInProcess is streamInProcess on an SPSC channel through a Writer
// and RecvBatch.
func batchedInProcess(b *testing.B, n int) {
	seg, _ := proctest.Segment(b, 64<<20)
	ch, err := channel.New[float64](seg, "ch", slotsFor(n), n, channel.WithSPSC())
	require.NoError(b, err)
	w, err := ch.Writer(0)
	require.NoError(b, err)
	msg := make([]float64, n)
	done := make(chan error)
	go func() {
		bufs := make([][]float64, 256)
		for i := range bufs {
			bufs[i] = make([]float64, n)
		}
		for got := 0; got < b.N; {
			m, err := ch.RecvBatch(bufs[:min(len(bufs), b.N-got)])
			if err != nil {
				done <- err
				return
			}
			got += m
		}
		done <- nil
	}()
	b.SetBytes(int64(8 * n))
	b.ResetTimer()
	for range b.N {
		w.Send(msg)
	}
	w.Flush()
	require.NoError(b, <-done)
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

// BenchmarkRecordVersusScalars sends and receives, in one goroutine, one
// 32-byte record against four float64 in one message: the same bytes, so
// any difference is the cost of carrying a struct type.
func BenchmarkRecordVersusScalars(b *testing.B) {
	type quad struct{ A, B, C, D float64 }
	for _, kind := range []string{"any", "spsc"} {
		b.Run("elem=record/kind="+kind, func(b *testing.B) {
			seg, _ := proctest.Segment(b, 1<<20)
			ch, err := channel.New[quad](seg, "ch", 64, 1, options(kind)...)
			require.NoError(b, err)
			msg := []quad{{1, 2, 3, 4}}
			for b.Loop() {
				ch.Send(msg)
				ch.Recv(msg)
			}
		})
		b.Run("elem=4xfloat64/kind="+kind, func(b *testing.B) {
			seg, _ := proctest.Segment(b, 1<<20)
			ch, err := channel.New[float64](seg, "ch", 64, 4, options(kind)...)
			require.NoError(b, err)
			msg := []float64{1, 2, 3, 4}
			for b.Loop() {
				ch.Send(msg)
				ch.Recv(msg)
			}
		})
	}
}

// BenchmarkValuesOneGoroutine is BenchmarkBatchOneGoroutine through a
// Writer's SendValues and RecvValues, 64 values at a time; ns/op is per
// message.
func BenchmarkValuesOneGoroutine(b *testing.B) {
	const batch = 64
	ch, w := batchWriter(b, batch)
	src, dst := make([]float64, batch), make([]float64, batch)
	for i := 0; i < b.N; i += batch {
		if _, err := w.SendValues(src); err != nil {
			b.Fatal(err)
		}
		w.Flush() // the ring's end cuts a batch short: publish the rest
		for got := 0; got < batch; {
			n, err := ch.RecvValues(dst[got:])
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}

// batchWriter makes an SPSC channel of 1,024 one-float64 slots and a
// Writer on it that publishes every batch messages.
func batchWriter(b *testing.B, batch int) (*channel.Channel[float64], *channel.Writer[float64]) {
	seg, _ := proctest.Segment(b, 1<<20)
	ch, err := channel.New[float64](seg, "ch", 1024, 1, channel.WithSPSC())
	require.NoError(b, err)
	w, err := ch.Writer(batch)
	require.NoError(b, err)
	return ch, w
}
