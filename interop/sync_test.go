package interop_test

import (
	"errors"
	"fmt"
	"io"
	"slices"
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
