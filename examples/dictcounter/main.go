// Dictcounter: five processes each add 1 to d["year"] 1000 times. Python's
// seed needs a Lock around `d["year"] += 1` (a read, then a write, each a
// round trip to the Manager's server); here one call is atomic, either
// Add (the C library adds under the dict's writer lock) or Update (any
// function of the old value, retried if another process got in between).
//
//	go run ./examples/dictcounter
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

const workers, adds = 5, 1000

func main() {
	process.Main(map[string]process.Func{"add": add})

	name := fmt.Sprintf("example-dictcounter-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()
	d, err := dict.NewMap[string, int64](seg, "d")
	check(err)
	defer d.Unlink()
	defer d.Close()

	for _, how := range []string{"add", "update"} {
		check(d.Set("year", 2000))
		ps, err := process.StartAll(workers, "add", name, how)
		check(err)
		check(process.WaitAll(ps))
		year, _, err := d.Get("year")
		check(err)
		fmt.Printf("d[\"year\"] after %d processes x %d (%s): %d\n", workers, adds, how, year)
	}
}

// add adds 1 to d["year"] adds times, by args[1]: "add" or "update".
func add(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	d, err := dict.OpenMap[string, int64](seg, "d")
	if err != nil {
		return err
	}
	defer d.Close()
	for range adds {
		if args[1] == "add" {
			_, err = d.Add("year", 1)
		} else {
			_, err = d.Update("year", func(year int64, ok bool) int64 { return year + 1 })
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
