package channel_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// helperCloseWhileWaiting opens channel args[1] of segment args[0], blocks
// in a receive (args[2] "recv"; the channel is empty) or a send ("send";
// it is full), with a minute's timeout if args[3] is "timeout", closes the
// segment once the wait sleeps, and prints "closed" if the wait ended with
// shm.ErrClosed.
func helperCloseWhileWaiting(args []string) int {
	seg, ch := openChan(args)
	timed := args[3] == "timeout"
	buf := make([]float64, ch.MaxLen())
	wait := func() error {
		switch {
		case args[2] == "recv" && timed:
			_, _, err := ch.RecvTimeout(buf, time.Minute)
			return err
		case args[2] == "recv":
			_, err := ch.Recv(buf)
			return err
		case timed:
			_, err := ch.SendTimeout(buf, time.Minute)
			return err
		}
		return ch.Send(buf)
	}
	return proctest.CloseWhileWaiting(seg, wait, func() bool {
		st := ch.State()
		return st.RecvWaiters+st.SendWaiters > 0
	})
}

// Closing the segment while another goroutine waits in Recv or Send killed
// the process with SIGSEGV. The wait now ends with shm.ErrClosed, and Close
// returns once it has.
func TestCloseWhileWaiting(t *testing.T) {
	for _, spsc := range []bool{false, true} {
		for _, op := range []string{"recv", "send"} {
			for _, form := range []string{"plain", "timeout"} {
				t.Run(fmt.Sprintf("spsc=%v/%s/%s", spsc, op, form), func(t *testing.T) {
					seg, name := proctest.Segment(t, 1<<20)
					ch := newKind(t, seg, spsc)
					if op == "send" {
						for {
							ok, err := ch.TrySend(make([]float64, ch.MaxLen()))
							require.NoError(t, err)
							if !ok {
								break
							}
						}
						ch.Close() // the helper sends: hand it the producer side
					}
					assert.Equal(t, "closed", proctest.Output(t, "closewhile", name, "ch", op, form))
				})
			}
		}
	}
}

// After Close, the methods without an error to return panic with an error
// wrapping shm.ErrClosed instead of faulting.
func TestMethodsAfterClose(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	ch := newKind(t, seg, false)
	require.NoError(t, seg.Close())
	for name, call := range map[string]func(){
		"Len":   func() { ch.Len() },
		"State": func() { ch.State() },
	} {
		func() {
			defer func() {
				err, _ := recover().(error)
				assert.ErrorIs(t, err, shm.ErrClosed, "%s after Close", name)
			}()
			call()
		}()
	}
	_, err := ch.Recv(make([]float64, 4))
	assert.ErrorIs(t, err, shm.ErrClosed)
	assert.ErrorIs(t, ch.Send([]float64{1}), shm.ErrClosed)
	assert.ErrorIs(t, ch.Close(), shm.ErrClosed)
}

// Messages ranges until the end of the stream; an error ends it as the
// last pair.
func TestMessagesIterator(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	ch := newKind(t, seg, false)
	for i := range 3 {
		require.NoError(t, ch.Send([]float64{float64(i)}))
	}
	require.NoError(t, ch.End())
	var got []float64
	for msg, err := range ch.Messages() {
		require.NoError(t, err)
		got = append(got, msg...)
	}
	assert.Equal(t, []float64{0, 1, 2}, got)

	other := newKindNamed(t, seg, "other")
	require.NoError(t, other.Send([]float64{7}))
	n := 0
	for _, err := range other.Messages() {
		if n++; n == 1 {
			require.NoError(t, err)
			require.NoError(t, seg.Close()) // the next receive fails
			continue
		}
		assert.ErrorIs(t, err, shm.ErrClosed)
	}
	assert.Equal(t, 2, n, "a message, then the error")
}

// Close on a handle is final for that handle, as for an os.File: every
// later call that returns an error returns ErrClosed, on both kinds of
// channel. It never ends the stream: another handle still receives what
// was sent and may go on sending.
func TestClosedHandleRefusesUse(t *testing.T) {
	for _, spsc := range []bool{false, true} {
		t.Run(fmt.Sprintf("spsc=%v", spsc), func(t *testing.T) {
			seg, _ := proctest.Segment(t, 1<<20)
			opts := []channel.Option{channel.WithJoinable()}
			if spsc {
				opts = append(opts, channel.WithSPSC())
			}
			ch, err := channel.New[float64](seg, "ch", 4, 2, opts...)
			require.NoError(t, err)
			other, err := channel.Open[float64](seg, "ch")
			require.NoError(t, err)
			require.NoError(t, ch.Send([]float64{1}))
			require.NoError(t, ch.Close())

			buf := make([]float64, 2)
			ok, err := ch.TrySend([]float64{2})
			assert.False(t, ok)
			calls := map[string]error{
				"Send":      ch.Send([]float64{2}),
				"TrySend":   err,
				"SendFunc":  ch.SendFunc(1, func([]float64) {}),
				"Recv":      second(ch.Recv(buf)),
				"RecvNew":   second(ch.RecvNew()),
				"End":       ch.End(),
				"TaskDone":  ch.TaskDone(),
				"Join":      ch.Join(),
				"Expect":    ch.ExpectSender(1),
				"Close":     ch.Close(),
				"SendBatch": second(ch.SendBatch([][]float64{{3}})),
			}
			for call, err := range calls {
				assert.ErrorIs(t, err, channel.ErrClosed, call)
			}
			assert.Equal(t, 1, ch.Len(), "reads still work")

			got, err := other.RecvNew()
			require.NoError(t, err)
			assert.Equal(t, []float64{1}, got, "the stream goes on")
			require.NoError(t, other.TaskDone())
			assert.False(t, other.State().Ended)
			require.NoError(t, other.Send([]float64{4}))
		})
	}
}

func second[A any](_ A, err error) error { return err }
