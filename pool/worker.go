package pool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

// profileEnv names a directory where each worker writes a CPU profile,
// as the benchmark's workers do.
const profileEnv = "SHMKIT_BENCH_PROFILE"

// workerRole is the process role of a pool worker; every program that
// imports this package can be started in it.
const workerRole = "shmkit.pool.worker"

// Exit statuses of a worker.
const (
	exitBroken  = 1 // the pool's objects were unusable
	exitInit    = 4 // the initializer failed
	exitPanicky = 3 // a task panicked: the worker leaves, the pool starts another
)

func init() { process.Register(workerRole, serve) }

// serve is a worker's body. Its arguments: the pool's segment, the slot,
// the worker's own segment, then the initializer's name and arguments, if
// any.
func serve(args []string) int {
	if dir := os.Getenv(profileEnv); dir != "" {
		if f, err := os.Create(filepath.Join(dir, fmt.Sprintf("pool-worker-%d.pprof", os.Getpid()))); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "pool worker: missing arguments")
		return exitBroken
	}
	slot, err := strconv.Atoi(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pool worker: bad slot", args[1])
		return exitBroken
	}
	row, closeTable, err := openRow(args[0], slot)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pool worker:", err)
		return exitBroken
	}
	defer closeTable()
	seg, err := shm.Open(args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pool worker:", err)
		return exitBroken
	}
	defer seg.Close()
	tasks, err := channel.Open[byte](seg, "tasks")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pool worker:", err)
		return exitBroken
	}
	defer tasks.Close()
	results, err := channel.Open[byte](seg, "results")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pool worker:", err)
		return exitBroken
	}
	defer results.Close()
	tasks.RegisterReceiver()
	results.RegisterSender()
	row.PID.Store(int32(os.Getpid()))

	if len(args) > 3 {
		f, ok := lookupInit(args[3])
		if !ok {
			fmt.Fprintf(os.Stderr, "pool worker: %v: initializer %q\n", ErrUnknownTask, args[3])
			return exitInit
		}
		if err := f(args[4:]); err != nil {
			fmt.Fprintf(os.Stderr, "pool worker %s: initializer: %v\n", process.Name(), err)
			return exitInit
		}
	}
	row.State.Store(layout.PoolIdle)

	// Take every chunk already queued (up to a batch), run them, and send
	// their results together: one wake-up of the parent for the lot.
	bufs, got := make([][]byte, recvBatch), make([][]byte, recvBatch)
	for i := range bufs {
		bufs[i] = make([]byte, tasks.MaxLen())
	}
	var arena, enc []byte
	var msgs [][]byte
	for {
		copy(got, bufs)
		n, err := tasks.RecvBatch(got)
		if errors.Is(err, io.EOF) {
			return 0 // the pool asked this worker to leave
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pool worker:", err)
			return exitBroken
		}
		arena, msgs = arena[:0], msgs[:0]
		panicked := false
		for _, msg := range got[:n] {
			id, fn, items, err := parseTask(msg)
			if err != nil {
				fmt.Fprintln(os.Stderr, "pool worker:", err)
				return exitBroken
			}
			row.Task.Store(id)
			row.Item.Store(0)
			row.State.Store(layout.PoolBusy)
			reg, known := lookupTask(fn)
			var answers []answer
			flush := func() {
				if len(answers) > 0 {
					at := len(arena)
					arena = appendResult(arena, id, answers)
					msgs = append(msgs, arena[at:len(arena):len(arena)])
					answers = answers[:0]
				}
			}
			size := resultHeader
			for k, item := range items {
				row.Item.Store(uint32(k))
				var a answer
				if !known {
					a = answer{layout.PoolError, []byte(fmt.Sprintf("%v: %q", ErrUnknownTask, fn))}
				} else {
					a, enc = runOne(reg.run, enc, item)
				}
				if a.status == layout.PoolPanic {
					panicked = true
				}
				if 5+len(a.data)+resultHeader > results.MaxLen() {
					a = answer{layout.PoolError, []byte(fmt.Sprintf("%v: a result of %d bytes", ErrTooLarge, len(a.data)))}
				}
				if size+5+len(a.data) > results.MaxLen() {
					flush()
					size = resultHeader
				}
				// The answer's bytes live in enc, which the next task reuses.
				a.data = append([]byte(nil), a.data...)
				answers = append(answers, a)
				size += 5 + len(a.data)
			}
			flush()
			if panicked {
				break // the chunks after it go back to the pool when this worker exits
			}
		}
		if _, err := results.SendBatch(msgs); err != nil {
			fmt.Fprintln(os.Stderr, "pool worker:", err)
			return exitBroken
		}
		row.Done.Add(uint64(n))
		row.State.Store(layout.PoolIdle)
		if panicked {
			return exitPanicky
		}
	}
}

// recvBatch is how many chunks a worker takes at once, at most.
const recvBatch = 16

// runOne runs a task on one input, turning an error or a panic into its
// answer.
func runOne(run handler, buf, in []byte) (a answer, _ []byte) {
	defer func() {
		if r := recover(); r != nil {
			a = answer{layout.PoolPanic, fmt.Appendf(nil, "%v\n%s", r, debug.Stack())}
		}
	}()
	out, err := run(buf[:0], in)
	if err != nil {
		return answer{layout.PoolError, []byte(err.Error())}, out
	}
	return answer{layout.PoolOK, out}, out
}

// openRow attaches to a pool's table and returns this slot's row.
func openRow(name string, slot int) (*layout.PoolWorker, func(), error) {
	seg, err := shm.Open(name)
	if err != nil {
		return nil, nil, err
	}
	_, rows, err := table(seg)
	if err != nil {
		seg.Close()
		return nil, nil, err
	}
	if slot < 0 || slot >= len(rows) {
		seg.Close()
		return nil, nil, fmt.Errorf("pool: slot %d of %d", slot, len(rows))
	}
	return &rows[slot], func() { seg.Close() }, nil
}

// table finds and checks a pool's table in seg.
func table(seg *shm.Segment) (*layout.Pool, []layout.PoolWorker, error) {
	obj, err := objects.Core(seg).LookupKind(tableName, shm.KindBytes)
	if err != nil {
		return nil, nil, err
	}
	b := obj.Bytes()
	if len(b) < layout.PoolSize {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrNotPool, len(b))
	}
	h, _ := layout.PoolTable(b, 0)
	if h.Magic.Load() != layout.PoolMagic {
		return nil, nil, fmt.Errorf("%w: bad magic", ErrNotPool)
	}
	n := int(h.Workers)
	if n <= 0 || layout.PoolTableSize(n) > len(b) {
		return nil, nil, fmt.Errorf("%w: %d workers in %d bytes", ErrNotPool, n, len(b))
	}
	h, rows := layout.PoolTable(b, n)
	return h, rows, nil
}

// tableName is the pool table's object name in the pool's segment.
const tableName = "pool"
