package pool_test

import (
	"slices"
	"testing"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
)

// BenchmarkMapTiny is W7a: 2 workers, f(x) = 2x over 100,000 inputs,
// results in order, one task per message (chunk=1) and Python's default
// chunk size (chunk=auto); it reports tasks/s.
func BenchmarkMapTiny(b *testing.B) {
	const tasks = 100_000
	in := inputs(tasks)
	for _, c := range []struct {
		name string
		size int
	}{{"chunk=1", 1}, {"chunk=auto", 0}} {
		b.Run(c.name, func(b *testing.B) {
			p, err := pool.New(pool.WithName(proctest.Name(b)), pool.WithWorkers(2), pool.WithChunkSize(c.size))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { p.Close(); p.Join() }()                                // workers exit, their profiles are written
			if _, err := pool.Map(b.Context(), p, double, in[:100]); err != nil { // workers up
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				out, err := pool.Map(b.Context(), p, double, in)
				if err != nil || out[tasks-1] != 2*(tasks-1) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tasks*b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

// BenchmarkImapTiny is W7a through the lazy iterators, one task per
// message: Imap (results in order) and ImapUnordered.
func BenchmarkImapTiny(b *testing.B) {
	const tasks = 100_000
	in := inputs(tasks)
	p, err := pool.New(pool.WithName(proctest.Name(b)), pool.WithWorkers(2))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { p.Close(); p.Join() }()
	if _, err := pool.Map(b.Context(), p, double, in[:100]); err != nil { // workers up
		b.Fatal(err)
	}
	b.Run("ordered", func(b *testing.B) {
		for b.Loop() {
			i := 0
			for v, err := range pool.Imap(b.Context(), p, double, slices.Values(in)) {
				if err != nil || v != 2*int64(i) {
					b.Fatal(i, v, err)
				}
				i++
			}
			if i != tasks {
				b.Fatal(i)
			}
		}
		b.ReportMetric(float64(tasks*b.N)/b.Elapsed().Seconds(), "tasks/s")
	})
	b.Run("unordered", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for r := range pool.ImapUnordered(b.Context(), p, double, slices.Values(in)) {
				if r.Err != nil || r.Value != 2*int64(r.Index) {
					b.Fatal(r)
				}
				n++
			}
			if n != tasks {
				b.Fatal(n)
			}
		}
		b.ReportMetric(float64(tasks*b.N)/b.Elapsed().Seconds(), "tasks/s")
	})
}
