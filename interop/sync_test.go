package interop_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/queue"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// TestEventGoWakesPeer: the peer sleeps in the event's wait until Go sets it.
func TestEventGoWakesPeer(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		ev, err := semaphore.NewEvent(seg, "ev")
		require.NoError(t, err)
		r := start(t, p, "event-wait", name, "ev")
		r.expect(t, "waiting")
		ev.Set()
		r.expect(t, "set")
		require.NoError(t, r.cmd.Wait())
	})
}

// TestEventPeerWakesGo: a Go goroutine asleep in Wait is woken by the peer's Set.
func TestEventPeerWakesGo(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		ev, err := semaphore.NewEvent(seg, "ev")
		require.NoError(t, err)
		woken := make(chan error, 1)
		go func() { woken <- waitedFor(ev.WaitTimeout(time.Minute)) }()
		assert.Equal(t, "set", run(t, p, "event-set", name, "ev"))
		require.NoError(t, <-woken)
		assert.True(t, ev.IsSet())
	})
}

// TestBarrierGoCPython: Go, C and Python meet at one barrier of three parties.
func TestBarrierGoCPython(t *testing.T) {
	proctest.NeedCgo(t, "the Barrier (its lock is a pthread mutex)")
	seg, name := proctest.Segment(t, 1<<16)
	b, err := semaphore.NewBarrier(seg, "meet", len(peers)+1)
	require.NoError(t, err)
	var running []*running
	for _, p := range peers {
		r := start(t, p, "barrier", name, "meet")
		r.expect(t, "arriving")
		running = append(running, r)
	}
	_, err = b.WaitTimeout(time.Minute)
	require.NoError(t, err)
	for _, r := range running {
		r.expect(t, "passed")
		require.NoError(t, r.cmd.Wait())
	}
	assert.False(t, b.Broken())
}

// TestCondGoWakesPeer: the peer waits on a condition under a mutex until Go
// sets the flag it guards and broadcasts.
func TestCondGoWakesPeer(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		mu, cond, flag := condObjects(t, seg)
		r := start(t, p, "cond-wait", name, "mu", "cond", "flag")
		r.expect(t, "waiting")
		require.NoError(t, mu.Lock()) // the peer released it in its wait
		flag.Store(1)
		cond.Broadcast()
		require.NoError(t, mu.Unlock())
		r.expect(t, "woken")
		require.NoError(t, r.cmd.Wait())
	})
}

// TestCondPeerWakesGo: a Go goroutine waits on the condition until the peer
// sets the flag and broadcasts.
func TestCondPeerWakesGo(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		mu, cond, flag := condObjects(t, seg)
		woken := make(chan error, 1)
		go func() {
			woken <- func() error {
				if err := mu.Lock(); err != nil {
					return err
				}
				defer mu.Unlock()
				for flag.Load() == 0 {
					if err := waitedFor(cond.WaitTimeout(time.Minute)); err != nil {
						return err
					}
				}
				return nil
			}()
		}()
		assert.Equal(t, "notified", run(t, p, "cond-notify", name, "mu", "cond", "flag"))
		require.NoError(t, <-woken)
	})
}

func condObjects(t *testing.T, s *shm.Segment) (*semaphore.Mutex, *semaphore.Cond, *ctypes.RawValue[int32]) {
	t.Helper()
	proctest.NeedCgo(t, "the Cond's mutex (a pthread mutex)")
	mu, err := semaphore.NewMutex(s, "mu")
	require.NoError(t, err)
	cond, err := semaphore.NewCond(s, "cond", mu)
	require.NoError(t, err)
	flag, err := ctypes.NewRawValue[int32](s, "flag", 0)
	require.NoError(t, err)
	return mu, cond, flag
}

// waitedFor turns a timed wait's (ok, err) into an error.
func waitedFor(ok bool, err error) error {
	if err == nil && !ok {
		err = fmt.Errorf("not woken within a minute")
	}
	return err
}

// TestPipeWithPeer: Go holds end 0 of a pipe of bytes and the peer end 1;
// the peer answers each message reversed until Go closes its end, then
// closes its own, so a receive on end 0 is io.EOF.
func TestPipeWithPeer(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		conn, err := channel.NewPipe[byte](seg, "p", 4, 300)
		require.NoError(t, err)
		r := start(t, p, "pipe-echo", name, "p")
		require.NoError(t, conn.ExpectPeer(r.cmd.Process.Pid)) // a peer that fails at its start fails the test, never hangs it
		for i := range 300 {
			msg := make([]byte, i)
			for j := range msg {
				msg[j] = byte(i + j)
			}
			require.NoError(t, conn.Send(msg))
			got, err := conn.Recv()
			require.NoError(t, err)
			slices.Reverse(msg)
			require.Equal(t, msg, got)
		}
		require.NoError(t, conn.Close())
		r.expect(t, "echoed=300")
		require.NoError(t, r.cmd.Wait())
		again, err := channel.OpenPipe[byte](seg, "p", 0) // the peer closed its end: EOF
		require.NoError(t, err)
		_, err = again.Recv()
		assert.ErrorIs(t, err, io.EOF)
		require.NoError(t, again.Close())
	})
}

// TestQueueWithPeer: Go sends messages of 0 to 20 slots' length on one
// queue; the peer takes each and puts it back reversed on another; Go
// gets them all whole, in order, then EOF.
func TestQueueWithPeer(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	eachPeer(t, func(t *testing.T, p peer) { queueEcho(t, p) })
}

// queueSendBig sends one message of queue args[1]'s limit, which its ring
// cannot hold, after saying so: it blocks in the middle of the message.
func queueSendBig(args []string) int {
	seg := proctest.OpenSegment(args[0])
	q, err := queue.Open(seg, args[1])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	os.Stdout.WriteString("sending\n")
	if err := q.Send(make([]byte, q.MaxMessage())); err != nil {
		return proctest.Fail("send: %v", err)
	}
	return 0
}

// TestCQueueSenderKilledInsideAMessage: a Go sender killed inside a long
// message, with no message after it, does not hold a C receiver that took
// its first parts past its timeout; before, shmkit_queue_recv waited for
// the rest for good.
func TestCQueueSenderKilledInsideAMessage(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	name, _, ch := queueWithDeadSender(t)
	r := start(t, peer{"C", cPeer}, "queue-recv-timeout", name, "q", "50")
	done := make(chan bool, 1)
	go func() { done <- r.lines.Scan() }()
	select {
	case ok := <-done:
		require.True(t, ok, "the C receiver printed nothing")
		assert.Equal(t, "timeout", r.lines.Text())
	case <-time.After(30 * time.Second):
		t.Fatal("the C receiver still waits for the rest of a dead sender's message")
	}
	assert.Equal(t, 0, ch.Len(), "the dead message's parts are dropped")
}

// TestCQueueSenderKilledInsideAMessageThenEnd: the same, then End: the C
// receiver gets SHMKIT_EEOF, not SHMKIT_ECORRUPT (nothing was damaged).
func TestCQueueSenderKilledInsideAMessageThenEnd(t *testing.T) {
	proctest.NeedCgo(t, "the queue's send and receive locks (pthread mutexes)")
	name, q, _ := queueWithDeadSender(t)
	require.NoError(t, q.End())
	out, err := cPeer(t, "queue-recv-timeout", name, "q", "60000").Output()
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("rc=%d\n", int(syscall.ENODATA)), string(out)) // SHMKIT_EEOF
}

// queueWithDeadSender makes queue "q" of 4 slots of 64 bytes, this process
// a live sender, and a Go sender killed inside a message that filled it.
func queueWithDeadSender(t *testing.T) (string, *queue.Queue, *channel.Channel[byte]) {
	seg, name := proctest.Segment(t, 1<<20)
	q, err := queue.New(seg, "q", 4, 64, 10_000)
	require.NoError(t, err)
	q.RegisterSender() // this process stays a live sender: no peer-death error
	ch, err := channel.Open[byte](seg, "q")
	require.NoError(t, err)
	big := proctest.Command(t, "queuesendbig", name, "q")
	out, err := big.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, big.Start())
	t.Cleanup(func() { big.Process.Kill(); big.Wait() })
	_, err = out.Read(make([]byte, 8))
	require.NoError(t, err)
	for deadline := time.Now().Add(time.Minute); ch.Len() < ch.Cap(); time.Sleep(time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the sender never filled the ring")
	}
	require.NoError(t, big.Process.Kill())
	_ = big.Wait()
	return name, q, ch
}

func queueEcho(t *testing.T, p peer) {
	seg, name := proctest.Segment(t, 1<<20)
	in, err := queue.New(seg, "in", 8, 256, 6000)
	require.NoError(t, err)
	out, err := queue.New(seg, "out", 8, 256, 6000)
	require.NoError(t, err)
	in.RegisterSender()
	r := start(t, p, "queue-echo", name, "in", "out")
	require.NoError(t, in.ExpectReceiver(r.cmd.Process.Pid)) // a peer that fails at its start fails the test, never hangs it
	require.NoError(t, out.ExpectSender(r.cmd.Process.Pid))
	sent := make(chan error, 1)
	go func() { // the peer answers while Go still sends: both queues are short
		sent <- func() error {
			for n := 0; n <= 5000; n += 97 {
				msg := make([]byte, n)
				for i := range msg {
					msg[i] = byte(n + i*7)
				}
				if err := in.Send(msg); err != nil {
					return err
				}
			}
			return in.End()
		}()
	}()
	for i := 0; ; i++ {
		got, err := out.Recv()
		if errors.Is(err, io.EOF) {
			require.Equal(t, 52, i)
			break
		}
		if err != nil {
			require.NoError(t, err, "sending side: %v", <-sent)
		}
		want := make([]byte, len(got))
		copy(want, got)
		slices.Reverse(want)
		require.Len(t, got, i*97)
		for j := range want {
			require.Equal(t, byte(i*97+j*7), want[j], "message %d byte %d", i, j)
		}
	}
	require.NoError(t, <-sent)
	r.expect(t, "echoed=52")
	require.NoError(t, r.cmd.Wait())
}
