package shm_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// A FIFO planted under a segment's name answered a read-only Open by
// hanging forever (open(2) of a FIFO waits for a writer). It is refused at
// once, in a helper process whose hang would fail the test.
func TestFIFORefusedAtOnce(t *testing.T) {
	name := proctest.Name(t)
	require.NoError(t, syscall.Mkfifo("/dev/shm/"+name, 0o600))
	for _, mode := range []string{"ro", "rw"} {
		out := proctest.Output(t, "openfifo", name, mode)
		assert.Equal(t, "refused: not shmkit", out, "mode %s", mode)
	}
}

func helperOpenFIFO(args []string) int {
	var opts []shm.OpenOption
	if args[1] == "ro" {
		opts = append(opts, shm.WithReadOnly())
	}
	done := make(chan error, 1)
	go func() {
		seg, err := shm.Open(args[0], opts...)
		if err == nil {
			seg.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if errors.Is(err, shm.ErrNotShmkit) {
			fmt.Println("refused: not shmkit")
		} else {
			fmt.Println("unexpected:", err)
		}
	case <-time.After(time.Minute): // a hang, not a timing: the open never returns
		fmt.Println("hung")
	}
	return 0
}

// With /dev/shm full, Create succeeded and the first write into the
// segment killed the process with SIGBUS. It is now ENOSPC from Create. The
// helper runs in a private mount namespace with a 1 MiB tmpfs on /dev/shm.
func TestFullDevShmIsENOSPC(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private tmpfs (unshare -m)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1)")
	}
	private := []string{unshare, "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /dev/shm && exec \"$0\" \"$@\""}
	if out, err := exec.Command(private[0], append(private[1:], "true")...).CombinedOutput(); err != nil {
		t.Skipf("no private tmpfs here: %v: %s", err, out)
	}
	cmd := proctest.Command(t, "fullshm", "shmkit-test-full")
	cmd.Args = append(append(private, cmd.Path), cmd.Args[1:]...)
	cmd.Path = unshare
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "create: ENOSPC\nsmall one works\n", string(out))
}

func helperFullShm(args []string) int {
	_, err := shm.Create(args[0], 8<<20) // eight times what the tmpfs holds
	if errors.Is(err, syscall.ENOSPC) {
		fmt.Println("create: ENOSPC")
	} else {
		fmt.Println("create:", err)
	}
	seg, err := shm.Create(args[0], 64<<10)
	if err != nil {
		return proctest.Fail("small create: %v", err)
	}
	clear(seg.Bytes()[4096:]) // every page is there: no SIGBUS
	seg.Close()
	shm.Unlink(args[0])
	fmt.Println("small one works")
	return 0
}

// A hostile process lowered the allocation cursor, and the next Alloc
// handed out the memory of a live object. The cursor is now checked
// against the directory: ErrCorrupt, and the live object keeps its bytes.
func TestLoweredCursorIsCorrupt(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	live, err := seg.Alloc(shm.Request{Name: "live", Kind: shm.KindBytes, Length: 256}, func(mem []byte) error {
		copy(mem, "keep me")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "lowered", proctest.Output(t, "lowercursor", name))
	_, err = seg.Alloc(shm.Request{Name: "new", Kind: shm.KindBytes, Length: 64}, func(mem []byte) error {
		copy(mem, "overwritten")
		return nil
	})
	assert.ErrorIs(t, err, shm.ErrCorrupt)
	assert.Equal(t, "keep me", string(live.Bytes()[:7]))
}

// helperLowerCursor sets segment args[0]'s allocation cursor back to the
// start of its data, as a hostile writer could.
func helperLowerCursor(args []string) int {
	seg, err := shm.OpenRaw(args[0])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer seg.Close()
	b := seg.Bytes()
	capacity := binary.LittleEndian.Uint32(b[24:])
	dataStart := (128 + 128*uint64(capacity) + 63) &^ 63
	binary.LittleEndian.PutUint64(b[32:], dataStart)
	fmt.Println("lowered")
	return 0
}

// A non-UTF-8 object name made in Go broke Python's objects() with a
// UnicodeDecodeError. Names are UTF-8 in every language: Go and C refuse
// others at creation, and a name changed into something else afterwards
// makes the directory corrupt, in Go, C and Python alike.
func TestObjectNamesAreUTF8(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	_, err := seg.Alloc(shm.Request{Name: "bad\xff", Kind: shm.KindBytes, Length: 8}, nil)
	assert.ErrorIs(t, err, shm.ErrInvalidName)
	_, err = seg.Alloc(shm.Request{Name: "température", Kind: shm.KindBytes, Length: 8}, nil)
	require.NoError(t, err, "UTF-8 beyond ASCII is fine")

	assert.Equal(t, "done", proctest.Output(t, "spoilname", name))
	_, err = seg.Objects()
	assert.ErrorIs(t, err, shm.ErrCorrupt)
}

// helperSpoilName overwrites the first byte of directory entry 0's name
// with 0xff, as a hostile writer could.
func helperSpoilName(args []string) int {
	seg, err := shm.OpenRaw(args[0])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer seg.Close()
	seg.Bytes()[128] = 0xff
	fmt.Println("done")
	return 0
}

// A file that another process truncates and restores while this one
// opens it killed Open with SIGBUS (reading the header or directory past
// the new end). A fault while reading metadata is now ErrCorrupt. A helper
// opens the segment in a loop while this process flips it.
func TestTruncationRacingOpen(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector a fault in its runtime is not recoverable")
	}
	seg, name := proctest.Segment(t, 1<<16)
	for i := range 8 {
		_, err := seg.Alloc(shm.Request{Name: fmt.Sprintf("o%d", i), Kind: shm.KindBytes, Length: 64}, nil)
		require.NoError(t, err)
	}
	meta := append([]byte(nil), seg.Bytes()[:16<<10]...)
	f, err := os.OpenFile("/dev/shm/"+name, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	stop := make(chan struct{})
	flipped := make(chan struct{})
	go func() {
		defer close(flipped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			f.Truncate(0)
			f.Truncate(1 << 16)
			f.WriteAt(meta, 0)
		}
	}()
	out, err := proctest.Command(t, "openloop", name, "3000").Output()
	close(stop)
	<-flipped
	require.NoError(t, err, "the opener must survive: %s", out)
	assert.Contains(t, string(out), "survived")
	t.Logf("%s", out)
}

func helperOpenLoop(args []string) int {
	n, _ := strconv.Atoi(args[1])
	counts := map[string]int{}
	for range n {
		seg, err := shm.Open(args[0])
		switch {
		case err == nil:
			_, err = seg.Lookup("o7")
			seg.Close()
			if err == nil {
				counts["ok"]++
			} else {
				counts["lookup "+fmt.Sprint(errors.Is(err, shm.ErrCorrupt))]++
			}
		case errors.Is(err, shm.ErrCorrupt):
			counts["corrupt"]++
		case errors.Is(err, shm.ErrNotShmkit):
			counts["not shmkit"]++
		default:
			counts["other"]++
		}
	}
	fmt.Println("survived", counts)
	return 0
}
