package channel_test

import (
	"bufio"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// One producer and one consumer process, messages of 2 to 32 elements in a
// ring of 64, so records wrap with skip records thousands of times. Two
// such pairs run at once: four spinning processes on two cores.
func TestSPSCStream(t *testing.T) {
	for _, slots := range []int{64, 3} {
		t.Run("slots="+strconv.Itoa(slots), func(t *testing.T) {
			t.Parallel()
			stream(t, 1, 1, total(1_000_000)/slots*3, slots, 32, channel.WithSPSC())
		})
	}
}

func newSPSC[T float64 | int32](t *testing.T, slots, maxLen int) (*shm.Segment, string, *channel.Channel[T]) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[T](seg, "ch", slots, maxLen, channel.WithSPSC())
	require.NoError(t, err)
	return seg, name, ch
}

// The channel holds at least slots messages of MaxLen elements, and more
// short ones; a too long message is refused; a too short buffer leaves the
// message queued; Close drains, then EOF.
func TestSPSCRules(t *testing.T) {
	_, _, ch := newSPSC[int32](t, 3, 4)
	require.NoError(t, ch.SendFunc(4, func(s []int32) { copy(s, []int32{0, 0, 0, 0}) }), "zero copy")
	for i := int32(1); i < 3; i++ {
		ok, err := ch.TrySend([]int32{i, i, i, i})
		require.NoError(t, err)
		require.True(t, ok, "room for slots messages of MaxLen")
	}
	var short int32
	for ; ; short++ {
		ok, err := ch.TrySend([]int32{100 + short})
		require.NoError(t, err)
		if !ok {
			break
		}
	}
	assert.Positive(t, short, "short messages take less room")
	assert.Equal(t, 3+int(short), ch.Len())
	assert.ErrorIs(t, ch.Send(make([]int32, 5)), channel.ErrTooLarge)

	_, err := ch.Recv(nil)
	assert.ErrorIs(t, err, io.ErrShortBuffer)
	got, err := ch.RecvNew()
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 0, 0, 0}, got, "the short buffer left it queued")

	require.NoError(t, ch.End())
	assert.ErrorIs(t, ch.Send([]int32{1}), channel.ErrEnded)
	var seen [][]int32
	for {
		err := ch.RecvFunc(func(s []int32) { seen = append(seen, append([]int32(nil), s...)) })
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
	}
	want := [][]int32{{1, 1, 1, 1}, {2, 2, 2, 2}}
	for i := range short {
		want = append(want, []int32{100 + i})
	}
	assert.Equal(t, want, seen, "in order")
	_, err = ch.RecvNew()
	assert.ErrorIs(t, err, io.EOF, "EOF stays")
}

// A second live sender, through another handle, is refused; so is a second
// receiver.
func TestSPSCSecondHandleInUse(t *testing.T) {
	seg, _, ch := newSPSC[float64](t, 4, 4)
	other, err := channel.Open[float64](seg, "ch")
	require.NoError(t, err)
	require.NoError(t, ch.Send([]float64{1}))
	assert.ErrorIs(t, other.Send([]float64{2}), channel.ErrInUse)
	_, err = ch.RecvNew()
	require.NoError(t, err)
	_, _, err = other.TryRecv(make([]float64, 4))
	assert.ErrorIs(t, err, channel.ErrInUse)
}

// A producer killed in the middle of writing a message leaves nothing the
// consumer can see; the next producer takes its place and goes on.
func TestSPSCProducerKilledMidWrite(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 4, 4)
	killInside(t, "stuckwriter", name, "writing")
	_, ok, err := ch.TryRecv(make([]float64, 4))
	require.NoError(t, err)
	assert.False(t, ok, "half a message is no message")
	_, ok, err = ch.RecvTimeout(make([]float64, 4), time.Minute)
	assert.False(t, ok)
	assert.ErrorIs(t, err, channel.ErrPeerDead, "its only producer died")

	require.NoError(t, ch.Send([]float64{1, 2}), "the dead producer's lease is taken over")
	got, err := ch.RecvNew()
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 2}, got)
}

// Producers killed at random points of a stream, each followed by a new
// one: every message the consumer gets is whole and in order, and the ring
// never wedges (each new producer goes on from the last published record).
func TestSPSCProducersKilledAtRandom(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 8, 64)
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]float64, 64)
	last := map[int]int{}
	received := 0
	for id := range 12 {
		cmd := proctest.Command(t, "sendforever", name, "ch", strconv.Itoa(id))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		// Named before the first receive: the last producer is dead, and a
		// slow start of this one would otherwise read as every sender dead.
		require.NoError(t, ch.ExpectSender(cmd.Process.Pid))
		r := bufio.NewReader(out)
		stop := 20 + rng.IntN(200)
		for k := 0; k < stop; k++ { // drain while it sends, then kill it mid-stream
			n, err := ch.Recv(buf)
			require.NoError(t, err)
			pid, seq, err := verify(buf[:n])
			require.NoError(t, err)
			if l, ok := last[pid]; ok {
				require.Greater(t, seq, l, "producer %d in order", pid)
			}
			last[pid] = seq
			received++
		}
		r.ReadString('\n')
		require.NoError(t, cmd.Process.Kill())
		cmd.Wait()
	}
	for { // what the last ones left queued
		n, ok, err := ch.TryRecv(buf)
		require.NoError(t, err)
		if !ok {
			break
		}
		_, _, err = verify(buf[:n])
		require.NoError(t, err)
		received++
	}
	require.NoError(t, ch.Send(message(buf, 99, 0)), "a last producer still gets in")
	t.Logf("%d messages from 12 killed producers", received)
}

// A consumer killed while reading a message leaves it to the next one: it
// is received again, not lost.
func TestSPSCConsumerKilledMidRead(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 4, 4)
	require.NoError(t, ch.Send([]float64{42}))
	killInside(t, "stuckreader", name, "reading")
	got, err := ch.RecvNew()
	require.NoError(t, err)
	assert.Equal(t, []float64{42}, got)
}

// A producer blocked on a full channel whose only consumer died gets
// ErrPeerDead.
func TestSPSCConsumerDead(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 1, 4)
	require.NoError(t, ch.Send([]float64{1}))
	proctest.Output(t, "recvonce-exit", name, "ch")
	for {
		ok, err := ch.TrySend([]float64{2, 2, 2, 2})
		require.NoError(t, err)
		if !ok {
			break // full
		}
	}
	ok, err := ch.SendTimeout([]float64{3, 3, 3, 3}, time.Minute)
	assert.False(t, ok)
	assert.ErrorIs(t, err, channel.ErrPeerDead)
}

// A handle maps its ring in when it opens the channel: sending the first
// lap of messages then takes no page faults on the sending thread (it
// took one per page of the ring before).
func TestOpenMapsTheRingIn(t *testing.T) {
	const slots, maxLen = 16, 8 << 10 // 16 messages of 64 KB: 1 MB of ring
	seg, name := proctest.Segment(t, 2<<20)
	_, err := channel.New[float64](seg, "ch", slots, maxLen, channel.WithSPSC())
	require.NoError(t, err)
	other, err := shm.Open(name) // a fresh mapping, as another process has
	require.NoError(t, err)
	defer other.Close()
	msg := make([]float64, maxLen)
	for i := range msg {
		msg[i] = float64(i)
	}

	ch, err := channel.Open[float64](other, "ch")
	require.NoError(t, err)
	ch.RegisterSender()
	faults := proctest.PageFaults(t, func() {
		for range slots {
			require.NoError(t, ch.Send(msg))
		}
	})
	if pages := int64(slots * maxLen * 8 / os.Getpagesize()); faults > pages/16 {
		t.Fatalf("the first lap took %d page faults over %d pages of ring", faults, pages)
	}
}
