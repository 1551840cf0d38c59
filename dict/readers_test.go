package dict_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// The writers of the reader tests, in Go (helperWriter), C
// (testdata/writer.c) and Python (testdata/writer.py), set the keys
// "k<i>", i < writerKeys, at step s to one of three forms, each checkable
// against i: an int64 s<<32 | mix(i, s) (overwritten in place when the
// old value is one too), an 8-character string of s's low 16 bits and
// theirs mixed with i (in place too), or "k<i>/<s>/" and a pad whose
// letter and length follow from s (sometimes 16 KiB, so the heap grows).
// A value that mixes two writes, or is another key's, fails valid.
const writerKeys = 4000

func mix(i, s uint64) uint32 { return uint32((i*0x9E3779B97F4A7C15 ^ s*0xC2B2AE3D27D4EB4F) >> 32) }

func padLen(s uint64) int {
	if s%97 == 0 {
		return 16384 + int(s%100)
	}
	return int(s * 7 % 300)
}

// valid says why v cannot be a value a writer set for key i, or nil.
func valid(i uint64, v any) error {
	switch x := v.(type) {
	case int64:
		if s := uint64(x) >> 32; uint32(x) != mix(i, s) {
			return fmt.Errorf("k%d: int %#x is no write's", i, x)
		}
		return nil
	case string:
		if len(x) == 8 && !strings.Contains(x, "/") {
			s, err1 := strconv.ParseUint(x[:4], 16, 16)
			c, err2 := strconv.ParseUint(x[4:], 16, 16)
			if err1 != nil || err2 != nil || uint32(c) != mix(i, s)&0xffff {
				return fmt.Errorf("k%d: short string %q is no write's", i, x)
			}
			return nil
		}
		parts := strings.SplitN(x, "/", 3)
		if len(parts) == 3 && parts[0] == "k"+strconv.FormatUint(i, 10) {
			if s, err := strconv.ParseUint(parts[1], 10, 64); err == nil &&
				parts[2] == strings.Repeat(string(rune('a'+s%26)), padLen(s)) {
				return nil
			}
		}
		return fmt.Errorf("k%d: string of %d bytes %.40q is no write's", i, len(x), x)
	}
	return fmt.Errorf("k%d: %T %v is no write's", i, v, v)
}

// splitmix64, as writer.c steps it.
func next(x *uint64) uint64 {
	*x += 0x9E3779B97F4A7C15
	z := *x
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

type item struct{ k, v any }

// finals are the keys of every tag that writer id (prefix: "g" Go, "c"
// C, "p" Python) sets at its end, with their values: strings and bytes
// of 0 to 70 bytes (every tail after every count of 8-byte words), long
// keys, integers and floats; the C writer also true, false and None.
func finals(prefix string, id int) []item {
	var items []item
	for l := range 71 {
		items = append(items, item{prefix + "s" + strings.Repeat("z", l), int64(l*1000 + id)})
		b := []byte(prefix + "b")
		for j := range l {
			b = append(b, byte(j*7%256))
		}
		items = append(items, item{b, "b" + strconv.Itoa(l)})
	}
	for _, l := range []int{1000, 5000, 100000} {
		items = append(items, item{prefix + "long" + strings.Repeat("q", l), int64(l)})
	}
	for j := range 10 {
		items = append(items, item{int64((id+1)*1000000 + j), float64(j) + 0.5})
		items = append(items, item{float64(id+1)*1000.25 + float64(j), []byte{byte(id), byte(j)}})
	}
	if prefix == "c" {
		items = append(items, item{true, "T"}, item{false, "F"}, item{nil, "N"})
	}
	return items
}

// helperWriter is the Go writer: args segment dict id seed ops. It also
// clears the dict every 20,000 steps, so that the table is replaced and
// grows again under the readers; then as writer.c.
func helperWriter(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	d := openDict(seg, args[1])
	defer d.Close()
	id, _ := strconv.ParseUint(args[2], 10, 64)
	x, _ := strconv.ParseUint(args[3], 10, 64)
	ops, _ := strconv.Atoi(args[4])
	for n := range ops {
		r := next(&x)
		i, s := r%writerKeys, id*100000000+uint64(n)
		k := "k" + strconv.FormatUint(i, 10)
		var err error
		switch op := r >> 20 % 16; {
		case n%20000 == 10000:
			err = d.Clear()
		case op < 5:
			err = d.Set(k, int64(s<<32|uint64(mix(i, s))))
		case op < 8:
			t := s & 0xffff
			err = d.Set(k, fmt.Sprintf("%04x%04x", t, mix(i, t)&0xffff))
		case op < 13:
			err = d.Set(k, fmt.Sprintf("k%d/%d/", i, s)+strings.Repeat(string(rune('a'+s%26)), padLen(s)))
		default:
			_, err = d.Delete(k)
		}
		if err != nil {
			return proctest.Fail("step %d: %v", n, err)
		}
	}
	fmt.Println("churned")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return proctest.Fail("no go-ahead: %v", err)
	}
	for _, it := range finals("g", int(id)) {
		if err := d.Set(it.k, it.v); err != nil {
			return proctest.Fail("final %v: %v", it.k, err)
		}
	}
	fmt.Println("done")
	return 0
}

// buildWriter compiles testdata/writer.c with the C library, or skips
// the C writer (""): no C compiler.
func buildWriter(t *testing.T) string {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Log("no cc: no C writer")
		return ""
	}
	out := filepath.Join(t.TempDir(), "writer")
	b, err := exec.Command(cc, "-O2", "-Wall", "-Werror", "-I../cgo", "-o", out, "testdata/writer.c", "../cgo/shmkit.c",
		"-lpthread").CombinedOutput()
	require.NoError(t, err, "cc: %s", b)
	return out
}

// pythonWriter is the command of the Python writer, or nil: no python3.
func pythonWriter(t *testing.T, args ...string) *exec.Cmd {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("no python3: no Python writer")
		return nil
	}
	pkg, err := filepath.Abs("../python")
	require.NoError(t, err)
	cmd := exec.CommandContext(t.Context(), py, append([]string{"testdata/writer.py"}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pkg, "SHMKIT_CACHE="+t.TempDir())
	return cmd
}

// TestReadersMeetWriters: writer processes in Go, C and Python overwrite
// (in place and with new items), delete, re-insert, grow and clear a dict
// while goroutines here Get its keys. Every value read is one a writer
// set for that key, whole; the keys of every tag that C and Python set at
// their end are found by the Go reader itself, not by a call into C.
func TestReadersMeetWriters(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "rw")
	goOps, cOps, pyOps := 200000, 600000, 40000
	if testing.Short() {
		goOps, cOps, pyOps = 40000, 100000, 10000
	}
	type writer struct {
		cmd    *exec.Cmd
		prefix string
		id     int
	}
	writers := []writer{{proctest.Command(t, "dict-writer", name, "rw", "0", "1", strconv.Itoa(goOps)), "g", 0}}
	if exe := buildWriter(t); exe != "" {
		writers = append(writers, writer{exec.CommandContext(t.Context(), exe, name, "rw", "1", "2", strconv.Itoa(cOps)), "c", 1})
	}
	if cmd := pythonWriter(t, name, "rw", "2", "3", strconv.Itoa(pyOps)); cmd != nil {
		writers = append(writers, writer{cmd, "p", 2})
	}

	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads, found atomic.Int64
	errs := make(chan error, 8)
	for g := range 3 {
		readers.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 5))
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := r.Uint64N(writerKeys)
				v, ok, err := d.Get("k" + strconv.FormatUint(i, 10))
				reads.Add(1)
				if err == nil && ok {
					found.Add(1)
					err = valid(i, v)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var outcomes sync.Map // how the Go reader's own looks ended
	readers.Go(func() {
		r := rand.New(rand.NewPCG(9, 5))
		for {
			select {
			case <-stop:
				return
			default:
			}
			i := r.Uint64N(writerKeys)
			v, how, err := dict.GoRead(d, "k"+strconv.FormatUint(i, 10))
			if err == nil && how == "hit" {
				err = valid(i, v)
			}
			if err != nil {
				errs <- err
				return
			}
			n, _ := outcomes.LoadOrStore(how, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
	})

	// Each writer churns, says so, and once all have (the Go writer's
	// clears would wipe them) sets its keys of every tag.
	churned := make(chan string, len(writers))
	goAhead := make([]io.WriteCloser, len(writers))
	for n, w := range writers {
		w.cmd.Stderr = os.Stderr
		out, err := w.cmd.StdoutPipe()
		require.NoError(t, err)
		goAhead[n], err = w.cmd.StdinPipe()
		require.NoError(t, err)
		require.NoError(t, w.cmd.Start())
		go func() {
			s := bufio.NewScanner(out)
			for s.Scan() {
				if s.Text() == "churned" {
					churned <- w.prefix
				} else if s.Text() != "done" {
					t.Logf("writer %s: %s", w.prefix, s.Text())
				}
			}
			churned <- "" // ended: before churning if nothing was sent yet
		}()
	}
	for range writers {
		if <-churned == "" {
			t.Error("a writer ended before it churned")
			break
		}
	}
	for _, w := range goAhead {
		fmt.Fprintln(w)
		w.Close()
	}
	for _, w := range writers {
		assert.NoError(t, w.cmd.Wait(), "writer %s", w.prefix)
	}
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The keys of every tag each writer set last, by Get and by the Go
	// reader alone (Get has mapped what the writers grew).
	goHits := 0
	for _, w := range writers {
		for _, it := range finals(w.prefix, w.id) {
			v, ok, err := d.Get(it.k)
			require.NoError(t, err)
			require.True(t, ok, "writer %s's key %.30v", w.prefix, it.k)
			assert.Equal(t, it.v, v, "writer %s's key %.30v", w.prefix, it.k)
			v, how, err := dict.GoRead(d, it.k)
			require.NoError(t, err)
			if dict.GoReads {
				require.Equal(t, "hit", how, "writer %s's key %.30v", w.prefix, it.k)
				assert.Equal(t, it.v, v, "writer %s's key %.30v", w.prefix, it.k)
				goHits++
			}
		}
	}
	// And what the churn left.
	left := 0
	require.NoError(t, d.Range(func(k, v any) bool {
		if s, ok := k.(string); ok && len(s) > 1 && s[0] == 'k' && !bytes.ContainsAny([]byte(s[1:]), "/q") {
			if i, err := strconv.ParseUint(s[1:], 10, 64); err == nil {
				assert.NoError(t, valid(i, v))
				left++
			}
		}
		return true
	}))
	var how []string
	outcomes.Range(func(k, n any) bool { how = append(how, fmt.Sprintf("%s %d", k, n.(*atomic.Int64).Load())); return true })
	st, err := d.Stats()
	require.NoError(t, err)
	t.Logf("%d writers; %d Gets (%d found), each checked; the Go reader's looks: %v; %d final keys hit in Go; %d churned keys left; heap %d bytes",
		len(writers), reads.Load(), found.Load(), how, goHits, left, st.HeapBytes)
	if dict.GoReads {
		n, ok := outcomes.Load("hit")
		assert.True(t, ok && n.(*atomic.Int64).Load() > 0, "the Go reader found keys while the writers ran")
	}
}

// What the Go reader cannot settle it leaves to the C library: an item or
// table past what this process has mapped (another handle grew the heap),
// which C then maps; an item that looks corrupt, which C reports; a
// seqlock a killed writer left odd (TestOverwriteInPlaceKilled).
func TestGoReaderLeavesToC(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	if !dict.GoReads {
		t.Skip("this architecture reads dicts through C only")
	}
	seg, _ := proctest.Segment(t, 1<<16)
	w := newDict(t, seg, "g")
	require.NoError(t, w.Set("first", int64(1)))
	r, err := dict.Open(seg, "g")
	require.NoError(t, err)
	defer r.Close()
	v, how, err := dict.GoRead(r, "first")
	require.NoError(t, err)
	require.Equal(t, "hit", how)
	assert.Equal(t, int64(1), v)

	// Grow the heap through the other handle to 16 times what r mapped.
	st, err := r.Stats()
	require.NoError(t, err)
	last := ""
	for i := 0; ; i++ {
		last = "big" + strconv.Itoa(i)
		require.NoError(t, w.Set(last, strings.Repeat("x", 4096)+last))
		if i%64 == 0 {
			now, err := w.Stats()
			require.NoError(t, err)
			if now.HeapBytes >= 16*st.HeapBytes {
				break
			}
		}
	}
	_, how, err = dict.GoRead(r, last)
	require.NoError(t, err)
	assert.Equal(t, "askC", how, "an item past r's mapping")
	v, ok, err := r.Get(last) // C maps the rest
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, strings.Repeat("x", 4096)+last, v)
	v, how, err = dict.GoRead(r, last)
	require.NoError(t, err)
	assert.Equal(t, "hit", how, "once C has mapped it")
	assert.Equal(t, strings.Repeat("x", 4096)+last, v)

	// An item whose value length is past every limit.
	require.NoError(t, w.Set("victim", "abc"))
	path := "/dev/shm/" + dict.HeapName(w)
	heap, err := os.ReadFile(path)
	require.NoError(t, err)
	at := bytes.Index(heap, []byte("victimabc"))
	require.Positive(t, at)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	lens := int64(at - 4) // the item's val_len, after its key_len
	_, err = f.WriteAt([]byte{0xf0, 0xff, 0xff, 0xff}, lens)
	require.NoError(t, err)
	_, how, err = dict.GoRead(r, "victim")
	require.NoError(t, err)
	assert.Equal(t, "askC", how, "a corrupt item")
	_, _, err = r.Get("victim")
	assert.ErrorIs(t, err, shm.ErrCorrupt)
	_, err = f.WriteAt([]byte{3, 0, 0, 0}, lens)
	require.NoError(t, err)
	v, how, err = dict.GoRead(r, "victim")
	require.NoError(t, err)
	assert.Equal(t, "hit", how)
	assert.Equal(t, "abc", v)
}

// Close waits for the Gets in flight, Go reads included, before the heap
// is unmapped: every Get racing it returns a value or ErrClosed.
func TestCloseRacesGets(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	w := newDict(t, seg, "c")
	for i := range 1000 {
		require.NoError(t, w.Set("k"+strconv.Itoa(i), int64(i)))
	}
	rounds, gets := 100, 0
	if testing.Short() {
		rounds = 50
	}
	for range rounds {
		m, err := dict.OpenMap[string, int64](seg, "c")
		require.NoError(t, err)
		var wg sync.WaitGroup
		var n atomic.Int64
		started := make(chan struct{}, 2)
		for g := range 2 {
			wg.Go(func() {
				for i := g; ; i++ {
					v, ok, err := m.Get("k" + strconv.Itoa(i%1000))
					if errors.Is(err, dict.ErrClosed) {
						return
					}
					if err != nil || !ok || v != int64(i%1000) {
						t.Errorf("get k%d: %d %v %v", i%1000, v, ok, err)
						return
					}
					if n.Add(1) == 1 || i == g+10 {
						select {
						case started <- struct{}{}:
						default:
						}
					}
				}
			})
		}
		<-started
		require.NoError(t, m.Close())
		wg.Wait()
		gets += int(n.Load())
	}
	t.Logf("%d rounds, %d Gets before Close", rounds, gets)
}

// A Range whose function calls the same dict while another goroutine
// closes it: the nested calls return ErrClosed, nothing waits for ever.
// Close took the handle's RWMutex for writing, waiting for the Range,
// and a nested Get's read lock then waited behind that Close.
func TestCloseDuringRangeThatCallsBack(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	w := newDict(t, seg, "c")
	for i := range 50 {
		require.NoError(t, w.Set("k"+strconv.Itoa(i), int64(i)))
	}
	for round := range 20 {
		d, err := dict.Open(seg, "c")
		require.NoError(t, err)
		closed := make(chan error, 1)
		done := make(chan error, 1)
		go func() {
			first := true
			done <- d.Range(func(k, v any) bool {
				if first {
					first = false
					go func() { closed <- d.Close() }()
				}
				// Until Close has begun: then every nested call is ErrClosed.
				for {
					got, _, err := d.Get(k)
					if errors.Is(err, dict.ErrClosed) {
						return false
					}
					if err != nil || got != v {
						t.Errorf("nested get %v: %v %v", k, got, err)
						return false
					}
				}
			})
		}()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: Range calling Get deadlocked with a Close in another goroutine", round)
		}
		require.NoError(t, <-closed)
		_, _, err = d.Get("k1")
		require.ErrorIs(t, err, dict.ErrClosed)
		require.ErrorIs(t, d.Close(), dict.ErrClosed)
	}
}
