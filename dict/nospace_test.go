package dict_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// exitNoMount is helperNoSpace's exit code when it may not mount a tmpfs.
const exitNoMount = 3

// underSmallTmpfs runs helper name in a mount namespace of its own, where
// /dev/shm is a new tmpfs of the given size, and returns its output; the
// test is skipped where mount namespaces are not allowed (not root).
func underSmallTmpfs(t *testing.T, name, size string) string {
	t.Helper()
	cmd := proctest.Command(t, name, size)
	// Go makes the new namespace's mounts private before exec, so the
	// tmpfs is seen by this helper only.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case err != nil && errors.Is(err, syscall.EPERM):
		t.Skipf("no mount namespace here: %v", err)
	case errors.As(err, &exit) && exit.ProcessState.ExitCode() == exitNoMount:
		t.Skipf("no tmpfs mount here: %s", stderr.String())
	case errors.As(err, &exit):
		ws := exit.ProcessState.Sys().(syscall.WaitStatus)
		require.False(t, ws.Signaled(), "the helper was killed by %v: %s", ws.Signal(), stderr.String())
		t.Fatalf("helper: %v: %s%s", err, out, stderr.String())
	case err != nil:
		t.Fatal(err)
	}
	return string(out)
}

// helperNoSpace mounts a tmpfs of args[0] bytes on /dev/shm (in its own
// mount namespace), fills a dict there until the file system is full, and
// checks that the error is shm.ErrNoSpace, that nothing stored was lost,
// and that deleting makes room again.
func helperNoSpace(args []string) int {
	if err := syscall.Mount("tmpfs", "/dev/shm", "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+args[0]); err != nil {
		fmt.Fprintln(os.Stderr, "mount:", err)
		return exitNoMount
	}
	seg, err := shm.Create("/nospace", 64<<10)
	if err != nil {
		return proctest.Fail("create: %v", err)
	}
	defer seg.Close()
	d, err := dict.New(seg, "full")
	if err != nil {
		return proctest.Fail("new: %v", err)
	}
	defer d.Close()
	value := func(i int) string { return strconv.Itoa(i) + strings.Repeat(".", 1500) }
	stored := 0
	for ; ; stored++ {
		err = d.Set("k"+strconv.Itoa(stored), value(stored))
		if err != nil {
			break
		}
	}
	if !errors.Is(err, shm.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		return proctest.Fail("set on a full tmpfs: %v, want shm.ErrNoSpace", err)
	}
	check := func(what string, want int) int {
		n, err := d.Len()
		if err != nil || n != want {
			return proctest.Fail("%s: len %d (%v), want %d", what, n, err, want)
		}
		for i := range stored {
			v, ok, err := d.Get("k" + strconv.Itoa(i))
			if err != nil || (ok && v != value(i)) || (!ok && i >= 10) {
				return proctest.Fail("%s: k%d is %.10q %v %v", what, i, v, ok, err)
			}
		}
		if _, ok, _ := d.Get("k" + strconv.Itoa(stored)); ok {
			return proctest.Fail("%s: the key whose set failed is there", what)
		}
		return 0
	}
	if check("after the failed set", stored) != 0 {
		return 1
	}
	// A value larger than all the room left, and a new dict, fail alike.
	if err := d.Set("huge", strings.Repeat("h", 4<<20)); !errors.Is(err, shm.ErrNoSpace) {
		return proctest.Fail("a 4 MiB value: %v, want shm.ErrNoSpace", err)
	}
	if _, err := dict.New(seg, "second"); !errors.Is(err, shm.ErrNoSpace) {
		return proctest.Fail("a second dict: %v, want shm.ErrNoSpace", err)
	}
	st, _ := d.Stats()
	if st.HeapBytes < 768<<10 {
		return proctest.Fail("the heap stopped at %d bytes with %d of the tmpfs's 1 MiB free", st.HeapBytes, (1<<20)-64<<10-st.HeapBytes)
	}
	// Space freed by deletions is used again though the tmpfs stays full.
	for i := range 10 {
		if _, err := d.Delete("k" + strconv.Itoa(i)); err != nil {
			return proctest.Fail("delete: %v", err)
		}
	}
	for i := range 5 {
		if err := d.Set("again"+strconv.Itoa(i), value(i)); err != nil {
			return proctest.Fail("set after deleting: %v", err)
		}
	}
	if check("after deleting 10 and adding 5", stored-5) != 0 {
		return 1
	}
	fmt.Printf("%d values of 1.5 KB, heap %d bytes\n", stored, st.HeapBytes)
	return 0
}

// A full tmpfs is an error, shm.ErrNoSpace, never a signal, and loses
// nothing stored: the helper runs with a 1 MiB tmpfs on /dev/shm, in a
// mount namespace of its own (the test runs as root only).
func TestFullTmpfs(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	out := underSmallTmpfs(t, "dict-nospace", "1m")
	t.Logf("a 1 MiB tmpfs held %s", out)
}
