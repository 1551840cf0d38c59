package pool

import (
	"encoding/binary"
	"fmt"

	"github.com/shmkit/shmkit/internal/layout"
)

// The messages of shmkit.h's pool protocol. A task message is a chunk:
//
//	u64 id | u32 count | u16 name length | u16 0 | name | count × (u32 len | bytes)
//
// and its result:
//
//	u64 id | u32 count | u32 0 | count × (u8 status | u32 len | bytes)
//
// where status is OK, ERROR, PANIC or TOOLARGE (layout.Pool*).
//
// whose answers are for the tasks of chunk id from its first task not yet
// answered on, and may go on into the chunks sent after it, in order.
const (
	taskHeader   = 16
	resultHeader = 16
)

// appendTask encodes a chunk of inputs for the task function fn.
func appendTask(b []byte, id uint64, fn string, items encoded) []byte {
	b = binary.LittleEndian.AppendUint64(b, id)
	b = binary.LittleEndian.AppendUint32(b, uint32(items.len()))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(fn)))
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = append(b, fn...)
	for i := range items.len() {
		b = binary.LittleEndian.AppendUint32(b, uint32(items.size(i)))
		b = append(b, items.at(i)...)
	}
	return b
}

// A taskView is a task message read in place, for the worker's loop: the
// header checked at once, items taken one at a time, nothing allocated.
type taskView struct {
	id    uint64
	fn    []byte
	count int
	rest  []byte
}

// viewTask checks a task message's header; its items follow.
func viewTask(msg []byte) (taskView, error) {
	if len(msg) < taskHeader {
		return taskView{}, fmt.Errorf("%w: task message of %d bytes", ErrProtocol, len(msg))
	}
	nameLen := int(binary.LittleEndian.Uint16(msg[12:]))
	rest := msg[taskHeader:]
	if nameLen > len(rest) {
		return taskView{}, fmt.Errorf("%w: task name past the message", ErrProtocol)
	}
	count := binary.LittleEndian.Uint32(msg[8:])
	if uint64(count) > uint64(len(rest)-nameLen)/4 {
		return taskView{}, fmt.Errorf("%w: %d items in %d bytes", ErrProtocol, count, len(rest)-nameLen)
	}
	return taskView{id: binary.LittleEndian.Uint64(msg), fn: rest[:nameLen], count: int(count), rest: rest[nameLen:]}, nil
}

// item takes the next item; it aliases the message.
func (v *taskView) item(i int) ([]byte, error) {
	if len(v.rest) < 4 {
		return nil, fmt.Errorf("%w: item %d past the message", ErrProtocol, i)
	}
	n := binary.LittleEndian.Uint32(v.rest)
	if uint64(n) > uint64(len(v.rest)-4) {
		return nil, fmt.Errorf("%w: item %d past the message", ErrProtocol, i)
	}
	it := v.rest[4 : 4+n : 4+n]
	v.rest = v.rest[4+n:]
	return it, nil
}

// appendResultHeader starts a result message of count answers; the
// answers follow, each appended by appendAnswerHeader and its data.
func appendResultHeader(b []byte, id uint64, count int) []byte {
	b = binary.LittleEndian.AppendUint64(b, id)
	b = binary.LittleEndian.AppendUint32(b, uint32(count))
	return binary.LittleEndian.AppendUint32(b, 0)
}

// setResultCount sets the count of the result message msg.
func setResultCount(msg []byte, count int) { binary.LittleEndian.PutUint32(msg[8:], uint32(count)) }

// answerHeader is the status byte and length before an answer's data.
const answerHeader = 5

// setAnswer fills in the header at b[0:5] of an answer whose data follows.
func setAnswer(b []byte, status uint8, n int) {
	b[0] = status
	binary.LittleEndian.PutUint32(b[1:], uint32(n))
}

// checkResult checks a result message through to its end, as
// parseResult does, without taking its answers out; panicked says one of
// them is a panic's, after which a worker leaves.
func checkResult(msg []byte) (id uint64, count int, panicked bool, err error) {
	if len(msg) < resultHeader {
		return 0, 0, false, fmt.Errorf("%w: result message of %d bytes", ErrProtocol, len(msg))
	}
	n := binary.LittleEndian.Uint32(msg[8:])
	rest := msg[resultHeader:]
	if uint64(n) > uint64(len(rest))/answerHeader {
		return 0, 0, false, fmt.Errorf("%w: %d results in %d bytes", ErrProtocol, n, len(rest))
	}
	for i := range int(n) {
		if len(rest) < answerHeader {
			return 0, 0, false, fmt.Errorf("%w: result %d past the message", ErrProtocol, i)
		}
		st, size := rest[0], binary.LittleEndian.Uint32(rest[1:])
		rest = rest[answerHeader:]
		if uint64(size) > uint64(len(rest)) || st > layout.PoolTooLarge {
			return 0, 0, false, fmt.Errorf("%w: result %d malformed", ErrProtocol, i)
		}
		panicked = panicked || st == layout.PoolPanic
		rest = rest[size:]
	}
	return binary.LittleEndian.Uint64(msg), int(n), panicked, nil
}

// skipAnswers is what follows the first n answers of a checked result
// message's answers.
func skipAnswers(rest []byte, n int) []byte {
	for range n {
		rest = rest[answerHeader+binary.LittleEndian.Uint32(rest[1:]):]
	}
	return rest
}

// nextAnswer takes the first answer off the answers of a checked result
// message.
func nextAnswer(rest []byte) (status uint8, data, tail []byte) {
	n := binary.LittleEndian.Uint32(rest[1:])
	end := answerHeader + n
	return rest[0], rest[answerHeader:end:end], rest[end:]
}
