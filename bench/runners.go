package bench

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// ringBytes is about how much a stream's ring holds, whatever the message
// size: a few messages of W1, thousands of W2.
const ringBytes = 4 << 20

func slotsFor(elems int) int { return max(4, min(1024, ringBytes/(8*elems))) }

// segmentFor sizes a segment for objects of about n bytes.
func segmentFor(n int) int { return n + 1<<20 }

// W1, W2, W4: a producer and a consumer process over what setup makes
// in a fresh segment.
func streamRun(send, recv string, setup func(seg *shm.Segment, elems int) error) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		seg, name, done, err := segment(segmentFor(slotsFor(w.Elems) * (8*w.Elems + 64)))
		if err != nil {
			return 0, err
		}
		defer done()
		if err := setup(seg, w.Elems); err != nil {
			return 0, err
		}
		args := []string{name, "ch", itoa(count), itoa(w.Elems)}
		return run(ctx, 0, streamSum(count), workerSpec{role: recv, args: args}, workerSpec{role: send, args: args})
	}
}

// floorRing makes the C floor's ring: two index lines, then room for as
// many messages as shmkit's ring holds, end to end.
func floorRing(seg *shm.Segment, elems int) error {
	_, err := seg.Alloc(shm.Request{Name: "ch", Kind: shm.KindBytes, Length: uint64(192 + 8*elems*slotsFor(elems))}, nil)
	return err
}

// W3's C floor: one bytes object with a line for each direction.
func floorPingPongRun(ctx context.Context, w *Workload, count int) (time.Duration, error) {
	seg, name, done, err := segment(segmentFor(4096))
	if err != nil {
		return 0, err
	}
	defer done()
	if _, err := seg.Alloc(shm.Request{Name: "pp", Kind: shm.KindBytes, Length: 128}, nil); err != nil {
		return 0, err
	}
	args := []string{name, "pp", itoa(count)}
	return run(ctx, 0, pingSum(count), workerSpec{role: "c-floor-ping", args: args}, workerSpec{role: "c-floor-pong", args: args})
}

// ring makes W1's and W2's channel: a few megabytes of slots, for one
// producer and one consumer.
func ring(seg *shm.Segment, elems int) error {
	_, err := channel.New[float64](seg, "ch", slotsFor(elems), elems, channel.SPSC())
	return err
}

// anyRing is ring for any number of producers and consumers.
func anyRing(seg *shm.Segment, elems int) error {
	_, err := channel.New[float64](seg, "ch", slotsFor(elems), elems)
	return err
}

// floatChannel makes W4's: the seed's FloatChannel, a one-slot channel.
func floatChannel(seg *shm.Segment, elems int) error {
	_, err := channel.NewFloatChannel(seg, "ch", elems)
	return err
}

// seedObjects makes what the seed's FloatChannel.__init__ makes, for the C
// port of its protocol: a buffer, a length and two semaphores.
func seedObjects(seg *shm.Segment, elems int) error {
	if _, err := ctypes.NewRawArray[float64](seg, "buffer", elems); err != nil {
		return err
	}
	if _, err := ctypes.NewRawValue[int32](seg, "buffer_len", 0); err != nil {
		return err
	}
	if _, err := semaphore.New(seg, "empty", 1); err != nil {
		return err
	}
	_, err := semaphore.New(seg, "full", 0)
	return err
}

// The pipe and socket baselines of W1, W2: the same messages as bytes.
func fdStreamRun(pair func() (*os.File, *os.File, error)) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		r, wr, err := pair()
		if err != nil {
			return 0, err
		}
		args := []string{itoa(count), itoa(w.Elems)}
		return run(ctx, 0, streamSum(count), workerSpec{role: "fd-recv", files: []*os.File{r}, args: args}, workerSpec{role: "fd-send", files: []*os.File{wr}, args: args})
	}
}

// W3: one float64 there and back over two one-slot channels.
func pingPongRun(ping, pong string, opts ...channel.Option) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		seg, name, done, err := segment(segmentFor(4096))
		if err != nil {
			return 0, err
		}
		defer done()
		for _, n := range []string{"ping", "pong"} {
			if _, err := channel.New[float64](seg, n, 1, 1, opts...); err != nil {
				return 0, err
			}
		}
		args := []string{name, itoa(count)}
		return run(ctx, 0, pingSum(count), workerSpec{role: ping, args: args}, workerSpec{role: pong, args: args})
	}
}

// The pipe and socket baselines of W3 and W6: 8 bytes there and back,
// over two pipes or one socket. Descriptor 3 is written, 4 is read.
func fdPingPongRun(pipes bool) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		var pinger, ponger []*os.File
		if pipes {
			r1, w1, err := os.Pipe()
			if err != nil {
				return 0, err
			}
			r2, w2, err := os.Pipe()
			if err != nil {
				return 0, err
			}
			pinger, ponger = []*os.File{w1, r2}, []*os.File{w2, r1}
		} else {
			a, b, err := socketPair()
			if err != nil {
				return 0, err
			}
			pinger, ponger = []*os.File{a, a}, []*os.File{b, b}
		}
		args := []string{itoa(count)}
		return run(ctx, 0, pingSum(count), workerSpec{role: "fd-ping", files: pinger, args: args}, workerSpec{role: "fd-pong", files: ponger, args: args})
	}
}

// counterProcs is how many processes W5 runs.
const counterProcs = 5

// W5: five processes add 1 to one int64, locked or atomically; the total
// must be exact.
func counterRun(role string, locked bool) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		seg, name, done, err := segment(segmentFor(4096))
		if err != nil {
			return 0, err
		}
		defer done()
		var read func() int64
		if locked {
			v, err := ctypes.NewValue[int64](seg, "n", 0)
			if err != nil {
				return 0, err
			}
			read = func() int64 { x, _ := v.Get(); return x }
		} else {
			v, err := ctypes.NewRawValue[int64](seg, "n", 0)
			if err != nil {
				return 0, err
			}
			read = v.Load
		}
		each := max(1, count/counterProcs)
		specs := make([]workerSpec, counterProcs)
		for i := range specs {
			specs[i] = workerSpec{role: role, args: []string{name, "n", itoa(each)}}
		}
		d, err := run(ctx, -1, "", specs...)
		if err != nil {
			return 0, err
		}
		if got := read(); got != int64(each*counterProcs) {
			return 0, fmt.Errorf("%w: counter is %d, expected %d", ErrChecksum, got, each*counterProcs)
		}
		return d * time.Duration(count) / time.Duration(each*counterProcs), nil
	}
}

// W6: two semaphores, posted in turn by two processes.
func semPingPongRun(ping, pong string) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		seg, name, done, err := segment(segmentFor(4096))
		if err != nil {
			return 0, err
		}
		defer done()
		var sems []*semaphore.Semaphore
		for _, n := range []string{"a", "b"} {
			s, err := semaphore.New(seg, n, 0)
			if err != nil {
				return 0, err
			}
			sems = append(sems, s)
		}
		args := []string{name, itoa(count)}
		d, err := run(ctx, 0, itoa(count), workerSpec{role: ping, args: args}, workerSpec{role: pong, args: args})
		if err != nil {
			return 0, err
		}
		for _, s := range sems {
			if v, _ := s.Value(); v != 0 {
				return 0, fmt.Errorf("%w: semaphore left at %d", ErrChecksum, v)
			}
		}
		return d, nil
	}
}
