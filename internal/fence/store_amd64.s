#include "textflag.h"

// On amd64 every store is a release store (TSO); a plain MOV is all a
// release needs, where sync/atomic's Store is an XCHG, a full barrier.

// func Store64(p *uint64, v uint64)
TEXT ·Store64(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ v+8(FP), BX
	MOVQ BX, 0(AX)
	RET

// func Store32(p *uint32, v uint32)
TEXT ·Store32(SB), NOSPLIT, $0-12
	MOVQ p+0(FP), AX
	MOVL v+8(FP), BX
	MOVL BX, 0(AX)
	RET

// func storePair(p1 *uint64, v1 uint64, p2 *uint64, v2 uint64, both bool)
TEXT ·storePair(SB), NOSPLIT, $0-33
	MOVQ p2+16(FP), CX
	MOVQ v2+24(FP), DX
	MOVB both+32(FP), AX
	TESTB AL, AL
	JZ second
	MOVQ p1+0(FP), SI
	MOVQ v1+8(FP), DI
	MOVQ DI, 0(SI)
second:
	MOVQ DX, 0(CX)
	RET
