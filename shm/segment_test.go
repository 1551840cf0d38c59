package shm_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/shm"
)

func TestPosixName(t *testing.T) {
	for in, want := range map[string]string{"foo": "/foo", "/foo": "/foo", "a.b-c_d": "/a.b-c_d"} {
		got, err := shm.PosixName(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	for _, bad := range []string{"", "/", ".", "..", "/..", "a/b", "../x", "//foo", "a\x00b", strings.Repeat("x", 256)} {
		_, err := shm.PosixName(bad)
		assert.ErrorIs(t, err, shm.ErrInvalidName, "%q", bad)
		_, err = shm.Create(bad, 1<<16)
		assert.ErrorIs(t, err, shm.ErrInvalidName, "%q", bad)
		_, err = shm.Open(bad)
		assert.ErrorIs(t, err, shm.ErrInvalidName, "%q", bad)
	}
	_, err := shm.PosixName(strings.Repeat("x", 255))
	assert.NoError(t, err)
}

func TestCreateOpenErrors(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	assert.Equal(t, "/"+name, seg.Name())
	assert.Equal(t, 1<<16, seg.Size())
	assert.Equal(t, os.Getpid(), seg.CreatorPID())
	assert.False(t, seg.Created().IsZero())

	_, err := shm.Create(name, 1<<16)
	assert.ErrorIs(t, err, fs.ErrExist)
	_, err = shm.Create("/"+name, 1<<16) // the same segment
	assert.ErrorIs(t, err, fs.ErrExist)

	_, err = shm.Open(proctest.Name(t))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "shm open", pe.Op)

	for _, size := range []int{0, -1, 100} {
		_, err := shm.Create(proctest.Name(t), size)
		assert.ErrorIs(t, err, shm.ErrInvalidSize, "size %d", size)
	}
	_, err = shm.Create(proctest.Name(t), 1<<16, shm.WithCapacity(-1))
	assert.ErrorIs(t, err, shm.ErrInvalidSize)
	small, _ := proctest.Segment(t, 128, shm.WithCapacity(0)) // a header and nothing else
	_, err = small.Alloc(shm.Request{Name: "x", Kind: shm.KindBytes, Length: 1}, nil)
	assert.ErrorIs(t, err, shm.ErrNoSpace)
}

func TestPermissions(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	_, name := proctest.Segment(t, 1<<16)
	fi, err := os.Stat("/dev/shm/" + name)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())

	_, name = proctest.Segment(t, 1<<16, shm.WithMode(0o640))
	fi, err = os.Stat("/dev/shm/" + name)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o640), fi.Mode().Perm(), "exact mode, whatever the umask")
}

func TestDirectory(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16, shm.WithCapacity(4))
	a, err := objects.Core(seg).Alloc(segment.Request{Name: "a", Kind: shm.KindBytes, Length: 10, Param0: 7}, func(mem []byte) error {
		assert.Len(t, mem, 64, "rounded up to a cache line")
		copy(mem, "hello")
		return nil
	})
	require.NoError(t, err)
	assert.Zero(t, a.Offset%64)
	assert.Equal(t, uint64(64), a.Length)

	_, err = seg.Alloc(shm.Request{Name: "a", Kind: shm.KindBytes, Length: 1}, nil)
	assert.ErrorIs(t, err, shm.ErrObjectExists)
	_, err = seg.Alloc(shm.Request{Name: "b", Kind: shm.KindBytes, Length: 0}, nil)
	assert.ErrorIs(t, err, shm.ErrInvalidSize)
	_, err = seg.Alloc(shm.Request{Name: strings.Repeat("n", 64), Kind: shm.KindBytes, Length: 1}, nil)
	assert.ErrorIs(t, err, shm.ErrInvalidName)
	_, err = seg.Alloc(shm.Request{Name: "big", Kind: shm.KindBytes, Length: 1 << 20}, nil)
	assert.ErrorIs(t, err, shm.ErrNoSpace)
	boom := errors.New("boom")
	_, err = seg.Alloc(shm.Request{Name: "failed", Kind: shm.KindBytes, Length: 1}, func([]byte) error { return boom })
	assert.ErrorIs(t, err, boom)
	_, err = seg.Lookup("failed")
	assert.ErrorIs(t, err, shm.ErrObjectNotFound, "an object whose init failed is never published")

	for _, n := range []string{"b", "c", "d"} {
		_, err = seg.Alloc(shm.Request{Name: n, Kind: shm.KindBytes, Length: 1}, nil)
		require.NoError(t, err)
	}
	_, err = seg.Alloc(shm.Request{Name: "e", Kind: shm.KindBytes, Length: 1}, nil)
	assert.ErrorIs(t, err, shm.ErrNoSpace, "directory full")

	other, err := shm.Open(name)
	require.NoError(t, err)
	defer other.Close()
	got, err := other.Lookup("a")
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got.Bytes()[:5]))
	assert.Equal(t, uint64(7), got.Param0)
	_, err = objects.Core(other).LookupKind("a", shm.KindSemaphore)
	assert.ErrorIs(t, err, shm.ErrKindMismatch)
	_, err = other.Lookup("zz")
	assert.ErrorIs(t, err, shm.ErrObjectNotFound)
	objs, err := other.Objects()
	require.NoError(t, err)
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	assert.Equal(t, []string{"a", "b", "c", "d"}, names)
}

func TestCrossProcessReadWrite(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	msg := "written by the parent"
	obj, err := objects.Core(seg).Alloc(segment.Request{Name: "msg", Kind: shm.KindBytes, Length: 256, Param0: uint64(len(msg))},
		func(mem []byte) error { copy(mem, msg); return nil })
	require.NoError(t, err)

	out := proctest.Output(t, "readwrite", name, "written back by the child")
	assert.Equal(t, msg, out)
	assert.Equal(t, "written back by the child", strings.TrimRight(string(obj.Bytes()), "\x00"))
}

func TestConcurrentAllocationAcrossProcesses(t *testing.T) {
	const perProcess = 500
	seg, name := proctest.Segment(t, 8<<20, shm.WithCapacity(2*perProcess))
	var cmds []*os.File
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, who := range []string{"p", "q"} {
		cmd := proctest.Command(t, "alloc", name, who, fmt.Sprint(perProcess))
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		cmds = append(cmds, stdin.(*os.File))
		wg.Add(1)
		go func() { defer wg.Done(); errs <- cmd.Wait() }()
	}
	for _, gate := range cmds { // open the gate for both at once
		gate.WriteString("go\n")
		gate.Close()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	objs, err := seg.Objects() // also checks that no two overlap
	require.NoError(t, err)
	require.Len(t, objs, 2*perProcess)
	for _, who := range []string{"p", "q"} {
		for i := range perProcess {
			n := fmt.Sprintf("%s-%d", who, i)
			obj, err := seg.Lookup(n)
			require.NoError(t, err)
			require.Equal(t, n, string(obj.Bytes()[:len(n)]), "contents written by the allocating process")
		}
	}
}

func TestUnlink(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	obj, err := seg.Alloc(shm.Request{Name: "x", Kind: shm.KindBytes, Length: 8}, nil)
	require.NoError(t, err)
	other, err := shm.Open(name)
	require.NoError(t, err)
	defer other.Close()

	require.NoError(t, seg.Unlink())
	_, err = shm.Open(name)
	assert.ErrorIs(t, err, fs.ErrNotExist, "a new Open fails once unlinked")
	assert.ErrorIs(t, shm.Unlink(name), fs.ErrNotExist, "double unlink")

	obj.Bytes()[0] = 42 // existing users keep working
	o2, err := other.Lookup("x")
	require.NoError(t, err)
	assert.Equal(t, byte(42), o2.Bytes()[0])
}

var sink byte

// faults reports whether f faults on memory access.
func faults(f func()) (faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			_, faulted = r.(interface{ Addr() uintptr })
		}
	}()
	f()
	return false
}

func TestUseAfterCloseFaults(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<16)
	obj, err := seg.Alloc(shm.Request{Name: "x", Kind: shm.KindBytes, Length: 8}, nil)
	require.NoError(t, err)
	view := obj.Bytes()
	require.NoError(t, seg.Close())

	assert.ErrorIs(t, seg.Close(), shm.ErrClosed)
	assert.Nil(t, seg.Bytes())
	_, err = seg.Lookup("x")
	assert.ErrorIs(t, err, shm.ErrClosed)
	_, err = seg.Alloc(shm.Request{Name: "y", Kind: shm.KindBytes, Length: 8}, nil)
	assert.ErrorIs(t, err, shm.ErrClosed)
	assert.True(t, faults(func() { sink = view[0] }), "a stale view faults, it never reads other memory")
	assert.True(t, faults(func() { view[0] = 1 }))
}

func TestReadOnly(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	_, err := seg.Alloc(shm.Request{Name: "x", Kind: shm.KindBytes, Length: 8},
		func(mem []byte) error { mem[0] = 9; return nil })
	require.NoError(t, err)

	ro, err := shm.Open(name, shm.WithReadOnly())
	require.NoError(t, err)
	defer ro.Close()
	assert.True(t, ro.ReadOnly())
	obj, err := ro.Lookup("x")
	require.NoError(t, err)
	assert.Equal(t, byte(9), obj.Bytes()[0])
	_, err = ro.Alloc(shm.Request{Name: "y", Kind: shm.KindBytes, Length: 8}, nil)
	assert.ErrorIs(t, err, shm.ErrReadOnly)
	assert.True(t, faults(func() { obj.Bytes()[0] = 1 }), "the mapping is PROT_READ")
}

// TestOptionsBySide: an option that means something only to Create is not
// an OpenOption, and WithReadOnly is not a CreateOption, so either given to
// the wrong call is a compile error; WithAllocWait serves both.
func TestOptionsBySide(t *testing.T) {
	createOpt := reflect.TypeFor[shm.CreateOption]()
	openOpt := reflect.TypeFor[shm.OpenOption]()
	for _, c := range []struct {
		name         string
		opt          any
		create, open bool
	}{
		{"WithMode", shm.WithMode(0o600), true, false},
		{"WithCapacity", shm.WithCapacity(4), true, false},
		{"WithReadOnly", shm.WithReadOnly(), false, true},
		{"WithAllocWait", shm.WithAllocWait(0), true, true},
	} {
		ty := reflect.TypeOf(c.opt)
		assert.Equal(t, c.create, ty.Implements(createOpt), "%s as a CreateOption", c.name)
		assert.Equal(t, c.open, ty.Implements(openOpt), "%s as an OpenOption", c.name)
	}
}

func TestSymlinkRefused(t *testing.T) {
	_, target := proctest.Segment(t, 1<<16)
	link := proctest.Name(t)
	require.NoError(t, os.Symlink("/dev/shm/"+target, "/dev/shm/"+link))
	_, err := shm.Open(link)
	assert.ErrorIs(t, err, syscall.ELOOP)
	_, err = shm.OpenRaw(link)
	assert.ErrorIs(t, err, syscall.ELOOP)
	_, err = shm.Create(link, 1<<16)
	assert.ErrorIs(t, err, fs.ErrExist, "create never writes through a link")
}

func TestOpenRaw(t *testing.T) {
	name := proctest.Name(t)
	require.NoError(t, os.WriteFile("/dev/shm/"+name, []byte("not shmkit at all, just bytes......................................................................................................................"), 0o600))
	_, err := shm.Open(name)
	assert.ErrorIs(t, err, shm.ErrNotShmkit)
	raw, err := shm.OpenRaw(name)
	require.NoError(t, err)
	defer raw.Close()
	assert.True(t, raw.Raw())
	assert.Equal(t, "not shmkit", string(raw.Bytes()[:10]))
	_, err = raw.Objects()
	assert.ErrorIs(t, err, shm.ErrNotShmkit)

	empty := proctest.Name(t)
	require.NoError(t, os.WriteFile("/dev/shm/"+empty, nil, 0o600))
	_, err = shm.OpenRaw(empty)
	assert.ErrorIs(t, err, shm.ErrInvalidSize)
	_, err = shm.Open(empty)
	assert.ErrorIs(t, err, shm.ErrNotShmkit)
}

// vmSize is this process's VmSize from /proc, in bytes.
func vmSize(t *testing.T) int64 {
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}

// Every Close used to keep its segment's address range reserved for good:
// with 4 GiB segments mmap failed with ENOMEM after about 32k cycles. The
// same segment opened again now reuses its range, so a stale view still
// sees only its own segment, and the address space stays bounded.
func TestOpenCloseKeepsAddressSpaceBounded(t *testing.T) {
	const size, cycles = 64 << 20, 1000 // 64 GB of address space if each cycle kept its range
	seg, name := proctest.Segment(t, size)
	obj, err := seg.Alloc(shm.Request{Name: "x", Kind: shm.KindBytes, Length: 8}, func(mem []byte) error { mem[0] = 7; return nil })
	require.NoError(t, err)
	stale := obj.Bytes()
	require.NoError(t, seg.Close())
	before := vmSize(t)
	for range cycles {
		s, err := shm.Open(name)
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
	grown := vmSize(t) - before
	assert.Less(t, grown, int64(4*size), "VmSize grew by %d MB over %d Open/Close cycles", grown>>20, cycles)

	// A stale view of the segment closed last faults, or sees that segment:
	// never another's (guards.go).
	other, _ := proctest.Segment(t, size)
	defer other.Close()
	for i := range other.Bytes() {
		other.Bytes()[i] = 0xEE
	}
	assert.True(t, faults(func() { sink = stale[0] }), "the range closed last is the segment's guard again, not another segment's mapping")
	again, err := shm.Open(name)
	require.NoError(t, err)
	defer again.Close()
	if !faults(func() { sink = stale[0] }) {
		assert.Equal(t, byte(7), stale[0], "the stale view sees its own segment")
	}
}

// The creator mapped the anonymous file before giving it its name, so
// lsof and /proc/PID/maps showed its live segment as "(deleted)": a false
// alarm for anyone hunting leaked segments. The mapping now carries the name.
func TestCreatorsMappingHasTheName(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	maps, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(maps), "\n") {
		if strings.Contains(l, "/dev/shm/") && !strings.Contains(l, "(deleted)") && strings.HasSuffix(l, "/dev/shm/"+name) {
			lines = append(lines, l)
		}
	}
	assert.Len(t, lines, 1, "one mapping named /dev/shm/%s (size %d)", name, seg.Size())
	for _, l := range strings.Split(string(maps), "\n") {
		assert.False(t, strings.Contains(l, "/dev/shm/#") && strings.Contains(l, "(deleted)"), "a nameless mapping: %s", l)
	}
}

// shm.Create(name, 4096) failed: 64 directory entries need 8,320 bytes. With
// no WithCapacity the directory is sized to the segment.
func TestSmallSegmentsFit(t *testing.T) {
	name := proctest.Name(t)
	seg, err := shm.Create(name, 4096)
	require.NoError(t, err)
	defer seg.Close()
	for i := range 3 {
		_, err := seg.Alloc(shm.Request{Name: fmt.Sprint("o", i), Kind: shm.KindBytes, Length: 512}, nil)
		require.NoError(t, err)
	}
	// SizeFor is the size a set of objects needs, directory included.
	lengths := []uint64{8, 100, 4096, 64}
	size := shm.SizeFor(lengths...)
	big, err := shm.Create(proctest.Name(t), size)
	require.NoError(t, err)
	defer big.Close()
	for i, l := range lengths {
		_, err := big.Alloc(shm.Request{Name: fmt.Sprint("o", i), Kind: shm.KindBytes, Length: l}, nil)
		require.NoError(t, err, "object %d of %d bytes in a segment of SizeFor's %d", i, l, size)
	}
	assert.Less(t, size, 16<<10, "SizeFor asks for about what the objects take")
}

func TestAllIterator(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<16)
	for _, n := range []string{"a", "b", "c"} {
		_, err := seg.Alloc(shm.Request{Name: n, Kind: shm.KindBytes, Length: 8}, nil)
		require.NoError(t, err)
	}
	var names []string
	for obj, err := range seg.All() {
		require.NoError(t, err)
		names = append(names, obj.Name)
		if obj.Name == "b" {
			break // stopping early is allowed
		}
	}
	assert.Equal(t, []string{"a", "b"}, names)
	require.NoError(t, seg.Close())
	for _, err := range seg.All() {
		assert.ErrorIs(t, err, shm.ErrClosed)
	}
}

// TestConstantsAgree: shm spells its constants out for go doc; the
// machinery must use the same.
func TestConstantsAgree(t *testing.T) {
	assert.Equal(t, segment.Dir, shm.Dir)
	assert.Equal(t, segment.DefaultCapacity, shm.DefaultCapacity)
	assert.Equal(t, segment.MaxCapacity, shm.MaxCapacity)
	assert.Equal(t, segment.DefaultAllocWait, shm.DefaultAllocWait)
}
