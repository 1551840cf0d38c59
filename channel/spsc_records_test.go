package channel_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// TestSPSCHostileRecordHeader writes record headers a hostile or broken
// producer could write at the consumer's position, with the right stamp:
// a receive reports ErrCorrupt and never reads past the ring; a message
// longer than the buffer stays queued.
func TestSPSCHostileRecordHeader(t *testing.T) {
	const slots, maxLen = 4, 8
	header := int(unsafe.Sizeof(layout.Channel{}))
	for _, tc := range []struct {
		name string
		pos  int    // the consumer's position, reached by messages of one float64; negative: from the ring's end
		low  uint32 // the header's lower half: length + 1
		want error
		// A second header, then bytes after the first, if then > 0.
		then    int
		thenLow uint32
	}{
		{"zero length word", 0, 0, shm.ErrCorrupt, 0, 0},
		{"longer than MaxLen", 0, maxLen + 2, shm.ErrCorrupt, 0, 0},
		{"far too long", 0, 1 << 30, shm.ErrCorrupt, 0, 0},
		{"past the end of the ring", -16, 3, shm.ErrCorrupt, 0, 0}, // 24 bytes in the last 16
		{"longer than the buffer", 0, maxLen + 1, io.ErrShortBuffer, 0, 0},
		{"a pad after a pad", 0, layout.LenPad, shm.ErrCorrupt, 56, layout.LenPad},
		{"a skip after a pad", 0, layout.LenPad, shm.ErrCorrupt, 56, layout.LenSkip},
		{"a pad, then a message too long", 16, layout.LenPad, shm.ErrCorrupt, 40, 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg, _ := proctest.Segment(t, 1<<20)
			ch, err := channel.New[float64](seg, "ch", slots, maxLen, channel.WithSPSC())
			require.NoError(t, err)
			obj, err := seg.Lookup("ch")
			require.NoError(t, err)
			pos := tc.pos
			if pos < 0 {
				pos += int(obj.Length) - header // the ring's length
			}
			require.Zero(t, pos%16)
			one := []float64{1}
			for range pos / 16 { // a record of one float64 is 16 bytes
				require.NoError(t, ch.Send(one))
				_, err := ch.Recv(one)
				require.NoError(t, err)
			}
			stamp := uint64(pos>>3 | 1)
			if tc.then > 0 { // first, so that the consumer never sees the first header alone
				next := pos + tc.then
				binary.LittleEndian.PutUint64(obj.Bytes()[header+next:], uint64(next>>3|1)<<32|uint64(tc.thenLow))
			}
			binary.LittleEndian.PutUint64(obj.Bytes()[header+pos:], stamp<<32|uint64(tc.low))
			buf := make([]float64, 4)
			if tc.want == io.ErrShortBuffer {
				buf = make([]float64, maxLen-1)
			}
			for _, recv := range []func() error{
				func() error { _, _, err := ch.TryRecv(buf); return err },
				func() error { _, err := ch.Recv(buf); return err },
			} {
				err := recv()
				assert.ErrorIs(t, err, tc.want, fmt.Sprint(err))
			}
			if tc.want == io.ErrShortBuffer { // still queued
				n, err := ch.Recv(make([]float64, maxLen))
				assert.NoError(t, err)
				assert.Equal(t, maxLen, n)
			}
		})
	}
}
