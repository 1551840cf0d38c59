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
 * that are not READY. Allocation is serialised between processes by an
 * exclusive flock(2) on the segment's file, which the kernel releases when a
 * holder dies.
 */
#ifndef SHMKIT_H
#define SHMKIT_H

#include <stdint.h>
#include <pthread.h>
#include <semaphore.h>

#define SHMKIT_MAGIC 0x000054494B4D4853ULL /* "SHMKIT\0\0" read as little-endian */
#define SHMKIT_VERSION 1u
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
#define SHMKIT_KIND_BOUNDED 5u    /* struct shmkit_semaphore, bound in param0 */
#define SHMKIT_KIND_MUTEX 6u      /* struct shmkit_mutex, error-checking */
#define SHMKIT_KIND_RMUTEX 7u     /* struct shmkit_mutex, recursive */
#define SHMKIT_KIND_COND 8u       /* struct shmkit_cond */
#define SHMKIT_KIND_EVENT 9u      /* struct shmkit_event */
#define SHMKIT_KIND_BARRIER 10u   /* struct shmkit_barrier */
#define SHMKIT_KIND_CHANNEL 11u   /* reserved for the channel ring */

/* Entry flags. */
#define SHMKIT_FLAG_LOCKED 0x01u  /* VALUE/ARRAY: a pthread_mutex_t (recursive,
                                     robust, process-shared) follows the data
                                     at offset + align64(count * elem size) */

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
	uint8_t reserved[72];  /* 56: zero; room to grow */
};

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
	uint8_t reserved[16];  /* 112: zero */
};

/*
 * Synchronisation objects. C primitives sit in 64-byte slots, so offsets are
 * the same on every 64-bit Linux whatever sizeof(sem_t) and
 * sizeof(pthread_mutex_t) are there. Words marked "futex" are 32-bit words
 * that waiters sleep on with FUTEX_WAIT (shared, not private) and that
 * changers wake with FUTEX_WAKE after changing them.
 */
typedef union { sem_t sem; uint8_t bytes[64]; } shmkit_sem_slot;
typedef union { pthread_mutex_t mutex; uint8_t bytes[64]; } shmkit_mutex_slot;

/* SHMKIT_KIND_SEMAPHORE: a process-shared sem_t. */
struct shmkit_semaphore {
	shmkit_sem_slot sem;       /*   0 */
};

/* SHMKIT_KIND_BOUNDED: a sem_t whose value never exceeds bound. A release
 * takes lock, reads the value, and posts only below the bound. */
struct shmkit_bounded {
	shmkit_sem_slot sem;       /*   0 */
	shmkit_mutex_slot lock;    /*  64: robust, process-shared */
	uint32_t bound;            /* 128 */
	uint8_t reserved[60];
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

_Static_assert(sizeof(struct shmkit_header) == 128, "header is 128 bytes");
_Static_assert(sizeof(struct shmkit_entry) == 128, "entry is 128 bytes");
_Static_assert(sizeof(shmkit_sem_slot) == 64, "sem_t fits a cache line");
_Static_assert(sizeof(shmkit_mutex_slot) == 64, "pthread_mutex_t fits a cache line");
_Static_assert(sizeof(struct shmkit_bounded) == 192, "bounded semaphore is 192 bytes");
_Static_assert(sizeof(struct shmkit_barrier) == 128, "barrier is 128 bytes");

/*
 * Operations (shmkit.c). Each returns 0 or a positive errno value; none
 * leaves errno meaningful. Blocking calls retry after EINTR. Deadlines are
 * absolute CLOCK_MONOTONIC times in nanoseconds.
 */
int shmkit_sem_init(void *sem, unsigned value);
int shmkit_sem_wait(void *sem);
int shmkit_sem_trywait(void *sem);                        /* EAGAIN if zero */
int shmkit_sem_timedwait(void *sem, int64_t deadline_ns); /* ETIMEDOUT */
int shmkit_sem_post(void *sem);
int shmkit_sem_getvalue(void *sem, int *value);
int shmkit_bounded_post(struct shmkit_bounded *b);        /* ERANGE at the bound */

int shmkit_nsem_open(const char *name, int create, unsigned mode, unsigned value, sem_t **out);
int shmkit_nsem_close(sem_t *sem);
int shmkit_nsem_unlink(const char *name);

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

#endif /* SHMKIT_H */
