// Package roles is the machinery of package process: the program's one
// table of worker roles, the environment that tells a copy of the program
// its role, and the command that starts such a copy. Package process is its
// user API; the tests' helpers and the benchmark start their copies with
// Command here.
package roles

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"

	"github.com/shmkit/shmkit/internal/errtext"
)

// Env carries a worker's role; NameEnv and IndexEnv its name and index.
const (
	Env      = "SHMKIT_PROCESS"
	NameEnv  = "SHMKIT_PROCESS_NAME"
	IndexEnv = "SHMKIT_PROCESS_INDEX"
)

// ErrUnknownRole is package process's: Start or Command with a role nobody
// registered in this program, which a started copy could not run either.
var ErrUnknownRole = errors.New("process: no worker function registered for this role")

// registry holds every role this program can be started in: the
// program's own (process.Main), its tests' helpers and the benchmark's
// workers register here, so one table answers for all of them.
var (
	registryMu sync.Mutex
	registry   = map[string]func(args []string) int{}
)

// Register adds role, whose body returns the worker's exit status. A role
// registered twice, or the empty role (the program itself), is a bug and
// panics.
func Register(role string, body func(args []string) int) {
	if role == "" {
		panic("process: the empty role is the program itself, not a worker's")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[role]; dup {
		panic("process: role " + role + " registered twice")
	}
	registry[role] = body
}

// Body is role's body, if it was registered.
func Body(role string) (func(args []string) int, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	body, ok := registry[role]
	return body, ok
}

// Command returns a command that runs this program as a worker in role
// with args, killed if ctx ends. Its standard error is this process's; the
// caller may set its input, output and extra files before starting it. A
// role this program never registered is ErrUnknownRole.
func Command(ctx context.Context, role string, args ...string) (*exec.Cmd, error) {
	if _, ok := Body(role); !ok {
		return nil, errtext.Errorf("%w: %q", ErrUnknownRole, role)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, errtext.Errorf("process: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), Env+"="+role)
	cmd.Stderr = os.Stderr
	return cmd, nil
}
