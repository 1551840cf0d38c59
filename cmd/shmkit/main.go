// Command shmkit measures shmkit, and lists, inspects and removes its
// shared memory segments.
//
//	shmkit bench [--quick] [--rounds N] [--only W1,W3] [--json] [--svg FILE]
//	                              the workloads W1-W6 beside their baselines
//	shmkit ls [--json]            segments in /dev/shm
//	shmkit inspect [--json] NAME  every object in a segment and its state
//	shmkit rm NAME...             unlink segments
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
	"text/tabwriter"

	"github.com/shmkit/shmkit/bench"
	"github.com/shmkit/shmkit/internal/procs"
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
		err = cmdRm(args[1:])
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "shmkit: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "shmkit %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// segmentInfo is one line of `shmkit ls`.
type segmentInfo struct {
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	Shmkit       bool   `json:"shmkit"`
	Objects      int    `json:"objects"`
	CreatorPID   int    `json:"creator_pid,omitempty"`
	CreatorAlive bool   `json:"creator_alive"`
	Error        string `json:"error,omitempty"`
}

func cmdLs(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("ls", flag.ContinueOnError)
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
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tOBJECTS\tCREATOR\t")
	others := false
	for _, in := range infos {
		if !in.Shmkit && !others {
			fmt.Fprintln(tw, "\t\t\t\t\nOTHER SEGMENTS\tSIZE\t\t\t")
			others = true
		}
		creator := ""
		if in.Shmkit {
			state := "dead"
			if in.CreatorAlive {
				state = "alive"
			}
			creator = fmt.Sprintf("%d (%s)", in.CreatorPID, state)
		}
		objects := ""
		if in.Shmkit {
			objects = fmt.Sprint(in.Objects)
		} else if in.Error != "" {
			objects = in.Error
		}
		fmt.Fprintf(tw, "/%s\t%d\t%s\t%s\t\n", in.Name, in.Size, objects, creator)
	}
	return tw.Flush()
}

func describe(e fs.DirEntry) segmentInfo {
	in := segmentInfo{Name: e.Name()}
	if fi, err := e.Info(); err == nil {
		in.Size = fi.Size()
	}
	seg, err := shm.Open(e.Name(), shm.ReadOnly())
	if err != nil {
		if !errors.Is(err, shm.ErrNotShmkit) && !errors.Is(err, fs.ErrPermission) {
			in.Error = err.Error()
		}
		return in
	}
	defer seg.Close()
	in.Shmkit = true
	in.CreatorPID = seg.CreatorPID()
	in.CreatorAlive = procs.Alive(in.CreatorPID)
	if objs, err := seg.Objects(); err == nil {
		in.Objects = len(objs)
	} else {
		in.Error = err.Error()
	}
	return in
}

func cmdRm(names []string) error {
	if len(names) == 0 {
		return errors.New("no segment named")
	}
	var errs []error
	for _, n := range names {
		errs = append(errs, shm.Unlink(n))
	}
	return errors.Join(errs...)
}
