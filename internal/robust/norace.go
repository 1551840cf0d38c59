//go:build !race

package robust

// RaceAcquire marks, for the race detector, that a mutex was taken.
func RaceAcquire() {}

// RaceRelease marks that a mutex is about to be released.
func RaceRelease() {}
