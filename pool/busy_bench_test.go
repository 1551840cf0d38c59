package pool_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/pool"
)

// busy spends about us microseconds of CPU and returns us.
var busy = pool.Register("bench.busy", func(us int) (int, error) {
	end := time.Now().Add(time.Duration(us) * time.Microsecond)
	for time.Now().Before(end) {
	}
	return us, nil
})

// BenchmarkMapBusy: 2 workers, 400 tasks of 150 µs of CPU each, one task
// per message, as W7b's sums are. On 2 CPUs the parent must leave them
// to the workers while it waits: it reports the parent's CPU per task
// beside the rate.
func BenchmarkMapBusy(b *testing.B) {
	const tasks = 400
	in := make([]int, tasks)
	for i := range in {
		in[i] = 150
	}
	p, err := pool.New(pool.WithName(proctest.Name(b)), pool.WithWorkers(2), pool.WithChunkSize(1))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { p.Close(); p.Join() }()
	if _, err := pool.Map(b.Context(), p, busy, in[:4]); err != nil {
		b.Fatal(err)
	}
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for b.Loop() {
		if _, err := pool.Map(b.Context(), p, busy, in); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(tasks*b.N)/b.Elapsed().Seconds(), "tasks/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(tasks*b.N), "parent-cpu-ns/task")
}
