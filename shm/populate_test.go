package shm_test

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// storeFaults counts the page faults of storing a byte in every page of b.
// Only stores: a load's fault maps the pages around it too.
func storeFaults(t *testing.T, b []byte) int64 {
	return proctest.PageFaults(t, func() {
		for i := 0; i < len(b); i += os.Getpagesize() {
			b[i] = 1
		}
	})
}

// TestPopulateMapsPagesAhead: after Populate, a fresh mapping's first
// pass over an object takes no page faults; without it, one per page.
func TestPopulateMapsPagesAhead(t *testing.T) {
	seg, name := proctest.Segment(t, 8<<20)
	const length = 4 << 20
	_, err := seg.Alloc(shm.Request{Name: "ring", Kind: shm.KindBytes, Length: length}, nil)
	require.NoError(t, err)
	pages := int64(length / os.Getpagesize())

	fresh := func() (*shm.Segment, shm.Object) {
		s, err := shm.Open(name)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		o, err := objects.Core(s).LookupKind("ring", shm.KindBytes)
		require.NoError(t, err)
		return s, o
	}
	_, plain := fresh()
	if n := storeFaults(t, plain.Bytes()); n < pages/2 {
		t.Fatalf("a fresh mapping took %d faults over %d pages: cannot tell populated pages apart", n, pages)
	}
	s, o := fresh()
	if err := objects.Core(s).Populate(o); errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	} else {
		require.NoError(t, err)
	}
	if n := storeFaults(t, o.Bytes()); n > pages/16 {
		t.Fatalf("after Populate, %d faults over %d pages", n, pages)
	}

	require.NoError(t, s.Close())
	require.ErrorIs(t, objects.Core(s).Populate(o), shm.ErrClosed)
	o.Length = 1 << 40
	require.ErrorIs(t, objects.Core(seg).Populate(o), shm.ErrInvalidSize)
}

// TestPopulateShrunkFile: a file that another process truncated under the
// mapping is ErrCorrupt from Populate, whether the advice finds it (here)
// or the read of each page after it (TestTouchPagesOfAShrunkFile).
func TestPopulateShrunkFile(t *testing.T) {
	seg, name := proctest.Segment(t, 8<<20)
	_, err := seg.Alloc(shm.Request{Name: "ring", Kind: shm.KindBytes, Length: 4 << 20}, nil)
	require.NoError(t, err)
	s, err := shm.Open(name)
	require.NoError(t, err)
	defer s.Close()
	o, err := objects.Core(s).LookupKind("ring", shm.KindBytes)
	require.NoError(t, err)
	require.NoError(t, os.Truncate("/dev/shm/"+name, int64(os.Getpagesize())))
	err = objects.Core(s).Populate(o)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
	require.ErrorIs(t, err, shm.ErrCorrupt)
}
