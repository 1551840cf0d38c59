/*
 * shmkit.h - the byte-for-byte layout of a shmkit segment.
 *
 * This header is the contract between every process that attaches to a
 * shmkit segment, whatever its language. The Go package
 * github.com/shmkit/shmkit/internal/layout mirrors it field for field, and a
 * test compiles this file and checks that both agree on every size and offset.
 *
 * All integers are little-endian, native-width and naturally aligned. Inside a
 * segment there are offsets from the start of the segment, never pointers.
 *
 *   0                  128                128 + 128*dir_capacity  (64-aligned)
 *   +------------------+----------------------------+-----------------------+
 *   | shmkit_header    | shmkit_entry[dir_capacity] | objects, each 64-byte |
 *   |                  | (the named-object directory)| aligned, bump-allocated
 *   +------------------+----------------------------+-----------------------+
 *                                                    ^ data start   ^ alloc_cursor
 *
 * Publication: a segment is fully written under a file with no name and only
 * then linked to its name, so no process can open a half-initialised one. A
 * directory entry is written, its object initialised, and only then its state
 * is set to SHMKIT_ENTRY_READY with a release store and dir_count raised;
 * readers load dir_count and each state with acquire loads and ignore entries
 * that are not READY. Allocation is serialised between processes by the
 * lock word alloc_lock in the header, taken over from a holder that died.
 */
#ifndef SHMKIT_H
#define SHMKIT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <semaphore.h>

/* The header compiles as C99, C11 and C++11 and later: the functions have
 * C linkage, and the layout checks use each language's static assertion. */
#ifdef __cplusplus
extern "C" {
#define SHMKIT_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define SHMKIT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
#define SHMKIT_STATIC_ASSERT_JOIN(a, b) a##b
#define SHMKIT_STATIC_ASSERT_NAME(line) SHMKIT_STATIC_ASSERT_JOIN(shmkit_static_assert_, line)
#define SHMKIT_STATIC_ASSERT(cond, msg) typedef char SHMKIT_STATIC_ASSERT_NAME(__LINE__)[(cond) ? 1 : -1]
#endif

#define SHMKIT_MAGIC 0x000054494B4D4853ULL /* "SHMKIT\0\0" read as little-endian */
#define SHMKIT_VERSION 3u
#define SHMKIT_ALIGN 64u         /* every object starts on a cache line */
#define SHMKIT_NAME_MAX 63       /* object name bytes, without the NUL */

/* Entry states. */
#define SHMKIT_ENTRY_EMPTY 0u
#define SHMKIT_ENTRY_READY 1u

/* Object kinds. */
#define SHMKIT_KIND_BYTES 1u      /* untyped bytes */
#define SHMKIT_KIND_VALUE 2u      /* one element of entry.typecode */
#define SHMKIT_KIND_ARRAY 3u      /* entry.count elements of entry.typecode */
#define SHMKIT_KIND_SEMAPHORE 4u  /* struct shmkit_semaphore */
#define SHMKIT_KIND_BOUNDED 5u    /* struct shmkit_semaphore with a bound, also in param0 */
#define SHMKIT_KIND_MUTEX 6u      /* struct shmkit_mutex, error-checking */
#define SHMKIT_KIND_RMUTEX 7u     /* struct shmkit_mutex, recursive */
#define SHMKIT_KIND_COND 8u       /* struct shmkit_cond */
#define SHMKIT_KIND_EVENT 9u      /* struct shmkit_event */
#define SHMKIT_KIND_BARRIER 10u   /* struct shmkit_barrier */
#define SHMKIT_KIND_CHANNEL 11u   /* struct shmkit_channel: param0 slots, param1 max_len */

/* Entry flags. */
#define SHMKIT_FLAG_LOCKED 0x01u  /* VALUE/ARRAY: a pthread_mutex_t (recursive,
                                     robust, process-shared) follows the data
                                     at offset + align64(count * elem size) */
#define SHMKIT_FLAG_SPSC 0x02u    /* CHANNEL: one producer, one consumer, messages
                                     packed end to end (see below) */
#define SHMKIT_FLAG_JOINABLE 0x04u /* CHANNEL: counts unfinished messages (see below) */

struct shmkit_header {
	uint64_t magic;        /*  0: SHMKIT_MAGIC, stored last */
	uint32_t version;      /*  8: SHMKIT_VERSION */
	uint32_t header_size;  /* 12: sizeof(struct shmkit_header); the directory starts here */
	uint64_t segment_size; /* 16: bytes in the segment; equals the file size */
	uint32_t dir_capacity; /* 24: entries in the directory */
	uint32_t dir_count;    /* 28: entries published (atomic) */
	uint64_t alloc_cursor; /* 32: offset of the first free data byte (atomic) */
	int32_t creator_pid;   /* 40: pid of the creating process */
	uint32_t flags;        /* 44: none defined; must be 0 */
	int64_t created_ns;    /* 48: creation time, Unix nanoseconds */
	uint64_t alloc_lock;   /* 56: allocation lock: holder's pid namespace << 32 | thread id, 0 if free (atomic) */
	uint32_t alloc_seq;    /* 64: futex: moved on at each release of alloc_lock */
	uint32_t alloc_waiters;/* 68: processes sleeping on alloc_seq */
	uint8_t reserved[56];  /* 72: zero; room to grow */
};

/*
 * Allocation lock. An allocator takes alloc_lock by CAS 0 -> its word
 * (namespace = the low 32 bits of the inode of /proc/self/ns/pid, 0 if
 * unknown; the id is the allocating thread's, gettid(), so that two
 * libraries or handles in one process keep out of each other's way),
 * allocates, stores 0, adds 1 to alloc_seq, and wakes all if alloc_waiters
 * is non-zero. A waiter reads alloc_seq, looks again, and sleeps on
 * alloc_seq, in short slices. It takes the lock over by CAS from a holder's
 * word whose namespace is its own and whose id is dead (or a zombie), is
 * its own thread's (left over from a thread that had the id before), or
 * is no id at all (outside 1..2^22-1, the kernel's PID_MAX_LIMIT less one);
 * a holder in another namespace is never judged. A read-only attach cannot
 * take the lock, so readers never block writers.
 */

struct shmkit_entry {
	char name[64];         /*   0: NUL-terminated, 1..SHMKIT_NAME_MAX bytes */
	uint32_t state;        /*  64: SHMKIT_ENTRY_* (atomic, published last) */
	uint16_t kind;         /*  68: SHMKIT_KIND_* */
	uint8_t typecode;      /*  70: Python typecode character, or 0 */
	uint8_t flags;         /*  71: SHMKIT_FLAG_* */
	uint64_t count;        /*  72: elements (VALUE 1, ARRAY n), else 0 */
	uint64_t offset;       /*  80: start of the object, 64-aligned */
	uint64_t length;       /*  88: bytes the object occupies */
	uint64_t param0;       /*  96: kind-specific */
	uint64_t param1;       /* 104: kind-specific */
	uint64_t desc;         /* 112: typecode 'T': where its struct description
	                                starts, from the object's start; else 0 */
	uint8_t reserved[8];   /* 120: zero */
};

/*
 * Struct elements (typecode SHMKIT_TYPECODE_STRUCT, for a VALUE, ARRAY or
 * CHANNEL): each element is a record of fixed-size fields. Its description
 * lies inside the object, after everything else (the data and lock of a
 * VALUE or ARRAY, the ring of a CHANNEL), at entry.desc, 64-aligned: one
 * shmkit_struct_desc and then desc.fields shmkit_field records.
 *
 * The fields are the record's leaves, in offset order: a nested record is
 * flattened with dotted names ("pos.x"), an array of records with indexed
 * ones ("pts[1].x"); an array of scalars is one field with its count. Bytes
 * that no field covers are padding. Everything is checked before use: each
 * field inside size and after the one before, aligned in every element
 * (size is a multiple of its element size), names NUL-terminated UTF-8 and
 * distinct, align a power of two that divides size. Python builds a numpy dtype (names, formats, offsets,
 * itemsize) or a ctypes.Structure from it; C reads it from the object.
 */
#define SHMKIT_TYPECODE_STRUCT 'T'
#define SHMKIT_FIELD_NAME_MAX 47   /* field path bytes, without the NUL */
#define SHMKIT_FIELDS_MAX 4096

struct shmkit_struct_desc {
	char type_name[48];    /*  0: NUL-terminated; the creator's name for the type, may be empty */
	uint32_t size;         /* 48: bytes per element, a multiple of align */
	uint32_t align;        /* 52: a power of two, at most 8 (messages start 8-aligned) */
	uint32_t fields;       /* 56: records that follow, 1..SHMKIT_FIELDS_MAX */
	uint32_t reserved;     /* 60: zero */
};

struct shmkit_field {
	char name[48];         /*  0: NUL-terminated, 1..SHMKIT_FIELD_NAME_MAX bytes */
	uint32_t offset;       /* 48: from the start of the element */
	uint32_t count;        /* 52: 1 for a scalar, n for an array of n */
	uint8_t typecode;      /* 56: a scalar typecode ('b' ... 'd', 'c', 'u') */
	uint8_t reserved[7];   /* 57: zero */
};

/*
 * Synchronisation objects. Words marked "futex" are 32-bit words that
 * waiters sleep on with FUTEX_WAIT (shared, not private) and that changers
 * wake with FUTEX_WAKE after changing them. A pthread mutex sits in a
 * 64-byte slot, so offsets are the same on every 64-bit Linux whatever
 * sizeof(pthread_mutex_t) is there.
 */
typedef union { pthread_mutex_t mutex; uint8_t bytes[64]; } shmkit_mutex_slot;

/*
 * SHMKIT_KIND_SEMAPHORE and SHMKIT_KIND_BOUNDED: a counting semaphore.
 *
 * Acquire: compare-and-swap value v -> v-1 while v > 0. Release: CAS v ->
 * v+1 while v < bound: ERANGE at a BOUNDED semaphore's bound, so the bound
 * is exact however many release at once, EOVERFLOW at a plain one's
 * (SHMKIT_SEM_VALUE_MAX). A value above bound, or a bound above
 * SHMKIT_SEM_VALUE_MAX, is corrupt. A waiter adds 1 to waiters, looks at value again, sleeps on it
 * while it is 0, and takes 1 from waiters when it wakes; a release that
 * then sees waiters non-zero wakes one sleeper. A waiter killed asleep
 * leaves waiters raised: releases then make a needless wake call.
 */
#define SHMKIT_SEM_VALUE_MAX 0x7FFFFFFFu

struct shmkit_semaphore {
	uint32_t value;            /*   0: futex */
	uint32_t waiters;          /*   4: sleepers, so a release with none is free */
	uint32_t bound;            /*   8: the most value may be: SHMKIT_SEM_VALUE_MAX
	                                  for SEMAPHORE, the initial value for BOUNDED */
	uint8_t reserved[52];
};

/* SHMKIT_KIND_MUTEX / SHMKIT_KIND_RMUTEX: a robust, process-shared
 * pthread_mutex_t, error-checking (MUTEX) or recursive (RMUTEX). */
struct shmkit_mutex {
	shmkit_mutex_slot mutex;   /*   0 */
};

/* SHMKIT_KIND_COND: a condition variable used with a shmkit mutex. A waiter
 * reads seq, releases its mutex, and sleeps while seq is unchanged; signal
 * and broadcast add 1 to seq and wake one or all sleepers. */
struct shmkit_cond {
	uint32_t seq;              /*   0: futex */
	uint32_t waiters;          /*   4: sleepers, so a signal with none is free */
	uint8_t reserved[56];
};

/* SHMKIT_KIND_EVENT: flag 0 (clear) or 1 (set); waiters sleep while 0. */
struct shmkit_event {
	uint32_t flag;             /*   0: futex */
	uint32_t waiters;          /*   4 */
	uint8_t reserved[56];
};

/* SHMKIT_KIND_BARRIER. Every field but gen changes only under lock. gen
 * changes when the barrier trips, breaks or is reset; a waiter that arrived
 * in generation g has passed if broken_gen != g once gen != g. */
struct shmkit_barrier {
	shmkit_mutex_slot lock;    /*   0: robust, process-shared */
	uint32_t gen;              /*  64: futex */
	uint32_t parties;          /*  68 */
	uint32_t count;            /*  72: arrived in generation gen */
	uint32_t broken;           /*  76: 1 while broken */
	uint32_t broken_gen;       /*  80: last generation that broke, UINT32_MAX if none */
	uint8_t reserved[44];
};

/*
 * SHMKIT_KIND_CHANNEL: a bounded ring of `slots` messages, each up to
 * max_len elements of the entry's typecode, for any number of producer and
 * consumer processes. The object is this header, then `slots` slots of
 * slot_stride bytes; a slot is struct shmkit_slot followed by the data.
 *
 * Slot state word (64 bits, atomic):
 *
 *   63            24  23   22        0
 *   +---------------+----+-----------+
 *   | seq (40 bits) |busy| pid (23)  |
 *   +---------------+----+-----------+
 *
 * For ring position p (slot p % slots), seq = 2p mod 2^40 means empty and
 * ready for the producer of p; 2p+1 means full, ready for the consumer of p;
 * 2(p+slots) means freed for the next lap. busy = 1 with a pid: that process
 * claimed the slot (a producer writing when seq is 2p, a consumer reading
 * when seq is 2p+1); busy = 0 has pid 0.
 *
 * Send at p: CAS {2p,0,0} -> {2p,1,me}; write data and len; store {2p+1,0,0}.
 * Recv at p: CAS {2p+1,0,0} -> {2p+1,1,me}; read; store {2(p+slots),0,0}.
 * tail and head are hints of the next p, moved on by CAS by whoever sees
 * them behind ("helping"). A data reader never looks before {2p+1,0,0} is
 * published, so a message is never seen half-written. If a claimer's pid
 * no longer exists, a waiter takes its slot over: a producer's claim becomes
 * {2p+1,0,0} with len SHMKIT_LEN_SKIP (no message), a consumer's claim
 * becomes {2(p+slots),0,0}.
 *
 * Sleeping: a receiver reads data_seq, registers in recv_waiters (adds
 * SHMKIT_WAITER_REGISTER: 1 to the count in the low 16 bits, 1 to the
 * generation in the high 16), looks again, FUTEX_WAITs on data_seq with the
 * value it read, and takes 1 off recv_waiters when it wakes. A producer
 * that published and finds a non-zero count adds 1 to data_seq and wakes
 * all. Likewise senders with space_seq and send_waiters. Ending the stream
 * (shmkit_chan_end) sets closed and wakes both.
 *
 * A sleeper killed while asleep leaves its count behind for good. A waker
 * whose wake found nobody asleep may remember that exact word and skip the
 * wake while the word is unchanged: no live sleeper counted in it sleeps on,
 * since it read the futex word before registering and the wake moved it,
 * and a new sleeper changes the generation.
 *
 * producers / consumers: pids of processes that sent / received, or that
 * a starter named for them before they ran (shmkit_chan_expect), so a
 * blocked peer can tell when all of the other side are dead; 0 is empty.
 *
 * Joinable channels (SHMKIT_FLAG_JOINABLE), as Python's JoinableQueue:
 * unfinished counts messages received and not yet done. A receiver adds 1
 * after it claimed a message and before it frees the slot (SPSC: before it
 * stores head); task_done takes 1 off by CAS (never below 0) and, reaching
 * 0, wakes all if join_waiters is non-zero. Join is done when nothing is
 * queued and then unfinished is 0, in that order: queued means a slot whose
 * seq is odd (published, or claimed by a receiver) that is not a skip
 * (SPSC: a record from head). Join raises join_waiters, reads unfinished,
 * looks again, and sleeps on unfinished for at most a slice; it takes over
 * slots claimed by dead receivers, and reports SHMKIT_EPEERDEAD if
 * messages are queued and every consumer is dead. A sender counts
 * nothing, so a message that never entered the ring (its producer died
 * blocked or writing) never counts. A consumer that dies between
 * receiving and task_done leaves its message unfinished for good: joins
 * then end only by their timeout.
 *
 * Pid namespaces: a process whose pid namespace is not pid_namespace sets
 * mixed_ns when it opens the channel for writing, before it claims or
 * registers anything. From then on no process judges a peer by its pid:
 * no slot or lease is taken over, no table entry evicted, no peer reported
 * dead. A dead claimer's slot then stays claimed; handles give their leases
 * back themselves (shmkit_chan_close).
 */
#define SHMKIT_LEN_SKIP 0xFFFFFFFFu
#define SHMKIT_LEN_PAD 0xFFFFFFFEu /* SPSC: a pad record (see SHMKIT_FLAG_SPSC below) */
#define SHMKIT_SLOT_BUSY (1ull << 23)
#define SHMKIT_SLOT_PID_MASK ((1ull << 23) - 1)
#define SHMKIT_SLOT_SEQ_SHIFT 24
#define SHMKIT_PEERS 32
#define SHMKIT_WAITER_REGISTER 0x10001u
#define SHMKIT_WAITER_COUNT_MASK 0xFFFFu
/* Opening a channel of at most this many bytes maps all its pages into the
 * process (MADV_POPULATE_WRITE), so its first lap of messages takes no page
 * faults. Not layout: every implementation just does the same. */
#define SHMKIT_POPULATE_MAX (16ull << 20)

struct shmkit_channel {
	uint32_t slots;            /*   0: set at creation */
	uint32_t max_len;          /*   4: elements per message */
	uint32_t elem_size;        /*   8: bytes per element */
	uint32_t slot_stride;      /*  12: bytes per slot, align64(16 + max_len*elem_size) */
	uint32_t closed;           /*  16: 1 once closed (atomic) */
	uint32_t peers_overflow;   /*  20: 1 if a peer could not be recorded */
	uint32_t recovered;        /*  24: slots taken over from dead claimers (atomic) */
	uint32_t spsc;             /*  28: 1 for a SHMKIT_FLAG_SPSC channel, else 0 */
	uint32_t pid_namespace;    /*  32: the creator's pid namespace (as alloc_lock's) */
	uint32_t mixed_ns;         /*  36: 1 once a process of another pid namespace opened it (atomic) */
	uint32_t unfinished;       /*  40: JOINABLE: messages sent and not yet marked done (futex) */
	uint32_t join_waiters;     /*  44: JOINABLE: processes sleeping in join */
	uint8_t reserved0[16];
	uint64_t tail;             /*  64: next position to send (hint) */
	uint64_t producer;         /*  72: SPSC: the producer's lease */
	uint8_t pad1[48];
	uint64_t head;             /* 128: next position to receive (hint); SPSC: the consumer's position */
	uint64_t consumer;         /* 136: SPSC: the consumer's lease */
	uint8_t pad2[48];
	uint32_t data_seq;         /* 192: futex for receivers */
	uint32_t recv_waiters;     /* 196 */
	uint8_t pad3[56];
	uint32_t space_seq;        /* 256: futex for senders */
	uint32_t send_waiters;     /* 260 */
	uint8_t pad4[56];
	int32_t producers[SHMKIT_PEERS]; /* 320 */
	int32_t consumers[SHMKIT_PEERS]; /* 448 */
	/* 576: the slots */
};

/*
 * SHMKIT_FLAG_SPSC: one producer and one consumer at a time. The same header,
 * then a ring of cap = (slots + 1) * slot_stride bytes in which messages lie
 * end to end, each a record of an 8-byte header and the elements, padded to
 * 8 bytes. It holds at least `slots` messages of max_len elements, more of
 * shorter ones. Positions count bytes from the first and only grow; a
 * record lies at position p, at offset p % cap, never past the ring's end.
 *
 * Record header (64 bits): stamp(p) << 32 | low, where stamp(p) = (p / 8)
 * mod 2^32 | 1, so that no header from an earlier lap, and no zero, matches;
 * low is n + 1 for a message of n elements, SHMKIT_LEN_SKIP for "the
 * rest of this lap is empty, go on at the next multiple of cap", or
 * SHMKIT_LEN_PAD for "go on at q = align64(p + 8) - 8", the next position
 * whose elements start on a 64-byte line (cap is a multiple of 64, so
 * offsets and positions agree mod 64); a pad at p = 56 mod 64 is corrupt.
 * A producer may pad before a large message so that its elements start on
 * a line (shmkit's producers do from 1 KB of elements, where the pad and
 * the record fit in slot_stride bytes, so the ring still holds `slots`
 * messages); it stores the message's header at q before the pad's header
 * at p, so the pad is never seen before the message. A consumer takes at most
 * one skip and one pad before a message. (A consumer built before pads
 * reports a pad's header as corrupt.)
 *
 * Send at position p: fail if closed; wait until the record (and a skip
 * record before it if it does not fit before the end, and 8 bytes after it)
 * lies within head + cap; write the skip record if any; write the elements;
 * store 0 at the 8 bytes after the record unless the lap ends there, so
 * that old elements there never read as a header; store the header; look
 * at closed again, and if it is now set report "closed" (the message may
 * still be received). A producer killed before the header leaves no
 * message, never half a one.
 *
 * Receive at position head: load the header at head; a stamp other than
 * stamp(head) means nothing yet; read the elements; store head = head +
 * size. A consumer killed before that store leaves the message to be read
 * again by the next one. A consumer that finds the channel closed and
 * nothing at head runs the barrier below and looks again: end of stream if
 * there is still nothing. A send whose second look found the channel open
 * stored its header before that look, so the barrier shows it.
 *
 * Leases (producer, consumer): pid << 32 | token of the handle that sends /
 * receives, 0 if none; a handle takes a lease that is free or whose pid is
 * dead. A producer that takes one walks the records from head to find its
 * position.
 *
 * Ordering: the stores above are release stores and the loads acquire
 * loads, with no full fence per message. Every process that sends or
 * receives first registers for membarrier(2)'s GLOBAL_EXPEDITED command. A
 * side that would sleep raises its waiters count, runs that command, then
 * looks once more and sleeps on its futex word (data_seq, space_seq); the
 * other side, after each store, wakes it if the waiters count is non-zero.
 */

struct shmkit_slot {
	uint64_t state;            /*   0: see above */
	uint32_t len;              /*   8: elements, or SHMKIT_LEN_SKIP */
	uint32_t reserved;         /*  12 */
	/* 16: max_len elements */
};

/*
 * A process pool (package pool): a bytes object named "pool" in the pool's
 * segment, a struct shmkit_pool, then one struct shmkit_pool_worker per
 * worker slot. The pool's parent writes the header and a row's pid and
 * generation when it starts a worker; the worker writes its own row's
 * state, task and done. Readers (inspect) take every field as a hint.
 *
 * Each start of a worker has a segment of its own, named
 * "<pool segment>-w<generation>", holding two byte channels: "tasks"
 * (parent to worker) and "results" (worker to parent), messages in order.
 * A task message is a chunk: u64 id, u32 count, u16 name length, u16 0,
 * the task function's name, then count times (u32 length, bytes). A
 * result message: u64 id, u32 count, u32 0, then count times (u8 status,
 * u32 length, bytes), status SHMKIT_POOL_OK (the result), _ERROR (an error
 * message), _PANIC (a panic's message; the worker exits after the chunk)
 * or _TOOLARGE (the result, or the error's message, does not fit a result
 * message; the bytes say so in words, which readers do not parse).
 * Its answers are for chunk id's tasks from the first not yet answered on,
 * and may go on into the chunks sent after it, in order: one message may
 * answer many small chunks, or a chunk's answers may take several.
 * All integers little-endian. The worker sets task = id and state BUSY
 * before it runs a chunk, item before each of its tasks, and IDLE after it
 * sent the results, so a parent that sees the worker die knows which task
 * was running (it is retried or failed) and which only waited (they are
 * sent again); any process may write the row, so a parent takes it for
 * which task, never for whether one was. The parent ends "tasks" to make
 * the worker exit.
 */
#define SHMKIT_POOL_MAGIC 0x4C4F4F50544B4853ULL /* "SHKTPOOL" read as little-endian */
#define SHMKIT_POOL_VERSION 1u /* struct shmkit_pool.version: workers refuse a table of another (SHMKIT_EVERSION) */
#define SHMKIT_POOL_STARTING 0u /* started, not yet serving (initializer running) */
#define SHMKIT_POOL_IDLE 1u     /* waiting for a task */
#define SHMKIT_POOL_BUSY 2u     /* running chunk `task` */
#define SHMKIT_POOL_EXITED 3u   /* exited; exit_code as Python's (-N for signal N) */
#define SHMKIT_POOL_OK 0u
#define SHMKIT_POOL_ERROR 1u
#define SHMKIT_POOL_PANIC 2u
#define SHMKIT_POOL_TOOLARGE 3u

struct shmkit_pool {
	uint64_t magic;            /*   0: SHMKIT_POOL_MAGIC, stored last on creation */
	uint32_t workers;          /*   8: rows that follow */
	int32_t parent_pid;        /*  12: the process that owns the pool */
	uint32_t closed;           /*  16: 1 once no more tasks are taken */
	uint32_t version;          /*  20: SHMKIT_POOL_VERSION, the protocol of the table and messages */
	uint64_t queued;           /*  24: tasks waiting for a worker */
	uint64_t in_flight;        /*  32: tasks sent to a worker, not answered */
	uint64_t done;             /*  40: tasks answered with a result */
	uint64_t failed;           /*  48: tasks answered with an error */
	uint64_t retried;          /*  56: tasks run again after their worker died */
	uint64_t starts;           /*  64: workers started so far */
	uint8_t reserved[56];      /*  72 */
};

struct shmkit_pool_worker {
	int32_t pid;               /*   0: 0 while the slot has no worker */
	uint32_t state;            /*   4: SHMKIT_POOL_* */
	uint64_t generation;       /*   8: which start this is: its segment's suffix */
	uint64_t task;             /*  16: BUSY: the id of the chunk it runs */
	uint64_t done;             /*  24: chunks it has answered */
	int32_t exit_code;         /*  32: EXITED */
	uint32_t item;             /*  36: BUSY: which task of the chunk it runs, from 0 */
	uint8_t reserved[24];      /*  40 */
};

SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_pool) == 128, "pool header is 128 bytes");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_pool_worker) == 64, "pool worker row is 64 bytes");

/*
 * How a driver starts a worker: the program, then three arguments (the
 * pool's segment, the slot, the worker's segment) and, if the pool has an
 * initializer, its name and arguments. SHMKIT_POOL_ROLE_ENV is set to
 * SHMKIT_POOL_WORKER_ROLE (a Go program's process.Dispatch serves the pool
 * then). A program started with it set to SHMKIT_POOL_TASKS_ROLE prints its
 * tasks as one JSON line and exits 0: {"tasks": [{"name": ..., "in": ...,
 * "out": ...}], "inits": [...]}. "in" and "out" say how a value crosses:
 * "bytes" and "binary" (bytes as they are), "str" (UTF-8), "<fmt" (one
 * value: Python's struct format fmt, little-endian, padding spelt out as
 * "x"), "[]<fmt" (a slice: such values end to end). See docs/interop.md.
 */
#define SHMKIT_POOL_ROLE_ENV "SHMKIT_PROCESS"
#define SHMKIT_POOL_WORKER_ROLE "shmkit.pool.worker"
#define SHMKIT_POOL_TASKS_ROLE "shmkit.pool.tasks"

SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_channel) == 576, "channel header is 576 bytes");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_slot) == 16, "slot header is 16 bytes");
SHMKIT_STATIC_ASSERT(offsetof(struct shmkit_channel, tail) == 64 && offsetof(struct shmkit_channel, head) == 128,
               "each side's words on a line of their own");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_header) == 128, "header is 128 bytes");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_entry) == 128, "entry is 128 bytes");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_struct_desc) == 64, "struct description is 64 bytes");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_field) == 64, "field record is 64 bytes");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_semaphore) == 64, "semaphore is 64 bytes");
SHMKIT_STATIC_ASSERT(sizeof(shmkit_mutex_slot) == 64, "pthread_mutex_t fits a cache line");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_barrier) == 128, "barrier is 128 bytes");

/*
 * Operations (shmkit.c). Each returns 0 or a positive errno value; none
 * leaves errno meaningful. Blocking calls retry after EINTR. Deadlines are
 * absolute CLOCK_MONOTONIC times in nanoseconds.
 */
/* Semaphores in a segment; bound is SHMKIT_SEM_VALUE_MAX for a plain one. */
int shmkit_sem_init(struct shmkit_semaphore *s, unsigned value, unsigned bound);
int shmkit_sem_wait(struct shmkit_semaphore *s);
int shmkit_sem_trywait(struct shmkit_semaphore *s);                        /* EAGAIN if zero */
int shmkit_sem_timedwait(struct shmkit_semaphore *s, int64_t deadline_ns); /* ETIMEDOUT */
int shmkit_sem_post(struct shmkit_semaphore *s);  /* ERANGE at the bound, EOVERFLOW at the max */
int shmkit_sem_getvalue(struct shmkit_semaphore *s, int *value);
/* Every call on a semaphore whose value is above its limit returns
 * SHMKIT_ECORRUPT. */

/* Named POSIX semaphores (sem_open), what C's and Python's multiprocessing open. */
int shmkit_nsem_open(const char *name, int create, unsigned mode, unsigned value, sem_t **out);
/* SHMKIT_ECORRUPT: the file is shorter than a semaphore (it would fault),
 * or holds what glibc never leaves there (a value past SEM_VALUE_MAX, a
 * futex flag word not a shared semaphore's, with which glibc aborts the
 * process); every call below checks the latter first. */
int shmkit_nsem_close(sem_t *sem);
int shmkit_nsem_unlink(const char *name);
int shmkit_nsem_wait(sem_t *sem);
int shmkit_nsem_trywait(sem_t *sem);                        /* EAGAIN if zero */
int shmkit_nsem_timedwait(sem_t *sem, int64_t deadline_ns); /* ETIMEDOUT */
int shmkit_nsem_post(sem_t *sem);
int shmkit_nsem_getvalue(sem_t *sem, int *value);

int shmkit_mutex_init(void *mutex, int recursive);
int shmkit_mutex_lock(void *mutex);         /* EOWNERDEAD: held, repair then consistent */
int shmkit_mutex_trylock(void *mutex);      /* EBUSY */
int shmkit_mutex_timedlock(void *mutex, int64_t deadline_ns); /* ETIMEDOUT */
int shmkit_mutex_unlock(void *mutex);       /* EPERM if not the owner */
int shmkit_mutex_consistent(void *mutex);

int shmkit_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns); /* 0 woken or changed; ETIMEDOUT */
int shmkit_futex_wake(uint32_t *word, int n);

int shmkit_barrier_init(struct shmkit_barrier *b, uint32_t parties);
/* Arrive: ESHUTDOWN if broken; 0 with *index and *gen set: wait while gen is *gen
 * (the last arrival, index parties-1, trips the barrier and need not wait). */
int shmkit_barrier_arrive(struct shmkit_barrier *b, uint32_t *index, uint32_t *gen);
/* After gen moved past g: 0 if generation g tripped, ESHUTDOWN if it broke. */
int shmkit_barrier_outcome(struct shmkit_barrier *b, uint32_t g);
/* A waiter of generation g gave up: break g if it is still current. */
int shmkit_barrier_timeout(struct shmkit_barrier *b, uint32_t g);
int shmkit_barrier_abort(struct shmkit_barrier *b);
int shmkit_barrier_reset(struct shmkit_barrier *b);
/* Arrive and wait for the rest until deadline_ns (SHMKIT_FOREVER: no limit):
 * 0 with *index this party's arrival index; ESHUTDOWN if the barrier is or
 * becomes broken, as it does when a waiter gives up at its deadline. */
int shmkit_barrier_wait(struct shmkit_barrier *b, int64_t deadline_ns, uint32_t *index);

/* Events and conditions, by the protocol of Go's semaphore.Event and Cond.
 * Waits end at deadline_ns (SHMKIT_FOREVER: no limit) with ETIMEDOUT. */
int shmkit_event_set(struct shmkit_event *e);
void shmkit_event_clear(struct shmkit_event *e);
int shmkit_event_is_set(const struct shmkit_event *e);
int shmkit_event_wait(struct shmkit_event *e, int64_t deadline_ns);   /* 0 once set */
/* The caller holds mutex (once); it is released while waiting and held again
 * on return, also with ETIMEDOUT; EOWNERDEAD as shmkit_mutex_lock. */
int shmkit_cond_wait(struct shmkit_cond *c, void *mutex, int64_t deadline_ns);
int shmkit_cond_notify(struct shmkit_cond *c, int n);               /* wake n waiters (INT_MAX: all) */
/* The steps of shmkit_cond_wait, for bindings that release their own locks
 * and wait in slices: enter (before releasing the mutex) returns the
 * sequence to sleep on; sleep returns 0 once it moved; leave after. */
uint32_t shmkit_cond_enter(struct shmkit_cond *c);
int shmkit_cond_sleep(struct shmkit_cond *c, uint32_t seq, int64_t deadline_ns);
void shmkit_cond_leave(struct shmkit_cond *c);
uint32_t shmkit_load32(const uint32_t *word);                       /* an acquire load */

/*
 * Segments and objects, for C programs and other languages' bindings
 * (shmkit.c). The checks are the Go package's: a segment is trusted only
 * after its header passed shmkit_check, and every object only after its
 * entry and geometry passed shmkit_lookup.
 *
 * Errors beyond the usual errno values (ENOENT: no such segment or object;
 * EINVAL: a bad argument or name):
 */
#define SHMKIT_ENOTSHMKIT EPROTO          /* not a shmkit segment */
#define SHMKIT_EVERSION EPROTONOSUPPORT   /* a layout version this build does not read */
#define SHMKIT_ECORRUPT EUCLEAN           /* the segment contradicts itself */
#define SHMKIT_EKIND EMEDIUMTYPE          /* the object is of another kind or typecode */
#define SHMKIT_EENDED EPIPE               /* send on an ended channel, or a second end */
#define SHMKIT_ECLOSED SHMKIT_EENDED      /* the former name of SHMKIT_EENDED */
#define SHMKIT_EEOF ENODATA               /* receive on a closed, drained channel */
#define SHMKIT_EPEERDEAD ECONNRESET       /* every process on the other side died */
#define SHMKIT_ETOOLARGE EMSGSIZE         /* message longer than max_len */
#define SHMKIT_ESHORTBUF ENOBUFS          /* buffer shorter than the message (it stays queued) */
#define SHMKIT_EREADONLY EROFS            /* a call that writes, on a read-only attach */

/* Deadlines of channel operations: SHMKIT_FOREVER waits as long as it takes;
 * SHMKIT_NOWAIT tries once and returns EAGAIN if it must wait; any other
 * value is an absolute shmkit_now_ns() time, ETIMEDOUT after it. */
#define SHMKIT_FOREVER INT64_MAX
#define SHMKIT_NOWAIT 0

struct shmkit_segment {
	uint8_t *base;             /* the mapping */
	uint64_t size;             /* its length; equals the header's segment_size */
	uint32_t dir_capacity;     /* from the header, checked once */
	int fd;                    /* the segment's file; -1 if read-only or none (no allocation then) */
	int owned;                 /* 1 if attach or create mapped it: detach unmaps and closes */
};

/* A published object after validation. data points at the object in the
 * mapping; for a VALUE or ARRAY with SHMKIT_FLAG_LOCKED, lock points at its
 * recursive mutex, else lock is NULL. */
struct shmkit_object {
	char name[64];
	uint32_t kind;
	uint32_t typecode;
	uint32_t flags;
	uint64_t count;
	uint64_t offset;
	uint64_t length;
	uint64_t param0;
	uint64_t param1;
	void *data;
	void *lock;
	/* typecode 'T': the checked description, its fields at (desc + 1);
	 * elem_size is the element's size for every typecode. */
	const struct shmkit_struct_desc *desc;
	uint64_t elem_size;
};

/* shmkit_attach maps the segment named name ("foo" or "/foo") read-write,
 * or read-only if readonly, and checks it. */
int shmkit_attach(const char *name, int readonly, struct shmkit_segment *seg);
/* shmkit_create makes a new segment of size bytes with a directory of
 * capacity entries (0: 64, or as many as a quarter of a small segment
 * holds, as Go's Create), file mode mode (0: 0600); EEXIST if the name
 * is taken. It is written in full before it gets its name. */
int shmkit_create(const char *name, uint64_t size, uint32_t capacity, unsigned mode, struct shmkit_segment *seg);
/* shmkit_check checks memory the caller mapped (base, size bytes); fd is
 * its file, or -1. With a file, the header is read from it with pread, so
 * that a file truncated during the check is an error, not SIGBUS, and
 * objects can be created. */
int shmkit_check(void *base, uint64_t size, int fd, struct shmkit_segment *seg);
int shmkit_detach(struct shmkit_segment *seg);
/* shmkit_check_name checks a name of len bytes (so that a NUL inside it
 * is seen) by Go's rules: a segment's if object is 0 ("foo" or "/foo": not
 * empty, ".", ".." or longer than 255 bytes, no '/' or NUL after the
 * first '/', as shm.PosixName), else an object's (1..SHMKIT_NAME_MAX bytes
 * of UTF-8, no NUL). 0 or EINVAL. */
int shmkit_check_name(const char *name, uint64_t len, int object);
int shmkit_unlink(const char *name);

/* Creating objects, as the Go packages do. EEXIST if the name is taken,
 * ENOSPC if the segment or its directory is full. Each is initialised
 * before it is published. */
/* A VALUE (array 0, count 1) or ARRAY, holding a copy of init (count
 * elements) or zeroes if init is NULL. */
int shmkit_new_elems(struct shmkit_segment *seg, const char *name, int typecode, uint64_t count,
                     int array, int locked, const void *init, struct shmkit_object *out);
int shmkit_new_semaphore(struct shmkit_segment *seg, const char *name, unsigned value, int bounded,
                         struct shmkit_object *out);
int shmkit_new_mutex(struct shmkit_segment *seg, const char *name, int recursive, struct shmkit_object *out);
int shmkit_new_cond(struct shmkit_segment *seg, const char *name, struct shmkit_object *out);
int shmkit_new_event(struct shmkit_segment *seg, const char *name, struct shmkit_object *out);
int shmkit_new_barrier(struct shmkit_segment *seg, const char *name, uint32_t parties, struct shmkit_object *out); /* EINVAL: parties 0 or over INT32_MAX */
int shmkit_new_channel(struct shmkit_segment *seg, const char *name, int typecode, uint32_t slots,
                       uint32_t max_len, struct shmkit_object *out);
/* The same for one producer and one consumer (SHMKIT_FLAG_SPSC). */
int shmkit_new_spsc_channel(struct shmkit_segment *seg, const char *name, int typecode, uint32_t slots,
                            uint32_t max_len, struct shmkit_object *out);
/* The same with flags: SHMKIT_FLAG_SPSC and SHMKIT_FLAG_JOINABLE. */
int shmkit_new_channel_flags(struct shmkit_segment *seg, const char *name, int typecode, uint32_t slots,
                             uint32_t max_len, unsigned flags, struct shmkit_object *out);
/* The same for elements that are records: desc is a description followed
 * by its desc->fields field records (see struct shmkit_struct_desc); it is
 * checked (EINVAL) and copied into the object. */
int shmkit_new_struct_elems(struct shmkit_segment *seg, const char *name, const struct shmkit_struct_desc *desc,
                            uint64_t count, int array, int locked, const void *init, struct shmkit_object *out);
int shmkit_new_struct_channel(struct shmkit_segment *seg, const char *name, const struct shmkit_struct_desc *desc,
                              uint32_t slots, uint32_t max_len, unsigned flags, struct shmkit_object *out);
/* The element size a description gives, 0 if it is not valid. */
uint64_t shmkit_struct_size(const struct shmkit_struct_desc *desc);
/* shmkit_object_desc copies the description of o, a looked-up object of
 * typecode 'T', into buf (buf_bytes long) and checks the copy as the
 * lookup checked the segment's: read the fields from the copy, which no
 * other process can change. SHMKIT_ECORRUPT if the copy is not valid or
 * gives another element size than o->elem_size (a process changed it since
 * the lookup); ERANGE if it needs a larger buf (the description and its
 * fields: at most 64 + SHMKIT_FIELDS_MAX * 64 bytes); EINVAL if o holds no
 * records. */
int shmkit_object_desc(const struct shmkit_object *o, struct shmkit_struct_desc *buf, uint64_t buf_bytes);
/* Elements size of a typecode ('c', 'b', ... 'd', 'u'), or 0. */
unsigned shmkit_typecode_size(int typecode);

/* Atomic updates of one element of a value or array (elem points at it,
 * typecode is its entry's), as Go's RawValue.Add, CompareAndSwap and Swap do:
 * integers wrap around, floats are updated by compare-and-swap of their
 * bits. delta, old, new and out are of the element's C type ('u': uint32_t,
 * 'c': a byte). EINVAL for a bad typecode or a misaligned element. Plain
 * loads and stores of an aligned element are atomic too; a read-modify-write
 * like v = v + 1 is not, unless done under the object's lock. */
int shmkit_elem_add(void *elem, int typecode, const void *delta, void *out);
int shmkit_elem_cas(void *elem, int typecode, const void *old, const void *new_value, int *swapped);
int shmkit_elem_swap(void *elem, int typecode, const void *new_value, void *old_out);
/* The number of directory slots to look at with shmkit_object_at. */
uint32_t shmkit_object_slots(const struct shmkit_segment *seg);
/* Slot i: 0, ENOENT if not published, SHMKIT_ECORRUPT. */
int shmkit_object_at(const struct shmkit_segment *seg, uint32_t i, struct shmkit_object *out);
/* By name; kind 0 accepts any kind, typecode 0 any typecode. */
int shmkit_lookup(const struct shmkit_segment *seg, const char *name, uint32_t kind, int typecode,
                  struct shmkit_object *out);
int64_t shmkit_now_ns(void); /* CLOCK_MONOTONIC, for deadlines */
/* sizeof struct shmkit_segment, shmkit_object, shmkit_chan: bindings in
 * other languages compare them with their own declarations. */
void shmkit_api_sizes(uint64_t sizes[3]);
const char *shmkit_strerror(int rc);

/* A process's handle on a channel (see struct shmkit_channel). For an SPSC
 * channel, each side of a handle is used by one thread at a time. */
struct shmkit_chan {
	struct shmkit_channel *h;
	uint8_t *slots_base;       /* the first slot; SPSC: the ring */
	uint64_t slots;
	uint64_t stride;
	uint32_t max_len;
	uint32_t elem_size;
	uint32_t pid;
	int send_registered;
	int recv_registered;
	int spsc;                  /* SHMKIT_FLAG_SPSC: the fields below are used */
	uint64_t cap;              /* the ring's bytes */
	uint64_t token;            /* this handle's lease */
	uint64_t tail;             /* the producer's position */
	uint64_t head_seen;        /* the consumer's position, as the producer last read it */
	uint64_t head;             /* the consumer's position */
	int send_leased, recv_leased, eof;
	uint32_t recv_stale, send_stale; /* sleeper words found to hold only killed sleepers */
	int joinable;              /* SHMKIT_FLAG_JOINABLE */
	int readonly;              /* mapped read-only: every call that writes returns SHMKIT_EREADONLY */
};

int shmkit_chan_open(const struct shmkit_segment *seg, const char *name, int typecode, struct shmkit_chan *ch);
/* On a read-only attach, open succeeds and shmkit_chan_len works; every
 * call that would write (send, recv, end, register, task_done, join)
 * returns SHMKIT_EREADONLY. */
/* Sends and receives on an SPSC channel also return SHMKIT_EINUSE (EBUSY)
 * while another live handle holds that side, and ENOSYS where membarrier(2)
 * is not available. */
#define SHMKIT_EINUSE EBUSY
/* Send n elements from data. SHMKIT_EENDED, SHMKIT_ETOOLARGE, ETIMEDOUT,
 * SHMKIT_EPEERDEAD. */
int shmkit_chan_send(struct shmkit_chan *ch, const void *data, uint32_t n, int64_t deadline_ns);
/* Receive into buf (room for cap elements); *n gets the length. After
 * close: the queued messages, then SHMKIT_EEOF. */
int shmkit_chan_recv(struct shmkit_chan *ch, void *buf, uint32_t cap, uint32_t *n, int64_t deadline_ns);
/* Streams of single values (Go's Writer.SendValues and RecvValues): each
 * of count elements at data is sent as a message of one element; on an
 * SPSC channel the records that fit are published by one release store.
 * *sent gets how many were sent before any error (those are sent). Errors
 * are shmkit_chan_send's. */
int shmkit_chan_send_values(struct shmkit_chan *ch, const void *data, uint64_t count, uint64_t *sent,
                            int64_t deadline_ns);
/* Receives into buf (room for cap elements) every one-element message that
 * is queued, waiting for the first; *n gets how many. A longer message
 * ends the batch and stays queued (SHMKIT_ESHORTBUF if it is the first); an
 * empty one is taken and ends the batch (*n is 0 if it was the first). On
 * a joinable channel it takes one message a call (one task_done owed per
 * call). Errors are shmkit_chan_recv's. */
int shmkit_chan_recv_values(struct shmkit_chan *ch, void *buf, uint64_t cap, uint64_t *n, int64_t deadline_ns);
/* Ends the stream for every process (Go's End): sends fail, receivers get
 * what is queued, then SHMKIT_EEOF. SHMKIT_EENDED if already ended. */
int shmkit_chan_end(struct shmkit_chan *ch);
/* Lets go of this handle and never ends the stream: on an SPSC channel it
 * gives back the sides the handle holds, so another handle may take them at
 * once. The handle stays usable. */
void shmkit_chan_close(struct shmkit_chan *ch);
/* Joinable channels: mark one received message done (EINVAL if no received
 * message is unfinished, ENOTSUP on another channel); wait until nothing is
 * queued and every message received is done (0, ETIMEDOUT at the deadline,
 * or SHMKIT_EPEERDEAD if messages are queued and every receiver died). */
int shmkit_chan_task_done(struct shmkit_chan *ch);
int shmkit_chan_join(struct shmkit_chan *ch, int64_t deadline_ns);
/* Record this process as a sender (or receiver) now, not at its first send. */
int shmkit_chan_register(struct shmkit_chan *ch, int sender);
/* Record process pid as a sender (or receiver) on its behalf, before it
 * runs: a program this one starts. If it dies, whether or not it ever
 * opened the channel, the other side's waits report SHMKIT_EPEERDEAD as if
 * it had registered. EINVAL for pid <= 0. */
int shmkit_chan_expect(struct shmkit_chan *ch, int sender, int32_t pid);
uint64_t shmkit_chan_len(const struct shmkit_chan *ch);

/* ===================================================================== */
/* Shared dicts and lists (SHMKIT_KIND_DICT, SHMKIT_KIND_LIST)           */
/* ===================================================================== */
/*
 * A dict or list is a small reference in the segment's directory, struct
 * shmkit_dict_ref, naming a file of its own in /dev/shm, its heap, which
 * grows (doubling) as keys are added. Every attached process maps the heap
 * into a reservation of SHMKIT_DICT_HEAP_MAX bytes of address space and
 * maps more of it when it meets an offset past what it mapped, so growth
 * never moves what a reader is looking at.
 *
 * The heap starts with struct shmkit_dict_heap, then holds blocks, each
 * starting with struct shmkit_dict_block and a multiple of 8 bytes long,
 * end to end from SHMKIT_DICT_HEAP_START up to heap.cursor:
 *   - items: one key and one value, each a tag (SHMKIT_TAG_*) and bytes;
 *   - the dict's table: open addressing, linear probing, 16-byte slots
 *     (struct shmkit_dict_slot), a power of two of them;
 *   - the list's array: the offsets of its items, in order;
 *   - free blocks, on per-size free lists (heap.free_heads) until reused.
 *     Before it takes new space at the cursor, a writer merges neighbouring
 *     free blocks if heap.freed (bytes freed since the last merge) is at
 *     least an eighth of the blocks' bytes.
 *
 * Writers serialise on heap.lock, a robust process-shared mutex. An item
 * is written in full in a block no reader can reach, then published by one
 * aligned 8-byte store of its offset (a dict slot's ref, a list array's
 * entry); a table or array that changes shape is built aside and published
 * by one store of heap.table. A value of at most 8 bytes replaced by one of
 * the same tag and length is overwritten in place instead, inside the
 * slot's seqlock, after its old bytes, the slot and its seq are noted in
 * heap.undo_note and undo_val, in the lock's cache line. So a writer
 * killed at any instruction leaves every key with its old or its new
 * value. The next writer gets EOWNERDEAD and repairs: it
 * puts back an overwrite left half done (its seq still odd), closes every
 * seqlock left odd, recounts, and rebuilds the free lists from the blocks
 * the table reaches (see docs/design.md).
 *
 * Readers take no lock. A dict slot is a seqlock: a writer makes seq odd,
 * changes ref and hash (or the value in place), makes seq even; a reader loads seq, reads the item,
 * and retries if seq changed. heap.gen is the same for the table (dict) or
 * for the whole list. After a few retries (or a seq left odd by a killed
 * writer) a reader takes the lock. Every offset is checked against the
 * mapping before it is followed: a hostile heap gives SHMKIT_ECORRUPT.
 */
#define SHMKIT_KIND_DICT 12u         /* struct shmkit_dict_ref: a hash map */
#define SHMKIT_KIND_LIST 13u         /* struct shmkit_dict_ref: a sequence */
#define SHMKIT_DICT_MAGIC 0x544349444B4D4853ULL /* "SHMKDICT" read as little-endian */
#define SHMKIT_DICT_VERSION 4u
#define SHMKIT_DICT_HEAP_START 2048u /* the first block */
#define SHMKIT_DICT_HEAP_MAX (1ull << 36) /* address space reserved per handle */
#define SHMKIT_DICT_CLASSES 224u     /* free lists: sizes 16..1024 by 8 (0..126), then [1032, 2048), [2048, 4096) ... [2^31] (127..148), unused */
#define SHMKIT_DICT_KEY_MAX (1u << 20)   /* bytes of an encoded key */
#define SHMKIT_DICT_VALUE_MAX (1u << 30) /* bytes of an encoded value */
#define SHMKIT_DICT_NAME_MAX 191     /* heap file name bytes, without the NUL */

/* Tags of keys and values: one encoding for every language.
 * NONE: no bytes. BOOL: 1 byte, 0 or 1 (any other is EINVAL). INT: int64, 8 bytes little-endian.
 * FLOAT: IEEE 754 binary64, 8 bytes little-endian. STR: UTF-8. BYTES: any
 * bytes. PICKLE: a Python pickle (Go and C see bytes). RECORD (values
 * only): a C struct described as a record object describes it, the
 * description first (struct shmkit_struct_desc, then its desc.fields
 * struct shmkit_field records), then desc.size bytes of the record;
 * shmkit_dict_set and the list's setters refuse (EINVAL) one whose
 * description is not valid or whose length is not the description's plus
 * desc.size. Keys are equal when tag and bytes are equal (so 1 and 1.0 are
 * two keys). ABSENT is not stored: CompareAndSwap's "no such key". */
#define SHMKIT_TAG_NONE 0u
#define SHMKIT_TAG_BOOL 1u
#define SHMKIT_TAG_INT 2u
#define SHMKIT_TAG_FLOAT 3u
#define SHMKIT_TAG_STR 4u
#define SHMKIT_TAG_BYTES 5u
#define SHMKIT_TAG_PICKLE 6u
#define SHMKIT_TAG_RECORD 7u
#define SHMKIT_TAG_MAX 7u
#define SHMKIT_TAG_ABSENT 255u

/* Block types (struct shmkit_dict_block.type). */
#define SHMKIT_BLOCK_FREE 0u
#define SHMKIT_BLOCK_ITEM 1u
#define SHMKIT_BLOCK_TABLE 2u
#define SHMKIT_BLOCK_ARRAY 3u

/* Slot refs below SHMKIT_DICT_HEAP_START: */
#define SHMKIT_SLOT_EMPTY 0u
#define SHMKIT_SLOT_TOMB 1u          /* a deleted key: probing goes on past it */

/* In the segment: the object a directory entry of kind DICT or LIST points at. */
struct shmkit_dict_ref {
	char heap_name[192];       /*   0: the heap's name in /dev/shm, [A-Za-z0-9._-], NUL-terminated */
	uint64_t heap_id;          /* 192: random at creation; equals the heap's id */
	uint32_t kind;             /* 200: SHMKIT_KIND_DICT or SHMKIT_KIND_LIST, as the entry's */
	uint32_t reserved0;        /* 204 */
	uint64_t reserved[6];      /* 208 */
};

/* At the start of the heap file. */
/* The dict's writer lock: a pthread_mutex_t (40 bytes on amd64, 48 on
 * arm64) in 48 bytes, so that the undo note after it shares its cache line,
 * which every write moves to the writer anyway. */
typedef union { pthread_mutex_t mutex; uint8_t bytes[48]; } shmkit_dict_mutex;

struct shmkit_dict_heap {
	uint64_t magic;            /*   0: SHMKIT_DICT_MAGIC, stored last at creation */
	uint32_t version;          /*   8: SHMKIT_DICT_VERSION */
	uint32_t kind;             /*  12: SHMKIT_KIND_DICT or SHMKIT_KIND_LIST */
	uint64_t id;               /*  16: the reference's heap_id */
	uint64_t size;             /*  24: bytes of the file allocated (fallocate) and usable (atomic) */
	uint64_t cursor;           /*  32: end of the last block, 8-aligned, <= size */
	uint64_t table;            /*  40: the table (dict) or array (list) block; atomic, published last */
	uint64_t count;            /*  48: live keys (dict); informational for a list */
	uint64_t gen;              /*  56: seqlock, odd while table is replaced or the list changes */
	shmkit_dict_mutex lock;    /*  64: robust, process-shared, error-checking; writers hold it */
	uint64_t undo_note;        /* 112: an overwrite in place under way: the slot's seq before it << 32 | its index + 1; 0 if none */
	uint64_t undo_val;         /* 120: the value's bytes before the overwrite (at most 8); in the lock's cache line */
	uint64_t used;             /* 128: bytes of blocks in use */
	uint64_t tombstones;       /* 136: TOMB slots in the table */
	uint64_t recoveries;       /* 144: times a dead writer's work was repaired */
	uint64_t freed;            /* 152: bytes freed since free neighbours were last merged */
	uint64_t nonempty[3];      /* 160: bit c set if free_heads[c] may be non-zero (a hint, rebuilt by a merge) */
	uint32_t pid_ns;           /* 184: the pid namespace (inode of /proc/self/ns/pid) of its creator (0: made by a build before it was recorded) */
	uint32_t mixed_ns;         /* 188: 1 once a writable attach of another pid namespace, or of an unknown one, was made, or one to a heap with pid_ns 0: no writer lock holder is judged dead by its id */
	uint64_t reserved[8];      /* 192 */
	uint64_t free_heads[SHMKIT_DICT_CLASSES]; /* 256: first free block of each size class, 0 if none */
};

/* At the start of every block. A free block keeps the next free block's
 * offset in key_len/val_len's 8 bytes (next). */
struct shmkit_dict_block {
	uint32_t size;             /*   0: bytes of the block, this header included; a multiple of 8, >= 16 */
	uint8_t type;              /*   4: SHMKIT_BLOCK_* */
	uint8_t key_tag;           /*   5: ITEM: the key's SHMKIT_TAG_* */
	uint8_t val_tag;           /*   6: ITEM: the value's SHMKIT_TAG_* */
	uint8_t reserved;          /*   7 */
	uint32_t key_len;          /*   8: ITEM: key bytes, which follow at 16 */
	uint32_t val_len;          /*  12: ITEM: value bytes, which follow the key */
};

/* A TABLE block: the header, then cap (a power of two) at 16, zero at 24,
 * then cap slots from 32. An ARRAY block: the header, cap at 16, len at 24
 * (atomic: an append writes the entry, then len), then cap item offsets
 * (uint64_t) from 32. */
struct shmkit_dict_slot {
	uint32_t seq;              /*   0: seqlock: odd while the slot changes */
	uint32_t hash;             /*   4: the key's hash >> 32, to skip other keys */
	uint64_t ref;              /*   8: the item, or SHMKIT_SLOT_EMPTY, SHMKIT_SLOT_TOMB (atomic) */
};

SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_dict_ref) == 256, "dict reference is 256 bytes");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_dict_heap) == SHMKIT_DICT_HEAP_START, "heap header fills its 2048 bytes");
SHMKIT_STATIC_ASSERT(sizeof(pthread_mutex_t) <= 48, "the dict's mutex fits before its undo note");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_dict_block) == 16, "block header is 16 bytes");
SHMKIT_STATIC_ASSERT(sizeof(struct shmkit_dict_slot) == 16, "slot is 16 bytes");

/* A process's handle on a dict or list (shmkit.c); any number of threads
 * may use one at once. */
struct shmkit_dict;

/* shmkit_new_dict makes a dict (list 0) or list (list 1) named name, its
 * heap named after prefix (NULL: "shmkit"): prefix.name.<random hex>. */
int shmkit_new_dict(struct shmkit_segment *seg, const char *name, const char *prefix, int list,
                    struct shmkit_object *out);
/* shmkit_dict_init writes a new reference into mem (len bytes, zeroed),
 * creating its heap with file mode mode (0: 0600; shmkit_new_dict gives
 * the segment's): for bindings that allocate the object themselves. */
int shmkit_dict_init(void *mem, uint64_t len, const char *prefix, const char *name, int list, unsigned mode);
/* Open by name (kind: SHMKIT_KIND_DICT, SHMKIT_KIND_LIST or 0 for either),
 * or from a reference already looked up; readonly maps the heap read-only. */
int shmkit_dict_open(const struct shmkit_segment *seg, const char *name, uint32_t kind, int readonly,
                     struct shmkit_dict **out);
int shmkit_dict_attach(const void *ref, uint64_t len, int readonly, struct shmkit_dict **out);
void shmkit_dict_close(struct shmkit_dict *d);
/* Removes the heap file of the reference (the dict's storage): the
 * reference stays in the segment and can no longer be opened. */
int shmkit_dict_unlink(const void *ref, uint64_t len);
uint32_t shmkit_dict_kind(const struct shmkit_dict *d);
/* For bindings that read the heap themselves (Go's dict reader): the
 * start of the handle's reservation and the bytes mapped from it, which
 * only grow (load *mapped atomically). Valid until shmkit_dict_close. */
void shmkit_dict_mapping(const struct shmkit_dict *d, const void **base, const uint64_t **mapped);
/* Test hook: the hash a key is placed by (its tag and bytes). */
uint64_t shmkit_dict_test_hash(int tag, const void *key, uint64_t len);

/* Dict operations. A key or value is a tag and bytes. An operation that
 * returns a value copies it into buf (cap bytes) and sets *tag and *len;
 * SHMKIT_ESHORTBUF with *len set if it does not fit (nothing changed).
 * ENOENT: no such key. EINVAL: a bad tag or length. ENOSPC: the heap cannot
 * grow. SHMKIT_EKIND: a dict operation on a list or the reverse, or add on
 * a value that is not an INT. EBADF: a write through a read-only handle. */
int shmkit_dict_get(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int *tag, void *buf,
                    uint64_t cap, uint64_t *len);
int shmkit_dict_set(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int vtag, const void *val,
                    uint64_t vlen);
/* shmkit_dict_get and shmkit_dict_set for bindings that pay for every
 * argument and pointer: every argument an int or a pointer, so that
 * Python's ctypes can call them without argument conversion. lookup gives
 * the value's length << 8 | its tag, or -errno; if the value does not fit,
 * -SHMKIT_ESHORTBUF and its length in buf's first 8 bytes (cap >= 8, else
 * -EINVAL). store and add_int return as shmkit_dict_set and
 * shmkit_dict_add. A NULL handle (closed) is EINVAL. */
int64_t shmkit_dict_lookup(struct shmkit_dict *d, int ktag, const void *key, int klen, void *buf, int cap);
int shmkit_dict_store(struct shmkit_dict *d, int ktag, const void *key, int klen, int vtag, const void *val, int vlen);
int shmkit_dict_add_int(struct shmkit_dict *d, int ktag, const void *key, int klen, int delta, int64_t *out);

int shmkit_dict_delete(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen);
/* Stores the value unless the key has one; *loaded 1 and the old value in
 * buf if it had. */
int shmkit_dict_load_or_store(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int vtag,
                              const void *val, uint64_t vlen, int *loaded, int *tag, void *buf, uint64_t cap,
                              uint64_t *len);
/* Replaces the value if it is otag/old (otag SHMKIT_TAG_ABSENT: if the
 * key has none); ntag SHMKIT_TAG_ABSENT deletes. *swapped says if it did. */
int shmkit_dict_cas(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int otag, const void *old,
                    uint64_t olen, int ntag, const void *nval, uint64_t nlen, int *swapped);
/* INT value += delta (an absent key counts as 0); *out the new value.
 * SHMKIT_EKIND if the value is not an INT; EOVERFLOW, the value unchanged,
 * if the sum does not fit an int64. */
int shmkit_dict_add(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int64_t delta, int64_t *out);
int shmkit_dict_len(struct shmkit_dict *d, uint64_t *n);
int shmkit_dict_clear(struct shmkit_dict *d); /* dicts and lists */
/* Iteration: start with *pos = 0 and *gen = 0; each call gives the next
 * item and moves *pos, ENOENT at the end. If the table was replaced
 * since the last call (growth, clear), iteration starts again from the
 * first slot with *restarted = 1: the caller skips keys it has seen. */
int shmkit_dict_next(struct shmkit_dict *d, uint64_t *pos, uint64_t *gen, int *restarted, int *ktag, void *kbuf,
                     uint64_t kcap, uint64_t *klen, int *vtag, void *vbuf, uint64_t vcap, uint64_t *vlen);

/* List operations. ERANGE: an index past the end. */
int shmkit_list_len(struct shmkit_dict *d, uint64_t *n);
int shmkit_list_get(struct shmkit_dict *d, uint64_t i, int *tag, void *buf, uint64_t cap, uint64_t *len);
int shmkit_list_set(struct shmkit_dict *d, uint64_t i, int vtag, const void *val, uint64_t vlen);
int shmkit_list_append(struct shmkit_dict *d, int vtag, const void *val, uint64_t vlen);
int shmkit_list_insert(struct shmkit_dict *d, uint64_t i, int vtag, const void *val, uint64_t vlen); /* i >= len appends */
/* Removes item i; its value into buf (cap 0 and buf NULL: dropped).
 * SHMKIT_ECORRUPT, the item left in place, if its value is one no write
 * may store (scribbled) and buf is not NULL. */
int shmkit_list_pop(struct shmkit_dict *d, uint64_t i, int *tag, void *buf, uint64_t cap, uint64_t *len);
/* Removes item i if its value is vtag/val (same tag and bytes); *popped
 * says if it did: a remove by value that found i by reading the list. */
int shmkit_list_pop_if(struct shmkit_dict *d, uint64_t i, int vtag, const void *val, uint64_t vlen, int *popped);
int shmkit_list_reverse(struct shmkit_dict *d);
/* get, set, pop and insert with the index counted from the end of the list
 * as it is under the call's lock, as Python's negative indexes: k = 1 is
 * the last item (ERANGE if k is 0 or more than the length); insert_end
 * puts the value before the k-th item from the end (k = 0 appends, k >=
 * the length inserts at the start). A length read in a call before may be
 * out of date by then, when other processes insert or pop. */
int shmkit_list_get_end(struct shmkit_dict *d, uint64_t k, int *tag, void *buf, uint64_t cap, uint64_t *len);
int shmkit_list_set_end(struct shmkit_dict *d, uint64_t k, int vtag, const void *val, uint64_t vlen);
int shmkit_list_pop_end(struct shmkit_dict *d, uint64_t k, int *tag, void *buf, uint64_t cap, uint64_t *len);
int shmkit_list_insert_end(struct shmkit_dict *d, uint64_t k, int vtag, const void *val, uint64_t vlen);

struct shmkit_dict_stats {
	uint64_t count;            /* keys, or the list's length */
	uint64_t slots;            /* table slots (dict) or array room (list) */
	uint64_t heap_size;        /* bytes of the heap file */
	uint64_t used;             /* bytes in blocks in use, headers included */
	uint64_t recoveries;       /* repairs after a killed writer */
};
int shmkit_dict_stats(struct shmkit_dict *d, struct shmkit_dict_stats *out);
/* Test hook: lock the writer mutex and return without unlocking, as a writer
 * killed while holding it would. Only for tests that then exit. */
int shmkit_dict_test_lock(struct shmkit_dict *d);
/* Test hook: set an INT value in place as a writer killed inside would
 * leave it: stage 1 with its seqlock odd and half the bytes written,
 * stage 2 with all written but the undo note kept. The lock stays held. */
int shmkit_dict_test_overwrite(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int64_t val,
                               int stage);

/*
 * Queues of byte messages of any length up to a limit (Go's package queue,
 * Python's seg.new_queue): five objects, the channel NAME of 'B' whose
 * every message is a part, the robust mutexes NAME.send and NAME.recv, and
 * the values NAME.max ('Q': the limit) and NAME.len ('q': whole messages
 * queued). A part is SHMKIT_QUEUE_HEADER bytes, flags then the whole
 * message's length (two little-endian uint32), then up to max_len - 8
 * bytes of it. A sender holds NAME.send over all parts of one message, a
 * receiver NAME.recv while it takes them. A first part always begins a
 * message (parts before it belong to a sender that died); a part that is
 * not first, while no message is being assembled, is dropped (its receiver
 * died). See docs/channel.md.
 */
#define SHMKIT_QUEUE_HEADER 8u
#define SHMKIT_QUEUE_FIRST 1u
#define SHMKIT_QUEUE_LAST 2u

struct shmkit_queue {
	struct shmkit_chan ch;
	void *send_lock, *recv_lock; /* the mutexes */
	int64_t *queued;
	uint64_t limit;
	uint8_t *part;             /* a slot-sized buffer, malloc'd by open */
};

/* A pipe (Go's channel.NewPipe, Python's seg.new_pipe): the channel
 * NAME.0 of typecode, and with duplex NAME.1, each of slots messages of up
 * to max_len elements. EEXIST if NAME.1 is taken, ENOSPC if the two do not
 * both fit: found before anything is made, so a refused pipe leaves
 * nothing (unless another process allocates or takes NAME.1 between the
 * look and the two allocations). The ends are opened with shmkit_chan_open. */
int shmkit_new_pipe(struct shmkit_segment *seg, const char *name, int typecode, uint32_t slots, uint32_t max_len,
                    int duplex);

/* EINVAL: slots of slot_bytes <= SHMKIT_QUEUE_HEADER, a limit over
 * UINT32_MAX, or a name too long for its derived names; EEXIST: one of
 * them is taken; ENOSPC: the five objects do not all fit. Each is found
 * before anything is made, so a refused queue leaves nothing. */
int shmkit_new_queue(struct shmkit_segment *seg, const char *name, uint32_t slots, uint32_t slot_bytes,
                     uint64_t max_message);
int shmkit_queue_open(const struct shmkit_segment *seg, const char *name, struct shmkit_queue *q);
/* Send len bytes: SHMKIT_ETOOLARGE over the limit. deadline_ns bounds the
 * wait for room for the first part (SHMKIT_NOWAIT: every part must fit at
 * once, else EAGAIN and nothing is sent); the rest follows without one. */
int shmkit_queue_send(struct shmkit_queue *q, const void *msg, uint64_t len, int64_t deadline_ns);
/* Receive the next message into a malloc'd *msg of *len bytes (the caller
 * frees it); deadline_ns bounds the wait for its first part. A message
 * whose sender died inside it is dropped (the send lock free or owner-dead,
 * nothing queued), and the wait goes on to deadline_ns. SHMKIT_EEOF
 * after the end, drained (a message the end cut off is dropped);
 * SHMKIT_ECORRUPT for parts that contradict. */
int shmkit_queue_recv(struct shmkit_queue *q, void **msg, uint64_t *len, int64_t deadline_ns);
/* On a read-only attach, send and recv return SHMKIT_EREADONLY. */
void shmkit_queue_close(struct shmkit_queue *q);

/* Process pools (see "A process pool" above). shmkit_new_pool makes the
 * worker table of a pool of workers slots, named name (drivers use "pool"),
 * owned by parent_pid: for a driver in another language. EINVAL for 0 or
 * too many workers. */
int shmkit_new_pool(struct shmkit_segment *seg, const char *name, uint32_t workers, int32_t parent_pid,
                    struct shmkit_object *out);

/* A task a C worker serves. fn gets the task's encoded input (in_len
 * bytes) and writes its result into out, which has room for *out_len
 * bytes, setting *out_len to the result's length; it returns 0, or nonzero
 * with a message in err (err_len bytes, to be NUL-terminated) for that
 * task's error. A result longer than the room: set *out_len to its length
 * and return 0, and the task's answer is SHMKIT_POOL_TOOLARGE. in and out name the encodings, as a program's task list
 * gives them (SHMKIT_POOL_TASKS_ROLE); NULL is "bytes". */
struct shmkit_pool_task {
	const char *name;
	const char *in;
	const char *out;
	int (*fn)(void *arg, const void *in, size_t in_len, void *out, size_t *out_len, char *err, size_t err_len);
	void *arg;
};

/* An initializer a C worker runs once before its first task (Python's
 * initializer and initargs): fn gets the driver's initargs as strings and
 * returns 0, or nonzero with a message in err (err_len bytes, to be
 * NUL-terminated), and then the worker exits without serving. */
struct shmkit_pool_init {
	const char *name;
	int (*fn)(void *arg, int argc, char **args, char *err, size_t err_len);
	void *arg;
};

/* shmkit_pool_serve serves a pool as a worker, from main's argc and argv as
 * a driver gives them, running inits[0..ninits) by the name the driver
 * gives, then tasks[0..n) by name until the driver lets it go; started in
 * SHMKIT_POOL_TASKS_ROLE it prints the task and initializer lists instead.
 * It returns main's exit status: 0 when let go or after listing, 1 if the
 * pool's objects are unusable (a message on stderr), 4 if the initializer
 * is unknown or fails (a message on stderr). */
int shmkit_pool_serve(int argc, char **argv, const struct shmkit_pool_task *tasks, size_t n,
                      const struct shmkit_pool_init *inits, size_t ninits);
/* shmkit_pool_main is shmkit_pool_serve with no initializers. */
int shmkit_pool_main(int argc, char **argv, const struct shmkit_pool_task *tasks, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_H */
