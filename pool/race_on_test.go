//go:build race

package pool_test

// raceEnabled: the race detector is on, and sees what only it can.
const raceEnabled = true
