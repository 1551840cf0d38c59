package errtext

import (
	"errors"
	"io/fs"
	"testing"
)

func TestOnceAndRepeated(t *testing.T) {
	for text, want := range map[string]struct{ once, repeated string }{
		`channel: send on "q": channel: message longer`:   {`channel: send on "q": message longer`, "channel"},
		`shm: open /x: shm: not a shmkit segment`:         {`shm: open /x: not a shmkit segment`, "shm"},
		`ctypes: ctypes: type cannot be shared`:           {`ctypes: type cannot be shared`, "ctypes"},
		`queue: send on "q": channel: send on "q.0": shm`: {`queue: send on "q": channel: send on "q.0": shm`, ""},
		`channel: x: shmkit: y`:                           {`channel: x: shmkit: y`, ""},
	} {
		if got := Once(text); got != want.once {
			t.Errorf("Once(%q) = %q, want %q", text, got, want.once)
		}
		if got := Repeated(text); got != want.repeated {
			t.Errorf("Repeated(%q) = %q, want %q", text, got, want.repeated)
		}
	}
}

func TestErrorfKeepsTheChain(t *testing.T) {
	sentinel := errors.New("shm: object not found")
	err := Errorf("shm: lookup %q: %w (%w)", "x", sentinel, fs.ErrNotExist)
	if got, want := err.Error(), `shm: lookup "x": object not found (file does not exist)`; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if !errors.Is(err, sentinel) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v lost its chain", err)
	}
	var pe *fs.PathError
	err = Errorf("channel: open: %w", &fs.PathError{Op: "open", Path: "/p", Err: sentinel})
	if !errors.As(err, &pe) {
		t.Errorf("%v: errors.As lost the PathError", err)
	}
}
