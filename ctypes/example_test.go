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

	hits, err := ctypes.NewRawValue[int64](seg, "hits", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Any process may now ctypes.OpenRawValue[int64](seg, "hits").
	hits.Add(1) // atomic: never loses an update, unlike Python's v.value += 1
	hits.Add(1)
	fmt.Println(hits.Load(), hits.Typecode())
	// Output: 2 'q' (long long)
}

func ExampleRawArray() {
	seg, done := exampleSegment()
	defer done()

	a, err := ctypes.NewRawArrayFrom(seg, "samples", []float64{1, 2, 3, 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	sum := 0.0
	for _, x := range a.Slice() { // a live view of the shared memory
		sum += x
	}
	a.Set(0, 10)
	fmt.Println(sum, a.At(0), a.Len())
	// Output: 10 10 4
}
