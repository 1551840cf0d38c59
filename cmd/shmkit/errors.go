package main

import (
	"errors"
	"fmt"
)

// errUsage marks a wrong command line: the command exits 2 and points to
// its --help.
var errUsage = errors.New("see --help")

// errNoSegment: a segment named on the command line is not in /dev/shm.
var errNoSegment = errors.New("no such segment")

// usagef is a wrong command line's error.
func usagef(format string, args ...any) error {
	return fmt.Errorf(format+" (%w)", append(args, errUsage)...)
}
