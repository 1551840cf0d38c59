//go:build !cgo

package bench

// Without cgo there are no C workers: each C implementation reports
// ErrUnavailable.
const cgoWorkers = false

// floorRingHolds is 0: there is no C floor.
func floorRingHolds(uint64, int) int { return 0 }
