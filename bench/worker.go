package bench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// Worker makes this process a benchmark worker if it was started as one:
// it plays its role and exits. Programs that run benchmarks (the shmkit
// command, the package's tests) call it first thing in main or TestMain;
// otherwise it returns at once.
func Worker() {
	role := process.Role()
	if role == "" {
		return
	}
	os.Exit(playRole(role, os.Args[1:]))
}

// profileEnv names a directory where each Go worker writes a CPU profile,
// <role>-<pid>.pprof, to find out where a workload spends its time.
const profileEnv = "SHMKIT_BENCH_PROFILE"

func profile(dir, role string) (stop func(), err error) {
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", role, os.Getpid())))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// A role sets up, calls ready (which returns on "go"), works, and returns
// its report.
type role func(args []string, ready func()) (string, error)

var roles = map[string]role{
	"stream-send": streamSend, "stream-recv": streamRecv,
	"ping": ping, "pong": pong,
	"fd-send": fdSend, "fd-recv": fdRecv, "fd-ping": fdPing, "fd-pong": fdPong,
	"count-lock": countLock, "count-atomic": countAtomic,
	"sem-ping": semPing, "sem-pong": semPong,
}

func playRole(name string, args []string) int {
	r, ok := roles[name]
	if !ok {
		r, ok = nativeRoles[name]
	}
	if !ok {
		fmt.Fprintf(os.Stderr, "bench worker: %v: %q\n", ErrUnknown, name)
		return 2
	}
	in := bufio.NewReader(os.Stdin)
	ready := func() {
		os.Stdout.WriteString("ready\n")
		if line, err := in.ReadString('\n'); err != nil || line != "go\n" {
			os.Exit(3)
		}
	}
	if dir := os.Getenv(profileEnv); dir != "" {
		stop, err := profile(dir, name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench worker %s: profile: %v\n", name, err)
			return 1
		}
		defer stop()
	}
	report, err := r(args, ready)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench worker %s: %v\n", name, err)
		return 1
	}
	fmt.Printf("done %s\n", report)
	return 0
}

// ints parses the integer arguments from args[from:].
func ints(args []string, from int) ([]int, error) {
	var out []int
	for _, a := range args[from:] {
		n, err := strconv.Atoi(a)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func sum(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) }

// onSegment opens segment args[0], parses args[from:] as integers, and
// runs a role's body on them: what every shared memory role starts with.
func onSegment(args []string, from int, body func(seg *shm.Segment, n []int) (string, error)) (string, error) {
	n, err := ints(args, from)
	if err != nil {
		return "", err
	}
	seg, err := shm.Open(args[0])
	if err != nil {
		return "", err
	}
	defer seg.Close()
	return body(seg, n)
}

// streamSend: args segment channel count elems. Message k carries k first
// and last.
func streamSend(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		ch, err := channel.Open[float64](seg, args[1])
		if err != nil {
			return "", err
		}
		count, elems := n[0], n[1]
		msg := make([]float64, elems)
		ch.RegisterSender()
		ready()
		for k := range count {
			msg[0], msg[elems-1] = float64(k), float64(k)
			if err := ch.Send(msg); err != nil {
				return "", err
			}
		}
		return "0", nil
	})
}

// streamRecv copies each message out and sums its first and last element.
func streamRecv(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		ch, err := channel.Open[float64](seg, args[1])
		if err != nil {
			return "", err
		}
		count, elems := n[0], n[1]
		buf := make([]float64, elems)
		ch.RegisterReceiver()
		ready()
		total := 0.0
		for range count {
			m, err := ch.Recv(buf)
			if err != nil {
				return "", err
			}
			total += buf[0] + buf[m-1]
		}
		return sum(total), nil
	})
}

// openPingPong opens the channels "ping" and "pong" of seg.
func openPingPong(seg *shm.Segment) (ping, pong *channel.Channel[float64], err error) {
	if ping, err = channel.Open[float64](seg, "ping"); err == nil {
		pong, err = channel.Open[float64](seg, "pong")
	}
	return ping, pong, err
}

// ping: args segment count. Sends k on "ping", sums the answers on "pong".
func ping(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		out, in, err := openPingPong(seg)
		if err != nil {
			return "", err
		}
		v := []float64{0}
		ready()
		total := 0.0
		for k := range n[0] {
			v[0] = float64(k)
			if err := out.Send(v); err != nil {
				return "", err
			}
			if _, err := in.Recv(v); err != nil {
				return "", err
			}
			total += v[0]
		}
		return sum(total), nil
	})
}

// pong answers each ping with its value plus one.
func pong(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		in, out, err := openPingPong(seg)
		if err != nil {
			return "", err
		}
		v := []float64{0}
		ready()
		for range n[0] {
			if _, err := in.Recv(v); err != nil {
				return "", err
			}
			v[0]++
			if err := out.Send(v); err != nil {
				return "", err
			}
		}
		return "0", nil
	})
}

// fdSend writes the stream's messages as bytes to descriptor 3.
func fdSend(args []string, ready func()) (string, error) {
	n, err := ints(args, 0)
	if err != nil {
		return "", err
	}
	count, elems := n[0], n[1]
	w := os.NewFile(3, "out")
	msg := make([]byte, 8*elems)
	ready()
	for k := range count {
		bits := math.Float64bits(float64(k))
		binary.LittleEndian.PutUint64(msg, bits)
		binary.LittleEndian.PutUint64(msg[len(msg)-8:], bits)
		if _, err := w.Write(msg); err != nil {
			return "", err
		}
	}
	return "0", w.Close()
}

// fdRecv reads the stream's messages from descriptor 3.
func fdRecv(args []string, ready func()) (string, error) {
	n, err := ints(args, 0)
	if err != nil {
		return "", err
	}
	count, elems := n[0], n[1]
	r := os.NewFile(3, "in")
	buf := make([]byte, 8*elems)
	ready()
	total := 0.0
	for range count {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		total += math.Float64frombits(binary.LittleEndian.Uint64(buf)) +
			math.Float64frombits(binary.LittleEndian.Uint64(buf[len(buf)-8:]))
	}
	return sum(total), nil
}

// fdPing writes k to descriptor 3 and reads the answer from 4.
func fdPing(args []string, ready func()) (string, error) {
	n, err := ints(args, 0)
	if err != nil {
		return "", err
	}
	w, r := os.NewFile(3, "out"), os.NewFile(4, "in")
	buf := make([]byte, 8)
	ready()
	total := 0.0
	for k := range n[0] {
		binary.LittleEndian.PutUint64(buf, math.Float64bits(float64(k)))
		if _, err := w.Write(buf); err != nil {
			return "", err
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		total += math.Float64frombits(binary.LittleEndian.Uint64(buf))
	}
	return sum(total), nil
}

// fdPong answers on descriptor 3 what it reads on 4, plus one.
func fdPong(args []string, ready func()) (string, error) {
	n, err := ints(args, 0)
	if err != nil {
		return "", err
	}
	w, r := os.NewFile(3, "out"), os.NewFile(4, "in")
	buf := make([]byte, 8)
	ready()
	for range n[0] {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(buf)) + 1
		binary.LittleEndian.PutUint64(buf, math.Float64bits(v))
		if _, err := w.Write(buf); err != nil {
			return "", err
		}
	}
	return "0", nil
}

// countLock: args segment value k. Adds 1, k times, under the value's lock.
func countLock(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		v, err := ctypes.OpenValue[int64](seg, args[1])
		if err != nil {
			return "", err
		}
		inc := func(x int64) int64 { return x + 1 }
		ready()
		for range n[0] {
			if _, err := v.Update(inc); err != nil {
				return "", err
			}
		}
		return "0", nil
	})
}

// countAtomic adds 1, k times, with an atomic add.
func countAtomic(args []string, ready func()) (string, error) {
	return onSegment(args, 2, func(seg *shm.Segment, n []int) (string, error) {
		v, err := ctypes.OpenRawValue[int64](seg, args[1])
		if err != nil {
			return "", err
		}
		ready()
		for range n[0] {
			v.Add(1)
		}
		return "0", nil
	})
}

// openSems opens semaphores "a" and "b" of seg.
func openSems(seg *shm.Segment) (a, b *semaphore.Semaphore, err error) {
	if a, err = semaphore.Open(seg, "a"); err == nil {
		b, err = semaphore.Open(seg, "b")
	}
	return a, b, err
}

// semPing: args segment count. Posts a and waits for b, count times.
func semPing(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		a, b, err := openSems(seg)
		if err != nil {
			return "", err
		}
		ready()
		for range n[0] {
			if err := a.Release(); err != nil {
				return "", err
			}
			if err := b.Acquire(); err != nil {
				return "", err
			}
		}
		return itoa(n[0]), nil
	})
}

// semPong waits for a and posts b, count times.
func semPong(args []string, ready func()) (string, error) {
	return onSegment(args, 1, func(seg *shm.Segment, n []int) (string, error) {
		a, b, err := openSems(seg)
		if err != nil {
			return "", err
		}
		ready()
		for range n[0] {
			if err := a.Acquire(); err != nil {
				return "", err
			}
			if err := b.Release(); err != nil {
				return "", err
			}
		}
		return "0", nil
	})
}
