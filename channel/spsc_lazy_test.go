package channel_test

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// The SPSC consumer stores head lazily (a quarter of the ring at most): the
// tests here hold it to what that must never cost.

// helperRecvN receives args[2] messages with Recv, says "received N", then
// closes the handle if args[3] is "close", and waits to be killed.
func helperRecvN(args []string) int {
	_, ch := openChan(args)
	n, _ := strconv.Atoi(args[2])
	buf := make([]float64, ch.MaxLen())
	for i := range n {
		if _, err := ch.Recv(buf); err != nil {
			return proctest.Fail("recv %d: %v", i, err)
		}
	}
	if len(args) > 3 && args[3] == "close" {
		if err := ch.Close(); err != nil {
			return proctest.Fail("close: %v", err)
		}
	}
	fmt.Println("received", n)
	io.ReadAll(os.Stdin)
	return 0
}

// fill sends numbered messages of MaxLen from first on until the ring is
// full, and returns the next number.
func fill(t *testing.T, ch *channel.Channel[float64], first int) int {
	msg := make([]float64, ch.MaxLen())
	for i := first; ; i++ {
		msg[0] = float64(i)
		ok, err := ch.TrySend(msg)
		require.NoError(t, err)
		if !ok {
			return i
		}
	}
}

// startRecvN starts helperRecvN on channel name of segment seg and waits
// until it has received n messages. It returns the call that kills it,
// made at the test's end if not before.
func startRecvN(t *testing.T, seg string, name string, n int, then string) func() {
	cmd, out := startHelper(t, "recvn", seg, name, strconv.Itoa(n), then)
	stop := sync.OnceFunc(func() { kill(t, cmd) })
	t.Cleanup(stop)
	line, err := out.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("received %d\n", n), line)
	return stop
}

// Whatever the consumer has read and not yet given back, the producer has
// room for slots messages of MaxLen, as on a ring whose consumer stores
// head after every message: a consumer that receives some messages and
// then stops (to wait for something the producer does next) never leaves
// the producer blocked with fewer than slots messages queued. Messages of
// 6 float64 make 56-byte records in 64-byte strides, the geometry where a
// quarter of the ring is more than the ring can spare.
func TestSPSCLazyHeadKeepsPromisedRoom(t *testing.T) {
	const slots, maxLen = 8, 6
	seg, segName := proctest.Segment(t, 1<<20)
	for k := 1; k <= 12; k++ {
		name := "ch" + strconv.Itoa(k)
		ch, err := channel.New[float64](seg, name, slots, maxLen, channel.WithSPSC())
		require.NoError(t, err)
		full := fill(t, ch, 0)
		require.GreaterOrEqual(t, full, slots)
		if k >= full {
			break
		}
		stop := startRecvN(t, segName, name, k, "")
		queued := full - k
		for i := full; queued < slots; i++ {
			msg := make([]float64, maxLen)
			msg[0] = float64(i)
			ok, err := ch.TrySend(msg)
			require.NoError(t, err)
			require.True(t, ok, "after %d received of %d: no room with %d queued", k, full, queued)
			queued++
		}
		stop()
	}
}

// A producer asleep on a full ring is woken as soon as the consumer has
// read enough to make room (two messages: a record and the word after it),
// not a quarter of the ring later.
func TestSPSCLazyHeadWakesSleepingProducer(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	ch, err := channel.New[float64](seg, "ch", 64, 1, channel.WithSPSC())
	require.NoError(t, err)
	full := fill(t, ch, 0)
	sent := make(chan error, 1)
	go func() { sent <- ch.Send([]float64{float64(full)}) }()
	for deadline := time.Now().Add(time.Minute); ch.State().SendWaiters < 1; {
		require.True(t, time.Now().Before(deadline), "the producer never slept: %+v", ch.State())
		time.Sleep(time.Millisecond) // observing state, not synchronising
	}
	defer startRecvN(t, name, "ch", 2, "")()
	select {
	case err := <-sent:
		require.NoError(t, err)
	case <-time.After(time.Minute): // a hang, not a timing
		t.Fatal("two messages received, and the producer still waits for room")
	}
}

// A consumer that closes its handle gives back all it read; one that is
// killed leaves at most the messages it had not given back to be received
// again, in order, and loses none.
func TestSPSCLazyHeadCloseAndKill(t *testing.T) {
	const k = 10
	for _, then := range []string{"close", "kill"} {
		t.Run(then, func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<20)
			ch, err := channel.New[float64](seg, "ch", 1024, 1, channel.WithSPSC())
			require.NoError(t, err)
			full := fill(t, ch, 0)
			stop := startRecvN(t, name, "ch", k, then)
			if then == "close" {
				assert.Equal(t, full-k, ch.Len(), "Close gave back what it read")
			}
			stop()
			buf := make([]float64, 1)
			_, err = ch.Recv(buf)
			require.NoError(t, err)
			first := int(buf[0])
			if then == "close" {
				assert.Equal(t, k, first)
			}
			require.LessOrEqual(t, first, k, "messages lost to the kill")
			for i := first + 1; i < full; i++ {
				_, err := ch.Recv(buf)
				require.NoError(t, err)
				require.Equal(t, float64(i), buf[0])
			}
		})
	}
}
