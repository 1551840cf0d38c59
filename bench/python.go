package bench

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed seed.py
var seedPy []byte

// pythonRun runs the seed's Python program for kind and checks its
// checksum like the other implementations'.
func pythonRun(kind string) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		py, err := exec.LookPath("python3")
		if err != nil {
			return 0, fmt.Errorf("%w: no python3", ErrUnavailable)
		}
		dir, err := os.MkdirTemp("", "shmkit-bench-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		script := filepath.Join(dir, "seed.py")
		if err := os.WriteFile(script, seedPy, 0o644); err != nil {
			return 0, err
		}
		asked := count
		if kind == "counter" { // whole adds per process
			count = max(counterProcs, count-count%counterProcs)
		}
		cmd := exec.CommandContext(ctx, py, script, kind, itoa(count), itoa(max(w.Elems, 1)))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("python3 seed.py %s: %w", kind, err)
		}
		f := strings.Fields(string(out))
		if len(f) != 2 {
			return 0, fmt.Errorf("python3 seed.py %s: printed %q", kind, out)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		want := map[string]string{"stream": streamSum(count), "pingpong": pingSum(count), "counter": itoa(count),
			"sem": itoa(count)}[kind]
		if f[1] != want {
			return 0, fmt.Errorf("%w: python3 seed.py %s reported %s, expected %s", ErrChecksum, kind, f[1], want)
		}
		return time.Duration(ns) * time.Duration(asked) / time.Duration(count), nil
	}
}
