//go:build race

package shm_test

// The race runtime reads memory in its own code, where a fault cannot be
// turned into a panic: the truncation race test runs without it.
const raceEnabled = true
