package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// objectInfo is one line of `shmkit inspect`.
type objectInfo struct {
	Name     string         `json:"name"`
	Kind     string         `json:"kind"`
	Typecode string         `json:"typecode,omitempty"`
	Len      int            `json:"len,omitempty"`
	Bytes    uint64         `json:"bytes"`
	Values   []string       `json:"values,omitempty"` // the first few elements
	Value    *int           `json:"value,omitempty"`  // a semaphore's
	Bound    int            `json:"bound,omitempty"`
	Lock     string         `json:"lock,omitempty"` // a mutex's state, or a locked value's
	Set      *bool          `json:"set,omitempty"`  // an event's flag
	Barrier  *barrierInfo   `json:"barrier,omitempty"`
	Channel  *channel.State `json:"channel,omitempty"`
	Error    string         `json:"error,omitempty"`
}

type barrierInfo struct {
	Parties, Waiting int
	Broken           bool
}

const shownValues = 8

func cmdInspect(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("inspect", flag.ContinueOnError)
	asJSON := fl.Bool("json", false, "one JSON object per line")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return errors.New("usage: shmkit inspect [--json] NAME")
	}
	seg, err := shm.Open(fl.Arg(0), shm.ReadOnly())
	if err != nil {
		return err
	}
	defer seg.Close()
	objs, err := seg.Objects()
	if err != nil {
		return err
	}
	infos := make([]objectInfo, 0, len(objs))
	for _, o := range objs {
		infos = append(infos, describeObject(seg, o))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, in := range infos {
			if err := enc.Encode(in); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(stdout, "%s: %d bytes, %d objects, created by pid %d (%s)\n",
		seg.Name(), seg.Size(), len(objs), seg.CreatorPID(), seg.Created().Format("2006-01-02 15:04:05"))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tTYPE\tLEN\tSTATE\t")
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", in.Name, in.Kind, in.Typecode, lenText(in), stateText(in))
	}
	return tw.Flush()
}

func describeObject(seg *shm.Segment, o shm.Object) objectInfo {
	in := objectInfo{Name: o.Name, Kind: o.Kind.String(), Bytes: o.Length}
	fail := func(err error) objectInfo { in.Error = err.Error(); return in }
	switch o.Kind {
	case shm.KindValue, shm.KindArray:
		obj, err := ctypes.OpenObject(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		in.Typecode, in.Len = string(rune(obj.Typecode)), obj.Len()
		for i := range min(obj.Len(), shownValues) {
			in.Values = append(in.Values, elementText(obj, i))
		}
		if obj.Locked {
			in.Lock = obj.LockState().String()
		}
	case shm.KindSemaphore, shm.KindBounded:
		sem, err := semaphore.Open(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		v, err := sem.Value()
		if err != nil {
			return fail(err)
		}
		in.Value, in.Bound = &v, sem.Bound()
	case shm.KindMutex:
		m, err := semaphore.OpenMutex(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		in.Lock = m.State().String()
	case shm.KindRMutex:
		m, err := semaphore.OpenRMutex(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		in.Lock = m.State().String()
	case shm.KindEvent:
		ev, err := semaphore.OpenEvent(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		set := ev.IsSet()
		in.Set = &set
	case shm.KindBarrier:
		b, err := semaphore.OpenBarrier(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		in.Barrier = &barrierInfo{b.Parties(), b.Waiting(), b.Broken()}
	case shm.KindChannel:
		st, err := channel.Inspect(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		in.Typecode, in.Channel = string(rune(o.Typecode)), &st
	}
	return in
}

func elementText(o *ctypes.Object, i int) string {
	switch {
	case o.Typecode.IsFloat():
		return fmt.Sprint(o.Float64(i))
	case o.Typecode == ctypes.CodeChar:
		return fmt.Sprintf("%q", rune(o.Uint64(i)))
	case o.Typecode == ctypes.CodeWChar:
		return fmt.Sprintf("%q", rune(o.Int64(i)))
	case o.Typecode.IsSigned():
		return fmt.Sprint(o.Int64(i))
	}
	return fmt.Sprint(o.Uint64(i))
}

func lenText(in objectInfo) string {
	if in.Kind == "value" || in.Kind == "array" {
		return fmt.Sprint(in.Len)
	}
	return ""
}

func stateText(in objectInfo) string {
	var parts []string
	if in.Error != "" {
		return "error: " + in.Error
	}
	if len(in.Values) > 0 {
		v := strings.Join(in.Values, " ")
		if in.Len > len(in.Values) {
			v += " …"
		}
		parts = append(parts, "["+v+"]")
	}
	if in.Value != nil {
		parts = append(parts, fmt.Sprintf("value %d", *in.Value))
		if in.Bound > 0 {
			parts = append(parts, fmt.Sprintf("bound %d", in.Bound))
		}
	}
	if in.Lock != "" {
		parts = append(parts, "lock "+in.Lock)
	}
	if in.Set != nil {
		parts = append(parts, fmt.Sprintf("set=%v", *in.Set))
	}
	if b := in.Barrier; b != nil {
		parts = append(parts, fmt.Sprintf("%d/%d waiting, broken=%v", b.Waiting, b.Parties, b.Broken))
	}
	if c := in.Channel; c != nil {
		parts = append(parts, fmt.Sprintf("%d/%d queued, max %d, closed=%v, waiting %d recv %d send, %d recovered",
			c.Len, c.Cap, c.MaxLen, c.Closed, c.RecvWaiters, c.SendWaiters, c.Recovered))
	}
	return strings.Join(parts, ", ")
}
