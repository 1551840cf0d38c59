package pool

import (
	"errors"
	"math"

	"github.com/shmkit/shmkit/channel"
)

// A sender sends messages laid end to end in a buffer, the parent's tasks
// and a worker's answers alike: on an SPSC ring through a channel.Writer,
// written into the ring as they are and published by one store; on an
// any-to-any ring in one SendBatch.
type sender struct {
	ch     *channel.Channel[byte]
	writer *channel.Writer[byte] // nil on an any-to-any ring
	msgs   [][]byte              // SendBatch's, reused
}

func newSender(ch *channel.Channel[byte]) (sender, error) {
	w, err := ch.Writer(math.MaxInt)
	if errors.Is(err, channel.ErrNotSPSC) {
		return sender{ch: ch}, nil
	}
	if err != nil {
		return sender{}, err
	}
	return sender{ch: ch, writer: w}, nil
}

// send sends the messages of buf, the i-th ending at ends[i], in order.
func (s *sender) send(buf []byte, ends []int) error {
	from := 0
	if s.writer != nil {
		for _, end := range ends {
			if err := s.writer.Send(buf[from:end:end]); err != nil {
				return err
			}
			from = end
		}
		return s.writer.Flush()
	}
	s.msgs = s.msgs[:0]
	for _, end := range ends {
		s.msgs = append(s.msgs, buf[from:end:end])
		from = end
	}
	_, err := s.ch.SendBatch(s.msgs)
	return err
}
