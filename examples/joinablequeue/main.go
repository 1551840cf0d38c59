// The seed's JoinableQueue program: a consumer process marks each item done
// with TaskDone, and the producer's Join returns once every item put has
// been handled. The consumer runs forever, as the seed's daemon process
// does; the producer ends the stream when it is done with it.
//
//	go run ./examples/joinablequeue
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

func main() {
	process.Main(map[string]process.Func{"consumer": consumer})

	name := fmt.Sprintf("example-joinable-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()
	q, err := channel.New[int64](seg, "q", 8, 1, channel.WithJoinable()) // multiprocessing.JoinableQueue()
	check(err)

	cons, err := process.Start("consumer", name) // cons_p.start()
	check(err)
	// If the consumer dies, even before it opens q, Send and Join return ErrPeerDead.
	check(q.ExpectReceiver(cons.Pid()))
	for _, item := range []int64{1, 2, 3, 4} { // producer(sequence, q)
		check(q.Send([]int64{item}))
	}
	check(q.Join()) // q.join(): every item has been task_done
	fmt.Println("all 4 items handled")
	check(q.End()) // the daemon consumer would be killed at exit; ours ends with the stream
	check(cons.Wait())
}

// consumer prints each item and marks it done, until the stream ends.
func consumer(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	q, err := channel.Open[int64](seg, "q")
	if err != nil {
		return err
	}
	defer q.Close() // lets go of this handle only: the stream goes on for others
	for {
		item, err := q.RecvNew() // input_q.get()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Println(item[0])
		if err := q.TaskDone(); err != nil { // input_q.task_done()
			return err
		}
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
