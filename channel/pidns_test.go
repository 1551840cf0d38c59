package channel_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// helperNSRecv receives args[2] messages, then waits args[3] for one more
// and prints what came of it: "timeout", or the error.
func helperNSRecv(args []string) int {
	_, ch := openChan(args)
	n, _ := strconv.Atoi(args[2])
	d, _ := time.ParseDuration(args[3])
	buf := make([]float64, ch.MaxLen())
	for i := range n {
		if _, err := ch.Recv(buf); err != nil {
			return proctest.Fail("recv %d: %v", i, err)
		}
	}
	defer ch.Close() // its death would not be seen: hand the side back
	switch _, ok, err := ch.RecvTimeout(buf, d); {
	case err != nil:
		fmt.Println(err)
	case ok:
		fmt.Println("a message")
	default:
		fmt.Println("timeout")
	}
	return 0
}

// inNewPIDNamespace runs helper name in a pid namespace of its own, where no
// process of ours exists, and returns its output.
func inNewPIDNamespace(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := proctest.Command(t, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	out, err := cmd.Output()
	if err != nil && os.Geteuid() != 0 {
		t.Skipf("cannot make a pid namespace without root: %v", err)
	}
	require.NoError(t, err, "helper %s: %s", name, out)
	return string(out)
}

// A process in another pid namespace (pods sharing /dev/shm) cannot see our
// pids: it judged our live producer dead, got ErrPeerDead, and took over the
// slot the producer was writing, losing a message whose Send would return
// nil. It now never judges a peer by its pid once namespaces are mixed.
func TestPeersInAnotherPIDNamespace(t *testing.T) {
	for _, spsc := range []bool{false, true} {
		t.Run(fmt.Sprintf("spsc=%v/live producer", spsc), func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<20)
			ch := newKind(t, seg, spsc)
			require.NoError(t, ch.Send([]float64{1}))
			out := inNewPIDNamespace(t, "nsrecv", name, "ch", "1", "600ms")
			assert.Equal(t, "timeout\n", out, "our producer is alive")
			assert.Zero(t, ch.State().Recovered)
		})
		t.Run(fmt.Sprintf("spsc=%v/producer writing", spsc), func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<20)
			ch := newKind(t, seg, spsc)
			writer := proctest.Command(t, "stuckwriter", name, "ch")
			in, err := writer.StdinPipe()
			require.NoError(t, err)
			stdout, err := writer.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, writer.Start())
			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "writing\n", line)

			out := inNewPIDNamespace(t, "nsrecv", name, "ch", "0", "600ms")
			assert.Equal(t, "timeout\n", out, "the writer is alive")
			assert.Zero(t, ch.State().Recovered, "a live writer's slot was taken over")

			in.Close() // the writer finishes its message
			require.NoError(t, writer.Wait())
			buf := make([]float64, 4)
			n, err := ch.Recv(buf)
			require.NoError(t, err)
			assert.Equal(t, []float64{666, 666}, buf[:2], "the writer's message, %d elements", n)
		})
	}
}

func newKind(t *testing.T, seg *shm.Segment, spsc bool) *channel.Channel[float64] {
	var opts []channel.Option
	if spsc {
		opts = append(opts, channel.WithSPSC())
	}
	ch, err := channel.New[float64](seg, "ch", 4, 4, opts...)
	require.NoError(t, err)
	return ch
}

func newKindNamed(t *testing.T, seg *shm.Segment, name string) *channel.Channel[float64] {
	ch, err := channel.New[float64](seg, name, 4, 4)
	require.NoError(t, err)
	return ch
}
