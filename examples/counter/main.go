// Counter: 5 worker processes each add 1 to a shared counter 1000 times,
// three ways. Python's seed does `with counter.get_lock(): counter.value += 1`.
//
//	go run ./examples/counter
package main

import (
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

const workers, adds = 5, 1000

// racyAdds is larger so that the workers overlap in time: at 1000 adds
// each, a worker is often done before the next one starts.
const racyAdds = 200_000

func main() {
	process.Main(map[string]process.Func{"add": add})

	name := fmt.Sprintf("example-counter-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	if err != nil {
		log.Fatal(err)
	}
	defer shm.Unlink(name)
	defer seg.Close()

	locked, err := ctypes.NewValue[int64](seg, "locked", 0) // Value('q', 0): with its own lock
	check(err)
	atomic, err := ctypes.NewRawValue[int64](seg, "atomic", 0) // RawValue('q', 0)
	check(err)
	racy, err := ctypes.NewRawValue[int64](seg, "racy", 0)
	check(err)

	for _, how := range []string{"locked", "atomic", "racy"} {
		ps, err := process.StartAll(workers, "add", name, how)
		check(err)
		check(process.WaitAll(ps))
	}
	n, err := locked.Get()
	check(err)
	fmt.Printf("with the value's lock: %d\n", n)
	fmt.Printf("with atomic Add:       %d\n", atomic.Load())
	fmt.Printf("load, add, store:      %d of %d (updates lost: %d)\n", racy.Load(), workers*racyAdds, workers*racyAdds-racy.Load())
	// Unlocked `counter.value += 1` in Python, or Load then Store here, is a
	// read and a write: two workers that read the same value both write
	// value+1, and one of the additions is lost. How many are lost depends
	// on how the workers happen to run, from none to many.
}

// add adds 1, adds times, to the counter args[1] of segment args[0].
func add(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	switch args[1] {
	case "locked":
		v, err := ctypes.OpenValue[int64](seg, "locked")
		if err != nil {
			return err
		}
		for range adds {
			if _, err := v.Update(func(x int64) int64 { return x + 1 }); err != nil {
				return err
			}
		}
	case "atomic":
		v, err := ctypes.OpenRawValue[int64](seg, "atomic")
		if err != nil {
			return err
		}
		for range adds {
			v.Add(1)
		}
	case "racy":
		v, err := ctypes.OpenRawValue[int64](seg, "racy")
		if err != nil {
			return err
		}
		for range racyAdds {
			v.Store(v.Load() + 1) // deliberately not atomic as a whole
		}
	default:
		return fmt.Errorf("unknown way %q", strconv.Quote(args[1]))
	}
	return nil
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
