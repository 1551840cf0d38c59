package procs

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// Ids read from a segment that no process can have are never alive:
// kill(2) reads 0xFFFFFFFF as -1 and says "every process" exists.
func TestImpossibleIDsAreNotAlive(t *testing.T) {
	for _, id := range []uint32{0, MaxPID + 1, 1 << 31, 0xFFFFFFFE, 0xFFFFFFFF} {
		if Possible(id) || Alive(int(id)) {
			t.Errorf("id %#x: Possible %v, Alive %v; want neither", id, Possible(id), Alive(int(id)))
		}
	}
	for _, id := range []uint32{1, MaxPID, uint32(os.Getpid())} {
		if !Possible(id) {
			t.Errorf("id %d is not Possible", id)
		}
	}
	if !Alive(os.Getpid()) {
		t.Error("this process is not Alive")
	}
}

func TestProcessOfThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if got := ProcessOf(unix.Gettid()); got != os.Getpid() {
		t.Errorf("ProcessOf(this thread) = %d, want %d", got, os.Getpid())
	}
}
