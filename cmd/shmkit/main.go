// Command shmkit measures shmkit, and lists, inspects and removes its
// shared memory segments.
//
//	shmkit bench [--quick] [--rounds N] [--only W1,W3] [--json] [--svg FILE]
//	                              the workloads W1-W6 beside their baselines
//	shmkit ls [--json]            segments in /dev/shm
//	shmkit inspect [--json] NAME  every object in a segment and its state
//	shmkit rm NAME...             unlink segments
//	shmkit clean [--dry-run]      remove segments whose creator died and that nobody maps
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
                         run the workloads W1-W6 beside pipes, sockets, C and Python
  ls [--json]            list the segments in /dev/shm: shmkit's first, then the others
  inspect [--json] NAME  every object of a segment: values, locks, semaphores, channels
  rm NAME...             unlink the named segments
  clean [--dry-run]      remove the segments crashed programs left: creator dead, nobody maps them
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
		err = cmdClean(args[1:], stdout)
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
		return 0 // the flag package printed the usage
	case err != nil:
		fmt.Fprintf(stderr, "shmkit %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// flags is a command's flag set, printing its help to stdout.
func flags(name, args string, stdout io.Writer) *flag.FlagSet {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(stdout)
	fl.Usage = func() {
		fmt.Fprintf(stdout, "usage: shmkit %s %s\n", name, args)
		fl.PrintDefaults()
	}
	return fl
}

// segmentInfo is one line of `shmkit ls`.
type segmentInfo struct {
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	Shmkit       bool   `json:"shmkit"`
	Objects      int    `json:"objects,omitempty"`
	CreatorPID   int    `json:"creator_pid,omitempty"`
	CreatorAlive *bool  `json:"creator_alive,omitempty"` // shmkit segments only: others do not say
	What         string `json:"what,omitempty"`          // what another file is, if known
	Value        *int   `json:"value,omitempty"`         // a named semaphore's
	Error        string `json:"error,omitempty"`
}

func cmdLs(args []string, stdout io.Writer) error {
	fl := flags("ls", "[--json]", stdout)
	asJSON := fl.Bool("json", false, "one JSON object per line")
	if err := fl.Parse(args); err != nil {
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
		infos = append(infos, describe(e))
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
		objects := fmt.Sprint(in.Objects)
		if in.Error != "" {
			objects = "error: " + in.Error
		}
		fmt.Fprintf(tw, "/%s\t%d\t%s\t%d (%s)\n", in.Name, in.Size, objects, in.CreatorPID, state)
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
		fmt.Fprintf(tw, "/%s\t%d\t%s\n", in.Name, in.Size, what)
	}
	return tw.Flush()
}

func describe(e fs.DirEntry) segmentInfo {
	in := segmentInfo{Name: e.Name()}
	if fi, err := e.Info(); err == nil {
		in.Size = fi.Size()
	}
	if sem, ok := strings.CutPrefix(e.Name(), "sem."); ok {
		// sem_open's file for "/NAME" is /dev/shm/sem.NAME.
		in.What = fmt.Sprintf("named semaphore /%s", sem)
		if s, err := semaphore.OpenNamed("/" + sem); err == nil {
			if v, err := s.Value(); err == nil {
				in.Value = &v
				in.What += fmt.Sprintf(", value %d", v)
			}
			s.Close()
		}
		return in
	}
	seg, err := shm.Open(e.Name(), shm.ReadOnly())
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
		in.Objects = len(objs)
	} else {
		in.Error = err.Error()
	}
	return in
}

func cmdRm(args []string, stdout io.Writer) error {
	fl := flags("rm", "NAME...", stdout)
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() == 0 {
		return errors.New("name at least one segment to remove")
	}
	var errs []error
	for _, n := range fl.Args() {
		// A shmkit segment's dicts and lists keep their storage in files
		// of their own: remove those first.
		if seg, err := shm.Open(n); err == nil {
			errs = append(errs, dict.UnlinkAll(seg))
			seg.Close()
		}
		errs = append(errs, shm.Unlink(n))
	}
	return errors.Join(errs...)
}
