package shm_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// deadPID returns the id of a process that has exited and been reaped.
func deadPID(t *testing.T) uint32 {
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	return uint32(cmd.Process.Pid)
}

// Ids that no process can have, and one that has exited: a lock word that
// names them is held by nobody, in Go and in C alike. Go took 0xFFFFFFFF
// for alive (kill(-1, 0) succeeds), so every Alloc waited out its wait and
// got ErrBusy; C took it for dead.
func holderlessIDs(t *testing.T) map[string]uint32 {
	return map[string]uint32{
		"0xFFFFFFFF":   0xFFFFFFFF,
		"0xFFFFFFFE":   0xFFFFFFFE,
		"0x80000000":   0x80000000,
		"MaxPID+1":     procs.MaxPID + 1,
		"exited child": deadPID(t),
	}
}

// plant stores a lock word naming id in this process's pid namespace.
func plant(seg *shm.Segment, id uint32) {
	layout.HeaderOf(seg.Bytes()).AllocLock.Store(uint64(procs.PIDNamespace())<<32 | uint64(id))
}

func TestHolderlessLockWordIsTakenOver(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	bounded, err := shm.Open(name, shm.WithAllocWait(100*time.Millisecond))
	require.NoError(t, err)
	defer bounded.Close()
	for what, id := range holderlessIDs(t) {
		plant(seg, id)
		_, err := bounded.Alloc(shm.Request{Name: "after " + what, Kind: shm.KindBytes, Length: 64}, nil)
		assert.NoError(t, err, "a lock word naming %s (%d)", what, id)
	}
	// A live holder (our parent) is waited for, as before.
	plant(seg, uint32(os.Getppid()))
	_, err = bounded.Alloc(shm.Request{Name: "after a live one", Kind: shm.KindBytes, Length: 64}, nil)
	assert.ErrorIs(t, err, shm.ErrBusy)
	plant(seg, 0)
}

// The C library judges the same words the same way.
func TestCHolderlessLockWordIsTakenOver(t *testing.T) {
	dir := cBuild(t)
	_, name := proctest.Segment(t, 1<<16)
	for what, id := range holderlessIDs(t) {
		out, err := exec.CommandContext(t.Context(), filepath.Join(dir, "lockword"), name, strconv.FormatUint(uint64(id), 10)).CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, "taken over\n", string(out), "a lock word naming %s (%d)", what, id)
	}
}
