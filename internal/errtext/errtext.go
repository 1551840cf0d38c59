// Package errtext builds the module's wrapped errors so that their text
// names each layer once. A sentinel reads "shm: object not found" on its
// own; wrapped by its package's operation it would read
// "shm: lookup \"x\" in /seg: shm: object not found", and Errorf drops the
// second "shm: ".
package errtext

import (
	"fmt"
	"strings"
)

// layers are the package names that begin a layer of an error's text.
var layers = []string{"shm", "ctypes", "semaphore", "channel", "queue", "dict", "pool", "process"}

// Errorf is fmt.Errorf whose text keeps only the first mention of each
// layer; errors.Is and errors.As see the same chain as fmt.Errorf's.
func Errorf(format string, a ...any) error {
	err := fmt.Errorf(format, a...)
	text := err.Error()
	if once := Once(text); once != text {
		return &layered{text: once, err: err}
	}
	return err
}

// Once removes from text every "name: " of a layer it has named before.
func Once(text string) string {
	parts := strings.Split(text, ": ")
	kept := parts[:0]
	seen := map[string]bool{}
	for _, p := range parts {
		if isLayer(p) {
			if seen[p] {
				continue
			}
			seen[p] = true
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, ": ")
}

// Repeated is the first layer that text names twice, or "".
func Repeated(text string) string {
	seen := map[string]bool{}
	for _, p := range strings.Split(text, ": ") {
		if isLayer(p) {
			if seen[p] {
				return p
			}
			seen[p] = true
		}
	}
	return ""
}

func isLayer(s string) bool {
	for _, l := range layers {
		if s == l {
			return true
		}
	}
	return false
}

// layered is an error whose text was shortened; it unwraps to the error
// fmt.Errorf made, so the chain is unchanged.
type layered struct {
	text string
	err  error
}

func (e *layered) Error() string { return e.text }
func (e *layered) Unwrap() error { return e.err }
