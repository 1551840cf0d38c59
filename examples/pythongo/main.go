// Python drives, Go works: a Python program (driver.py) makes a
// shmkit.Pool whose workers are this Go program, and maps over its
// registered functions. A Python user speeds up a hot function by writing
// it in Go, with no extension module to build: the values cross as their
// bytes (an int as 8 bytes, a list or numpy array of floats as a []float64),
// never pickled. Run as it is, this program starts python3 driver.py with
// its own path; the pool then starts copies of it as workers, which
// process.Dispatch sends to the pool.
//
//	go run ./examples/pythongo        (needs python3; numpy is used if it is there)
package main

import (
	"errors"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
)

// The tasks, registered at package level so every copy knows them. Python
// calls them by name; it learns their types from this program.
var (
	// collatz counts the steps of n's Collatz sequence down to 1: a loop
	// Python runs slowly and Go quickly.
	_ = pool.Register("collatz", func(n int64) (int64, error) {
		if n < 1 {
			return 0, errors.New("collatz: n must be positive")
		}
		steps := int64(0)
		for ; n != 1; steps++ {
			if n%2 == 0 {
				n /= 2
			} else {
				n = 3*n + 1
			}
		}
		return steps, nil
	})
	// stats of a sample: a []float64 in, a struct out (a tuple in Python).
	_ = pool.Register("stats", func(xs []float64) (Stats, error) {
		if len(xs) == 0 {
			return Stats{}, errors.New("stats: empty sample")
		}
		var s Stats
		s.Min, s.Max = math.Inf(1), math.Inf(-1)
		for _, x := range xs {
			s.Mean += x
			s.Min, s.Max = min(s.Min, x), max(s.Max, x)
		}
		s.Mean /= float64(len(xs))
		return s, nil
	})
	// scale multiplies a vector: a []float64 out, array.array('d') in Python.
	_ = pool.Register("scale", func(xs []float64) ([]float64, error) {
		for i := range xs {
			xs[i] *= 2.5
		}
		return xs, nil
	})
	_ = pool.Register("shout", func(s string) (string, error) { return strings.ToUpper(s) + "!", nil })
)

// Stats crosses as its memory: three float64s, "<ddd" to Python.
type Stats struct{ Mean, Min, Max float64 }

func main() {
	process.Dispatch() // a worker started by the Python pool serves it and exits here
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	_, src, _, _ := runtime.Caller(0)
	dir := filepath.Dir(src)
	py := exec.Command(python(), filepath.Join(dir, "driver.py"), self)
	py.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(dir, "..", "..", "python"),
		"EXAMPLE_POOL_NAME=example-pythongo-"+strconv.Itoa(os.Getpid()))
	py.Stdout, py.Stderr = os.Stdout, os.Stderr
	if err := py.Run(); err != nil {
		log.Fatal("driver.py: ", err)
	}
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
