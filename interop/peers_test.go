package interop_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
)

var helpers = map[string]proctest.Helper{"holdmutex": holdMutex, "holddict": holdDict, "queuesendbig": queueSendBig}

func TestMain(m *testing.M) { proctest.Main(m, helpers, removeBuilds) }

// A peer is a program in another language that speaks to Go through a
// segment: testdata/peer.c on the C library, testdata/peer.py on the
// Python package. Both take the same commands and print the same lines.
type peer struct {
	name    string
	command func(t *testing.T, args ...string) *exec.Cmd
}

var peers = []peer{{"C", cPeer}, {"Python", pyPeer}}

// eachPeer runs test once per peer, as a subtest named after it.
func eachPeer(t *testing.T, test func(t *testing.T, p peer)) {
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) { test(t, p) })
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func removeBuilds() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// build compiles the C peer and the shared library the Python package
// loads, once per test binary, from the sources in cgo/.
func build(t *testing.T) string {
	buildOnce.Do(func() {
		cc, err := exec.LookPath("cc")
		if err != nil {
			buildErr = err
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "shmkit-interop-"); buildErr != nil {
			return
		}
		for _, args := range [][]string{
			{"-O2", "-Wall", "-Werror", "-I../cgo", "-o", filepath.Join(buildDir, "peer"), "testdata/peer.c", "../cgo/shmkit.c", "-lpthread"},
			{"-O2", "-Wall", "-Werror", "-I../cgo", "-o", filepath.Join(buildDir, "poolworker"), "testdata/poolworker.c", "../cgo/shmkit.c", "-lpthread"},
			{"-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o", filepath.Join(buildDir, "libshmkit.so"), "../cgo/shmkit.c", "-lpthread"},
		} {
			if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("cc %v: %w\n%s", args, err, out)
				return
			}
		}
	})
	var notFound *exec.Error
	if errors.As(buildErr, &notFound) {
		t.Skipf("no C compiler: %v", buildErr)
	}
	require.NoError(t, buildErr)
	return buildDir
}

func cPeer(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(t.Context(), filepath.Join(build(t), "peer"), args...)
	cmd.Stderr = os.Stderr
	return cmd
}

func pyPeer(t *testing.T, args ...string) *exec.Cmd {
	return python(t, append([]string{"testdata/peer.py"}, args...)...)
}

// python runs python3 with args, the package on its path and the library
// built from cgo/ given to it.
func python(t *testing.T, args ...string) *exec.Cmd {
	dir := build(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	cmd := exec.CommandContext(t.Context(), py, args...)
	pkg, err := filepath.Abs("../python")
	require.NoError(t, err)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pkg, "SHMKIT_LIBRARY="+filepath.Join(dir, "libshmkit.so"))
	cmd.Stderr = os.Stderr
	return cmd
}

// run runs a peer command to completion and returns its trimmed output.
func run(t *testing.T, p peer, args ...string) string {
	t.Helper()
	out, err := p.command(t, args...).Output()
	require.NoError(t, err, "%s peer %v: %s", p.name, args, out)
	return strings.TrimSpace(string(out))
}

// running is a peer command in the background, read line by line.
type running struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
}

func start(t *testing.T, p peer, args ...string) *running {
	t.Helper()
	cmd := p.command(t, args...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &running{cmd, bufio.NewScanner(out)}
}

// expect reads the next line and checks it.
func (r *running) expect(t *testing.T, want string) {
	t.Helper()
	require.True(t, r.lines.Scan(), "peer ended before printing %q: %v", want, r.lines.Err())
	require.Equal(t, want, r.lines.Text())
}

// holdMutex locks mutex args[1] of segment args[0], says so, and waits to
// be killed.
func holdMutex(args []string) int {
	seg := proctest.OpenSegment(args[0])
	m, err := semaphore.OpenMutex(seg, args[1])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	if err := m.Lock(); err != nil {
		return proctest.Fail("lock: %v", err)
	}
	os.Stdout.WriteString("locked\n")
	for {
		time.Sleep(time.Hour)
	}
}
