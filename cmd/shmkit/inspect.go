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

// dictInfo is a dict's or list's space (package dict's Stats) and its
// first items in each language's notation.
type dictInfo struct {
	Slots      int      `json:"slots"`
	Load       float64  `json:"load"` // keys per slot (a dict), items per room (a list)
	HeapBytes  int64    `json:"heap_bytes"`
	UsedBytes  int64    `json:"used_bytes"`
	Recoveries uint64   `json:"recoveries"`
	Go         []string `json:"go"` // the first items as Go shows them ("key": value for a dict)
	Python     []string `json:"python"`
	C          []string `json:"c"` // tags and values, as shmkit.h names them
	list       bool
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
		if o.Name == "pool" { // the one name a pool's table has: no other object is read as one
			if st, err := pool.Inspect(seg); err == nil {
				in.Pool = &st
			}
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
		case c < 0 || c > unicode.MaxRune: // no character: as Python's escape would spell the number
			fmt.Fprintf(&b, "\\U%08x", uint32(c))
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
			row := fmt.Sprintf("[%d] pid %d %s alive=%v done %d", w.Slot, w.Pid, w.State, w.Alive, w.Done)
			if w.Problem != "" {
				row += " (untrusted: " + w.Problem + ")"
			}
			parts = append(parts, row)
		}
	}
	if b := in.Barrier; b != nil {
		parts = append(parts, fmt.Sprintf("%d/%d waiting, broken=%v", b.Waiting, b.Parties, b.Broken))
	}
	if d := in.Dict; d != nil {
		parts = append(parts, fmt.Sprintf("load %.2f of %d slots, heap %d bytes, %d in use, %d repairs", d.Load, d.Slots, d.HeapBytes, d.UsedBytes, d.Recoveries))
		more := ""
		if in.Len > len(d.Python) {
			more = ", …"
		}
		open, close := "{", "}"
		goOpen := "map[any]any{"
		if d.list {
			open, close, goOpen = "[", "]", "[]any{"
		}
		parts = append(parts, "python "+open+strings.Join(d.Python, ", ")+more+close,
			"go "+goOpen+strings.Join(d.Go, ", ")+more+"}", "c "+open+strings.Join(d.C, ", ")+more+close)
	}
	if c := in.Channel; c != nil {
		parts = append(parts, fmt.Sprintf("%d/%d queued, max %d, ended=%v, waiting %d recv %d send, %d recovered",
			c.Len, c.Cap, c.MaxLen, c.Ended, c.RecvWaiters, c.SendWaiters, c.Recovered))
	}
	return strings.Join(parts, ", ")
}

// describeDict shows a dict's or list's length, load, space and first
// items in Python's, Go's and C's notation.
func describeDict(seg *shm.Segment, o shm.Object, in *objectInfo) error {
	var st dict.Stats
	info := &dictInfo{list: o.Kind == shm.KindList}
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
			info.Python = append(info.Python, pythonRepr(v))
			info.Go = append(info.Go, goRepr(v))
			info.C = append(info.C, cRepr(v))
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
			info.Python = append(info.Python, pythonRepr(k)+": "+pythonRepr(v))
			info.Go = append(info.Go, goRepr(k)+": "+goRepr(v))
			info.C = append(info.C, cRepr(k)+": "+cRepr(v))
			return len(in.Values) < shownValues
		})
		if err != nil {
			return err
		}
	}
	in.Len = st.Len
	info.Slots, info.HeapBytes, info.UsedBytes, info.Recoveries = st.Slots, st.HeapBytes, st.UsedBytes, st.Recoveries
	if st.Slots > 0 {
		info.Load = float64(st.Len) / float64(st.Slots)
	}
	in.Dict = info
	return nil
}

// pyQuote is s as Python's repr quotes it: single quotes unless s holds
// one and no double quote, and escapes for what is not printable.
func pyQuote(s string, prefix string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, "\"") {
		q = '"'
	}
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteByte(q)
	runes := []rune(s)
	if prefix == "b" { // bytes, one by one
		runes = make([]rune, len(s))
		for i := range len(s) {
			runes[i] = rune(s[i])
		}
	}
	for _, r := range runes {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString("\\n")
		case r == '\t':
			b.WriteString("\\t")
		case r == '\r':
			b.WriteString("\\r")
		case r < 0x20 || r == 0x7f || (prefix == "b" && r >= 0x80) || (r >= 0x80 && r < 0x100 && !unicode.IsPrint(r)):
			b.WriteString(fmt.Sprintf("\\x%02x", r))
		case !unicode.IsPrint(r) && r < 0x10000:
			b.WriteString(fmt.Sprintf("\\u%04x", r))
		case !unicode.IsPrint(r):
			b.WriteString(fmt.Sprintf("\\U%08x", r))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// recordFields is a record's fields as name and value texts, each in
// Python's notation (numbers, b'x' chars, [..] arrays).
func recordFields(r dict.Record) (names, values []string) {
	for _, f := range r.Layout.Fields {
		size := f.Typecode.Size()
		elem := func(k int) string {
			p := r.Data[f.Offset+k*size : f.Offset+(k+1)*size]
			var u uint64
			for i := size - 1; i >= 0; i-- {
				u = u<<8 | uint64(p[i])
			}
			switch {
			case f.Typecode == ctypes.CodeFloat:
				return strconv.FormatFloat(float64(math.Float32frombits(uint32(u))), 'g', -1, 32)
			case f.Typecode == ctypes.CodeDouble:
				return strconv.FormatFloat(math.Float64frombits(u), 'g', -1, 64)
			case f.Typecode == ctypes.CodeChar:
				return pyQuote(string([]byte{byte(u)}), "b")
			case f.Typecode == ctypes.CodeWChar:
				return pyQuote(string(rune(u)), "")
			case f.Typecode.IsSigned():
				shift := 64 - 8*size
				return strconv.FormatInt(int64(u<<shift)>>shift, 10)
			}
			return strconv.FormatUint(u, 10)
		}
		v := elem(0)
		if f.Count > 1 {
			elts := make([]string, f.Count)
			for k := range elts {
				elts[k] = elem(k)
			}
			v = "[" + strings.Join(elts, ", ") + "]"
		}
		names = append(names, f.Name)
		values = append(values, v)
	}
	return names, values
}

// pythonRepr is a dict's key or value as Python's repr shows it; a record
// as a tuple of its fields, as numpy shows a structured scalar.
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
		return pyQuote(x, "")
	case []byte:
		return pyQuote(string(x), "b")
	case dict.Pickled:
		return fmt.Sprintf("<pickle, %d bytes>", len(x))
	case float64:
		return pyFloat(x)
	case dict.Record:
		_, values := recordFields(x)
		return "(" + strings.Join(values, ", ") + ")"
	}
	return fmt.Sprint(v)
}

// pyFloat is f as Python's repr shows it: 1.0, 0.25, 1e+16, inf, nan.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	t := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(t, ".en") {
		t += ".0"
	}
	return t
}

// goRepr is a key or value as Go's %#v shows what Dict.Get returns.
func goRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case int64:
		return fmt.Sprintf("int64(%d)", x)
	case float64:
		return fmt.Sprintf("float64(%s)", strconv.FormatFloat(x, 'g', -1, 64))
	case []byte:
		return fmt.Sprintf("[]byte(%q)", x)
	case dict.Pickled:
		return fmt.Sprintf("dict.Pickled(%d bytes)", len(x))
	case dict.Record:
		names, values := recordFields(x)
		for i := range names {
			values[i] = names[i] + ": " + values[i]
		}
		return x.Layout.TypeName + "{" + strings.Join(values, ", ") + "}"
	}
	return fmt.Sprintf("%#v", v)
}

// cRepr is a key or value as the C library gives it: its SHMKIT_TAG_ and
// its bytes' meaning.
func cRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "NONE"
	case bool:
		if x {
			return "BOOL 1"
		}
		return "BOOL 0"
	case int64:
		return fmt.Sprintf("INT %d", x)
	case float64:
		return "FLOAT " + strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "STR " + strconv.Quote(x)
	case []byte:
		return fmt.Sprintf("BYTES %d {%s}", len(x), hexBytes(x))
	case dict.Pickled:
		return fmt.Sprintf("PICKLE %d bytes", len(x))
	case dict.Record:
		names, values := recordFields(x)
		for i := range names {
			values[i] = "." + names[i] + " = " + values[i]
		}
		return fmt.Sprintf("RECORD struct %s {%s}", x.Layout.TypeName, strings.Join(values, ", "))
	}
	return fmt.Sprint(v)
}

func hexBytes(b []byte) string {
	parts := make([]string, 0, min(len(b), 16))
	for _, c := range b[:min(len(b), 16)] {
		parts = append(parts, fmt.Sprintf("0x%02x", c))
	}
	if len(b) > 16 {
		parts = append(parts, "…")
	}
	return strings.Join(parts, ", ")
}
