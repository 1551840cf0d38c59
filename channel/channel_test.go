package channel_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// stream runs producers and consumers as processes over one channel and
// checks that every message arrived exactly once, whole and in order.
func stream(t *testing.T, producers, consumers, perProducer, slots, maxLen int, opts ...channel.Option) {
	seg, name := proctest.Segment(t, 64<<20)
	ch, err := channel.New[float64](seg, "ch", slots, maxLen, opts...)
	require.NoError(t, err)
	ch.RegisterSender() // we close it after the producers exit

	var wg sync.WaitGroup
	outs := make([]string, consumers)
	errs := make([]error, consumers+producers)
	for c := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := proctest.Command(t, "consume", name, "ch").Output()
			outs[c], errs[c] = string(out), err
		}()
	}
	var pwg sync.WaitGroup
	for p := range producers {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			errs[consumers+p] = proctest.Command(t, "produce", name, "ch", strconv.Itoa(p), strconv.Itoa(perProducer)).Run()
		}()
	}
	pwg.Wait()
	require.NoError(t, ch.End())
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "process %d", i)
	}

	got := map[int]tally{}
	for _, out := range outs {
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			var id int
			var tl tally
			_, err := fmt.Sscan(line, &id, &tl.count, &tl.sum, &tl.sumSq)
			require.NoError(t, err)
			g := got[id]
			got[id] = tally{g.count + tl.count, g.sum + tl.sum, g.sumSq + tl.sumSq}
		}
	}
	var want tally
	for seq := range uint64(perProducer) {
		want.count++
		want.sum += seq
		want.sumSq += seq * seq
	}
	for p := range producers {
		assert.Equal(t, want, got[p], "producer %d: count, sum and sum of squares of message numbers", p)
	}
	assert.Len(t, got, producers)
}

func total(n int) int {
	if raceEnabled {
		return n / 10
	}
	return n
}

func TestStreamOneToOne(t *testing.T) {
	stream(t, 1, 1, total(1_000_000), 64, 32)
}

func TestStreamThreeToThree(t *testing.T) {
	stream(t, 3, 3, total(1_000_000)/3, 16, 64)
}

// More processes than cores (4 producers, 4 consumers on 2 cores), message
// sizes from 2 to 256 elements. SHMKIT_LONG=N runs N times as many.
func TestLoadFourByFour(t *testing.T) {
	scale := 1
	if v, err := strconv.Atoi(os.Getenv("SHMKIT_LONG")); err == nil && v > 0 {
		scale = v
	}
	start := time.Now()
	per := total(100_000) * scale
	stream(t, 4, 4, per, 32, 256)
	t.Logf("%d messages through 4x4 processes in %v", 4*per, time.Since(start).Round(time.Millisecond))
}

func TestEndDrainsThenEOF(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	ch, err := channel.New[int32](seg, "ch", 8, 4)
	require.NoError(t, err)
	for i := range int32(5) {
		require.NoError(t, ch.Send([]int32{i, i}))
	}
	require.NoError(t, ch.End())
	err = ch.Send([]int32{9})
	assert.ErrorIs(t, err, channel.ErrEnded)
	assert.NotErrorIs(t, err, channel.ErrClosed, "the stream ended; the handle is still open")
	assert.ErrorIs(t, ch.End(), channel.ErrEnded)
	ok, err := ch.TrySend([]int32{9})
	assert.False(t, ok)
	assert.ErrorIs(t, err, channel.ErrEnded)

	// Several receivers share what is left, then all see EOF.
	var mu sync.Mutex
	var got []int32
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]int32, 4)
			for {
				n, err := ch.Recv(buf)
				if errors.Is(err, io.EOF) {
					return
				}
				assert.NoError(t, err)
				assert.Equal(t, 2, n)
				mu.Lock()
				got = append(got, buf[0])
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.ElementsMatch(t, []int32{0, 1, 2, 3, 4}, got)
	_, err = ch.RecvNew()
	assert.ErrorIs(t, err, io.EOF)
}

func TestMessageRules(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	ch, err := channel.New[int64](seg, "ch", 4, 3)
	require.NoError(t, err)
	assert.Equal(t, 4, ch.Cap())
	assert.Equal(t, 3, ch.MaxLen())
	assert.ErrorIs(t, ch.Send([]int64{1, 2, 3, 4}), channel.ErrTooLarge)

	require.NoError(t, ch.Send([]int64{1, 2, 3}))
	require.NoError(t, ch.Send(nil)) // an empty message is a message
	assert.Equal(t, 2, ch.Len())
	short := make([]int64, 2)
	_, err = ch.Recv(short)
	assert.ErrorIs(t, err, io.ErrShortBuffer)
	assert.Equal(t, 2, ch.Len(), "a message too long for the buffer stays queued")
	got, err := ch.RecvNew()
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 2, 3}, got)
	n, err := ch.Recv(short)
	require.NoError(t, err)
	assert.Equal(t, 0, n)

	_, ok, err := ch.TryRecv(short)
	require.NoError(t, err)
	assert.False(t, ok)
	start := time.Now()
	_, ok, err = ch.RecvTimeout(short, 50*time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	for range 4 {
		ok, err := ch.TrySend([]int64{7})
		require.NoError(t, err)
		require.True(t, ok)
	}
	ok, err = ch.TrySend([]int64{7})
	require.NoError(t, err)
	assert.False(t, ok, "full")
	ok, err = ch.SendTimeout([]int64{7}, 20*time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok)

	_, err = channel.Open[float64](seg, "ch")
	assert.ErrorIs(t, err, ctypes.ErrTypeMismatch)
	_, err = channel.New[int64](seg, "bad", 0, 3)
	assert.ErrorIs(t, err, shm.ErrInvalidSize)
	_, err = channel.New[int64](seg, "bad", 3, 0)
	assert.ErrorIs(t, err, shm.ErrInvalidSize)
}

func TestZeroCopyAndBatches(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float32](seg, "ch", 8, 16)
	require.NoError(t, err)
	require.NoError(t, ch.SendFunc(3, func(s []float32) { s[0], s[1], s[2] = 1, 2, 3 }))
	assert.Panics(t, func() { ch.SendFunc(2, func([]float32) { panic("boom") }) })
	require.NoError(t, ch.RecvFunc(func(s []float32) { assert.Equal(t, []float32{1, 2, 3}, s) }))
	_, ok, err := ch.TryRecv(make([]float32, 16))
	require.NoError(t, err)
	assert.False(t, ok, "a panicking fill sends nothing")

	msgs := [][]float32{{1}, {2, 2}, {3, 3, 3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}}
	done := make(chan error)
	go func() { _, err := ch.SendBatch(msgs); done <- err }() // more than fit: must block and resume
	var got [][]float32
	for len(got) < len(msgs) {
		bufs := make([][]float32, 4)
		for i := range bufs {
			bufs[i] = make([]float32, 16)
		}
		n, err := ch.RecvBatch(bufs)
		require.NoError(t, err)
		require.Positive(t, n)
		got = append(got, bufs[:n]...)
	}
	require.NoError(t, <-done)
	assert.Equal(t, msgs, got)
}

func TestContextCancellation(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	ch, err := channel.New[int8](seg, "ch", 1, 1)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { _, err := ch.RecvContext(ctx, make([]int8, 1)); errc <- err }()
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)

	require.NoError(t, ch.Send([]int8{1}))
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, ch.SendContext(ctx, []int8{2}), context.DeadlineExceeded)
}

// The seed's FloatChannel program, ported: 1000 messages of 100,000
// float64 through one slot, and the consumer checks every value, so a
// channel that transfers nothing (the seed's own bug) fails loudly.
func TestSeedFloatChannel(t *testing.T) {
	const count = 1000
	seg, name := proctest.Segment(t, 2<<20)
	ch, err := channel.NewFloatChannel(seg, "fc", 100000)
	require.NoError(t, err)
	assert.Equal(t, 1, ch.Cap())
	cmd := proctest.Command(t, "floatseed", name, "fc", strconv.Itoa(count))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	values := make([]float64, 100000)
	want := 0.0
	for i := range count {
		for j := range values {
			values[j] = float64(j + i)
			want += values[j]
		}
		require.NoError(t, ch.Send(values))
	}
	line, err := io.ReadAll(out)
	require.NoError(t, err)
	require.NoError(t, cmd.Wait())
	got, err := strconv.ParseFloat(strings.TrimSpace(string(line)), 64)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func startHelper(t *testing.T, args ...string) (*exec.Cmd, *bufio.Reader) {
	cmd := proctest.Command(t, args[0], args[1:]...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	t.Cleanup(func() { stdin.Close() })
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	return cmd, bufio.NewReader(out)
}

func kill(t *testing.T, cmd *exec.Cmd) {
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.Error(t, cmd.Wait())
}

// killInside starts helper on channel "ch" of segment name, waits until it
// says said (it is then inside a send or a receive), and kills it there.
func killInside(t *testing.T, helper, name, said string) {
	cmd, out := startHelper(t, helper, name, "ch")
	line, err := out.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, said+"\n", line)
	kill(t, cmd)
}

func TestOnlyConsumerKilled(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "ch", 2, 8)
	require.NoError(t, err)
	cmd, out := startHelper(t, "recvonce", name, "ch")
	require.NoError(t, ch.Send([]float64{1}))
	line, err := out.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "received\n", line)
	require.NoError(t, ch.Send([]float64{2}))
	require.NoError(t, ch.Send([]float64{3})) // now full
	kill(t, cmd)
	ok, err := ch.SendTimeout([]float64{4}, time.Minute)
	assert.False(t, ok)
	assert.ErrorIs(t, err, channel.ErrPeerDead, "a blocked sender is told, not left hanging")
}

func TestAllProducersKilled(t *testing.T) {
	seg, name := proctest.Segment(t, 4<<20)
	ch, err := channel.New[float64](seg, "ch", 4, 64)
	require.NoError(t, err)
	cmd, out := startHelper(t, "sendforever", name, "ch", "0")
	buf := make([]float64, 64)
	for range 10 {
		n, err := ch.Recv(buf)
		require.NoError(t, err)
		_, _, err = verify(buf[:n])
		require.NoError(t, err)
	}
	_, err = out.ReadString('\n')
	require.NoError(t, err)
	kill(t, cmd)
	for { // drain what it left, then hear that it is gone
		n, ok, err := ch.RecvTimeout(buf, time.Minute)
		if err != nil {
			assert.ErrorIs(t, err, channel.ErrPeerDead)
			break
		}
		require.True(t, ok, "no timeout: the dead producer is detected first")
		_, _, err = verify(buf[:n])
		require.NoError(t, err)
	}
}

// Producers killed at random points while writing big messages: the
// consumer never sees a torn message and the ring keeps working.
func TestProducersKilledMidWrite(t *testing.T) {
	const kills = 8
	seg, name := proctest.Segment(t, 16<<20)
	ch, err := channel.New[float64](seg, "ch", 4, 100_000)
	require.NoError(t, err)
	// Between a kill and the next producer's first send, every recorded
	// producer is dead: without a live sender on record, a slow start of
	// the next one lets the consumer conclude ErrPeerDead.
	ch.RegisterSender()
	stop := make(chan struct{})
	var received, bad int
	consumed := make(chan error)
	go func() {
		buf := make([]float64, 100_000)
		for {
			n, err := ch.Recv(buf)
			if errors.Is(err, io.EOF) {
				consumed <- nil
				return
			}
			if err != nil {
				consumed <- err
				return
			}
			if _, _, err := verify(buf[:n]); err != nil {
				bad++
			}
			received++
			select {
			case <-stop:
			default:
			}
		}
	}()
	for k := range kills {
		cmd, out := startHelper(t, "sendforever", name, "ch", strconv.Itoa(k+1))
		for range 1 + k%3 { // a different number of messages each time
			_, err := out.ReadString('\n')
			require.NoError(t, err)
		}
		kill(t, cmd)
	}
	cmd := proctest.Command(t, "produce", name, "ch", "99", "100", "close")
	require.NoError(t, cmd.Run())
	require.NoError(t, <-consumed)
	close(stop)
	assert.Zero(t, bad, "torn messages")
	assert.GreaterOrEqual(t, received, 100+kills, "the last producer's 100 and at least one from each killed one")
	t.Logf("%d producers killed mid-stream; %d whole messages received, none torn; %d slots recovered from dead writers",
		kills, received, ch.State().Recovered)
}

// A producer killed while it holds a claimed slot, half-written: receivers
// skip the slot instead of waiting for it forever, and never see its half.
func TestProducerKilledHoldingSlot(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "ch", 2, 4)
	require.NoError(t, err)
	killInside(t, "stuckwriter", name, "writing")
	require.NoError(t, ch.Send([]float64{1, 2}))
	got, err := ch.RecvNew()
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 2}, got, "the dead producer's half message is never delivered")
	assert.Equal(t, 1, ch.State().Recovered)
	require.NoError(t, ch.Send([]float64{3}))
	require.NoError(t, ch.Send([]float64{4}), "its slot is back in use")
}

// A receiver killed while reading: a sender waiting for its slot takes it
// back (the message it was reading is lost).
func TestConsumerKilledHoldingSlot(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "ch", 1, 4)
	require.NoError(t, err)
	require.NoError(t, ch.Send([]float64{1}))
	killInside(t, "stuckreader", name, "reading")
	ok, err := ch.SendTimeout([]float64{2}, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	got, err := ch.RecvNew()
	require.NoError(t, err)
	assert.Equal(t, []float64{2}, got)
	assert.Equal(t, 1, ch.State().Recovered)
}

// A stopped consumer is alive: a sender times out rather than calling it
// dead, and everything flows once it continues.
func TestStoppedConsumer(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "ch", 4, 1)
	require.NoError(t, err)
	const n = 1000
	cmd := proctest.Command(t, "sink", name, "ch", strconv.Itoa(n))
	require.NoError(t, cmd.Start())
	require.NoError(t, ch.Send([]float64{0})) // it is registered once it takes one
	for ch.State().Consumers == nil {
		time.Sleep(time.Millisecond) // observing, not synchronising
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGSTOP))
	for processState(cmd.Process.Pid) != "T" { // a stop takes effect asynchronously
		time.Sleep(time.Millisecond)
	}
	sent := 1
	for {
		ok, err := ch.SendTimeout([]float64{1}, 300*time.Millisecond)
		require.NoError(t, err, "a stopped process is not a dead one")
		if !ok {
			break
		}
		sent++
	}
	require.Less(t, sent, n, "the ring filled and a send timed out while the consumer was stopped")
	require.NoError(t, cmd.Process.Signal(syscall.SIGCONT))
	for ; sent < n; sent++ {
		require.NoError(t, ch.Send([]float64{1}))
	}
	require.NoError(t, cmd.Wait())
}

// processState is the state letter of a process in /proc (R, S, T, …).
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return ""
}

// A producer that has exited but is not yet reaped by its parent (a
// zombie, as under a parent that never waits) counted as alive, and a
// receiver waited for it forever. It counts as dead.
func TestZombieProducerIsDead(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "ch", 4, 64)
	require.NoError(t, err)
	cmd := proctest.Command(t, "produce", name, "ch", "0", "1")
	require.NoError(t, cmd.Start())
	defer cmd.Wait() // reaped only at the end
	buf := make([]float64, 64)
	_, err = ch.Recv(buf)
	require.NoError(t, err, "its one message")
	_, ok, err := ch.RecvTimeout(buf, time.Minute)
	assert.False(t, ok)
	assert.ErrorIs(t, err, channel.ErrPeerDead, "an unreaped producer is dead")
}
