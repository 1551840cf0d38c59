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
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/fence"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/wait"
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
	// their results together, so the parent is woken once for the lot.
	// Messages are received end to end into one buffer, and the results
	// are encoded in place as the tasks run: nothing is allocated per task.
	maxIn, maxOut := tasks.MaxLen(), results.MaxLen()
	in := make([]byte, recvBatch*maxIn)
	var got [recvMessages][]byte
	// A result message answers the tasks of its chunk from the first one
	// unanswered on, and may go on into the chunks sent after it: the
	// answers of a round's tiny chunks cross as one message, not one each.
	var out, scratch []byte  // the round's result messages end to end; a moved answer
	var ends []int           // where each result message ends in out
	msgStart, count := -1, 0 // the message being written in out, if any, and its answers
	var fn []byte
	var reg registered
	known := false
	item := uint32(0) // what row.Item holds
	ran := 0          // chunks whose answers are in out
	answer, err := newSender(results)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pool worker:", err)
		return exitBroken
	}
	// flush sends the answers so far, waking the parent once for them.
	flush := func() bool {
		if msgStart >= 0 {
			setResultCount(out[msgStart:], count)
			ends = append(ends, len(out))
			msgStart = -1
		}
		if err := answer.send(out, ends); err != nil {
			fmt.Fprintln(os.Stderr, "pool worker:", err)
			return false
		}
		row.Done.Add(uint64(ran))
		out, ends, ran = out[:0], ends[:0], 0
		return true
	}
	for {
		n, err := tasks.Recv(in[:maxIn])
		if errors.Is(err, io.EOF) {
			return 0 // the pool asked this worker to leave
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pool worker:", err)
			return exitBroken
		}
		got[0] = in[:n]
		k, used := 1, n
		for k < recvMessages && used+maxIn <= len(in) {
			n, ok, err := tasks.TryRecv(in[used : used+maxIn])
			if !ok || err != nil {
				break // an error comes again from the next Recv
			}
			got[k] = in[used : used+n]
			k, used = k+1, used+n
		}
		out, ends = out[:0], ends[:0]
		row.State.Store(layout.PoolBusy)
		panicked, flushed, slow := false, wait.Now(), false
		for _, msg := range got[:k] {
			task, err := viewTask(msg)
			if err != nil {
				fmt.Fprintln(os.Stderr, "pool worker:", err)
				return exitBroken
			}
			// The parent reads the row once this process has exited:
			// plain stores do, where Store would be a full barrier a task.
			fence.Store(&row.Task, task.id)
			if item != 0 {
				storeItem(row, 0)
				item = 0
			}
			if !known || string(task.fn) != string(fn) {
				reg, known = lookupTask(string(task.fn))
				fn = append(fn[:0], task.fn...)
			}
			for i := range task.count {
				data, err := task.item(i)
				if err != nil {
					fmt.Fprintln(os.Stderr, "pool worker:", err)
					return exitBroken
				}
				if i != 0 {
					item = uint32(i)
					storeItem(row, item)
				}
				if msgStart < 0 { // a message starts with the chunk its first answer is for
					msgStart, count = len(out), 0
					out = appendResultHeader(out, task.id, 0)
				}
				at := len(out)
				out = append(out, make([]byte, answerHeader)...)
				var status uint8
				if !known {
					status = layout.PoolError
					out = fmt.Appendf(out, "%v: %q", ErrUnknownTask, task.fn)
				} else {
					out, status = runInto(reg.run, out, data)
				}
				if status == layout.PoolPanic {
					panicked = true
				}
				if size := len(out) - at; resultHeader+size > maxOut {
					if status == layout.PoolPanic {
						// Still a panic, cut short: the parent blames the
						// exit that follows on this answer, not on the
						// next task.
						out = cutText(out, at+answerHeader, at+maxOut-resultHeader)
					} else {
						status = layout.PoolTooLarge
						out = fmt.Appendf(out[:at+answerHeader], "%v: a result of %d bytes", ErrTooLarge, size-answerHeader)
					}
				}
				setAnswer(out[at:], status, len(out)-at-answerHeader)
				if count > 0 && len(out)-msgStart > maxOut { // it does not fit this message: it starts the next
					scratch = append(scratch[:0], out[at:]...)
					out = out[:at]
					setResultCount(out[msgStart:], count)
					ends = append(ends, len(out))
					msgStart, count = len(out), 0
					out = append(appendResultHeader(out, task.id, 0), scratch...)
				}
				count++
			}
			ran++
			if panicked {
				break // the chunks after it go back to the pool when this worker exits
			}
			// Answers wait for the batch's end only while that is soon: a
			// slow task's answer, and the room its chunk held, are not
			// held back behind the others.
			// The clock is read after each of the first few chunks, then
			// after every 16th while chunks are quick (tiny tasks should
			// not pay for it each), and after every one once they are
			// slow, so that no answer waits much past answerDelay.
			if ran > 0 && (ran < 4 || ran%16 == 0 || slow) {
				now := wait.Now()
				slow = now-flushed > int64(ran)*int64(slowChunk)
				if now-flushed > int64(answerDelay) {
					if !flush() {
						return exitBroken
					}
					flushed = now
				}
			}
		}
		if !flush() {
			return exitBroken
		}
		row.State.Store(layout.PoolIdle)
		if panicked {
			return exitPanicky
		}
	}
}

// storeItem sets row.Item with a plain store (see the worker's loop).
func storeItem(row *layout.PoolWorker, i uint32) {
	fence.Store32((*uint32)(unsafe.Pointer(&row.Item)), i)
}

// A worker takes at most recvMessages chunks at once, and at most
// recvBatch messages of the longest size.
const (
	recvMessages = 256
	recvBatch    = 16
)

// answerDelay is how long a worker holds answers to send them together.
// Chunks that take slowChunk or more each are slow enough that reading
// the clock after every one costs nothing that shows.
const (
	answerDelay = 500 * time.Microsecond
	slowChunk   = 2 * time.Microsecond
)

// cutText shortens the text out[from:] to end at most at end, on a rune
// boundary.
func cutText(out []byte, from, end int) []byte {
	end = max(end, from)
	for end > from && !utf8.RuneStart(out[end]) {
		end--
	}
	return out[:end]
}

// runInto runs a task on one input, appending its encoded result (or its
// error's text, or its panic's) to out.
func runInto(run handler, out, in []byte) (res []byte, status uint8) {
	start := len(out)
	defer func() {
		if r := recover(); r != nil {
			res, status = fmt.Appendf(out[:start], "%v\n%s", r, debug.Stack()), layout.PoolPanic
		}
	}()
	res, err := run(out, in)
	if err != nil {
		return append(out[:start], err.Error()...), layout.PoolError
	}
	return res, layout.PoolOK
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
	if h.Version != layout.PoolVersion { // another build's protocol: its messages would be misread
		return nil, nil, fmt.Errorf("%w: version %d, this build's is %d", ErrVersion, h.Version, layout.PoolVersion)
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
