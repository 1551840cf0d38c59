package bench

import (
	"errors"
	"testing"
)

// TestW7Checks: the checks W7's rows apply catch a misplaced result, and
// the checksums expected from pool.py and cpool.c are the sums they name.
func TestW7Checks(t *testing.T) {
	out := []int64{0, 2, 4, 6, 8}
	if err := checkDoubled(out); err != nil {
		t.Fatal(err)
	}
	out[1], out[2] = out[2], out[1]
	if err := checkDoubled(out); !errors.Is(err, ErrChecksum) {
		t.Fatalf("swapped results: %v, want ErrChecksum", err)
	}
	if got := tinyChecksum(5); got != "60" { // Σ i·2i for i < 5
		t.Fatalf("tinyChecksum(5) = %s", got)
	}
	if got := unorderedChecksum(5); got != "20" { // Σ 2i
		t.Fatalf("unorderedChecksum(5) = %s", got)
	}
	sums := []float64{arraySum(0), arraySum(1), arraySum(0)}
	if err := checkSums(sums, 2); err != nil {
		t.Fatal(err)
	}
	sums[2]++
	if err := checkSums(sums, 2); !errors.Is(err, ErrChecksum) {
		t.Fatalf("a wrong sum: %v, want ErrChecksum", err)
	}
	xs := make([]float64, arrayElems)
	for j := range xs {
		xs[j] = float64(3*arrayElems + j)
	}
	if sumOf(xs) != arraySum(3) {
		t.Fatalf("sum of array 3 is %v, arraySum(3) %v", sumOf(xs), arraySum(3))
	}
}
