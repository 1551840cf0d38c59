package main

import (
	"context"
	"testing"
	"time"

	"github.com/shmkit/shmkit/pool"
)

func TestStartTime(t *testing.T) {
	for range 3 {
		t0 := time.Now()
		p, err := pool.New(pool.WithWorkers(1))
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		pool.Map(context.Background(), p, doCalculation, []int{1})
		t2 := time.Now()
		p.Close()
		p.Join()
		t.Log(t1.Sub(t0), t2.Sub(t1), time.Since(t2))
	}
}
