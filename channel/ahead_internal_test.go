package channel

import "testing"

// TestAheadOf: the lines a producer asks for lie ownAheadLines lines on
// from the ones it writes, within the ring, wrapping round at its end, and
// none in a ring too small for it.
func TestAheadOf(t *testing.T) {
	const ahead = ownAheadLines * 64
	for _, lines := range []uint64{4*ownAheadLines - 1, 4 * ownAheadLines, 1025, 4100} {
		s := &spsc{cap: lines * 64}
		for at := uint64(0); at < s.cap; at += 8 {
			for _, n := range []uint64{8, 16, 24, 64, 72, 800} {
				from, got := s.aheadOf(at, n)
				if lines < 4*ownAheadLines {
					if got != 0 {
						t.Fatalf("ring of %d lines: %d lines asked for", lines, got)
					}
					continue
				}
				want := (at+n+63)/64 - at/64 // the lines the n bytes at at touch
				if from != (at+ahead)%s.cap/64*64 || got == 0 || got > want || from+got*64 > s.cap ||
					(got < want && from+got*64 != s.cap) {
					t.Fatalf("ring of %d lines, %d bytes at %d: lines from %d, %d of them; want from %d, %d (to the end at most)",
						lines, n, at, from, got, (at+ahead)%s.cap/64*64, want)
				}
			}
		}
	}
}
