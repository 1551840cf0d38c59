package semaphore_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// A C program that waits on a named semaphore once and posts it twice
// (argv[2] == "post-only": only posts once).
const namedC = `
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
	sem_t *s = sem_open(argv[1], 0);
	if (s == SEM_FAILED) { perror("sem_open"); return 2; }
	if (argc > 2 && strcmp(argv[2], "post-only") == 0) return sem_post(s) != 0;
	if (sem_wait(s) != 0 || sem_post(s) != 0 || sem_post(s) != 0) { perror("sem"); return 3; }
	int v; sem_getvalue(s, &v);
	printf("%d\n", v);
	return sem_close(s);
}
`

// The same in Python, through ctypes and libc.
const namedPy = `
import ctypes, ctypes.util, sys
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
libc.sem_open.restype = ctypes.c_void_p
libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int]
s = libc.sem_open(sys.argv[1].encode(), 0)
if not s or s == ctypes.c_void_p(-1).value:
    sys.exit("sem_open: errno %d" % ctypes.get_errno())
p = ctypes.c_void_p(s)
if len(sys.argv) > 2:
    sys.exit(libc.sem_post(p))
assert libc.sem_wait(p) == 0 and libc.sem_post(p) == 0 and libc.sem_post(p) == 0
v = ctypes.c_int()
libc.sem_getvalue(p, ctypes.byref(v))
print(v.value)
libc.sem_close(p)
`

func namedName(t *testing.T) string {
	name := proctest.Name(t)
	t.Cleanup(func() { semaphore.UnlinkNamed(name) })
	return name
}

func TestNamedSemaphore(t *testing.T) {
	proctest.NeedCgo(t, "a named semaphore (sem_open)")
	name := namedName(t)
	sem, err := semaphore.CreateNamed(name, 1)
	require.NoError(t, err)
	defer sem.Close()
	assert.Equal(t, "/"+name, sem.Name())
	fi, err := os.Stat("/dev/shm/sem." + name)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())

	_, err = semaphore.CreateNamed(name, 1)
	assert.ErrorIs(t, err, fs.ErrExist)

	// The mode is set exactly, whatever the umask.
	shared := namedName(t)
	old := syscall.Umask(0o077)
	wide, err := semaphore.CreateNamed(shared, 0, semaphore.WithNamedMode(0o660))
	syscall.Umask(old)
	require.NoError(t, err)
	defer wide.Close()
	fi, err = os.Stat("/dev/shm/sem." + shared)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o660), fi.Mode().Perm())
	_, err = semaphore.OpenNamed(proctest.Name(t))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = semaphore.OpenNamed("a/b")
	assert.Error(t, err)

	other, err := semaphore.OpenNamed(name)
	require.NoError(t, err)
	ok, err := other.TryAcquire()
	require.NoError(t, err)
	assert.True(t, ok)
	require.NoError(t, other.Close())
	assert.Error(t, other.Close())
	_, err = other.TryAcquire()
	assert.Error(t, err, "closed")
	require.NoError(t, sem.Release())
}

// runPeer compiles (for C) and runs a peer program against semaphore name.
func runPeer(t *testing.T, lang, name string, args ...string) *exec.Cmd {
	t.Helper()
	var cmd *exec.Cmd
	switch lang {
	case "c":
		cc, err := exec.LookPath("cc")
		if err != nil {
			t.Skip("no C compiler")
		}
		dir := t.TempDir()
		src := filepath.Join(dir, "peer.c")
		require.NoError(t, os.WriteFile(src, []byte(namedC), 0o644))
		out, err := exec.Command(cc, "-o", filepath.Join(dir, "peer"), src, "-lpthread").CombinedOutput()
		require.NoError(t, err, "%s", out)
		cmd = exec.Command(filepath.Join(dir, "peer"), append([]string{"/" + name}, args...)...)
	case "python":
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("no python3")
		}
		cmd = exec.Command(py, append([]string{"-c", namedPy, "/" + name}, args...)...)
	}
	cmd.Stderr = os.Stderr
	return cmd
}

func TestNamedSemaphoreWithPeers(t *testing.T) {
	proctest.NeedCgo(t, "a named semaphore (sem_open)")
	for _, lang := range []string{"c", "python"} {
		t.Run(lang, func(t *testing.T) {
			name := namedName(t)
			sem, err := semaphore.CreateNamed(name, 1)
			require.NoError(t, err)
			defer sem.Close()

			// The peer acquires once and releases twice: 1 - 1 + 2 = 2.
			out, err := runPeer(t, lang, name).Output()
			require.NoError(t, err)
			assert.Equal(t, "2", strings.TrimSpace(string(out)))
			v, err := sem.Value()
			require.NoError(t, err)
			assert.Equal(t, 2, v)

			// A Go waiter is woken by the peer's release.
			require.NoError(t, sem.Acquire())
			require.NoError(t, sem.Acquire())
			woken := make(chan error)
			go func() {
				ok, err := sem.AcquireTimeout(time.Minute)
				if err == nil && !ok {
					err = os.ErrDeadlineExceeded
				}
				woken <- err
			}()
			require.NoError(t, runPeer(t, lang, name, "post-only").Run())
			require.NoError(t, <-woken)
		})
	}
}

// helperOpenNamed opens named semaphore args[0], reads its value and
// prints what came of it: "value N" or "error: …" (ErrCorrupt or not).
func helperOpenNamed(args []string) int {
	s, err := semaphore.OpenNamed(args[0])
	if err == nil {
		var v int
		if v, err = s.Value(); err == nil {
			fmt.Println("value", v)
		}
		s.Close()
	}
	if err != nil {
		fmt.Printf("error: corrupt=%v: %v\n", errors.Is(err, shm.ErrCorrupt), err)
	}
	return 0
}

// TestOpenNamedTooShort: a file named as a semaphore that is shorter than
// one (empty, or a few bytes another program wrote) is ErrCorrupt at open;
// before, the process that opened it died of SIGBUS at its first use.
func TestOpenNamedTooShort(t *testing.T) {
	proctest.NeedCgo(t, "sem_open")
	for _, size := range []int{0, 7} {
		name := namedName(t)
		require.NoError(t, os.WriteFile("/dev/shm/sem."+name, make([]byte, size), 0o600))
		out, err := proctest.Command(t, "opennamed", name).Output()
		require.NoError(t, err, "a %d-byte semaphore file killed its opener: %s", size, out)
		assert.Contains(t, string(out), "error: corrupt=true", "%d bytes", size)
	}
	name := namedName(t) // a real one still opens
	s, err := semaphore.CreateNamed(name, 2)
	require.NoError(t, err)
	defer s.Close()
	out, err := proctest.Command(t, "opennamed", name).Output()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "value 2\n", string(out))
}

// helperNamedOps opens named semaphore args[0] and calls each of its
// methods, printing for each whether it was shm.ErrCorrupt.
func helperNamedOps(args []string) int {
	s, err := semaphore.OpenNamed(args[0])
	if err != nil {
		fmt.Printf("open: corrupt=%v\n", errors.Is(err, shm.ErrCorrupt))
		return 0
	}
	defer s.Close()
	_, err = s.Value()
	fmt.Printf("value: corrupt=%v\n", errors.Is(err, shm.ErrCorrupt))
	_, err = s.TryAcquire()
	fmt.Printf("tryacquire: corrupt=%v\n", errors.Is(err, shm.ErrCorrupt))
	_, err = s.AcquireTimeout(10 * time.Millisecond)
	fmt.Printf("acquiretimeout: corrupt=%v\n", errors.Is(err, shm.ErrCorrupt))
	err = s.Release()
	fmt.Printf("release: corrupt=%v\n", errors.Is(err, shm.ErrCorrupt))
	return 0
}

// TestScribbledNamedSemaphore: a named semaphore's file overwritten by
// another process with what glibc never leaves there (a value past
// SEM_VALUE_MAX, a futex flag word that is not a shared semaphore's) is
// ErrCorrupt to every call of a process that opens it, which lives on.
// Before, glibc aborted the process ("The futex facility returned an
// unexpected error code", SIGABRT) at its Release, after reading a value
// of -1 and taking units that were not there.
func TestScribbledNamedSemaphore(t *testing.T) {
	proctest.NeedCgo(t, "sem_open")
	for _, pattern := range [][]byte{
		bytes.Repeat([]byte{0xff}, 32),                        // everything
		append([]byte{0, 0, 0, 0x80, 0, 0, 0, 0}, 0, 0, 0, 0), // a value of 2^31
		{1, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},      // a value of 1, a waiter, a bad flag word
	} {
		name := namedName(t)
		s, err := semaphore.CreateNamed(name, 1)
		require.NoError(t, err)
		s.Close()
		f, err := os.OpenFile("/dev/shm/sem."+name, os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(pattern, 0)
		f.Close()
		require.NoError(t, err)
		out, err := proctest.Command(t, "namedops", name).Output()
		require.NoError(t, err, "pattern % x killed the process: %s", pattern, out)
		assert.NotContains(t, string(out), "corrupt=false", "pattern % x", pattern)
		assert.Contains(t, string(out), "corrupt=true", "pattern % x", pattern)
	}
}
