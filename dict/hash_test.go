package dict

import (
	"math/rand/v2"
	"testing"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/proctest"
)

// TestHashMatchesC: the Go reader finds a key's slot by the C library's
// hash, bit for bit, for every tag, every length up to 70 (every tail
// length after every number of 8-byte words) and long keys.
func TestHashMatchesC(t *testing.T) {
	proctest.NeedCgo(t, "the C library's hash")
	r := rand.New(rand.NewPCG(29, 1))
	key := make([]byte, 1<<20)
	for i := range key {
		key[i] = byte(r.Uint32())
	}
	checked := 0
	for tag := range 256 {
		if tag > tagRecord && tag != tagAbsent && tag != 128 {
			continue
		}
		for n := 0; n <= 70; n++ {
			for range 8 {
				off := r.IntN(len(key) - n)
				k := key[off : off+n]
				if got, want := keyHash(tag, k), cbind.DictHash(tag, k); got != want {
					t.Fatalf("tag %d, %d bytes %x: Go %#x, C %#x", tag, n, k, got, want)
				}
				checked++
			}
		}
		for _, n := range []int{127, 128, 129, 1000, 4096, 65537, len(key)} {
			if got, want := keyHash(tag, key[:n]), cbind.DictHash(tag, key[:n]); got != want {
				t.Fatalf("tag %d, %d bytes: Go %#x, C %#x", tag, n, got, want)
			}
			checked++
		}
	}
	for _, s := range []string{"", "a", "key0", "key2654435761", "é", "\x00\x00\x00\x00\x00\x00\x00\x00\x00"} {
		if got, want := keyHash(tagStr, []byte(s)), cbind.DictHash(tagStr, []byte(s)); got != want {
			t.Fatalf("%q: Go %#x, C %#x", s, got, want)
		}
		checked++
	}
	t.Logf("%d keys hash alike", checked)
}
