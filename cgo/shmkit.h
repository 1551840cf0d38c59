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

#endif /* SHMKIT_H */
