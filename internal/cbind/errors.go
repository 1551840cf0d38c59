package cbind

import "errors"

// ErrNoCgo: the program was built with CGO_ENABLED=0, and the operation
// needs the C library's process-shared primitives.
var ErrNoCgo = errors.New("shmkit: built without cgo; semaphores and mutexes need CGO_ENABLED=1")
