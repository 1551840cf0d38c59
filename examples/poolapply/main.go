// Pool.apply and friends: the seeds' cube(x) run with apply, one call at a
// time; square(x) with map; then ten long_time_task calls given with
// apply_async, the pool closed and joined. The seeds' ThreadPool versions
// of the last program (multiprocessing.pool.ThreadPool and the threadpool
// package, with a callback per result) are, in Go, goroutines in this one
// process: the last part runs the same tasks that way.
//
//	go run ./examples/poolapply
package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
)

const work = 20 * time.Millisecond // the seeds sleep a second or more

var (
	cube   = pool.Register("cube", func(x int) (int, error) { time.Sleep(work); return x * x * x, nil })
	square = pool.Register("square", func(x int) (int, error) { time.Sleep(work); return x * x, nil })
	task   = pool.Register("long_time_task", func(name int) (float64, error) { return longTimeTask(name), nil })
)

func main() {
	process.Dispatch()
	ctx := context.Background()
	numbers := []int{1, 2, 3, 4, 5}
	fmt.Printf("Parent process %d\n", os.Getpid())

	p, err := pool.New(pool.WithWorkers(4), pool.WithName(fmt.Sprintf("example-poolapply-%d", os.Getpid())))
	check(err)
	var cubes []int
	for _, n := range numbers {
		c, err := pool.Apply(ctx, p, cube, n) // waits for this one result
		check(err)
		cubes = append(cubes, c)
	}
	fmt.Println("Results:", cubes)
	squares, err := pool.Map(ctx, p, square, numbers)
	check(err)
	fmt.Println("Results:", squares)

	for i := range 10 {
		pool.ApplyAsync(ctx, p, task, i, nil) // its result is not wanted
	}
	fmt.Println("wait for all subprocess done.")
	p.Close()
	fmt.Println("task start")
	check(p.Join()) // every task given has run
	fmt.Println("All task done.")

	// ThreadPool(): goroutines, at most one per CPU at a time, each result
	// handed to a callback.
	var mu sync.Mutex
	var names []int
	callback := func(name int, spent float64) {
		mu.Lock()
		defer mu.Unlock()
		names = append(names, name)
	}
	threadPool(runtime.NumCPU(), 10, longTimeTask, callback)
	slices.Sort(names)
	fmt.Println("threads: callback got tasks", names)
}

// longTimeTask sleeps a random while and returns how long it took.
func longTimeTask(name int) float64 {
	fmt.Printf("Running task %d (%d)\n", name, os.Getpid())
	start := time.Now()
	time.Sleep(time.Duration(rand.Float64() * float64(5*work)))
	spent := time.Since(start).Seconds()
	fmt.Printf("Task %d run %0.2f seconds.\n", name, spent)
	return spent
}

// threadPool runs f(0) ... f(n-1) on at most size goroutines at once and
// calls callback with each result.
func threadPool(size, n int, f func(int) float64, callback func(int, float64)) {
	var wg sync.WaitGroup
	places := make(chan struct{}, size)
	for i := range n {
		wg.Add(1)
		places <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-places }()
			callback(i, f(i))
		}()
	}
	wg.Wait()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
