package semaphore_test

import (
	"fmt"
	"os"
	"time"

	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

func exampleSegment() (*shm.Segment, func()) {
	name := fmt.Sprintf("shmkit-example-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	if err != nil {
		panic(err)
	}
	return seg, func() { seg.Close(); shm.Unlink(name) }
}

func ExampleSemaphore() {
	seg, done := exampleSegment()
	defer done()

	sem, err := semaphore.New(seg, "places", 2) // Python's Semaphore(2)
	if err != nil {
		fmt.Println(err)
		return
	}
	sem.Acquire()
	sem.Acquire()
	ok, err := sem.AcquireTimeout(10 * time.Millisecond) // both places taken
	fmt.Println(ok, err)
	sem.Release()
	v, err := sem.Value()
	fmt.Println(v, err)
	// Output:
	// false <nil>
	// 1 <nil>
}

func ExampleEvent() {
	seg, done := exampleSegment()
	defer done()

	ready, err := semaphore.NewEvent(seg, "ready")
	if err != nil {
		fmt.Println(err)
		return
	}
	ready.Set() // wakes every process in ready.Wait()
	ok, err := ready.WaitTimeout(time.Second)
	fmt.Println(ok, err, ready.IsSet())
	// Output: true <nil> true
}
