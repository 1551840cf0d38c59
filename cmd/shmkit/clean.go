package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/shm"
)

const cleanSynopsis = "[--prefix P] [--dry-run | --force] [--json] [NAME...]"

// cleanLine is one line of `shmkit clean`: a segment it removed, would
// remove, or keeps (said only of segments named on the command line).
type cleanLine struct {
	Name       string `json:"name"`
	Action     string `json:"action"` // "removed", "would remove", "kept" or "error"
	Reason     string `json:"reason"`
	CreatorPID int    `json:"creator_pid,omitempty"`
}

// cmdClean removes the shmkit segments that crashed programs left behind:
// those whose creator is dead and that no process maps or holds open. It
// looks only at the named segments, or those under --prefix, if given, and
// removes nothing without --force: first it says what it would remove.
// With a segment it removes its dicts' and lists' heaps (dict.UnlinkAll).
func cmdClean(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("clean")
	prefix := fl.String("prefix", "", "only segments whose name starts with `P`")
	dry := fl.Bool("dry-run", false, "say what would be removed, remove nothing (the default without --force)")
	var force bool
	fl.BoolVar(&force, "force", false, "remove the segments, do not only list them")
	fl.BoolVar(&force, "f", false, "the same as --force")
	fl.BoolVar(&force, "yes", false, "the same as --force")
	asJSON := fl.Bool("json", false, "one JSON object per line")
	names, err := parse(fl, cleanSynopsis, args, stdout)
	if err != nil {
		return err
	}
	if *dry && force {
		return usagef("--dry-run and --force contradict each other")
	}
	p := strings.TrimPrefix(strings.TrimPrefix(*prefix, shm.Dir+"/"), "/")
	if strings.Contains(p, "/") {
		return usagef("--prefix %q holds a '/': segment names do not", *prefix)
	}
	named := len(names) > 0
	if !named {
		entries, err := os.ReadDir(shm.Dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Type().IsRegular() && strings.HasPrefix(e.Name(), p) {
				names = append(names, e.Name())
			}
		}
	}
	for i, n := range names {
		if names[i], err = segmentName(n); err != nil {
			return usagef("%v", err)
		}
		if named && !strings.HasPrefix(names[i], p) {
			return usagef("%s is not under --prefix %q", names[i], p)
		}
	}

	used := filesInUse()
	var lines []cleanLine
	var errs []error
	would := 0
	for _, name := range names {
		line := cleanLine{Name: name}
		fi, err := os.Lstat(filepath.Join(shm.Dir, name))
		switch {
		case err != nil && errors.Is(err, fs.ErrNotExist) && !named:
			continue // gone since the listing: a dict heap this clean removed, or another's doing
		case err != nil && errors.Is(err, fs.ErrNotExist):
			err = fmt.Errorf("%s: %w", name, errNoSegment)
		case err == nil && !fi.Mode().IsRegular():
			line.Action, line.Reason = "kept", "not a regular file"
			lines = append(lines, line)
			continue
		}
		if err != nil {
			errs = append(errs, err)
			line.Action, line.Reason = "error", err.Error()
			lines = append(lines, line)
			continue
		}
		in := describe(fi.Name(), fi.Size()) // as ls sees it: shmkit's, and whether its creator lives
		line.CreatorPID = in.CreatorPID
		switch {
		case !in.Shmkit:
			line.Action, line.Reason = "kept", "not a shmkit segment"
		case *in.CreatorAlive:
			line.Action, line.Reason = "kept", fmt.Sprintf("creator %d is alive", in.CreatorPID)
		case used[inode(fi)]:
			line.Action, line.Reason = "kept", "a process maps it or holds it open"
		case !force:
			line.Action, line.Reason = "would remove", fmt.Sprintf("creator %d is dead and nobody maps it", in.CreatorPID)
			would++
		default:
			// Its dicts' and lists' heaps first: once the segment is gone,
			// nothing names them.
			if seg, err := shm.Open(name); err == nil {
				if err := dict.UnlinkAll(seg); err != nil {
					errs = append(errs, err)
				}
				seg.Close()
			}
			if err := shm.Unlink(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				line.Action, line.Reason = "error", err.Error()
				break
			}
			line.Action, line.Reason = "removed", fmt.Sprintf("creator %d was dead and nobody mapped it", in.CreatorPID)
		}
		if line.Action == "kept" && !named {
			continue // of all of /dev/shm, only what clean would touch is worth a line
		}
		lines = append(lines, line)
	}

	enc := json.NewEncoder(stdout)
	for _, l := range lines {
		switch {
		case *asJSON:
			if err := enc.Encode(l); err != nil {
				return err
			}
		case l.Action != "error": // errors are printed once, by run
			fmt.Fprintf(stdout, "%s %s: %s\n", l.Action, l.Name, l.Reason)
		}
	}
	if len(lines) == 0 && !*asJSON {
		fmt.Fprintln(stdout, "nothing to clean")
	}
	if would > 0 && !*dry {
		fmt.Fprintf(stderr, "shmkit clean: nothing removed; add --force to remove %s\n", plural(would, "segment"))
	}
	return errors.Join(errs...)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// filesInUse lists the inode numbers of the files of /dev/shm that a
// process this one can see maps or holds open. Files are told apart by
// inode, not by the path /proc shows: maps writes a newline in a name as
// "\012" and marks a removed file with " (deleted)", which a live file's
// name may also end with. Processes of other pid namespaces are not seen:
// run clean where the segments' users are.
func filesInUse() map[uint64]bool {
	used := map[uint64]bool{}
	var dir syscall.Stat_t
	if syscall.Stat(shm.Dir, &dir) != nil {
		return used
	}
	dev := fmt.Sprintf("%02x:%02x", unix.Major(dir.Dev), unix.Minor(dir.Dev)) // as maps writes it
	pids, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range pids {
		if maps, err := os.ReadFile(p + "/maps"); err == nil {
			for _, line := range strings.Split(string(maps), "\n") {
				// address perms offset dev inode path
				f := strings.Fields(line)
				if len(f) < 6 || f[3] != dev || !strings.HasPrefix(f[5], shm.Dir+"/") {
					continue
				}
				if ino, err := strconv.ParseUint(f[4], 10, 64); err == nil {
					used[ino] = true
				}
			}
		}
		fds, _ := os.ReadDir(p + "/fd")
		for _, fd := range fds {
			var st syscall.Stat_t
			if syscall.Stat(p+"/fd/"+fd.Name(), &st) == nil && st.Dev == dir.Dev {
				used[st.Ino] = true
			}
		}
	}
	return used
}

// inode is the inode number of a file of /dev/shm.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
