package interop_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/layout"
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
