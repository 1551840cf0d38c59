package interop_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
)

// shmkit.h compiles as C99 and C11 with -pedantic-errors.
func TestHeaderCompilesAsC(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	src := filepath.Join(t.TempDir(), "h.c")
	require.NoError(t, os.WriteFile(src, []byte("#include \"shmkit.h\"\nint main(void) { return 0; }\n"), 0o644))
	for _, std := range []string{"c99", "c11"} {
		out, err := exec.Command(cc, "-std="+std, "-Wall", "-Wextra", "-Werror", "-pedantic-errors", "-fsyntax-only",
			"-I../cgo", src).CombinedOutput()
		assert.NoError(t, err, "%s: %s", std, out)
	}
}

// A C++ client built from shmkit.h, as C++11 and C++17, linked with the C
// library compiled as C, reads a value, locks a mutex and drains a channel
// that Go made, of each channel kind.
func TestCxxClient(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value (pthread mutex)")
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	obj := filepath.Join(dir, "shmkit.o")
	out, err := exec.Command(cc, "-O2", "-c", "-o", obj, "../cgo/shmkit.c").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, std := range []string{"c++11", "c++17"} {
		bin := filepath.Join(dir, "client-"+std)
		out, err := exec.Command(gxx, "-std="+std, "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic-errors", "-I../cgo",
			"-o", bin, "testdata/client.cpp", obj, "-lpthread").CombinedOutput()
		require.NoError(t, err, "%s: %s", std, out)
		for kind, opts := range channelKinds {
			t.Run(std+"/"+kind, func(t *testing.T) {
				seg, name := proctest.Segment(t, 1<<20)
				_, err := ctypes.NewValue(seg, "x", 2.5)
				require.NoError(t, err)
				_, err = semaphore.NewMutex(seg, "mu")
				require.NoError(t, err)
				ch, err := channel.New[float64](seg, "ch", 4, 3, opts...)
				require.NoError(t, err)
				for _, m := range [][]float64{{1, 2, 3}, {4}, {5, 6}} {
					require.NoError(t, ch.Send(m))
				}
				require.NoError(t, ch.End())
				out, err := exec.Command(bin, name).Output()
				require.NoError(t, err, "%s", out)
				assert.Equal(t, "lock=0 x=2.5 messages=3 sum=21 end=eof", strings.TrimSpace(string(out)))
			})
		}
	}
}
