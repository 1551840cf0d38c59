package dict_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

func TestMain(m *testing.M) {
	proctest.Main(m, map[string]proctest.Helper{
		"dict-fill":        helperFill,
		"dict-year":        helperYear,
		"dict-soak":        helperSoak,
		"dict-diehold":     helperDieHolding,
		"dict-reverse":     helperReverse,
		"dict-churn":       helperChurn,
		"dict-nospace":     helperNoSpace,
		"dict-records":     helperRecords,
		"dict-adder":       helperAdder,
		"dict-halfway":     helperHalfway,
		"dict-reader":      helperReader,
		"dict-dieholdlist": helperDieHoldingList,
		"dict-listfar":     helperListOutOfRange,
		"dict-clear":       helperClear,
		"dict-setmany":     helperSetMany,
		"dict-writer":      helperWriter,
		"dict-lockedset":   helperLockedSet,
		"dict-pop":         helperPop,
		"dict-listsoak":    helperListSoak,
		"dict-writeread":   helperWriteThenRead,
		"dict-float32":     helperFloat32,
		"dict-holdwait":    helperHoldUntilEOF,
	})
}

// newDict makes a dict in seg whose heap file is removed when t ends.
func newDict(t *testing.T, seg *shm.Segment, name string) *dict.Dict {
	t.Helper()
	d, err := dict.New(seg, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Unlink(); d.Close() })
	return d
}

func newList(t *testing.T, seg *shm.Segment, name string) *dict.List {
	t.Helper()
	l, err := dict.NewList(seg, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Unlink(); l.Close() })
	return l
}

func openDict(seg *shm.Segment, name string) *dict.Dict {
	d, err := dict.Open(seg, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open dict:", err)
		os.Exit(1)
	}
	return d
}

// helperFill sets keys "k<i>" = i for i in [args[2], args[3]) in dict args[1].
func helperFill(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	from, _ := strconv.Atoi(args[2])
	to, _ := strconv.Atoi(args[3])
	for i := from; i < to; i++ {
		if err := d.Set("k"+strconv.Itoa(i), int64(i)); err != nil {
			return proctest.Fail("set: %v", err)
		}
	}
	return 0
}

// helperYear adds 1 to d["year"] args[2] times, by Update (args[3] ==
// "update") or Add.
func helperYear(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	m, err := dict.OpenMap[string, int64](seg, args[1])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer m.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	n, _ := strconv.Atoi(args[2])
	for range n {
		switch args[3] {
		case "update":
			_, err = m.Update("year", func(old int64, ok bool) int64 { return old + 1 })
		case "cadd": // through the C library's add, as a C or Python process
			_, err = dict.CAdd(d, "year", 1)
		default:
			_, err = m.Add("year", 1)
		}
		if err != nil {
			return proctest.Fail("add: %v", err)
		}
	}
	fmt.Println(dict.GoAdds()) // the adds made in Go
	return 0
}

// helperSoak is a writer of the kill soak: forever, on random keys of
// 10,000, it sets "w<id>:<seq>:<key>" values, deletes, or adds 1 to the
// counter "c<id>", printing "+" after each add returned.
func helperSoak(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	id := args[2]
	out := bufio.NewWriterSize(os.Stdout, 1)
	r := rand.New(rand.NewPCG(uint64(os.Getpid()), 7))
	for seq := 0; ; seq++ {
		k := "key" + strconv.Itoa(r.IntN(10000))
		var err error
		switch x := r.IntN(10); {
		case x < 6:
			// Some values are large, so that a writer is often killed
			// while copying one under the lock.
			pad := r.IntN(200)
			if r.IntN(4) == 0 {
				pad = 16 << 10
			}
			err = d.Set(k, "w"+id+":"+strconv.Itoa(seq)+":"+k+string(make([]byte, pad)))
		case x < 7:
			_, err = d.Delete(k)
		case x < 8:
			_, _, err = d.Get(k)
		default:
			if _, err = d.Add("c"+id, 1); err == nil {
				out.WriteString("+")
				out.Flush()
			}
		}
		if err != nil {
			return proctest.Fail("soak: %v", err)
		}
	}
}

// helperDieHolding takes dict args[1]'s writer lock and exits holding it.
func helperDieHolding(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	if err := dict.HoldLock(d); err != nil {
		return proctest.Fail("lock: %v", err)
	}
	os.Exit(0)
	return 0
}

// helperReverse reverses list args[1] forever (it is killed).
func helperReverse(args []string) int {
	return inList(args, func(l *dict.List) int {
		fmt.Println("ready")
		for {
			if err := l.Reverse(); err != nil {
				return proctest.Fail("reverse: %v", err)
			}
		}
	})
}

// helperAdder adds 1 to "n" and to "counter" (a key of 8 bytes, so its
// value is 8-aligned; "n"'s is not) in dict args[1], alternately, and
// after each add returned stores how many it made in "an<pid>" or
// "ac<pid>"; it also sets "pat" to 8 equal bytes; forever (it is killed).
// It prints "ready" after its first two adds.
func helperAdder(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	pid := strconv.Itoa(os.Getpid())
	var done [2]int64
	for i := 0; ; i++ {
		key, ack := "n", "an"+pid
		if i%2 == 1 {
			key, ack = "counter", "ac"+pid
		}
		if _, err := d.Add(key, 1); err != nil {
			return proctest.Fail("add: %v", err)
		}
		done[i%2]++
		if err := d.Set(ack, done[i%2]); err != nil {
			return proctest.Fail("ack: %v", err)
		}
		if i == 1 {
			fmt.Println("ready") // both counters exist; from here it is killed mid-stream
		}
		if i%8 == 0 {
			if err := d.Set("go"+pid, dict.GoAdds()); err != nil {
				return proctest.Fail("set: %v", err)
			}
			if err := d.Set("pat", int64(0x0101010101010101*uint64(i%127+1))); err != nil {
				return proctest.Fail("set: %v", err)
			}
		}
	}
}

// helperHalfway overwrites "n" in dict args[1] in place with args[2] and
// exits where stage args[3] stops, holding the lock.
func helperHalfway(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	v, _ := strconv.ParseInt(args[2], 10, 64)
	stage, _ := strconv.Atoi(args[3])
	if err := dict.DieOverwriting(d, "n", v, stage); err != nil {
		return proctest.Fail("overwrite: %v", err)
	}
	os.Exit(0)
	return 0
}

// inList runs a helper's body on list args[1] of segment args[0].
func inList(args []string, body func(l *dict.List) int) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	l, err := dict.OpenList(seg, args[1])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer l.Close()
	return body(l)
}
