// Results table: a Go service and a Python script share one table of
// results by name. The service runs jobs on four goroutines and stores each
// result as a record in a shared dict (dict.RecordMap: a Go struct, which
// Python reads as a ctypes.Structure, or a numpy structured scalar where
// numpy is installed). report.py reads the table, prints a report, marks
// every row reviewed in place and leaves its summary in a second dict,
// which the service reads back.
//
//	go run ./examples/resultstable     (needs python3; the package is in python/)
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/shm"
)

// Result is one row of the table: fields of the element types, so that C
// and Python read them.
type Result struct {
	Job    int32
	Status ctypes.Char // 'd' done; 'r' once report.py has reviewed it
	_      [3]byte
	Limit  int64 // the job: count the primes below Limit
	Primes int64
}

func main() {
	python := flag.String("python", "python3", "the Python interpreter to run report.py with")
	jobs := flag.Int("jobs", 12, "jobs to run")
	flag.Parse()
	if err := run(*python, *jobs); err != nil {
		log.Fatal(err)
	}
}

func primesBelow(n int64) int64 {
	composite := make([]bool, n)
	var count int64
	for i := int64(2); i < n; i++ {
		if !composite[i] {
			count++
			for j := i * i; j < n; j += i {
				composite[j] = true
			}
		}
	}
	return count
}

func run(python string, jobs int) error {
	name := fmt.Sprintf("example-resultstable-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	if err != nil {
		return err
	}
	defer shm.Unlink(name)
	defer seg.Close()
	defer dict.UnlinkAll(seg) // the dicts' storage files, before the segment goes
	table, err := dict.NewRecordMap[string, Result](seg, "results")
	if err != nil {
		return err
	}
	defer table.Close()
	summary, err := dict.New(seg, "summary")
	if err != nil {
		return err
	}
	defer summary.Close()

	// The service: four workers store results as they finish.
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, jobs)
	for range 4 {
		wg.Go(func() {
			for job := range work {
				limit := int64(1000 * job)
				r := Result{Job: int32(job), Status: 'd', Limit: limit, Primes: primesBelow(limit)}
				if err := table.Set(fmt.Sprintf("job%02d", job), r); err != nil {
					errs <- err
				}
			}
		})
	}
	for job := 1; job <= jobs; job++ {
		work <- job
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	n, err := table.Len()
	if err != nil {
		return err
	}
	fmt.Printf("Go stored %d results\n", n)

	// The script: it opens the table by name.
	_, src, _, _ := runtime.Caller(0)
	dir := filepath.Dir(src)
	py := exec.Command(python, filepath.Join(dir, "report.py"), name)
	py.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(dir, "..", "..", "python"))
	py.Stdout, py.Stderr = os.Stdout, os.Stderr
	if err := py.Run(); err != nil {
		return fmt.Errorf("report.py: %w", err)
	}

	reviewed := 0
	var keys []string
	if err := table.Range(func(k string, r Result) bool {
		keys = append(keys, k)
		if r.Status == 'r' {
			reviewed++
		}
		return true
	}); err != nil {
		return err
	}
	sort.Strings(keys)
	fmt.Printf("Go sees %d of %d rows reviewed by Python\n", reviewed, len(keys))
	for _, k := range []string{"reviewed", "largest", "total_primes"} {
		v, ok, err := summary.Get(k)
		if err != nil || !ok {
			return fmt.Errorf("summary %q: %v (present: %v)", k, err, ok)
		}
		fmt.Printf("Python's summary: %s = %v\n", k, v)
	}
	return nil
}
