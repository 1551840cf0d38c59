package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// inspect of a pool table whose rows lie (a state past EXITED, pid 1 in
// an idle row of a generation that has no segment, an idle row without a
// pid) lists each row as untrusted and not alive, where it showed pid 1 as
// a live worker.
func TestInspectHostilePoolRows(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	_, err := seg.Alloc(shm.Request{Name: "pool", Kind: shm.KindBytes, Length: uint64(layout.PoolTableSize(3))}, func(mem []byte) error {
		h, rows := layout.PoolTable(mem, 3)
		h.Workers, h.ParentPID, h.Version = 3, 1, layout.PoolVersion
		rows[0].State.Store(9)
		rows[0].PID.Store(1)
		rows[1].State.Store(layout.PoolIdle)
		rows[1].PID.Store(1)
		rows[1].Generation.Store(1)
		rows[2].State.Store(layout.PoolIdle)
		h.Magic.Store(layout.PoolMagic)
		return nil
	})
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"inspect", name}, &out, &errOut), errOut.String())
	text := out.String()
	for _, want := range []string{"untrusted: impossible state 9", "untrusted: generation 1 has no segment", "untrusted: no pid in a row that is idle"} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "alive=true")
	assert.Equal(t, 3, strings.Count(text, "untrusted"), text)
}
