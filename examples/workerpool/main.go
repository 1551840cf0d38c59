// Worker pool by hand: the seeds' smallest thread pool — daemon workers
// that take (function, arguments) from a queue of num_threads places and
// mark each task done, and a wait_completion that is the queue's join —
// built from worker processes and a joinable channel. It is also the
// seeds' JoinableQueue with ten daemon consumers (-workers 10).
//
// A task here is a delay in milliseconds (the seeds sleep 3 to 7
// seconds). The parent's Join returns only once every task is done,
// which the shared count of finished tasks confirms; the daemon workers,
// still waiting for work, die with the parent, as Python's do.
//
//	go run ./examples/workerpool [-workers 5] [-tasks 50]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"time"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

func main() {
	process.Main(map[string]process.Func{"worker": worker})
	workers := flag.Int("workers", 5, "worker processes, and places in the task queue")
	tasks := flag.Int("tasks", 50, "tasks")
	flag.Parse()

	name := fmt.Sprintf("example-workerpool-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()
	q, err := channel.New[int64](seg, "tasks", *workers, 1, channel.WithJoinable()) // Queue(num_threads), joinable
	check(err)
	done, err := ctypes.NewRawValue[int64](seg, "done", 0)
	check(err)

	for i := range *workers {
		p := &process.Process{Role: "worker", Args: []string{name}, Index: i, Daemon: true}
		check(p.Start())
		check(q.ExpectReceiver(p.Pid())) // if every worker dies, Send and Join say so
	}
	for range *tasks { // pool.map(wait_delay, delays): blocks while the queue is full
		check(q.Send([]int64{3 + rand.Int64N(5)}))
	}
	check(q.Join()) // wait_completion
	fmt.Printf("Join returned with %d of %d tasks done by %d workers\n", done.Load(), *tasks, *workers)
}

// worker runs tasks for as long as there are any, marking each done.
func worker(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	q, err := channel.Open[int64](seg, "tasks")
	if err != nil {
		return err
	}
	done, err := ctypes.OpenRawValue[int64](seg, "done")
	if err != nil {
		return err
	}
	for {
		t, err := q.RecvNew()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Printf("%s: sleep for (%d)ms\n", process.Name(), t[0])
		time.Sleep(time.Duration(t[0]) * time.Millisecond)
		done.Add(1)
		if err := q.TaskDone(); err != nil {
			return err
		}
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
