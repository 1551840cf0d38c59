package interop_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
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

// docs/interop.md's C client, compiled as the docs show it and run against
// a segment Go made: the docs are enough for a C programmer.
func TestCClientFromTheDocs(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	doc, err := os.ReadFile("../docs/interop.md")
	require.NoError(t, err)
	start := strings.Index(string(doc), "```c\n")
	require.GreaterOrEqual(t, start, 0, "docs/interop.md has a C block")
	body := string(doc[start+5:])
	src := filepath.Join(t.TempDir(), "client.c")
	require.NoError(t, os.WriteFile(src, []byte(body[:strings.Index(body, "```")]), 0o644))
	bin := strings.TrimSuffix(src, ".c")
	out, err := exec.Command(cc, "-std=c99", "-Wall", "-Werror", "-I../cgo", "-o", bin, src, "../cgo/shmkit.c", "-lpthread").CombinedOutput()
	require.NoError(t, err, "%s", out)

	seg, name := proctest.Segment(t, 1<<20)
	_, err = ctypes.NewArrayFrom(seg, "samples", []float64{1, 2, 3})
	require.NoError(t, err)
	commands, err := channel.New[float64](seg, "commands", 4, 16)
	require.NoError(t, err)
	results, err := channel.New[float64](seg, "results", 4, 1)
	require.NoError(t, err)
	require.NoError(t, commands.Send([]float64{1, 2}))
	require.NoError(t, commands.Send([]float64{3.5}))
	require.NoError(t, commands.End())
	out, err = exec.Command(bin, name).Output()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "sent total=6.5 x0=2", strings.TrimSpace(string(out)))
	got, err := results.RecvNew()
	require.NoError(t, err)
	assert.Equal(t, []float64{6.5}, got)
}

// Python attaches read-only a segment Go made: it reads, and every write is
// refused with ReadOnlyError; and it opens Go's named semaphore and posts it
// while Go waits.
func TestPythonReadOnlyAndNamedSemaphore(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	seg, name := proctest.Segment(t, 1<<16)
	_, err := ctypes.NewValue[int64](seg, "v", 42)
	require.NoError(t, err)
	semName := proctest.Name(t)
	sem, err := semaphore.CreateNamed(semName, 0)
	require.NoError(t, err)
	defer func() { sem.Close(); semaphore.UnlinkNamed(semName) }()

	out, err := python(t, "-c", fmt.Sprintf(`
import shmkit
seg = shmkit.attach(%q, readonly=True)
v = seg.value("v")
print(v.value)
try:
    v.value = 1
except shmkit.ReadOnlyError:
    print("refused")
v.release()
seg.close()
s = shmkit.named_semaphore(%q)
s.release()
s.close()
`, name, "/"+semName)).Output()
	require.NoError(t, err)
	assert.Equal(t, "42\nrefused", strings.TrimSpace(string(out)))
	ok, err := sem.AcquireTimeout(time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "Python's release reached Go")
}
