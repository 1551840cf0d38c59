package ctypes_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
)

var sinkF float64
var sinkI int64

func BenchmarkRawValue(b *testing.B) {
	seg, _ := newSeg(b)
	f, err := ctypes.NewRawValue[float64](seg, "f", 0)
	require.NoError(b, err)
	i, err := ctypes.NewRawValue[int64](seg, "i", 0)
	require.NoError(b, err)
	h, err := ctypes.NewRawValue[int16](seg, "h", 0)
	require.NoError(b, err)
	b.Run("op=Load/type=d", func(b *testing.B) {
		for b.Loop() {
			sinkF = f.Load()
		}
	})
	b.Run("op=Store/type=d", func(b *testing.B) {
		for b.Loop() {
			f.Store(1)
		}
	})
	b.Run("op=Add/type=q", func(b *testing.B) {
		for b.Loop() {
			i.Add(1)
		}
	})
	b.Run("op=Add/type=d", func(b *testing.B) {
		for b.Loop() {
			f.Add(1)
		}
	})
	b.Run("op=Add/type=h", func(b *testing.B) {
		for b.Loop() {
			h.Add(1)
		}
	})
}

func BenchmarkRawArray(b *testing.B) {
	seg, _ := newSeg(b)
	a, err := ctypes.NewRawArray[float64](seg, "a", 1024)
	require.NoError(b, err)
	b.Run("op=At", func(b *testing.B) {
		j := 0
		for b.Loop() {
			sinkF = a.At(j & 1023)
			j++
		}
	})
	b.Run("op=Set", func(b *testing.B) {
		j := 0
		for b.Loop() {
			a.Set(j&1023, 1)
			j++
		}
	})
}

func BenchmarkLockedValue(b *testing.B) {
	seg, _ := newSeg(b)
	v, err := ctypes.NewValue[int64](seg, "v", 0)
	require.NoError(b, err)
	b.Run("op=Get", func(b *testing.B) {
		for b.Loop() {
			sinkI, _ = v.Get()
		}
	})
	b.Run("op=Set", func(b *testing.B) {
		for b.Loop() {
			v.Set(1)
		}
	})
	b.Run("op=Update", func(b *testing.B) {
		for b.Loop() {
			sinkI, _ = v.Update(func(x int64) int64 { return x + 1 })
		}
	})
}

// BenchmarkSum sums 1e6 float64 through Slice(), beside a Go slice on the
// heap: the shared view costs nothing once made.
func BenchmarkSum(b *testing.B) {
	const n = 1_000_000
	seg, _ := newSeg(b)
	a, err := ctypes.NewRawArray[float64](seg, "a", n)
	require.NoError(b, err)
	heap := make([]float64, n)
	for i := range heap {
		heap[i] = float64(i)
	}
	a.CopyFrom(heap)
	sum := func(s []float64) float64 {
		t := 0.0
		for _, x := range s {
			t += x
		}
		return t
	}
	for _, c := range []struct {
		name string
		s    []float64
	}{{"impl=shared", a.Slice()}, {"impl=heap", heap}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(n * 8)
			for b.Loop() {
				sinkF = sum(c.s)
			}
		})
	}
}
