// Write lock: the seeds' first fragment, a Lock held around writes that
// belong together. Four workers each append the pair "Here's some data."
// and "Here's more data." to one file, 50 times, one write per line,
// holding a shared Lock for the pair; the parent reads the file back and
// checks that no pair was split by another worker's lines.
//
//	go run ./examples/writelock
package main

import (
	"bufio"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

const workers, pairs = 4, 50

func main() {
	process.Main(map[string]process.Func{"writer": writer})

	name := fmt.Sprintf("example-writelock-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()
	_, err = semaphore.NewMutex(seg, "write_lock") // write_lock = Lock()
	check(err)

	f, err := os.CreateTemp("", "writelock-*.txt")
	check(err)
	defer os.Remove(f.Name())
	f.Close()

	ps, err := process.StartAll(workers, "writer", name, f.Name())
	check(err)
	check(process.WaitAll(ps))

	f, err = os.Open(f.Name())
	check(err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	check(sc.Err())
	whole := len(lines) == 2*workers*pairs
	for i := 0; whole && i+1 < len(lines); i += 2 {
		who, first, _ := strings.Cut(lines[i], ": ")
		who2, second, _ := strings.Cut(lines[i+1], ": ")
		whole = who == who2 && first == "Here's some data." && second == "Here's more data."
	}
	fmt.Printf("%d lines from %d workers, every pair whole: %v\n", len(lines), workers, whole)
}

func writer(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	writeLock, err := semaphore.OpenMutex(seg, "write_lock")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(args[1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	me := process.Name()
	for range pairs {
		if err := writeLock.Lock(); err != nil { // the critical section
			return err
		}
		_, err1 := fmt.Fprintf(f, "%s: Here's some data.\n", me)
		_, err2 := fmt.Fprintf(f, "%s: Here's more data.\n", me)
		if err := writeLock.Unlock(); err != nil {
			return err
		}
		if err1 != nil || err2 != nil {
			return fmt.Errorf("write: %v %v", err1, err2)
		}
	}
	return f.Close()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
