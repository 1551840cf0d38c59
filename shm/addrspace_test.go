package shm_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// warmNames is how many segments helperNewNames makes before it measures.
const warmNames = 4

// procVmSize is this process's VmSize from /proc, in bytes, or -1.
func procVmSize() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// helperNewNames creates, uses, closes and unlinks args[2] segments of
// args[1] bytes, one at a time, named args[0]-0, args[0]-1, ... It prints
// how much VmSize grew after the first few (which reserve the ranges the
// rest reuse, and start the runtime's threads), and how many stale views
// failed to fault: a view of the segment just closed, and of the two before
// while the next is open.
func helperNewNames(args []string) int {
	size, _ := strconv.Atoi(args[1])
	n, _ := strconv.Atoi(args[2])
	var before int64
	var previous [2][]byte
	unfaulted := 0
	for i := range n {
		if i == warmNames {
			before = procVmSize()
		}
		seg, err := shm.Create(fmt.Sprintf("%s-%d", args[0], i), size)
		if err != nil {
			return proctest.Fail("create %d: %v", i, err)
		}
		for _, p := range previous {
			if p != nil && !faults(func() { sink = p[0] }) {
				unfaulted++
			}
		}
		obj, err := seg.Alloc(shm.Request{Name: "x", Kind: shm.KindBytes, Length: uint64(size / 2)},
			nil)
		if err != nil {
			return proctest.Fail("alloc %d: %v", i, err)
		}
		view := obj.Bytes()
		if err := seg.Close(); err != nil {
			return proctest.Fail("close %d: %v", i, err)
		}
		if err := seg.Unlink(); err != nil {
			return proctest.Fail("unlink %d: %v", i, err)
		}
		if !faults(func() { sink = view[len(view)-1] }) {
			unfaulted++
		}
		previous[0], previous[1] = previous[1], view
	}
	fmt.Println(procVmSize()-before, unfaulted)
	return 0
}

// A process that made, used and closed segments one at a time, each under
// a new name, kept every closed range reserved: VmSize grew by a segment
// for each name, and under a 3 GiB RLIMIT_AS the 7th 256 MiB segment could
// not be created. Closed ranges are now reused across names, and views of
// the last two segments closed still fault while the next is in use.
func TestNewNamesKeepAddressSpaceBounded(t *testing.T) {
	const size, names = 32 << 20, warmNames + 24 // 768 MiB more address space if each name kept its range
	name := proctest.Name(t)
	t.Cleanup(func() {
		for i := range names {
			os.Remove(fmt.Sprintf("/dev/shm/%s-%d", name, i))
		}
	})
	var grown int64
	var unfaulted int
	out := proctest.Output(t, "newnames", name, strconv.Itoa(size), strconv.Itoa(names))
	_, err := fmt.Sscan(out, &grown, &unfaulted)
	assert.NoError(t, err, "helper said %q", out)
	assert.Less(t, grown, int64(3*size), "VmSize grew by %d MiB over %d names of %d MiB", grown>>20, names-warmNames, size>>20)
	assert.Zero(t, unfaulted, "stale views that read memory instead of faulting")
	t.Logf("VmSize grew by %d MiB over %d names of %d MiB", grown>>20, names-warmNames, size>>20)
}

// helperUnderASLimit limits its own address space to what it uses now
// plus args[3] MiB (RLIMIT_AS), then creates, uses, closes and unlinks
// args[2] segments of args[1] bytes, each under a new name after args[0].
// It prints how many it made before the first failure, if any.
func helperUnderASLimit(args []string) int {
	size, _ := strconv.Atoi(args[1])
	n, _ := strconv.Atoi(args[2])
	headroom, _ := strconv.Atoi(args[3])
	limit := uint64(procVmSize()) + uint64(headroom)<<20
	if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		return proctest.Fail("setrlimit: %v", err)
	}
	for i := range n {
		seg, err := shm.Create(fmt.Sprintf("%s-%d", args[0], i), size)
		if err != nil {
			fmt.Println(i, err)
			return 0
		}
		_, err = seg.Alloc(shm.Request{Name: "x", Kind: shm.KindBytes, Length: uint64(size / 2)}, nil)
		seg.Close()
		seg.Unlink()
		if err != nil {
			return proctest.Fail("alloc %d: %v", i, err)
		}
	}
	fmt.Println(n)
	return 0
}

// The issue's own form: under an address space limit with room for a few
// segments, one segment at a time under new names. Before, the 7th 64 MiB
// segment failed with ENOMEM under 384 MiB of headroom; now all 16 fit.
func TestNewNamesUnderAddressSpaceLimit(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector maps shadow memory as the process grows")
	}
	const size, names, headroom = 64 << 20, 16, 384 // MiB of headroom: 6 segments
	name := proctest.Name(t)
	t.Cleanup(func() {
		for i := range names {
			os.Remove(fmt.Sprintf("/dev/shm/%s-%d", name, i))
		}
	})
	out := proctest.Output(t, "underaslimit", name, strconv.Itoa(size), strconv.Itoa(names), strconv.Itoa(headroom))
	assert.Equal(t, strconv.Itoa(names), out, "segments made before the first failure")
}
