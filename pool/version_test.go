package pool_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

// poolOfVersion makes, in a segment of its own, a one-row pool table of
// protocol version v, and a worker segment whose tasks ring is already
// ended: a worker that serves it exits 0 at once. It returns both names.
func poolOfVersion(t *testing.T, v uint32) (poolName, workerName string) {
	seg, poolName := proctest.Segment(t, 1<<16)
	_, err := seg.Alloc(shm.Request{Name: "pool", Kind: shm.KindBytes, Length: uint64(layout.PoolTableSize(1))}, func(mem []byte) error {
		h, _ := layout.PoolTable(mem, 1)
		h.Workers, h.ParentPID, h.Version = 1, 1, v
		h.Magic.Store(layout.PoolMagic)
		return nil
	})
	require.NoError(t, err)
	wseg, workerName := proctest.Segment(t, 1<<16)
	tasks, err := channel.New[byte](wseg, "tasks", 4, 256)
	require.NoError(t, err)
	_, err = channel.New[byte](wseg, "results", 4, 256)
	require.NoError(t, err)
	require.NoError(t, tasks.End())
	return poolName, workerName
}

// A pool table of another protocol version (0: a build before the field,
// 2: a later one) is refused: Inspect says pool.ErrVersion, and a Go
// worker given it leaves with status 1 before it serves, where it served
// the table as its own.
func TestTableOfAnotherVersion(t *testing.T) {
	for _, v := range []uint32{layout.PoolVersion, 0, 2} {
		poolName, workerName := poolOfVersion(t, v)
		seg, err := shm.Open(poolName, shm.WithReadOnly())
		require.NoError(t, err)
		_, err = pool.Inspect(seg)
		seg.Close()
		w := &process.Process{Role: "shmkit.pool.worker", Args: []string{poolName, "0", workerName}}
		require.NoError(t, w.Start())
		w.Wait()
		code, _ := w.ExitCode()
		if v == layout.PoolVersion {
			assert.NoError(t, err)
			assert.Equal(t, 0, code, "a worker of this version serves, then sees the end")
			continue
		}
		assert.ErrorIs(t, err, pool.ErrVersion, "version %d", v)
		assert.ErrorIs(t, err, shm.ErrVersion, "version %d: a pool table of another version is a shm version error too", v)
		assert.Equal(t, 1, code, "version %d: the worker served", v)
	}
}
