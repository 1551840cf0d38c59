package layout

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// Channel ring constants beyond shmkit_h.go's (shmkit.h): a slot's sequence
// number is the bits above SlotSeqShift.
const SlotSeqMask uint64 = 1<<40 - 1

// Channel is struct shmkit_channel, the header of a channel object.
type Channel struct {
	Slots         uint32
	MaxLen        uint32
	ElemSize      uint32
	SlotStride    uint32
	Closed        atomic.Uint32
	PeersOverflow atomic.Uint32
	Recovered     atomic.Uint32
	SPSC          uint32
	PidNamespace  uint32        // the creator's pid namespace (procs.PIDNamespace)
	MixedNS       atomic.Uint32 // 1 once a process of another pid namespace opened it
	Unfinished    atomic.Uint32 // joinable: messages sent and not yet done (futex)
	JoinWaiters   atomic.Uint32
	Reserved0     [16]byte
	Tail          atomic.Uint64
	Producer      atomic.Uint64 // SPSC: the producer's lease
	Pad1          [48]byte
	Head          atomic.Uint64 // SPSC: the consumer's position
	Consumer      atomic.Uint64 // SPSC: the consumer's lease
	Pad2          [48]byte
	DataSeq       atomic.Uint32 // futex
	RecvWaiters   atomic.Uint32
	Pad3          [56]byte
	SpaceSeq      atomic.Uint32 // futex
	SendWaiters   atomic.Uint32
	Pad4          [56]byte
	Producers     [Peers]atomic.Int32
	Consumers     [Peers]atomic.Int32
}

// Slot is struct shmkit_slot; its data follows it.
type Slot struct {
	State    atomic.Uint64
	Len      atomic.Uint32
	Reserved uint32
}

// SlotState packs a slot state word.
func SlotState(seq uint64, busy bool, pid uint32) uint64 {
	s := (seq & SlotSeqMask) << SlotSeqShift
	if busy {
		s |= SlotBusy | uint64(pid)&SlotPIDMask
	}
	return s
}

// SlotSeq returns the sequence part of a slot state word.
func SlotSeq(state uint64) uint64 { return state >> SlotSeqShift }

// SlotOwner returns the pid that has the slot claimed, or 0.
func SlotOwner(state uint64) uint32 {
	if state&SlotBusy == 0 {
		return 0
	}
	return uint32(state & SlotPIDMask)
}

// RingGeometry is the slot stride and the object length of a channel of
// slots slots of maxLen elements of elemSize bytes on the any-to-any ring
// (an SPSC ring's length is the channel package's); false for a geometry
// no channel may have.
func RingGeometry(slots, maxLen int, elemSize uint64) (stride, length uint64, ok bool) {
	header, slotHeader := uint64(unsafe.Sizeof(Channel{})), uint64(unsafe.Sizeof(Slot{}))
	if slots < 1 || slots > 1<<30 || maxLen < 1 || elemSize == 0 || uint64(maxLen) > (1<<32-1-slotHeader)/elemSize {
		return 0, 0, false
	}
	stride, _ = AlignUp(slotHeader + uint64(maxLen)*elemSize)
	if uint64(slots) > (math.MaxInt64-header)/stride {
		return 0, 0, false
	}
	return stride, header + uint64(slots)*stride, true
}
