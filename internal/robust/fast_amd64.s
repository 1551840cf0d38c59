//go:build cgo && linux && amd64

#include "textflag.h"

// Offsets: pthread_mutex_t (bits/struct_mutex.h, x86-64): __lock 0,
// __count 4, __owner 8, __nusers 12, __list.__prev 24, __list.__next 32.
// struct robust_list_head (linux/futex.h): list 0, list_op_pending 16.
// robust.go checks them against C before the first use.
//
// The thread's robust list is linked through the __next fields; a list
// pointer points at a __next field, and the __prev field sits 8 bytes
// before it (for the head, glibc's robust_prev). Pointers may carry bit 0
// (PI mutexes), which is masked off before use, as glibc does.

// func threadPointer() uintptr
TEXT ·threadPointer(SB), NOSPLIT, $0-8
	// MOVQ %fs:0, AX
	BYTE $0x64; BYTE $0x48; BYTE $0x8B; BYTE $0x04; BYTE $0x25
	BYTE $0x00; BYTE $0x00; BYTE $0x00; BYTE $0x00
	MOVQ AX, ret+0(FP)
	RET

// LOOKUP finds the calling thread's entry in the table of internal/cbind/robust.c
// (struct robust_thread, 32 bytes: tp 0, head 8, tid 16) and loads its
// robust list head into SI and its tid into DX, or jumps to missed. It uses
// AX, BX and CX. The thread pointer is %fs:0 (the BYTEs: MOVQ %fs:0, BX);
// the key is read before and after the fields, since a writer clears it
// first.
#define LOOKUP(table, missed) \
	BYTE $0x64; BYTE $0x48; BYTE $0x8B; BYTE $0x1C; BYTE $0x25; \
	BYTE $0x00; BYTE $0x00; BYTE $0x00; BYTE $0x00; \
	MOVQ BX, AX; \
	MOVQ $0x9E3779B97F4A7C15, CX; \
	IMULQ CX, AX; \
	SHRQ $52, AX; \
	SHLQ $5, AX; \
	ADDQ table, AX; \
	CMPQ 0(AX), BX; \
	JNE missed; \
	MOVQ 8(AX), SI; \
	MOVL 16(AX), DX; \
	CMPQ 0(AX), BX; \
	JNE missed

// func LockPlain(m unsafe.Pointer, table unsafe.Pointer, kind Kind) Code
//
// Lock of a free mutex m of the given __kind by the calling thread, if the
// table knows the thread: 0 locked; 1 the lock word was not 0 (read before
// any locked instruction, and again by the CMPXCHG), nothing changed; 2 the
// mutex was not recoverable and was released again; 3 the same, and
// waiters must be woken; 4 not the plain case (another kind, or a thread
// the table lacks), nothing changed.
TEXT ·LockPlain(SB), NOSPLIT, $0-28
	MOVQ m+0(FP), DI
	MOVL kind+16(FP), AX
	CMPL 16(DI), AX           // __kind
	JNE missed
	MOVQ table+8(FP), R11
	TESTQ R11, R11            // no table: the Go path is off
	JZ missed
	CMPL 0(DI), $0            // __lock: held already? Then no CMPXCHG, which
	JNE held                  // would take the line from the holder (as glibc)
	LOOKUP(R11, missed)
	LEAQ 32(DI), R8           // node = &m->__list.__next
	MOVQ R8, 16(SI)           // list_op_pending = node: a death from here on is looked at
	XORL AX, AX
	LOCK
	CMPXCHGL DX, 0(DI)        // __lock: 0 -> tid
	JNE busy
	CMPL 8(DI), $0            // __owner is 0 after every plain unlock
	JNE notrecoverable
	MOVL $1, 4(DI)            // __count = 1
	MOVQ 0(SI), R9            // first = head->list
	MOVQ R9, R10
	ANDQ $-2, R10
	MOVQ R8, -8(R10)          // first's __prev = node
	MOVQ R9, 0(R8)            // m's __next = first
	MOVQ SI, -8(R8)           // m's __prev = head
	MOVQ R8, 0(SI)            // head->list = node: m is on the list
	MOVQ $0, 16(SI)           // list_op_pending = NULL
	MOVL DX, 8(DI)            // __owner = tid
	INCL 12(DI)               // __nusers++
	MOVL $0, ret+24(FP)
	RET

busy:
	MOVQ $0, 16(SI)
held:
	MOVL $1, ret+24(FP)
	RET

notrecoverable:
	// As glibc: give the lock word back and report it.
	MOVL $0, 4(DI)
	XORL AX, AX
	XCHGL AX, 0(DI)
	MOVQ $0, 16(SI)
	CMPL AX, $1
	JHI waiters
	MOVL $2, ret+24(FP)
	RET

waiters:
	MOVL $3, ret+24(FP)
	RET

missed:
	MOVL $4, ret+24(FP)
	RET

// func UnlockPlain(m unsafe.Pointer, table unsafe.Pointer, kind Kind) Code
//
// Unlock of m by the calling thread, if m has the given __kind, the table
// knows the thread, and the thread holds m at one level in the plain state:
// 0 released; 1 released, and a waiter must be woken; 2 not the plain case,
// nothing changed.
TEXT ·UnlockPlain(SB), NOSPLIT, $0-28
	MOVQ m+0(FP), DI
	MOVL kind+16(FP), AX
	CMPL 16(DI), AX           // __kind
	JNE unlockmissed
	MOVQ table+8(FP), R11
	TESTQ R11, R11
	JZ unlockmissed
	LOOKUP(R11, unlockmissed)
	MOVL 0(DI), AX
	ANDL $0x3fffffff, AX
	CMPL AX, DX               // the lock word names this thread, without owner-died
	JNE unlockmissed
	CMPL 8(DI), DX            // __owner: this thread, not inconsistent
	JNE unlockmissed
	CMPL 4(DI), $1            // __count: one level
	JNE unlockmissed
	LEAQ 32(DI), R8           // node
	MOVQ R8, 16(SI)           // list_op_pending = node
	MOVQ 0(R8), R9            // next = m's __next
	MOVQ -8(R8), R10          // prev = m's __prev
	MOVQ R9, R11
	ANDQ $-2, R11
	MOVQ R10, -8(R11)         // next's __prev = prev
	MOVQ R10, R11
	ANDQ $-2, R11
	MOVQ R9, 0(R11)           // prev's __next = next: m is off the list
	MOVQ $0, -8(R8)
	MOVQ $0, 0(R8)
	MOVL $0, 8(DI)            // __owner = 0
	DECL 12(DI)               // __nusers--
	XORL AX, AX
	XCHGL AX, 0(DI)           // __lock = 0: released
	MOVQ $0, 16(SI)           // list_op_pending = NULL
	SHRL $31, AX              // FUTEX_WAITERS
	MOVL AX, ret+24(FP)
	RET

unlockmissed:
	MOVL $2, ret+24(FP)
	RET
