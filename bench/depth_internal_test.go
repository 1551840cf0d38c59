package bench

import (
	"testing"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// TestRingsEquallyDeep: shmkit's ring for W1 and W2 holds exactly depthFor
// messages, the depth every peer's ring is given, and the C floor's holds
// at least as many.
func TestRingsEquallyDeep(t *testing.T) {
	for _, elems := range []int{1, 100_000} {
		seg, _ := proctest.Segment(t, segmentFor(slotsFor(elems)*(8*elems+64)))
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
		if want := depthFor(elems); held != want {
			t.Errorf("%d elements a message: shmkit's ring holds %d messages, depthFor says %d", elems, held, want)
		}
		if floorCap(elems) < elems*held {
			t.Errorf("%d elements a message: the floor holds %d elements, fewer than %d messages", elems, floorCap(elems), held)
		}
		ch.Close()
	}
}
