package dict_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/proctest"
)

// churn overwrites and deletes random keys of keys with values of sizes
// from 1 byte to 6 KiB (small and large blocks mixed), ops times.
func churn(d *dict.Dict, seed uint64, keys, ops int) error {
	r := rand.New(rand.NewPCG(seed, 11))
	for range ops {
		k := "c" + strconv.Itoa(r.IntN(keys))
		if r.IntN(8) == 0 {
			if _, err := d.Delete(k); err != nil {
				return err
			}
			continue
		}
		size := 1 + r.IntN(300)
		if r.IntN(6) == 0 {
			size = 1 + r.IntN(6<<10)
		}
		if err := d.Set(k, strings.Repeat("x", size)); err != nil {
			return err
		}
	}
	return nil
}

// helperChurn runs churn on dict args[1] with seed args[2], args[3] keys,
// args[4] operations (0: until killed).
func helperChurn(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	seed, _ := strconv.ParseUint(args[2], 10, 64)
	keys, _ := strconv.Atoi(args[3])
	ops, _ := strconv.Atoi(args[4])
	if ops > 0 {
		if err := churn(d, seed, keys, ops); err != nil {
			return proctest.Fail("churn: %v", err)
		}
		return 0
	}
	for i := 0; ; i++ {
		if err := churn(d, seed+uint64(i), keys, 200); err != nil {
			return proctest.Fail("churn: %v", err)
		}
		if i == 0 {
			fmt.Println("ready") // the parent kills it from now on
		}
	}
}

// Writers killed at random while they split, merge and move free blocks
// (a churn of varied sizes) leave a heap the next writer repairs: every
// key reads back a value some writer stored, whole, and the churn goes on
// with the heap still bounded.
func TestChurnKilled(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "churn")
	const keys = 2000
	r := rand.New(rand.NewPCG(3, 4))
	start := func(i int) *exec.Cmd {
		cmd := proctest.Command(t, "dict-churn", name, "churn", strconv.Itoa(100+i), strconv.Itoa(keys), "0")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(out).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "ready\n", line)
		return cmd
	}
	procs := []*exec.Cmd{start(0), start(1), start(2)}
	kills := 30
	if testing.Short() {
		kills = 8
	}
	for i := range kills {
		time.Sleep(time.Duration(5+r.IntN(30)) * time.Millisecond) // how long the victim runs, not synchronisation
		w := r.IntN(len(procs))
		require.NoError(t, procs[w].Process.Signal(syscall.SIGKILL))
		err := procs[w].Wait()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit) && exit.ProcessState.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL,
			"the writer failed on its own: %v", err)
		procs[w] = start(3 + i)
	}
	for _, p := range procs {
		require.NoError(t, p.Process.Signal(syscall.SIGKILL))
		p.Wait()
	}
	require.NoError(t, churn(d, 9, keys, 2000), "the next writer repairs and goes on")
	n := 0
	require.NoError(t, d.Range(func(k, v any) bool {
		n++
		s, ok := v.(string)
		assert.True(t, ok && len(s) > 0 && strings.Trim(s, "x") == "", "%v holds a value no writer stored: %.20q", k, v)
		return true
	}))
	l, err := d.Len()
	require.NoError(t, err)
	assert.Equal(t, l, n)
	st, err := d.Stats()
	require.NoError(t, err)
	t.Logf("%d kills: %d keys, %d repairs, heap %d bytes, %d in use", kills+3, n, st.Recoveries, st.HeapBytes, st.UsedBytes)
	assert.LessOrEqual(t, st.HeapBytes, 4*st.UsedBytes+(4<<20), "the heap stays bounded through the kills")
}

// A long churn of values of varied sizes by three processes keeps the heap
// bounded: freed neighbours merge into blocks any later size can use, so
// the heap stays a small multiple of the bytes in use however long it runs.
func TestChurnKeepsHeapBounded(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "churn")
	const keys = 2000
	require.NoError(t, churn(d, 1, keys, 20000))
	warm, err := d.Stats()
	require.NoError(t, err)
	var wg sync.WaitGroup
	for p := range 3 {
		wg.Go(func() {
			proctest.Output(t, "dict-churn", name, "churn", strconv.Itoa(p+2), strconv.Itoa(keys), "100000")
		})
	}
	wg.Wait()
	last, err := d.Stats()
	require.NoError(t, err)
	t.Logf("after 20,000 operations: heap %d, in use %d; after 320,000: heap %d, in use %d",
		warm.HeapBytes, warm.UsedBytes, last.HeapBytes, last.UsedBytes)
	assert.LessOrEqual(t, last.HeapBytes, 2*warm.HeapBytes, "the heap stays the size the first operations made it")
	assert.LessOrEqual(t, last.HeapBytes, 4*last.UsedBytes, "the heap is a small multiple of what is in use")
	n, err := d.Len()
	require.NoError(t, err)
	assert.Positive(t, n)
}

// The heap file is memory (fallocate allocates its pages), so it grows by
// an eighth at a time, not by doubling: 100,000 keys filled by another
// process leave a file at most an eighth (and one step) larger than its
// blocks in use, where doubling could leave it up to twice as large.
func TestHeapGrowsByAnEighth(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "eighth")
	proctest.Output(t, "dict-fill", name, "eighth", "0", "100000")
	s, err := d.Stats()
	require.NoError(t, err)
	t.Logf("100,000 keys: heap %d bytes (%.1f per key), in blocks %d (%.1f per key)",
		s.HeapBytes, float64(s.HeapBytes)/1e5, s.UsedBytes, float64(s.UsedBytes)/1e5)
	require.Equal(t, 100000, s.Len)
	assert.LessOrEqual(t, s.HeapBytes, s.UsedBytes+s.UsedBytes/8+128<<10, "the file is at most an eighth past what is in use")
}
