//go:build race

package channel_test

// Under the race detector, streams are shortened: it slows Go code tenfold.
const raceEnabled = true
