package bench

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// W8's peers: Boost.Interprocess, LMDB and Redis through programs of
// their own (kv/), compiled on first use like boost/peers.cpp, and
// Python (w8.py).

var (
	//go:embed kv/w8.h
	kvHeader []byte
	//go:embed kv/boost_map.cpp
	boostMapSource []byte
	//go:embed kv/lmdb.c
	lmdbSource []byte
	//go:embed kv/redis.c
	redisSource []byte
	//go:embed w8.py
	w8Py []byte
)

var (
	boostMapBuild = sync.OnceValues(peerSource{name: "w8-boost-map", compiler: "g++",
		files: map[string][]byte{"boost_map.cpp": boostMapSource, "w8.h": kvHeader}, main: "boost_map.cpp",
		flags: []string{"-O2", "-std=c++17"}, libs: []string{"-lpthread", "-lrt"},
		needs: map[string]string{"boost/": "libboost-dev"}}.build)
	lmdbBuild = sync.OnceValues(peerSource{name: "w8-lmdb", compiler: "cc",
		files: map[string][]byte{"lmdb.c": lmdbSource, "w8.h": kvHeader}, main: "lmdb.c",
		flags: []string{"-O2"}, libs: []string{"-llmdb"},
		needs: map[string]string{"lmdb.h": "liblmdb-dev", "-llmdb": "liblmdb-dev"}}.build)
	redisBuild = sync.OnceValues(peerSource{name: "w8-redis", compiler: "cc",
		files: map[string][]byte{"redis.c": redisSource, "w8.h": kvHeader}, main: "redis.c",
		flags: []string{"-O2"}, libs: []string{"-lhiredis"},
		needs: map[string]string{"hiredis/": "libhiredis-dev", "-lhiredis": "libhiredis-dev"}}.build)
)

// peerWorker makes the specs of a compiled peer's workers.
func peerWorker(prog string) func(op string, args ...string) workerSpec {
	return func(op string, args ...string) workerSpec {
		return workerSpec{role: Role(op), args: args, prog: prog}
	}
}

// boostMapStore is a boost::unordered_map in a fresh managed_shared_memory
// segment.
func boostMapStore(ctx context.Context) (*kvStore, error) {
	prog, err := boostMapBuild()
	if err != nil {
		return nil, err
	}
	name, unlink := boostName("-map")
	if err := boostSetup(ctx, prog, "setup", name); err != nil {
		unlink()
		return nil, err
	}
	return &kvStore{target: name, worker: peerWorker(prog), close: unlink}, nil
}

// lmdbStore is a fresh LMDB environment in a directory on tmpfs, where
// shmkit's dicts live too.
func lmdbStore(ctx context.Context) (*kvStore, error) {
	prog, err := lmdbBuild()
	if err != nil {
		return nil, err
	}
	parent := "/dev/shm"
	if _, err := os.Stat(parent); err != nil {
		parent = ""
	}
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("shmkit-bench-lmdb-%d-", os.Getpid()))
	if err != nil {
		return nil, err
	}
	return &kvStore{target: dir, worker: peerWorker(prog), close: func() { os.RemoveAll(dir) }}, nil
}

// redisStore is a redis-server of this run's own, listening on a Unix
// socket in a private directory only, saving nothing; close kills it.
func redisStore(ctx context.Context) (*kvStore, error) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w: no redis-server (apt-get install redis-server)", ErrUnavailable)
	}
	prog, err := redisBuild()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "shmkit-bench-redis-")
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.CommandContext(ctx, server, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", "", "--daemonize", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) }
	// A server that neither starts nor fails is stopped, which ends its log.
	hung := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer hung.Stop()
	log := bufio.NewReader(out)
	var said []string
	for {
		line, err := log.ReadString('\n')
		if err != nil {
			stop()
			return nil, fmt.Errorf("redis-server did not start: %s", strings.Join(said, ""))
		}
		said = append(said, line)
		// "Ready to accept connections" (7.2), "ready to accept connections at SOCKET" (7.0)
		if strings.Contains(strings.ToLower(line), "ready to accept connections") {
			break
		}
	}
	go io.Copy(io.Discard, log) // the server must never block on its log
	return &kvStore{target: sock, worker: peerWorker(prog), close: stop}, nil
}

// managerStore runs w8.py's Manager row: the script starts the Manager
// and, for the counter, its own two processes.
func managerStore(ctx context.Context) (*kvStore, error) {
	py, err := pythonWorker(ctx, "manager")
	if err != nil {
		return nil, err
	}
	return &kvStore{target: "-", worker: py.worker, oneWorker: true, close: py.close}, nil
}

// A pyWorker starts w8.py's workers for one row.
type pyWorker struct {
	worker func(op string, args ...string) workerSpec
	close  func()
}

// pythonWorker writes w8.py to a temporary directory for one run of row
// ("dict" or "manager").
func pythonWorker(ctx context.Context, row string) (*pyWorker, error) {
	py, pkg, err := pythonShmkit()
	if err != nil && row == "dict" {
		return nil, err
	}
	if py == "" {
		return nil, fmt.Errorf("%w: no python3", ErrUnavailable)
	}
	dir, err := os.MkdirTemp("", "shmkit-bench-")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "w8.py")
	if err := os.WriteFile(script, w8Py, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &pyWorker{
		worker: func(op string, args ...string) workerSpec {
			return workerSpec{prog: py, role: Role(script), args: append([]string{pkg, row, op}, args...)}
		},
		close: func() { os.RemoveAll(dir) },
	}, nil
}

// pythonShmkit finds python3 and the shmkit package (installed, or the
// repository's python/ beside this source or above the working
// directory), once per process, and loads the package's C library, which
// it compiles on first use: not in a timed run. err says why the shmkit
// rows cannot run; py is empty if python3 itself is missing.
func pythonShmkit() (py, pkg string, err error) {
	p := pythonFound()
	return p.py, p.pkg, p.err
}

type pythonFind struct {
	py, pkg string
	err     error
}

var pythonFound = sync.OnceValue(func() pythonFind {
	py, pkg, err := findPythonShmkit()
	return pythonFind{py, pkg, err}
})

func findPythonShmkit() (py, pkg string, err error) {
	if py, err = exec.LookPath("python3"); err != nil {
		return "", "", fmt.Errorf("%w: no python3", ErrUnavailable)
	}
	var dirs []string
	if _, file, _, ok := runtime.Caller(0); ok {
		dirs = append(dirs, filepath.Join(filepath.Dir(file), "..", "python"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, "python"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "shmkit", "__init__.py")); err == nil {
			pkg = d
			break
		}
	}
	// The probe also names the interpreter itself, which starts faster
	// than a wrapper such as pyenv's.
	probe := exec.Command(py, "-c", "import sys; print(sys.executable); sys.path[:0] = [p for p in sys.argv[1:] if p]; import shmkit._native", pkg)
	out, err := probe.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil {
		why := lines[len(lines)-1]
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			s := strings.Split(strings.TrimSpace(string(ee.Stderr)), "\n")
			why = s[len(s)-1]
		}
		return py, pkg, fmt.Errorf("%w: python3 cannot load shmkit (pip install ./python): %s", ErrUnavailable, why)
	}
	if exe := lines[0]; exe != "" {
		py = exe
	}
	return py, pkg, nil
}
