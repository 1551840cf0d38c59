//go:build cgo

package ctypes_test

// Value and Array carry a lock, a pthread mutex: without cgo their
// constructors return semaphore.ErrNoCgo.

import (
	"fmt"

	"github.com/shmkit/shmkit/ctypes"
)

func ExampleValue() {
	seg, done := exampleSegment()
	defer done()

	// Python: counter = Value('i', 0); with counter.get_lock(): counter.value += 1
	counter, err := ctypes.NewValue[int32](seg, "counter", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	n, err := counter.Update(func(x int32) int32 { return x + 1 })
	fmt.Println(n, err)
	// Output: 1 <nil>
}

func ExampleArray() {
	seg, done := exampleSegment()
	defer done()

	// Python: arr = Array('i', range(10)); negate it under the lock.
	arr, err := ctypes.NewArrayFrom(seg, "arr", []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = arr.Update(func(s []int32) {
		for i := range s {
			s[i] = -s[i]
		}
	})
	v, _ := arr.At(9)
	fmt.Println(v, err)
	// Output: -9 <nil>
}
