#include "textflag.h"

// func storeOverwrite(note *uint64, seq *uint32, val unsafe.Pointer, noted, was, sum uint64, q uint32)
//
// dict_overwrite_to's stores (cgo/shmkit.c) as its C compiles on amd64:
// plain moves, in this order, which x86 makes visible in this order.
// note is the heap's undo_note; undo_val is the next word.
TEXT ·storeOverwrite(SB), NOSPLIT, $0-52
	MOVQ note+0(FP), AX
	MOVQ seq+8(FP), BX
	MOVQ val+16(FP), CX
	MOVQ noted+24(FP), DX
	MOVQ was+32(FP), SI
	MOVQ sum+40(FP), DI
	MOVL q+48(FP), R8
	MOVQ SI, 8(AX)   // undo_val = the old bytes
	MOVQ DX, 0(AX)   // undo_note = seq << 32 | index + 1
	LEAL 1(R8), R9
	MOVL R9, 0(BX)   // seq odd
	MOVQ DI, 0(CX)   // the value (may be unaligned, as C's memcpy)
	ADDL $2, R8
	MOVL R8, 0(BX)   // seq even again
	MOVQ $0, 0(AX)   // the note cleared
	RET
