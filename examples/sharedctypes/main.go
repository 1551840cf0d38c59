// Shared ctypes: the seed's Value('d', 0.0) and Array('i', range(10)),
// changed by a child process and read by the parent.
//
//	go run ./examples/sharedctypes
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

func main() {
	process.Main(map[string]process.Func{"f": f})

	name := fmt.Sprintf("example-sharedctypes-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	num, err := ctypes.NewValue[float64](seg, "num", 0.0) // Value('d', 0.0)
	check(err)
	init := make([]int32, 10)
	for i := range init {
		init[i] = int32(i)
	}
	arr, err := ctypes.NewArrayFrom(seg, "arr", init) // Array('i', range(10))
	check(err)

	p, err := process.Start("f", name) // Process(target=f, args=(num, arr))
	check(err)
	check(p.Wait())

	v, err := num.Get()
	check(err)
	fmt.Println(v)
	fmt.Println(arr.Raw().Slice())
}

// f is the seed's f(n, a): n.value = 3.1415927; a[i] = -a[i].
func f(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	n, err := ctypes.OpenValue[float64](seg, "num")
	if err != nil {
		return err
	}
	a, err := ctypes.OpenArray[int32](seg, "arr")
	if err != nil {
		return err
	}
	if err := n.Set(3.1415927); err != nil {
		return err
	}
	return a.Update(func(s []int32) { // under the array's lock, as a for loop over a[i] would not be
		for i := range s {
			s[i] = -s[i]
		}
	})
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
