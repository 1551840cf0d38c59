package process_test

import (
	"github.com/shmkit/shmkit/process"
)

// A program that starts copies of itself as workers. process.Main must
// come first in main, so that a worker does its job and exits before the
// program's own work starts.
func Example() {
	// func main() {
	process.Main(map[string]process.Func{
		"greet": func(args []string) error { println("hello from", args[0]); return nil },
	})
	p, err := process.Start("greet", "a worker") // the same program, as a worker
	if err != nil {
		panic(err)
	}
	if err := p.Wait(); err != nil {
		panic(err)
	}
	// }
}
