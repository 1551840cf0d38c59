// Run once: the seeds' question of how to start printx only once when
// three processes each run a scheduler that starts it, and the answers
// tried. printx prints "hello x" forever in the seeds; here a few times,
// so that each attempt ends and can be counted.
//
//   - no guard: every scheduler starts a printer (3);
//   - a Lock held by the parent around starting and joining each
//     scheduler: still 3, since a scheduler returns once its printer is
//     started;
//   - a Semaphore(1), then a Lock, held by each scheduler while its
//     printer runs: 3 printers, one at a time (with printx forever, the
//     second would wait forever);
//   - a shared flag tested and set under a Lock: only the first starts a
//     printer, the others say it has run. This is the answer.
//
// Printers are started by the schedulers, not the parent; each says it has
// finished on a semaphore the parent counts down, so the parent knows when
// all of them are done without being their parent.
//
//	go run ./examples/runonce
package main

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

const schedulers, hellos = 3, 2

// shared is what every process opens.
type shared struct {
	seg                          *shm.Segment
	started, running, most, flag *ctypes.RawValue[int32]
	lock                         *semaphore.Mutex
	sem, finished                *semaphore.Semaphore
}

func main() {
	process.Main(map[string]process.Func{"schedule": schedule, "printx": printx})

	name := fmt.Sprintf("example-runonce-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()
	for _, v := range []string{"started", "running", "most", "flag"} {
		_, err := ctypes.NewRawValue[int32](seg, v, 0)
		check(err)
	}
	_, err = semaphore.NewMutex(seg, "lock") // Lock()
	check(err)
	_, err = semaphore.New(seg, "s", 1) // Semaphore(1)
	check(err)
	_, err = semaphore.New(seg, "finished", 0)
	check(err)
	sh, err := open(name)
	check(err)

	for _, mode := range []string{"none", "parent-lock", "semaphore", "lock", "flag"} {
		for _, v := range []*ctypes.RawValue[int32]{sh.started, sh.running, sh.most, sh.flag} {
			v.Store(0)
		}
		if mode == "parent-lock" {
			for range schedulers { // with lock: start and join, one scheduler at a time
				check(sh.lock.Lock())
				p, err := process.Start("schedule", name, mode)
				check(err)
				check(p.Wait())
				check(sh.lock.Unlock())
			}
		} else {
			ps, err := process.StartAll(schedulers, "schedule", name, mode)
			check(err)
			check(process.WaitAll(ps))
		}
		n := int(sh.started.Load())
		for range n { // every printer started has finished
			ok, err := sh.finished.AcquireTimeout(time.Minute)
			check(err)
			if !ok { // not this program's child: a printer that died cannot say so
				log.Fatalf("%s: a printer did not finish in a minute", mode)
			}
		}
		fmt.Printf("%s: printers started %d, at most %d at once\n", mode, n, sh.most.Load())
	}
}

// schedule is the seeds' ScheduleTest.run under each guard.
func schedule(args []string) error {
	sh, err := open(args[0])
	if err != nil {
		return err
	}
	defer sh.seg.Close()
	switch mode := args[1]; mode {
	case "none", "parent-lock":
		_, err := startPrinter(sh, args[0]) // and return, as the seeds' run does
		return err
	case "semaphore", "lock":
		var acquire, release func() error = sh.sem.Acquire, sh.sem.Release
		if mode == "lock" {
			acquire, release = sh.lock.Lock, sh.lock.Unlock
		}
		if err := acquire(); err != nil {
			return err
		}
		p, err := startPrinter(sh, args[0])
		if err == nil {
			err = p.Wait() // my_process.join(), still holding the guard
		}
		if rerr := release(); err == nil {
			err = rerr
		}
		return err
	case "flag":
		if err := sh.lock.Lock(); err != nil {
			return err
		}
		defer sh.lock.Unlock()
		if sh.flag.Load() != 0 {
			fmt.Println("printx has ran.")
			return nil
		}
		_, err := startPrinter(sh, args[0])
		sh.flag.Store(1) // sum.value += 1
		return err
	default:
		return fmt.Errorf("no mode %q", mode)
	}
}

// startPrinter counts the printer before it starts, so that the count is
// whole once the schedulers have exited.
func startPrinter(sh *shared, name string) (*process.Process, error) {
	fmt.Println("printx is running...")
	sh.started.Add(1)
	p, err := process.Start("printx", name)
	if err != nil {
		sh.started.Add(-1)
	}
	return p, err
}

// printx prints a few times; it tells the parent when it is done.
func printx(args []string) error {
	sh, err := open(args[0])
	if err != nil {
		return err
	}
	defer sh.seg.Close()
	n := sh.running.Add(1)
	for m := sh.most.Load(); n > m && !sh.most.CompareAndSwap(m, n); m = sh.most.Load() {
	}
	for range hellos {
		fmt.Println("hello x")
		time.Sleep(10 * time.Millisecond)
	}
	sh.running.Add(-1)
	return sh.finished.Release()
}

func open(name string) (*shared, error) {
	seg, err := shm.Open(name)
	if err != nil {
		return nil, err
	}
	sh := &shared{seg: seg}
	for _, v := range []struct {
		p    **ctypes.RawValue[int32]
		name string
	}{{&sh.started, "started"}, {&sh.running, "running"}, {&sh.most, "most"}, {&sh.flag, "flag"}} {
		if *v.p, err = ctypes.OpenRawValue[int32](seg, v.name); err != nil {
			seg.Close()
			return nil, err
		}
	}
	if sh.lock, err = semaphore.OpenMutex(seg, "lock"); err == nil {
		if sh.sem, err = semaphore.Open(seg, "s"); err == nil {
			sh.finished, err = semaphore.Open(seg, "finished")
		}
	}
	if err != nil {
		seg.Close()
		return nil, err
	}
	return sh, nil
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
