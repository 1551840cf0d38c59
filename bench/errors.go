package bench

import "errors"

// Errors of this package, usable with errors.Is.
var (
	// ErrChecksum: the data that crossed was not the data sent.
	ErrChecksum = errors.New("bench: checksum mismatch")
	// ErrUnavailable: an implementation cannot run here (no python3, no cgo).
	ErrUnavailable = errors.New("bench: implementation unavailable")
	// ErrUnknown: no workload or worker of that name.
	ErrUnknown = errors.New("bench: unknown workload")
)
