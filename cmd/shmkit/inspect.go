package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/embed"
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
	Values   []any        `json:"values,omitempty"` // the first few elements: numbers, chars as strings, records as objects
	texts    []string     // the same, as the table shows them
	Text     string       `json:"text,omitempty"`  // a char or wchar array, as Python shows its value
	Value    *int         `json:"value,omitempty"` // a semaphore's
	Bound    int          `json:"bound,omitempty"`
	Lock     string       `json:"lock,omitempty"`    // a mutex's state, or a locked value's
	Set      *bool        `json:"set,omitempty"`     // an event's flag
	Waiters  *int         `json:"waiters,omitempty"` // a condition's sleepers
	Barrier  *barrierInfo `json:"barrier,omitempty"`
	Channel  *channelInfo `json:"channel,omitempty"`
	Dict     *dictInfo    `json:"dict,omitempty"`
	Layout   *layoutInfo  `json:"layout,omitempty"` // the fields of records (typecode T)
	Pool     *pool.State  `json:"pool,omitempty"`   // a process pool's worker table
	Error    string       `json:"error,omitempty"`
}

// dictInfo is a dict's or list's space (package dict's Stats).
type dictInfo struct {
	Slots      int    `json:"slots"`
	HeapBytes  int64  `json:"heap_bytes"`
	UsedBytes  int64  `json:"used_bytes"`
	Recoveries uint64 `json:"recoveries"`
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
	Ended       bool   `json:"ended"`
	RecvWaiters int    `json:"recv_waiters"`
	SendWaiters int    `json:"send_waiters"`
	Recovered   int    `json:"recovered"`
	Producers   []int  `json:"producers,omitempty"`
	Consumers   []int  `json:"consumers,omitempty"`
}

const shownValues = 8

func cmdInspect(args []string, stdout io.Writer) error {
	fl := newFlags("inspect")
	asJSON := fl.Bool("json", false, "one JSON object per line")
	names, err := parse(fl, "[--json] NAME", args, stdout)
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return usagef("name one segment to inspect, not %d", len(names))
	}
	name, err := segmentName(names[0])
	if err != nil {
		return usagef("%v", err)
	}
	seg, err := shm.Open(name, shm.WithReadOnly())
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", name, errNoSegment)
	}
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
		name, seg.Size(), len(objs), seg.CreatorPID(), seg.Created().Format("2006-01-02 15:04:05"))
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
				in.Values = append(in.Values, recordValue(obj, i))
				in.texts = append(in.texts, recordText(obj, i))
			}
		default:
			for i := range min(obj.Len(), shownValues) {
				in.Values = append(in.Values, elementValue(obj, i))
				in.texts = append(in.texts, elementText(obj, i))
			}
		}
		if obj.Locked {
			size := obj.Typecode.Size()
			if obj.Layout != nil {
				size = obj.Layout.Size
			}
			if m := embed.LockOf(o, o.Count*uint64(size)); m != nil {
				in.Lock = embed.StateOf(m).String()
			}
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
		fallthrough
	case shm.KindRMutex:
		st, err := embed.InspectMutex(seg, o.Name, o.Kind)
		if err != nil {
			return fail(err)
		}
		in.Lock = st.String()
	case shm.KindEvent:
		ev, err := semaphore.OpenEvent(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		set := ev.IsSet()
		in.Set = &set
	case shm.KindCond:
		st, err := embed.InspectCond(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		in.Waiters = &st.Waiters
	case shm.KindBarrier:
		b, err := semaphore.OpenBarrier(seg, o.Name)
		if err != nil {
			return fail(err)
		}
		in.Barrier = &barrierInfo{Parties: b.Parties(), Waiting: b.Waiting(), Broken: b.Broken()}
	case shm.KindDict, shm.KindList:
		if err := describeDict(seg, o, &in); err != nil {
			return fail(err)
		}
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
			Ended: st.Ended, RecvWaiters: st.RecvWaiters, SendWaiters: st.SendWaiters, Recovered: st.Recovered,
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

// elementValue is element i for JSON: a number, or a char as a
// one-character string. NaN and the infinities, which JSON has no number
// for, are the strings "NaN", "+Inf" and "-Inf".
func elementValue(o *ctypes.Object, i int) any {
	switch {
	case o.Typecode.IsFloat():
		f := o.Float64(i)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f)
		}
		return f
	case o.Typecode == ctypes.CodeChar:
		return string(rune(o.Uint64(i))) // a byte, read as Latin-1
	case o.Typecode == ctypes.CodeWChar:
		return string(rune(o.Int64(i)))
	case o.Typecode.IsSigned():
		return o.Int64(i)
	}
	return o.Uint64(i)
}

// recordValue is record i for JSON: an object of its fields, in order; a
// char array field as its text (as "text" shows a char array).
func recordValue(o *ctypes.Object, i int) orderedObject {
	var rec orderedObject
	for _, f := range o.Layout.Fields {
		v := o.Field(i, f)
		var value any
		switch {
		case f.Count > 1 && (f.Typecode == ctypes.CodeChar || f.Typecode == ctypes.CodeWChar):
			value = pythonText(v)
		case f.Count > 1:
			elts := make([]any, f.Count)
			for k := range elts {
				elts[k] = elementValue(v, k)
			}
			value = elts
		default:
			value = elementValue(v, 0)
		}
		rec = append(rec, field{f.Name, value})
	}
	return rec
}

// orderedObject is a JSON object whose keys keep their order.
type orderedObject []field

type field struct {
	name  string
	value any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, f := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(f.name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
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
	if in.Kind == "value" || in.Kind == "array" || in.Kind == "dict" || in.Kind == "list" {
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
	if len(in.texts) > 0 {
		v := strings.Join(in.texts, " ")
		if in.Len > len(in.texts) {
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
	if d := in.Dict; d != nil {
		parts = append(parts, fmt.Sprintf("%d slots, heap %d bytes, %d in use, %d repairs", d.Slots, d.HeapBytes, d.UsedBytes, d.Recoveries))
	}
	if c := in.Channel; c != nil {
		parts = append(parts, fmt.Sprintf("%d/%d queued, max %d, ended=%v, waiting %d recv %d send, %d recovered",
			c.Len, c.Cap, c.MaxLen, c.Ended, c.RecvWaiters, c.SendWaiters, c.Recovered))
	}
	return strings.Join(parts, ", ")
}

// describeDict shows a dict's or list's length, space and first items in
// Python's notation.
func describeDict(seg *shm.Segment, o shm.Object, in *objectInfo) error {
	var st dict.Stats
	if o.Kind == shm.KindList {
		l, err := dict.OpenList(seg, o.Name)
		if err != nil {
			return err
		}
		defer l.Close()
		if st, err = l.Stats(); err != nil {
			return err
		}
		for i := range min(st.Len, shownValues) {
			v, err := l.Get(i)
			if err != nil {
				return err
			}
			in.Values = append(in.Values, pythonRepr(v))
		}
	} else {
		d, err := dict.Open(seg, o.Name)
		if err != nil {
			return err
		}
		defer d.Close()
		if st, err = d.Stats(); err != nil {
			return err
		}
		err = d.Range(func(k, v any) bool {
			in.Values = append(in.Values, pythonRepr(k)+": "+pythonRepr(v))
			return len(in.Values) < shownValues
		})
		if err != nil {
			return err
		}
	}
	in.Len = st.Len
	in.Dict = &dictInfo{Slots: st.Slots, HeapBytes: st.HeapBytes, UsedBytes: st.UsedBytes, Recoveries: st.Recoveries}
	return nil
}

// pythonRepr is a dict's key or value as Python's repr shows it (near enough
// for a look: strings in single quotes, bytes as b'...').
func pythonRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return strconv.Quote(x)
	case []byte:
		return "b" + strconv.Quote(string(x))
	case dict.Pickled:
		return fmt.Sprintf("<pickle, %d bytes>", len(x))
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}
