//go:build cgo

package semaphore_test

// A Mutex is a pthread mutex: without cgo NewMutex returns ErrNoCgo.

import (
	"errors"
	"fmt"

	"github.com/shmkit/shmkit/semaphore"
)

func ExampleMutex() {
	seg, done := exampleSegment()
	defer done()

	mu, err := semaphore.NewMutex(seg, "state")
	if err != nil {
		fmt.Println(err)
		return
	}
	// In every process: lock, and repair if the last holder died holding it.
	err = mu.Lock()
	if errors.Is(err, semaphore.ErrOwnerDead) {
		// ... put the guarded data right, then:
		err = mu.Consistent()
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("locked")
	mu.Unlock() // by the goroutine that locked it
	// Output: locked
}
