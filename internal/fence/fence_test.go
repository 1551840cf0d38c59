package fence

import (
	"sync/atomic"
	"testing"
	"unsafe"
)

func TestStoreReachesTheValue(t *testing.T) {
	var a atomic.Uint64
	if unsafe.Sizeof(a) != 8 {
		t.Fatalf("atomic.Uint64 is %d bytes: Store cannot address its value", unsafe.Sizeof(a))
	}
	Store(&a, 42)
	if a.Load() != 42 {
		t.Fatal("Store did not reach the value")
	}
}

func TestHeavyAfterRegister(t *testing.T) {
	if err := Register(); err != nil {
		t.Skipf("membarrier is not available here: %v", err)
	}
	if err := Heavy(); err != nil {
		t.Fatal(err)
	}
}

func TestStorePair(t *testing.T) {
	var a, b atomic.Uint64
	StorePair(&a, 1, &b, 2, false)
	if a.Load() != 0 || b.Load() != 2 {
		t.Fatalf("first false: %d %d", a.Load(), b.Load())
	}
	StorePair(&a, 3, &b, 4, true)
	if a.Load() != 3 || b.Load() != 4 {
		t.Fatalf("first true: %d %d", a.Load(), b.Load())
	}
}

func TestStore32(t *testing.T) {
	var a [2]uint32
	Store32(&a[1], 7)
	if a != [2]uint32{0, 7} {
		t.Fatalf("Store32 wrote %v", a)
	}
}
