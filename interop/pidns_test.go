package interop_test

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/internal/proctest"
)

// A C or Python receiver in another pid namespace cannot see our pids: it
// judged our live producer dead and failed with "peer dead" after its first
// idle slice. It now waits, slice after slice, until we close.
func TestPeerInAnotherPIDNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a pid namespace needs root")
	}
	eachChannelKind(t, func(t *testing.T, p peer, opts []channel.Option) {
		seg, name := proctest.Segment(t, 1<<20)
		ch, err := channel.New[float64](seg, "ch", 8, msgLen, opts...)
		require.NoError(t, err)
		msg := make([]float64, msgLen)
		for k := range 2 {
			for j := range msg {
				msg[j] = float64(k*msgLen + j)
			}
			require.NoError(t, ch.Send(msg))
		}
		cmd := p.command(t, "recv", name, "ch")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

		// Each registration of a sleeper moves the generation in the high
		// half of recv_waiters on: three of them mean the receiver slept
		// through two slices, each ending in a look at its peers.
		obj, err := seg.Lookup("ch")
		require.NoError(t, err)
		waiters := &layout.At[layout.Channel](obj.Bytes(), 0).RecvWaiters
		for deadline := time.Now().Add(time.Minute); waiters.Load()>>16 < 3; {
			require.True(t, time.Now().Before(deadline), "the receiver never slept three times")
			require.True(t, procs.Alive(cmd.Process.Pid), "the receiver died: it judged our live producer dead")
			time.Sleep(time.Millisecond) // observing state, not synchronising
		}
		require.NoError(t, ch.End())
		r := &running{cmd, bufio.NewScanner(out)}
		r.expect(t, fmt.Sprintf("received=2 sum=%d order=ok", 2*msgLen*(2*msgLen-1)/2))
		require.NoError(t, cmd.Wait())
	})
}
