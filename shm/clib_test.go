package shm_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

var (
	cBuildOnce sync.Once
	cBuildDir  string
	cBuildErr  error
)

// cBuild compiles the C library from cgo/ as two shared objects (two
// copies, as two libraries in one program have) and the C test programs in
// testdata/, once per test binary; it skips t without a C compiler.
func cBuild(t *testing.T) string {
	t.Helper()
	cBuildOnce.Do(func() {
		cc, err := exec.LookPath("cc")
		if err != nil {
			cBuildErr = err
			return
		}
		if cBuildDir, cBuildErr = os.MkdirTemp("", "shmkit-shm-c-"); cBuildErr != nil {
			return
		}
		obj := filepath.Join(cBuildDir, "shmkit.o")
		for _, args := range [][]string{
			{"-O2", "-Wall", "-Werror", "-fPIC", "-c", "-o", obj, "../cgo/shmkit.c"},
			// Two files: dlopen loads each once, with its own statics.
			{"-shared", "-o", filepath.Join(cBuildDir, "liba.so"), obj, "-lpthread"},
			{"-shared", "-o", filepath.Join(cBuildDir, "libb.so"), obj, "-lpthread"},
			{"-O2", "-Wall", "-Werror", "-I../cgo", "-o", filepath.Join(cBuildDir, "twolibs"), "testdata/twolibs.c", "-ldl", "-lpthread"},
			{"-O2", "-Wall", "-Werror", "-I../cgo", "-o", filepath.Join(cBuildDir, "lockword"), "testdata/lockword.c", obj, "-lpthread"},
		} {
			if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
				cBuildErr = fmt.Errorf("cc %v: %w\n%s", args, err, out)
				return
			}
		}
	})
	var notFound *exec.Error
	if errors.As(cBuildErr, &notFound) {
		t.Skipf("no C compiler: %v", cBuildErr)
	}
	require.NoError(t, cBuildErr)
	return cBuildDir
}

func removeCBuild() {
	if cBuildDir != "" {
		os.RemoveAll(cBuildDir)
	}
}

// Two copies of the C library in one process, two handles each, threads on
// every handle: before the lock word named a thread, a copy that found its
// process's pid there took the lock as left over while the other copy held
// it, and objects were lost.
func TestCLibrariesInOneProcessLoseNothing(t *testing.T) {
	dir := cBuild(t)
	const threads, each = 2, 200
	seg, name := proctest.Segment(t, 8<<20, shm.WithCapacity(4*threads*each))
	cmd := exec.CommandContext(t.Context(), filepath.Join(dir, "twolibs"), filepath.Join(dir, "liba.so"),
		filepath.Join(dir, "libb.so"), name, strconv.Itoa(threads), strconv.Itoa(each))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	checkAllocated(t, seg, []string{"c"}, 4, threads, each)
}
