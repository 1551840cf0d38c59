package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/shmkit/shmkit/shm"
)

// cmdClean removes the shmkit segments that crashed programs left behind:
// those whose creator is dead and that no process maps or holds open.
func cmdClean(args []string, stdout io.Writer) error {
	fl := flags("clean", "[--dry-run]", stdout)
	dry := fl.Bool("dry-run", false, "say what would be removed, remove nothing")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		return errors.New("clean takes no names: it looks at every segment in " + shm.Dir)
	}
	entries, err := os.ReadDir(shm.Dir)
	if err != nil {
		return err
	}
	used := filesInUse()
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		in := describe(e) // as ls sees it: shmkit's, and whether its creator lives
		if !in.Shmkit || *in.CreatorAlive || used[filepath.Join(shm.Dir, e.Name())] {
			continue
		}
		pid := in.CreatorPID
		if *dry {
			fmt.Fprintf(stdout, "would remove /%s: creator %d is dead and nobody maps it\n", e.Name(), pid)
			continue
		}
		if err := shm.Unlink(e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stdout, "removed /%s: creator %d was dead and nobody mapped it\n", e.Name(), pid)
	}
	return errors.Join(errs...)
}

// filesInUse lists the files of /dev/shm that a process this one can see
// maps or holds open. Processes of other pid namespaces are not seen: run
// clean where the segments' users are.
func filesInUse() map[string]bool {
	used := map[string]bool{}
	pids, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range pids {
		if maps, err := os.ReadFile(p + "/maps"); err == nil {
			for _, line := range strings.Split(string(maps), "\n") {
				if i := strings.Index(line, shm.Dir+"/"); i >= 0 {
					used[strings.TrimSuffix(line[i:], " (deleted)")] = true
				}
			}
		}
		fds, _ := os.ReadDir(p + "/fd")
		for _, fd := range fds {
			if target, err := os.Readlink(p + "/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, shm.Dir+"/") {
				used[target] = true
			}
		}
	}
	return used
}
