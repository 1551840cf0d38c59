// Event and Barrier across processes: workers wait for the parent's Event,
// then meet at a Barrier before the second phase of their work.
//
//	go run ./examples/eventbarrier
package main

import (
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

const workers = 3

func main() {
	process.Main(map[string]process.Func{"work": work})

	name := fmt.Sprintf("example-eventbarrier-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	start, err := semaphore.NewEvent(seg, "start")
	check(err)
	_, err = semaphore.NewBarrier(seg, "phase", workers)
	check(err)
	phase1, err := ctypes.NewRawValue[int32](seg, "phase1", 0)
	check(err)
	late, err := ctypes.NewRawValue[int32](seg, "late", 0)
	check(err)

	var ps []*process.Process
	for i := range workers {
		p, err := process.Start("work", name, strconv.Itoa(i))
		check(err)
		ps = append(ps, p)
	}
	fmt.Println("parent: setting the start event")
	start.Set()
	check(process.WaitAll(ps))
	fmt.Printf("phase 1 done by %d workers; %d started phase 2 before all finished phase 1\n",
		phase1.Load(), late.Load())
}

func work(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	start, err := semaphore.OpenEvent(seg, "start")
	if err != nil {
		return err
	}
	phase, err := semaphore.OpenBarrier(seg, "phase")
	if err != nil {
		return err
	}
	phase1, err := ctypes.OpenRawValue[int32](seg, "phase1")
	if err != nil {
		return err
	}
	late, err := ctypes.OpenRawValue[int32](seg, "late")
	if err != nil {
		return err
	}
	if err := start.Wait(); err != nil { // Event.wait()
		return err
	}
	phase1.Add(1)
	if _, err := phase.Wait(); err != nil { // Barrier.wait(): all of phase 1 is done
		return err
	}
	if phase1.Load() != workers {
		late.Add(1)
	}
	fmt.Printf("worker %s passed the barrier\n", args[1])
	return nil
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
