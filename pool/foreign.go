package pool

import (
	"encoding"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/shmkit/shmkit/process"
)

// listRole is the process role in which a program prints its registered
// tasks, with their input and result types, and exits: how a driver in
// another language (Python's shmkit.Pool) learns what to encode before it
// starts any worker.
const listRole = "shmkit.pool.tasks"

func init() { process.Register(listRole, listTasks) }

// A taskListing is what listTasks prints, as JSON.
type taskListing struct {
	Tasks []taskType `json:"tasks"`
	Inits []string   `json:"inits"`
}

type taskType struct {
	Name string `json:"name"`
	In   string `json:"in"`
	Out  string `json:"out"`
}

func listTasks([]string) int {
	registryMu.Lock()
	var l taskListing
	for name, r := range tasks {
		l.Tasks = append(l.Tasks, taskType{name, typeCode(r.in), typeCode(r.out)})
	}
	for name := range inits {
		l.Inits = append(l.Inits, name)
	}
	registryMu.Unlock()
	sort.Slice(l.Tasks, func(i, j int) bool { return l.Tasks[i].Name < l.Tasks[j].Name })
	sort.Strings(l.Inits)
	if err := json.NewEncoder(os.Stdout).Encode(l); err != nil {
		fmt.Fprintln(os.Stderr, "pool:", err)
		return 1
	}
	return 0
}

// typeCode names how a value of t crosses, for a program in another
// language (docs/interop.md): "bytes" ([]byte), "str" (a string's UTF-8),
// "binary" (its MarshalBinary bytes), "<fmt" (a plain value as Python's
// struct module format fmt, padding written out), or "[]<fmt" (a slice of
// them). It follows codecFor's order of choice.
func typeCode(t reflect.Type) string {
	if t.Implements(reflect.TypeFor[encoding.BinaryMarshaler]()) &&
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.BinaryUnmarshaler]()) {
		return "binary"
	}
	switch {
	case t.Kind() == reflect.String:
		return "str"
	case plain(t):
		return "<" + structFormat(t)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return "bytes"
	case t.Kind() == reflect.Slice && plain(t.Elem()):
		return "[]<" + structFormat(t.Elem())
	}
	return "unsupported"
}

// structFormat is a plain type's memory as a struct module format,
// little-endian with no implied alignment: every padding byte is an "x".
func structFormat(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "?"
	case reflect.Int8:
		return "b"
	case reflect.Uint8:
		return "B"
	case reflect.Int16:
		return "h"
	case reflect.Uint16:
		return "H"
	case reflect.Int32:
		return "i"
	case reflect.Uint32:
		return "I"
	case reflect.Int, reflect.Int64:
		if t.Size() == 4 {
			return "i"
		}
		return "q"
	case reflect.Uint, reflect.Uint64:
		if t.Size() == 4 {
			return "I"
		}
		return "Q"
	case reflect.Float32:
		return "f"
	case reflect.Float64:
		return "d"
	case reflect.Complex64:
		return "2f" // real, imaginary
	case reflect.Complex128:
		return "2d"
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return strconv.Itoa(t.Len()) + "s"
		}
		elem := structFormat(t.Elem())
		if len(elem) == 1 {
			return strconv.Itoa(t.Len()) + elem
		}
		return strings.Repeat(elem, t.Len())
	case reflect.Struct:
		var b strings.Builder
		at := uintptr(0)
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Offset > at {
				b.WriteString(padding(f.Offset - at))
			}
			b.WriteString(structFormat(f.Type))
			at = f.Offset + f.Type.Size()
		}
		if t.Size() > at {
			b.WriteString(padding(t.Size() - at))
		}
		return b.String()
	}
	panic("pool: structFormat of " + t.String()) // plain(t) admits none other
}

func padding(n uintptr) string {
	if n == 1 {
		return "x"
	}
	return strconv.Itoa(int(n)) + "x"
}
