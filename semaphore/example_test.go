package semaphore_test

import (
	"errors"
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

	sem, _ := semaphore.New(seg, "places", 2) // Python's Semaphore(2)
	sem.Acquire()
	sem.Acquire()
	ok, _ := sem.AcquireTimeout(10 * time.Millisecond) // both places taken
	fmt.Println(ok)
	sem.Release()
	v, _ := sem.Value()
	fmt.Println(v)
	// Output:
	// false
	// 1
}

func ExampleMutex() {
	seg, done := exampleSegment()
	defer done()

	mu, _ := semaphore.NewMutex(seg, "state")
	// In every process: lock, and repair if the last holder died holding it.
	err := mu.Lock()
	if errors.Is(err, semaphore.ErrOwnerDead) {
		// ... put the guarded data right, then:
		mu.Consistent()
	} else if err != nil {
		panic(err)
	}
	fmt.Println("locked")
	mu.Unlock() // by the goroutine that locked it
	// Output: locked
}

func ExampleEvent() {
	seg, done := exampleSegment()
	defer done()

	ready, _ := semaphore.NewEvent(seg, "ready")
	ready.Set() // wakes every process in ready.Wait()
	ok, _ := ready.WaitTimeout(time.Second)
	fmt.Println(ok, ready.IsSet())
	// Output: true true
}
