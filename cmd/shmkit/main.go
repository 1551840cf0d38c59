// Command shmkit measures shmkit, and lists, inspects and removes its
// shared memory segments.
//
//	shmkit bench [--quick] [--rounds N] [--only W1,W3] [--json] [--svg FILE]
//	                              the workloads W1-W8 beside their baselines
//	shmkit ls [--json]            segments in /dev/shm
//	shmkit inspect [--json] NAME  every object in a segment and its state
//	shmkit rm [--json] NAME...    unlink segments
//	shmkit clean [--prefix P] [--dry-run | --force] [--json] [NAME...]
//	                              list, and with --force remove, segments whose
//	                              creator died and that nobody maps
//
// Flags may come anywhere on the line; a segment is named as "x", "/x" or
// "/dev/shm/x", and printed as "x".
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/shmkit/shmkit/bench"
	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

func main() {
	bench.Worker() // the benchmark's worker processes are this program too
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: shmkit <command> [arguments]

commands:
  bench [--quick] [--rounds N] [--only W1,W3] [--json] [--svg FILE]
                         run the workloads W1-W8 beside pipes, sockets, C, Boost and Python
  ls [--json]            list the segments in /dev/shm: shmkit's first, then the others
  inspect [--json] NAME  every object of a segment: values, locks, semaphores, channels
  rm [--json] NAME...    unlink the named segments
  clean [--prefix P] [--dry-run | --force] [--json] [NAME...]
                         list the segments crashed programs left (creator dead, nobody
                         maps them), of all or only those named or under the prefix;
                         remove them with --force (or -f, --yes)

Flags may come anywhere on the line. A segment is named as x, /x or /dev/shm/x.
`)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "bench":
		err = cmdBench(args[1:], stdout, stderr)
	case "ls":
		err = cmdLs(args[1:], stdout)
	case "inspect":
		err = cmdInspect(args[1:], stdout)
	case "rm":
		err = cmdRm(args[1:], stdout)
	case "clean":
		err = cmdClean(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "shmkit: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0 // parse printed the usage
	case err != nil:
		fmt.Fprintf(stderr, "shmkit %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// newFlags is a command's flag set. It prints nothing: parse returns its
// errors, and run prints each once.
func newFlags(name string) *flag.FlagSet {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	fl.Usage = func() {}
	return fl
}

// parse parses a command's flags wherever they are on the line (up to a
// "--") and returns the other arguments in order. For -h or --help it
// prints the usage to stdout and returns flag.ErrHelp.
func parse(fl *flag.FlagSet, synopsis string, args []string, stdout io.Writer) ([]string, error) {
	var rest []string
	for {
		err := fl.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "usage: shmkit %s %s\n", fl.Name(), synopsis)
			fl.SetOutput(stdout)
			fl.PrintDefaults()
			return nil, err
		}
		if err != nil {
			return nil, usagef("%v", err)
		}
		left := fl.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if used := len(args) - len(left); used > 0 && args[used-1] == "--" {
			return append(rest, left...), nil // the flags ended at "--"
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}

// noArgs refuses arguments to a command that takes none.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("takes no arguments, got %q", args)
	}
	return nil
}

// segmentName is the name of the segment a command line names as "x", "/x"
// or "/dev/shm/x": "x", the one spelling the command prints.
func segmentName(arg string) (string, error) {
	posix, err := shm.PosixName(strings.TrimPrefix(arg, shm.Dir+"/"))
	if err != nil {
		return "", err
	}
	return posix[1:], nil
}

// segmentInfo is one line of `shmkit ls`.
type segmentInfo struct {
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	Shmkit       bool   `json:"shmkit"`
	Objects      *int   `json:"objects,omitempty"`       // shmkit segments only, 0 too
	CreatorPID   int    `json:"creator_pid,omitempty"`   // shmkit segments only
	CreatorAlive *bool  `json:"creator_alive,omitempty"` // shmkit segments only: others do not say
	What         string `json:"what,omitempty"`          // what another file is, if known
	Value        *int   `json:"value,omitempty"`         // a named semaphore's
	Error        string `json:"error,omitempty"`
}

func cmdLs(args []string, stdout io.Writer) error {
	fl := newFlags("ls")
	asJSON := fl.Bool("json", false, "one JSON object per line")
	rest, err := parse(fl, "[--json]", args, stdout)
	if err != nil {
		return err
	}
	if err := noArgs(rest); err != nil {
		return err
	}
	entries, err := os.ReadDir(shm.Dir)
	if err != nil {
		return err
	}
	var infos []segmentInfo
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		size := int64(0)
		if fi, err := e.Info(); err == nil {
			size = fi.Size()
		}
		infos = append(infos, describe(e.Name(), size))
	}
	sort.SliceStable(infos, func(i, j int) bool { return infos[i].Shmkit && !infos[j].Shmkit })
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, in := range infos {
			if err := enc.Encode(in); err != nil {
				return err
			}
		}
		return nil
	}
	// Two tables, each as wide as its content; the last column is not padded.
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tOBJECTS\tCREATOR")
	for _, in := range infos {
		if !in.Shmkit {
			continue
		}
		state := "dead"
		if in.CreatorAlive != nil && *in.CreatorAlive {
			state = "alive"
		}
		objects := "error: " + in.Error
		if in.Objects != nil {
			objects = fmt.Sprint(*in.Objects)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d (%s)\n", in.Name, in.Size, objects, in.CreatorPID, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(infos) == 0 || infos[len(infos)-1].Shmkit {
		return nil // no other files
	}
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OTHER FILES\tSIZE\tWHAT")
	for _, in := range infos {
		if in.Shmkit {
			continue
		}
		what := in.What
		if in.Error != "" {
			what = "error: " + in.Error
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", in.Name, in.Size, what)
	}
	return tw.Flush()
}

// describe says what file name of /dev/shm, size bytes long, is.
func describe(name string, size int64) segmentInfo {
	in := segmentInfo{Name: name, Size: size}
	if sem, ok := strings.CutPrefix(name, "sem."); ok {
		// sem_open's file for "/NAME" is /dev/shm/sem.NAME.
		in.What = fmt.Sprintf("named semaphore /%s", sem)
		s, err := semaphore.OpenNamed("/" + sem)
		switch {
		case err == nil:
			if v, err := s.Value(); err == nil {
				in.Value = &v
				in.What += fmt.Sprintf(", value %d", v)
			}
			s.Close()
		case errors.Is(err, shm.ErrCorrupt): // too short to be one: opening it does not fault
			in.Error = err.Error()
		}
		return in
	}
	seg, err := shm.Open(name, shm.WithReadOnly())
	if err != nil {
		switch {
		case errors.Is(err, shm.ErrNotShmkit):
			in.What = "not a shmkit segment (shm.OpenRaw attaches to it)"
		case errors.Is(err, fs.ErrPermission):
			in.What = "not readable by this user"
		default:
			in.Error = err.Error()
		}
		return in
	}
	defer seg.Close()
	in.Shmkit = true
	in.CreatorPID = seg.CreatorPID()
	alive := procs.Alive(in.CreatorPID)
	in.CreatorAlive = &alive
	if objs, err := seg.Objects(); err == nil {
		n := len(objs)
		in.Objects = &n
	} else {
		in.Error = err.Error()
	}
	return in
}

// rmLine is one line of `shmkit rm --json`.
type rmLine struct {
	Name    string `json:"name"`
	Removed bool   `json:"removed"`
	Error   string `json:"error,omitempty"`
}

func cmdRm(args []string, stdout io.Writer) error {
	fl := newFlags("rm")
	asJSON := fl.Bool("json", false, "one JSON object per line")
	names, err := parse(fl, "[--json] NAME...", args, stdout)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return usagef("name at least one segment to remove")
	}
	for i, n := range names {
		if names[i], err = segmentName(n); err != nil {
			return usagef("%v", err) // nothing is removed if any name is wrong
		}
	}
	var errs []error
	enc := json.NewEncoder(stdout)
	for _, n := range names {
		line := rmLine{Name: n, Removed: true}
		// A shmkit segment's dicts and lists keep their storage in files
		// of their own: remove those first.
		if seg, err := shm.Open(n); err == nil {
			errs = append(errs, dict.UnlinkAll(seg))
			seg.Close()
		}
		if err := shm.Unlink(n); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("%s: %w", n, errNoSegment)
			}
			errs = append(errs, err)
			line = rmLine{Name: n, Error: err.Error()}
		}
		if *asJSON { // otherwise silent, as rm(1) is
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
	}
	return errors.Join(errs...)
}
