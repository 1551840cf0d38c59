package ctypes_test

import (
	"fmt"
	"os"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/shm"
)

// exampleSegment makes a segment for an example and returns it with a
// function that removes it.
func exampleSegment() (*shm.Segment, func()) {
	name := fmt.Sprintf("shmkit-example-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<20)
	if err != nil {
		panic(err)
	}
	return seg, func() { seg.Close(); shm.Unlink(name) }
}

func ExampleRawValue() {
	seg, done := exampleSegment()
	defer done()

	hits, _ := ctypes.NewRawValue[int64](seg, "hits", 0)
	// Any process may now ctypes.OpenRawValue[int64](seg, "hits").
	hits.Add(1) // atomic: never loses an update, unlike Python's v.value += 1
	hits.Add(1)
	fmt.Println(hits.Load(), hits.Typecode())
	// Output: 2 'q' (long long)
}

func ExampleRawArray() {
	seg, done := exampleSegment()
	defer done()

	a, _ := ctypes.NewRawArrayFrom(seg, "samples", []float64{1, 2, 3, 4})
	sum := 0.0
	for _, x := range a.Slice() { // a live view of the shared memory
		sum += x
	}
	a.Set(0, 10)
	fmt.Println(sum, a.At(0), a.Len())
	// Output: 10 10 4
}

func ExampleValue() {
	seg, done := exampleSegment()
	defer done()

	// Python: counter = Value('i', 0); with counter.get_lock(): counter.value += 1
	counter, _ := ctypes.NewValue[int32](seg, "counter", 0)
	n, err := counter.Update(func(x int32) int32 { return x + 1 })
	fmt.Println(n, err)
	// Output: 1 <nil>
}

func ExampleArray() {
	seg, done := exampleSegment()
	defer done()

	// Python: arr = Array('i', range(10)); negate it under the lock.
	arr, _ := ctypes.NewArrayFrom(seg, "arr", []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	arr.Update(func(s []int32) {
		for i := range s {
			s[i] = -s[i]
		}
	})
	v, _ := arr.At(9)
	fmt.Println(v)
	// Output: -9
}
