package process

import (
	"errors"

	"github.com/shmkit/shmkit/internal/roles"
)

// Errors returned by this package, usable with errors.Is.
var (
	// ErrUnknownRole: Start with a role nobody registered in this program,
	// which a started copy could not run either.
	ErrUnknownRole = roles.ErrUnknownRole
	// ErrNotStarted: Wait, Signal or Kill on a Process that was never started.
	ErrNotStarted = errors.New("process: not started")
	// ErrStarted: Start on a Process already started (Python's "cannot start a process twice").
	ErrStarted = errors.New("process: already started")
	// ErrCount: StartAll of a negative number of workers.
	ErrCount = errors.New("process: a negative number of workers")
)
