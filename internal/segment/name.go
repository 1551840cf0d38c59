package segment

import (
	"strings"
	"unicode/utf8"

	"github.com/shmkit/shmkit/internal/errtext"
)

// Dir is where Linux keeps POSIX shared memory: shm_open("/foo") is the file
// Dir + "/foo".
const Dir = "/dev/shm"

// nameMax is NAME_MAX: the longest file name the kernel accepts.
const nameMax = 255

// PosixName returns the canonical POSIX name of a segment ("/foo") for a
// user's name ("foo" or "/foo"), exactly as Python's SharedMemory maps them.
func PosixName(name string) (string, error) {
	base := strings.TrimPrefix(name, "/")
	switch {
	case base == "" || base == "." || base == "..":
		return "", errtext.Errorf("%w: %q", ErrInvalidName, name)
	case strings.ContainsAny(base, "/\x00"):
		return "", errtext.Errorf("%w: %q holds '/' or NUL", ErrInvalidName, name)
	case len(base) > nameMax:
		return "", errtext.Errorf("%w: %d bytes, more than %d", ErrInvalidName, len(base), nameMax)
	}
	return "/" + base, nil
}

// path is the file behind a canonical POSIX name.
func path(posixName string) string { return Dir + posixName }

// checkObjectName validates a name for the object directory.
func checkObjectName(name string) error {
	switch {
	case name == "":
		return errtext.Errorf("%w: empty object name", ErrInvalidName)
	case len(name) > maxObjectName:
		return errtext.Errorf("%w: object name of %d bytes, more than %d", ErrInvalidName, len(name), maxObjectName)
	case strings.IndexByte(name, 0) >= 0:
		return errtext.Errorf("%w: object name %q holds NUL", ErrInvalidName, name)
	case !utf8.ValidString(name):
		return errtext.Errorf("%w: object name %q is not UTF-8 (C and Python read names as UTF-8)", ErrInvalidName, name)
	}
	return nil
}
