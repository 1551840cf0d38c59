package interop_test

import (
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// valueCase is one typecode's value: Go writes first, the peer prints it
// and writes the next value (x+1, or x*2 for floats), Go reads next.
type valueCase struct {
	tc          byte
	create      func(seg *shm.Segment, name string) error
	read        func(seg *shm.Segment, name string) (string, error)
	first, next string
}

func numeric[T ctypes.Elem](tc byte, first, next T) valueCase {
	format := func(x T) string {
		switch v := any(x).(type) {
		case float32:
			return strconv.FormatFloat(float64(v), 'g', -1, 32)
		case float64:
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return fmt.Sprint(x)
	}
	return valueCase{
		tc: tc,
		create: func(seg *shm.Segment, name string) error {
			_, err := ctypes.NewValue(seg, name, first)
			return err
		},
		read: func(seg *shm.Segment, name string) (string, error) {
			v, err := ctypes.OpenValue[T](seg, name)
			if err != nil {
				return "", err
			}
			x, err := v.Get()
			return format(x), err
		},
		first: format(first), next: format(next),
	}
}

var valueCases = []valueCase{
	numeric[ctypes.Char]('c', 'A', 'B'),
	numeric[int8]('b', -5, -4),
	numeric[uint8]('B', 200, 201),
	numeric[int16]('h', -300, -299),
	numeric[uint16]('H', 60000, 60001),
	numeric[int32]('i', -70000, -69999),
	numeric[uint32]('I', 4000000000, 4000000001),
	numeric[ctypes.Long]('l', -5000000000000, -4999999999999),
	numeric[ctypes.ULong]('L', 10000000000000000000, 10000000000000000001),
	numeric[int64]('q', -9000000000000000000, -8999999999999999999),
	numeric[uint64]('Q', 18000000000000000000, 18000000000000000001),
	numeric[float32]('f', 1.5, 3),
	numeric[float64]('d', -2.25, -4.5),
	numeric[ctypes.WChar]('u', 'é', 'ê'),
}

// TestValues: Go writes a value of every typecode, the peer reads each and
// writes back under the value's lock, Go checks.
func TestValues(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		var want []string
		for _, c := range valueCases {
			require.NoError(t, c.create(seg, "v_"+string(c.tc)))
			want = append(want, string(c.tc)+"="+c.first)
		}
		assert.Equal(t, strings.Join(want, "\n"), run(t, p, "values", name))
		for _, c := range valueCases {
			got, err := c.read(seg, "v_"+string(c.tc))
			require.NoError(t, err)
			assert.Equal(t, c.next, got, "typecode %c", c.tc)
		}
	})
}

// TestArray: Go fills an array, the peer sums it and rewrites each element.
func TestArray(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		const n = 10000
		init := make([]float64, n)
		for i := range init {
			init[i] = float64(i)
		}
		a, err := ctypes.NewArrayFrom(seg, "a", init)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("count=%d sum=%d", n, n*(n-1)/2), run(t, p, "array", name, "a"))
		for i, x := range a.Raw().Slice() {
			require.Equal(t, float64(2*i+1), x, "element %d", i)
		}
	})
}

// TestSemaphoreGoWakesPeer: the peer sleeps in acquire until Go releases.
func TestSemaphoreGoWakesPeer(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		sem, err := semaphore.New(seg, "sem", 0)
		require.NoError(t, err)
		r := start(t, p, "sem-wait", name, "sem")
		r.expect(t, "waiting")
		require.NoError(t, sem.Release())
		r.expect(t, "acquired")
		require.NoError(t, r.cmd.Wait())
		v, err := sem.Value()
		require.NoError(t, err)
		assert.Equal(t, 0, v)
	})
}

// TestSemaphorePeerWakesGo: a Go goroutine asleep in Acquire is woken by
// the peer's release.
func TestSemaphorePeerWakesGo(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		sem, err := semaphore.New(seg, "sem", 0)
		require.NoError(t, err)
		woken := make(chan error, 1)
		go func() {
			ok, err := sem.AcquireTimeout(time.Minute)
			if err == nil && !ok {
				err = fmt.Errorf("not woken within a minute")
			}
			woken <- err
		}()
		assert.Equal(t, "released", run(t, p, "sem-post", name, "sem"))
		require.NoError(t, <-woken)
	})
}

// TestMutexPeerKilled: the peer dies holding the mutex; Go's Lock reports
// ErrOwnerDead, repairs, and the mutex works again.
func TestMutexPeerKilled(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		m, err := semaphore.NewMutex(seg, "m")
		require.NoError(t, err)
		r := start(t, p, "mutex-hold", name, "m")
		r.expect(t, "locked")
		require.NoError(t, r.cmd.Process.Signal(syscall.SIGKILL))
		r.cmd.Wait()
		err = m.Lock()
		require.ErrorIs(t, err, semaphore.ErrOwnerDead)
		require.NoError(t, m.Consistent())
		require.NoError(t, m.Unlock())
		require.NoError(t, m.Lock())
		require.NoError(t, m.Unlock())
	})
}

// TestMutexGoKilled: a Go process dies holding the mutex; the peer's lock
// reports owner death, repairs and unlocks.
func TestMutexGoKilled(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		m, err := semaphore.NewMutex(seg, "m")
		require.NoError(t, err)
		holder := proctest.Command(t, "holdmutex", name, "m")
		out, err := holder.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, holder.Start())
		line := make([]byte, len("locked\n"))
		_, err = io.ReadFull(out, line)
		require.NoError(t, err)
		require.NoError(t, holder.Process.Signal(syscall.SIGKILL))
		holder.Wait()
		assert.Equal(t, "ownerdead\nok", run(t, p, "mutex-lock", name, "m"))
		ok, err := m.TryLock()
		require.NoError(t, err)
		require.True(t, ok, "repaired by the peer")
		require.NoError(t, m.Unlock())
	})
}

const (
	messages = 2000
	msgLen   = 50
	total    = messages * msgLen * (messages*msgLen - 1) / 2 // sum of 0..messages*msgLen-1
)

// channelKinds are the two channel protocols every peer speaks.
var channelKinds = map[string][]channel.Option{"any": nil, "spsc": {channel.WithSPSC()}}

// eachChannelKind runs f for each peer and each channel protocol.
func eachChannelKind(t *testing.T, f func(t *testing.T, p peer, opts []channel.Option)) {
	for kind, opts := range channelKinds {
		t.Run("kind="+kind, func(t *testing.T) {
			eachPeer(t, func(t *testing.T, p peer) { f(t, p, opts) })
		})
	}
}

// TestChannelPeerToGo: the peer sends and closes; Go receives every
// message in order, then io.EOF.
func TestChannelPeerToGo(t *testing.T) {
	eachChannelKind(t, func(t *testing.T, p peer, opts []channel.Option) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", 8, msgLen, opts...)
		require.NoError(t, err)
		ch.RegisterReceiver()
		r := start(t, p, "send", name, "ch", strconv.Itoa(messages), strconv.Itoa(msgLen))
		buf := make([]float64, msgLen)
		for k := range messages {
			n, err := ch.Recv(buf)
			require.NoError(t, err, "message %d", k)
			require.Equal(t, msgLen, n)
			for j, x := range buf {
				require.Equal(t, float64(k*msgLen+j), x, "message %d element %d", k, j)
			}
		}
		_, err = ch.Recv(buf)
		require.ErrorIs(t, err, io.EOF)
		r.expect(t, fmt.Sprintf("sent=%d sum=%d", messages, total))
		require.NoError(t, r.cmd.Wait())
	})
}

// TestChannelGoToPeer: Go sends and closes; the peer receives every message
// in order, then EOF.
func TestChannelGoToPeer(t *testing.T) {
	eachChannelKind(t, func(t *testing.T, p peer, opts []channel.Option) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", 8, msgLen, opts...)
		require.NoError(t, err)
		r := start(t, p, "recv", name, "ch")
		msg := make([]float64, msgLen)
		for k := range messages {
			for j := range msg {
				msg[j] = float64(k*msgLen + j)
			}
			require.NoError(t, ch.Send(msg))
		}
		require.NoError(t, ch.End())
		r.expect(t, fmt.Sprintf("received=%d sum=%d order=ok", messages, total))
		require.NoError(t, r.cmd.Wait())
	})
}

// TestJoinable: a joinable channel in both directions. Go sends and
// joins while the peer marks each message done; then the peer sends and
// joins while Go ranges over Messages and marks each done.
func TestJoinable(t *testing.T) {
	eachChannelKind(t, func(t *testing.T, p peer, opts []channel.Option) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "to-peer", 8, msgLen, append(opts, channel.WithJoinable())...)
		require.NoError(t, err)
		msg := make([]float64, msgLen)
		send := func(k int) {
			for j := range msg {
				msg[j] = float64(k*msgLen + j)
			}
			require.NoError(t, ch.Send(msg))
		}
		for k := range ch.Cap() { // nobody receives yet: the join cannot end
			send(k)
		}
		ok, err := ch.JoinTimeout(time.Millisecond)
		require.NoError(t, err)
		require.False(t, ok, "joined with every message unfinished")
		r := start(t, p, "recv-done", name, "to-peer")
		for k := ch.Cap(); k < messages; k++ {
			send(k)
		}
		ok, err = ch.JoinTimeout(time.Minute)
		require.NoError(t, err)
		require.True(t, ok, "the peer marked every message done")
		require.NoError(t, ch.End())
		r.expect(t, fmt.Sprintf("received=%d sum=%d order=ok", messages, total))
		require.NoError(t, r.cmd.Wait())

		back, err := channel.New[float64](seg, "to-go", 8, msgLen, append(opts, channel.WithJoinable())...)
		require.NoError(t, err)
		back.RegisterReceiver()
		r = start(t, p, "send-join", name, "to-go", strconv.Itoa(messages), strconv.Itoa(msgLen))
		k := 0
		for got, err := range back.Messages() {
			require.NoError(t, err)
			require.Equal(t, float64(k*msgLen), got[0], "message %d", k)
			require.NoError(t, back.TaskDone())
			k++
		}
		assert.Equal(t, messages, k)
		r.expect(t, "joined")
		r.expect(t, fmt.Sprintf("sent=%d sum=%d", messages, total))
		require.NoError(t, r.cmd.Wait())
	})
}

// TestPeerCreates: the peer makes a segment with one object of each kind;
// Go opens each with its typed API.
func TestPeerCreates(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	eachPeer(t, func(t *testing.T, p peer) {
		name := proctest.Name(t)
		assert.Equal(t, "created", run(t, p, "create", name))
		seg, err := shm.Open(name)
		require.NoError(t, err)
		defer seg.Close()

		c, err := ctypes.OpenValue[ctypes.Char](seg, "v_c")
		require.NoError(t, err)
		x, err := c.Get()
		require.NoError(t, err)
		assert.Equal(t, ctypes.Char('*'), x)
		q, err := ctypes.OpenValue[int64](seg, "v_q")
		require.NoError(t, err)
		n, err := q.Get()
		require.NoError(t, err)
		assert.Equal(t, int64(42), n)
		d, err := ctypes.OpenValue[float64](seg, "v_d")
		require.NoError(t, err)
		f, err := d.Get()
		require.NoError(t, err)
		assert.Equal(t, 1.5, f)
		for _, c := range valueCases { // every typecode opens with its Go type
			_, err := c.read(seg, "v_"+string(c.tc))
			require.NoError(t, err, "typecode %c", c.tc)
		}

		a, err := ctypes.OpenArray[float64](seg, "array")
		require.NoError(t, err)
		require.Equal(t, 100, a.Len())
		for i, x := range a.Raw().Slice() {
			require.Equal(t, float64(i), x)
		}
		sem, err := semaphore.Open(seg, "sem")
		require.NoError(t, err)
		v, err := sem.Value()
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		m, err := semaphore.OpenMutex(seg, "mutex")
		require.NoError(t, err)
		require.NoError(t, m.Lock())
		require.NoError(t, m.Unlock())
		ch, err := channel.Open[float64](seg, "chan")
		require.NoError(t, err)
		for k := range 3 {
			msg, err := ch.RecvNew()
			require.NoError(t, err)
			assert.Equal(t, []float64{float64(k), float64(k) + 0.5}, msg)
		}
		_, err = ch.RecvNew()
		require.ErrorIs(t, err, io.EOF)
	})
}

// TestPeerErrors: the peer refuses what Go refuses, with the same meaning.
func TestPeerErrors(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	eachPeer(t, func(t *testing.T, p peer) {
		missing := proctest.Name(t)
		assert.Equal(t, "notfound", run(t, p, "attach", missing))

		foreign := proctest.Name(t)
		raw, err := shm.Create(foreign, 1<<14) // then overwrite its magic
		require.NoError(t, err)
		copy(raw.Bytes()[:8], "NOTSHMKT")
		require.NoError(t, raw.Close())
		assert.Equal(t, "notshmkit", run(t, p, "attach", foreign))

		seg, name := proctest.Segment(t, 1<<16)
		_, err = ctypes.NewValue(seg, "x", 1.0)
		require.NoError(t, err)
		assert.Equal(t, "ok", run(t, p, "attach", name, "x", "d"))
		assert.Equal(t, "kind", run(t, p, "attach", name, "x", "i"))
		assert.Equal(t, "notfound", run(t, p, "attach", name, "y", "d"))

		seg.Bytes()[8] = 99 // the layout version
		assert.Equal(t, "version", run(t, p, "attach", name))
		seg.Bytes()[8] = byte(layout.Version)
		seg.Bytes()[24] = 0xff // a directory far larger than the segment
		seg.Bytes()[26] = 0x0f
		assert.Equal(t, "corrupt", run(t, p, "attach", name))
	})
}

// TestPythonUnittest runs the Python package's own tests, as
// `python3 -m unittest` from python/ would.
func TestPythonUnittest(t *testing.T) {
	if testing.Short() {
		t.Skip("the Python suite; CI runs it on its own too")
	}
	cmd := python(t, "-m", "unittest", "-q")
	cmd.Dir = "../python"
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	require.NoError(t, err, "%s", out.String())
	assert.Contains(t, out.String(), "OK")
}

// TestPythonBuildsItsLibrary: from the source tree, with no library given,
// the package compiles libshmkit itself into its cache, once.
func TestPythonBuildsItsLibrary(t *testing.T) {
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler")
	}
	cache := t.TempDir()
	for range 2 {
		cmd := python(t, "-c", "import shmkit, glob, os; print(len(glob.glob(os.environ['SHMKIT_CACHE'] + '/libshmkit-*.so')))")
		cmd.Env = append(slices.DeleteFunc(cmd.Env, func(e string) bool { return strings.HasPrefix(e, "SHMKIT_LIBRARY=") }),
			"SHMKIT_CACHE="+cache)
		out, err := cmd.Output()
		require.NoError(t, err)
		assert.Equal(t, "1", strings.TrimSpace(string(out)))
	}
}

// TestCReadsCheckedGeometryOnce: while this process flips a channel's
// slot_stride between its value and a huge one, a C process opens the
// channel again and again and uses each handle. The C library once checked
// the field and then read it again, so a flip between the two sent it
// writing far outside the segment; a handle now uses what was checked.
func TestCReadsCheckedGeometryOnce(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	_, err := channel.New[float64](seg, "ch", 4, 1)
	require.NoError(t, err)
	obj, err := seg.Lookup("ch")
	require.NoError(t, err)
	stride := (*atomic.Uint32)(unsafe.Pointer(&obj.Bytes()[12])) // shmkit_channel.slot_stride
	good := stride.Load()
	stop := make(chan struct{})
	flipped := make(chan struct{})
	go func() {
		defer close(flipped)
		for {
			select {
			case <-stop:
				stride.Store(good)
				return
			default:
				stride.Store(1 << 30)
				stride.Store(good)
			}
		}
	}()
	out, err := cPeer(t, "reopen", name, "ch", "100000").Output()
	close(stop)
	<-flipped
	require.NoError(t, err, "the C peer must survive: %s", out)
	assert.Contains(t, string(out), "reopened")
}
