// A pool of workers doubling numbers: the seed's multiprocessing_pool2.py,
// Pool(processes=cpu_count()*2, initializer=start_process,
// maxtasksperchild=3) and pool.map. Each worker prints its name when it
// starts; after 3 chunks it leaves and another takes its place.
//
//	go run ./examples/poolmap
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
)

var (
	doCalculation = pool.Register("do_calculation", func(data int) (int, error) { return data * 2, nil })
	startProcess  = pool.RegisterInit("start_process", func([]string) error {
		fmt.Println("Starting", process.Name())
		return nil
	})
)

func main() {
	process.Dispatch() // a copy started as a pool worker serves the pool here

	inputs := make([]int, 100)
	for i := range inputs {
		inputs[i] = i
	}
	t1 := time.Now()
	builtin := make([]int, len(inputs))
	for i, x := range inputs {
		builtin[i] = x * 2
	}
	fmt.Println("Built-in:", list(builtin))
	fmt.Println(time.Since(t1))

	t2 := time.Now()
	p, err := pool.New(
		pool.WithWorkers(runtime.NumCPU()*2),
		pool.WithInitializer(startProcess),
		pool.WithMaxTasksPerChild(3),
		pool.WithName(fmt.Sprintf("example-poolmap-%d", os.Getpid())),
	)
	if err != nil {
		log.Fatal(err)
	}
	outputs, err := pool.Map(context.Background(), p, doCalculation, inputs)
	p.Close() // no more tasks
	if jerr := p.Join(); err == nil {
		err = jerr // wrap up current tasks
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Pool    :", list(outputs))
	fmt.Println(time.Since(t2))
}

// list prints numbers as Python prints a list.
func list(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
