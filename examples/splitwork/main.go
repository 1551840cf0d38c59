// Split work: the seeds' process_data program cuts a list of 100 items
// into 32 nearly equal sublists and gives each to its own process; each
// item is marked in a shared array, so the parent can check that every
// item was processed exactly once. Then the seeds' MuProcess: ten named
// workers whose run method returns how long it took, a value Python
// throws away; here a worker's function returns only an error, and each
// puts its result in its own slot of a shared array instead.
//
//	go run ./examples/splitwork
package main

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

const items, processes, tasks = 100, 32, 10

func main() {
	process.Main(map[string]process.Func{"process_data": processData, "task": task})

	name := fmt.Sprintf("example-splitwork-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	// Each item's count of the times it was processed.
	handled, err := ctypes.NewRawArray[int32](seg, "handled", items)
	check(err)
	length := float64(items) / processes
	indices := make([]int, processes+1)
	for i := range indices {
		indices[i] = int(math.Round(float64(i) * length))
	}
	var ps []*process.Process
	sizes := map[int]int{}
	for i := range processes {
		args := []string{name}
		for item := indices[i]; item < indices[i+1]; item++ {
			args = append(args, strconv.Itoa(item))
		}
		sizes[len(args)-1]++
		p, err := process.Start("process_data", args...)
		check(err)
		ps = append(ps, p)
	}
	check(process.WaitAll(ps))
	once := true
	for i := range items {
		once = once && handled.At(i) == 1
	}
	fmt.Printf("%d items in %d sublists (%d of 3 items, %d of 4), each processed once: %v\n",
		items, processes, sizes[3], sizes[4], once)

	// MuProcess: ten named workers, each leaving its result in slot i.
	spent, err := ctypes.NewRawArray[float64](seg, "spent", tasks)
	check(err)
	ps = ps[:0]
	for i := range tasks {
		p := &process.Process{Role: "task", Name: strconv.Itoa(i), Index: i, Args: []string{name}}
		check(p.Start()) // Python's start() returns None, all its callback got
		ps = append(ps, p)
	}
	fmt.Println("wait for all subprocess done.")
	check(process.WaitAll(ps))
	got := 0
	for i := range tasks {
		if spent.At(i) > 0 {
			got++
		}
	}
	fmt.Printf("All task done; %d of %d results came back through shared memory\n", got, tasks)
}

func processData(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	handled, err := ctypes.OpenRawArray[int32](seg, "handled")
	if err != nil {
		return err
	}
	for _, s := range args[1:] {
		item, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		fmt.Printf("Processing %d ...\n", item)
		handled.Add(item, 1)
	}
	return nil
}

func task(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	spent, err := ctypes.OpenRawArray[float64](seg, "spent")
	if err != nil {
		return err
	}
	fmt.Printf("Running task %s (%d)\n", process.Name(), os.Getpid())
	start := time.Now()
	time.Sleep(time.Duration(1+rand.IntN(50)) * time.Millisecond)
	s := time.Since(start).Seconds()
	fmt.Printf("Task %s run %0.3f seconds.\n", process.Name(), s)
	spent.Set(process.Index(), s) // the return value Python loses
	return nil
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
