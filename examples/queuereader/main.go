// Queue readers: the seeds' writeQ and readQ programs, a writer process
// putting A to E on a Queue and a reader process taking them, and the
// ways they tried to stop the reader:
//
//   - empty: the reader stops when the queue looks empty, which it may
//     do before the writer is done; what it left stays in the queue;
//   - terminate: the reader reads forever and the parent terminates it
//     once the writer has finished;
//   - wait-empty: the parent waits until the queue is empty, then
//     terminates the reader. Both kill the reader at any point, so an item
//     it has taken but not yet handled can be lost;
//   - end: the writer's side ends the queue; the reader takes everything
//     left, then gets io.EOF and returns. Nothing is left or lost.
//
// The reader counts each item it takes in shared memory; after each way,
// the parent ends the queue, takes what is left, and prints taken, left
// and lost (5 - taken - left).
//
//	go run ./examples/queuereader
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/queue"
	"github.com/shmkit/shmkit/shm"
)

var letters = []string{"A", "B", "C", "D", "E"}

func main() {
	process.Main(map[string]process.Func{"writeQ": writeQ, "readQ": readQ})

	name := fmt.Sprintf("example-queuereader-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<20)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	for _, way := range []string{"empty", "terminate", "wait-empty", "end"} {
		q, err := queue.New(seg, way, 8, 64, 64)
		check(err)
		taken, err := ctypes.NewRawValue[int32](seg, way+"-taken", 0)
		check(err)
		pw, err := process.Start("writeQ", name, way)
		check(err)
		pr, err := process.Start("readQ", name, way)
		check(err)
		check(pw.Wait())
		switch way {
		case "terminate":
			check(pr.Terminate())
		case "wait-empty":
			for q.Len() > 0 && pr.Alive() { // the seeds' busy loop on q.empty()
				runtime.Gosched()
			}
			check(pr.Terminate())
		case "end":
			check(q.End())
		}
		pr.Wait() // a terminated reader's Wait is its signal
		if way != "end" {
			check(q.End()) // so that taking what is left ends with io.EOF
		}
		left := 0
		for {
			_, err := q.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			check(err)
			left++
		}
		n := int(taken.Load())
		fmt.Printf("%s: taken %d, left %d, lost %d\n", way, n, left, len(letters)-n-left)
	}
}

func writeQ(args []string) error {
	seg, q, _, err := open(args[0], args[1])
	if err != nil {
		return err
	}
	defer seg.Close()
	for _, v := range letters {
		fmt.Printf("Put %s to queue ...\n", v)
		if err := q.Send([]byte(v)); err != nil {
			return err
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
	}
	return nil
}

func readQ(args []string) error {
	seg, q, taken, err := open(args[0], args[1])
	if err != nil {
		return err
	}
	defer seg.Close()
	if args[1] == "empty" {
		fmt.Println("read q and q status:", q.Len() == 0)
	}
	for args[1] != "empty" || q.Len() > 0 {
		v, err := q.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		taken.Add(1)
		fmt.Printf("Get %s from queue ...\n", v)
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
	}
	return nil
}

func open(name, way string) (*shm.Segment, *queue.Queue, *ctypes.RawValue[int32], error) {
	seg, err := shm.Open(name)
	if err != nil {
		return nil, nil, nil, err
	}
	q, err := queue.Open(seg, way)
	if err == nil {
		var taken *ctypes.RawValue[int32]
		if taken, err = ctypes.OpenRawValue[int32](seg, way+"-taken"); err == nil {
			return seg, q, taken, nil
		}
	}
	seg.Close()
	return nil, nil, nil, err
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
