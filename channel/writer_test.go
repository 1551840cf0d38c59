package channel_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// A Writer's messages of 2 to 64 elements, in batches of 7 with a plain
// Send now and then, wrap a ring of 8 slots thousands of times; a receiver
// taking them with RecvBatch gets every one whole and in order, then EOF.
func TestWriterStreamInOrder(t *testing.T) {
	_, _, ch := newSPSC[float64](t, 8, 64)
	w, err := ch.Writer(7)
	require.NoError(t, err)
	count := total(200_000)
	done := make(chan error, 1)
	go func() {
		buf := make([]float64, 64)
		for seq := range count {
			var err error
			if seq%101 == 0 {
				err = ch.Send(message(buf, 1, seq)) // publishes the batch before it
			} else {
				err = w.Send(message(buf, 1, seq))
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- w.End()
	}()
	bufs := make([][]float64, 5)
	for i := range bufs {
		bufs[i] = make([]float64, 64)
	}
	next := 0
	for {
		n, err := ch.RecvBatch(bufs)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		for _, m := range bufs[:n] {
			_, seq, err := verify(m)
			require.NoError(t, err)
			require.Equal(t, next, seq, "in order, none lost")
			next++
		}
	}
	require.NoError(t, <-done)
	assert.Equal(t, count, next)
}

// A batch is invisible until it is published: by Flush, by its size, by
// the channel's Close, and before a full ring makes the Writer wait.
func TestWriterPublishes(t *testing.T) {
	seg, _, ch := newSPSC[int32](t, 4, 1)
	w, err := ch.Writer(3)
	require.NoError(t, err)
	buf := make([]int32, 1)
	require.NoError(t, w.Send([]int32{1}))
	require.NoError(t, w.Send([]int32{2}))
	_, ok, err := ch.TryRecv(buf)
	require.NoError(t, err)
	assert.False(t, ok, "not flushed: nothing to see")
	assert.Equal(t, 0, ch.Len())
	require.NoError(t, w.Flush())
	assert.Equal(t, 2, ch.Len(), "flushed")
	require.NoError(t, w.Send([]int32{3}))
	require.NoError(t, w.Send([]int32{4}))
	require.NoError(t, w.Send([]int32{5}))
	assert.Equal(t, 5, ch.Len(), "a full batch publishes itself")

	// Fill the ring: the Writer publishes what it holds before it waits.
	room := ringRoom(t, 4, 1)
	got := make(chan []int32, 1)
	go func() {
		bufs := make([][]int32, 100)
		for i := range bufs {
			bufs[i] = make([]int32, 1)
		}
		var all []int32
		for len(all) < 5+room+1 {
			n, err := ch.RecvBatch(bufs)
			if err != nil {
				break
			}
			for _, m := range bufs[:n] {
				all = append(all, m[0])
			}
		}
		got <- all
	}()
	want := []int32{1, 2, 3, 4, 5}
	for i := range int32(room + 1) {
		require.NoError(t, w.Send([]int32{10 + i}))
		want = append(want, 10+i)
	}
	require.NoError(t, w.Flush())
	assert.Equal(t, want, <-got)

	// Close sends what is pending, as a file's Close writes its buffer.
	require.NoError(t, w.Send([]int32{7}))
	require.NoError(t, ch.Close())
	other, err := channel.Open[int32](seg, "ch")
	require.NoError(t, err)
	n, ok, err := other.TryRecv(buf)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []int32{7}, buf[:n])
}

// ringRoom is how many one-element messages an SPSC channel of slots
// slots of maxLen int32 holds.
func ringRoom(t *testing.T, slots, maxLen int) int {
	_, _, ch := newSPSC[int32](t, slots, maxLen)
	n := 0
	for {
		ok, err := ch.TrySend([]int32{0})
		require.NoError(t, err)
		if !ok {
			return n
		}
		n++
	}
}

// The Writer keeps Send's errors: a message too long, a default channel,
// an ended channel, and a receiver that died while the ring is full.
func TestWriterErrors(t *testing.T) {
	seg, name, ch := newSPSC[float64](t, 1, 4)
	w, err := ch.Writer(0)
	require.NoError(t, err)
	assert.ErrorIs(t, w.Send(make([]float64, 5)), channel.ErrTooLarge)
	plain, err := channel.New[float64](seg, "plain", 4, 4)
	require.NoError(t, err)
	_, err = plain.Writer(4)
	assert.ErrorIs(t, err, channel.ErrNotSPSC)

	require.NoError(t, w.Send([]float64{1}))
	require.NoError(t, w.Flush())
	proctest.Output(t, "recvonce-exit", name, "ch")
	var last error
	for range 100 { // fills the ring, then waits for room: the receiver is dead
		if last = w.Send([]float64{2, 2, 2, 2}); last != nil {
			break
		}
	}
	assert.ErrorIs(t, last, channel.ErrPeerDead)

	_, _, ended := newSPSC[float64](t, 4, 4)
	w, err = ended.Writer(10)
	require.NoError(t, err)
	require.NoError(t, w.Send([]float64{1}))
	require.NoError(t, w.End())
	assert.ErrorIs(t, w.Send([]float64{2}), channel.ErrEnded)
	got, err := ended.RecvNew()
	require.NoError(t, err)
	assert.Equal(t, []float64{1}, got, "End published the batch first")
	_, err = ended.RecvNew()
	assert.ErrorIs(t, err, io.EOF)
}

// A Writer killed with a batch written and not published leaves nothing
// the receiver can see, not even the records behind the withheld header;
// the next sender takes over from the last published message.
func TestWriterKilledMidBatch(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 16, 1)
	killInside(t, "stuckbatch", name, "written")
	got, err := ch.RecvNew()
	require.NoError(t, err)
	require.Equal(t, []float64{1}, got, "the message sent before the batch")
	_, ok, err := ch.TryRecv(make([]float64, 1))
	require.NoError(t, err)
	assert.False(t, ok, "an unpublished batch is no message")

	require.NoError(t, ch.Send([]float64{2}), "the dead writer's lease is taken over")
	buf := make([]float64, 1)
	n, err := ch.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, []float64{2}, buf[:n])
	_, ok, err = ch.TryRecv(buf)
	require.NoError(t, err)
	assert.False(t, ok, "the dead batch's later records never show")
}

// Writers killed at random points of a stream of batches, each followed by
// a new one: every message received is whole and in order, and the ring
// never wedges.
func TestWritersKilledAtRandom(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 8, 64)
	rng := rand.New(rand.NewPCG(5, 6))
	bufs := make([][]float64, 6)
	for i := range bufs {
		bufs[i] = make([]float64, 64)
	}
	last := map[int]int{}
	received := 0
	take := func(n int) {
		for _, m := range bufs[:n] {
			pid, seq, err := verify(m)
			require.NoError(t, err)
			if l, ok := last[pid]; ok {
				require.Greater(t, seq, l, "writer %d in order", pid)
			}
			last[pid] = seq
			received++
		}
	}
	for id := range 12 {
		cmd := proctest.Command(t, "batchloop", name, "ch", strconv.Itoa(id))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		require.NoError(t, ch.ExpectSender(cmd.Process.Pid))
		r := bufio.NewReader(out)
		stop := 20 + rng.IntN(200)
		for k := 0; k < stop; {
			n, err := ch.RecvBatch(bufs)
			require.NoError(t, err)
			take(n)
			k += n
		}
		r.ReadString('\n')
		require.NoError(t, cmd.Process.Kill())
		cmd.Wait()
	}
	for {
		n, ok, err := ch.TryRecv(bufs[0][:64])
		require.NoError(t, err)
		if !ok {
			break
		}
		bufs[0] = bufs[0][:n]
		take(1)
		bufs[0] = bufs[0][:64]
	}
	require.NoError(t, ch.Send(message(bufs[0][:64], 99, 0)), "a last writer still gets in")
	t.Logf("%d messages from 12 killed writers", received)
}

// helperStuckBatch sends one message, writes five more through a Writer
// whose batch is larger, says so, and waits to be killed without
// publishing them.
func helperStuckBatch(args []string) int {
	_, ch := openChan(args)
	if err := ch.Send([]float64{1}); err != nil {
		return proctest.Fail("send: %v", err)
	}
	w, err := ch.Writer(100)
	if err != nil {
		return proctest.Fail("%v", err)
	}
	for i := range 5 {
		if err := w.Send([]float64{float64(100 + i)}); err != nil {
			return proctest.Fail("send: %v", err)
		}
	}
	fmt.Println("written")
	io.ReadAll(os.Stdin)
	return 0
}

// helperBatchLoop sends messages as writer args[2] through a Writer
// (batches of 1 to 5, and a Flush now and then) until killed, printing
// "sent N" after each.
func helperBatchLoop(args []string) int {
	_, ch := openChan(args)
	id, _ := strconv.Atoi(args[2])
	w, err := ch.Writer(1 + id%5)
	if err != nil {
		return proctest.Fail("%v", err)
	}
	buf := make([]float64, ch.MaxLen())
	out := bufio.NewWriter(os.Stdout)
	for seq := 0; ; seq++ {
		if err := w.Send(message(buf, id, seq)); err != nil {
			return proctest.Fail("send: %v", err)
		}
		if seq%7 == 3 {
			if err := w.Flush(); err != nil {
				return proctest.Fail("flush: %v", err)
			}
		}
		fmt.Fprintln(out, "sent", seq)
		out.Flush()
	}
}

// Old elements that read as a header must never be taken for a message
// after a Writer's batch. Lap 1 leaves, in every element, the header a
// one-element record would have at that offset in lap 2; lap 2 then
// shifts its records by 8 bytes, so that the word after its batch is one
// of those elements. The batch's messages arrive, and nothing after them.
func TestWriterBatchEndIsNoHeader(t *testing.T) {
	const slots, capBytes = 8, 9 * 64 // a ring of (slots+1) strides of align64(16 + 8) bytes
	seg, _ := proctest.Segment(t, 1<<20)
	ch, err := channel.New[uint64](seg, "ch", slots, 2, channel.WithSPSC())
	require.NoError(t, err)
	forged := func(pos uint64) uint64 { return uint64(uint32(pos/8)|1)<<32 | 2 } // a one-element record's header at pos
	buf := make([]uint64, 2)
	for off := uint64(0); off < capBytes; off += 16 { // lap 1: one-element records, element at off+8
		require.NoError(t, ch.Send([]uint64{forged(capBytes + off + 8)}))
		n, err := ch.Recv(buf)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	require.NoError(t, ch.Send([]uint64{7, 7})) // lap 2 starts with 24 bytes: records now start at 16k+8
	n, err := ch.Recv(buf)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	w, err := ch.Writer(0)
	require.NoError(t, err)
	for i := range uint64(5) {
		require.NoError(t, w.Send([]uint64{100 + i}))
	}
	require.NoError(t, w.Flush())
	for i := range uint64(5) {
		n, err := ch.Recv(buf)
		require.NoError(t, err)
		require.Equal(t, []uint64{100 + i}, buf[:n])
	}
	n, ok, err := ch.TryRecv(buf)
	require.NoError(t, err)
	assert.False(t, ok, "an old element after the batch was taken for a message of %d: %v", n, buf[:n])
}
