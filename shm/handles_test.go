package shm_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// allocOn has goroutines allocate perGoroutine objects each on every one
// of handles, each object filled with its name; the names start with who.
func allocOn(handles []*shm.Segment, goroutines, perGoroutine int, who string) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(handles)*goroutines)
	for h, seg := range handles {
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perGoroutine {
					name := fmt.Sprintf("%s-h%d-g%d-%d", who, h, g, i)
					_, err := seg.Alloc(shm.Request{Name: name, Kind: shm.KindBytes, Length: uint64(len(name) + i%100)},
						func(mem []byte) error { copy(mem, name); return nil })
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// checkAllocated fails t unless seg's directory holds exactly the objects
// that allocOn made for each of whos, each with its own name as contents.
func checkAllocated(t *testing.T, seg *shm.Segment, whos []string, handles, goroutines, perGoroutine int) {
	t.Helper()
	objs, err := seg.Objects() // also checks names and that no two overlap
	require.NoError(t, err)
	want := map[string]bool{}
	for _, who := range whos {
		for h := range handles {
			for g := range goroutines {
				for i := range perGoroutine {
					want[fmt.Sprintf("%s-h%d-g%d-%d", who, h, g, i)] = true
				}
			}
		}
	}
	for _, o := range objs {
		if !want[o.Name] {
			t.Errorf("unexpected object %q", o.Name)
			continue
		}
		delete(want, o.Name)
		if got := string(o.Bytes()[:len(o.Name)]); got != o.Name {
			t.Errorf("object %q holds %q", o.Name, got)
		}
	}
	assert.Empty(t, want, "%d objects missing from the directory (%d listed)", len(want), len(objs))
}

// Two handles of one segment in one process lost objects: the allocation
// lock word held the pid, a handle that found its own pid there took the
// lock as left over by an earlier process, and only a per-handle semaphore
// kept this process's allocators apart. One Create and one Open handle,
// four goroutines allocating on each.
func TestTwoHandlesInOneProcessLoseNothing(t *testing.T) {
	const goroutines, each = 4, 200
	created, name := proctest.Segment(t, 8<<20, shm.WithCapacity(2*goroutines*each))
	opened, err := shm.Open(name)
	require.NoError(t, err)
	defer opened.Close()
	require.NoError(t, allocOn([]*shm.Segment{created, opened}, goroutines, each, "x"))
	checkAllocated(t, created, []string{"x"}, 2, goroutines, each)
}

// helperAllocHandles opens segment args[0] twice, waits for a line on
// stdin, and has args[2] goroutines on each handle allocate args[3]
// objects each, named after args[1].
func helperAllocHandles(args []string) int {
	var handles []*shm.Segment
	for range 2 {
		seg, err := shm.Open(args[0])
		if err != nil {
			return proctest.Fail("open: %v", err)
		}
		defer seg.Close()
		handles = append(handles, seg)
	}
	goroutines, _ := strconv.Atoi(args[2])
	each, _ := strconv.Atoi(args[3])
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return proctest.Fail("start gate: %v", err)
	}
	if err := allocOn(handles, goroutines, each, args[1]); err != nil {
		return proctest.Fail("%v", err)
	}
	return 0
}

// The same with three processes, each with two handles and goroutines on
// both, and a third handle in this process allocating too.
func TestHandlesAcrossProcessesLoseNothing(t *testing.T) {
	const goroutines, each = 2, 100
	whos := []string{"p", "q", "r"}
	seg, name := proctest.Segment(t, 16<<20, shm.WithCapacity((len(whos)+1)*2*goroutines*each))
	other, err := shm.Open(name)
	require.NoError(t, err)
	defer other.Close()
	var gates []*os.File
	var wg sync.WaitGroup
	errs := make(chan error, len(whos)+1)
	for _, who := range whos {
		cmd := proctest.Command(t, "allochandles", name, who, strconv.Itoa(goroutines), strconv.Itoa(each))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		gates = append(gates, stdin.(*os.File))
		wg.Add(1)
		go func() { defer wg.Done(); errs <- cmd.Wait() }()
	}
	for _, gate := range gates {
		gate.WriteString("go\n")
		gate.Close()
	}
	errs <- allocOn([]*shm.Segment{seg, other}, goroutines, each, "me")
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	checkAllocated(t, seg, append(whos, "me"), 2, goroutines, each)
}

// An init that allocates in its own segment, through the same handle or
// another, would wait for its own lock (or, with another handle, took the
// lock as left over and overwrote the outer object): it is refused.
func TestAllocInsideInitIsRefused(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	other, err := shm.Open(name)
	require.NoError(t, err)
	defer other.Close()
	for _, inner := range []*shm.Segment{seg, other} {
		var innerErr error
		outer := fmt.Sprintf("outer-%p", inner)
		_, err := seg.Alloc(shm.Request{Name: outer, Kind: shm.KindBytes, Length: 64}, func([]byte) error {
			_, innerErr = inner.Alloc(shm.Request{Name: "inner", Kind: shm.KindBytes, Length: 64}, nil)
			return nil
		})
		require.NoError(t, err)
		assert.ErrorIs(t, innerErr, shm.ErrBusy)
	}
	checkNames(t, seg, "outer-")
}

// checkNames fails t unless every object in seg is named with prefix.
func checkNames(t *testing.T, seg *shm.Segment, prefix string) {
	t.Helper()
	objs, err := seg.Objects()
	require.NoError(t, err)
	assert.Len(t, objs, 2)
	for _, o := range objs {
		assert.True(t, strings.HasPrefix(o.Name, prefix), "object %q", o.Name)
	}
}
