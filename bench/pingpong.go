package bench

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"os"
	"time"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/shm"
)

// W3: a round trip of one float64 between two processes.

const (
	rolePing       Role = "ping"
	rolePong       Role = "pong"
	roleFdPing     Role = "fd-ping"
	roleFdPong     Role = "fd-pong"
	roleCPing      Role = "c-ping"
	roleCPong      Role = "c-pong"
	roleCFloorPing Role = "c-floor-ping"
	roleCFloorPong Role = "c-floor-pong"
)

func init() {
	register(rolePing, ping)
	register(rolePong, pong)
	register(roleFdPing, fdPing)
	register(roleFdPong, fdPong)
}

func pingPongWorkload() *Workload {
	return &Workload{ID: "W3", Title: "ping-pong of one float64", Elems: 1, Count: 200_000, Figure: RoundTrip, Impls: []Impl{
		{Name: "shmkit", run: pingPongRun(rolePing, rolePong, channel.WithSPSC())},
		{Name: "shmkit any-to-any", run: pingPongRun(rolePing, rolePong)},
		{Name: "C", run: nativeRun(pingPongRun(roleCPing, roleCPong))},
		{Name: FloorImpl, run: nativeRun(floorPingPongRun)},
		{Name: "Boost message_queue", Div: 5, run: boostMQPingPong},
		{Name: "pipe", Div: 20, run: fdPingPongRun(true)},
		{Name: "unix", Div: 20, run: fdPingPongRun(false)},
		{Name: "python", Div: 40, run: pythonRun("pingpong")},
	}}
}

// openPingPong opens the channels "ping" and "pong" of seg.
func openPingPong(seg *shm.Segment) (ping, pong *channel.Channel[float64], err error) {
	if ping, err = channel.Open[float64](seg, "ping"); err == nil {
		pong, err = channel.Open[float64](seg, "pong")
	}
	return ping, pong, err
}

// ping: args segment count. Sends k on "ping", sums the answers on "pong".
func ping(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		out, in, err := openPingPong(seg)
		if err != nil {
			return "", err
		}
		v := []float64{0}
		ready()
		var total int64
		for k := range n[0] {
			v[0] = float64(k)
			if err := out.Send(v); err != nil {
				return "", err
			}
			if _, err := in.Recv(v); err != nil {
				return "", err
			}
			total += int64(v[0])
		}
		return sum(total), nil
	})
}

// pong answers each ping with its value plus one.
func pong(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		in, out, err := openPingPong(seg)
		if err != nil {
			return "", err
		}
		v := []float64{0}
		ready()
		for range n[0] {
			if _, err := in.Recv(v); err != nil {
				return "", err
			}
			v[0]++
			if err := out.Send(v); err != nil {
				return "", err
			}
		}
		return "0", nil
	})
}

// fdPing writes k to descriptor 3 and reads the answer from 4.
func fdPing(args []string, ready func()) (string, error) {
	n, err := ints(args, 0)
	if err != nil {
		return "", err
	}
	w, r := os.NewFile(3, "out"), os.NewFile(4, "in")
	buf := make([]byte, 8)
	ready()
	var total int64
	for k := range n[0] {
		binary.LittleEndian.PutUint64(buf, math.Float64bits(float64(k)))
		if _, err := w.Write(buf); err != nil {
			return "", err
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		total += int64(math.Float64frombits(binary.LittleEndian.Uint64(buf)))
	}
	return sum(total), nil
}

// fdPong answers on descriptor 3 what it reads on 4, plus one.
func fdPong(args []string, ready func()) (string, error) {
	n, err := ints(args, 0)
	if err != nil {
		return "", err
	}
	w, r := os.NewFile(3, "out"), os.NewFile(4, "in")
	buf := make([]byte, 8)
	ready()
	for range n[0] {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(buf)) + 1
		binary.LittleEndian.PutUint64(buf, math.Float64bits(v))
		if _, err := w.Write(buf); err != nil {
			return "", err
		}
	}
	return "0", nil
}

// W3: one float64 there and back over two one-slot channels.
func pingPongRun(ping, pong Role, opts ...channel.Option) func(context.Context, *Workload, int) (time.Duration, error) {
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
		return run(ctx, 0, pingSum(count), workerSpec{role: roleFdPing, files: pinger, args: args}, workerSpec{role: roleFdPong, files: ponger, args: args})
	}
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
	return run(ctx, 0, pingSum(count), workerSpec{role: roleCFloorPing, args: args}, workerSpec{role: roleCFloorPong, args: args})
}
