package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/pool"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// objectInfo is one line of `shmkit inspect`; its JSON keys are snake_case.
type objectInfo struct {
	Name     string       `json:"name"`
	Kind     string       `json:"kind"`
	Typecode string       `json:"typecode,omitempty"`
	Len      int          `json:"len,omitempty"`
	Bytes    uint64       `json:"bytes"`
	Values   []string     `json:"values,omitempty"` // the first few elements
	Text     string       `json:"text,omitempty"`   // a char or wchar array, as Python shows its value
	Value    *int         `json:"value,omitempty"`  // a semaphore's
	Bound    int          `json:"bound,omitempty"`
	Lock     string       `json:"lock,omitempty"`    // a mutex's state, or a locked value's
	Set      *bool        `json:"set,omitempty"`     // an event's flag
	Waiters  *int         `json:"waiters,omitempty"` // a condition's sleepers
	Barrier  *barrierInfo `json:"barrier,omitempty"`
	Channel  *channelInfo `json:"channel,omitempty"`
	Layout   *layoutInfo  `json:"layout,omitempty"` // the fields of records (typecode T)
	Pool     *pool.State  `json:"pool,omitempty"`   // a process pool's worker table
	Error    string       `json:"error,omitempty"`
}

// layoutInfo is a record description, in the names docs/layout.md uses.
type layoutInfo struct {
	TypeName string      `json:"type_name"`
	Size     int         `json:"size"`
	Align    int         `json:"align"`
	Fields   []fieldInfo `json:"fields"`
	decl     string      // as C declares it
}

type fieldInfo struct {
	Name     string `json:"name"`
	Typecode string `json:"typecode"`
	Offset   int    `json:"offset"`
	Count    int    `json:"count"`
}

func layoutInfoOf(l *ctypes.Layout) *layoutInfo {
	if l == nil {
		return nil
	}
	in := &layoutInfo{TypeName: l.TypeName, Size: l.Size, Align: l.Align, decl: l.String()}
	for _, f := range l.Fields {
		in.Fields = append(in.Fields, fieldInfo{Name: f.Name, Typecode: string(rune(f.Typecode)), Offset: f.Offset, Count: f.Count})
	}
	return in
}

type barrierInfo struct {
	Parties int  `json:"parties"`
	Waiting int  `json:"waiting"`
	Broken  bool `json:"broken"`
}

type channelInfo struct {
	Head        uint64 `json:"head"`
	Tail        uint64 `json:"tail"`
	Len         int    `json:"len"`
	Cap         int    `json:"cap"`
	MaxLen      int    `json:"max_len"`
	Closed      bool   `json:"closed"`
	RecvWaiters int    `json:"recv_waiters"`
	SendWaiters int    `json:"send_waiters"`
	Recovered   int    `json:"recovered"`
	Producers   []int  `json:"producers,omitempty"`
	Consumers   []int  `json:"consumers,omitempty"`
}

const shownValues = 8

func cmdInspect(args []string, stdout io.Writer) error {
	fl := flags("inspect", "[--json] NAME", stdout)
	asJSON := fl.Bool("json", false, "one JSON object per line")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return errors.New("name one segment to inspect: shmkit inspect [--json] NAME")
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
	fmt.Fprintln(tw, "NAME\tKIND\tTYPE\tLEN\tSTATE") // the last column is not padded
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.Name, in.Kind, in.Typecode, lenText(in), stateText(in))
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
		in.Typecode, in.Len, in.Layout = string(rune(obj.Typecode)), obj.Len(), layoutInfoOf(obj.Layout)
		switch obj.Typecode {
		case ctypes.CodeChar, ctypes.CodeWChar:
			in.Text = pythonText(obj)
		case ctypes.CodeStruct:
			for i := range min(obj.Len(), shownValues) {
				in.Values = append(in.Values, recordText(obj, i))
			}
		default:
			for i := range min(obj.Len(), shownValues) {
				in.Values = append(in.Values, elementText(obj, i))
			}
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
	case shm.KindCond:
		st, err := layout.As[layout.Cond](o.Bytes())
		if err != nil {
			return fail(err)
		}
		n := int(st.Waiters.Load())
		in.Waiters = &n
	case shm.KindBarrier:
		b, err := semaphore.OpenBarrier(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		in.Barrier = &barrierInfo{Parties: b.Parties(), Waiting: b.Waiting(), Broken: b.Broken()}
	case shm.KindBytes:
		if st, err := pool.Inspect(seg); err == nil && o.Name == "pool" {
			in.Pool = &st
		}
	case shm.KindChannel:
		st, err := channel.Inspect(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		in.Typecode, in.Layout = string(rune(o.Typecode)), layoutInfoOf(st.Layout)
		in.Channel = &channelInfo{Head: st.Head, Tail: st.Tail, Len: st.Len, Cap: st.Cap, MaxLen: st.MaxLen,
			Closed: st.Closed, RecvWaiters: st.RecvWaiters, SendWaiters: st.SendWaiters, Recovered: st.Recovered,
			Producers: st.Producers, Consumers: st.Consumers}
	}
	return in
}

// pythonText is a char array's value as Python's repr shows it (b'shmkit':
// the bytes before the first NUL), or a wchar array's ('shmkit').
func pythonText(o *ctypes.Object) string {
	wide := o.Typecode == ctypes.CodeWChar
	var text []rune
	for i := range o.Len() {
		c := rune(uint32(o.Uint64(i)))
		if c == 0 {
			break
		}
		text = append(text, c)
	}
	// Python quotes with ' unless the text holds a ' and no ".
	quote := '\''
	if slices.Contains(text, '\'') && !slices.Contains(text, '"') {
		quote = '"'
	}
	var b strings.Builder
	if !wide {
		b.WriteString("b")
	}
	b.WriteRune(quote)
	for _, c := range text {
		switch {
		case c == '\\' || c == quote:
			b.WriteString("\\" + string(c))
		case c == '\n':
			b.WriteString("\\n")
		case c == '\t':
			b.WriteString("\\t")
		case c >= 0x20 && c < 0x7f, wide && c > 0xa0 && unicode.IsPrint(c):
			b.WriteRune(c)
		case c < 0x100:
			fmt.Fprintf(&b, "\\x%02x", c)
		case c < 0x10000:
			fmt.Fprintf(&b, "\\u%04x", c)
		default:
			fmt.Fprintf(&b, "\\U%08x", c)
		}
	}
	b.WriteRune(quote)
	return b.String()
}

// recordText shows record i as Go's %v shows a struct: its fields in
// order, an array field in brackets.
func recordText(o *ctypes.Object, i int) string {
	var parts []string
	for _, f := range o.Layout.Fields {
		v := o.Field(i, f)
		switch {
		case f.Count > 1 && (f.Typecode == ctypes.CodeChar || f.Typecode == ctypes.CodeWChar):
			parts = append(parts, pythonText(v))
		case f.Count > 1:
			elts := make([]string, f.Count)
			for k := range elts {
				elts[k] = elementText(v, k)
			}
			parts = append(parts, "["+strings.Join(elts, " ")+"]")
		default:
			parts = append(parts, elementText(v, 0))
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
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
	if in.Layout != nil {
		parts = append(parts, in.Layout.decl)
	}
	if in.Text != "" {
		parts = append(parts, in.Text)
	}
	if in.Waiters != nil {
		parts = append(parts, fmt.Sprintf("%d waiting", *in.Waiters))
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
	if p := in.Pool; p != nil {
		parts = append(parts, fmt.Sprintf("pool of parent %d (alive %v): %d queued, %d in flight, %d done, %d failed, %d retried, %d workers started",
			p.ParentPID, p.ParentAlive, p.Queued, p.InFlight, p.Done, p.Failed, p.Retried, p.Starts))
		for _, w := range p.Workers {
			parts = append(parts, fmt.Sprintf("[%d] pid %d %s alive=%v done %d", w.Slot, w.Pid, w.State, w.Alive, w.Done))
		}
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
