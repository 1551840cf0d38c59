package dict_test

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"

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
// args[4] operations.
func helperChurn(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	seed, _ := strconv.ParseUint(args[2], 10, 64)
	keys, _ := strconv.Atoi(args[3])
	ops, _ := strconv.Atoi(args[4])
	if err := churn(d, seed, keys, ops); err != nil {
		return proctest.Fail("churn: %v", err)
	}
	return 0
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
