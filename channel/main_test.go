package channel_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
	"github.com/stretchr/testify/require"

	"testing"
)

func TestMain(m *testing.M) {
	proctest.Main(m, map[string]proctest.Helper{
		"produce":     helperProduce,
		"consume":     helperConsume,
		"recvonce":    helperRecvOnce,
		"floatseed":   helperFloatSeed,
		"sendforever": helperSendForever,
		"stuckwriter": helperStuckWriter,
		"stuckreader": helperStuckReader,
		"sink":        helperSink,
		"nsrecv":      helperNSRecv,
		"closewhile":  helperCloseWhileWaiting,
		"taskworker":  helperTaskWorker,
		"exitearly":   helperExitEarly,
		"sendthree":   helperSendThree,
		"sendevents":  helperSendEvents,
		"pipeecho":    helperPipeEcho,
		"pipehold":    helperPipeHold,
		"stuckbatch":  helperStuckBatch,
		"batchloop":   helperBatchLoop,
		"sendvalues":  helperSendValues,
		"stuckvalues": helperStuckValues,
		"sendsingles": helperSendSingles,
		"sendwords":   helperSendWords,
		"objects":     proctest.ListObjects,
		"recvonce-exit": func(args []string) int {
			_, ch := openChan(args)
			return exitOn(ch.RecvFunc(func([]float64) {}))
		},
	})
}

// startHelpers starts n copies of helper name with args, without waiting.
func startHelpers(t *testing.T, n int, name string, args ...string) []*exec.Cmd {
	t.Helper()
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = proctest.Command(t, name, args...)
		require.NoError(t, cmds[i].Start())
	}
	return cmds
}

func openChan(args []string) (*shm.Segment, *channel.Channel[float64]) {
	seg := proctest.OpenSegment(args[0])
	ch, err := channel.Open[float64](seg, args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open channel:", err)
		os.Exit(1)
	}
	return seg, ch
}

// message fills m with producer id's message number seq: its length varies
// with seq, and every element is determined by (id, seq, index).
func message(m []float64, id, seq int) []float64 {
	n := 2 + (seq*7919+id)%(cap(m)-1)
	m = m[:n]
	m[0], m[1] = float64(id), float64(seq)
	for j := 2; j < n; j++ {
		m[j] = float64(id<<40 | seq<<8 | j&0xff)
	}
	return m
}

// verify checks a received message and returns its producer and number.
func verify(m []float64) (id, seq int, err error) {
	if len(m) < 2 {
		return 0, 0, fmt.Errorf("message of %d elements", len(m))
	}
	id, seq = int(m[0]), int(m[1])
	want := message(make([]float64, 0, cap(m)), id, seq)
	if len(want) != len(m) {
		return id, seq, fmt.Errorf("producer %d message %d: %d elements, want %d", id, seq, len(m), len(want))
	}
	for j := range m {
		if m[j] != want[j] {
			return id, seq, fmt.Errorf("producer %d message %d: torn at element %d", id, seq, j)
		}
	}
	return id, seq, nil
}

// tally is what a consumer saw of each producer. Sums wrap modulo 2^64 on
// every side alike, so they stay exact checks however long the run.
type tally struct{ count, sum, sumSq uint64 }

// helperProduce sends args[3] messages as producer args[2], then closes the
// channel if args[4] is "close".
func helperProduce(args []string) int {
	_, ch := openChan(args)
	id, _ := strconv.Atoi(args[2])
	n, _ := strconv.Atoi(args[3])
	buf := make([]float64, ch.MaxLen())
	for seq := range n {
		if err := ch.Send(message(buf, id, seq)); err != nil {
			return proctest.Fail("send %d: %v", seq, err)
		}
	}
	if len(args) > 4 && args[4] == "close" {
		if err := ch.End(); err != nil {
			return proctest.Fail("close: %v", err)
		}
	}
	return 0
}

// helperConsume receives until EOF, checking every message and each
// producer's order, and prints "id count sum sumsq" per producer.
func helperConsume(args []string) int {
	_, ch := openChan(args)
	seen := map[int]*tally{}
	last := map[int]int{}
	buf := make([]float64, ch.MaxLen())
	for {
		n, err := ch.Recv(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return proctest.Fail("recv: %v", err)
		}
		id, seq, err := verify(buf[:n])
		if err != nil {
			return proctest.Fail("%v", err)
		}
		if l, ok := last[id]; ok && seq <= l {
			return proctest.Fail("producer %d: message %d after %d", id, seq, l)
		}
		last[id] = seq
		t := seen[id]
		if t == nil {
			t = &tally{}
			seen[id] = t
		}
		t.count++
		t.sum += uint64(seq)
		t.sumSq += uint64(seq) * uint64(seq)
	}
	for id, t := range seen {
		fmt.Println(id, t.count, t.sum, t.sumSq)
	}
	return 0
}

// helperRecvOnce receives one message, says so, and waits to be killed.
func helperRecvOnce(args []string) int {
	_, ch := openChan(args)
	if _, err := ch.RecvNew(); err != nil {
		return proctest.Fail("recv: %v", err)
	}
	fmt.Println("received")
	io.ReadAll(os.Stdin)
	return 0
}

// helperFloatSeed is the consumer of the seed's FloatChannel program: it
// receives args[2] messages and checks each is range(100000) shifted by its
// number, printing the total of all elements.
func helperFloatSeed(args []string) int {
	_, ch := openChan(args)
	count, _ := strconv.Atoi(args[2])
	total := 0.0
	for i := range count {
		values, err := ch.RecvNew()
		if err != nil {
			return proctest.Fail("recv %d: %v", i, err)
		}
		if len(values) != 100000 {
			return proctest.Fail("message %d has %d values, want 100000", i, len(values))
		}
		for j, v := range values {
			if v != float64(j+i) {
				return proctest.Fail("message %d element %d is %v, want %d", i, j, v, j+i)
			}
			total += v
		}
	}
	fmt.Println(strconv.FormatFloat(total, 'f', -1, 64))
	return 0
}

// helperSendForever sends large messages as producer args[2] until killed,
// printing "sent N" to stdout after each so the parent can pick its moment.
func helperSendForever(args []string) int {
	_, ch := openChan(args)
	id, _ := strconv.Atoi(args[2])
	buf := make([]float64, ch.MaxLen())
	w := bufio.NewWriter(os.Stdout)
	for seq := 0; ; seq++ {
		if err := ch.Send(message(buf, id, seq)); err != nil {
			return proctest.Fail("send: %v", err)
		}
		fmt.Fprintln(w, "sent", seq)
		w.Flush()
	}
}

// helperStuckWriter claims a slot, writes half a message, says so, and
// waits inside the write to be killed.
func helperStuckWriter(args []string) int {
	_, ch := openChan(args)
	return exitOn(ch.SendFunc(4, func(s []float64) {
		s[0], s[1] = 666, 666
		fmt.Println("writing")
		io.ReadAll(os.Stdin)
	}))
}

// helperStuckReader claims a message and waits inside the read to be killed.
func helperStuckReader(args []string) int {
	_, ch := openChan(args)
	return exitOn(ch.RecvFunc(func([]float64) {
		fmt.Println("reading")
		io.ReadAll(os.Stdin)
	}))
}

func exitOn(err error) int {
	if err != nil {
		return proctest.Fail("%v", err)
	}
	return 0
}
