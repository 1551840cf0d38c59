package interop_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// Python's tables are copies of shmkit.h's: the kinds and their names, the
// typecodes and their sizes, the flags.
func TestPythonTablesMirrorTheLayout(t *testing.T) {
	out, err := python(t, "-c", `
import json, shmkit._segment as s, shmkit._native as n
print(json.dumps({"kinds": s.KINDS, "typecodes": s.TYPECODES, "locked": s._LOCKED,
                  "sizes": {tc: n.lib.shmkit_typecode_size(ord(tc)) for tc in s.TYPECODES}}))
`).Output()
	require.NoError(t, err)
	var py struct {
		Kinds     map[int]string `json:"kinds"`
		Typecodes string         `json:"typecodes"`
		Locked    uint8          `json:"locked"`
		Sizes     map[string]int `json:"sizes"`
	}
	require.NoError(t, json.Unmarshal(out, &py))

	kinds := map[int]string{}
	for k := shm.Kind(1); k < 64; k++ {
		if name := k.String(); !strings.HasPrefix(name, "kind(") {
			kinds[int(k)] = name
		}
	}
	assert.Equal(t, kinds, py.Kinds, "Python's KINDS against shm.Kind's names")
	assert.Equal(t, layout.FlagLocked, py.Locked)
	for _, c := range []byte(py.Typecodes) {
		assert.Equal(t, ctypes.Typecode(c).Size(), py.Sizes[string(c)], "typecode %q", c)
	}
	n := 0
	for c := range 256 {
		if ctypes.Typecode(c).Size() > 0 {
			n++
		}
	}
	assert.Len(t, py.Typecodes, n, "Python has every typecode Go has")
}

// Go's RawValue.Add and Python's Value.add are the same atomic instruction
// on the same word: run at once, no update is lost.
func TestAtomicAddGoAndPython(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	v, err := ctypes.NewRawValue[int64](seg, "n", 0)
	require.NoError(t, err)
	const each = 20000
	cmd := python(t, "-c", fmt.Sprintf(`
import shmkit
seg = shmkit.attach(%q)
v = seg.value("n")
for _ in range(%d):
    v.add(1)
v.release()
seg.close()
`, name, each))
	require.NoError(t, cmd.Start())
	for range each {
		v.Add(1)
	}
	require.NoError(t, cmd.Wait())
	assert.Equal(t, int64(2*each), v.Load())
}

// C's shmkit_create maps the new segment by its name, as Go's Create does
// (shm.TestCreatorsMappingHasTheName): /proc/PID/maps used to show the
// creator's live segment as a deleted file.
func TestCCreatorsMappingHasTheName(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	bin := filepath.Join(t.TempDir(), "maps")
	out, err := exec.Command(cc, "-O2", "-I../cgo", "-o", bin, "testdata/maps.c", "../cgo/shmkit.c", "-lpthread").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(bin).Output()
	require.NoError(t, err)
	assert.Equal(t, "named 1 deleted 0", strings.TrimSpace(string(out)))
}
