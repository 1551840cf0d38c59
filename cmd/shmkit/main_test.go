package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

func TestMain(m *testing.M) {
	// bench's workers are this test binary too: their roles are in the
	// registry that proctest.Main dispatches on (package process).
	proctest.Main(m, map[string]proctest.Helper{
		"leave": func(args []string) int { // create segment args[0], print our pid and exit without unlinking it
			seg, err := shm.Create(args[0], 1<<16)
			if err != nil {
				return proctest.Fail("%v", err)
			}
			seg.Close()
			fmt.Println(os.Getpid())
			return 0
		},
		"leavedict": func(args []string) int { // the same, with a dict in it: print its heap's file name
			seg, err := shm.Create(args[0], 1<<16)
			if err != nil {
				return proctest.Fail("%v", err)
			}
			d, err := dict.New(seg, "d")
			if err != nil {
				return proctest.Fail("%v", err)
			}
			d.Close()
			o, _ := seg.Lookup("d")
			fmt.Println(string(o.Bytes()[:bytes.IndexByte(o.Bytes(), 0)]))
			seg.Close()
			return 0
		},
		"shmkit": func(args []string) int { return run(args, os.Stdout, os.Stderr) }, // the command, in a process of its own
	})
}

func TestBenchJSONAndSVG(t *testing.T) {
	proctest.NeedCgo(t, "the benchmark's C workers and W5's locked value")
	svg := t.TempDir() + "/ratios.svg"
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "--quick", "--only", "W6,W5", "--json", "--svg", svg}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	out0 := out.String()
	impls := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		impls[r["workload"].(string)+" "+r["impl"].(string)] = r
	}
	w6 := impls["W6 shmkit"]
	require.NotNil(t, w6, "%v", impls)
	assert.Equal(t, true, w6["ok"])
	assert.Greater(t, w6["rtt_ns"], 0.0)
	assert.NotContains(t, w6, "msgs_per_s", "only the fields that apply")
	assert.Greater(t, impls["W5 shmkit-atomic"]["ops_per_s"], 0.0)
	for _, field := range []string{"workload", "impl", "count", "rounds", "ok"} {
		assert.Contains(t, w6, field)
	}
	picture, err := os.ReadFile(svg)
	require.NoError(t, err)
	assert.Contains(t, string(picture), "<svg")
	assert.Contains(t, string(picture), "W6 vs C")

	assert.Equal(t, true, w6["smoke"], "a --quick run says it is a smoke run")
	assert.LessOrEqual(t, w6["min"], w6["rtt_ns"])
	assert.GreaterOrEqual(t, w6["max"], w6["rtt_ns"])
	assert.Contains(t, errOut.String(), "SMOKE RUN")
	assert.Contains(t, errOut.String(), "pre-faulting: ")

	out.Reset()
	assert.Equal(t, 2, run([]string{"bench", "--only", "W9"}, &out, &errOut), "an unknown workload is a wrong command line")
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"bench", "--only", "W6", "--svg", "/nonexistent-dir/x.svg"}, &out, &errOut),
		"a chart that cannot be written is refused before the run, not after it")
	assert.Contains(t, errOut.String(), "--svg")

	// The JSON's shape, line by line: which keys each row has.
	var shape []string
	for _, line := range strings.Split(strings.TrimSpace(out0), "\n") {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		if strings.HasPrefix(r["impl"].(string), "Boost") {
			continue // present only where g++ and Boost are
		}
		keys := slices.Sorted(maps.Keys(r))
		shape = append(shape, fmt.Sprintf("%s %s: %s", r["workload"], r["impl"], strings.Join(keys, " ")))
	}
	golden(t, "bench_json.golden", strings.Join(shape, "\n")+"\n")
}

// TestBenchText: the table gives the spread over the rounds beside each
// median, says how rings are pre-faulted, and, for --quick, that the run is
// a smoke run.
func TestBenchText(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"bench", "--quick", "--rounds", "2", "--only", "W6"}, &out, &errOut), errOut.String())
	text := out.String()
	assert.True(t, strings.HasPrefix(text, "SMOKE RUN (--quick)"), text)
	assert.Contains(t, text, "pre-faulting: ")
	assert.Contains(t, text, "medians of 2 interleaved round(s), min–max over the rounds beside them")
	assert.Regexp(t, `(?m)^\s+W6\s+shmkit\s+\d+\s+[\d,.]+\s+[\d,.]+–[\d,.]+\s+ok$`, text)

	out.Reset()
	require.Equal(t, 0, run([]string{"bench", "--quick", "--only", "W6", "--json"}, &out, &errOut), errOut.String())
	assert.NotContains(t, out.String(), "SMOKE", "stdout stays one JSON object a line")
}

func TestLsAndRm(t *testing.T) {
	name := proctest.Name(t)
	seg, err := shm.Create(name, 1<<16)
	require.NoError(t, err)
	defer seg.Close()
	_, err = seg.Alloc(shm.Request{Name: "x", Kind: shm.KindBytes, Length: 8}, nil)
	require.NoError(t, err)
	other := proctest.Name(t)
	require.NoError(t, os.WriteFile("/dev/shm/"+other, []byte("raw"), 0o600))

	semName := proctest.Name(t)
	if cbind.Available { // a named semaphore is sem_open's
		sem, err := semaphore.CreateNamed(semName, 3)
		require.NoError(t, err)
		defer func() { sem.Close(); semaphore.UnlinkNamed(semName) }()
	}

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"ls", "--json"}, &out, &errOut), errOut.String())
	found := map[string]segmentInfo{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var in segmentInfo
		require.NoError(t, json.Unmarshal([]byte(line), &in))
		found[in.Name] = in
	}
	alive := true
	assert.Equal(t, segmentInfo{Name: name, Size: 1 << 16, Shmkit: true, Objects: ptr(1), CreatorPID: os.Getpid(), CreatorAlive: &alive}, found[name])
	assert.Equal(t, segmentInfo{Name: other, Size: 3, What: "not a shmkit segment (shm.OpenRaw attaches to it)"}, found[other])
	if cbind.Available {
		semInfo := found["sem."+semName]
		semInfo.Size = 0
		assert.Equal(t, segmentInfo{Name: "sem." + semName, What: "named semaphore /" + semName + ", value 3", Value: ptr(3)}, semInfo)
	}

	out.Reset()
	require.Equal(t, 0, run([]string{"ls"}, &out, &errOut))
	assert.Contains(t, out.String(), "\n"+name+" ")
	assert.Contains(t, out.String(), "OTHER FILES")

	require.Equal(t, 0, run([]string{"rm", name, other}, &out, &errOut))
	_, err = os.Stat("/dev/shm/" + name)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	errOut.Reset()
	assert.Equal(t, 1, run([]string{"rm", name}, &out, &errOut))
	assert.Equal(t, "shmkit rm: "+name+": no such segment\n", errOut.String())
	assert.Equal(t, 2, run([]string{"frobnicate"}, &out, &errOut))
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"rm"}, &out, &errOut))
	assert.Equal(t, "shmkit rm: name at least one segment to remove (see --help)\n", errOut.String())
}

// TestLsShortSemaphoreFile: ls, in a process of its own, lists a file
// named as a semaphore that is too short to be one with an error; before,
// the command died of SIGBUS reading its value.
func TestLsShortSemaphoreFile(t *testing.T) {
	proctest.NeedCgo(t, "sem_open")
	name := proctest.Name(t)
	file := "/dev/shm/sem." + name
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	t.Cleanup(func() { os.Remove(file) })
	out, err := proctest.Command(t, "shmkit", "ls", "--json").Output()
	require.NoError(t, err, "ls died: %s", out)
	var found *segmentInfo
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var in segmentInfo
		require.NoError(t, json.Unmarshal([]byte(line), &in))
		if in.Name == "sem."+name {
			found = &in
		}
	}
	require.NotNil(t, found, "%s", out)
	assert.Nil(t, found.Value)
	assert.Contains(t, found.Error, "corrupt")
}

// Every command's --help prints its usage to stdout and exits 0.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range []string{"bench", "ls", "inspect", "rm", "clean"} {
		var out, errOut bytes.Buffer
		assert.Equal(t, 0, run([]string{cmd, "--help"}, &out, &errOut), cmd)
		assert.Contains(t, out.String(), "usage: shmkit "+cmd, cmd)
		assert.Empty(t, errOut.String(), cmd)
	}
}

// clean removes what crashed programs left: a segment whose creator is dead
// and that nobody maps; it keeps one that a live process maps, and one whose
// creator lives; --dry-run removes nothing.
func TestClean(t *testing.T) { cleanScenario(t) }

// The clean test touched every segment in /dev/shm: a user's segment, kept
// on purpose after its creator exited, was gone after `go test ./...`. A
// segment under a name that is not a test's must outlive the clean test.
func TestCleanSparesOthersSegments(t *testing.T) {
	foreign := fmt.Sprintf("kept-by-a-user-%d", os.Getpid()) // not under proctest.Prefix
	t.Cleanup(func() { os.Remove("/dev/shm/" + foreign) })
	proctest.Output(t, "leave", foreign) // its creator exits: what clean looks for
	cleanScenario(t)
	_, err := os.Stat("/dev/shm/" + foreign)
	assert.NoError(t, err, "the clean test removed a segment it did not create")
}

// A segment is in use whatever its name: clean recognised the segments a
// process maps by the path /proc/PID/maps shows, which writes a newline in
// a name as "\012" and puts " (deleted)" after the name of a removed file,
// so clean --force removed a mapped segment named "a\nb" or "c (deleted)".
func TestCleanKeepsMappedSegmentsOfAnyName(t *testing.T) {
	for _, tail := range []string{"\nx", " (deleted)"} {
		name := proctest.Name(t) + tail
		t.Cleanup(func() { shm.Unlink(name) })
		proctest.Output(t, "leave", name) // its creator exits
		// A live user that maps it and keeps no descriptor, as C's
		// read-only attach does: its mapping is the only sign of it.
		f, err := os.Open("/dev/shm/" + name)
		require.NoError(t, err)
		mem, err := syscall.Mmap(int(f.Fd()), 0, 4096, syscall.PROT_READ, syscall.MAP_SHARED)
		f.Close()
		require.NoError(t, err)
		t.Cleanup(func() { syscall.Munmap(mem) })
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"clean", "--prefix", testPrefix(), "--force"}, &out, &errOut), errOut.String())
	assert.NotContains(t, out.String(), "removed", "every one is mapped by this process")
	for _, tail := range []string{"\nx", " (deleted)"} {
		entries, err := filepath.Glob("/dev/shm/" + testPrefix() + "*")
		require.NoError(t, err)
		found := false
		for _, e := range entries {
			found = found || strings.HasSuffix(e, tail)
		}
		assert.True(t, found, "the segment ending %q stays", tail)
	}
}

// testPrefix starts every segment name this test process makes
// (proctest.Name): clean in a test is limited to it.
func testPrefix() string { return fmt.Sprintf("%s%d-", proctest.Prefix, os.Getpid()) }

func cleanScenario(t *testing.T) {
	left, mapped := proctest.Name(t), proctest.Name(t)
	proctest.Output(t, "leave", left)
	proctest.Output(t, "leave", mapped)
	seg, err := shm.Open(mapped) // a live user of a dead creator's segment
	require.NoError(t, err)
	defer seg.Close()
	_, mine := proctest.Segment(t, 1<<16) // its creator, this process, lives
	stays := func(name, why string) {
		t.Helper()
		_, err := os.Stat("/dev/shm/" + name)
		require.NoError(t, err, why)
	}

	var out, errOut bytes.Buffer
	for _, preview := range [][]string{{"clean", "--prefix", testPrefix()}, {"clean", "--prefix", testPrefix(), "--dry-run"}} {
		out.Reset()
		errOut.Reset()
		require.Equal(t, 0, run(preview, &out, &errOut), errOut.String())
		assert.Equal(t, "would remove "+left+": creator ", out.String()[:len("would remove "+left+": creator ")])
		assert.NotContains(t, out.String(), mapped)
		assert.NotContains(t, out.String(), mine)
		stays(left, "without --force clean removes nothing")
	}
	assert.Empty(t, errOut.String(), "--dry-run needs no hint")

	out.Reset()
	require.Equal(t, 0, run([]string{"clean", "--prefix", testPrefix(), "--force"}, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "removed "+left+": ")
	_, err = os.Stat("/dev/shm/" + left)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	stays(mapped, "a process maps it")
	stays(mine, "its creator lives")
}

// TestCleanRemovesDictHeaps: clean --force removes a dead creator's
// segment together with its dicts' heap files, which nothing else would
// ever remove (they are not shmkit segments, and nothing names them once
// the segment is gone). clean runs in a process of its own.
func TestCleanRemovesDictHeaps(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	left := proctest.Name(t)
	heap := "/dev/shm/" + proctest.Output(t, "leavedict", left)
	t.Cleanup(func() { os.Remove(heap); os.Remove("/dev/shm/" + left) })
	_, err := os.Stat(heap)
	require.NoError(t, err)
	out := proctest.Output(t, "shmkit", "clean", "--prefix", testPrefix(), "--force")
	assert.Contains(t, out, "removed "+left+": ")
	_, err = os.Stat("/dev/shm/" + left)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = os.Stat(heap)
	assert.ErrorIs(t, err, fs.ErrNotExist, "clean left the dead segment's dict heap")
}

func ptr[T any](v T) *T { return &v }
