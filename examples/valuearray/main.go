// Value and Array: the seeds' Value("d", 3.14) and Array("i", range(10))
// handed to two workers, the first setting element 0 to 10 and the second
// element 1; then a Value without a lock of its own, counted up by three
// workers that share a separate Lock, as the seeds' increment(number,
// lock) does.
//
//	go run ./examples/valuearray
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

const workers, increments = 3, 100000

func main() {
	process.Main(map[string]process.Func{"proc_test": procTest, "increment": increment})

	name := fmt.Sprintf("example-valuearray-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	value, err := ctypes.NewValue[float64](seg, "value", 3.14) // Value("d", 3.14)
	check(err)
	array, err := ctypes.NewArrayFrom(seg, "array", []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) // Array("i", range(10))
	check(err)
	var ps []*process.Process
	for i := range 2 {
		p, err := process.Start("proc_test", name, strconv.Itoa(i))
		check(err)
		ps = append(ps, p)
	}
	check(process.WaitAll(ps))
	v, err := value.Get()
	check(err)
	fmt.Println("parent", v, elems(array))

	// Value('i', 0, lock=False) and a Lock of its own.
	number, err := ctypes.NewRawValue[int32](seg, "number", 0)
	check(err)
	_, err = semaphore.NewMutex(seg, "lock")
	check(err)
	ps, err = process.StartAll(workers, "increment", name)
	check(err)
	check(process.WaitAll(ps))
	fmt.Printf("Final value: %d (%d workers x %d)\n", number.Load(), workers, increments)
}

// procTest is the seeds' proc_test1 (args[1] 0) and proc_test2 (1).
func procTest(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	value, err := ctypes.OpenValue[float64](seg, "value")
	if err != nil {
		return err
	}
	array, err := ctypes.OpenArray[int32](seg, "array")
	if err != nil {
		return err
	}
	i, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	v, err := value.Get()
	if err != nil {
		return err
	}
	fmt.Printf("child %d %v\n", i+1, v)
	if err := array.Set(i, 10); err != nil {
		return err
	}
	fmt.Printf("child %d %v\n", i+1, elems(array))
	return nil
}

func increment(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	number, err := ctypes.OpenRawValue[int32](seg, "number")
	if err != nil {
		return err
	}
	lock, err := semaphore.OpenMutex(seg, "lock")
	if err != nil {
		return err
	}
	for range increments {
		if err := lock.Lock(); err != nil {
			return err
		}
		number.Store(number.Load() + 1) // number.value += 1: a read, then a write
		if err := lock.Unlock(); err != nil {
			return err
		}
	}
	return nil
}

// elems copies the array's elements under its lock, as array[:] does.
func elems(a *ctypes.Array[int32]) []int32 {
	var out []int32
	check(a.Update(func(e []int32) { out = append(out, e...) }))
	return out
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
