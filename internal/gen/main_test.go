package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every generated file is what the generator makes from the sources now.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := render("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join("../..", f.path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s is out of date: run go generate ./internal/cbind", f.path)
		}
		if !strings.Contains(strings.SplitN(string(got), "\n", 2)[0], header) {
			t.Errorf("%s does not say on its first line that it is generated", f.path)
		}
	}
}

// A define's value loses its C suffixes, and a comment that goes on below
// its line is read to its end.
func TestDefines(t *testing.T) {
	defs := defines([]byte("#define SHMKIT_A (1ull << 23) /* one\n   two */\n#define SHMKIT_B 0x01u\n#define SHMKIT_C EPIPE /* closed */\n#define SHMKIT_H\n"))
	if d := defs["A"]; goValue(d) != "(1 << 23)" || d.comment != "one two" {
		t.Errorf("A: %q, %q", goValue(d), d.comment)
	}
	if d := defs["B"]; goValue(d) != "0x01" || d.comment != "" {
		t.Errorf("B: %q, %q", goValue(d), d.comment)
	}
	if d := defs["C"]; d.value != "EPIPE" || d.comment != "closed" {
		t.Errorf("C: %q, %q", d.value, d.comment)
	}
	if _, ok := defs["H"]; ok {
		t.Error("a define without a value is not a constant")
	}
}
