// Robust mutex: a worker is killed while it holds the lock, half-way
// through updating two values that must stay equal. The next worker to
// lock gets ErrOwnerDead, with the lock held; it repairs the values, marks
// the mutex consistent, and everyone carries on. Python's Lock would hang
// everyone here.
//
//	go run ./examples/robustmutex
package main

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

func main() {
	process.Main(map[string]process.Func{"die": die, "recover": recoverer})

	name := fmt.Sprintf("example-robustmutex-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	_, err = semaphore.NewMutex(seg, "lock")
	check(err)
	_, err = ctypes.NewRawArray[int64](seg, "pair", 2) // invariant: pair[0] == pair[1]
	check(err)
	held, err := semaphore.NewEvent(seg, "held")
	check(err)

	victim, err := process.Start("die", name)
	check(err)
	check(held.Wait())   // it holds the lock and has broken the invariant
	check(victim.Kill()) // SIGKILL: no defer, no unlock
	fmt.Println("worker killed while holding the lock:", victim.Wait() != nil)

	next, err := process.Start("recover", name)
	check(err)
	check(next.Wait())
}

// die locks, changes half of the pair, says so, and waits to be killed.
func die(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	mu, err := semaphore.OpenMutex(seg, "lock")
	if err != nil {
		return err
	}
	pair, err := ctypes.OpenRawArray[int64](seg, "pair")
	if err != nil {
		return err
	}
	held, err := semaphore.OpenEvent(seg, "held")
	if err != nil {
		return err
	}
	if err := mu.Lock(); err != nil {
		return err
	}
	pair.Set(0, 42) // pair[1] would follow; it never will
	held.Set()
	select {} // killed here
}

// recoverer locks, finds the dead owner, repairs the pair, and goes on.
func recoverer(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	mu, err := semaphore.OpenMutex(seg, "lock")
	if err != nil {
		return err
	}
	pair, err := ctypes.OpenRawArray[int64](seg, "pair")
	if err != nil {
		return err
	}
	err = mu.Lock()
	switch {
	case errors.Is(err, semaphore.ErrOwnerDead):
		fmt.Printf("next worker: the owner died; pair was %v, repairing\n", pair.Slice())
		pair.Set(1, pair.At(0)) // finish the dead worker's update
		if err := mu.Consistent(); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	fmt.Printf("next worker: pair is %v, invariant holds: %v\n", pair.Slice(), pair.At(0) == pair.At(1))
	return mu.Unlock()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
