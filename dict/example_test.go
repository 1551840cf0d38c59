//go:build cgo

package dict_test

import (
	"fmt"
	"os"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/shm"
)

// exampleSegment is a segment of this process's own; done removes it, its
// dicts' heap files first.
func exampleSegment(what string) (seg *shm.Segment, done func()) {
	name := fmt.Sprintf("shmkit-example-%d-%s", os.Getpid(), what)
	seg, err := shm.Create(name, 1<<16)
	if err != nil {
		panic(err)
	}
	return seg, func() {
		dict.UnlinkAll(seg)
		seg.Close()
		shm.Unlink(name)
	}
}

func Example() {
	seg, done := exampleSegment("map")
	defer done()

	// Another process opens it by name: dict.OpenMap[string, int64](seg, "visits").
	visits, err := dict.NewMap[string, int64](seg, "visits")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer visits.Close()

	visits.Set("/", 10)
	visits.Add("/", 1)      // atomic, whoever else adds at once
	visits.Add("/about", 1) // a missing key counts from 0
	visits.Update("/", func(old int64, ok bool) int64 { return old * 2 })

	home, ok, _ := visits.Get("/")
	n, _ := visits.Len()
	fmt.Println(home, ok, n)
	// Output: 22 true 2
}

// The dynamic form holds what a Python dict holds, mixed.
func ExampleDict() {
	seg, done := exampleSegment("dict")
	defer done()

	d, err := dict.New(seg, "d")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	d.Set(int64(1), "1") // Python: d[1] = '1'
	d.Set("2", int64(2)) // d['2'] = 2
	d.Set(0.25, nil)     // d[0.25] = None
	v, ok, _ := d.Get("2")
	fmt.Println(v, ok)
	_, ok, _ = d.Get(int64(2))
	fmt.Println(ok) // the int 2 is not the string "2"
	// Output:
	// 2 true
	// false
}

func ExampleList() {
	seg, done := exampleSegment("list")
	defer done()

	l, err := dict.NewList(seg, "l")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()

	for i := range 5 {
		l.Append(int64(i))
	}
	l.Reverse() // built aside and published at once
	items, _ := l.Items()
	fmt.Println(items)
	// Output: [4 3 2 1 0]
}
