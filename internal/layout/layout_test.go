package layout

import (
	"errors"
	"testing"
)

// buf is n bytes aligned for any layout struct (a []byte on the stack
// may be aligned to 1 only).
func buf(n int) []byte { return Bytes(make([]uint64, (n+7)/8))[:n] }

func panics(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

func TestAtChecksBoundsAndAlignment(t *testing.T) {
	b := buf(128)
	if At[uint64](b, 120) == nil {
		t.Fatal("the last word of b")
	}
	for _, off := range []uint64{121, 128, 1 << 63} {
		if panics(func() { At[uint64](b, off) }) == nil {
			t.Errorf("At[uint64](b, %d) of 128 bytes did not panic", off)
		}
	}
	if panics(func() { At[uint64](b, 4) }) == nil {
		t.Error("a misaligned uint64 did not panic")
	}
}

func TestAsRefusesShortObjects(t *testing.T) {
	if _, err := As[Semaphore](buf(63)); !errors.Is(err, ErrShort) {
		t.Errorf("As of 63 bytes: %v, want ErrShort", err)
	}
	if s, err := As[Semaphore](buf(64)); err != nil || s == nil {
		t.Errorf("As of 64 bytes: %v", err)
	}
}

func TestSliceChecksOverflow(t *testing.T) {
	b := buf(64)
	if got := len(Slice[uint32](b, 8, 14)); got != 14 {
		t.Fatalf("Slice: %d elements", got)
	}
	for _, c := range []struct{ off, n uint64 }{{8, 15}, {0, 1 << 62}, {65, 0x1}} {
		if panics(func() { Slice[uint32](b, c.off, c.n) }) == nil {
			t.Errorf("Slice(off %d, n %d) of 64 bytes did not panic", c.off, c.n)
		}
	}
}

func TestAlignUpAndDataStart(t *testing.T) {
	for _, c := range []struct{ in, want uint64 }{{0, 0}, {1, 64}, {64, 64}, {65, 128}} {
		if got, ok := AlignUp(c.in); !ok || got != c.want {
			t.Errorf("AlignUp(%d) = %d, %v", c.in, got, ok)
		}
	}
	if _, ok := AlignUp(^uint64(0) - 10); ok {
		t.Error("AlignUp near 2^64 did not report overflow")
	}
	if got := DataStart(64); got != 128+64*128 {
		t.Errorf("DataStart(64) = %d", got)
	}
}

func TestSlotStateRoundTrip(t *testing.T) {
	st := SlotState(1<<40+5, true, 1234) // the sequence is kept modulo 2^40
	if SlotSeq(st) != 5 || SlotOwner(st) != 1234 {
		t.Errorf("seq %d owner %d", SlotSeq(st), SlotOwner(st))
	}
	if SlotOwner(SlotState(7, false, 99)) != 0 {
		t.Error("a slot that is not busy has no owner")
	}
}

func TestCString(t *testing.T) {
	if s, ok := CString([]byte("ab\x00cd")); !ok || string(s) != "ab" {
		t.Errorf("CString = %q, %v", s, ok)
	}
	if _, ok := CString([]byte("abc")); ok {
		t.Error("no NUL, yet ok")
	}
}
