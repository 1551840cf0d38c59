package shm_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// attachPy attaches with SharedMemory without letting Python's resource
// tracker unlink the segment at exit (it does, before 3.13, for segments a
// process merely attached to).
const attachPy = `
import sys
from multiprocessing import shared_memory, resource_tracker
def attach(name, **kw):
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name, track=False, **kw)
    shm = shared_memory.SharedMemory(name, **kw)
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm
`

func python(t *testing.T, script string, args ...string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	cmd := exec.CommandContext(t.Context(), py, append([]string{"-c", attachPy + script}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err, "python3: %s", out)
	return strings.TrimSpace(string(out))
}

func TestPythonAttachesToGoSegment(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	obj, err := seg.Alloc(shm.Request{Name: "greeting", Kind: shm.KindBytes, Length: 64},
		func(mem []byte) error { copy(mem, "hello from Go"); return nil })
	require.NoError(t, err)

	out := python(t, `
shm = attach(sys.argv[1])
off = int(sys.argv[2])
print(bytes(shm.buf[off:off+13]).decode())
print(bytes(shm.buf[0:6]).decode())
shm.buf[off:off+16] = b"hello from Py\x00\x00\x00"
shm.close()
`, name, strconv.FormatUint(obj.Offset, 10))
	assert.Equal(t, "hello from Go\nSHMKIT", out)
	assert.Equal(t, "hello from Py", strings.TrimRight(string(obj.Bytes()[:16]), "\x00"))

	again, err := shm.Open(name)
	require.NoError(t, err, "the segment survives the Python process")
	again.Close()
}

func TestGoReadsPythonSegment(t *testing.T) {
	name := proctest.Name(t)
	python(t, `
shm = shared_memory.SharedMemory(sys.argv[1], create=True, size=4096)
resource_tracker.unregister(shm._name, "shared_memory")  # Go unlinks it
shm.buf[:17] = b"hello from Python"
shm.close()
`, name)
	fi, err := os.Stat("/dev/shm/" + name)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "Python creates 0600 too")

	raw, err := shm.OpenRaw(name)
	require.NoError(t, err)
	defer raw.Close()
	assert.Equal(t, 4096, raw.Size())
	assert.Equal(t, "hello from Python", string(raw.Bytes()[:17]))
	_, err = shm.Open(name)
	assert.ErrorIs(t, err, shm.ErrNotShmkit)
}
