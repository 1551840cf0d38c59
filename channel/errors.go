package channel

import "errors"

// Errors returned by this package, usable with errors.Is. A receive after
// End has drained the channel returns io.EOF; a receive buffer too short
// for the next message returns io.ErrShortBuffer.
var (
	// ErrEnded: Send on a channel that End ended, or a second End.
	ErrEnded = errors.New("channel: ended")
	// ErrClosed: any call on a handle after its Close, as for an os.File.
	ErrClosed = errors.New("channel: handle is closed")
	// ErrTooLarge: a message longer than the channel's MaxLen.
	ErrTooLarge = errors.New("channel: message longer than the channel allows")
	// ErrInUse: a single-producer, single-consumer channel already has a live sender (or receiver) on that side.
	ErrInUse = errors.New("channel: the one sender (or receiver) of this channel is another, live handle")
	// ErrPeerDead: every process recorded on the other side has died (for a receiver: without closing); see RegisterSender.
	ErrPeerDead = errors.New("channel: every peer process has died")
	// ErrNotJoinable: TaskDone or Join on a channel made without Joinable.
	ErrNotJoinable = errors.New("channel: not a joinable channel")
	// ErrTaskDone: TaskDone with no received message unfinished (Python's "task_done() called too many times").
	ErrTaskDone = errors.New("channel: TaskDone called more times than messages were received")
	// ErrInvalidPid: ExpectSender or ExpectReceiver with a pid that cannot name a process.
	ErrInvalidPid = errors.New("channel: not a process id")
	// ErrNotSPSC: a Writer asked of a channel made without SPSC.
	ErrNotSPSC = errors.New("channel: not a single-producer, single-consumer channel")
	// ErrNoSuchEnd: a pipe end other than 0 or 1, or the direction a one-way pipe's end does not have.
	ErrNoSuchEnd = errors.New("channel: no such pipe end")
)
