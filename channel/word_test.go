package channel_test

import (
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
)

// singles is the stream helperSendSingles sends and TestSingleValues
// expects: message k is the one value k (Send's one-word path) three times
// in four, else k followed by -1 and -2; seed picks which.
func singles(seed uint64) func() bool {
	rng := rand.New(rand.NewPCG(seed, 7))
	return func() bool { return rng.IntN(4) != 0 }
}

// helperSendSingles: args segment channel count seed. Sends the stream,
// every eighth message by TrySend first, then ends the channel.
func helperSendSingles(args []string) int {
	_, ch := openChan(args)
	count, _ := strconv.Atoi(args[2])
	seed, _ := strconv.ParseUint(args[3], 10, 64)
	single := singles(seed)
	for k := range count {
		m := []float64{float64(k), -1, -2}
		if single() {
			m = m[:1]
		}
		if k%8 == 0 {
			ok, err := ch.TrySend(m)
			if err != nil {
				return proctest.Fail("try send %d: %v", k, err)
			}
			if ok {
				continue
			}
		}
		if err := ch.Send(m); err != nil {
			return proctest.Fail("send %d: %v", k, err)
		}
	}
	return exitOn(ch.End())
}

// Messages of one float64, which Send and Recv move by their one-word
// path, mixed with longer ones in rings of 1 to 5 slots, so that both kinds
// wrap round, meet skip records and fill the ring thousands of times: each
// arrives whole, once, in order, through Recv, TryRecv and RecvTimeout.
// Neither side spins on a Try call: six processes share two CPUs.
func TestSingleValues(t *testing.T) {
	for _, slots := range []int{1, 2, 5} {
		t.Run("slots="+strconv.Itoa(slots), func(t *testing.T) {
			t.Parallel()
			seg, name := proctest.Segment(t, 1<<20)
			ch, err := channel.New[float64](seg, "ch", slots, 3, channel.WithSPSC())
			require.NoError(t, err)
			count, seed := total(50_000), uint64(slots)
			cmd := proctest.Command(t, "sendsingles", name, "ch", strconv.Itoa(count), strconv.FormatUint(seed, 10))
			require.NoError(t, cmd.Start())
			require.NoError(t, ch.ExpectSender(cmd.Process.Pid))
			single := singles(seed)
			buf := make([]float64, 3)
			for k := range count {
				var n int
				switch k % 3 {
				case 0:
					n, err = ch.Recv(buf)
				case 1:
					var ok bool
					if n, ok, err = ch.TryRecv(buf); !ok && err == nil {
						n, err = ch.Recv(buf)
					}
				default:
					n, _, err = ch.RecvTimeout(buf, time.Minute)
				}
				require.NoError(t, err, "message %d", k)
				want := []float64{float64(k), -1, -2}
				if single() {
					want = want[:1]
				}
				require.Equal(t, want, buf[:n], "message %d", k)
			}
			_, err = ch.Recv(buf)
			require.ErrorIs(t, err, io.EOF)
			require.NoError(t, cmd.Wait())
		})
	}
}

// helperSendWords: args segment channel id. Sends id<<30 | k for k = 0, 1,
// ... as one-value messages until killed.
func helperSendWords(args []string) int {
	_, ch := openChan(args)
	id, _ := strconv.Atoi(args[2])
	for k := 0; ; k++ {
		if err := ch.Send([]float64{float64(id<<30 | k)}); err != nil {
			return proctest.Fail("send: %v", err)
		}
	}
}

// Producers of one-value messages killed at random, each followed by a new
// one: the consumer gets each producer's values in order with none torn
// or repeated, and the ring goes on from the last published record.
func TestSingleValuesProducersKilled(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 4, 1)
	rng := rand.New(rand.NewPCG(5, 6))
	buf := make([]float64, 1)
	for id := 1; id <= 8; id++ {
		cmd := proctest.Command(t, "sendwords", name, "ch", strconv.Itoa(id))
		require.NoError(t, cmd.Start())
		require.NoError(t, ch.ExpectSender(cmd.Process.Pid))
		want := 0
		for stop := 1000 + rng.IntN(100_000); want < stop; want++ {
			_, err := ch.Recv(buf)
			require.NoError(t, err)
			require.Equal(t, float64(id<<30|want), buf[0], "producer %d value %d", id, want)
		}
		require.NoError(t, cmd.Process.Kill())
		cmd.Wait()
		for { // what it left queued: the rest of its run, in order
			_, ok, err := ch.TryRecv(buf)
			require.NoError(t, err)
			if !ok {
				break
			}
			require.Equal(t, float64(id<<30|want), buf[0], "producer %d value %d, after the kill", id, want)
			want++
		}
	}
}
