package channel_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// helperPipeEcho opens end 1 of pipe args[1] and answers every message
// with each element plus one until the stream ends, then closes its end.
func helperPipeEcho(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	c, err := channel.OpenPipe[int64](seg, args[1], 1)
	if err != nil {
		return proctest.Fail("open pipe: %v", err)
	}
	for {
		msg, err := c.Recv()
		if errors.Is(err, io.EOF) {
			return exitOn(c.Close())
		}
		if err != nil {
			return proctest.Fail("recv: %v", err)
		}
		for i := range msg {
			msg[i]++
		}
		if err := c.Send(msg); err != nil {
			return proctest.Fail("send: %v", err)
		}
	}
}

// helperPipeHold opens end 1 of pipe args[1], says so, and waits to be killed.
func helperPipeHold(args []string) int {
	seg := proctest.OpenSegment(args[0])
	if _, err := channel.OpenPipe[int64](seg, args[1], 1); err != nil {
		return proctest.Fail("open pipe: %v", err)
	}
	fmt.Println("open")
	select {}
}

// TestPipeDuplex: a request-reply conversation with another process over
// one pipe; closing our end lets the other end see EOF, and its close
// gives us EOF in turn.
func TestPipeDuplex(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	c0, err := channel.NewPipe[int64](seg, "p", 8, 64) // the child serves end 1
	require.NoError(t, err)
	cmd := proctest.Command(t, "pipeecho", name, "p")
	require.NoError(t, cmd.Start())
	for i := range int64(200) {
		msg := make([]int64, 1+i%64)
		for j := range msg {
			msg[j] = i * int64(j)
		}
		require.NoError(t, c0.Send(msg))
		got, err := c0.Recv()
		require.NoError(t, err)
		require.Len(t, got, len(msg))
		for j := range got {
			require.Equal(t, msg[j]+1, got[j])
		}
	}
	require.NoError(t, c0.Close()) // the child reads EOF, closes its end and exits
	require.NoError(t, cmd.Wait())
	_, err = c0.Recv()
	assert.ErrorIs(t, err, channel.ErrClosed, "a closed end refuses use")
}

// TestPipePoll: Poll waits for a message without taking it from Recv, and
// reports the end of the stream.
func TestPipePoll(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	c0, err := channel.NewPipe[byte](seg, "p", 4, 16)
	require.NoError(t, err)
	c1, err := channel.OpenPipe[byte](seg, "p", 1)
	require.NoError(t, err)
	ok, err := c0.Poll(0)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = c0.Poll(5 * time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, c1.Send([]byte("hello, world")))
	ok, err = c0.Poll(time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = c0.Poll(0) // still there
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = c0.RecvInto(make([]byte, 4))
	assert.ErrorIs(t, err, io.ErrShortBuffer)
	buf := make([]byte, 16)
	n, err := c0.RecvInto(buf)
	require.NoError(t, err)
	assert.Equal(t, "hello, world", string(buf[:n]))

	require.NoError(t, c1.Close())
	ok, err = c0.Poll(time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "the end of the stream is ready to read")
	_, err = c0.Recv()
	assert.ErrorIs(t, err, io.EOF)
	require.NoError(t, c0.Close())
}

// TestPipeOneWay: end 0 only receives and end 1 only sends.
func TestPipeOneWay(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	r, err := channel.NewPipe[float64](seg, "p", 4, 4, channel.WithOneWay())
	require.NoError(t, err)
	w, err := channel.OpenPipe[float64](seg, "p", 1)
	require.NoError(t, err)
	assert.ErrorIs(t, r.Send([]float64{1}), channel.ErrNoSuchEnd)
	_, err = w.Recv()
	assert.ErrorIs(t, err, channel.ErrNoSuchEnd)
	_, err = w.Poll(0)
	assert.ErrorIs(t, err, channel.ErrNoSuchEnd)
	require.NoError(t, w.Send([]float64{2.5}))
	got, err := r.Recv()
	require.NoError(t, err)
	assert.Equal(t, []float64{2.5}, got)
	_, err = channel.OpenPipe[float64](seg, "p", 2)
	assert.ErrorIs(t, err, channel.ErrNoSuchEnd)
	require.NoError(t, r.Close())
	require.NoError(t, w.Close())
}

// TestPipeExpectedPeerNeverOpens: the process named to open the other end
// exits before it does; a blocked Recv reports ErrPeerDead.
func TestPipeExpectedPeerNeverOpens(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<20)
	c0, err := channel.NewPipe[int64](seg, "p", 4, 4)
	require.NoError(t, err)
	peer := exec.Command("false")
	require.NoError(t, peer.Start())
	require.NoError(t, c0.ExpectPeer(peer.Process.Pid))
	_ = peer.Wait()
	_, err = c0.Recv()
	assert.ErrorIs(t, err, channel.ErrPeerDead)
	require.NoError(t, c0.Close())
}

// TestPipePeerKilled: the process at the other end dies without closing;
// a blocked Recv reports ErrPeerDead instead of waiting forever.
func TestPipePeerKilled(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<20)
	c0, err := channel.NewPipe[int64](seg, "p", 4, 4)
	require.NoError(t, err)
	r := proctest.Command(t, "pipehold", name, "p")
	out, err := r.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, r.Start())
	line := make([]byte, 5)
	_, err = io.ReadFull(out, line)
	require.NoError(t, err)
	require.Equal(t, "open\n", string(line))
	require.NoError(t, r.Process.Signal(os.Kill))
	_ = r.Wait()
	_, err = c0.Recv()
	assert.ErrorIs(t, err, channel.ErrPeerDead, "pid %s", strconv.Itoa(r.Process.Pid))
	require.NoError(t, c0.Close())
}

// TestNewPipeRefusedCreatesNothing: a NewPipe that finds room for only
// one of its two channels (bytes or directory entries), or its second
// channel's name taken, leaves no channel behind: another process lists
// nothing of it, and the name is free for a pipe that fits.
func TestNewPipeRefusedCreatesNothing(t *testing.T) {
	big, _ := proctest.Segment(t, 1<<20)
	c, err := channel.NewPipe[float64](big, "p", 4, 16)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	obj, err := big.Lookup("p.0")
	require.NoError(t, err)
	length := obj.Length
	for _, opt := range []struct{ size, cap int }{
		{int(layout.DataStart(2) + 2*length - 64), 2}, // 64 bytes short of the second
		{shm.SizeFor(length, length) + 4096, 1},       // one entry
	} {
		seg, name := proctest.Segment(t, opt.size, shm.WithCapacity(opt.cap))
		_, err := channel.NewPipe[float64](seg, "p", 4, 16)
		assert.ErrorIs(t, err, shm.ErrNoSpace, "%+v", opt)
		assert.Empty(t, proctest.Output(t, "objects", name), "%+v: a refused NewPipe left a channel", opt)
	}
	seg, name := proctest.Segment(t, 1<<20)
	_, err = seg.Alloc(shm.Request{Name: "p.1", Kind: shm.KindBytes, Length: 8}, nil)
	require.NoError(t, err)
	_, err = channel.NewPipe[float64](seg, "p", 4, 16)
	assert.ErrorIs(t, err, shm.ErrObjectExists)
	assert.Equal(t, "p.1", proctest.Output(t, "objects", name), "a refused NewPipe left a channel")

	exact, _ := proctest.Segment(t, shm.SizeFor(length, length))
	c, err = channel.NewPipe[float64](exact, "p", 4, 16)
	require.NoError(t, err, "a segment of exactly the pipe's size")
	require.NoError(t, c.Close())
}
