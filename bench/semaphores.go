package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// W6: a semaphore handed back and forth between two processes.

const (
	roleSemPing  Role = "sem-ping"
	roleSemPong  Role = "sem-pong"
	roleCSemPing Role = "c-sem-ping"
	roleCSemPong Role = "c-sem-pong"
)

func init() {
	register(roleSemPing, semPing)
	register(roleSemPong, semPong)
}

func semaphoreWorkload() *Workload {
	return &Workload{ID: "W6", Title: "a semaphore handed back and forth", Count: 200_000, Figure: RoundTrip, Impls: []Impl{
		{Name: "shmkit", run: semPingPongRun(roleSemPing, roleSemPong)},
		{Name: "C", run: nativeRun(semPingPongRun(roleCSemPing, roleCSemPong))},
		{Name: "pipe", Div: 20, run: fdPingPongRun(true)},
		{Name: "python", Div: 40, run: pythonRun("sem")},
	}}
}

// openSems opens semaphores "a" and "b" of seg.
func openSems(seg *shm.Segment) (a, b *semaphore.Semaphore, err error) {
	if a, err = semaphore.Open(seg, "a"); err == nil {
		b, err = semaphore.Open(seg, "b")
	}
	return a, b, err
}

// semPing: args segment count. Posts a and waits for b, count times.
func semPing(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		a, b, err := openSems(seg)
		if err != nil {
			return "", err
		}
		ready()
		for range n[0] {
			if err := a.Release(); err != nil {
				return "", err
			}
			if err := b.Acquire(); err != nil {
				return "", err
			}
		}
		return itoa(n[0]), nil
	})
}

// semPong waits for a and posts b, count times.
func semPong(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		a, b, err := openSems(seg)
		if err != nil {
			return "", err
		}
		ready()
		for range n[0] {
			if err := a.Acquire(); err != nil {
				return "", err
			}
			if err := b.Release(); err != nil {
				return "", err
			}
		}
		return "0", nil
	})
}

// W6: two semaphores, posted in turn by two processes.
func semPingPongRun(ping, pong Role) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		seg, name, done, err := segment(segmentFor(4096))
		if err != nil {
			return 0, err
		}
		defer done()
		var sems []*semaphore.Semaphore
		for _, n := range []string{"a", "b"} {
			s, err := semaphore.New(seg, n, 0)
			if err != nil {
				return 0, err
			}
			sems = append(sems, s)
		}
		args := []string{name, itoa(count)}
		d, err := run(ctx, 0, itoa(count), workerSpec{role: ping, args: args}, workerSpec{role: pong, args: args})
		if err != nil {
			return 0, err
		}
		for _, s := range sems {
			if v, _ := s.Value(); v != 0 {
				return 0, fmt.Errorf("%w: semaphore left at %d", ErrChecksum, v)
			}
		}
		return d, nil
	}
}
