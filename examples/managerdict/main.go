// Managerdict: Python's Manager().dict() and Manager().list(), shared by
// worker processes with no server. The seed program is
//
//	def f(d, l):
//	    d[1] = '1'
//	    d['2'] = 2
//	    d[0.25] = None
//	    l.reverse()
//
// run in one process on d = manager.dict() and l = manager.list(range(10));
// then a pool of workers fills a table of squares.
//
//	go run ./examples/managerdict
package main

import (
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

const workers, squares = 4, 20

func main() {
	process.Main(map[string]process.Func{"f": f, "square": square})

	name := fmt.Sprintf("example-managerdict-%d", os.Getpid())
	seg, err := shm.Create(name, 1<<16)
	check(err)
	defer shm.Unlink(name)
	defer seg.Close()

	d, err := dict.New(seg, "d") // manager.dict()
	check(err)
	defer d.Unlink() // the dict's storage is a file of its own
	defer d.Close()
	l, err := dict.NewList(seg, "l") // manager.list(range(10))
	check(err)
	defer l.Unlink()
	defer l.Close()
	for i := range 10 {
		check(l.Append(i))
	}

	p, err := process.Start("f", name)
	check(err)
	check(p.Wait())
	fmt.Println(pyDict(d))
	items, err := l.Items()
	check(err)
	fmt.Println(items)

	// A pool: worker w squares the numbers w, w+workers, ...
	table, err := dict.NewMap[int, int](seg, "squares")
	check(err)
	defer table.Unlink()
	defer table.Close()
	var ps []*process.Process
	for w := range workers {
		p, err := process.Start("square", name, strconv.Itoa(w))
		check(err)
		ps = append(ps, p)
	}
	check(process.WaitAll(ps))
	var keys []int
	check(table.Range(func(k, v int) bool { keys = append(keys, k); return true }))
	slices.Sort(keys)
	fmt.Print("squares:")
	for _, k := range keys {
		v, _, err := table.Get(k)
		check(err)
		fmt.Printf(" %d:%d", k, v)
	}
	fmt.Println()
}

// f is the seed's function, in another process.
func f(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	d, err := dict.Open(seg, "d")
	if err != nil {
		return err
	}
	defer d.Close()
	l, err := dict.OpenList(seg, "l")
	if err != nil {
		return err
	}
	defer l.Close()
	for _, kv := range [][2]any{{1, "1"}, {"2", 2}, {0.25, nil}} {
		if err := d.Set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return l.Reverse()
}

// square is pool worker args[1]: it squares the numbers w, w+workers, ...
func square(args []string) error {
	seg, err := shm.Open(args[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	table, err := dict.OpenMap[int, int](seg, "squares")
	if err != nil {
		return err
	}
	defer table.Close()
	w, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	for i := w; i < squares; i += workers {
		if err := table.Set(i, i*i); err != nil {
			return err
		}
	}
	return nil
}

// pyDict prints d as Python prints a dict, in key order of their notation.
func pyDict(d *dict.Dict) string {
	var items []string
	check(d.Range(func(k, v any) bool { items = append(items, py(k)+": "+py(v)); return true }))
	slices.Sort(items)
	return "{" + strings.Join(items, ", ") + "}"
}

func py(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return "'" + x + "'"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
