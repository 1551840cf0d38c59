package segment

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// touchPages reads each page of a mapping; a file that another process
// truncated under it is ErrCorrupt, not a fault that kills the process.
func TestTouchPagesOfAShrunkFile(t *testing.T) {
	f, err := os.CreateTemp("/dev/shm", "shmkit-touch-test-")
	if err != nil {
		t.Skip(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := os.Getpagesize()
	if err := f.Truncate(int64(16 * page)); err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, 16*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := touchPages(mem, page); err != nil {
		t.Fatalf("a whole file: %v", err)
	}
	if err := f.Truncate(int64(page)); err != nil {
		t.Fatal(err)
	}
	if err := touchPages(mem, page); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a file shrunk to one page of 16: %v, want ErrCorrupt", err)
	}
}
