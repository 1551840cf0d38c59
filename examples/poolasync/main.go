// apply_async with callbacks, map_async, imap_unordered and get with a
// timeout: the seeds' multi(x) = x + 42 tour of Pool, with an error
// callback for the tasks that fail.
//
//	go run ./examples/poolasync
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
)

var (
	multi  = pool.Register("multi", func(x int) (int, error) { return x + 42, nil })
	getpid = pool.Register("getpid", func(struct{}) (int, error) { return os.Getpid(), nil })
	sleep  = pool.Register("sleep", func(ms int) (struct{}, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return struct{}{}, nil
	})
	checkEven = pool.Register("check_even", func(x int) (int, error) {
		if x%2 != 0 {
			return 0, fmt.Errorf("%d is odd", x)
		}
		return x, nil
	})
)

func main() {
	process.Dispatch()
	p, err := pool.New(pool.WithName(fmt.Sprintf("example-poolasync-%d", os.Getpid())))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Terminate()
	ctx := context.Background()
	ten := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}

	out, err := pool.Map(ctx, p, multi, ten)
	check(err)
	fmt.Println("map:", out)
	out, err = pool.MapAsync(ctx, p, multi, ten, nil).Get(ctx)
	check(err)
	fmt.Println("map_async:", out)

	var unordered []int
	for r := range pool.ImapUnordered(ctx, p, multi, slices.Values(ten)) {
		check(r.Err)
		unordered = append(unordered, r.Value)
	}
	slices.Sort(unordered)
	fmt.Println("imap_unordered, sorted:", unordered)

	timeout, cancel := context.WithTimeout(ctx, 20*time.Second)
	v, err := pool.ApplyAsync(ctx, p, multi, 20, nil).Get(timeout)
	cancel()
	check(err)
	fmt.Println("apply_async(multi, 20):", v)

	pid, err := pool.ApplyAsync(ctx, p, getpid, struct{}{}, nil).Get(ctx)
	check(err)
	fmt.Println("a worker's pid differs from ours:", pid != os.Getpid())
	var results []*pool.AsyncResult[int]
	for range 4 {
		results = append(results, pool.ApplyAsync(ctx, p, getpid, struct{}{}, nil))
	}
	for _, r := range results {
		_, err := r.Get(ctx)
		check(err)
	}
	fmt.Println("4 more pids")

	// callback and error_callback, Python's apply_async(f, args, callback=..., error_callback=...)
	var mu sync.Mutex
	var evens []int
	var odd []string
	var all []*pool.AsyncResult[int]
	for _, x := range ten {
		all = append(all, pool.ApplyAsync(ctx, p, checkEven, x, func(v int, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				odd = append(odd, err.Error())
				return
			}
			evens = append(evens, v)
		}))
	}
	for _, r := range all {
		r.Wait(ctx)
	}
	slices.Sort(evens)
	fmt.Printf("callback got %v; error_callback got %d errors\n", evens, len(odd))

	done := make(chan []int, 1) // map_async with a callback
	pool.MapAsync(ctx, p, multi, ten, func(out []int, err error) { check(err); done <- out })
	fmt.Println("map_async callback:", <-done)

	slow := pool.ApplyAsync(ctx, p, sleep, 2000, nil)
	patience, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = slow.Get(patience)
	cancel()
	if errors.Is(err, context.DeadlineExceeded) {
		fmt.Println("we lacked patience and got a timeout error")
	}
	// The deferred Terminate stops the sleeping worker at once.
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
