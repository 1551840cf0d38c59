package pool

import (
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"testing"
	"time"
)

type padded struct {
	A int8
	B float64
	C [3]int16
	D bool
}

type nested struct {
	P [2]padded
	S [16]byte
	Z complex64
}

// formatSize is the size Python's struct module gives a "<" format.
func formatSize(t *testing.T, f string) int {
	sizes := map[byte]int{'?': 1, 'b': 1, 'B': 1, 'x': 1, 's': 1, 'h': 2, 'H': 2, 'i': 4, 'I': 4, 'f': 4, 'q': 8, 'Q': 8, 'd': 8}
	total := 0
	for i := 0; i < len(f); {
		j := i
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		count := 1
		if j > i {
			count, _ = strconv.Atoi(f[i:j])
		}
		size, ok := sizes[f[j]]
		if !ok {
			t.Fatalf("%q: no code %q", f, f[j])
		}
		total += count * size
		i = j + 1
	}
	return total
}

// Each type's code, and for plain types a format as long as the Go value.
func TestTypeCode(t *testing.T) {
	for _, c := range []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[int64](), "<q"},
		{reflect.TypeFor[int](), "<q"},
		{reflect.TypeFor[uint16](), "<H"},
		{reflect.TypeFor[float32](), "<f"},
		{reflect.TypeFor[bool](), "<?"},
		{reflect.TypeFor[string](), "str"},
		{reflect.TypeFor[[]byte](), "bytes"},
		{reflect.TypeFor[[]float64](), "[]<d"},
		{reflect.TypeFor[[4]int32](), "<4i"},
		{reflect.TypeFor[padded](), "<b7xd3h?x"},
		{reflect.TypeFor[[]padded](), "[]<b7xd3h?x"},
		{reflect.TypeFor[nested](), "<b7xd3h?xb7xd3h?x16s2f"},
		{reflect.TypeFor[time.Time](), "binary"},
		{reflect.TypeFor[struct{}](), "<"},
		{reflect.TypeFor[map[string]int](), "unsupported"},
	} {
		got := typeCode(c.t)
		if got != c.want {
			t.Errorf("typeCode(%v) = %q, want %q", c.t, got, c.want)
			continue
		}
		if plain(c.t) {
			if n := formatSize(t, got[1:]); n != int(c.t.Size()) {
				t.Errorf("%v: format %q is %d bytes, the type %d", c.t, got, n, c.t.Size())
			}
		}
	}
}

// A copy of this test binary started in the task-list role prints every
// registered task (pool_test.go's) with its types.
func TestListRole(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), self)
	cmd.Env = append(os.Environ(), "SHMKIT_PROCESS="+listRole)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var l taskListing
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[string][2]string{}
	for _, tt := range l.Tasks {
		got[tt.Name] = [2]string{tt.In, tt.Out}
	}
	for name, want := range map[string][2]string{
		"double": {"<q", "<q"}, "sum": {"[]<d", "<d"}, "greet": {"str", "str"}, "echobytes": {"bytes", "bytes"}, "named": {"<q", "str"},
	} {
		if got[name] != want {
			t.Errorf("task %s: %v, want %v (listing %s)", name, got[name], want, out)
		}
	}
	if len(l.Inits) == 0 || l.Inits[0] != "failinit" {
		t.Errorf("inits %v", l.Inits)
	}
}
