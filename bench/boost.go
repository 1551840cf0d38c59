package bench

import (
	"context"
	_ "embed"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/shmkit/shmkit/shm"
)

// The Boost.Interprocess and Boost.Lockfree peers: boost/peers.cpp,
// compiled with g++ the first time a run needs it and kept in the user's
// cache directory under the source's hash.

//go:embed boost/peers.cpp
var boostSource []byte

var boostBuild = sync.OnceValues(peerSource{name: "boost-peers", compiler: "g++",
	files: map[string][]byte{"peers.cpp": boostSource}, main: "peers.cpp",
	flags: []string{"-O2", "-std=c++17"}, libs: []string{"-lpthread", "-lrt"},
	needs: map[string]string{"boost/": "libboost-dev"}}.build)

// boostSetup runs a setup role of the peers program.
func boostSetup(ctx context.Context, prog string, args ...string) error {
	out, err := exec.CommandContext(ctx, prog, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("peers %s: %w: %s", args[0], err, out)
	}
	return nil
}

var boostSeq int

// boostName is a fresh name in /dev/shm for a run; unlink removes it.
func boostName(suffix string) (name string, unlink func()) {
	boostSeq++
	name = fmt.Sprintf("shmkit-bench-boost-%d-%d%s", os.Getpid(), boostSeq, suffix)
	return name, func() { shm.Unlink(name) }
}

// boostRun finds the peers program, then runs body with it.
func boostRun(body func(ctx context.Context, prog string, w *Workload, count int) (time.Duration, error)) func(context.Context, *Workload, int) (time.Duration, error) {
	return func(ctx context.Context, w *Workload, count int) (time.Duration, error) {
		prog, err := boostBuild()
		if err != nil {
			return 0, err
		}
		return body(ctx, prog, w, count)
	}
}

// W1, W2 over boost::interprocess::message_queue, as many messages deep as
// shmkit's ring.
var boostMQStream = boostStream("mq", func(w *Workload) []string {
	return []string{itoa(depthFor(w.Elems)), itoa(8 * w.Elems)}
})

// W1, W2 over boost::lockfree::spsc_queue placed in shared memory, of one
// message type (a double, or a struct of W1's 100,000), as many messages
// deep as shmkit's ring, through push(const T&) and pop(T&).
var boostSPSCStream = boostStream("spsc", func(w *Workload) []string {
	return []string{itoa(w.Elems), itoa(depthFor(w.Elems))}
})

// W1 over an spsc_queue<double> of the same bytes, through the array
// overloads push(const T*, n) and pop(T*, n).
var boostSPSCArrayStream = boostStream("spsc-array", func(w *Workload) []string {
	return []string{itoa(w.Elems), itoa(depthFor(w.Elems))}
})

// W2 over the same spsc_queue<double> as boostSPSCStream, in batches:
// push(const T*, n) of 64 doubles, pop(T*, n) of up to 256, as shmkit's
// batched row sends and receives.
var boostSPSCBatchStream = boostStream("spsc-batch", func(w *Workload) []string {
	return []string{itoa(w.Elems), itoa(depthFor(w.Elems))}
})

// boostStream runs a stream over the peers' setup-KIND object, made with
// the arguments sizes gives, between KIND-send and KIND-recv.
func boostStream(kind string, sizes func(w *Workload) []string) func(context.Context, *Workload, int) (time.Duration, error) {
	return boostRun(func(ctx context.Context, prog string, w *Workload, count int) (time.Duration, error) {
		name, unlink := boostName("")
		defer unlink()
		if err := boostSetup(ctx, prog, append([]string{"setup-" + kind, name}, sizes(w)...)...); err != nil {
			return 0, err
		}
		args := []string{name, itoa(count), itoa(w.Elems)}
		return run(ctx, 0, streamSum(count), workerSpec{role: Role(kind + "-recv"), args: args, prog: prog},
			workerSpec{role: Role(kind + "-send"), args: args, prog: prog})
	})
}

// W3 over two one-message message_queues.
var boostMQPingPong = boostRun(func(ctx context.Context, prog string, w *Workload, count int) (time.Duration, error) {
	name, _ := boostName("")
	for _, dir := range []string{"-ping", "-pong"} {
		defer shm.Unlink(name + dir)
		if err := boostSetup(ctx, prog, "setup-mq", name+dir, "1", "8"); err != nil {
			return 0, err
		}
	}
	args := []string{name, itoa(count)}
	return run(ctx, 0, pingSum(count), workerSpec{role: "mq-ping", args: args, prog: prog},
		workerSpec{role: "mq-pong", args: args, prog: prog})
})

// W5 with boost::interprocess::interprocess_mutex: the counter is the
// first int64 of the shared memory object, checked here afterwards.
var boostMutexCount = boostRun(func(ctx context.Context, prog string, w *Workload, count int) (time.Duration, error) {
	name, unlink := boostName("")
	defer unlink()
	if err := boostSetup(ctx, prog, "setup-mutex", name); err != nil {
		return 0, err
	}
	each := max(1, count/counterProcs)
	specs := make([]workerSpec, counterProcs)
	for i := range specs {
		specs[i] = workerSpec{role: "mutex-count", args: []string{name, itoa(each)}, prog: prog}
	}
	d, err := run(ctx, -1, "", specs...)
	if err != nil {
		return 0, err
	}
	raw, err := shm.OpenRaw(name)
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	if got := int64(binary.LittleEndian.Uint64(raw.Bytes())); got != int64(each*counterProcs) {
		return 0, fmt.Errorf("%w: counter is %d, expected %d", ErrChecksum, got, each*counterProcs)
	}
	return d * time.Duration(count) / time.Duration(each*counterProcs), nil
})
