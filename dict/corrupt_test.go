package dict_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// A heapImage is a dict's or list's heap as a test made it, to be written
// to a file of its own, scribbled on and opened through a copy of its
// reference.
type heapImage struct {
	list bool
	dead bool   // the writer lock's holder died
	ref  []byte // struct shmkit_dict_ref
	heap []byte // the whole file
	end  int    // the heap's cursor: the bytes worth scribbling on
}

// heapImages makes a dict and a list with items of every tag, sizes from
// a few bytes to a large block, tombstones and blocks on the free lists,
// and copies their heaps and references: as they are, then with their
// writer lock held by a process that died, which the next writer repairs.
func heapImages(t testing.TB) []heapImage {
	t.Helper()
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, segName := proctest.Segment(t, 1<<16)
	dd, err := dict.New(seg, "d")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { dd.Unlink(); dd.Close() }()
	for i := range 24 {
		must(t, dd.Set("k"+strconv.Itoa(i), int64(i)))
		must(t, dd.Set("s"+strconv.Itoa(i), strings.Repeat("v", 13*i)))
	}
	must(t, dd.Set(int64(7), 2.5))
	must(t, dd.Set(true, nil))
	must(t, dd.Set(nil, []byte{1, 2, 3}))
	must(t, dd.Set("big", make([]byte, 3000)))
	for i := 0; i < 24; i += 3 {
		if _, err := dd.Delete("s" + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	ll, err := dict.NewList(seg, "l")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ll.Unlink(); ll.Close() }()
	for i := range 20 {
		must(t, ll.Append(strings.Repeat("w", 7*i)))
		must(t, ll.Append(int64(i)))
	}
	for range 5 {
		if _, err := ll.Pop(3); err != nil {
			t.Fatal(err)
		}
	}
	must(t, ll.Insert(2, []byte("inserted")))
	image := func(name string, x any) heapImage {
		obj, err := seg.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		var file string
		_, list := x.(*dict.List)
		switch x := x.(type) {
		case *dict.Dict:
			file = dict.HeapName(x)
		case *dict.List:
			file = dict.ListHeapName(x)
		}
		heap, err := os.ReadFile("/dev/shm/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var h layout.DictHeap
		cursor := binary.LittleEndian.Uint64(heap[unsafe.Offsetof(h.Cursor):])
		return heapImage{list: list, ref: append([]byte{}, obj.Bytes()...), heap: heap, end: int(cursor)}
	}
	images := []heapImage{image("d", dd), image("l", ll)}
	proctest.Output(t, "dict-diehold", segName, "d")
	proctest.Output(t, "dict-dieholdlist", segName, "l")
	images = append(images, image("d", dd), image("l", ll))
	images[2].dead, images[3].dead = true, true
	// Fuzz workers are killed, not ended, so no cleanup would run: drop
	// the name now (the heaps go as the deferred calls return).
	must(t, seg.Unlink())
	return images
}

// helperDieHoldingList takes list args[1]'s writer lock and exits.
func helperDieHoldingList(args []string) int {
	return inList(args, func(l *dict.List) int {
		if err := dict.HoldListLock(l); err != nil {
			return proctest.Fail("lock: %v", err)
		}
		os.Exit(0)
		return 0
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A scribble writes bytes over a heap image at an offset.
type scribble struct {
	off  int
	data []byte
}

// scribbles reads data as a list of writes into [0, end): two bytes of
// offset (modulo end), one of length (1..8), then the bytes. The writer
// lock's bytes are left alone: a scribbled pthread mutex is a known limit
// (docs/reliability.md), not what this looks for.
func scribbles(data []byte, end int) []scribble {
	var out []scribble
	for len(data) >= 4 {
		off := int(binary.LittleEndian.Uint16(data)) % end
		n := int(data[2]&7) + 1
		data = data[3:]
		n = min(n, len(data))
		var h layout.DictHeap
		lock := int(unsafe.Offsetof(h.Lock))
		if off+n <= lock || off >= lock+len(h.Lock) {
			out = append(out, scribble{off, data[:n]})
		}
		data = data[n:]
	}
	return out
}

// heapFile writes img, scribbled on, as a heap file of its own and
// returns a reference to it; truncate > 0 cuts the file to that length.
func heapFile(t testing.TB, img heapImage, ss []scribble, truncate int) (ref []byte, file string) {
	t.Helper()
	heap := append([]byte{}, img.heap...)
	for _, s := range ss {
		copy(heap[s.off:], s.data)
	}
	if truncate > 0 && truncate < len(heap) {
		heap = heap[:truncate]
	}
	name := strings.TrimPrefix(proctest.Name(t), "/") + ".heap"
	file = "/dev/shm/" + name
	if err := os.WriteFile(file, heap, 0o600); err != nil {
		t.Fatal(err)
	}
	ref = append([]byte{}, img.ref...)
	var r layout.DictRef
	clear(ref[:len(r.HeapName)])
	copy(ref, name)
	return ref, file
}

// expected says whether err is one a corrupt heap may give: one of the
// sentinels, never a bare errno or a panic.
func expected(err error) bool {
	for _, s := range []error{shm.ErrCorrupt, shm.ErrNotShmkit, shm.ErrVersion, shm.ErrNoSpace,
		dict.ErrBusy, dict.ErrIndex, dict.ErrNotInt, dict.ErrType} {
		if errors.Is(err, s) {
			return true
		}
	}
	return err == nil
}

// corruptRun opens the scribbled heap writable and read-only, runs every
// operation on it and fails t for an error no sentinel names, or (pristine)
// for any error at all. A crash kills the process and a hang the watchdog
// does: either is a failure the fuzzer reports with the input.
func corruptRun(t *testing.T, img heapImage, ss []scribble, truncate int) {
	ref, file := heapFile(t, img, ss, truncate)
	pristine := len(ss) == 0 && truncate == 0
	// The fuzzing engine kills an input's process after 10 s without a
	// word; this says first which call was the last to return, in the file
	// SHMKIT_FUZZ_HANGLOG names, if set.
	var lastOp atomic.Value
	lastOp.Store("none")
	begin := time.Now()
	watchdog := time.AfterFunc(8*time.Second, func() {
		msg := fmt.Sprintf("dict: a call on a corrupt heap hangs: after %v, the last to return was %v; list %v, truncated to %d, scribbles %v\n",
			time.Since(begin), lastOp.Load(), img.list, truncate, ss)
		if log := os.Getenv("SHMKIT_FUZZ_HANGLOG"); log != "" {
			os.WriteFile(log, []byte(msg), 0o600)
		}
		panic(msg)
	})
	defer watchdog.Stop()
	rwD, rwL, err := dict.AttachHeap(ref, false)
	if err != nil {
		os.Remove(file)
		if pristine || !expected(err) {
			t.Fatalf("open: %v", err)
		}
		return
	}
	defer rwD.Close()
	roD, roL, err := dict.AttachHeap(ref, true)
	os.Remove(file) // the handles keep it; a killed fuzz worker leaves nothing
	if err != nil {
		if pristine || !expected(err) {
			t.Fatalf("open read-only: %v", err)
		}
		roD, roL = nil, nil
	} else {
		defer roD.Close()
	}
	check := func(op string, err error, allowed ...error) {
		t.Helper()
		lastOp.Store(op + " at " + time.Since(begin).String())
		for _, a := range allowed {
			if errors.Is(err, a) {
				return
			}
		}
		if (pristine && err != nil) || !expected(err) {
			t.Errorf("%s: %v", op, err)
		}
	}
	if img.list {
		listOps(roL, rwL, check)
	} else {
		dictOps(roD, rwD, check)
	}
	if st, err := rwD.Stats(); pristine && img.dead && (err != nil || st.Recoveries != 1) {
		t.Errorf("a dead holder's lock: %d recoveries, %v", st.Recoveries, err)
	}
}

type checker func(op string, err error, allowed ...error)

func dictOps(ro, d *dict.Dict, check checker) {
	keys := []any{"k0", "k5", "k23", "s1", "s3", "s22", int64(7), true, nil, "big", "missing"}
	walk := func(d *dict.Dict) error {
		n := 0
		return d.Range(func(k, v any) bool { n++; return n < 100000 })
	}
	if ro != nil {
		// One read at most that may meet a seqlock left odd: it yields
		// 100,000 times before ErrBusy, which took 1.4 s and more under
		// load, and the fuzzing engine gives an input 10 s.
		_, _, err := ro.Get("k5")
		check("read-only get", err)
		_, err = ro.Len()
		check("read-only len", err)
		_, err = ro.Stats()
		check("read-only stats", err)
		check("read-only set", ro.Set("k1", int64(1)), shm.ErrReadOnly)
	}
	for _, k := range keys {
		_, _, err := d.Get(k)
		check("get", err)
	}
	_, err := d.Len()
	check("len", err)
	_, err = d.Stats()
	check("stats", err)
	check("range", walk(d))
	check("set in place", d.Set("k3", int64(33)))
	check("set new", d.Set("new", "a new value"))
	check("set longer", d.Set("s4", strings.Repeat("z", 200)))
	check("set large", d.Set("big2", make([]byte, 5000)))
	_, err = d.Add("k5", 2)
	check("add", err)
	_, err = d.Add("s5", 2)
	check("add to a string", err, dict.ErrNotInt)
	_, err = d.Add("counter", 1)
	check("add new", err)
	_, _, err = d.LoadOrStore("k7", int64(0))
	check("load or store, loaded", err)
	_, _, err = d.LoadOrStore("fresh", int64(0))
	check("load or store, stored", err)
	_, err = d.CompareAndSwap("k8", int64(8), int64(80))
	check("compare and swap", err)
	_, err = d.CompareAndSwap("s7", strings.Repeat("v", 91), "short")
	check("compare and swap, resized", err)
	_, err = d.Update("k9", func(old any, ok bool) (any, error) { return "updated", nil })
	check("update", err)
	_, err = d.Delete("k10")
	check("delete", err)
	_, err = d.Delete("missing")
	check("delete missing", err)
	for i := range 40 { // enough to grow the table and to reuse free blocks
		check("set more", d.Set("more"+strconv.Itoa(i), strings.Repeat("m", i*5)))
	}
	check("range after", walk(d))
	check("clear", d.Clear())
	check("set after clear", d.Set("k1", int64(1)))
	_, err = d.Len()
	check("len after clear", err)
}

func listOps(ro, l *dict.List, check checker) {
	if ro != nil {
		_, err := ro.Get(1) // one read that may wait, as above
		check("read-only get", err)
		check("read-only append", ro.Append(int64(1)), shm.ErrReadOnly)
	}
	_, err := l.Len()
	check("len", err)
	for _, i := range []int{0, 1, 17, 34, 35, 1000} {
		_, err := l.Get(i)
		check("get", err, dict.ErrIndex)
	}
	_, err = l.Items()
	check("items", err)
	_, err = l.Stats()
	check("stats", err)
	check("set", l.Set(1, "one"))
	check("set out of range", l.Set(1000, "x"), dict.ErrIndex)
	check("append", l.Append(int64(5)))
	check("append large", l.Append(make([]byte, 5000)))
	check("insert", l.Insert(0, "first"))
	check("insert in the middle", l.Insert(10, 2.5))
	_, err = l.Pop(0)
	check("pop first", err)
	_, err = l.Pop(3)
	check("pop", err)
	check("reverse", l.Reverse())
	for i := range 40 { // enough to grow the array and to reuse free blocks
		check("append more", l.Append(strings.Repeat("m", i*5)))
	}
	_, err = l.Items()
	check("items after", err)
	check("clear", l.Clear())
	check("append after clear", l.Append(nil))
	_, err = l.Len()
	check("len after clear", err)
}

// FuzzCorruptHeap scribbles arbitrary bytes over a dict's or list's heap
// (header, free lists, nonempty bits, block headers, table slots, item
// tags and lengths, the list's array, size and cursor) and may cut the
// file short, as another process could, then runs every operation on it,
// writable and read-only. Each returns a value or a sentinel error; the
// process never faults and no call hangs.
func FuzzCorruptHeap(f *testing.F) {
	images := heapImages(f)
	var h layout.DictHeap
	at := func(off uintptr, v uint64) []byte { // one 8-byte scribble at off
		b := binary.LittleEndian.AppendUint16(nil, uint16(off))
		b = append(b, 7)
		return binary.LittleEndian.AppendUint64(b, v)
	}
	f.Add(byte(0), uint16(0), []byte{})
	f.Add(byte(1), uint16(0), []byte{})
	f.Add(byte(2), uint16(0), []byte{})
	f.Add(byte(3), uint16(0), []byte{})
	for _, kind := range []byte{0, 1, 2, 3} {
		f.Add(kind, uint16(0), at(unsafe.Offsetof(h.Size), 1<<30))
		f.Add(kind, uint16(0), at(unsafe.Offsetof(h.Cursor), 1<<16))
		f.Add(kind, uint16(0), at(unsafe.Offsetof(h.Table), 2048+8))
		f.Add(kind, uint16(0), at(unsafe.Offsetof(h.Gen), 1))
		f.Add(kind, uint16(0), at(unsafe.Offsetof(h.Nonempty), ^uint64(0)))
		f.Add(kind, uint16(0), at(unsafe.Offsetof(h.FreeHeads)+8*10, 2048))
		f.Add(kind, uint16(0), at(layout.DictHeapStart, 0xfffffff8))
		f.Add(kind, uint16(0), at(layout.DictHeapStart+16, 1<<31))
		f.Add(kind, uint16(0), at(layout.DictHeapStart+24, 1<<20))
		f.Add(kind, uint16(0), at(layout.DictHeapStart+40, 1<<35))
		f.Add(kind, uint16(4096), []byte{})
	}
	f.Fuzz(func(t *testing.T, kind byte, truncate uint16, data []byte) {
		img := images[int(kind)%len(images)]
		corruptRun(t, img, scribbles(data, img.end+64), int(truncate))
	})
}

// A dict's reference in the segment that names a missing, foreign or
// wrong file, or no valid name at all, is an error at Open that says
// which; nothing is created or changed.
func TestCorruptReference(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, segName := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	must(t, d.Set("a", int64(1)))
	other := newDict(t, seg, "other")
	l := newList(t, seg, "l")
	obj, err := seg.Lookup("d")
	must(t, err)
	ref := obj.Bytes()
	pristine := append([]byte{}, ref...)
	var r layout.DictRef
	kindAt := int(unsafe.Offsetof(r.Kind))
	prefix := strings.TrimPrefix(segName, "/")
	fifo, short, empty, link := prefix+".fifo", prefix+".short", prefix+".empty", prefix+".link"
	must(t, syscall.Mkfifo("/dev/shm/"+fifo, 0o600))
	must(t, os.WriteFile("/dev/shm/"+short, make([]byte, 100), 0o600))
	must(t, os.WriteFile("/dev/shm/"+empty, nil, 0o600))
	must(t, os.Symlink("/dev/shm/"+dict.HeapName(d), "/dev/shm/"+link))
	for _, f := range []string{fifo, short, empty, link} {
		t.Cleanup(func() { os.Remove("/dev/shm/" + f) })
	}
	name := func(s string) func([]byte) {
		return func(b []byte) { clear(b[:len(r.HeapName)]); copy(b, s) }
	}
	for _, c := range []struct {
		what  string
		spoil func([]byte)
		want  error
	}{
		{"a missing file", name(prefix + ".gone"), fs.ErrNotExist},
		{"the segment itself", name(prefix), shm.ErrNotShmkit},
		{"another dict's heap", name(dict.HeapName(other)), shm.ErrCorrupt},
		{"a list's heap", name(dict.ListHeapName(l)), shm.ErrCorrupt},
		{"a FIFO", name(fifo), shm.ErrNotShmkit},
		{"a file shorter than a heap's header", name(short), shm.ErrNotShmkit},
		{"an empty file", name(empty), shm.ErrNotShmkit},
		{"a symbolic link to the heap", name(link), syscall.ELOOP},
		{"a path", name("../" + dict.HeapName(d)), shm.ErrCorrupt},
		{"a directory", name(".."), shm.ErrCorrupt},
		{"no name", name(""), shm.ErrCorrupt},
		{"no terminating NUL", func(b []byte) { copy(b, strings.Repeat("a", len(r.HeapName))) }, shm.ErrCorrupt},
		{"another kind", func(b []byte) { binary.LittleEndian.PutUint32(b[kindAt:], uint32(layout.KindList)) }, shm.ErrCorrupt},
		{"no kind", func(b []byte) { binary.LittleEndian.PutUint32(b[kindAt:], 99) }, shm.ErrCorrupt},
		{"another id", func(b []byte) { b[unsafe.Offsetof(r.HeapID)] ^= 1 }, shm.ErrCorrupt},
	} {
		copy(ref, pristine)
		c.spoil(ref)
		got, err := dict.Open(seg, "d")
		if err == nil {
			got.Close()
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Open = %v, want %v", c.what, err, c.want)
		}
	}
	copy(ref, pristine)
	d2, err := dict.Open(seg, "d")
	must(t, err)
	defer d2.Close()
	if v, ok, err := d2.Get("a"); err != nil || !ok || v != int64(1) {
		t.Errorf("after: Get = %v, %v, %v", v, ok, err)
	}
}

// helperReader opens dict args[1], reads key "a", says "ready", then reads
// it again for each line it is sent, saying what it read.
func helperReader(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	in := bufio.NewScanner(os.Stdin)
	for say := "ready"; ; {
		if _, _, err := d.Get("a"); errors.Is(err, shm.ErrCorrupt) {
			fmt.Println("corrupt")
			return 0
		} else if err != nil {
			return proctest.Fail("get: %v", err)
		}
		fmt.Println(say)
		if !in.Scan() {
			return 0
		}
		say = "read"
	}
}

// A heap file cut short under a live mapping: what is promised. A process
// that opens the dict afterwards gets an error and no fault. A process
// that had it mapped gets ErrCorrupt from a Get that Go reads (the fault
// is recovered); in C (a write, or a Get where Go does not read) it faults
// (SIGBUS) on its next access past the new end, as with a segment
// (docs/reliability.md): checking the file's size on every call would
// cost a system call each.
func TestHeapTruncatedUnderAMapping(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	must(t, d.Set("a", int64(1)))
	file := "/dev/shm/" + dict.HeapName(d)
	cmd := proctest.Command(t, "dict-reader", name, "d")
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("reader: %q, %v", line, err)
	}
	fmt.Fprintln(stdin) // read once more while the file is whole
	if line, err := out.ReadString('\n'); line != "read\n" {
		t.Fatalf("reader: %q, %v", line, err)
	}
	for _, size := range []int64{4096, 0} {
		must(t, os.Truncate(file, size))
		if got, err := dict.Open(seg, "d"); !errors.Is(err, shm.ErrCorrupt) && !errors.Is(err, shm.ErrNotShmkit) {
			t.Errorf("Open of a heap cut to %d bytes: %v", size, err)
			if err == nil {
				got.Close()
			}
		}
	}
	fmt.Fprintln(stdin)
	if dict.GoReads {
		if line, err := out.ReadString('\n'); line != "corrupt\n" {
			t.Errorf("the Go reader of a heap cut under its mapping: %q, %v, %s; want ErrCorrupt", line, err, stderr.String())
		}
		must(t, cmd.Wait())
		return
	}
	err = cmd.Wait()
	// The Go runtime reports a fault in C and exits with status 2.
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.HasPrefix(stderr.String(), "SIGBUS") {
		t.Errorf("the reader of a heap cut under its mapping: %v, %.200q; want death by SIGBUS (the documented limit)",
			err, stderr.String())
	}
}

// A heap's count that lies: every write is ErrCorrupt (a write looped for
// ever), and so is Len if the heap cannot hold that many keys (it gave a
// negative length); reads still find the keys.
func TestLyingCount(t *testing.T) {
	img := heapImages(t)[0]
	var h layout.DictHeap
	for _, count := range []uint64{1 << 63, 1 << 40, 1 << 20, 1000} {
		ss := []scribble{{int(unsafe.Offsetof(h.Count)), binary.LittleEndian.AppendUint64(nil, count)}}
		ref, file := heapFile(t, img, ss, 0)
		d, _, err := dict.AttachHeap(ref, false)
		os.Remove(file)
		must(t, err)
		if n, err := d.Len(); count > 1000 && !errors.Is(err, shm.ErrCorrupt) {
			t.Errorf("count %d: Len = %d, %v; want ErrCorrupt", count, n, err)
		}
		if err := d.Set("k1", "x"); !errors.Is(err, shm.ErrCorrupt) {
			t.Errorf("count %d: Set = %v; want ErrCorrupt", count, err)
		}
		if v, ok, err := d.Get("k2"); err != nil || !ok || v != int64(2) {
			t.Errorf("count %d: Get = %v, %v, %v", count, v, ok, err)
		}
		d.Close()
	}
}

// helperListOutOfRange asks list args[1] for item 2^30 args[2] times, by
// Get, Set and Pop; each must be ErrIndex or ErrCorrupt.
func helperListOutOfRange(args []string) int {
	return inList(args, func(l *dict.List) int {
		n, _ := strconv.Atoi(args[2])
		ok := func(err error) bool { return errors.Is(err, dict.ErrIndex) || errors.Is(err, shm.ErrCorrupt) }
		for range n {
			if _, err := l.Get(1 << 30); !ok(err) {
				return proctest.Fail("get: %v", err)
			}
			if err := l.Set(1<<30, int64(1)); !ok(err) {
				return proctest.Fail("set: %v", err)
			}
			if _, err := l.Pop(1 << 30); !ok(err) {
				return proctest.Fail("pop: %v", err)
			}
		}
		return 0
	})
}

// mapHeap maps the first n bytes of a heap file (0: all of it), for a
// test to scribble on while other processes use the heap.
func mapHeap(t *testing.T, file string, n int) []byte {
	t.Helper()
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	if n == 0 {
		fi, err := f.Stat()
		must(t, err)
		n = int(fi.Size())
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	must(t, err)
	t.Cleanup(func() { syscall.Munmap(mem) })
	return mem
}

// flipWhile runs flip again and again in a goroutine while a helper
// process (role and args) runs to its end, then restore once; the helper
// must end well.
func flipWhile(t *testing.T, flip, restore func(), role string, args ...string) {
	t.Helper()
	stop := make(chan struct{})
	flipped := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				restore()
				flipped <- n
				return
			default:
			}
			for range 1000 {
				flip()
			}
			n++
		}
	}()
	cmd := proctest.Command(t, role, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	close(stop)
	t.Logf("%d thousand flips; %.300s", <-flipped, out.String()) // and none after, before the unmap
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
}

// Another process flips a list's length between its value and 2^40 while
// a helper reads and writes far past its end: every call is an error, the
// helper never faults. The length is read once and that value used: the
// C library checked it, then read it again to index the array.
func TestListLengthFlippedWhileUsed(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	l := newList(t, seg, "l")
	for i := range 5 {
		must(t, l.Append(int64(i)))
	}
	mem := mapHeap(t, "/dev/shm/"+dict.ListHeapName(l), 1<<16)
	var h layout.DictHeap
	array := binary.LittleEndian.Uint64(mem[unsafe.Offsetof(h.Table):])
	length := (*uint64)(unsafe.Pointer(&mem[array+24]))
	flipWhile(t, func() {
		atomic.StoreUint64(length, 1<<40)
		atomic.StoreUint64(length, 5)
	}, func() { atomic.StoreUint64(length, 5) }, "dict-listfar", name, "l", "300000")
	got, err := l.Items()
	must(t, err)
	if len(got) != 5 {
		t.Errorf("after: %v", got)
	}
}

// helperClear clears dict args[1] args[2] times; each must succeed or be
// ErrCorrupt or ErrNoSpace. It says how many succeeded.
func helperClear(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	n, _ := strconv.Atoi(args[2])
	cleared := 0
	for range n {
		err := d.Clear() // ErrNoSpace: it read the far cursor to grow the heap
		if err != nil && !errors.Is(err, shm.ErrCorrupt) && !errors.Is(err, shm.ErrNoSpace) {
			return proctest.Fail("clear: %v", err)
		}
		if err == nil {
			cleared++
		}
	}
	fmt.Println(cleared, "cleared")
	return 0
}

// Another process flips a dict's cursor between its value and the largest
// a heap may have, and keeps a block past it that reaches the end of the
// file, while a helper clears the dict over and over (each clear walks the
// heap's blocks up to the cursor): the helper never faults. The writer
// lock checked the cursor against the heap's size; the walk read it again.
func TestCursorFlippedWhileWalked(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	must(t, d.Set("a", int64(1)))
	mem := mapHeap(t, "/dev/shm/"+dict.HeapName(d), 0)
	size := len(mem)
	var h layout.DictHeap
	cursorAt := (*uint64)(unsafe.Pointer(&mem[unsafe.Offsetof(h.Cursor)]))
	cursor := atomic.LoadUint64(cursorAt)
	// A free block from the cursor to the file's end, put back as writers
	// take its place. The far cursor is past what a heap may grow to, so a
	// writer that reads it to extend the heap gets ENOSPC, never a file of
	// 64 GiB.
	block := (*uint64)(unsafe.Pointer(&mem[cursor]))
	header := uint64(uint32(size) - uint32(cursor))
	const far = layout.DictHeapMax - 8
	flipWhile(t, func() {
		atomic.StoreUint64(block, header)
		atomic.StoreUint64(cursorAt, far)
		atomic.StoreUint64(cursorAt, cursor)
	}, func() { atomic.StoreUint64(cursorAt, cursor) }, "dict-clear", name, "d", "200000")
}

// helperSetMany sets args[2] new keys in dict args[1]; each must succeed
// or be ErrCorrupt or ErrNoSpace. It says how many succeeded.
func helperSetMany(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d, err := dict.Open(seg, args[1])
	for try := 0; errors.Is(err, shm.ErrCorrupt) && try < 10000; try++ { // it may read the size at 0
		d, err = dict.Open(seg, args[1])
	}
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer d.Close()
	n, _ := strconv.Atoi(args[2])
	set := 0
	for i := range n {
		err := d.Set("key"+strconv.Itoa(i), strings.Repeat("v", i%300))
		if err != nil && !errors.Is(err, shm.ErrCorrupt) && !errors.Is(err, shm.ErrNoSpace) {
			return proctest.Fail("set: %v", err)
		}
		if err == nil {
			set++
		}
	}
	fmt.Println(set, "set")
	return 0
}

// Another process flips a dict's size between its value and 0 while a
// helper sets new keys, which grow the heap: the helper ends. The writer
// lock checked the size; the growth read it again and doubled 0 for ever.
func TestSizeFlippedWhileGrowing(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	mem := mapHeap(t, "/dev/shm/"+dict.HeapName(d), 4096)
	var h layout.DictHeap
	sizeAt := (*uint64)(unsafe.Pointer(&mem[unsafe.Offsetof(h.Size)]))
	flipWhile(t, func() {
		size := atomic.LoadUint64(sizeAt) // as the writers grew it
		atomic.StoreUint64(sizeAt, 0)
		atomic.StoreUint64(sizeAt, size)
	}, func() {}, "dict-setmany", name, "d", "20000")
}

// Another process flips a dict's count between its value and 3·2^60 − 1 while
// a helper sets new keys: the helper ends. The writer checked the count
// against the table, then read it again to size a larger table, which
// doubled past 2^64 to 0 for ever.
func TestCountFlippedWhileGrowing(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	mem := mapHeap(t, "/dev/shm/"+dict.HeapName(d), 4096)
	var h layout.DictHeap
	countAt := (*uint64)(unsafe.Pointer(&mem[unsafe.Offsetof(h.Count)]))
	flipWhile(t, func() {
		count := atomic.LoadUint64(countAt) // as the writers counted
		atomic.StoreUint64(countAt, 0x3000_0000_0000_0000-1)
		atomic.StoreUint64(countAt, count)
	}, func() {}, "dict-setmany", name, "d", "20000")
}

// helperLockedSet sets "b" in dict args[1] and prints how it ended:
// "ok", or the sentinel ("corrupt", "busy") or the error.
func helperLockedSet(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	err := d.Set("b", int64(2))
	if err == nil {
		_, err = d.Add("n", 1)
	}
	switch {
	case err == nil:
		fmt.Println("ok")
	case errors.Is(err, shm.ErrCorrupt):
		fmt.Println("corrupt")
	case errors.Is(err, dict.ErrBusy):
		fmt.Println("busy")
	default:
		fmt.Println(err)
	}
	return 0
}

// A writer lock no protocol step could have left — a holder id above any
// the kernel gives, the waiters bit with no holder, a holder that is not
// a live thread and not marked dead, glibc's kind field changed (to a
// priority-inheritance mutex, to junk) — is ErrCorrupt to every writer
// process at once, not a wait for a holder that cannot come back, and
// readers still read.
func TestScribbledWriterLock(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("glibc's pthread_mutex_t is laid out for amd64 and arm64 here")
	}
	gone := exec.Command("true")
	must(t, gone.Run())
	dead := uint32(gone.Process.Pid) // reaped: no thread has this id now
	word := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	type poke struct {
		off   int // in the pthread_mutex_t
		bytes []byte
	}
	cases := map[string][]poke{
		"holder above PID_MAX_LIMIT": {{0, word(0x3ffffff)}},
		"waiters bit, no holder":     {{0, word(0x80000000)}},
		"holder not alive":           {{0, word(dead)}},
		"kind PI":                    {{16, word(0x32)}, {0, word(dead)}},
		"kind junk":                  {{16, word(0xffffffff)}},
		"all ones":                   {{0, []byte(strings.Repeat("\xff", 40))}},
	}
	seg, name := proctest.Segment(t, 1<<16)
	type run struct {
		cmd *exec.Cmd
		out strings.Builder
		err error
	}
	runs := map[string]*run{}
	i := 0
	for c, pokes := range cases {
		obj := "l" + strconv.Itoa(i)
		i++
		d := newDict(t, seg, obj)
		must(t, d.Set("a", int64(1)))
		heap := mapHeap(t, "/dev/shm/"+dict.HeapName(d), 4096)
		for _, p := range pokes {
			copy(heap[int(unsafe.Offsetof(layout.DictHeap{}.Lock))+p.off:], p.bytes)
		}
		r := &run{cmd: proctest.Command(t, "dict-lockedset", name, obj)}
		r.cmd.Stdout = &r.out
		must(t, r.cmd.Start())
		runs[c] = r
		t.Cleanup(func() { copy(heap[64:112], make([]byte, 48)) }) // so Unlink's close takes no lock
	}
	// A writer that waits is stopped well before the 30 s the lock wait
	// allows a live holder: these holders are none.
	stop := time.AfterFunc(10*time.Second, func() {
		for _, r := range runs {
			r.cmd.Process.Kill()
		}
	})
	defer stop.Stop()
	for c, r := range runs {
		r.err = r.cmd.Wait()
		if got := strings.TrimSpace(r.out.String()); r.err != nil || got != "corrupt" {
			t.Errorf("%s: the writer printed %q, exit %v; want corrupt", c, got, r.err)
		}
	}
	for i := range len(cases) {
		d, err := dict.Open(seg, "l"+strconv.Itoa(i))
		must(t, err)
		v, ok, err := d.Get("a")
		if err != nil || !ok || v != int64(1) {
			t.Errorf("l%d: a read %v %v %v", i, v, ok, err)
		}
		d.Close()
	}
}

// scribbleBoolValues sets the byte of every BOOL value in the heap file
// to b, as a foreign writer could, and says how many it set.
func scribbleBoolValues(t *testing.T, file string, b byte) int {
	t.Helper()
	heap := mapHeap(t, file, 0)
	cursor := int(binary.LittleEndian.Uint64(heap[unsafe.Offsetof(layout.DictHeap{}.Cursor):]))
	set := 0
	for off := 2048; off+16 <= cursor; {
		size := int(binary.LittleEndian.Uint32(heap[off:]))
		if size < 16 {
			t.Fatalf("a block of %d bytes at %d", size, off)
		}
		klen := int(binary.LittleEndian.Uint32(heap[off+8:]))
		vlen := binary.LittleEndian.Uint32(heap[off+12:])
		if heap[off+4] == layout.BlockItem && heap[off+6] == 1 && vlen == 1 { // a BOOL value
			heap[off+16+klen] = b
			set++
		}
		off += size
	}
	return set
}

// helperPop pops item args[2] of list args[1] and prints how it ended.
func helperPop(args []string) int {
	return inList(args, func(l *dict.List) int {
		i, _ := strconv.Atoi(args[2])
		v, err := l.Pop(i)
		switch {
		case err == nil:
			fmt.Println("popped", v)
		case errors.Is(err, shm.ErrCorrupt):
			fmt.Println("corrupt")
		default:
			fmt.Println(err)
		}
		return 0
	})
}

// A list item whose stored value no writer may store (a BOOL byte of 7,
// scribbled) is ErrCorrupt to Pop in another process, and stays where it
// was; the items around it pop as before.
func TestPopOfAnItemThatDoesNotDecode(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	l := newList(t, seg, "l")
	for _, v := range []any{int64(1), true, int64(3)} {
		must(t, l.Append(v))
	}
	if n := scribbleBoolValues(t, "/dev/shm/"+dict.ListHeapName(l), 7); n != 1 {
		t.Fatalf("%d BOOL values scribbled, want 1", n)
	}
	if got := proctest.Output(t, "dict-pop", name, "l", "1"); got != "corrupt" {
		t.Errorf("pop(1) in another process: %q, want corrupt", got)
	}
	if n, err := l.Len(); err != nil || n != 3 {
		t.Fatalf("after the pop the list holds %d items (%v), want 3", n, err)
	}
	if got := proctest.Output(t, "dict-pop", name, "l", "2"); got != "popped 3" {
		t.Errorf("pop(2): %q", got)
	}
	_, err := l.Get(1)
	if !errors.Is(err, dict.ErrType) && !errors.Is(err, shm.ErrCorrupt) {
		t.Errorf("the scribbled item reads %v", err)
	}
}

// helperWriteThenRead sets "k" to 2 in dict args[1] and appends 2 to list
// args[2] through a writable attach (args[3] == "write"), or reads them
// through a read-only one, printing what it read.
func helperWriteThenRead(args []string) int {
	var opts []shm.OpenOption
	if args[3] == "read" {
		opts = append(opts, shm.WithReadOnly())
	}
	seg, err := shm.Open(args[0], opts...)
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	l, err := dict.OpenList(seg, args[2])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer l.Close()
	if args[3] == "write" {
		if err := d.Set("k", int64(2)); err != nil {
			return proctest.Fail("set: %v", err)
		}
		if err := l.Append(int64(2)); err != nil {
			return proctest.Fail("append: %v", err)
		}
		return 0
	}
	v, _, err := d.Get("k")
	n, err2 := l.Len()
	fmt.Println(v, err, n, err2)
	return 0
}

// Seqlocks another process left odd with no writer dead (the heap's gen,
// a dict's and a list's; a dict slot's seq) are evened by the next write
// that takes the writer lock (gen) or stores the slot, so a read-only
// reader reads again. A write kept them odd (each write adds 2), and
// every read-only read of the list, or of the key, was ErrBusy after
// 100,000 yields.
func TestOddSeqlocksEvenedByTheNextWrite(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	l := newList(t, seg, "l")
	must(t, d.Set("k", int64(1)))
	must(t, l.Append(int64(1)))
	genAt := int(unsafe.Offsetof(layout.DictHeap{}.Gen))
	for _, file := range []string{dict.HeapName(d), dict.ListHeapName(l)} {
		heap := mapHeap(t, "/dev/shm/"+file, 0)
		binary.LittleEndian.PutUint64(heap[genAt:], binary.LittleEndian.Uint64(heap[genAt:])|1)
		if file != dict.HeapName(d) {
			continue
		}
		table := int(binary.LittleEndian.Uint64(heap[unsafe.Offsetof(layout.DictHeap{}.Table):]))
		slots := int(binary.LittleEndian.Uint64(heap[table+16:]))
		for i := range slots {
			s := heap[table+32+16*i:]
			if binary.LittleEndian.Uint64(s[8:]) >= 2048 { // a key's slot
				binary.LittleEndian.PutUint32(s, binary.LittleEndian.Uint32(s)|1)
			}
		}
	}
	proctest.Output(t, "dict-writeread", name, "d", "l", "write")
	if got := proctest.Output(t, "dict-writeread", name, "d", "l", "read"); got != "2 <nil> 2 <nil>" {
		t.Errorf("the read-only reader read %q, want 2 <nil> 2 <nil>", got)
	}
}

// A writer lock's holder is judged dead by its id only while every
// writable attach was made in one pid namespace: a heap records its
// creator's namespace, and marks itself mixed when a writer of another
// attaches (here a helper in a new pid namespace, by unshare(1)).
func TestWriterOfAnotherPidNamespaceMarksTheHeap(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	unshare, err := exec.LookPath("unshare")
	if err != nil || exec.Command(unshare, "-p", "-f", "true").Run() != nil {
		t.Skip("no unshare(1), or no right to make a pid namespace")
	}
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	heap := mapHeap(t, "/dev/shm/"+dict.HeapName(d), 4096)
	mixed := (*atomic.Uint32)(unsafe.Pointer(&heap[unsafe.Offsetof(layout.DictHeap{}.MixedNs)]))
	ns := binary.LittleEndian.Uint32(heap[unsafe.Offsetof(layout.DictHeap{}.PidNs):])
	if ns == 0 || mixed.Load() != 0 {
		t.Fatalf("after its creation: pid_ns %d, mixed_ns %d", ns, mixed.Load())
	}
	proctest.Output(t, "dict-fill", name, "d", "0", "1") // this namespace: no mark
	if mixed.Load() != 0 {
		t.Fatal("a writer of the same pid namespace marked the heap mixed")
	}
	cmd := proctest.Command(t, "dict-fill", name, "d", "1", "2")
	cmd.Args = append([]string{unshare, "-p", "-f"}, append([]string{cmd.Path}, cmd.Args[1:]...)...)
	cmd.Path = unshare
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("the helper in a new pid namespace: %v: %s", err, out)
	}
	if mixed.Load() != 1 {
		t.Error("a writer of another pid namespace did not mark the heap mixed")
	}
	if n, err := d.Len(); err != nil || n != 2 {
		t.Errorf("Len %d, %v; want both helpers' keys", n, err)
	}
}

// helperHoldUntilEOF takes dict args[1]'s writer lock, says "held", and
// exits holding it when its stdin ends.
func helperHoldUntilEOF(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	if err := dict.HoldLock(d); err != nil {
		return proctest.Fail("lock: %v", err)
	}
	fmt.Println("held")
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
	return 0
}

// A writer waits for a holder of another pid namespace, whose id names
// no thread here, rather than take it for a holder that cannot come back
// (ErrCorrupt); when the holder dies the kernel marks it and the writer
// goes on.
func TestHolderOfAnotherPidNamespaceIsWaitedFor(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	// The holder's ids in its namespace start at 3,999,001, which name no
	// process here: ids of a new namespace's first processes (1, 2, ...)
	// do, and would be taken for a live holder anyway.
	unshare, err := exec.LookPath("unshare")
	inNewNamespace := []string{unshare, "-p", "-f", "--mount-proc", "sh", "-c",
		`echo 3999000 >/proc/sys/kernel/ns_last_pid && "$@"`, "sh"}
	if err != nil || exec.Command(inNewNamespace[0], append(inNewNamespace[1:], "true")...).Run() != nil {
		t.Skip("no unshare(1), or no right to make a pid namespace and set its next pid")
	}
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	must(t, d.Set("a", int64(1)))
	heap := mapHeap(t, "/dev/shm/"+dict.HeapName(d), 4096)
	lockWord := (*atomic.Uint32)(unsafe.Pointer(&heap[unsafe.Offsetof(layout.DictHeap{}.Lock)]))
	holder := proctest.Command(t, "dict-holdwait", name, "d")
	holder.Args = append(inNewNamespace, append([]string{holder.Path}, holder.Args[1:]...)...)
	holder.Path = unshare
	release, err := holder.StdinPipe()
	must(t, err)
	out, err := holder.StdoutPipe()
	must(t, err)
	must(t, holder.Start())
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "held\n" {
		t.Fatalf("holder: %q %v", line, err)
	}
	writer := proctest.Command(t, "dict-lockedset", name, "d")
	var said strings.Builder
	writer.Stdout = &said
	must(t, writer.Start())
	ended := make(chan error, 1)
	go func() { ended <- writer.Wait() }()
	for lockWord.Load()&0x80000000 == 0 { // the writer asleep on the lock
		select {
		case err := <-ended:
			release.Close()
			t.Fatalf("the writer ended before it waited: %v, %q", err, said.String())
		default:
			runtime.Gosched()
		}
	}
	time.Sleep(100 * time.Millisecond) // how long the holder goes on holding (5 of the writer's looks), not synchronisation
	release.Close()
	holder.Wait()
	must(t, <-ended)
	if got := strings.TrimSpace(said.String()); got != "ok" {
		t.Errorf("the writer said %q, want ok", got)
	}
}

// A heap whose pid_ns is 0 was made by a build that did not record it, and
// its writers may be of any namespace: the first writable attach marks it
// mixed rather than claiming it for its own namespace, which made a writer
// judge a live holder of another namespace dead (ErrCorrupt).
func TestHeapOfAnEarlierBuildIsMixed(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	heap := mapHeap(t, "/dev/shm/"+dict.HeapName(d), 4096)
	ns := (*atomic.Uint32)(unsafe.Pointer(&heap[unsafe.Offsetof(layout.DictHeap{}.PidNs)]))
	mixed := (*atomic.Uint32)(unsafe.Pointer(&heap[unsafe.Offsetof(layout.DictHeap{}.MixedNs)]))
	ns.Store(0) // as the build before made it
	mixed.Store(0)
	proctest.Output(t, "dict-fill", name, "d", "0", "1")
	if mixed.Load() != 1 {
		t.Errorf("a writer attached to a heap without a pid namespace: mixed_ns %d, pid_ns %d", mixed.Load(), ns.Load())
	}
}
