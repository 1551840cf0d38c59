// A program that forgets process.Dispatch: each worker it starts runs
// main again. pool.New must refuse there, not start workers of its own.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/shmkit/shmkit/pool"
)

var double = pool.Register("double", func(x int) (int, error) { return 2 * x, nil })

func main() {
	p, err := pool.New(pool.WithWorkers(2), pool.WithName(os.Args[1]))
	if err != nil {
		fmt.Println("New:", err)
		os.Exit(1)
	}
	_, err = pool.Map(context.Background(), p, double, []int{1, 2, 3})
	fmt.Println("Map:", err)
	p.Terminate()
}
