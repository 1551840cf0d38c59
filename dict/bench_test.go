package dict_test

import (
	"strconv"
	"sync"
	"testing"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/proctest"
)

// The W8 shapes: 100,000 distinct string keys with 8-byte integer
// values (set, then get), and a counter. Each reports ops/s and, for the
// table, the heap's bytes per key and the bytes in use per key.
const benchKeys = 100000

func benchMap(b *testing.B) *dict.Map[string, int64] {
	seg, _ := proctest.Segment(b, 1<<16)
	m, err := dict.NewMap[string, int64](seg, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Unlink(); m.Close() })
	return m
}

func keys() []string {
	ks := make([]string, benchKeys)
	for i := range ks {
		ks[i] = "key" + strconv.Itoa(i)
	}
	return ks
}

func reportSpace(b *testing.B, m *dict.Map[string, int64]) {
	st, err := m.Stats()
	if err != nil {
		b.Fatal(err)
	}
	if st.Len > 0 {
		b.ReportMetric(float64(st.HeapBytes)/float64(st.Len), "heap-B/key")
		b.ReportMetric(float64(st.UsedBytes)/float64(st.Len), "used-B/key")
	}
}

func BenchmarkSet(b *testing.B) {
	m := benchMap(b)
	ks := keys()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := m.Set(ks[i%benchKeys], int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	reportSpace(b, m)
}

// filledMap is a map of benchKeys keys, key i holding i, and its keys.
func filledMap(b *testing.B) (*dict.Map[string, int64], []string) {
	m := benchMap(b)
	ks := keys()
	for i, k := range ks {
		if err := m.Set(k, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	return m, ks
}

func BenchmarkGet(b *testing.B) {
	m, ks := filledMap(b)
	for i := 0; b.Loop(); i++ {
		if _, ok, err := m.Get(ks[i%benchKeys]); err != nil || !ok {
			b.Fatal(err, ok)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	reportSpace(b, m)
}

// BenchmarkCounter: two goroutines add 1 to one key (in this process;
// TestFiveProcessesIncrementYear runs the same across processes).
func BenchmarkCounter(b *testing.B) {
	m := benchMap(b)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/2 + 1
	for range 2 {
		wg.Go(func() {
			for range per {
				if _, err := m.Add("counter", 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(2*per)/b.Elapsed().Seconds(), "ops/s")
	if v, _, _ := m.Get("counter"); v != int64(2*per) {
		b.Fatalf("counter %d, want %d", v, 2*per)
	}
}

// BenchmarkGetParallel: Gets from as many goroutines as -cpu says, on one
// handle (the handle's read lock is the one word they share).
func BenchmarkGetParallel(b *testing.B) {
	m, ks := filledMap(b)
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, ok, err := m.Get(ks[i*7919%benchKeys]); err != nil || !ok {
				b.Error(err, ok)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkCounterProcesses: 2 and 4 processes (as many as, and more than,
// the build machine's CPUs) add 1 to one key, b.N adds in all, each
// process started after the timer (its start-up is timed too: a few
// milliseconds against the adds' tenths of a second). The counter must be
// exact.
func BenchmarkCounterProcesses(b *testing.B) {
	proctest.NeedCgo(b, "the shared dict (the C library)")
	for _, procs := range []int{2, 4} {
		b.Run("procs="+strconv.Itoa(procs), func(b *testing.B) {
			seg, name := proctest.Segment(b, 1<<16)
			m, err := dict.NewMap[string, int64](seg, "d")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Unlink(); m.Close() })
			if err := m.Set("year", 0); err != nil {
				b.Fatal(err)
			}
			each := b.N/procs + 1
			b.ResetTimer()
			var wg sync.WaitGroup
			goAdds := make([]string, procs)
			for i := range procs {
				wg.Go(func() { goAdds[i] = proctest.Output(b, "dict-year", name, "d", strconv.Itoa(each), "add") })
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(procs*each)/b.Elapsed().Seconds(), "ops/s")
			inGo := 0
			for _, s := range goAdds {
				n, _ := strconv.Atoi(s)
				inGo += n
			}
			b.ReportMetric(100*float64(inGo)/float64(procs*each), "%inGo") // the rest went to C: the lock was held
			if v, _, _ := m.Get("year"); v != int64(procs*each) {
				b.Fatalf("counter %d, want %d", v, procs*each)
			}
		})
	}
}

// BenchmarkAdd: one goroutine adds to one key, with no other writer: the
// CPU time of an add in one process.
func BenchmarkAdd(b *testing.B) {
	m := benchMap(b)
	for b.Loop() {
		if _, err := m.Add("counter", 1); err != nil {
			b.Fatal(err)
		}
	}
}
