package bulk_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/shmkit/shmkit/internal/bulk"
)

func TestCopy(t *testing.T) {
	for _, n := range []int{0, 1, 7, 64, 4095, 65536, 1 << 20, 3<<20 + 5} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i*7 + 3)
		}
		for _, extra := range []int{0, 5} {
			dst := make([]byte, n+extra)
			for i := range dst {
				dst[i] = 0xEE
			}
			bulk.Copy(dst, src)
			if !bytes.Equal(dst[:n], src) {
				t.Fatalf("n=%d: copy differs", n)
			}
			for i := n; i < len(dst); i++ {
				if dst[i] != 0xEE {
					t.Fatalf("n=%d: byte %d past the end written", n, i)
				}
			}
			bulk.Copy(dst[:n/2], src) // a shorter destination bounds it
			if !bytes.Equal(dst[:n/2], src[:n/2]) {
				t.Fatalf("n=%d: short copy differs", n)
			}
		}
	}
}

func BenchmarkCopy(b *testing.B) {
	for _, n := range []int{64 << 10, 800_000} {
		src, dst := make([]byte, n), make([]byte, n)
		b.Run(fmt.Sprintf("bulk/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				bulk.Copy(dst, src)
			}
		})
		b.Run(fmt.Sprintf("go/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				copy(dst, src)
			}
		})
	}
}
