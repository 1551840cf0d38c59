package queue_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/queue"
	"github.com/shmkit/shmkit/shm"
)

func TestMain(m *testing.M) {
	proctest.Main(m, map[string]proctest.Helper{
		"send":    helperSend,
		"recv":    helperRecv,
		"sendbig": helperSendBig,
		"objects": proctest.ListObjects,
		"open":    helperOpen,
	})
}

// message is producer id's message number seq: its length runs from 0 to
// well past one slot, and every byte is determined by (id, seq, index).
func message(id, seq, limit int) []byte {
	n := (seq*7919 + id*104729) % (limit + 1)
	m := make([]byte, n)
	for i := range m {
		m[i] = byte(id*31 + seq*7 + i)
	}
	if n >= 8 {
		binary.LittleEndian.PutUint32(m, uint32(id))
		binary.LittleEndian.PutUint32(m[4:], uint32(seq))
	}
	return m
}

func openQueue(args []string) (*shm.Segment, *queue.Queue) {
	seg := proctest.OpenSegment(args[0])
	q, err := queue.Open(seg, args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open queue:", err)
		os.Exit(1)
	}
	return seg, q
}

// helperSend sends messages 0..count-1 of producer id.
func helperSend(args []string) int {
	seg, q := openQueue(args)
	defer seg.Close()
	id, _ := strconv.Atoi(args[2])
	count, _ := strconv.Atoi(args[3])
	for seq := range count {
		if err := q.Send(message(id, seq, q.MaxMessage())); err != nil {
			return proctest.Fail("send: %v", err)
		}
	}
	return 0
}

// helperRecv receives until EOF and prints, per producer, the messages it
// got, checking each one whole.
func helperRecv(args []string) int {
	seg, q := openQueue(args)
	defer seg.Close()
	got := 0
	for {
		m, err := q.Recv()
		if errors.Is(err, io.EOF) {
			fmt.Println(got)
			return 0
		}
		if err != nil {
			return proctest.Fail("recv: %v", err)
		}
		if len(m) >= 8 {
			id, seq := int(binary.LittleEndian.Uint32(m)), int(binary.LittleEndian.Uint32(m[4:]))
			if want := message(id, seq, q.MaxMessage()); string(want) != string(m) {
				return proctest.Fail("message %d of producer %d arrived changed (%d bytes)", seq, id, len(m))
			}
		}
		got++
	}
}

// helperSendBig sends one message of the queue's limit, which its ring
// cannot hold, and so blocks in the middle of it.
func helperSendBig(args []string) int {
	seg, q := openQueue(args)
	defer seg.Close()
	fmt.Println("sending")
	return exitOn(q.Send(make([]byte, q.MaxMessage())))
}

// helperOpen opens queue args[1] and prints its limit, or the error
// (whether it is ErrCorrupt).
func helperOpen(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	q, err := queue.Open(seg, args[1])
	if err != nil {
		fmt.Printf("corrupt=%v %v\n", errors.Is(err, queue.ErrCorrupt), err)
		return 0
	}
	fmt.Println("limit", q.MaxMessage())
	return exitOn(q.Close())
}

func exitOn(err error) int {
	if err != nil {
		return proctest.Fail("%v", err)
	}
	return 0
}

// TestManyProcessesLongMessages: 3 producer and 2 consumer processes
// share a queue whose messages run up to 40 slots long; every message
// arrives whole, and none is lost.
func TestManyProcessesLongMessages(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	seg, name := proctest.Segment(t, 1<<20)
	q, err := queue.New(seg, "q", 8, 128, 5000)
	require.NoError(t, err)
	q.RegisterSender() // this process ends the queue after the producers exit
	const producers, consumers, count = 3, 2, 300
	var recvs, sends []*helper
	for range consumers {
		recvs = append(recvs, startHelper(t, "recv", name, "q"))
	}
	for id := range producers {
		sends = append(sends, startHelper(t, "send", name, "q", strconv.Itoa(id), strconv.Itoa(count)))
	}
	for _, s := range sends {
		require.NoError(t, s.cmd.Wait())
	}
	require.NoError(t, q.End())
	total := 0
	for _, c := range recvs {
		require.True(t, c.out.Scan())
		n, err := strconv.Atoi(c.out.Text())
		require.NoError(t, err)
		total += n
		require.NoError(t, c.cmd.Wait())
	}
	assert.Equal(t, producers*count, total)
	assert.Equal(t, 0, q.Len())
}

// TestSenderKilledInsideAMessage: a sender killed after the first parts
// of a long message leaves the queue usable: the receiver drops those
// parts and gets the next whole message.
func TestSenderKilledInsideAMessage(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	seg, name := proctest.Segment(t, 1<<20)
	q, err := queue.New(seg, "q", 4, 64, 10_000)
	require.NoError(t, err)
	ch, err := channel.Open[byte](seg, "q")
	require.NoError(t, err)
	big := startHelper(t, "sendbig", name, "q")
	require.True(t, big.out.Scan())
	waitFor(t, func() bool { return ch.Len() == ch.Cap() }) // its ring is full: it waits inside the message
	require.NoError(t, big.cmd.Process.Kill())
	_ = big.cmd.Wait()

	var wg sync.WaitGroup
	var got []byte
	var recvErr error
	wg.Go(func() { got, recvErr = q.Recv() })
	require.NoError(t, q.Send([]byte("after the dead one"))) // takes over the dead sender's lock
	wg.Wait()
	require.NoError(t, recvErr)
	assert.Equal(t, "after the dead one", string(got))
}

// TestSenderKilledInsideAMessageNothingAfter: a sender killed inside a
// long message, with no message after it, must not hold a receiver that
// took the first parts forever: RecvTimeout gives up, the dead message's
// parts are dropped, and the next message arrives whole.
func TestSenderKilledInsideAMessageNothingAfter(t *testing.T) {
	q, ch := killSenderInsideAMessage(t, true)

	type result struct {
		ok  bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		_, ok, err := q.RecvTimeout(50 * time.Millisecond)
		done <- result{ok, err}
	}()
	select {
	case r := <-done:
		require.NoError(t, r.err)
		assert.False(t, r.ok, "a message whose sender died half way arrived")
	case <-time.After(30 * time.Second):
		t.Fatal("RecvTimeout still waits for the rest of a dead sender's message")
	}
	assert.Equal(t, 0, ch.Len(), "the dead message's parts are dropped")
	require.NoError(t, q.Send([]byte("next")))
	got, err := q.Recv()
	require.NoError(t, err)
	assert.Equal(t, "next", string(got))
}

// TestSenderKilledInsideAMessageThenEnd: a sender killed inside a long
// message, then End: the receiver gets io.EOF, not ErrCorrupt (nothing
// was damaged; the message was lost with its sender).
func TestSenderKilledInsideAMessageThenEnd(t *testing.T) {
	q, _ := killSenderInsideAMessage(t, false)
	require.NoError(t, q.End())
	_, err := q.Recv()
	assert.ErrorIs(t, err, io.EOF)
	assert.NotErrorIs(t, err, queue.ErrCorrupt)
}

// killSenderInsideAMessage makes a queue, has a helper process fill its
// channel with the first parts of a long message and kills it there. With
// live, this process counts itself a sender, so that a receive does not
// end with ErrPeerDead.
func killSenderInsideAMessage(t *testing.T, live bool) (*queue.Queue, *channel.Channel[byte]) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	seg, name := proctest.Segment(t, 1<<20)
	q, err := queue.New(seg, "q", 4, 64, 10_000)
	require.NoError(t, err)
	if live {
		q.RegisterSender()
	}
	ch, err := channel.Open[byte](seg, "q")
	require.NoError(t, err)
	big := startHelper(t, "sendbig", name, "q")
	require.True(t, big.out.Scan())
	waitFor(t, func() bool { return ch.Len() == ch.Cap() })
	require.NoError(t, big.cmd.Process.Kill())
	_ = big.cmd.Wait()
	return q, ch
}

// TestReceiverKilledInsideAMessage: a receiver killed while it assembles a
// message leaves the queue usable: the next receiver takes over its lock,
// drops the rest of that message, and gets the next whole one.
func TestReceiverKilledInsideAMessage(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	seg, name := proctest.Segment(t, 1<<20)
	q, err := queue.New(seg, "q", 4, 64, 10_000)
	require.NoError(t, err)
	ch, err := channel.Open[byte](seg, "q")
	require.NoError(t, err)
	// The first part of a 100-byte message whose sender stops there.
	require.NoError(t, ch.Send(part(1, 100, 20)))
	r := startHelper(t, "recv", name, "q")
	waitFor(t, func() bool { return ch.Len() == 0 }) // it took the part and waits for the rest
	require.NoError(t, r.cmd.Process.Kill())
	_ = r.cmd.Wait()

	require.NoError(t, ch.Send(part(0, 100, 30)))  // the rest of that message: dropped
	require.NoError(t, q.Send([]byte("next one"))) // then a whole message
	got, err := q.Recv()
	require.NoError(t, err)
	assert.Equal(t, "next one", string(got))
}

func part(flags, total uint32, n int) []byte {
	p := make([]byte, 8+n)
	binary.LittleEndian.PutUint32(p, flags)
	binary.LittleEndian.PutUint32(p[4:], total)
	return p
}

// TestLimitsTimeoutsEOF: the limit, timeouts and the end of the stream.
func TestLimitsTimeoutsEOF(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	seg, _ := proctest.Segment(t, 1<<20)
	_, err := queue.New(seg, "tiny", 4, 8, 100)
	assert.ErrorIs(t, err, queue.ErrTooLarge)
	q, err := queue.New(seg, "q", 2, 16, 100)
	require.NoError(t, err)
	assert.ErrorIs(t, q.Send(make([]byte, 101)), queue.ErrTooLarge)

	_, ok, err := q.RecvTimeout(time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, q.Send(nil)) // an empty message is a message
	require.NoError(t, q.Send([]byte("12345678")))
	ok, err = q.SendTimeout([]byte("x"), time.Millisecond) // both slots taken
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = q.TrySend([]byte("x"))
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, 2, q.Len())

	m, err := q.Recv()
	require.NoError(t, err)
	assert.Empty(t, m)
	ok, err = q.TrySend(make([]byte, 9)) // two parts, one slot free: nothing is sent
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, 1, q.Len())
	require.NoError(t, q.End())
	m, err = q.Recv()
	require.NoError(t, err)
	assert.Equal(t, "12345678", string(m))
	_, err = q.Recv()
	assert.ErrorIs(t, err, io.EOF)
	assert.ErrorIs(t, q.Send([]byte("late")), channel.ErrEnded)
}

// TestNewRefusedCreatesNothing: a New refused for a name whose derived
// names are too long (NAME.send past 63 bytes), or one of which is taken,
// leaves no object behind, so the segment's space and the name stay free.
// Before, the channel NAME was made first and stayed: a second New of the
// name failed with ErrObjectExists, and Open with ErrObjectNotFound.
func TestNewRefusedCreatesNothing(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	seg, name := proctest.Segment(t, 1<<20)
	long := strings.Repeat("q", 60) // fits; long+".send" does not
	_, err := queue.New(seg, long, 4, 64, 100)
	assert.ErrorIs(t, err, shm.ErrInvalidName)
	_, err = seg.Alloc(shm.Request{Name: "taken.len", Kind: shm.KindBytes, Length: 8}, nil)
	require.NoError(t, err)
	_, err = queue.New(seg, "taken", 4, 64, 100)
	assert.ErrorIs(t, err, shm.ErrObjectExists)
	assert.Equal(t, "taken.len", proctest.Output(t, "objects", name), "a refused New left objects")

	q, err := queue.New(seg, long[:58], 4, 64, 100) // the longest name that fits
	require.NoError(t, err)
	require.NoError(t, q.Close())
}

// TestOpenHostileLimit: a queue whose limit word was overwritten past
// what New allows (4 GiB-1) is ErrCorrupt at Open in another process;
// before, Open succeeded and MaxMessage was negative (make of it panics).
func TestOpenHostileLimit(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	seg, name := proctest.Segment(t, 1<<20)
	_, err := queue.New(seg, "q", 4, 64, 100)
	require.NoError(t, err)
	assert.Equal(t, "limit 100", proctest.Output(t, "open", name, "q"))
	limit, err := ctypes.OpenRawValue[uint64](seg, "q.max")
	require.NoError(t, err)
	for _, v := range []uint64{1 << 32, 1 << 63, 1<<64 - 1} {
		limit.Store(v)
		assert.True(t, strings.HasPrefix(proctest.Output(t, "open", name, "q"), "corrupt=true"), "limit %d", v)
	}
}

// TestHostileParts: parts that contradict their message or the limit are
// ErrCorrupt, never a crash or an allocation of what a header claims.
func TestHostileParts(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	seg, _ := proctest.Segment(t, 1<<20)
	q, err := queue.New(seg, "q", 8, 32, 100)
	require.NoError(t, err)
	ch, err := channel.Open[byte](seg, "q")
	require.NoError(t, err)
	for _, p := range [][]byte{
		{1, 2, 3},                      // shorter than a header
		part(3, 1<<31, 0),              // a message far over the limit
		part(3, 10, 20),                // longer than it says
		part(3, 30, 5),                 // ends short
		append(part(1, 10, 8), 0)[:16], // first part of 10 bytes, then...
	} {
		require.NoError(t, ch.Send(p))
	}
	require.NoError(t, ch.Send(part(2, 0, 8))) // ...8 more: 16 of 10
	for range 5 {
		_, err := q.Recv()
		assert.ErrorIs(t, err, queue.ErrCorrupt)
	}
}

// helper is a helper process with its output, line by line.
type helper struct {
	cmd *exec.Cmd
	out *bufio.Scanner
}

func startHelper(t *testing.T, name string, args ...string) *helper {
	t.Helper()
	cmd := proctest.Command(t, name, args...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &helper{cmd, bufio.NewScanner(out)}
}

// waitFor waits until cond holds: a state another process reaches, looked
// at every millisecond for up to a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the other process never got there")
		}
	}
}

// TestNewOutOfRoomCreatesNothing: a New that finds room for only some of
// the queue's five objects (the segment's data area, or its directory)
// leaves none of them: another process lists an empty segment, and the
// name is free for a queue that fits.
func TestNewOutOfRoomCreatesNothing(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	const slots, slotBytes, limit = 4, 64, 100
	big, _ := proctest.Segment(t, 1<<20)
	q, err := queue.New(big, "q", slots, slotBytes, limit)
	require.NoError(t, err)
	require.NoError(t, q.Close())
	objs, err := big.Objects()
	require.NoError(t, err)
	require.Len(t, objs, 5)
	var lengths []uint64
	for _, o := range objs {
		lengths = append(lengths, o.Length)
	}
	for k := 1; k < len(lengths); k++ {
		// Room for the bytes of the first k objects and 64 bytes short of
		// the next, then for the entries of the first k only.
		var room uint64
		for _, l := range lengths[:k+1] {
			room += l
		}
		for _, opt := range []struct {
			size int
			cap  int
		}{
			{int(layout.DataStart(5) + room - 64), 5},
			{shm.SizeFor(lengths...) + 4096, k},
		} {
			seg, name := proctest.Segment(t, opt.size, shm.WithCapacity(opt.cap))
			_, err := queue.New(seg, "q", slots, slotBytes, limit)
			assert.ErrorIs(t, err, shm.ErrNoSpace, "room for %d objects", k)
			assert.Empty(t, proctest.Output(t, "objects", name), "room for %d objects: a refused New left objects", k)
		}
	}
	seg, _ := proctest.Segment(t, shm.SizeFor(lengths...))
	q, err = queue.New(seg, "q", slots, slotBytes, limit)
	require.NoError(t, err, "a segment of exactly the queue's size")
	require.NoError(t, q.Close())
}

// TrySend on a full queue whose count another process left wrong (its
// tail hint copied over the head hint: the count reads 0) says false at
// once and sends nothing, for messages of one part and of two; before, it
// took the count's word, sent its first part with a wait, and blocked for
// ever holding the send lock.
func TestTrySendWithAWrongCount(t *testing.T) {
	proctest.NeedCgo(t, "the queue's locks")
	for _, size := range []int{10, 100} {
		seg, _ := proctest.Segment(t, 1<<20)
		q, err := queue.New(seg, "q", 4, 64, 1000)
		require.NoError(t, err)
		for range 4 {
			require.NoError(t, q.Send([]byte("full")))
		}
		obj, err := seg.Lookup("q")
		require.NoError(t, err)
		h := (*layout.Channel)(unsafe.Pointer(&obj.Bytes()[0]))
		h.Tail.Store(h.Head.Load())
		done := make(chan error, 1)
		go func() {
			ok, err := q.TrySend(make([]byte, size))
			if ok {
				err = errors.New("sent into a full queue")
			}
			done <- err
		}()
		select {
		case err := <-done:
			require.NoError(t, err, "size %d", size)
		case <-time.After(10 * time.Second):
			t.Fatalf("size %d: TrySend still waits after 10 s", size)
		}
		for range 4 {
			msg, err := q.Recv()
			require.NoError(t, err)
			require.Equal(t, []byte("full"), msg, "size %d: only what was sent before", size)
		}
		_, ok, err := q.RecvTimeout(10 * time.Millisecond)
		require.NoError(t, err)
		require.False(t, ok, "size %d: nothing after", size)
	}
}
