package main

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// Each command line, right and wrong, with its exit code, stdout and
// stderr, against testdata/commands.golden: flags anywhere on the line,
// names as x, /x or /dev/shm/x and printed as x, --json everywhere with
// numbers as numbers, extra arguments refused, each error printed once.
// The segments are this test's (no cgo needed); of ls, only their lines
// are kept.
func TestCommandLines(t *testing.T) {
	segName, empty, dead, missing := proctest.Name(t), proctest.Name(t), proctest.Name(t), proctest.Name(t)
	deadPID := proctest.Output(t, "leave", dead)
	seg, err := shm.Create(segName, 1<<16)
	require.NoError(t, err)
	defer seg.Close()
	_, err = ctypes.NewRawValue[int32](seg, "n", -7)
	require.NoError(t, err)
	_, err = ctypes.NewRawArrayFrom(seg, "xs", []float64{0.5, 2, 1e300})
	require.NoError(t, err)
	_, err = semaphore.New(seg, "s", 1)
	require.NoError(t, err)
	e, err := shm.Create(empty, 1<<16)
	require.NoError(t, err)
	defer e.Close()

	pairs := []string{segName, "SEG", empty, "EMPTY", dead, "DEAD", missing, "MISSING", testPrefix(), "PREFIX-",
		deadPID, "DEADPID", fmt.Sprint(os.Getpid()), "PID", seg.Created().Format("2006-01-02 15:04:05"), "DATE"}
	var byLength [][2]string // the longer names first: "…-1" is a prefix of "…-10"
	for i := 0; i < len(pairs); i += 2 {
		byLength = append(byLength, [2]string{pairs[i], pairs[i+1]})
	}
	sort.SliceStable(byLength, func(i, j int) bool { return len(byLength[i][0]) > len(byLength[j][0]) })
	var ordered []string
	for _, p := range byLength {
		ordered = append(ordered, p[0], p[1])
	}
	normal := strings.NewReplacer(ordered...)
	ours := []string{segName, empty, dead}

	var transcript strings.Builder
	for _, line := range []string{
		"ls", "ls --json", "ls extra", "ls --bogus",
		"inspect SEG --json", "inspect /dev/shm/SEG", "inspect /SEG extra", "inspect MISSING", "inspect",
		"clean --prefix PREFIX-", "clean SEG EMPTY", "clean --json --prefix PREFIX-", "clean --dry-run -f",
		"clean --json MISSING", "clean --prefix other- SEG",
		"clean DEAD --json --yes", "ls",
		"rm --json EMPTY MISSING", "rm", "rm /dev/shm/", "rm --bogus EMPTY",
		"bench extra", "bench --rounds 0", "bench --rounds -2", "bench --only W1,,W3", "bench --only=", "bench --only W9",
	} {
		args := strings.Fields(line)
		for i, a := range args { // the placeholders back to the real names
			for k := len(ordered) - 2; k >= 0; k -= 2 {
				a = strings.ReplaceAll(a, ordered[k+1], ordered[k])
			}
			args[i] = a
		}
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		stdout := out.String()
		if args[0] == "ls" {
			stdout = onlyOurs(stdout, ours)
		}
		fmt.Fprintf(&transcript, "$ shmkit %s\n%sstderr: %s\nexit %d\n\n", line, stdout, strings.TrimSuffix(errOut.String(), "\n"), code)
	}
	golden(t, "commands.golden", normal.Replace(transcript.String()))
}

// onlyOurs keeps, of ls's output, the header and the lines of the named
// segments, with the columns' padding (which depends on others) squeezed.
func onlyOurs(out string, names []string) string {
	var kept []string
	for _, line := range strings.Split(out, "\n") {
		keep := strings.HasPrefix(line, "NAME ")
		for _, n := range names {
			keep = keep || strings.HasPrefix(line, n+" ") || strings.Contains(line, `"name":"`+n+`"`)
		}
		if keep {
			kept = append(kept, strings.Join(strings.Fields(line), " "))
			if strings.HasPrefix(line, "{") {
				kept[len(kept)-1] = line
			}
		}
	}
	if len(kept) == 0 {
		return ""
	}
	return strings.Join(kept, "\n") + "\n"
}
