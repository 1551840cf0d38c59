package channel_test

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/shm"
)

func Example() {
	name := fmt.Sprintf("shmkit-example-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<20)
	if err != nil {
		panic(err)
	}
	defer shm.Unlink(name)
	defer seg.Close()

	// 4 slots of up to 3 float64; another process would channel.Open it.
	ch, err := channel.New[float64](seg, "results", 4, 3)
	if err != nil {
		panic(err)
	}
	ch.Send([]float64{1, 2, 3})
	ch.Send([]float64{4})
	ch.End() // no more messages: receivers drain the queue, then get io.EOF

	buf := make([]float64, ch.MaxLen())
	for {
		n, err := ch.Recv(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil { // ErrPeerDead, io.ErrShortBuffer, ...: never loop on them
			fmt.Println(err)
			return
		}
		fmt.Println(buf[:n])
	}
	// Output:
	// [1 2 3]
	// [4]
}

func ExampleNewFloatChannel() {
	name := fmt.Sprintf("shmkit-example-%d", os.Getpid())
	seg, _ := shm.Create(name, 1<<20)
	defer shm.Unlink(name)
	defer seg.Close()

	fc, _ := channel.NewFloatChannel(seg, "fc", 100_000) // one slot: Send waits until the last was taken
	fc.Send([]float64{0.5, 1.5})
	values, _ := fc.RecvNew() // like the seed's recv(): a new slice
	fmt.Println(values)
	// Output: [0.5 1.5]
}

func ExampleChannel_Writer() {
	name := fmt.Sprintf("shmkit-example-%d", os.Getpid())
	seg, _ := shm.Create(name, 1<<20)
	defer shm.Unlink(name)
	defer seg.Close()

	ch, _ := channel.New[float64](seg, "ticks", 1024, 1, channel.WithSPSC())
	w, _ := ch.Writer(64) // publishes every 64 messages, when full, and at Flush or End
	for i := range 5 {
		w.Send([]float64{float64(i)})
	}
	fmt.Println("queued before Flush:", ch.Len())
	w.End() // publishes the batch, then ends the stream

	bufs := make([][]float64, 16)
	for i := range bufs {
		bufs[i] = make([]float64, 1)
	}
	for {
		n, err := ch.RecvBatch(bufs) // every message that is ready, one store of head
		if err != nil {
			break // io.EOF after the last
		}
		fmt.Println(n, "messages:", bufs[:n])
	}
	// Output:
	// queued before Flush: 0
	// 5 messages: [[0] [1] [2] [3] [4]]
}
