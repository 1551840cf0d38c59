// Go drives, Python works: a Go pool whose workers are Python processes
// (worker.py) computing with numpy. Go declares the tasks with their Go
// types; a []float64 crosses as its bytes, which numpy reads with
// frombuffer, no pickling on either side. Without numpy, worker.py does
// the same sums in plain Python.
//
//	go run ./examples/poolnumpy        (needs python3; numpy if it is there)
package main

import (
	"context"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
)

// The tasks worker.py serves, as Go sees them.
var (
	moments = pool.Declare[[]float64, [2]float64]("np.moments") // mean and standard deviation
	sorted  = pool.Declare[[]float64, []float64]("np.sort")
	which   = pool.Declare[int64, string]("np.which") // "numpy 1.24.2" or "plain Python"
)

func main() {
	process.Dispatch()
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	_, src, _, _ := runtime.Caller(0)
	dir := filepath.Dir(src)
	os.Setenv("PYTHONPATH", filepath.Join(dir, "..", "..", "python")) // the workers inherit it
	p, err := pool.New(pool.WithWorkers(2), pool.WithName(fmt.Sprintf("example-poolnumpy-%d", os.Getpid())),
		pool.WithWorkerCommand(python(), filepath.Join(dir, "worker.py")))
	if err != nil {
		return err
	}
	defer p.Terminate() // removes the pool's segments if a call below fails
	ctx := context.Background()

	// 16 samples of 4,000 points each (32 KB: one message holds a
	// sample), a sine wave whose amplitude grows.
	samples := make([][]float64, 16)
	for i := range samples {
		samples[i] = make([]float64, 4000)
		for k := range samples[i] {
			samples[i][k] = float64(i+1) * math.Sin(float64(k)/100)
		}
	}
	out, err := pool.Map(ctx, p, moments, samples)
	if err != nil {
		return err
	}
	agree := true
	for i, m := range out {
		mean, std := goMoments(samples[i])
		agree = agree && math.Abs(m[0]-mean) < 1e-9 && math.Abs(m[1]-std) < 1e-9
	}
	fmt.Printf("moments of sample 1: mean %.4f, std %.4f\n", out[0][0], out[0][1])
	fmt.Printf("moments of sample 16: mean %.4f, std %.4f\n", out[15][0], out[15][1])
	fmt.Println("16 samples, Python's moments agree with Go's:", agree)

	s, err := pool.Apply(ctx, p, sorted, []float64{3, 1, 4, 1, 5, 9, 2, 6})
	if err != nil {
		return err
	}
	fmt.Println("sorted by Python:", s)
	w, err := pool.Apply(ctx, p, which, 0)
	if err != nil {
		return err
	}
	fmt.Println("the workers computed with", w)
	p.Close()
	return p.Join()
}

func goMoments(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

// python is a python3 with numpy if there is one, else python3.
func python() string {
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import numpy").Run() == nil {
			return py
		}
	}
	return "python3"
}
