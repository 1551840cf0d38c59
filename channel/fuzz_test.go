package channel_test

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// FuzzRingState lets arbitrary bytes overwrite a live channel's moving
// parts — the indices, the closed flag, every slot's state word and length —
// as a hostile process could, then sends and receives. Nothing may panic
// (every view is bounds-checked) and nothing may hang.
func FuzzRingState(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x01\x07"))
	name := proctest.Name(f)
	seg, err := shm.Create(name, 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	defer seg.Close()
	// Fuzz workers are killed, not ended, so no cleanup would run: drop the
	// name now; the mapping lives on.
	if err := seg.Unlink(); err != nil {
		f.Fatal(err)
	}
	const slots, maxLen = 4, 8
	ch, err := channel.New[int32](seg, "ch", slots, maxLen)
	if err != nil {
		f.Fatal(err)
	}
	obj, err := seg.Lookup("ch")
	if err != nil {
		f.Fatal(err)
	}
	mem := obj.Bytes()
	pristine := append([]byte(nil), mem...)
	// The moving parts of struct shmkit_channel: tail, head, closed; then
	// each slot's state and length.
	var h layout.Channel
	targets := []struct{ off, size int }{
		{int(unsafe.Offsetof(h.Tail)), 8}, {int(unsafe.Offsetof(h.Head)), 8}, {int(unsafe.Offsetof(h.Closed)), 4}}
	stride := (int(unsafe.Sizeof(layout.Slot{})) + maxLen*4 + 63) &^ 63 // 16 + 8 int32, to a cache line
	for i := range slots {
		base := int(unsafe.Sizeof(h)) + i*stride
		targets = append(targets, struct{ off, size int }{base, 8}, struct{ off, size int }{base + 8, 4})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		copy(mem, pristine)
		for _, tg := range targets {
			if len(data) < tg.size {
				break
			}
			if tg.size == 8 {
				binary.LittleEndian.PutUint64(mem[tg.off:], binary.LittleEndian.Uint64(data))
			} else {
				binary.LittleEndian.PutUint32(mem[tg.off:], binary.LittleEndian.Uint32(data))
			}
			data = data[tg.size:]
		}
		buf := make([]int32, maxLen)
		for range 2 * slots {
			ch.TrySend([]int32{1, 2, 3})
			ch.TryRecv(buf)
			ch.TryRecv(buf[:1]) // too short for most: must leave the message queued
		}
		_ = ch.State()
		_ = ch.Len()
	})
}
