package pool

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"unsafe"
)

// A TaskError is the error of one task: Index is its place in the input.
// It wraps the task's error (ErrTaskFailed or ErrPanic with the worker's
// text), a *WorkerError, ErrTooLarge, ErrTerminated or ErrClosed.
type TaskError struct {
	Index int
	Err   error
}

func (e *TaskError) Error() string { return fmt.Sprintf("pool: task %d: %v", e.Index, e.Err) }
func (e *TaskError) Unwrap() error { return e.Err }

// Errors is the error of a Map in which some tasks failed: one TaskError
// per failed task, in input order; every other result is in place.
type Errors []*TaskError

func (es Errors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pool: %d tasks failed", len(es))
	for i, e := range es {
		if i == 3 {
			b.WriteString("; ...")
			break
		}
		b.WriteString("; ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// enqueue encodes inputs, from index first on, and queues them as spans
// to be cut into chunks of at most size tasks that each fit a message. An
// input too large for any message gets its ErrTooLarge answer at once.
//
// Inputs that are their own encoding, all of one size, are queued as one
// span over a copy of their memory, or, with borrow, over inputs' own
// memory: the caller then must not change inputs until the job is done
// or forgotten. A large map then writes no copy of its inputs (fresh
// memory costs a page fault every 4 KiB, microseconds each).
func enqueue[In, Out any](p *Pool, j *job, t Task[In, Out], first int, inputs []In, size int, borrow bool) error {
	if n := t.in.size; n > 0 && len(inputs) > 0 && taskHeader+len(t.name)+4+n <= p.cfg.maxMessage {
		data := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(inputs))), len(inputs)*n)
		if !borrow {
			data = slices.Clone(data)
		}
		items := fixedSize(data, n)
		return p.submit(j, []span{{job: j, fn: t.name, first: first, items: items, size: size}})
	}
	// One buffer for the encoded inputs and one for where each ends: a
	// map of tiny tasks makes a few allocations, not several per task.
	buf := make([]byte, 0, 8*len(inputs))
	offs := make([]int, 0, len(inputs)+1)
	var spans []span
	begin, start := 0, first // where the span being made starts in offs, and its first index
	flush := func() {
		if len(offs) > begin+1 {
			items := encoded{data: buf, offs: offs[begin:len(offs):len(offs)]}
			spans = append(spans, span{job: j, fn: t.name, first: start, items: items, size: size})
		}
		begin = len(offs)
	}
	for k, in := range inputs {
		i := first + k
		at := len(buf)
		var err error
		buf, err = t.in.enc(buf, in)
		item := buf[at:len(buf):len(buf)]
		if err == nil && taskHeader+len(t.name)+4+len(item) > p.cfg.maxMessage {
			err = fmt.Errorf("%w: an input of %d bytes", ErrTooLarge, len(item))
		}
		if err != nil { // answered here; a span holds consecutive tasks, so the one before ends
			flush()
			j.add(1)
			j.fail(i, 1, err)
			continue
		}
		if len(offs) == begin {
			start = i
			offs = append(offs, at)
		}
		offs = append(offs, len(buf))
	}
	flush()
	return p.submit(j, spans)
}

// An AsyncResult is the outcome of a call that runs in the background:
// Python's AsyncResult.
type AsyncResult[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// Get waits for the result, or for ctx to end (then it returns ctx's
// error; the call goes on).
func (r *AsyncResult[T]) Get(ctx context.Context) (T, error) {
	select {
	case <-r.done:
		return r.val, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Wait waits for the result to be ready, or for ctx to end.
func (r *AsyncResult[T]) Wait(ctx context.Context) error {
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the result is ready (after its callback returned).
func (r *AsyncResult[T]) Done() <-chan struct{} { return r.done }

// Ready reports whether the result is there.
func (r *AsyncResult[T]) Ready() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Successful reports whether the result is there and is not an error.
func (r *AsyncResult[T]) Successful() bool { return r.Ready() && r.err == nil }

// run settles r once j is done or ctx ends (which stops j's queued tasks),
// calls callback, and marks r ready.
func run[T any](ctx context.Context, p *Pool, j *job, r *AsyncResult[T], result func() (T, error), callback func(T, error)) {
	go func() {
		select {
		case <-j.done:
			r.val, r.err = result()
		case <-ctx.Done():
			j.halt()
			p.forget(j)
			r.err = ctx.Err()
		}
		if callback != nil {
			callback(r.val, r.err)
		}
		close(r.done)
	}()
}

// MapAsync is Map in the background (Python's map_async): callback, if
// not nil, gets the results (or the error) before the result is ready.
// When ctx ends the queued tasks are dropped and the result is ctx's
// error.
func MapAsync[In, Out any](ctx context.Context, p *Pool, t Task[In, Out], inputs []In, callback func([]Out, error)) *AsyncResult[[]Out] {
	return mapAsync(ctx, p, t, inputs, callback, false)
}

// mapAsync is MapAsync; with borrow, tasks are sent from inputs' own
// memory where enqueue can, and the caller leaves inputs alone until the
// result is ready.
func mapAsync[In, Out any](ctx context.Context, p *Pool, t Task[In, Out], inputs []In, callback func([]Out, error), borrow bool) *AsyncResult[[]Out] {
	r := &AsyncResult[[]Out]{done: make(chan struct{})}
	out := make([]Out, len(inputs))
	var errs Errors
	j := newJob(ctx, func(i int, data []byte, err error) {
		if err == nil {
			out[i], err = t.out.dec(data)
		}
		if err != nil {
			errs = append(errs, &TaskError{i, err})
		}
	})
	size := p.cfg.chunk
	if size == 0 { // Python's rule
		size = max(1, (len(inputs)+4*p.slots-1)/(4*p.slots))
	}
	err := enqueue(p, j, t, 0, inputs, size, borrow)
	j.sealed()
	if err != nil {
		j.halt()
		p.forget(j)
		<-j.done // what was queued is dropped or answered
		r.err = err
		if callback != nil {
			callback(nil, err)
		}
		close(r.done)
		return r
	}
	run(ctx, p, j, r, func() ([]Out, error) {
		j.mu.Lock()
		defer j.mu.Unlock()
		if len(errs) == 0 {
			return out, nil
		}
		slices.SortFunc(errs, func(a, b *TaskError) int { return a.Index - b.Index })
		return out, errs
	}, callback)
	return r
}

// Map runs t on every input in the pool's workers and returns the results
// in input order (Python's Pool.map). A failed task does not fail the
// others: the error is Errors, one TaskError per failed task, and every
// other result is in place. If ctx ends first, Map returns with ctx's
// error as soon as the tasks not yet sent are dropped (they read inputs,
// which Map borrows); those already with a worker run on, and their
// results are discarded.
func Map[In, Out any](ctx context.Context, p *Pool, t Task[In, Out], inputs []In) ([]Out, error) {
	// The tasks borrow inputs: the result is ready, even when ctx ends,
	// only once no task still to be sent reads them.
	r := mapAsync(ctx, p, t, inputs, nil, true)
	<-r.done
	return r.val, r.err
}

// ApplyAsync runs t on in in a worker (Python's apply_async). callback,
// if not nil, gets the result or the error (Python's callback and
// error_callback) before the result is ready; it runs on a goroutine of
// its own.
func ApplyAsync[In, Out any](ctx context.Context, p *Pool, t Task[In, Out], in In, callback func(Out, error)) *AsyncResult[Out] {
	r := &AsyncResult[Out]{done: make(chan struct{})}
	var val Out
	var verr error
	j := newJob(ctx, func(_ int, data []byte, err error) {
		if err == nil {
			val, err = t.out.dec(data)
		}
		verr = err
	})
	err := enqueue(p, j, t, 0, []In{in}, 1, false)
	j.sealed()
	if err != nil {
		r.err = err
		if callback != nil {
			callback(r.val, err)
		}
		close(r.done)
		return r
	}
	run(ctx, p, j, r, func() (Out, error) {
		j.mu.Lock()
		defer j.mu.Unlock()
		return val, verr
	}, callback)
	return r
}

// Apply runs t on in in a worker and waits for its result (Python's apply).
func Apply[In, Out any](ctx context.Context, p *Pool, t Task[In, Out], in In) (Out, error) {
	return ApplyAsync(ctx, p, t, in, nil).Get(ctx)
}

// A Result is one task's outcome from ImapUnordered.
type Result[Out any] struct {
	Index int // the input's place
	Value Out
	Err   error // a *TaskError
}

// stream keeps a lazy iterator's answers until the caller takes them
// (under the job's lock).
type stream[Out any] struct {
	ready   []Result[Out] // Imap: the answers of tasks taken... taken+len-1, by index mod len
	have    []bool
	queue   []Result[Out] // ImapUnordered: in arrival order
	waiting bool          // the caller waits on notify
	notify  chan struct{}
}

// readAhead is the fewest inputs Imap and ImapUnordered read ahead of
// the results taken.
const readAhead = 4096

// iterate runs the shared loop of Imap and ImapUnordered: it reads
// inputs lazily, keeping at most ahead tasks unanswered, and yields what
// it finds ready.
func iterate[In, Out any](ctx context.Context, p *Pool, t Task[In, Out], inputs iter.Seq[In], ordered bool,
	yield func(Result[Out]) bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	size := max(1, p.cfg.chunk)
	// At most ahead tasks are read and not yet taken: enough for every
	// worker's window of tiny tasks, a few chunks each of big ones. A
	// worker holds no more tasks than its ring has room for (4 bytes each
	// at least), whatever the chunk size: a huge one must not make a
	// read-ahead buffer the size of memory.
	perWorker := min(p.cfg.window*min(size, p.cfg.maxMessage/4), spscSlots*p.cfg.maxMessage/4)
	ahead := max(2*p.slots*perWorker, readAhead)
	s := &stream[Out]{notify: make(chan struct{}, 1)}
	if ordered {
		s.ready, s.have = make([]Result[Out], ahead), make([]bool, ahead)
	}
	j := newJob(ctx, func(i int, data []byte, err error) {
		r := Result[Out]{Index: i, Err: err}
		if err == nil {
			r.Value, r.Err = t.out.dec(data)
		}
		if r.Err != nil {
			r.Err = &TaskError{i, r.Err}
		}
		if ordered {
			s.ready[i%ahead], s.have[i%ahead] = r, true
		} else {
			s.queue = append(s.queue, r)
		}
		if s.waiting { // one wake-up per wait, not per answer
			s.waiting = false
			select {
			case s.notify <- struct{}{}:
			default:
			}
		}
	})
	defer func() {
		j.halt()
		p.forget(j)
	}()
	if err := p.feeding(j); err != nil {
		yield(Result[Out]{Index: -1, Err: err})
		return
	}
	feeding, counted := true, true
	defer func() {
		if counted {
			p.fed()
		}
	}()
	next, stop := iter.Pull(inputs)
	defer stop()
	read, taken := 0, 0
	var batch []In
	var got []Result[Out]
	for {
		// Top up once half the tasks ahead are answered and taken, so that
		// a top-up queues many tasks at once.
		if feeding && read-taken <= ahead/2 {
			batch = batch[:0]
			for read+len(batch)-taken < ahead {
				v, ok := next()
				if !ok {
					feeding = false
					break
				}
				batch = append(batch, v)
			}
			if err := enqueue(p, j, t, read, batch, size, false); err != nil {
				yield(Result[Out]{Index: read, Err: &TaskError{read, err}})
				return
			}
			read += len(batch)
			if !feeding {
				j.sealed()
				p.fed()
				counted = false
			}
		}
		// Take every answer ready, under one lock.
		got = got[:0]
		j.mu.Lock()
		if ordered {
			for taken+len(got) < read && s.have[(taken+len(got))%ahead] {
				k := (taken + len(got)) % ahead
				got = append(got, s.ready[k])
				s.ready[k], s.have[k] = Result[Out]{}, false
			}
		} else {
			got = append(got, s.queue...)
			clear(s.queue)
			s.queue = s.queue[:0]
		}
		s.waiting = len(got) == 0
		j.mu.Unlock()
		for _, r := range got {
			taken++
			if !yield(r) {
				return
			}
		}
		if len(got) > 0 {
			continue
		}
		if !feeding && taken == read {
			return
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			yield(Result[Out]{Index: taken, Err: ctx.Err()})
			return
		}
	}
}

// Imap runs t on each input and yields the results in input order
// (Python's imap). It reads inputs lazily, at most 4096 tasks (or 128
// chunks per worker, as many as fit its ring, if more) ahead of the
// results taken, so an endless input never sits in memory. A failed task
// yields its *TaskError and the iteration goes on; the end of ctx, a pool
// closed before the iteration began, or Terminate, yields a last error.
// Close during the iteration lets it read its input to the end.
func Imap[In, Out any](ctx context.Context, p *Pool, t Task[In, Out], inputs iter.Seq[In]) iter.Seq2[Out, error] {
	return func(yield func(Out, error) bool) {
		iterate(ctx, p, t, inputs, true, func(r Result[Out]) bool { return yield(r.Value, r.Err) })
	}
}

// ImapUnordered is Imap yielding each result as soon as it is there
// (Python's imap_unordered), with its input's index.
func ImapUnordered[In, Out any](ctx context.Context, p *Pool, t Task[In, Out], inputs iter.Seq[In]) iter.Seq[Result[Out]] {
	return func(yield func(Result[Out]) bool) {
		iterate(ctx, p, t, inputs, false, yield)
	}
}
