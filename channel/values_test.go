package channel_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// A process sends 0, 1, 2, ... as one-value messages through SendValues,
// in runs of 1 to 97, with a Flush now and then and now and then a
// two-value message by Send (so that laps end in skip records), over a
// ring of 8 slots that is often full; the receiver takes them with
// RecvValues into buffers of varying length, and the two-value messages
// with Recv, and gets every value once, in order, then EOF.
func TestValuesAcrossProcesses(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 8, 2)
	count := total(400_000)
	cmd := proctest.Command(t, "sendvalues", name, "ch", strconv.Itoa(count))
	require.NoError(t, cmd.Start())
	require.NoError(t, ch.ExpectSender(cmd.Process.Pid))
	buf := make([]float64, 300)
	next, calls := 0, 0
	for {
		n, err := ch.RecvValues(buf[:1+calls%len(buf)])
		calls++
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, io.ErrShortBuffer) {
			n, err = ch.Recv(buf[:2])
			require.NoError(t, err)
			require.Equal(t, []float64{float64(next), -1}, buf[:n], "the two-value message")
			next++
			continue
		}
		require.NoError(t, err)
		for _, v := range buf[:n] {
			require.Equal(t, float64(next), v, "in order, none lost")
			next++
		}
	}
	require.NoError(t, cmd.Wait())
	assert.Equal(t, count, next)
	t.Logf("%d values in %d calls", next, calls)
}

// helperSendValues sends args[2] values as described above, then ends.
func helperSendValues(args []string) int {
	_, ch := openChan(args)
	count, _ := strconv.Atoi(args[2])
	w, err := ch.Writer(13)
	if err != nil {
		return proctest.Fail("%v", err)
	}
	vs := make([]float64, 97)
	for k, run := 0, 0; k < count; run++ {
		n := min(1+run*31%len(vs), count-k)
		for i := range vs[:n] {
			vs[i] = float64(k + i)
		}
		switch {
		case run%17 == 5:
			err = ch.Send([]float64{vs[0], -1}) // publishes the batch before it
			n = 1
		default:
			var sent int
			sent, err = w.SendValues(vs[:n])
			if sent != n && err == nil {
				return proctest.Fail("sent %d of %d", sent, n)
			}
		}
		if err == nil && run%11 == 3 {
			err = w.Flush()
		}
		if err != nil {
			return proctest.Fail("send: %v", err)
		}
		k += n
	}
	if err := w.End(); err != nil {
		return proctest.Fail("end: %v", err)
	}
	return 0
}

// RecvValues takes one-value messages only: a longer one stops the batch
// and stays queued for Recv, an empty one is taken and ends the batch.
func TestValuesOtherLengths(t *testing.T) {
	for _, spsc := range []bool{true, false} {
		t.Run(fmt.Sprintf("spsc=%v", spsc), func(t *testing.T) { otherLengths(t, spsc) })
	}
}

func otherLengths(t *testing.T, spsc bool) {
	seg, _ := proctest.Segment(t, 1<<20)
	var opts []channel.Option
	if spsc {
		opts = append(opts, channel.WithSPSC())
	}
	ch, err := channel.New[int32](seg, "ch", 8, 3, opts...)
	require.NoError(t, err)
	for _, m := range [][]int32{{1}, {2}, {3, 4}, {5}, {}, {6}} {
		require.NoError(t, ch.Send(m))
	}
	buf := make([]int32, 10)
	n, err := ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []int32{1, 2}, buf[:n], "up to the longer message")
	_, err = ch.RecvValues(buf)
	assert.ErrorIs(t, err, io.ErrShortBuffer, "a longer message first")
	n, err = ch.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, []int32{3, 4}, buf[:n], "left queued for Recv")
	n, err = ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []int32{5}, buf[:n], "up to the empty message, which is taken")
	n, err = ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []int32{6}, buf[:n])
	require.NoError(t, ch.Send(nil))
	require.NoError(t, ch.Send([]int32{7}))
	n, err = ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "an empty message first")
	n, err = ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []int32{7}, buf[:n])
	n, err = ch.RecvValues(nil)
	assert.NoError(t, err)
	assert.Zero(t, n)
}

// SendValues writes the records Send writes, for elements narrower than
// a word as well: each value arrives whole through Recv and RecvValues.
func TestValuesNarrowElements(t *testing.T) {
	t.Run("int8", func(t *testing.T) { narrow(t, []int8{-128, -1, 0, 1, 127}) })
	t.Run("uint16", func(t *testing.T) { narrow(t, []uint16{0, 1, 0xfffe, 0xffff}) })
	t.Run("float32", func(t *testing.T) { narrow(t, []float32{-1.5, 0, 3.25, 1e38}) })
	t.Run("uint64", func(t *testing.T) { narrow(t, []uint64{0, 1 << 63, 1<<64 - 1}) })
}

func narrow[T comparable](t *testing.T, vs []T) {
	s, _ := proctest.Segment(t, 1<<20)
	ch, err := channel.New[T](s, "ch", 4, 1, channel.WithSPSC())
	require.NoError(t, err)
	w, err := ch.Writer(0)
	require.NoError(t, err)
	for lap := range 20 { // several laps of a small ring: skips between runs
		n, err := w.SendValues(vs)
		require.NoError(t, err)
		require.Equal(t, len(vs), n)
		require.NoError(t, w.Flush())
		got := make([]T, len(vs))
		if lap%2 == 0 {
			for i := range got {
				k, err := ch.Recv(got[i : i+1])
				require.NoError(t, err)
				require.Equal(t, 1, k)
			}
		} else {
			for k := 0; k < len(got); {
				m, err := ch.RecvValues(got[k:])
				require.NoError(t, err)
				k += m
			}
		}
		require.Equal(t, vs, got, "lap %d", lap)
	}
}

// A writer killed after SendValues wrote a batch it never published
// leaves none of it: the receiver gets only what was sent before.
func TestValuesKilledMidBatch(t *testing.T) {
	_, name, ch := newSPSC[float64](t, 16, 1)
	killInside(t, "stuckvalues", name, "written")
	buf := make([]float64, 10)
	n, err := ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []float64{1}, buf[:n], "the message sent before the batch")
	_, ok, err := ch.TryRecv(buf[:1])
	require.NoError(t, err)
	assert.False(t, ok, "an unpublished batch is no message")
}

// helperStuckValues sends one message, writes five values through a
// Writer whose batch is larger, says so, and waits to be killed.
func helperStuckValues(args []string) int {
	_, ch := openChan(args)
	if err := ch.Send([]float64{1}); err != nil {
		return proctest.Fail("send: %v", err)
	}
	w, err := ch.Writer(100)
	if err != nil {
		return proctest.Fail("%v", err)
	}
	if _, err := w.SendValues([]float64{100, 101, 102, 103, 104}); err != nil {
		return proctest.Fail("send: %v", err)
	}
	fmt.Println("written")
	io.ReadAll(os.Stdin)
	return 0
}

// After End, SendValues reports ErrEnded and how many values went first;
// RecvValues returns what is queued, then EOF. On an any-to-any channel
// RecvValues takes what is queued, one message at a time.
func TestValuesEnd(t *testing.T) {
	_, _, ch := newSPSC[float64](t, 8, 1)
	w, err := ch.Writer(0)
	require.NoError(t, err)
	n, err := w.SendValues([]float64{1, 2, 3})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NoError(t, w.End())
	n, err = w.SendValues([]float64{4})
	assert.ErrorIs(t, err, channel.ErrEnded)
	assert.Zero(t, n)
	buf := make([]float64, 8)
	n, err = ch.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 2, 3}, buf[:n])
	_, err = ch.RecvValues(buf)
	assert.ErrorIs(t, err, io.EOF)

	seg, _ := proctest.Segment(t, 1<<20)
	any, err := channel.New[float64](seg, "any", 8, 1)
	require.NoError(t, err)
	for v := range 5 {
		require.NoError(t, any.Send([]float64{float64(v)}))
	}
	n, err = any.RecvValues(buf)
	require.NoError(t, err)
	assert.Equal(t, []float64{0, 1, 2, 3, 4}, buf[:n])
}

type wide struct{ A, B float64 }

type rgb struct{ R, G, B uint8 }

// Where the fast path cannot run (an element wider than a word, one whose
// size does not divide 8), RecvValues still takes every one-value message
// that is ready, one TryRecv each; on a joinable channel, one a call.
func TestValuesWithoutTheFastPath(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	w16, err := channel.New[wide](seg, "wide", 8, 1, channel.WithSPSC())
	require.NoError(t, err)
	odd, err := channel.New[rgb](seg, "rgb", 8, 1, channel.WithSPSC())
	require.NoError(t, err)
	joinable, err := channel.New[float64](seg, "joinable", 8, 1, channel.WithSPSC(), channel.WithJoinable())
	require.NoError(t, err)
	for v := range 5 {
		require.NoError(t, w16.Send([]wide{{float64(v), -1}}))
		require.NoError(t, joinable.Send([]float64{float64(v)}))
	}
	wr, err := odd.Writer(0)
	require.NoError(t, err)
	n, err := wr.SendValues([]rgb{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NoError(t, wr.Flush())

	wbuf := make([]wide, 8)
	n, err = w16.RecvValues(wbuf)
	require.NoError(t, err)
	assert.Equal(t, []wide{{0, -1}, {1, -1}, {2, -1}, {3, -1}, {4, -1}}, wbuf[:n])
	obuf := make([]rgb, 8)
	n, err = odd.RecvValues(obuf)
	require.NoError(t, err)
	assert.Equal(t, []rgb{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, obuf[:n])
	fbuf := make([]float64, 8)
	for v := range 5 { // one message a call (TestValuesJoinable)
		n, err = joinable.RecvValues(fbuf)
		require.NoError(t, err)
		assert.Equal(t, []float64{float64(v)}, fbuf[:n])
	}
}

// Once a two-value or an empty message has moved positions to 8 mod 16,
// every lap of one-value records ends in an 8-byte skip record in the
// ring's last word; RecvValues passes it like any other skip.
func TestValuesSkipInTheLastWord(t *testing.T) {
	for _, shift := range []bool{false, true} {
		_, _, ch := newSPSC[float64](t, 3, 2)
		capacity := 4 * 64 // (slots+1) strides of align64(16 + 2*8) bytes
		buf := make([]float64, 10)
		pos := 0
		if shift {
			require.NoError(t, ch.Send([]float64{-1, -1})) // a 24-byte record
			_, err := ch.Recv(buf)
			require.NoError(t, err)
			pos = 24
		}
		for pos+3*16 < capacity-8 { // three records short of the ring's end
			require.NoError(t, ch.Send([]float64{0}))
			_, err := ch.Recv(buf[:1])
			require.NoError(t, err)
			pos += 16
		}
		w, err := ch.Writer(0)
		require.NoError(t, err)
		n, err := w.SendValues([]float64{0, 1, 2, 3, 4, 5, 6, 7})
		require.NoError(t, err)
		require.Equal(t, 8, n)
		require.NoError(t, w.Flush())
		n, err = ch.RecvValues(buf)
		require.NoError(t, err)
		assert.Equal(t, []float64{0, 1, 2, 3, 4, 5, 6, 7}, buf[:n], "positions shifted: %v", shift)
	}
}

// Random mix of Writer.Send (0-3 values), SendValues, Flush on one side,
// RecvValues, Recv, RecvBatch on the other, across element sizes and
// ring sizes; every value once, in order.
func TestValuesRandomMix(t *testing.T) {
	t.Run("int8", func(t *testing.T) { mixedStream[int8](t) })
	t.Run("int16", func(t *testing.T) { mixedStream[int16](t) })
	t.Run("int32", func(t *testing.T) { mixedStream[int32](t) })
	t.Run("float64", func(t *testing.T) { mixedStream[float64](t) })
}

func mixedStream[T int8 | int16 | int32 | float64](t *testing.T) {
	for _, slots := range []int{1, 2, 3, 5, 8} {
		for _, batch := range []int{1, 2, 7, 64} {
			seg, _ := proctest.Segment(t, 1<<20)
			ch, err := channel.New[T](seg, "ch", slots, 3, channel.WithSPSC())
			require.NoError(t, err)
			count := total(20000)
			errc := make(chan error, 1)
			go func() {
				w, err := ch.Writer(batch)
				if err != nil {
					errc <- err
					return
				}
				rng := rand.New(rand.NewPCG(uint64(slots), uint64(batch)))
				vs := make([]T, 40)
				for k := 0; k < count; {
					switch op := rng.IntN(10); {
					case op < 2: // a message of 0, 2 or 3 values: the first one counts
						m := []T{T(k % 100), -1, -2}[:[]int{0, 2, 3}[rng.IntN(3)]]
						err = w.Send(m)
						if len(m) > 0 {
							k++
						}
					case op < 3:
						err = w.Send([]T{T(k % 100)})
						k++
					case op < 4:
						err = w.Flush()
					default:
						n := min(1+rng.IntN(len(vs)), count-k)
						for i := range vs[:n] {
							vs[i] = T((k + i) % 100)
						}
						var s int
						s, err = w.SendValues(vs[:n])
						if s != n && err == nil {
							err = errors.New("short")
						}
						k += n
					}
					if err != nil {
						errc <- err
						return
					}
				}
				errc <- w.End()
			}()
			rng := rand.New(rand.NewPCG(7, uint64(slots)))
			buf := make([]T, 50)
			bufs := make([][]T, 10)
			for i := range bufs {
				bufs[i] = make([]T, 3)
			}
			next := 0
			check := func(m []T) {
				if len(m) == 0 {
					return
				}
				require.Equal(t, T(next%100), m[0], "slots %d batch %d value %d", slots, batch, next)
				for i, v := range m[1:] {
					require.Equal(t, T(-1-i), v)
				}
				next++
			}
			for {
				var err error
				switch op := rng.IntN(4); op {
				case 0, 1:
					var n int
					n, err = ch.RecvValues(buf[:1+rng.IntN(len(buf))])
					if errors.Is(err, io.ErrShortBuffer) {
						var k int
						k, err = ch.Recv(buf[:3])
						if err == nil {
							check(buf[:k])
						}
						break
					}
					for _, v := range buf[:n] {
						check([]T{v})
					}
				case 2:
					var k int
					k, err = ch.Recv(buf[:3])
					if err == nil {
						check(buf[:k])
					}
				case 3:
					var n int
					n, err = ch.RecvBatch(bufs[:1+rng.IntN(len(bufs))])
					for _, m := range bufs[:n] {
						check(m)
						bufs[0] = bufs[0][:3]
					}
					for i := range bufs {
						bufs[i] = bufs[i][:3]
					}
				}
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
			}
			require.NoError(t, <-errc)
			require.Equal(t, count, next, "slots %d batch %d", slots, batch)
		}
	}
}

// Hostile rings: random words, headers with the right stamps (one-value,
// skip, pad, others), random heads; RecvValues must never panic.
func TestValuesHostileRings(t *testing.T) {
	t.Run("float64", func(t *testing.T) { hostileRing[float64](t) })
	t.Run("int8", func(t *testing.T) { hostileRing[int8](t) })
	t.Run("int32", func(t *testing.T) { hostileRing[int32](t) })
}

func hostileRing[T float64 | int8 | int32](t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	first, err := channel.New[T](seg, "ch", 3, 2, channel.WithSPSC())
	require.NoError(t, err)
	require.NoError(t, first.End())
	obj, err := seg.Lookup("ch")
	require.NoError(t, err)
	hs := int(unsafe.Sizeof(layout.Channel{}))
	h := (*layout.Channel)(unsafe.Pointer(&obj.Bytes()[0]))
	ring := obj.Bytes()[hs:obj.Length]
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 3000 {
		base := uint64(rng.IntN(1<<20)) * 8
		if rng.IntN(4) == 0 {
			base += uint64(rng.IntN(8))
		}
		if rng.IntN(8) == 0 {
			base = 1<<35 - uint64(rng.IntN(64))*8
		}
		h.Head.Store(base)
		for off := 0; off < len(ring); off += 8 {
			pos := base - base%uint64(len(ring)) + uint64(off)
			if uint64(off) < base%uint64(len(ring)) {
				pos += uint64(len(ring))
			}
			st := uint64(uint32(pos>>3)|1) << 32
			var w uint64
			switch rng.IntN(8) {
			case 0, 1, 2:
				w = st | 2
			case 3:
				w = st | uint64(layout.LenSkip)
			case 4:
				w = st | uint64(layout.LenPad)
			case 5:
				w = st | uint64(rng.IntN(5))
			default:
				w = rng.Uint64()
			}
			binary.LittleEndian.PutUint64(ring[off:], w)
		}
		ch, err := channel.Open[T](seg, "ch")
		require.NoError(t, err)
		dst := make([]T, 1+rng.IntN(40))
		for range 20 {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("iter %d head %d: panic %v", iter, base, r)
					}
				}()
				_, err = ch.RecvValues(dst)
			}()
			if err != nil {
				break
			}
		}
		require.NoError(t, ch.Close())
	}
}

// A head that is no multiple of 8, stored by another process, is refused
// as corrupt by the producer and the consumer that lease the ring after it,
// and nothing is written outside the ring; before, C's producer wrote its
// skip record's 8 bytes at the ring's last 3, into the next object.
func TestSPSCMisalignedHead(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	_, err := channel.New[float64](seg, "ch", 1, 1, channel.WithSPSC())
	require.NoError(t, err)
	next, err := seg.Alloc(shm.Request{Name: "next", Kind: shm.KindBytes, Length: 64}, nil)
	require.NoError(t, err)
	obj, err := seg.Lookup("ch")
	require.NoError(t, err)
	h := (*layout.Channel)(unsafe.Pointer(&obj.Bytes()[0]))
	capacity := obj.Length - uint64(unsafe.Sizeof(layout.Channel{}))
	h.Head.Store(capacity - 3)
	before := append([]byte(nil), next.Bytes()...)

	ch, err := channel.Open[float64](seg, "ch")
	require.NoError(t, err)
	assert.ErrorIs(t, ch.Send([]float64{1}), shm.ErrCorrupt)
	w, err := ch.Writer(0)
	if err == nil {
		_, err = w.SendValues([]float64{1, 2})
	}
	assert.ErrorIs(t, err, shm.ErrCorrupt)
	_, err = ch.Recv(make([]float64, 1))
	assert.ErrorIs(t, err, shm.ErrCorrupt)
	_, err = ch.RecvValues(make([]float64, 4))
	assert.ErrorIs(t, err, shm.ErrCorrupt)
	assert.Equal(t, before, next.Bytes(), "the next object is untouched")
}

// On a joinable channel RecvValues takes one message a call, so that an
// empty message is never taken unseen after values: one TaskDone a call,
// and Join returns. Before, [1], [] and [2] came as [1] and [2], and Join
// waited for the empty message's TaskDone.
func TestValuesJoinable(t *testing.T) {
	for _, spsc := range []bool{true, false} {
		seg, _ := proctest.Segment(t, 1<<20)
		opts := []channel.Option{channel.WithJoinable()}
		if spsc {
			opts = append(opts, channel.WithSPSC())
		}
		ch, err := channel.New[float64](seg, "j", 8, 1, opts...)
		require.NoError(t, err)
		for _, m := range [][]float64{{1}, {}, {2}} {
			require.NoError(t, ch.Send(m))
		}
		buf := make([]float64, 10)
		var got [][]float64
		for ch.Len() > 0 {
			n, err := ch.RecvValues(buf)
			require.NoError(t, err)
			got = append(got, append([]float64{}, buf[:n]...))
			require.NoError(t, ch.TaskDone())
		}
		assert.Equal(t, [][]float64{{1}, {}, {2}}, got, "spsc %v", spsc)
		ok, err := ch.JoinTimeout(time.Second)
		require.NoError(t, err)
		assert.True(t, ok, "spsc %v", spsc)
	}
}
