package pool_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
)

// A program whose main never dispatches: its workers run main again. Each
// refuses to make a pool (ErrNoDispatch) and exits, so the parent's map
// fails with ErrWorkerStart; before the refusal every worker started a
// pool of its own, without end.
func TestProgramWithoutDispatch(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := filepath.Join(t.TempDir(), "nodispatch")
	out, err := exec.Command(goTool, "build", "-o", bin, "./testdata/nodispatch").CombinedOutput()
	require.NoError(t, err, "%s", out)
	cmd := exec.CommandContext(t.Context(), bin, proctest.Name(t))
	out, _ = cmd.CombinedOutput()
	assert.Contains(t, string(out), "New: pool: started as a pool worker, but main did not call process.Dispatch first")
	assert.Contains(t, string(out), "Map: pool: 3 tasks failed; pool: task 0: pool: workers exit before serving a task")
}
