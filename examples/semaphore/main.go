// Semaphore(2): five workers share two places. Each says when it holds
// one; the shared "inside" count shows that never more than two do.
//
//	go run ./examples/semaphore
package main

import (
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

const workers, places = 5, 2

func main() {
	process.Main(map[string]process.Func{"work": work})

	name := fmt.Sprintf("example-semaphore-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	_, err = semaphore.New(seg, "places", places) // Semaphore(2)
	check(err)
	_, err = ctypes.NewRawValue[int32](seg, "inside", 0)
	check(err)
	most, err := ctypes.NewRawValue[int32](seg, "most", 0)
	check(err)

	var ps []*process.Process
	for i := range workers {
		p, err := process.Start("work", name, strconv.Itoa(i))
		check(err)
		ps = append(ps, p)
	}
	check(process.WaitAll(ps))
	fmt.Printf("at most %d of %d workers held the semaphore at once\n", most.Load(), workers)
}

func work(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	sem, err := semaphore.Open(seg, "places")
	if err != nil {
		return err
	}
	inside, err := ctypes.OpenRawValue[int32](seg, "inside")
	if err != nil {
		return err
	}
	most, err := ctypes.OpenRawValue[int32](seg, "most")
	if err != nil {
		return err
	}
	if err := sem.Acquire(); err != nil {
		return err
	}
	n := inside.Add(1)
	for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
	}
	fmt.Printf("worker %s holds the semaphore (%d inside)\n", args[1], n)
	time.Sleep(50 * time.Millisecond) // the seed's time.sleep: the work
	inside.Add(-1)
	return sem.Release()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
