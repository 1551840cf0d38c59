package pool

import (
	"fmt"
	"math"
	"reflect"
	"sync"
)

// A Task is a function registered under a name, which every copy of the
// program knows, so a worker can run it for the pool.
type Task[In, Out any] struct {
	name string
	in   codec[In]
	out  codec[Out]
}

// Name is the name the task was registered under.
func (t Task[In, Out]) Name() string { return t.name }

// handler runs one encoded input in a worker and appends its encoded result.
type handler func(dst, in []byte) ([]byte, error)

type registered struct {
	run     handler
	in, out reflect.Type
}

var (
	registryMu sync.Mutex
	tasks      = map[string]registered{}
	inits      = map[string]func(args []string) error{}
	// declaredInits: initializers that only workers in another language have.
	declaredInits = map[string]bool{}
)

// Register registers f as the task name, for every process of this
// program: call it at package level (var double = pool.Register(...)) or
// before process.Main, so workers know it too. In and Out must be able to
// cross between processes: []byte, strings, numbers, arrays and structs
// of them, slices of those, or types with encoding.BinaryMarshaler. A name
// registered twice or longer than 65,535 bytes, or a type that cannot
// cross, panics: all are mistakes in the program, found when it starts.
func Register[In, Out any](name string, f func(In) (Out, error)) Task[In, Out] {
	checkTaskName(name)
	in, err := codecFor[In]()
	if err != nil {
		panic(fmt.Sprintf("pool: register %q: %v", name, err))
	}
	out, err := codecFor[Out]()
	if err != nil {
		panic(fmt.Sprintf("pool: register %q: %v", name, err))
	}
	run := func(dst, b []byte) ([]byte, error) {
		v, err := in.dec(b)
		if err != nil {
			return dst, err
		}
		r, err := f(v)
		if err != nil {
			return dst, err
		}
		return out.enc(dst, r)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := tasks[name]; dup {
		panic("pool: task " + name + " registered twice")
	}
	tasks[name] = registered{run, reflect.TypeFor[In](), reflect.TypeFor[Out]()}
	return Task[In, Out]{name, in, out}
}

// Declare names a task that workers in another language serve (see
// WithWorkerCommand), with the Go types of its input and result; they
// cross as Register's do (a float64 is its 8 little-endian bytes, a
// []byte or string its bytes). A Go worker asked to run it answers with
// ErrUnknownTask.
func Declare[In, Out any](name string) Task[In, Out] {
	checkTaskName(name)
	in, err := codecFor[In]()
	if err != nil {
		panic(fmt.Sprintf("pool: declare %q: %v", name, err))
	}
	out, err := codecFor[Out]()
	if err != nil {
		panic(fmt.Sprintf("pool: declare %q: %v", name, err))
	}
	return Task[In, Out]{name, in, out}
}

// checkTaskName panics for a name longer than a task message's u16 of
// name length holds: cut to 16 bits, the rest of it would be read as the
// task's inputs.
func checkTaskName(name string) {
	if len(name) > math.MaxUint16 {
		panic(fmt.Sprintf("pool: a task name of %d bytes, more than %d", len(name), math.MaxUint16))
	}
}

// An Init is a registered initializer: what each worker runs once before
// its first task (Python's initializer and initargs).
type Init struct{ name string }

// RegisterInit registers f as the initializer name, as Register does for
// tasks. A worker whose initializer returns an error exits before it
// serves a task.
func RegisterInit(name string, f func(args []string) error) Init {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := inits[name]; dup {
		panic("pool: initializer " + name + " registered twice")
	}
	inits[name] = f
	return Init{name}
}

// DeclareInit names an initializer that workers in another language run
// (see WithWorkerCommand), as Declare names their tasks; a C worker's
// struct shmkit_pool_init, a Python worker's initializers. A Go worker
// asked to run it exits, as for any initializer it lacks.
func DeclareInit(name string) Init {
	registryMu.Lock()
	defer registryMu.Unlock()
	declaredInits[name] = true
	return Init{name}
}

func lookupTask(name string) (registered, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	r, ok := tasks[name]
	return r, ok
}

// knownInit: name was registered or declared.
func knownInit(name string) bool {
	registryMu.Lock()
	defer registryMu.Unlock()
	_, ok := inits[name]
	return ok || declaredInits[name]
}

func lookupInit(name string) (func([]string) error, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	f, ok := inits[name]
	return f, ok
}
