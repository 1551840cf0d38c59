// Producer and consumers: the seeds' queue programs, two ways of saying
// "no more work": a sentinel message per consumer (Python's None), and
// closing the channel, after which receivers drain it and get io.EOF (what
// JoinableQueue's join and the sentinel are used for).
//
//	go run ./examples/prodcons
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

const consumers, jobs = 3, 30

func main() {
	process.Main(map[string]process.Func{"consume": consume})

	name := fmt.Sprintf("example-prodcons-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<20)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	for _, mode := range []string{"sentinel", "close"} {
		q, err := channel.New[int64](seg, mode, 8, 1) // a queue of 8 one-number messages
		check(err)
		done, err := ctypes.NewRawValue[int64](seg, mode+"-sum", 0)
		check(err)
		q.RegisterSender()
		ps, err := process.StartAll(consumers, "consume", name, mode)
		check(err)
		for _, p := range ps { // if every consumer dies, even before it opens q, Send returns ErrPeerDead
			check(q.ExpectReceiver(p.Pid()))
		}
		for job := range int64(jobs) {
			check(q.Send([]int64{job + 1}))
		}
		if mode == "sentinel" {
			for range consumers {
				check(q.Send(nil)) // the empty message is the sentinel, one per consumer
			}
		} else {
			check(q.End())
		}
		check(process.WaitAll(ps))
		fmt.Printf("%s: %d consumers handled jobs 1..%d, sum %d\n", mode, consumers, jobs, done.Load())
	}
}

// consume takes jobs until the sentinel or the end of the channel, adding
// each job's number to the shared sum.
func consume(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	q, err := channel.Open[int64](seg, args[1])
	if err != nil {
		return err
	}
	sum, err := ctypes.OpenRawValue[int64](seg, args[1]+"-sum")
	if err != nil {
		return err
	}
	job := make([]int64, 1)
	for {
		n, err := q.Recv(job)
		if errors.Is(err, io.EOF) {
			return nil // closed and drained
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // the sentinel
		}
		sum.Add(job[0])
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
