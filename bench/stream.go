package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// W1, W2 (streams of large and small messages) and W4 (the seed's
// FloatChannel): a producer and a consumer process.

const (
	roleStreamSend  Role = "stream-send"
	roleStreamRecv  Role = "stream-recv"
	roleFdSend      Role = "fd-send"
	roleFdRecv      Role = "fd-recv"
	roleCStreamSend Role = "c-stream-send"
	roleCStreamRecv Role = "c-stream-recv"
	roleCFcSend     Role = "c-fc-send"
	roleCFcRecv     Role = "c-fc-recv"
	roleCFloorSend  Role = "c-floor-send"
	roleCFloorRecv  Role = "c-floor-recv"
	roleCBatchSend  Role = "c-floor-batch-send"
	roleCBatchRecv  Role = "c-floor-batch-recv"
	roleBatchSend   Role = "batch-send"
	roleBatchRecv   Role = "batch-recv"
)

func init() {
	register(roleStreamSend, streamSend)
	register(roleStreamRecv, streamRecv)
	register(roleFdSend, fdSend)
	register(roleFdRecv, fdRecv)
	register(roleBatchSend, batchSend)
	register(roleBatchRecv, batchRecv)
}

// streamWorkload is W1 or W2: elems float64 per message.
func streamWorkload(id, title string, elems, count int) *Workload {
	impls := []Impl{
		{Name: "shmkit", run: streamRun(roleStreamSend, roleStreamRecv, ring)},
		{Name: "shmkit any-to-any", run: streamRun(roleStreamSend, roleStreamRecv, anyRing)},
		{Name: "C", run: nativeRun(streamRun(roleCStreamSend, roleCStreamRecv, anyRing))},
		{Name: FloorImpl, run: nativeRun(streamRun(roleCFloorSend, roleCFloorRecv, floorRing))},
		{Name: "Boost spsc_queue", run: boostSPSCStream},
	}
	if elems == 1 { // batches of single values: a Writer's SendValues and RecvValues, and Boost's array overloads
		impls = append(impls[:2:2], append([]Impl{{Name: BatchedImpl, run: streamRun(roleBatchSend, roleBatchRecv, ring)}}, impls[2:]...)...)
		impls = append(impls, Impl{Name: BatchedFloorImpl, run: nativeRun(streamRun(roleCBatchSend, roleCBatchRecv, floorRing))},
			Impl{Name: "Boost spsc_queue batched", run: boostSPSCBatchStream})
	}
	if elems > 1 { // one double through the array overload is not how anyone uses it
		impls = append(impls, Impl{Name: "Boost spsc_queue array", run: boostSPSCArrayStream})
	}
	impls = append(impls,
		Impl{Name: "Boost message_queue", run: boostMQStream},
		Impl{Name: "pipe", Div: 5, run: fdStreamRun(pipePair)},
		Impl{Name: "unix", Div: 5, run: fdStreamRun(socketPair)},
		Impl{Name: "python", Div: 40, run: pythonRun("stream")})
	return &Workload{ID: id, Title: title, Elems: elems, Count: count, Figure: Throughput, Impls: impls}
}

// floatChannelWorkload is W4: the seed's one-slot blocking channel.
func floatChannelWorkload(elems, count int) *Workload {
	return &Workload{ID: "W4", Title: "the seed's FloatChannel: one slot, blocking", Elems: elems, Count: count,
		Figure: Throughput, Impls: []Impl{
			{Name: "shmkit", run: streamRun(roleStreamSend, roleStreamRecv, floatChannel)},
			{Name: "C", run: nativeRun(streamRun(roleCFcSend, roleCFcRecv, seedObjects))},
			{Name: "python", Div: 40, run: pythonRun("stream")},
		}}
}

// streamSend: args segment channel count elems. Message k carries k first
// and last.
func streamSend(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		ch, err := channel.Open[float64](seg, args[1])
		if err != nil {
			return "", err
		}
		count, elems := n[0], n[1]
		msg := make([]float64, elems)
		ch.RegisterSender()
		ready()
		for k := range count {
			msg[0], msg[elems-1] = float64(k), float64(k)
			if err := ch.Send(msg); err != nil {
				return "", err
			}
		}
		return "0", nil
	})
}

// BatchedImpl names W2's row of the SPSC channel with its batching API.
const BatchedImpl = "shmkit SPSC batched"

// batchSend is streamSend of one-value messages in batches: the values
// are made 64 at a time and sent by a Writer's SendValues, each as a
// message of its own, published with the others of its batch.
func batchSend(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		ch, err := channel.Open[float64](seg, args[1])
		if err != nil {
			return "", err
		}
		count := n[0]
		if n[1] != 1 {
			return "", fmt.Errorf("%w: batched roles send one-value messages, not %d", ErrUnknown, n[1])
		}
		batch := make([]float64, channel.DefaultBatch)
		w, err := ch.Writer(len(batch))
		if err != nil {
			return "", err
		}
		ready()
		for k := 0; k < count; k += len(batch) {
			vs := batch[:min(len(batch), count-k)]
			for i := range vs {
				vs[i] = float64(k + i)
			}
			if _, err := w.SendValues(vs); err != nil {
				return "", err
			}
		}
		return "0", w.Flush()
	})
}

// batchRecv is streamRecv taking every one-value message that is ready at
// once (RecvValues).
func batchRecv(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		ch, err := channel.Open[float64](seg, args[1])
		if err != nil {
			return "", err
		}
		count := n[0]
		if n[1] != 1 {
			return "", fmt.Errorf("%w: batched roles send one-value messages, not %d", ErrUnknown, n[1])
		}
		buf := make([]float64, 256)
		ch.RegisterReceiver()
		ready()
		var total int64
		for got := 0; got < count; {
			m, err := ch.RecvValues(buf[:min(len(buf), count-got)])
			if err != nil {
				return "", err
			}
			for _, v := range buf[:m] {
				total += 2 * int64(v) // as streamRecv: the first and the last element
			}
			got += m
		}
		return sum(total), nil
	})
}

// streamRecv copies each message out and sums its first and last element.
func streamRecv(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		ch, err := channel.Open[float64](seg, args[1])
		if err != nil {
			return "", err
		}
		count, elems := n[0], n[1]
		buf := make([]float64, elems)
		ch.RegisterReceiver()
		ready()
		var total int64
		for range count {
			m, err := ch.Recv(buf)
			if err != nil {
				return "", err
			}
			total += int64(buf[0]) + int64(buf[m-1])
		}
		return sum(total), nil
	})
}

// fdSend writes the stream's messages as bytes to descriptor 3.
func fdSend(args []string, ready func()) (string, error) {
	n, err := ints(args, 0)
	if err != nil {
		return "", err
	}
	count, elems := n[0], n[1]
	w := os.NewFile(3, "out")
	msg := make([]byte, 8*elems)
	ready()
	for k := range count {
		bits := math.Float64bits(float64(k))
		binary.LittleEndian.PutUint64(msg, bits)
		binary.LittleEndian.PutUint64(msg[len(msg)-8:], bits)
		if _, err := w.Write(msg); err != nil {
			return "", err
		}
	}
	return "0", w.Close()
}

// fdRecv reads the stream's messages from descriptor 3.
func fdRecv(args []string, ready func()) (string, error) {
	n, err := ints(args, 0)
	if err != nil {
		return "", err
	}
	count, elems := n[0], n[1]
	r := os.NewFile(3, "in")
	buf := make([]byte, 8*elems)
	ready()
	var total int64
	for range count {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		total += int64(math.Float64frombits(binary.LittleEndian.Uint64(buf))) +
			int64(math.Float64frombits(binary.LittleEndian.Uint64(buf[len(buf)-8:])))
	}
	return sum(total), nil
}

// ringBytes is about how much a stream's ring holds, whatever the message
// size: a few messages of W1, thousands of W2.
const ringBytes = 4 << 20

func slotsFor(elems int) int { return max(4, min(1024, ringBytes/(8*elems))) }

// depthFor is how many messages deep every peer's ring is in W1 and W2:
// as many as shmkit's SPSC ring of slotsFor(elems) slots holds from empty
// (TestRingsEquallyDeep). That ring is slots+1 strides of
// align64(16 + 8·elems) bytes, in which messages lie end to end: records
// of an 8-byte header and the elements, a message of 1 KB or more with a
// pad before it that makes the two a stride. The last record may end at
// the ring's end; one that ends before it leaves 8 bytes free after it.
// So 1,024 slots hold 4,100 messages of one float64, and 5 slots six of
// 100,000. A shallower peer pays for wrapping round sooner: Boost's
// spsc_queue ran 1.2–3× faster 4,096 deep than 1,024 deep.
func depthFor(elems int) int {
	slots, stride, per := slotsFor(elems), (16+8*elems+63)&^63, 8+8*elems
	if 8*elems >= padMinBytes {
		per = stride
	}
	ringLen := (slots + 1) * stride
	n := ringLen / per
	if n*per != ringLen && ringLen-n*per < 8 {
		n--
	}
	return n
}

// floorSmallMsg is floor.c's SMALL_MSG: messages up to this many float64
// go element by element into a power-of-two ring.
const floorSmallMsg = 64

// padMinBytes is the channel's padMin: messages of this many bytes or more
// start on a cache line.
const padMinBytes = 1024

// W1, W2, W4: a producer and a consumer process over what setup makes
// in a fresh segment.
func streamRun(send, recv Role, setup func(seg *shm.Segment, elems int) error) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		seg, name, done, err := segment(streamSegment(w.Elems))
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

// floorRing makes the C floor's ring: two index lines, then a power of
// two of float64 that holds at least as many messages as shmkit's ring.
func floorRing(seg *shm.Segment, elems int) error {
	_, err := seg.Alloc(shm.Request{Name: "ch", Kind: shm.KindBytes, Length: uint64(floorBytes(elems))}, nil)
	return err
}

// floorBytes is the C floor's ring object: two index lines, then the ring.
func floorBytes(elems int) int { return 384 + floorSlotBytes(elems)*floorCap(elems) }

// streamSegment is the size of a W1/W2 segment: room for shmkit's ring of
// slotsFor(elems) slots, or for the floor's, whichever is larger.
func streamSegment(elems int) int {
	return segmentFor(max(slotsFor(elems)*(8*elems+64), floorBytes(elems)))
}

// floorSlotBytes is the bytes per float64 of the C floor's ring: one
// float64 per message travels in a 16-byte stamped slot (floor.c).
func floorSlotBytes(elems int) int {
	if elems == 1 {
		return 16
	}
	return 8
}

// floorCap is the C floor's ring capacity in float64: for small messages
// the power of two at or above what shmkit's ring holds (W2: 8,192 for
// 4,100), for large ones exactly that (W1: 600,000, six messages), which
// floor.c copies without masking. A ring deeper than the others' would
// cost the floor its cache: at 1,048,576 it ran W1 12% slower.
func floorCap(elems int) int {
	if elems > floorSmallMsg {
		return elems * depthFor(elems)
	}
	c := 1
	for c < elems*depthFor(elems) {
		c *= 2
	}
	return c
}

// ring makes W1's and W2's channel: a few megabytes of slots, for one
// producer and one consumer.
func ring(seg *shm.Segment, elems int) error {
	_, err := channel.New[float64](seg, "ch", slotsFor(elems), elems, channel.WithSPSC())
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
		return run(ctx, 0, streamSum(count), workerSpec{role: roleFdRecv, files: []*os.File{r}, args: args}, workerSpec{role: roleFdSend, files: []*os.File{wr}, args: args})
	}
}
