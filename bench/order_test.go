package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunRotates: each round starts one implementation later, so every
// implementation runs first, and after each other one, in some round.
func TestRunRotates(t *testing.T) {
	var order []string
	impl := func(name string) Impl {
		return Impl{Name: name, run: func(context.Context, *Workload, int) (time.Duration, error) {
			order = append(order, name)
			return time.Millisecond, nil
		}}
	}
	w := &Workload{ID: "W0", Figure: Throughput, Count: 10, Impls: []Impl{impl("A"), impl("B"), impl("C")}}
	results := Run(context.Background(), []*Workload{w}, Options{Rounds: 4})
	if got, want := strings.Join(order, ""), "ABCBCACABABC"; got != want {
		t.Fatalf("runs in order %s, want %s", got, want)
	}
	for j, r := range results[0] {
		if r.Impl != w.Impls[j].Name || r.Rounds != 4 {
			t.Errorf("result %d is %s after %d rounds, want %s after 4", j, r.Impl, r.Rounds, w.Impls[j].Name)
		}
	}
}
