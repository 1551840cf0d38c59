// Square sum: workers square the numbers of a shared Array in place and
// add them into a shared Value under its lock, each taking every n-th
// element, as the seed's program does with Array, Value and a Lock.
//
//	go run ./examples/squaresum
package main

import (
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

const workers = 4

func main() {
	process.Main(map[string]process.Func{"square": square})

	name := fmt.Sprintf("example-squaresum-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	numbers := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	arr, err := ctypes.NewArrayFrom(seg, "numbers", numbers)
	check(err)
	total, err := ctypes.NewValue[int64](seg, "total", 0)
	check(err)

	var ps []*process.Process
	for w := range workers {
		p, err := process.Start("square", name, strconv.Itoa(w))
		check(err)
		ps = append(ps, p)
	}
	check(process.WaitAll(ps))

	sum, err := total.Get()
	check(err)
	fmt.Println("squares:", arr.Raw().Slice())
	fmt.Println("sum of squares:", sum)
}

// square squares elements w, w+workers, ... and adds each to the total.
func square(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	w, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	arr, err := ctypes.OpenRawArray[int64](seg, "numbers")
	if err != nil {
		return err
	}
	total, err := ctypes.OpenValue[int64](seg, "total")
	if err != nil {
		return err
	}
	for i := w; i < arr.Len(); i += workers {
		sq := arr.At(i) * arr.At(i)
		arr.Set(i, sq) // each element has one writer: no lock needed
		if _, err := total.Update(func(t int64) int64 { return t + sq }); err != nil {
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
