package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/wait"
	"github.com/shmkit/shmkit/process"
	"github.com/shmkit/shmkit/shm"
)

// An Option configures New.
type Option func(*config)

type config struct {
	workers    int
	init       string
	initArgs   []string
	maxTasks   int
	retries    int
	chunk      int
	name       string
	maxMessage int
	window     int
	stdout     io.Writer
	command    []string // a worker program in another language, and its first arguments
}

// WithWorkers sets the number of worker processes (default: the number
// of CPUs, runtime.NumCPU).
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithInitializer has each worker run init with args before its first
// task (Python's initializer and initargs).
func WithInitializer(init Init, args ...string) Option {
	return func(c *config) { c.init, c.initArgs = init.name, args }
}

// WithMaxTasksPerChild replaces a worker after it has run k chunks
// (Python's maxtasksperchild; as there, a chunk counts as one task).
// 0, the default, keeps workers for the pool's life.
func WithMaxTasksPerChild(k int) Option { return func(c *config) { c.maxTasks = k } }

// WithRetries sets how many times a task is run again after the worker
// running it died (default 1). With 0 the task fails at once with a
// *WorkerError naming the worker, its pid and how it ended.
func WithRetries(n int) Option { return func(c *config) { c.retries = n } }

// WithChunkSize sets how many tasks Map, Imap and ImapUnordered send in
// one message. The default: Map uses Python's rule, len/(4 × workers)
// rounded up; the iterators use 1.
func WithChunkSize(n int) Option { return func(c *config) { c.chunk = n } }

// WithName names the pool's segment (default "shmkit-pool-<pid>-<n>");
// each worker's own segment is the name with "-w<generation>" appended.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithMaxMessage sets the largest message between the pool and a worker,
// in bytes (default 64 KiB): a chunk's encoded inputs, or its results,
// must fit, and a single input or result that cannot gets ErrTooLarge.
// Big inputs belong in shared arrays, with only their place crossing.
func WithMaxMessage(n int) Option { return func(c *config) { c.maxMessage = n } }

// WithWorkerCommand runs workers as path with args, then the pool's
// arguments (its segment, the slot, the worker's segment), instead of as
// copies of this program: a Python worker is
// WithWorkerCommand("python3", "worker.py"), where worker.py calls
// shmkit.serve_pool({"name": function}). Its tasks are declared here with
// Declare.
func WithWorkerCommand(path string, args ...string) Option {
	return func(c *config) { c.command = append([]string{path}, args...) }
}

// WithStdout sends the workers' standard output to w (default: this
// process's).
func WithStdout(w io.Writer) Option { return func(c *config) { c.stdout = w } }

// A Pool is a set of worker processes, copies of this program, that run
// registered tasks: Python's multiprocessing.Pool. The program must call
// process.Main (or process.Dispatch) first thing in main, so that a copy
// started as a worker serves the pool instead of running main.
type Pool struct {
	cfg   config
	name  string
	seg   *shm.Segment
	head  *layout.Pool
	rows  []layout.PoolWorker
	slots int

	mu           sync.Mutex
	cond         *sync.Cond // pending, outstanding or the pool's state changed
	pending      []span     // tasks not yet sent, in order
	queuedChunks int        // the chunks pending will make, as chunksOf counts them
	outstanding  int        // tasks not yet answered, plus jobs still feeding
	closed       bool
	terminated   bool
	released     bool // the segment is closed: the table is gone
	broken       error
	nextID       uint64
	live         map[*worker]bool
	startFails   int // workers in a row that exited before serving
	served       bool

	starts   atomic.Uint64  // workers started: the last one's generation
	workers  sync.WaitGroup // every worker's goroutines
	finish   sync.Once
	finished error
}

var poolSeq atomic.Int64

// New starts a pool of workers. Release it with Close and Join, or with
// Terminate: until then its workers live (they die with this process in
// any case) and its segments stay in /dev/shm.
func New(opts ...Option) (*Pool, error) {
	cfg := config{workers: runtime.NumCPU(), retries: 1, maxMessage: 64 << 10, window: 64, stdout: os.Stdout}
	for _, o := range opts {
		o(&cfg)
	}
	if process.Role() == workerRole { // a worker whose main never dispatched: it would start workers of its own
		return nil, ErrNoDispatch
	}
	if cfg.workers < 1 || cfg.retries < 0 || cfg.maxTasks < 0 || cfg.chunk < 0 || cfg.maxMessage < 256 {
		return nil, fmt.Errorf("pool: bad options: %d workers, %d retries, %d tasks per child, chunk %d, messages of %d bytes",
			cfg.workers, cfg.retries, cfg.maxTasks, cfg.chunk, cfg.maxMessage)
	}
	if cfg.init != "" {
		if !knownInit(cfg.init) {
			return nil, fmt.Errorf("%w: initializer %q", ErrUnknownTask, cfg.init)
		}
	}
	if cfg.name == "" {
		cfg.name = fmt.Sprintf("shmkit-pool-%d-%d", os.Getpid(), poolSeq.Add(1))
	}
	size := layout.PoolTableSize(cfg.workers)
	seg, err := shm.Create(cfg.name, shm.SizeFor(uint64(size)))
	if err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	obj, err := seg.Alloc(shm.Request{Name: tableName, Kind: shm.KindBytes, Length: uint64(size)}, func(mem []byte) error {
		h, _ := layout.PoolTable(mem, 0)
		h.Workers = uint32(cfg.workers)
		h.ParentPID = int32(os.Getpid())
		h.Version = layout.PoolVersion
		h.Magic.Store(layout.PoolMagic)
		return nil
	})
	if err != nil {
		seg.Close()
		shm.Unlink(cfg.name)
		return nil, fmt.Errorf("pool: %w", err)
	}
	p := &Pool{cfg: cfg, name: cfg.name, seg: seg, slots: cfg.workers, live: map[*worker]bool{}}
	p.head, p.rows = layout.PoolTable(obj.Bytes(), cfg.workers)
	p.cond = sync.NewCond(&p.mu)
	for slot := range cfg.workers {
		if err := p.start(slot); err != nil {
			p.Terminate()
			return nil, err
		}
	}
	return p, nil
}

// Name is the name of the pool's segment (shmkit inspect shows it).
func (p *Pool) Name() string { return p.name }

// Size is the number of worker slots.
func (p *Pool) Size() int { return p.slots }

// A span is consecutive tasks of one job waiting to be sent, cut into
// chunks of at most size tasks as workers take them: a map of tiny tasks
// queues one span, not a chunk per message.
type span struct {
	job      *job
	fn       string
	first    int     // the index of items' first in its job
	items    encoded // encoded inputs
	size     int     // the most tasks in one chunk
	attempts int     // starts of a worker that died running them
}

// chunksOf is how many chunks r makes, by count (its bytes may make more).
func chunksOf(r *span) int { return (r.items.len() + r.size - 1) / r.size }

// A chunk is a message's worth of tasks of one job, sent to a worker.
type chunk struct {
	id       uint64
	fn       string
	job      *job
	first    int     // the index of items' first in its job
	items    encoded // encoded inputs
	answered int     // items answered so far
	attempts int     // starts of a worker that died running it
	bytes    int     // its message's room in the worker's tasks ring
}

// rest is c's tasks from..to as a span of one chunk, to be sent again.
func (c *chunk) rest(from, to, attempts int) span {
	return span{job: c.job, fn: c.fn, first: c.first + from, items: c.items.slice(from, to), size: to - from, attempts: attempts}
}

// A worker is one start of a worker process in a slot.
type worker struct {
	p        *Pool
	slot     int
	gen      uint64
	segName  string
	seg      *shm.Segment
	tasks    *channel.Channel[byte]
	results  *channel.Channel[byte]
	proc     *process.Process
	ctx      context.Context // ends when the process has exited
	fed      chan struct{}   // closed when feed has returned
	inflight chunkQueue      // sent, not fully answered, in order (p.mu)
	inBytes  int             // their messages' room in the tasks ring (p.mu)
	owed     int             // their tasks not yet answered (p.mu)
	window   int             // the most chunks in flight now (p.mu)
	most     int             // the most the ring allows
	budget   int             // the most bytes of them
	since    int64           // when the last answers came, while it had work (p.mu)
	sendMu   sync.Mutex      // held to take chunks and send them, and to end the channel
	sender   sender          // sends refill's messages on tasks
	buf      []byte          // refill's messages, end to end (sendMu and p.mu)
	ends     []int           // where each ends in buf
	got      []delivery      // handle's, collect's own
	sent     int             // chunks sent (p.mu)
	ending   bool            // told to leave (p.mu)
	dead     bool            // exited (p.mu)
	broke    bool            // answered out of turn, and is killed for it (p.mu)
	answered int             // answers it gave (p.mu)
	panicked bool            // it answered a panic, after which it leaves (p.mu)
}

// A delivery is count answers, from the first in answers on (a checked
// result message's), for tasks first, first+1, ... of job.
type delivery struct {
	job     *job
	first   int
	count   int
	answers []byte
}

// start starts a worker in slot: its segment and channels, then the
// process, then the goroutines that feed it and collect its results.
func (p *Pool) start(slot int) error {
	// Its generation names its segment: the pool's own count, not the
	// table's, which any process that maps the segment may rewrite.
	gen := p.starts.Add(1)
	p.head.Starts.Add(1)
	w := &worker{p: p, slot: slot, gen: gen, segName: workerSegment(p.name, gen), fed: make(chan struct{})}
	slots, maxLen := p.cfg.window, p.cfg.maxMessage
	ring := uint64(unsafe.Sizeof(layout.Channel{})) + uint64(slots+2)*uint64(maxLen+64)
	seg, err := shm.Create(w.segName, shm.SizeFor(ring, ring))
	if err != nil {
		return fmt.Errorf("pool: start a worker: %w", err)
	}
	w.seg = seg
	fail := func(err error) error {
		w.release()
		return fmt.Errorf("pool: start a worker: %w", err)
	}
	// The SPSC ring holds spscSlots messages of maxLen bytes, and more of
	// shorter ones: a worker may have many small chunks in flight, as
	// many as their messages' records fill that room. Each slot of the
	// any-to-any ring holds one message.
	w.window, w.most, w.budget = slots, maxWindow, spscSlots*spscRecord(maxLen)
	mk := func(name string) (*channel.Channel[byte], error) {
		ch, err := channel.New[byte](seg, name, spscSlots, maxLen, channel.WithSPSC())
		if errors.Is(err, errors.ErrUnsupported) { // no membarrier: the any-to-any ring
			w.most, w.budget = slots, slots*spscRecord(maxLen)
			ch, err = channel.New[byte](seg, name, slots, maxLen)
		}
		return ch, err
	}
	if w.tasks, err = mk("tasks"); err != nil {
		return fail(err)
	}
	if w.results, err = mk("results"); err != nil {
		return fail(err)
	}
	w.tasks.RegisterSender()
	w.results.RegisterReceiver()
	if w.sender, err = newSender(w.tasks); err != nil {
		return fail(err)
	}
	row := &p.rows[slot]
	row.State.Store(layout.PoolStarting)
	row.PID.Store(0)
	row.Task.Store(0)
	row.Item.Store(0)
	row.Done.Store(0)
	row.ExitCode.Store(0)
	row.Generation.Store(gen)
	args := []string{p.name, strconv.Itoa(slot), w.segName}
	if p.cfg.init != "" {
		args = append(append(args, p.cfg.init), p.cfg.initArgs...)
	}
	w.proc = &process.Process{
		Role: workerRole, Args: args, Name: fmt.Sprintf("PoolWorker-%d", gen), Index: slot,
		Daemon: true, Stdout: p.cfg.stdout,
	}
	if len(p.cfg.command) > 0 {
		w.proc.Path, w.proc.Args = p.cfg.command[0], append(slices.Clone(p.cfg.command[1:]), args...)
	}
	if err := w.proc.Start(); err != nil {
		return fail(err)
	}
	row.PID.Store(int32(w.proc.Pid()))
	ctx, cancel := context.WithCancel(context.Background())
	w.ctx = ctx
	p.mu.Lock()
	p.live[w] = true
	if p.terminated { // Terminate came while it started: it did not see this one
		w.proc.Kill()
	}
	p.mu.Unlock()
	p.workers.Add(3)
	go func() {
		defer p.workers.Done()
		<-w.proc.Done()
		cancel()
	}()
	go w.feed()
	go w.collect()
	return nil
}

// workerSegment is the name of the segment of the worker of generation gen
// of the pool whose segment is pool.
func workerSegment(pool string, gen uint64) string { return pool + "-w" + strconv.FormatUint(gen, 10) }

// release closes and removes a worker's segment.
func (w *worker) release() {
	if w.tasks != nil {
		w.tasks.Close()
	}
	if w.results != nil {
		w.results.Close()
	}
	w.seg.Close()
	shm.Unlink(w.segName)
}

// spscSlots is how many messages of the longest size a worker's SPSC
// rings hold: 4 of 64 KiB by default. Messages are written around the
// whole ring, so its size is the memory that tiny tasks stream through:
// 64 slots made each ring 4 MiB, which a map of 100,000 tiny tasks went
// round about once, every line of it cold; four keep a ring in the
// caches. A window of 1,024 tiny chunks is 48 KiB of messages.
const spscSlots = 4

// A worker's window, the chunks it may have in flight, is at least the
// pool's first window (64 chunks) and at most maxWindow: as many as it runs in
// windowTime, by the pace of its answers. Tiny tasks then cross hundreds
// per round trip, so a wake-up is shared by as many, while slow ones
// keep the window short: the chunks a worker holds are not given to an
// idle one, and a cancelled call's chunks in flight still run.
const (
	maxWindow  = 1024
	windowTime = 2 * time.Millisecond
)

// pace learns the window from the answers that finished chunks chunks,
// which came at now (p.mu held).
func (w *worker) pace(now int64, chunks int) {
	if w.since != 0 && chunks > 0 && now > w.since {
		want := int(min(int64(windowTime)*int64(chunks)/(now-w.since), int64(w.most)))
		w.window = max(w.p.cfg.window, (w.window+want)/2)
	}
	w.since = now
	if w.inflight.len() == 0 {
		w.since = 0 // idle from here: the time until the next chunk is no answer's
	}
}

// spscRecord is the room a message of n bytes takes in an SPSC ring: an
// 8-byte header and the bytes, padded to 8 (shmkit.h).
func spscRecord(n int) int { return 8 + (n+7)&^7 }

// limit is how many chunks the worker may have in flight: enough to keep
// it busy between round trips when there are many tasks, and no more than
// its share of the queue when there are few, so that two tasks and two
// idle workers make one each (p.mu held).
func (w *worker) limit() int {
	return min(w.window, max(1, (w.p.queuedChunks+w.p.slots-1)/w.p.slots))
}

// feed sends the worker chunks while it has room, and ends its tasks
// channel when it must leave: after maxtasksperchild chunks, or when the
// pool is closed and all work is done. collect refills the window too,
// as answers come in, so that a busy pool needs no hand-over between
// goroutines (a spinning receiver may hold the other Ps for a while).
func (w *worker) feed() {
	p := w.p
	defer p.workers.Done()
	defer close(w.fed)
	p.mu.Lock()
	for {
		switch {
		case w.dead || w.ending:
			p.mu.Unlock()
			return
		case (p.cfg.maxTasks > 0 && w.sent >= p.cfg.maxTasks) || (p.closed && p.outstanding == 0):
			w.ending = true
			p.mu.Unlock()
			w.sendMu.Lock()
			w.tasks.End()
			w.sendMu.Unlock()
			return
		case w.wants():
			p.mu.Unlock()
			w.sendMu.Lock()
			w.refill()
			w.sendMu.Unlock()
			p.mu.Lock()
		default:
			p.cond.Wait()
		}
	}
}

// wants reports whether the worker should get more chunks now: there are
// some, and half its window has drained, so a refill carries many (p.mu
// held).
func (w *worker) wants() bool {
	p := w.p
	return !w.dead && !w.ending && len(p.pending) > 0 && w.inflight.len() <= w.limit()/2 && w.inBytes <= w.budget/2 &&
		(p.cfg.maxTasks == 0 || w.sent < p.cfg.maxTasks)
}

// refill takes chunks for the worker and sends them (w.sendMu held, so
// that chunks reach the ring in the order of w.inflight).
func (w *worker) refill() {
	p := w.p
	p.mu.Lock()
	if !w.wants() {
		p.mu.Unlock()
		return
	}
	k := w.limit() - w.inflight.len()
	if p.cfg.maxTasks > 0 {
		k = min(k, p.cfg.maxTasks-w.sent)
	}
	sent, tasks, full := 0, 0, false
	if w.inflight.len() == 0 {
		w.since = wait.Now() // busy from here
	}
	// Each chunk is encoded here, under the lock, into one buffer: the
	// chunks in flight may be put back by exited as soon as it is let go.
	w.buf, w.ends = w.buf[:0], w.ends[:0]
	for sent < k && len(p.pending) > 0 && !full {
		if p.pending[0].job.stopped() {
			p.dropFirst()
			continue
		}
		r := p.pending[0] // cut here from pos on, stored back once
		before, left, pos, per := chunksOf(&r), r.items.len(), 0, p.perMessage(&r)
		for sent < k && pos < left {
			n, size := p.cut(&r, pos, left, per)
			room := spscRecord(size)
			if w.inBytes+room > w.budget {
				full = true // the ring is as full as it may get
				break
			}
			p.nextID++
			items := r.items.slice(pos, pos+n)
			c := w.inflight.push()
			*c = chunk{id: p.nextID, fn: r.fn, job: r.job, first: r.first + pos, items: items, attempts: r.attempts, bytes: room}
			w.buf = appendTask(w.buf, p.nextID, r.fn, items)
			w.ends = append(w.ends, len(w.buf))
			pos += n
			w.inBytes += room
			w.owed += n
			tasks += n
			sent++
		}
		r.first, r.items = r.first+pos, r.items.slice(pos, left)
		if pos == left {
			p.queuedChunks -= before
			p.pending[0] = span{}
			p.pending = p.pending[1:]
		} else {
			p.queuedChunks -= before - chunksOf(&r)
			p.pending[0] = r
		}
	}
	p.head.Queued.Add(^uint64(tasks - 1))
	p.head.InFlight.Add(uint64(tasks))
	w.sent += sent
	if p.cfg.maxTasks > 0 && w.sent >= p.cfg.maxTasks {
		p.cond.Broadcast() // feed ends the worker's tasks
	}
	p.mu.Unlock()
	// They fit: the chunks in flight never need more room than the ring
	// has (window and budget). If the worker has died, collect puts them
	// back.
	w.sender.send(w.buf, w.ends)
}

// perMessage is how many of r's tasks fit one message if they are all of
// one size (at least one), else 0: worked out once a span, not a chunk.
func (p *Pool) perMessage(r *span) int {
	if s := r.items.stride; s > 0 {
		return max(1, (p.cfg.maxMessage-taskHeader-len(r.fn))/(4+s))
	}
	return 0
}

// cut says how many of r's tasks from its from-th on (of left) the next
// chunk takes, up to r.size, as many as fit a message, and the size of
// that message; per is perMessage(r).
func (p *Pool) cut(r *span, from, left, per int) (n, bytes int) {
	bytes = taskHeader + len(r.fn)
	if s := r.items.stride; s > 0 { // every item takes the same room
		n = min(left-from, r.size, per)
		return n, bytes + n*(4+s)
	}
	for from+n < left && n < r.size {
		b := 4 + r.items.size(from+n)
		if n > 0 && bytes+b > p.cfg.maxMessage {
			break
		}
		bytes, n = bytes+b, n+1
	}
	return n, bytes
}

// dropFirst takes the first span out of line and finishes its tasks
// without running them: their job stopped (p.mu held).
func (p *Pool) dropFirst() {
	r := p.pending[0]
	p.pending[0] = span{}
	p.pending = p.pending[1:]
	p.queuedChunks -= chunksOf(&r)
	p.head.Queued.Add(^uint64(r.items.len() - 1))
	p.drop(r)
}

// drop finishes a span of a stopped job without running it (p.mu held).
func (p *Pool) drop(r span) {
	r.job.fail(r.first, r.items.len(), errStopped)
	p.outstanding -= r.items.len()
	p.cond.Broadcast()
}

var errStopped = errors.New("pool: the call gave up on this task")

// collect receives the worker's results, as many as are there at once,
// then, once it has exited, takes the results it sent before it died and
// settles its chunks in flight.
func (w *worker) collect() {
	p := w.p
	defer p.workers.Done()
	maxLen := w.results.MaxLen()
	arena := make([]byte, collectBatch*maxLen)
	var msgs [][]byte
	for {
		n, ok, err := w.results.TryRecv(arena[:maxLen])
		if !ok && err == nil {
			// Let the goroutines that handle's answers woke (a Map's
			// caller, a feed) run before this one waits: its wait spins,
			// then sleeps in a system call that keeps the P, and Go only
			// takes the P back at sysmon's next look, up to 10 ms later.
			runtime.Gosched()
			n, err = w.results.RecvContext(w.ctx, arena[:maxLen])
		}
		if err != nil {
			break // it exited, or died without a word (ErrPeerDead)
		}
		msgs = append(msgs[:0], arena[:n])
		for used := n; len(msgs) < collectMessages && used+maxLen <= len(arena); used += n {
			if n, ok, err = w.results.TryRecv(arena[used : used+maxLen]); !ok || err != nil {
				break // an error comes again from the next receive
			}
			msgs = append(msgs, arena[used:used+n])
		}
		if !w.handle(msgs) {
			w.proc.Kill()
			break
		}
		if w.sendMu.TryLock() { // else feed is sending
			w.refill()
			w.sendMu.Unlock()
		}
	}
	<-w.proc.Done()
	for {
		n, ok, err := w.results.TryRecv(arena[:maxLen])
		if !ok || err != nil || !w.handle([][]byte{arena[:n]}) {
			break
		}
	}
	w.exited()
}

// The parent takes at most collectMessages results of a worker at once,
// and at most collectBatch of the longest size.
const (
	collectMessages = 256
	collectBatch    = 16
)

// handle delivers result messages, in order; false if one does not answer
// the chunk the worker had to answer next (those before it are delivered).
func (w *worker) handle(msgs [][]byte) bool {
	p := w.p
	got, good := w.got[:0], true
	now := wait.Now()
	p.mu.Lock()
	tasks, finished := 0, 0
	for _, msg := range msgs {
		// A message answers its chunk from the first task unanswered on,
		// and may go on into the chunks sent after it.
		id, count, panicked, err := checkResult(msg)
		if err != nil || w.inflight.len() == 0 || w.inflight.at(0).id != id || count > w.owed {
			fmt.Fprintf(os.Stderr, "pool: worker %d: %v: result for chunk %d out of turn (%v)\n", w.proc.Pid(), ErrProtocol, id, err)
			good, w.broke = false, true
			break
		}
		answers, from := msg[resultHeader:], len(got)
		for left := count; left > 0; {
			c := w.inflight.at(0)
			n := min(left, c.items.len()-c.answered)
			if k := len(got) - 1; k >= from && got[k].job == c.job && got[k].first+got[k].count == c.first+c.answered {
				got[k].count += n // the same job's next tasks: one delivery
			} else {
				if k >= from {
					answers = skipAnswers(answers, got[k].count)
				}
				got = append(got, delivery{c.job, c.first + c.answered, n, answers})
			}
			c.answered += n
			left -= n
			if c.answered == c.items.len() {
				w.inBytes -= c.bytes
				w.inflight.pop()
				finished++
			}
		}
		w.owed -= count
		tasks += count
		w.answered += count
		w.panicked = w.panicked || panicked
	}
	w.pace(now, finished)
	p.outstanding -= tasks
	if p.outstanding == 0 { // what feed waits for when closed
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	var ok, failed uint64
	for from := 0; from < len(got); { // a run of one job's results under one lock
		to := from + 1
		for to < len(got) && got[to].job == got[from].job {
			to++
		}
		o, f := got[from].job.deliverResults(got[from:to])
		ok, failed, from = ok+o, failed+f, to
	}
	clear(got)
	w.got = got[:0]
	p.head.InFlight.Add(^(ok + failed - 1))
	p.head.Done.Add(ok)
	p.head.Failed.Add(failed)
	return good
}

// exited settles a worker that has exited: the chunk it was running is
// retried or failed, those only queued for it go back to the pool, its
// segment is removed, and another worker takes its slot if work remains.
func (w *worker) exited() {
	p := w.p
	row := &p.rows[w.slot]
	code, _ := w.proc.ExitCode()
	// The row is a hint: any process that maps the pool's segment may
	// rewrite it. It may say which task the worker was running, and that
	// it died in its initializer, but not that no task is to blame.
	state, running, item := row.State.Load(), row.Task.Load(), int(row.Item.Load())
	row.ExitCode.Store(int32(code))
	row.State.Store(layout.PoolExited)
	werr := &WorkerError{Pid: w.proc.Pid(), Name: w.proc.Name, ExitCode: code, Signal: w.proc.Signaled()}

	p.mu.Lock()
	w.dead = true
	delete(p.live, w)
	// A worker that never answered, never took a task from its ring and
	// whose row says it was starting failed to start (told to leave or
	// not: with WithMaxTasksPerChild(1) it is told at once): workers
	// failing so in a row break the pool. Its tasks are not to blame if it
	// exited of itself, as a failing initializer makes it; killed by a
	// signal, the row's word is not enough to spare the task it may have
	// been running a retry. A worker takes tasks only once its initializer
	// has returned, so one that took any had started, whatever its row says.
	startFailed := state == layout.PoolStarting && w.answered == 0 && w.tasks.State().Head == 0
	blameless := startFailed && w.proc.Signaled() == 0
	if startFailed {
		p.startFails++
	} else {
		p.startFails, p.served = 0, true
	}
	// A worker that dies holding tasks costs one of them a retry: the one
	// its row names, if it names one not yet answered, else the first not
	// answered. Only a worker that left after answering a panic, as it
	// must, or failed to start, leaves no one to blame.
	blame, at := -1, 0
	if !p.terminated && !blameless && !w.panicked && w.inflight.len() > 0 {
		blame, at = 0, w.inflight.at(0).answered
		for i := range w.inflight.len() {
			c := w.inflight.at(i)
			if !w.broke && state == layout.PoolBusy && c.id == running && item >= c.answered && item < c.items.len() {
				blame, at = i, item
				break
			}
		}
	}
	var failed, back, orphaned []span
	for i := range w.inflight.len() {
		c := w.inflight.at(i)
		p.head.InFlight.Add(^uint64(c.items.len() - c.answered - 1))
		if p.terminated {
			failed = append(failed, c.rest(c.answered, c.items.len(), c.attempts))
			continue
		}
		if i != blame {
			// Those before the one to blame ran, but their results died
			// with the worker; those after it never ran.
			back = append(back, c.rest(c.answered, c.items.len(), c.attempts))
			continue
		}
		// The chunk it was running: the task to blame uses up a retry;
		// those before it ran, those after it never ran.
		if at > c.answered {
			back = append(back, c.rest(c.answered, at, c.attempts))
		}
		culprit := c.rest(at, at+1, c.attempts+1)
		if culprit.attempts > p.cfg.retries {
			failed = append(failed, culprit)
		} else {
			p.head.Retried.Add(1)
			back = append(back, culprit)
		}
		if at+1 < c.items.len() {
			back = append(back, c.rest(at+1, c.items.len(), c.attempts))
		}
	}
	w.inflight.reset()
	w.inBytes, w.owed = 0, 0
	for i := range back { // first in line again, in order
		p.head.Queued.Add(uint64(back[i].items.len()))
		p.queuedChunks += chunksOf(&back[i])
	}
	p.pending = append(back, p.pending...)
	if p.startFails >= max(3, p.slots) && p.broken == nil {
		p.broken = fmt.Errorf("%w: the last exited with %s", ErrWorkerStart, werr.how())
	}
	if p.broken != nil { // no worker will take them
		orphaned, p.pending, p.queuedChunks = p.pending, nil, 0
	}
	replace := !p.terminated && p.broken == nil && !(p.closed && p.outstanding == 0)
	p.cond.Broadcast()
	p.mu.Unlock()

	for _, r := range failed {
		var err error = ErrTerminated
		if !p.terminated {
			werr := *werr
			werr.Attempts = r.attempts
			err = &werr
		}
		p.fail(r, err)
	}
	for _, r := range orphaned {
		p.head.Queued.Add(^uint64(r.items.len() - 1))
		p.fail(r, p.broken)
	}
	<-w.fed
	w.release()
	if replace {
		if err := p.start(w.slot); err != nil {
			p.mu.Lock()
			if p.broken == nil {
				p.broken = err
			}
			failed := p.pending
			p.pending, p.queuedChunks = nil, 0
			p.mu.Unlock()
			for _, r := range failed {
				p.head.Queued.Add(^uint64(r.items.len() - 1))
				p.fail(r, err)
			}
		}
	}
}

// fail answers every task of r with err.
func (p *Pool) fail(r span, err error) {
	r.job.fail(r.first, r.items.len(), err)
	p.head.Failed.Add(uint64(r.items.len()))
	p.mu.Lock()
	p.outstanding -= r.items.len()
	p.cond.Broadcast()
	p.mu.Unlock()
}

// submit queues a job's spans of tasks, all at once: one lock and one
// wake-up.
func (p *Pool) submit(j *job, spans []span) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// A closed pool takes no new call, even one of no tasks; an iterator
	// that began before Close may still queue the rest of its input.
	if p.terminated || (p.closed && !j.admitted) {
		return ErrClosed
	}
	if p.broken != nil {
		return p.broken
	}
	if len(spans) == 0 {
		return nil
	}
	n := 0
	for i := range spans {
		n += spans[i].items.len()
		p.queuedChunks += chunksOf(&spans[i])
	}
	j.add(n)
	p.pending = append(p.pending, spans...)
	p.head.Queued.Add(uint64(n))
	p.outstanding += n
	p.cond.Broadcast()
	return nil
}

// feeding marks a job whose input is still being read: Join waits for
// it, and Close lets it queue the rest.
func (p *Pool) feeding(j *job) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.broken != nil {
		return p.broken
	}
	p.outstanding++
	j.admitted = true
	return nil
}

func (p *Pool) fed() {
	p.mu.Lock()
	p.outstanding--
	p.cond.Broadcast()
	p.mu.Unlock()
}

// forget takes a stopped job's queued tasks out of line.
func (p *Pool) forget(j *job) {
	p.mu.Lock()
	var drop []span
	keep := p.pending[:0]
	for _, r := range p.pending {
		if r.job == j {
			drop = append(drop, r)
			p.queuedChunks -= chunksOf(&r)
			p.head.Queued.Add(^uint64(r.items.len() - 1))
		} else {
			keep = append(keep, r)
		}
	}
	clear(p.pending[len(keep):])
	p.pending = keep
	for _, r := range drop {
		p.drop(r)
	}
	p.mu.Unlock()
}

// Close stops the pool taking tasks; those already given still run
// (Python's close). Join then waits for them.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.released {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.head.Closed.Store(1)
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Join waits until every task given to a closed pool has its result and
// every worker has exited, then removes the pool's segments. Join before
// Close is ErrRunning. An Imap still reading its input is waited for: a
// Join inside its loop waits for good.
func (p *Pool) Join() error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if !closed {
		return ErrRunning
	}
	p.workers.Wait()
	return p.release()
}

// Terminate stops the pool now: workers are killed, and every task
// without a result fails with ErrTerminated. Then it removes the pool's
// segments.
func (p *Pool) Terminate() error {
	p.mu.Lock()
	if p.released {
		p.mu.Unlock()
		return p.finished
	}
	p.closed, p.terminated = true, true
	p.head.Closed.Store(1)
	failed := p.pending
	p.pending, p.queuedChunks = nil, 0
	var procs []*process.Process
	for w := range p.live {
		procs = append(procs, w.proc)
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, r := range failed {
		p.head.Queued.Add(^uint64(r.items.len() - 1))
		p.fail(r, ErrTerminated)
	}
	for _, pr := range procs {
		pr.Kill()
	}
	p.workers.Wait()
	return p.release()
}

func (p *Pool) release() error {
	p.finish.Do(func() {
		p.mu.Lock()
		p.released = true
		p.mu.Unlock()
		p.seg.Close()
		p.finished = shm.Unlink(p.name)
	})
	return p.finished
}

// A WorkerInfo describes one worker slot, as the pool's table says.
type WorkerInfo struct {
	Slot       int
	Pid        int
	State      string // "starting", "idle", "busy" or "exited"
	Generation uint64 // which start of a worker this is (the N of PoolWorker-N)
	Done       uint64 // chunks answered
	ExitCode   int    // once exited: -N for signal N
}

// Workers reports each worker slot; nothing once the pool is released.
func (p *Pool) Workers() []WorkerInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.released {
		return nil
	}
	return describe(p.rows)
}

func describe(rows []layout.PoolWorker) []WorkerInfo {
	out := make([]WorkerInfo, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = WorkerInfo{Slot: i, Pid: int(r.PID.Load()), State: stateName(r.State.Load()),
			Generation: r.Generation.Load(), Done: r.Done.Load(), ExitCode: int(r.ExitCode.Load())}
	}
	return out
}

func stateName(s uint32) string {
	switch s {
	case layout.PoolStarting:
		return "starting"
	case layout.PoolIdle:
		return "idle"
	case layout.PoolBusy:
		return "busy"
	case layout.PoolExited:
		return "exited"
	}
	return "state " + strconv.Itoa(int(s))
}

// A WorkerError is a task's error when the worker running it died.
type WorkerError struct {
	Pid      int
	Name     string // PoolWorker-N
	ExitCode int    // as Python reports it: -N for signal N
	Signal   syscall.Signal
	Attempts int // how many workers died running the task
}

func (e *WorkerError) how() string {
	if e.Signal != 0 {
		return fmt.Sprintf("signal %d (%v)", int(e.Signal), e.Signal)
	}
	return fmt.Sprintf("exit status %d", e.ExitCode)
}

func (e *WorkerError) Error() string {
	return fmt.Sprintf("pool: worker %s (pid %d) died of %s running the task (%d attempts)", e.Name, e.Pid, e.how(), e.Attempts)
}

func (e *WorkerError) Unwrap() error { return ErrWorkerDied }

// remoteError is a task's error or panic, which crossed as text.
type remoteError struct {
	kind error
	text string
}

func (e *remoteError) Error() string { return e.text }
func (e *remoteError) Unwrap() error { return e.kind }

// encoded is task inputs, end to end: input i is
// data[offs[i]:offs[i+1]], or, if stride is not 0, stride bytes from
// i×stride (inputs of one size need no offsets; count says how many, so
// that no division is made per task). Offsets, not slices, so that the
// garbage collector has no pointer per task to follow.
type encoded struct {
	data   []byte
	offs   []int
	stride int
	count  int
}

// fixedSize is data as inputs of stride bytes each.
func fixedSize(data []byte, stride int) encoded {
	return encoded{data: data, stride: stride, count: len(data) / stride}
}

func (in encoded) len() int {
	if in.stride > 0 {
		return in.count
	}
	return max(0, len(in.offs)-1)
}

func (in encoded) at(i int) []byte {
	if s := in.stride; s > 0 {
		return in.data[i*s : (i+1)*s : (i+1)*s]
	}
	return in.data[in.offs[i]:in.offs[i+1]:in.offs[i+1]]
}

func (in encoded) size(i int) int {
	if in.stride > 0 {
		return in.stride
	}
	return in.offs[i+1] - in.offs[i]
}

func (in encoded) slice(from, to int) encoded {
	if s := in.stride; s > 0 {
		return encoded{data: in.data[from*s : to*s : to*s], stride: s, count: to - from}
	}
	return encoded{data: in.data, offs: in.offs[from : to+1 : to+1]}
}

// A chunkQueue is a worker's chunks in flight, oldest first: a ring of
// them, so that taking from the front and adding at the back allocate
// nothing. A chunk's place is good until the next push or pop.
type chunkQueue struct {
	buf  []chunk // a power of two long
	head int
	n    int
}

func (q *chunkQueue) len() int { return q.n }

// at is the i-th chunk from the front.
func (q *chunkQueue) at(i int) *chunk { return &q.buf[(q.head+i)&(len(q.buf)-1)] }

// push adds a chunk at the back, for the caller to fill.
func (q *chunkQueue) push() *chunk {
	if q.n == len(q.buf) {
		buf := make([]chunk, max(64, 2*len(q.buf)))
		for i := range q.n {
			buf[i] = *q.at(i)
		}
		q.buf, q.head = buf, 0
	}
	q.n++
	return q.at(q.n - 1)
}

// pop takes the front chunk off.
func (q *chunkQueue) pop() {
	q.buf[q.head] = chunk{}
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
}

func (q *chunkQueue) reset() {
	clear(q.buf)
	q.head, q.n = 0, 0
}
