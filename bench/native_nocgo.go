//go:build !cgo

package bench

// Without cgo there are no C workers: each C implementation reports
// ErrUnavailable.
const cgoWorkers = false
