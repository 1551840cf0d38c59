package pool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/shmkit/shmkit/pool"
)

// Tasks are registered at package level, so that every copy of the program
// (each worker) has them under the same name.
var (
	square = pool.Register("example.square", func(x int) (int, error) { return x * x, nil })
	shout  = pool.Register("example.shout", func(s string) (string, error) {
		if s == "" {
			return "", errors.New("nothing to shout")
		}
		return strings.ToUpper(s) + "!", nil
	})
)

// exampleName keeps each example's pool apart from other programs'.
func exampleName(what string) string { return fmt.Sprintf("shmkit-example-%d-%s", os.Getpid(), what) }

func Example() {
	// A program's main calls process.Dispatch (or process.Main) first, so
	// that the copies it starts become workers; a test binary's TestMain
	// does it here.
	p, err := pool.New(pool.WithWorkers(2), pool.WithName(exampleName("map")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Join()
	defer p.Close()

	out, err := pool.Map(context.Background(), p, square, []int{1, 2, 3, 4, 5})
	fmt.Println(out, err)
	// Output: [1 4 9 16 25] <nil>
}

// A failed task fails alone: Imap yields its error in its place and goes on.
func ExampleImap() {
	p, err := pool.New(pool.WithWorkers(2), pool.WithName(exampleName("imap")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Join()
	defer p.Close()

	words := slices.Values([]string{"hello", "", "pool"})
	for out, err := range pool.Imap(context.Background(), p, shout, words) {
		var te *pool.TaskError
		if errors.As(err, &te) {
			fmt.Println("task", te.Index, "failed:", te.Err)
			continue
		}
		fmt.Println(out)
	}
	// Output:
	// HELLO!
	// task 1 failed: nothing to shout
	// POOL!
}

// Python's apply_async: the call runs in the background; Get waits for it.
func ExampleApplyAsync() {
	p, err := pool.New(pool.WithWorkers(1), pool.WithName(exampleName("apply")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Join()
	defer p.Close()

	ctx := context.Background()
	r := pool.ApplyAsync(ctx, p, square, 12, nil)
	v, err := r.Get(ctx)
	fmt.Println(v, err, r.Successful())
	// Output: 144 <nil> true
}
