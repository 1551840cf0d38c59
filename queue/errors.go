package queue

import "errors"

// Errors returned by this package, usable with errors.Is. A receive after
// End has drained the queue returns io.EOF; the channel's errors
// (channel.ErrEnded, channel.ErrClosed, channel.ErrPeerDead) and shm's come through wrapped.
var (
	// ErrTooLarge: a message longer than the queue's MaxMessage, or a slot too small to carry a part of one.
	ErrTooLarge = errors.New("queue: message longer than the queue allows")
	// ErrCorrupt: a part of a message contradicts the message's header or the queue's limit (the segment was damaged).
	ErrCorrupt = errors.New("queue: corrupt message")
)
