package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// tamper wraps a store so that its workers get a different count for op:
// what a row that lost or invented data looks like to the run.
func tamper(open openStore, op string, delta int) openStore {
	return func(ctx context.Context) (*kvStore, error) {
		st, err := open(ctx)
		if err != nil {
			return nil, err
		}
		worker := st.worker
		st.worker = func(o string, args ...string) workerSpec {
			if o == op {
				args = append([]string{}, args...)
				n, _ := ints(args[1:2], 0)
				args[1] = itoa(n[0] + delta)
			}
			return worker(o, args...)
		}
		return st, nil
	}
}

// TestW8WrongDataFails: a set that stored a key fewer, gets that read two
// keys more, and a counter that missed an increment each fail the run with
// ErrChecksum, for the shmkit rows (checked through the Go map), the floor
// (checked by its worker) and Boost's map (its counter read by a worker).
func TestW8WrongDataFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	w := &Workload{ID: "W8"}
	stores := map[string]openStore{"shmkit": shmkitStore(goDict), "floor": goMapStore, "boost": boostMapStore}
	if cgoWorkers {
		stores["shmkit C"] = shmkitStore(cDict)
	}
	for name, open := range stores {
		runs := map[string]func(context.Context, *Workload, int) (time.Duration, error){
			"set":     kvSetRun(tamper(open, "set", -1), 1),
			"get":     kvGetRun(tamper(open, "get", 2), 1),
			"counter": kvCountRun(tamper(tamper(open, "add", -1), "count", -1)),
		}
		for op, run := range runs {
			t.Run(name+"/"+op, func(t *testing.T) {
				_, err := run(t.Context(), w, 100)
				if errors.Is(err, ErrUnavailable) {
					t.Skip(err)
				}
				if !errors.Is(err, ErrChecksum) {
					t.Fatalf("run with wrong data: %v, want ErrChecksum", err)
				}
			})
		}
	}
}

// TestW8MissingPeersUnavailable: with no programs on PATH (no
// redis-server, no compiler, no python3) the rows that need them are
// Unavailable, with a note, and not failed; the Go rows still run.
func TestW8MissingPeersUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	t.Setenv("PATH", t.TempDir())
	if _, _, err := findPythonShmkit(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no python3") {
		t.Errorf("python3 lookup: %v, want ErrUnavailable", err)
	}
	p := peerSource{name: "w8-test", compiler: "cc", files: map[string][]byte{"x.c": []byte("int main(void) { return 0; }\n")}, main: "x.c"}
	if _, err := p.build(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "apt-get install gcc") {
		t.Errorf("build without a compiler: %v, want ErrUnavailable naming gcc", err)
	}
	w := &Workload{ID: "W8", Variant: "set", Count: 5000, Figure: Ops, Impls: []Impl{
		{Name: "shmkit", run: kvSetRun(shmkitStore(goDict), 1)},
		{Name: "Redis", run: kvSetRun(redisStore, 1)},
		{Name: W8Floor, run: kvSetRun(goMapStore, 1)},
	}}
	rs := Run(t.Context(), []*Workload{w}, Options{Rounds: 1})[0]
	if !rs[1].Unavailable() || !strings.Contains(rs[1].Error, "no redis-server") {
		t.Errorf("Redis without redis-server: ok %v, unavailable %v, %q", rs[1].OK, rs[1].Unavailable(), rs[1].Error)
	}
	for _, r := range []*Result{rs[0], rs[2]} {
		if !r.OK && !r.Unavailable() {
			t.Errorf("%s: %s", r.Impl, r.Error)
		}
		if r.OK && r.BytesPerKey <= 0 {
			t.Errorf("%s: %v bytes per key", r.Impl, r.BytesPerKey)
		}
	}
}

// TestW8MissingHeaderUnavailable: a peer whose library's header is not
// installed is Unavailable, naming the package; another compile error is
// a failure.
func TestW8MissingHeaderUnavailable(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	missing := peerSource{name: "w8-test-missing", compiler: "cc", main: "x.c",
		files: map[string][]byte{"x.c": []byte("#include <shmkit_no_such_lib/none.h>\nint main(void) { return 0; }\n")},
		needs: map[string]string{"shmkit_no_such_lib/": "libshmkit-no-such-dev"}}
	if _, err := missing.build(); errors.Is(err, ErrUnavailable) && strings.Contains(err.Error(), "no compiler") {
		t.Skip(err)
	} else if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "libshmkit-no-such-dev") {
		t.Errorf("missing header: %v, want ErrUnavailable naming the package", err)
	}
	broken := missing
	broken.name, broken.files = "w8-test-broken", map[string][]byte{"x.c": []byte("int main(void) { return nonsense; }\n")}
	if _, err := broken.build(); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("broken source: %v, want a failure", err)
	}
}
