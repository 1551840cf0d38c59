package interop_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/queue"
	"github.com/shmkit/shmkit/shm"
)

// TestCNewQueueRefusedCreatesNothing: shmkit_new_queue, in a C process,
// refused for lack of room for some of the queue's five objects (bytes or
// directory entries), for a name whose derived names are too long, or for
// a derived name taken, leaves none of them (before, the first objects
// stayed, holding the name and the space for good).
func TestCNewQueueRefusedCreatesNothing(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	big, bigName := proctest.Segment(t, 1<<20)
	q, err := queue.New(big, "q", 4, 64, 100)
	require.NoError(t, err)
	require.NoError(t, q.Close())
	objs, err := big.Objects()
	require.NoError(t, err)
	require.Len(t, objs, 5)
	var lengths []uint64
	for _, o := range objs {
		lengths = append(lengths, o.Length)
	}
	names := func(seg *shm.Segment) []string {
		objs, err := seg.Objects()
		require.NoError(t, err)
		var names []string
		for _, o := range objs {
			names = append(names, o.Name)
		}
		return names
	}
	newQueue := func(segName, q string) string {
		out, err := cPeer(t, "queue-new", segName, q, "4", "64", "100").Output()
		require.NoError(t, err, "%s", out)
		return strings.TrimSpace(string(out))
	}
	for k := 1; k < len(lengths); k++ {
		var room uint64
		for _, l := range lengths[:k+1] {
			room += l
		}
		for _, opt := range []struct{ size, cap int }{
			{int(layout.DataStart(5) + room - 64), 5}, // 64 bytes short of object k+1
			{shm.SizeFor(lengths...) + 4096, k},       // entries for k
		} {
			seg, name := proctest.Segment(t, opt.size, shm.WithCapacity(opt.cap))
			assert.Equal(t, "nospace", newQueue(name, "q"), "room for %d objects", k)
			assert.Empty(t, names(seg), "room for %d objects: a refused queue left objects", k)
		}
	}
	assert.Equal(t, "invalid", newQueue(bigName, strings.Repeat("x", 60)))
	_, err = big.Alloc(shm.Request{Name: "taken.max", Kind: shm.KindBytes, Length: 8}, nil)
	require.NoError(t, err)
	assert.Equal(t, "exists", newQueue(bigName, "taken"))
	assert.Len(t, names(big), 6, "the refused queues left objects: %v", names(big))

	seg, name := proctest.Segment(t, shm.SizeFor(lengths...))
	assert.Equal(t, "ok", newQueue(name, "q"), "a segment of exactly the queue's size")
	_, err = queue.Open(seg, "q")
	assert.NoError(t, err)
}
