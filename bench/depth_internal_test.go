package bench

import (
	"testing"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// TestRingsEquallyDeep: shmkit's ring for W1 and W2 holds exactly depthFor
// messages, the depth every peer's ring is given; the C floor's ring, as
// the bench allocates it and as floor.c reads it, holds exactly as many
// for W1 and at least as many for W2 (a power of two of stamped slots).
func TestRingsEquallyDeep(t *testing.T) {
	proctest.NeedCgo(t, "the C floor")
	for _, elems := range []int{1, 100_000} {
		seg, _ := proctest.Segment(t, streamSegment(elems))
		if err := ring(seg, elems); err != nil {
			t.Fatal(err)
		}
		ch, err := channel.Open[float64](seg, "ch")
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]float64, elems)
		held := 0
		for {
			ok, err := ch.TrySend(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			held++
		}
		ch.Close()
		if want := depthFor(elems); held != want {
			t.Errorf("%d elements a message: shmkit's ring holds %d messages, depthFor says %d", elems, held, want)
		}
		fseg, _ := proctest.Segment(t, streamSegment(elems))
		if err := floorRing(fseg, elems); err != nil {
			t.Fatal(err)
		}
		obj, err := fseg.Lookup("ch")
		if err != nil {
			t.Fatal(err)
		}
		floor := floorRingHolds(obj.Length, elems)
		if floor < held || (elems > floorSmallMsg && floor != held) {
			t.Errorf("%d elements a message: the floor's ring holds %d messages, shmkit's %d", elems, floor, held)
		}
	}
}
