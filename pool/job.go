package pool

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/shmkit/shmkit/internal/layout"
)

// A job is one call's tasks: a Map, an iterator, an Apply. Workers'
// collectors deliver its answers, in any order, through deliver.
type job struct {
	ctx    context.Context
	mu     sync.Mutex
	left   int         // tasks queued and not yet answered
	open   bool        // more tasks may still be added
	stop   atomic.Bool // the caller gave up: answers are dropped
	done   chan struct{}
	closed bool
	// admitted: an iterator that began before Close, which may queue the
	// rest of its input (set under the pool's lock).
	admitted bool
	// answer takes one task's answer (encoded result or error), under mu.
	answer func(i int, data []byte, err error)
}

func newJob(ctx context.Context, answer func(i int, data []byte, err error)) *job {
	return &job{ctx: ctx, open: true, done: make(chan struct{}), answer: answer}
}

func (j *job) add(n int) {
	j.mu.Lock()
	j.left += n
	j.mu.Unlock()
}

// fail answers n tasks from first on with err (none, if the caller gave
// up), under one lock: a cancelled or broken map of a million tasks
// settles at once, not a lock round trip a task.
func (j *job) fail(first, n int, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.stop.Load() {
		for i := range n {
			j.answer(first+i, nil, err)
		}
	}
	j.left -= n
	j.settle()
}

// deliverResults hands over the answers of checked result messages of
// this job under one lock, and counts them.
func (j *job) deliverResults(ds []delivery) (ok, failed uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, d := range ds {
		o, f := j.deliverResult(d.first, d.count, d.answers)
		ok, failed = ok+o, failed+f
	}
	j.settle()
	return ok, failed
}

// deliverResult hands over count answers of a checked result message,
// from the first in rest on, for tasks first, first+1, ... (j.mu held),
// and counts them.
func (j *job) deliverResult(first, count int, rest []byte) (ok, failed uint64) {
	stop := j.stop.Load()
	for i := range count {
		var status uint8
		var data []byte
		status, data, rest = nextAnswer(rest)
		var err error
		switch status {
		case layout.PoolError:
			err = &remoteError{ErrTaskFailed, string(data)}
		case layout.PoolTooLarge:
			// Known by its status alone: a task's own error may say anything.
			err = &remoteError{ErrTooLarge, string(data)}
		case layout.PoolPanic:
			err = &remoteError{ErrPanic, string(data)}
		}
		if err != nil {
			failed++
		} else {
			ok++
		}
		if !stop {
			j.answer(first+i, data, err)
		}
		j.left--
	}
	return ok, failed
}

// sealed says no more tasks will be added.
func (j *job) sealed() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.open = false
	j.settle()
}

func (j *job) settle() {
	if !j.open && j.left == 0 && !j.closed {
		j.closed = true
		close(j.done)
	}
}

// stopped reports whether the caller gave up, or its context ended.
func (j *job) stopped() bool { return j.stop.Load() || j.ctx.Err() != nil }

// halt drops every answer from now on.
func (j *job) halt() {
	j.mu.Lock()
	j.stop.Store(true)
	j.mu.Unlock()
}
