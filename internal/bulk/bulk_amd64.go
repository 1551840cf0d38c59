package bulk

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// vectorMoves is whether copies use 32-byte vector moves rather than one
// REP MOVSB: on Intel processors with AVX2. On the Intel machine of
// docs/bench.md, a producer that wrote 800 KB messages into a ring of six
// with the string move held the pair to a median of 12,900 messages a
// second (10,300-14,900), against 18,800 (14,100-20,400) with vector
// moves, whichever the consumer used; on the AMD machine before it, the
// string move was the faster (it writes whole lines without reading them
// first).
var vectorMoves = cpu.X86.HasAVX2 && intel()

func copyBytes(dst, src []byte) {
	if vectorMoves {
		moveVector(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), uintptr(len(dst)))
		return
	}
	moveString(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), uintptr(len(dst)))
}

// intel reports whether CPUID names the vendor GenuineIntel.
func intel() bool {
	_, b, c, d := cpuid(0)
	return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e // "Genu" "ineI" "ntel"
}

// ownsAhead is whether CPUID says the CPU has PREFETCHW: leaf 0x80000001,
// ECX bit 8 (Intel since Broadwell, AMD since family 10h; earlier AMD
// CPUs have the instruction without the bit, and are left out).
var ownsAhead = func() bool {
	if top, _, _, _ := cpuid(0x80000000); top < 0x80000001 {
		return false
	}
	_, _, c, _ := cpuid(0x80000001)
	return c&(1<<8) != 0
}()

// PrefetchForWrite asks that the lines cache lines from p be brought to
// this core and owned by it, as a store would, without the store: for a
// ring's lines a little ahead of its writer. Each line was last read by
// the peer's core, and a store to it waits in the store buffer until the
// line comes back; with several stores a message the buffer fills after a
// line or two, and the writer waits on every line in turn. Owned ahead,
// the lines travel while the writer works. A no-op where there is no
// PREFETCHW.
func PrefetchForWrite(p unsafe.Pointer, lines int) {
	if ownsAhead && lines > 0 {
		prefetchWrite(p, uintptr(lines))
	}
}

// cpuid is CPUID of leaf (subleaf 0): EAX, EBX, ECX, EDX.
func cpuid(leaf uint32) (eax, ebx, ecx, edx uint32)

//go:noescape
func prefetchWrite(p unsafe.Pointer, lines uintptr)

//go:noescape
func moveString(dst, src unsafe.Pointer, n uintptr)

// moveVector copies n bytes from src to dst 128 at a time with AVX2 loads
// and stores, the rest with REP MOVSB; the caller has checked for AVX2.
//
//go:noescape
func moveVector(dst, src unsafe.Pointer, n uintptr)
