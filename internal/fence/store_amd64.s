#include "textflag.h"

// On amd64 every store is a release store (TSO); a plain MOV is all a
// release needs, where sync/atomic's Store is an XCHG, a full barrier.

// func Store64(p *uint64, v uint64)
TEXT ·Store64(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ v+8(FP), BX
	MOVQ BX, 0(AX)
	RET
