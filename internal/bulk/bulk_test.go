package bulk_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/shmkit/shmkit/internal/bulk"
)

// Every routine copies every size exactly, from and to any alignment, and
// writes nothing past the shorter slice.
func TestCopy(t *testing.T) {
	bulk.EachMove(func(move string) {
		for _, n := range []int{0, 1, 7, 64, 127, 128, 129, 4095, 65536, 1 << 20, 3<<20 + 5} {
			for _, off := range []int{0, 3} {
				src := make([]byte, n+off)[off:]
				for i := range src {
					src[i] = byte(i*7 + 3)
				}
				for _, extra := range []int{0, 5} {
					dst := make([]byte, n+extra+off)[off:]
					for i := range dst {
						dst[i] = 0xEE
					}
					bulk.Copy(dst, src)
					if !bytes.Equal(dst[:n], src) {
						t.Fatalf("%s n=%d off=%d: copy differs", move, n, off)
					}
					for i := n; i < len(dst); i++ {
						if dst[i] != 0xEE {
							t.Fatalf("%s n=%d off=%d: byte %d past the end written", move, n, off, i)
						}
					}
					bulk.Copy(dst[:n/2], src) // a shorter destination bounds it
					if !bytes.Equal(dst[:n/2], src[:n/2]) {
						t.Fatalf("%s n=%d off=%d: short copy differs", move, n, off)
					}
				}
			}
		}
	})
}

func BenchmarkCopy(b *testing.B) {
	for _, n := range []int{64 << 10, 800_000} {
		src, dst := make([]byte, n), make([]byte, n)
		bulk.EachMove(func(move string) {
			b.Run(fmt.Sprintf("bulk-%s/%d", move, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					bulk.Copy(dst, src)
				}
			})
		})
		b.Run(fmt.Sprintf("go/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				copy(dst, src)
			}
		})
	}
}
