// Process basics: the seeds' first programs on Process. A worker is a
// copy of this program started in a role (package process), so a function
// and a "class" look alike: the class's fields cross as arguments.
//
//   - clock(interval) run by a worker, then the same as a type with a run
//     method (the seeds' ClockProcess subclass);
//
//   - three workers started and joined, then "All workers finished";
//
//   - a worker named "MyWorkerProcess" prints its name and pid;
//
//   - sleeper(name, seconds) with daemon flipped, printing its pid and
//     its parent's;
//
//   - a worker changes a global and an argument: the parent's stay empty,
//     as nothing is shared between processes unless put in shared memory.
//
//     go run ./examples/processbasics
package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/shmkit/shmkit/process"
)

const tick = 20 * time.Millisecond // the seeds sleep seconds; the point is the same

func main() {
	process.Main(map[string]process.Func{
		"clock": clock, "clock-process": runClockProcess, "worker": worker, "whoami": whoami,
		"sleeper": sleeper, "change_global": changeGlobal, "change_local": changeLocal,
	})

	// Process(target=clock, args=(interval,))
	p, err := process.Start("clock", tick.String())
	check(err)
	check(p.Wait())
	// ClockProcess(interval).start()
	p, err = clockProcess{interval: tick}.start()
	check(err)
	check(p.Wait())

	// Three workers, started, then joined.
	var ps []*process.Process
	for i := range 3 {
		p, err := process.Start("worker", strconv.Itoa(i))
		check(err)
		ps = append(ps, p)
	}
	check(process.WaitAll(ps))
	fmt.Println("All workers finished")

	// Process(target=worker, name="MyWorkerProcess"); its pid is p.pid.
	var out bytes.Buffer
	p = &process.Process{Role: "whoami", Name: "MyWorkerProcess", Stdout: io.MultiWriter(os.Stdout, &out)}
	check(p.Start())
	check(p.Wait())
	fmt.Println("the worker's PID is p.Pid():", printed(out.String(), `Worker PID: (\d+)`) == p.Pid())

	// The sleeper, with daemon flipped before start.
	fmt.Printf("in parent process (id %d)\n", os.Getpid())
	out.Reset()
	p = &process.Process{Role: "sleeper", Args: []string{"bob", tick.String()}, Stdout: io.MultiWriter(os.Stdout, &out)}
	fmt.Println("daemon?", p.Daemon)
	p.Daemon = !p.Daemon
	fmt.Println("daemon?", p.Daemon)
	check(p.Start())
	fmt.Println("in parent process after child process start")
	fmt.Println("parent process about to join child process")
	check(p.Wait())
	fmt.Println("in parent process after child process join")
	fmt.Println("the child's parent is this process:", printed(out.String(), `parent process: (\d+)`) == os.Getpid())

	// Nothing is shared: a worker's changes to a global or to its
	// arguments stay in that worker.
	p, err = process.Start("change_global")
	check(err)
	check(p.Wait())
	fmt.Println("parent's a:", a)
	args := make([]string, len(a))
	for i, x := range a {
		args[i] = strconv.Itoa(x)
	}
	p, err = process.Start("change_local", args...)
	check(err)
	check(p.Wait())
	fmt.Println("parent's a:", a)
}

func clock(args []string) error {
	interval, err := time.ParseDuration(args[0])
	if err != nil {
		return err
	}
	for range 3 {
		fmt.Println("The time is", time.Now().Format(time.ANSIC))
		time.Sleep(interval)
	}
	return nil
}

// clockProcess is the seeds' ClockProcess: start sends its fields to a new
// worker as arguments; the worker rebuilds it and calls run.
type clockProcess struct{ interval time.Duration }

func (c clockProcess) start() (*process.Process, error) {
	return process.Start("clock-process", c.interval.String())
}

func (c clockProcess) run() {
	for range 3 {
		fmt.Println("The time is", time.Now().Format(time.ANSIC), "(ClockProcess)")
		time.Sleep(c.interval)
	}
}

func runClockProcess(args []string) error {
	interval, err := time.ParseDuration(args[0])
	if err != nil {
		return err
	}
	clockProcess{interval: interval}.run()
	return nil
}

func worker(args []string) error {
	fmt.Printf("Worker %s: Starting\n", args[0])
	time.Sleep(tick) // some work
	fmt.Printf("Worker %s: Finishing\n", args[0])
	return nil
}

func whoami([]string) error {
	fmt.Println("Worker name:", process.Name()) // current_process().name
	fmt.Println("Worker PID:", os.Getpid())
	return nil
}

func sleeper(args []string) error {
	seconds, err := time.ParseDuration(args[1])
	if err != nil {
		return err
	}
	fmt.Println("starting child process with id:", os.Getpid())
	fmt.Println("parent process:", os.Getppid())
	fmt.Println("sleeping for", seconds)
	time.Sleep(seconds)
	fmt.Println(args[0], "done sleeping")
	return nil
}

// a is the seeds' global list: each process has its own.
var a = []int{}

func changeGlobal([]string) error {
	a = append(a, 1)
	fmt.Println("in global", a)
	return nil
}

func changeLocal(args []string) error {
	b := []int{}
	for _, s := range args { // the argument, as this worker received it
		x, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		b = append(b, x)
	}
	b = append(b, 2)
	fmt.Println("in local", b)
	return nil
}

// printed returns the number a worker printed after pattern's text.
func printed(out, pattern string) int {
	m := regexp.MustCompile(pattern).FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
