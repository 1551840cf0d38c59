// pool.imap as an iterator, and map_async: the seed's double and triple
// programs with a pool of 4 workers, each task a short sleep standing for
// some work.
//
//	go run ./examples/poolimap
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"slices"
	"time"

	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
)

const work = 100 * time.Millisecond // the seed sleeps a second

var (
	double = pool.Register("double", func(x int) (int, error) { time.Sleep(work); return x * 2, nil })
	triple = pool.Register("triple", func(x int) (int, error) { time.Sleep(work); return x * 3, nil })
)

func main() {
	process.Dispatch()
	p, err := pool.New(pool.WithWorkers(4), pool.WithName(fmt.Sprintf("example-poolimap-%d", os.Getpid())))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	numbers := []int{1, 2, 3, 4, 5}

	for result, err := range pool.Imap(ctx, p, double, slices.Values(numbers)) { // an iterator
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("Result:", result)
	}

	result := pool.MapAsync(ctx, p, triple, numbers, nil) // returns at once
	p.Close()
	if err := p.Join(); err != nil {
		log.Fatal(err)
	}
	triples, err := result.Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Results:", triples)
}
