/*
 * shmkit.c - process-shared primitives over memory in a shmkit segment.
 * Plain C: cgo compiles a copy into package internal/cbind, the Python
 * package compiles another, and a C program can compile it
 * directly (cc prog.c shmkit.c -lpthread). See shmkit.h for the contract.
 */
#define _GNU_SOURCE
#include "shmkit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct timespec to_timespec(int64_t ns) {
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	return ts;
}

/* sem_* report through errno. */
static int sem_rc(int rc) { return rc == 0 ? 0 : errno; }

/* nsem_impossible says whether a named semaphore's file holds what glibc
 * never leaves there (another process scribbled it): a value past
 * SEM_VALUE_MAX, or a futex flag word other than a process-shared
 * semaphore's, with which glibc aborts the process at the next post or
 * wait ("The futex facility returned an unexpected error code"). glibc's
 * 64-bit layout: a u64 of value (low half) and waiters, then the flag
 * word, whose right value is read from a semaphore made here rather than
 * copied from glibc. Elsewhere nothing is checked. */
static int nsem_impossible(sem_t *sem) {
#if defined(__GLIBC__) && __SIZEOF_POINTER__ == 8
	static int shared_flag = -2; /* -2: not yet read; -1: unknown */
	int flag = __atomic_load_n(&shared_flag, __ATOMIC_RELAXED);
	if (flag == -2) {
		sem_t probe;
		flag = -1;
		if (sizeof probe >= 12 && sem_init(&probe, 1, 0) == 0) {
			memcpy(&flag, (unsigned char *)&probe + 8, sizeof flag);
			sem_destroy(&probe);
		}
		__atomic_store_n(&shared_flag, flag, __ATOMIC_RELAXED);
	}
	uint64_t data = __atomic_load_n((uint64_t *)(void *)sem, __ATOMIC_RELAXED);
	int word = __atomic_load_n((int *)(void *)((unsigned char *)sem + 8), __ATOMIC_RELAXED);
	return (data & 0xFFFFFFFFu) > (uint64_t)SEM_VALUE_MAX || (flag >= 0 && word != flag);
#else
	(void)sem;
	return 0;
#endif
}

int shmkit_nsem_open(const char *name, int create, unsigned mode, unsigned value, sem_t **out) {
	sem_t *s = create ? sem_open(name, O_CREAT | O_EXCL, (mode_t)mode, value) : sem_open(name, 0);
	if (s == SEM_FAILED) {
		return errno;
	}
	if (name[0] == '/' && strlen(name) < 240) {
		/* glibc keeps "/NAME" as /dev/shm/sem.NAME. */
		char path[256];
		snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
		struct stat st;
		if (create) {
			chmod(path, (mode_t)mode); /* sem_open applies the umask; set the bits exactly, as shm create does */
		} else if (stat(path, &st) == 0 && st.st_size < (off_t)sizeof(sem_t)) {
			/* sem_open maps a file of any length: one shorter than a
			 * semaphore would fault (SIGBUS) at the first use. */
			sem_close(s);
			return SHMKIT_ECORRUPT;
		}
	}
	if (!create && nsem_impossible(s)) {
		sem_close(s);
		return SHMKIT_ECORRUPT;
	}
	*out = s;
	return 0;
}

int shmkit_nsem_close(sem_t *sem) { return sem_rc(sem_close(sem)); }

int shmkit_nsem_unlink(const char *name) { return sem_rc(sem_unlink(name)); }

int shmkit_nsem_wait(sem_t *sem) {
	if (nsem_impossible(sem)) {
		return SHMKIT_ECORRUPT;
	}
	int rc;
	while ((rc = sem_rc(sem_wait(sem))) == EINTR) {
	}
	return rc;
}

int shmkit_nsem_trywait(sem_t *sem) {
	if (nsem_impossible(sem)) {
		return SHMKIT_ECORRUPT;
	}
	int rc;
	while ((rc = sem_rc(sem_trywait(sem))) == EINTR) {
	}
	return rc;
}

int shmkit_nsem_timedwait(sem_t *sem, int64_t deadline_ns) {
	if (nsem_impossible(sem)) {
		return SHMKIT_ECORRUPT;
	}
	struct timespec ts = to_timespec(deadline_ns);
	int rc;
	while ((rc = sem_rc(sem_clockwait(sem, CLOCK_MONOTONIC, &ts))) == EINTR) {
	}
	return rc;
}

int shmkit_nsem_post(sem_t *sem) { return nsem_impossible(sem) ? SHMKIT_ECORRUPT : sem_rc(sem_post(sem)); }

int shmkit_nsem_getvalue(sem_t *sem, int *value) {
	return nsem_impossible(sem) ? SHMKIT_ECORRUPT : sem_rc(sem_getvalue(sem, value));
}

int shmkit_mutex_init(void *mutex, int recursive) {
	pthread_mutexattr_t attr;
	int rc = pthread_mutexattr_init(&attr);
	if (rc != 0) {
		return rc;
	}
	if ((rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) == 0 &&
	    (rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) == 0 &&
	    (rc = pthread_mutexattr_settype(&attr, recursive ? PTHREAD_MUTEX_RECURSIVE
	                                                     : PTHREAD_MUTEX_ERRORCHECK)) == 0) {
		rc = pthread_mutex_init(mutex, &attr);
	}
	pthread_mutexattr_destroy(&attr);
	return rc;
}

/* pthread_mutex_* return the error; robust locks never report EINTR, but the
 * loops keep the promise of shmkit.h if a C library ever does. */
int shmkit_mutex_lock(void *mutex) {
	int rc;
	while ((rc = pthread_mutex_lock(mutex)) == EINTR) {
	}
	return rc;
}

/* Not pthread_mutex_trylock: for a robust mutex that is not recoverable,
 * glibc's trylock (2.36 at least) returns ENOTRECOVERABLE but leaves the
 * lock word holding the caller's thread id, so the mutex stays locked and the
 * next lock reports EDEADLK or, if recursive, succeeds. A timed lock with a
 * deadline already past takes the lock path, which is right, and POSIX
 * requires it to take a free mutex rather than time out. */
int shmkit_mutex_trylock(void *mutex) {
	struct timespec past = {0, 0};
	int rc;
	while ((rc = pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &past)) == EINTR) {
	}
	return rc == ETIMEDOUT ? EBUSY : rc;
}

int shmkit_mutex_timedlock(void *mutex, int64_t deadline_ns) {
	struct timespec ts = to_timespec(deadline_ns);
	int rc;
	while ((rc = pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &ts)) == EINTR) {
	}
	return rc;
}

int shmkit_mutex_unlock(void *mutex) { return pthread_mutex_unlock(mutex); }

int shmkit_mutex_consistent(void *mutex) { return pthread_mutex_consistent(mutex); }

int shmkit_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns) {
	struct timespec ts = to_timespec(deadline_ns);
	for (;;) {
		long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected,
		                  deadline_ns > 0 ? &ts : NULL, NULL, FUTEX_BITSET_MATCH_ANY);
		if (rc == 0 || errno == EAGAIN) {
			return 0;
		}
		if (errno != EINTR) {
			return errno;
		}
	}
}

int shmkit_futex_wake(uint32_t *word, int n) {
	long rc = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
	return rc < 0 ? errno : 0;
}

/* ---- Semaphores: a futex word (see struct shmkit_semaphore) ---------- */

/* How often a waiter looks at the value before it sleeps (spin_look
 * between looks): some microseconds, enough for a peer on another core,
 * or one waiting for this CPU, to release. */
#define SHMKIT_SEM_SPINS 128

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* spin_look is what a waiter does between its looks at a shared word, look
 * i of a spin, as Go's wait.Spin: nothing for the first SPIN_HOT, so that
 * a peer on the other core is seen within nanoseconds; then a pause; from
 * look SPIN_PAUSES on, a sched_yield every SPIN_YIELD_EVERY looks, so that
 * a peer waiting for this CPU gets it. A spin of pauses alone (128, about
 * 5 µs on an Intel core) gave up before a peer that had just been woken
 * could answer, so each side slept on every hand-over and paid the
 * wake-up (about 26 µs on a KVM guest): W6's C row took 26-32 µs a round
 * trip, 1.1-4.9 µs with this spin. */
#define SPIN_HOT 32
#define SPIN_PAUSES 64
#define SPIN_YIELD_EVERY 4

/* spin_look returns 0, without yielding, when a yield is due and deadline
 * (SHMKIT_FOREVER: none) has passed: the waiter stops spinning. A yield can
 * hand the CPU to another process for a whole time slice, and a spin of 16
 * of them returned a 1 ms timeout about 24 ms late on a busy CPU. */
static int spin_look(int i, int64_t deadline_ns) {
	if (i < SPIN_HOT) {
		return 1;
	}
	if (i >= SPIN_PAUSES && i % SPIN_YIELD_EVERY == SPIN_YIELD_EVERY - 1) {
		if (deadline_ns != SHMKIT_FOREVER && shmkit_now_ns() >= deadline_ns) {
			return 0;
		}
		sched_yield();
	} else {
		cpu_relax();
	}
	return 1;
}

/* The most the value may be; a bound above SHMKIT_SEM_VALUE_MAX is corrupt,
 * and so is every value above the limit: both give 0 here, with *corrupt. */
static uint32_t sem_limit(struct shmkit_semaphore *s, uint32_t v, int *corrupt) {
	uint32_t bound = __atomic_load_n(&s->bound, __ATOMIC_RELAXED);
	*corrupt = bound > SHMKIT_SEM_VALUE_MAX || v > bound;
	return bound;
}

int shmkit_sem_init(struct shmkit_semaphore *s, unsigned value, unsigned bound) {
	if (bound > SHMKIT_SEM_VALUE_MAX || value > bound) {
		return EINVAL;
	}
	memset(s, 0, sizeof *s);
	s->bound = bound;
	__atomic_store_n(&s->value, value, __ATOMIC_SEQ_CST);
	return 0;
}

int shmkit_sem_trywait(struct shmkit_semaphore *s) {
	uint32_t v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
	for (;;) {
		int corrupt;
		sem_limit(s, v, &corrupt);
		if (corrupt) {
			return SHMKIT_ECORRUPT;
		}
		if (v == 0) {
			return EAGAIN;
		}
		if (__atomic_compare_exchange_n(&s->value, &v, v - 1, 1, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			return 0;
		}
	}
}

int shmkit_sem_timedwait(struct shmkit_semaphore *s, int64_t deadline_ns) {
	int rc = shmkit_sem_trywait(s);
	for (int i = 0; rc == EAGAIN && i < SHMKIT_SEM_SPINS; i++) {
		if (!spin_look(i, deadline_ns)) {
			break;
		}
		if (__atomic_load_n(&s->value, __ATOMIC_RELAXED) != 0) {
			rc = shmkit_sem_trywait(s);
		}
	}
	while (rc == EAGAIN) {
		if (deadline_ns != SHMKIT_FOREVER && shmkit_now_ns() >= deadline_ns) {
			return ETIMEDOUT;
		}
		__atomic_add_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
		rc = shmkit_sem_trywait(s);
		if (rc == EAGAIN) {
			rc = shmkit_futex_wait(&s->value, 0, deadline_ns == SHMKIT_FOREVER ? 0 : deadline_ns);
			rc = rc == 0 || rc == ETIMEDOUT ? shmkit_sem_trywait(s) : rc;
		}
		__atomic_sub_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
	}
	return rc;
}

int shmkit_sem_wait(struct shmkit_semaphore *s) { return shmkit_sem_timedwait(s, SHMKIT_FOREVER); }

int shmkit_sem_post(struct shmkit_semaphore *s) {
	uint32_t v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
	do {
		int corrupt;
		uint32_t limit = sem_limit(s, v, &corrupt);
		if (corrupt) {
			return SHMKIT_ECORRUPT;
		}
		if (v == limit) {
			return limit == SHMKIT_SEM_VALUE_MAX ? EOVERFLOW : ERANGE;
		}
	} while (!__atomic_compare_exchange_n(&s->value, &v, v + 1, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) != 0) {
		shmkit_futex_wake(&s->value, 1);
	}
	return 0;
}

int shmkit_sem_getvalue(struct shmkit_semaphore *s, int *value) {
	uint32_t v = __atomic_load_n(&s->value, __ATOMIC_ACQUIRE);
	int corrupt;
	sem_limit(s, v, &corrupt);
	if (corrupt) {
		return SHMKIT_ECORRUPT;
	}
	*value = (int)v;
	return 0;
}

uint32_t shmkit_load32(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }

/* ---- Event and condition: the futex protocols of Go's semaphore package -- */

int shmkit_event_set(struct shmkit_event *e) {
	__atomic_store_n(&e->flag, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&e->waiters, __ATOMIC_SEQ_CST) > 0) {
		return shmkit_futex_wake(&e->flag, INT_MAX);
	}
	return 0;
}

void shmkit_event_clear(struct shmkit_event *e) { __atomic_store_n(&e->flag, 0, __ATOMIC_SEQ_CST); }

int shmkit_event_is_set(const struct shmkit_event *e) { return __atomic_load_n(&e->flag, __ATOMIC_ACQUIRE) != 0; }

int shmkit_event_wait(struct shmkit_event *e, int64_t deadline_ns) {
	if (shmkit_event_is_set(e)) {
		return 0;
	}
	/* Counted in before the last look at the flag: a set either sees this
	 * waiter and wakes it, or this waiter sees the flag. */
	__atomic_add_fetch(&e->waiters, 1, __ATOMIC_SEQ_CST);
	int rc = 0;
	while (!shmkit_event_is_set(e)) {
		rc = shmkit_futex_wait(&e->flag, 0, deadline_ns == SHMKIT_FOREVER ? 0 : deadline_ns);
		if (rc != 0) {
			rc = shmkit_event_is_set(e) ? 0 : rc;
			break;
		}
	}
	__atomic_sub_fetch(&e->waiters, 1, __ATOMIC_SEQ_CST);
	return rc;
}

uint32_t shmkit_cond_enter(struct shmkit_cond *c) {
	uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&c->waiters, 1, __ATOMIC_SEQ_CST);
	return seq;
}

void shmkit_cond_leave(struct shmkit_cond *c) { __atomic_sub_fetch(&c->waiters, 1, __ATOMIC_SEQ_CST); }

int shmkit_cond_sleep(struct shmkit_cond *c, uint32_t seq, int64_t deadline_ns) {
	while (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) == seq) {
		int rc = shmkit_futex_wait(&c->seq, seq, deadline_ns == SHMKIT_FOREVER ? 0 : deadline_ns);
		if (rc != 0) {
			return __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) == seq ? rc : 0;
		}
	}
	return 0;
}

int shmkit_cond_wait(struct shmkit_cond *c, void *mutex, int64_t deadline_ns) {
	uint32_t seq = shmkit_cond_enter(c);
	int rc = shmkit_mutex_unlock(mutex);
	if (rc != 0) {
		shmkit_cond_leave(c);
		return rc;
	}
	int slept = shmkit_cond_sleep(c, seq, deadline_ns);
	shmkit_cond_leave(c);
	rc = shmkit_mutex_lock(mutex);
	return rc != 0 ? rc : slept;
}

int shmkit_cond_notify(struct shmkit_cond *c, int n) {
	__atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->waiters, __ATOMIC_SEQ_CST) > 0) {
		return shmkit_futex_wake(&c->seq, n);
	}
	return 0;
}

int shmkit_barrier_init(struct shmkit_barrier *b, uint32_t parties) {
	b->parties = parties;
	b->broken_gen = UINT32_MAX; /* no generation has broken */
	return shmkit_mutex_init(&b->lock.mutex, 0);
}

/* break_generation ends the current generation as broken; lock held. */
static void break_generation(struct shmkit_barrier *b) {
	uint32_t g = __atomic_load_n(&b->gen, __ATOMIC_RELAXED);
	b->broken = 1;
	b->broken_gen = g;
	b->count = 0;
	__atomic_store_n(&b->gen, g + 1, __ATOMIC_RELEASE);
	shmkit_futex_wake(&b->gen, INT_MAX);
}

static int barrier_lock(struct shmkit_barrier *b) {
	int rc = shmkit_mutex_lock(&b->lock.mutex);
	if (rc == EOWNERDEAD) {
		/* A process died half-way through changing the state: break the
		 * barrier, as a timeout would, so nobody waits for it forever. */
		break_generation(b);
		rc = shmkit_mutex_consistent(&b->lock.mutex);
	}
	return rc;
}

int shmkit_barrier_arrive(struct shmkit_barrier *b, uint32_t *index, uint32_t *gen) {
	int rc = barrier_lock(b);
	if (rc != 0) {
		return rc;
	}
	uint32_t g = __atomic_load_n(&b->gen, __ATOMIC_RELAXED);
	if (b->broken) {
		rc = ESHUTDOWN;
	} else if (b->count >= b->parties) {
		/* impossible unless the segment was damaged */
		break_generation(b);
		rc = ESHUTDOWN;
	} else {
		*index = b->count++;
		*gen = g;
		if (b->count == b->parties) {
			b->count = 0;
			__atomic_store_n(&b->gen, g + 1, __ATOMIC_RELEASE);
			shmkit_futex_wake(&b->gen, INT_MAX);
		}
	}
	shmkit_mutex_unlock(&b->lock.mutex);
	return rc;
}

int shmkit_barrier_outcome(struct shmkit_barrier *b, uint32_t g) {
	int rc = barrier_lock(b);
	if (rc != 0) {
		return rc;
	}
	rc = b->broken_gen == g ? ESHUTDOWN : 0;
	shmkit_mutex_unlock(&b->lock.mutex);
	return rc;
}

int shmkit_barrier_timeout(struct shmkit_barrier *b, uint32_t g) {
	int rc = barrier_lock(b);
	if (rc != 0) {
		return rc;
	}
	if (__atomic_load_n(&b->gen, __ATOMIC_RELAXED) == g) {
		break_generation(b);
		rc = ESHUTDOWN;
	} else {
		rc = b->broken_gen == g ? ESHUTDOWN : 0;
	}
	shmkit_mutex_unlock(&b->lock.mutex);
	return rc;
}

int shmkit_barrier_abort(struct shmkit_barrier *b) {
	int rc = barrier_lock(b);
	if (rc != 0) {
		return rc;
	}
	if (!b->broken) {
		break_generation(b);
	}
	shmkit_mutex_unlock(&b->lock.mutex);
	return 0;
}

int shmkit_barrier_reset(struct shmkit_barrier *b) {
	int rc = barrier_lock(b);
	if (rc != 0) {
		return rc;
	}
	if (b->count > 0) {
		break_generation(b); /* the waiters of this generation get broken */
	}
	b->broken = 0;
	b->count = 0;
	shmkit_mutex_unlock(&b->lock.mutex);
	return 0;
}

int shmkit_barrier_wait(struct shmkit_barrier *b, int64_t deadline_ns, uint32_t *index) {
	uint32_t g;
	int rc = shmkit_barrier_arrive(b, index, &g);
	if (rc != 0 || *index == __atomic_load_n(&b->parties, __ATOMIC_RELAXED) - 1) {
		return rc; /* broken, or the last arrival, which tripped it */
	}
	while (__atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) == g) {
		rc = shmkit_futex_wait(&b->gen, g, deadline_ns == SHMKIT_FOREVER ? 0 : deadline_ns);
		if (rc != 0 && __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) == g) {
			/* gave up: break this generation, unless it just ended */
			return shmkit_barrier_timeout(b, g) != 0 ? ESHUTDOWN : shmkit_barrier_outcome(b, g);
		}
	}
	return shmkit_barrier_outcome(b, g);
}

/* ---- Segments and the directory ------------------------------------- */

#define SHMKIT_MAX_CAPACITY (1u << 20) /* as shm.MaxCapacity */
#define SHMKIT_SLOT_SIZE 64u           /* a pthread_mutex_t slot */

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* A store that a later load of another word must not pass (Go's Store):
 * making a slot full or free, then looking for sleepers to wake. With a
 * release store the load could be done first, see no sleeper that is just
 * going to sleep, and leave it asleep. */
#define STORE_SC(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define CAS(p, old, new) \
	__atomic_compare_exchange_n((p), &(old), (new), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

static uint64_t align64(uint64_t n) { return (n + SHMKIT_ALIGN - 1) & ~(uint64_t)(SHMKIT_ALIGN - 1); }

static uint64_t data_start(uint32_t capacity) {
	return align64(sizeof(struct shmkit_header) + (uint64_t)capacity * sizeof(struct shmkit_entry));
}

int64_t shmkit_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void shmkit_api_sizes(uint64_t sizes[3]) {
	sizes[0] = sizeof(struct shmkit_segment);
	sizes[1] = sizeof(struct shmkit_object);
	sizes[2] = sizeof(struct shmkit_chan);
}

unsigned shmkit_typecode_size(int typecode) {
	switch (typecode) {
	case 'c': case 'b': case 'B':
		return 1;
	case 'h': case 'H':
		return 2;
	case 'i': case 'I': case 'f': case 'u':
		return 4;
	case 'l': case 'L': case 'q': case 'Q': case 'd':
		return 8;
	}
	return 0;
}

/* ---- Atomic element updates ----------------------------------------- */

static int is_float(int typecode) { return typecode == 'f' || typecode == 'd'; }

/* The size of an element the atomic updates may touch: 0 for a bad typecode
 * or an element not aligned to its size. */
static unsigned elem_size(const void *elem, int typecode) {
	unsigned size = shmkit_typecode_size(typecode);
	return size != 0 && elem != NULL && (uintptr_t)elem % size == 0 ? size : 0;
}

int shmkit_elem_cas(void *elem, int typecode, const void *old, const void *new_value, int *swapped) {
	unsigned size = elem_size(elem, typecode);
	if (size == 0) {
		return EINVAL;
	}
	switch (size) { /* compare bit patterns, as Go's CompareAndSwap */
	case 1: { uint8_t o; memcpy(&o, old, 1); uint8_t n; memcpy(&n, new_value, 1);
		*swapped = __atomic_compare_exchange_n((uint8_t *)elem, &o, n, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); break; }
	case 2: { uint16_t o; memcpy(&o, old, 2); uint16_t n; memcpy(&n, new_value, 2);
		*swapped = __atomic_compare_exchange_n((uint16_t *)elem, &o, n, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); break; }
	case 4: { uint32_t o; memcpy(&o, old, 4); uint32_t n; memcpy(&n, new_value, 4);
		*swapped = __atomic_compare_exchange_n((uint32_t *)elem, &o, n, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); break; }
	default: { uint64_t o; memcpy(&o, old, 8); uint64_t n; memcpy(&n, new_value, 8);
		*swapped = __atomic_compare_exchange_n((uint64_t *)elem, &o, n, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); break; }
	}
	return 0;
}

int shmkit_elem_swap(void *elem, int typecode, const void *new_value, void *old_out) {
	unsigned size = elem_size(elem, typecode);
	if (size == 0) {
		return EINVAL;
	}
	switch (size) {
	case 1: { uint8_t n; memcpy(&n, new_value, 1); uint8_t o = __atomic_exchange_n((uint8_t *)elem, n, __ATOMIC_SEQ_CST); memcpy(old_out, &o, 1); break; }
	case 2: { uint16_t n; memcpy(&n, new_value, 2); uint16_t o = __atomic_exchange_n((uint16_t *)elem, n, __ATOMIC_SEQ_CST); memcpy(old_out, &o, 2); break; }
	case 4: { uint32_t n; memcpy(&n, new_value, 4); uint32_t o = __atomic_exchange_n((uint32_t *)elem, n, __ATOMIC_SEQ_CST); memcpy(old_out, &o, 4); break; }
	default: { uint64_t n; memcpy(&n, new_value, 8); uint64_t o = __atomic_exchange_n((uint64_t *)elem, n, __ATOMIC_SEQ_CST); memcpy(old_out, &o, 8); break; }
	}
	return 0;
}

int shmkit_elem_add(void *elem, int typecode, const void *delta, void *out) {
	unsigned size = elem_size(elem, typecode);
	if (size == 0) {
		return EINVAL;
	}
	if (is_float(typecode)) {
		for (;;) { /* compare-and-swap of the bits */
			if (typecode == 'f') {
				uint32_t ob = __atomic_load_n((uint32_t *)elem, __ATOMIC_SEQ_CST), nb;
				float o, d, n;
				memcpy(&o, &ob, 4); memcpy(&d, delta, 4); n = o + d; memcpy(&nb, &n, 4);
				if (__atomic_compare_exchange_n((uint32_t *)elem, &ob, nb, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
					memcpy(out, &n, 4);
					return 0;
				}
			} else {
				uint64_t ob = __atomic_load_n((uint64_t *)elem, __ATOMIC_SEQ_CST), nb;
				double o, d, n;
				memcpy(&o, &ob, 8); memcpy(&d, delta, 8); n = o + d; memcpy(&nb, &n, 8);
				if (__atomic_compare_exchange_n((uint64_t *)elem, &ob, nb, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
					memcpy(out, &n, 8);
					return 0;
				}
			}
		}
	}
	switch (size) { /* two's complement: signed and unsigned add alike, wrapping */
	case 1: { uint8_t d; memcpy(&d, delta, 1); uint8_t n = __atomic_add_fetch((uint8_t *)elem, d, __ATOMIC_SEQ_CST); memcpy(out, &n, 1); break; }
	case 2: { uint16_t d; memcpy(&d, delta, 2); uint16_t n = __atomic_add_fetch((uint16_t *)elem, d, __ATOMIC_SEQ_CST); memcpy(out, &n, 2); break; }
	case 4: { uint32_t d; memcpy(&d, delta, 4); uint32_t n = __atomic_add_fetch((uint32_t *)elem, d, __ATOMIC_SEQ_CST); memcpy(out, &n, 4); break; }
	default: { uint64_t d; memcpy(&d, delta, 8); uint64_t n = __atomic_add_fetch((uint64_t *)elem, d, __ATOMIC_SEQ_CST); memcpy(out, &n, 8); break; }
	}
	return 0;
}

const char *shmkit_strerror(int rc) {
	switch (rc) {
	case 0: return "success";
	case SHMKIT_ENOTSHMKIT: return "not a shmkit segment";
	case SHMKIT_EVERSION: return "unknown layout version";
	case SHMKIT_ECORRUPT: return "corrupt segment";
	case SHMKIT_EKIND: return "object is of another kind or typecode";
	case SHMKIT_EENDED: return "channel ended";
	case SHMKIT_EEOF: return "end of channel";
	case SHMKIT_EPEERDEAD: return "every peer died";
	case SHMKIT_ETOOLARGE: return "message too large";
	case SHMKIT_ESHORTBUF: return "buffer too short for the message";
	case ENOENT: return "not found";
	case EOWNERDEAD: return "owner died holding the mutex";
	case ENOTRECOVERABLE: return "mutex not recoverable";
	}
	return strerror(rc);
}

/* The header checks of shm.parseHeader, in the same order, on a private
 * copy of the header: read with pread(2) from read_fd if there is one, so
 * that a file truncated under us is a short read, not SIGBUS; else from
 * the mapping. alloc_fd (-1: none) is kept for allocation. */
static int check_segment(void *base, uint64_t size, int read_fd, int alloc_fd, struct shmkit_segment *seg) {
	struct shmkit_header h;
	if (base == NULL || size < sizeof h) {
		return SHMKIT_ENOTSHMKIT;
	}
	if (read_fd >= 0) {
		ssize_t got;
		while ((got = pread(read_fd, &h, sizeof h, 0)) < 0 && errno == EINTR) {
		}
		if (got != (ssize_t)sizeof h) {
			return got < 0 ? errno : SHMKIT_ENOTSHMKIT;
		}
	} else {
		memcpy(&h, base, sizeof h);
	}
	if (h.magic != SHMKIT_MAGIC) {
		return SHMKIT_ENOTSHMKIT;
	}
	if (h.version != SHMKIT_VERSION) {
		return SHMKIT_EVERSION;
	}
	uint32_t capacity = h.dir_capacity;
	if (h.header_size != sizeof h || h.segment_size != size || h.flags != 0 ||
	    capacity > SHMKIT_MAX_CAPACITY || data_start(capacity) > size) {
		return SHMKIT_ECORRUPT;
	}
	if (h.dir_count > capacity || h.alloc_cursor < data_start(capacity) || h.alloc_cursor > size ||
	    h.alloc_cursor % SHMKIT_ALIGN != 0) {
		return SHMKIT_ECORRUPT;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* as the loads of magic and the counts were */
	seg->base = base;
	seg->size = size;
	seg->dir_capacity = capacity;
	seg->fd = alloc_fd;
	seg->owned = 0;
	return 0;
}

int shmkit_check(void *base, uint64_t size, int fd, struct shmkit_segment *seg) {
	return check_segment(base, size, fd, fd, seg);
}

static int valid_utf8(const uint8_t *s, size_t n);

int shmkit_check_name(const char *name, uint64_t len, int object) {
	if (name == NULL || memchr(name, '\0', len) != NULL) {
		return EINVAL;
	}
	if (object) { /* shm's checkObjectName */
		return len == 0 || len > SHMKIT_NAME_MAX || !valid_utf8((const uint8_t *)name, len) ? EINVAL : 0;
	}
	if (len > 0 && name[0] == '/') { /* shm.PosixName: one leading '/' is dropped */
		name++, len--;
	}
	if (len == 0 || len > 255 || memchr(name, '/', len) != NULL || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.')) {
		return EINVAL;
	}
	return 0;
}

/* posix_name turns "foo" or "/foo" into "/foo", as shm.PosixName does. */
static int posix_name(const char *name, char out[static 257]) {
	if (name == NULL || shmkit_check_name(name, strlen(name), 0) != 0) {
		return EINVAL;
	}
	const char *base = name[0] == '/' ? name + 1 : name;
	size_t len = strlen(base);
	out[0] = '/';
	memcpy(out + 1, base, len + 1);
	return 0;
}

int shmkit_attach(const char *name, int readonly, struct shmkit_segment *seg) {
	char path[257];
	int rc = posix_name(name, path);
	if (rc != 0) {
		return rc;
	}
	/* O_NONBLOCK: a FIFO planted under the name must not hang the open. */
	int fd = shm_open(path, (readonly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0) {
		return errno;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = errno;
	} else if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		rc = SHMKIT_ENOTSHMKIT;
	}
	void *mem = MAP_FAILED;
	if (rc == 0) {
		mem = mmap(NULL, (size_t)st.st_size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (mem == MAP_FAILED) {
			rc = errno;
		}
	}
	if (rc == 0 && (rc = check_segment(mem, (uint64_t)st.st_size, fd, readonly ? -1 : fd, seg)) == 0) {
		seg->owned = 1;
		if (readonly) {
			close(fd);
		}
		return 0;
	}
	if (mem != MAP_FAILED) {
		munmap(mem, (size_t)st.st_size);
	}
	close(fd);
	return rc;
}

/* reserve_space allocates every page of a new segment now, so that a full
 * /dev/shm is ENOSPC here rather than SIGBUS at some later write. A file
 * system without fallocate keeps the old behaviour. */
static int reserve_space(int fd, uint64_t size) {
	int rc;
	while ((rc = fallocate(fd, 0, 0, (off_t)size)) != 0 && errno == EINTR) {
	}
	return rc == 0 || errno == EOPNOTSUPP ? 0 : errno;
}

/* map_by_name maps the new segment again through its name, over mem, so
 * that /proc/PID/maps and lsof show the creator's mapping by name rather
 * than as the deleted anonymous file; it returns the descriptor to keep. */
static int map_by_name(const char *file, int anon, void *mem, uint64_t size) {
	int named = open(file, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat a, b;
	if (named < 0) {
		return anon;
	}
	if (fstat(anon, &a) == 0 && fstat(named, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
	    mmap(mem, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, named, 0) != MAP_FAILED) {
		close(anon);
		return named;
	}
	close(named);
	return anon;
}

int shmkit_create(const char *name, uint64_t size, uint32_t capacity, unsigned mode, struct shmkit_segment *seg) {
	char path[257], file[sizeof "/dev/shm" + 256], proc[64];
	int rc = posix_name(name, path);
	if (rc != 0) {
		return rc;
	}
	if (capacity == 0) { /* as shm.Create: 64, or what a quarter of a small segment holds */
		int64_t fits = ((int64_t)(size / 4) - (int64_t)sizeof(struct shmkit_header)) / (int64_t)sizeof(struct shmkit_entry);
		capacity = fits < 1 ? 1 : fits > 64 ? 64 : (uint32_t)fits;
	}
	if (capacity > SHMKIT_MAX_CAPACITY || size < data_start(capacity) || size > INT64_MAX) {
		return EINVAL;
	}
	/* O_TMPFILE gives a file with no name; linking it is the O_EXCL step. */
	int fd = open("/dev/shm", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd < 0) {
		return errno;
	}
	void *mem = MAP_FAILED;
	if (fchmod(fd, mode ? mode : 0600) != 0 || ftruncate(fd, (off_t)size) != 0 || (rc = reserve_space(fd, size)) != 0 ||
	    (mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		rc = rc != 0 ? rc : errno;
		close(fd);
		return rc;
	}
	struct shmkit_header *h = mem;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	h->version = SHMKIT_VERSION;
	h->header_size = sizeof *h;
	h->segment_size = size;
	h->dir_capacity = capacity;
	h->creator_pid = getpid();
	h->created_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	STORE(&h->alloc_cursor, data_start(capacity));
	STORE(&h->magic, SHMKIT_MAGIC);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	snprintf(file, sizeof file, "/dev/shm%s", path);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, file, AT_SYMLINK_FOLLOW) != 0) {
		rc = errno;
	} else {
		fd = map_by_name(file, fd, mem, size);
		if ((rc = shmkit_check(mem, size, fd, seg)) == 0) {
			seg->owned = 1;
			return 0;
		}
	}
	munmap(mem, size);
	close(fd);
	return rc;
}

int shmkit_unlink(const char *name) {
	char path[257];
	int rc = posix_name(name, path);
	if (rc == 0 && shm_unlink(path) != 0) {
		rc = errno;
	}
	return rc;
}

int shmkit_detach(struct shmkit_segment *seg) {
	int rc = 0;
	if (seg->owned) {
		if (munmap(seg->base, seg->size) != 0) {
			rc = errno;
		}
		if (seg->fd >= 0) {
			close(seg->fd);
		}
	}
	memset(seg, 0, sizeof *seg);
	seg->fd = -1;
	return rc;
}

/* valid_utf8 reports whether s[0:n] is well-formed UTF-8 (no overlong
 * forms, no surrogates, nothing above U+10FFFF), the rule for object names
 * in every language. */
static int valid_utf8(const uint8_t *s, size_t n) {
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		if (len == 0 || i + len > n) {
			return 0;
		}
		uint32_t cp = len == 1 ? c : c & (0x7F >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80) {
				return 0;
			}
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			return 0;
		}
		i += len;
	}
	return 1;
}

/* The least a published object of a kind may occupy. */
static uint64_t kind_min_length(uint32_t kind) {
	switch (kind) {
	case SHMKIT_KIND_SEMAPHORE:
	case SHMKIT_KIND_BOUNDED:
		return sizeof(struct shmkit_semaphore);
	case SHMKIT_KIND_MUTEX:
	case SHMKIT_KIND_RMUTEX:
		return sizeof(struct shmkit_mutex);
	case SHMKIT_KIND_COND:
		return sizeof(struct shmkit_cond);
	case SHMKIT_KIND_EVENT:
		return sizeof(struct shmkit_event);
	case SHMKIT_KIND_BARRIER:
		return sizeof(struct shmkit_barrier);
	case SHMKIT_KIND_CHANNEL:
		return sizeof(struct shmkit_channel);
	case SHMKIT_KIND_DICT:
	case SHMKIT_KIND_LIST:
		return sizeof(struct shmkit_dict_ref);
	}
	return 1;
}

static int by_name(const void *a, const void *b) {
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* desc_size checks a struct description in private memory (the caller's,
 * or a copy of the segment's that no other process can change while it is
 * read), with room bytes after its start, and returns its element size, or
 * 0 if it is not valid: as ctypes.RecordLayout, every field inside the
 * record and aligned in every record (the size is a multiple of each
 * field's element size), fields in offset order without overlap, names
 * distinct. */
static uint64_t desc_size(const struct shmkit_struct_desc *d, uint64_t room) {
	if (room < sizeof *d) {
		return 0;
	}
	uint32_t size = d->size, align = d->align, nf = d->fields;
	if (size == 0 || align == 0 || align > 8 || (align & (align - 1)) != 0 || size % align != 0 ||
	    nf == 0 || nf > SHMKIT_FIELDS_MAX || (room - sizeof *d) / sizeof(struct shmkit_field) < nf ||
	    strnlen(d->type_name, sizeof d->type_name) == sizeof d->type_name) {
		return 0;
	}
	const struct shmkit_field *f = (const void *)(d + 1);
	uint64_t prev_end = 0; /* fields are in offset order and do not overlap */
	for (uint32_t i = 0; i < nf; i++) {
		size_t len = strnlen(f[i].name, sizeof f[i].name);
		unsigned fs = shmkit_typecode_size(f[i].typecode);
		if (len == 0 || len == sizeof f[i].name || !valid_utf8((const uint8_t *)f[i].name, len) || fs == 0 ||
		    f[i].count == 0 || f[i].offset % fs != 0 || (uint64_t)f[i].offset + (uint64_t)f[i].count * fs > size ||
		    size % fs != 0 || f[i].offset < prev_end) {
			return 0;
		}
		prev_end = (uint64_t)f[i].offset + (uint64_t)f[i].count * fs;
	}
	const char **names = malloc(nf * sizeof *names);
	if (names == NULL) {
		return 0;
	}
	for (uint32_t i = 0; i < nf; i++) {
		names[i] = f[i].name;
	}
	qsort(names, nf, sizeof *names, by_name);
	uint32_t i = 1;
	while (i < nf && strcmp(names[i - 1], names[i]) != 0) {
		i++;
	}
	free(names);
	return i < nf ? 0 : size;
}

/* copy_desc copies the description at src, which has room bytes after it
 * in a segment, into buf (buf_bytes long): the header first, then as many
 * fields as the copied header says. SHMKIT_ECORRUPT if they do not fit in
 * room, ERANGE if not in buf. The copy is not checked. */
static int copy_desc(const void *src, uint64_t room, struct shmkit_struct_desc *buf, uint64_t buf_bytes) {
	if (room < sizeof *buf || buf_bytes < sizeof *buf) {
		return room < sizeof *buf ? SHMKIT_ECORRUPT : ERANGE;
	}
	memcpy(buf, src, sizeof *buf);
	uint64_t nf = buf->fields, fsz = sizeof(struct shmkit_field);
	if (nf > SHMKIT_FIELDS_MAX || (room - sizeof *buf) / fsz < nf) {
		return SHMKIT_ECORRUPT;
	}
	if ((buf_bytes - sizeof *buf) / fsz < nf) {
		return ERANGE;
	}
	memcpy(buf + 1, (const struct shmkit_struct_desc *)src + 1, nf * fsz);
	return 0;
}

/* check_desc checks the description of an object of typecode 'T', at
 * desc_off from its start, and returns its element size or 0. It checks a
 * copy: another process may be changing the segment's. */
static uint64_t check_desc(const struct shmkit_object *o, uint64_t desc_off) {
	if (desc_off == 0 || desc_off % SHMKIT_ALIGN != 0 || desc_off > o->length) {
		return 0;
	}
	const uint8_t *src = (const uint8_t *)o->data + desc_off;
	uint64_t room = o->length - desc_off;
	struct shmkit_struct_desc head;
	if (copy_desc(src, room, &head, sizeof head) == SHMKIT_ECORRUPT) {
		return 0;
	}
	uint64_t bytes = sizeof head + (uint64_t)head.fields * sizeof(struct shmkit_field);
	struct shmkit_struct_desc *copy = malloc(bytes);
	uint64_t size = 0;
	if (copy != NULL && copy_desc(src, room, copy, bytes) == 0) {
		size = desc_size(copy, bytes);
	}
	free(copy);
	return size;
}

int shmkit_object_desc(const struct shmkit_object *o, struct shmkit_struct_desc *buf, uint64_t buf_bytes) {
	if (o == NULL || o->desc == NULL || o->typecode != SHMKIT_TYPECODE_STRUCT || buf == NULL) {
		return EINVAL;
	}
	uint64_t room = (uint64_t)((const uint8_t *)o->data + o->length - (const uint8_t *)o->desc);
	int rc = copy_desc(o->desc, room, buf, buf_bytes);
	if (rc != 0) {
		return rc;
	}
	uint64_t bytes = sizeof *buf + (uint64_t)buf->fields * sizeof(struct shmkit_field);
	if (desc_size(buf, bytes) != o->elem_size) {
		return SHMKIT_ECORRUPT; /* no longer valid, or changed since the lookup */
	}
	return 0;
}

uint64_t shmkit_struct_size(const struct shmkit_struct_desc *desc) {
	return desc == NULL ? 0 : desc_size(desc, sizeof *desc + (uint64_t)SHMKIT_FIELDS_MAX * sizeof(struct shmkit_field));
}

static uint64_t desc_bytes(const struct shmkit_struct_desc *desc) {
	return sizeof *desc + (uint64_t)desc->fields * sizeof(struct shmkit_field);
}

uint32_t shmkit_object_slots(const struct shmkit_segment *seg) {
	uint32_t n = LOAD(&((const struct shmkit_header *)seg->base)->dir_count);
	return n > seg->dir_capacity ? seg->dir_capacity : n;
}

/* check_elems checks a VALUE or ARRAY as ctypes.elemsOf does. */
static int check_elems(struct shmkit_object *o) {
	uint64_t size = o->elem_size;
	if (size == 0 || (o->kind == SHMKIT_KIND_VALUE && o->count != 1) || o->count > o->length / size) {
		return SHMKIT_ECORRUPT;
	}
	uint64_t end = o->count * size; /* where the description may start */
	if (o->flags & SHMKIT_FLAG_LOCKED) {
		uint64_t off = align64(o->count * size);
		if (off > o->length || o->length - off < SHMKIT_SLOT_SIZE) {
			return SHMKIT_ECORRUPT;
		}
		o->lock = (uint8_t *)o->data + off;
		end = off + SHMKIT_SLOT_SIZE;
	}
	if (o->desc != NULL && (const uint8_t *)o->desc < (const uint8_t *)o->data + end) {
		return SHMKIT_ECORRUPT; /* the description overlaps the elements */
	}
	return 0;
}

/* channel_geometry computes a channel's slot stride and object length, as
 * channel.geometry does; EINVAL if the sizes are out of range. */
static int channel_geometry(uint64_t elem_size, uint64_t slots, uint64_t max_len, uint64_t *stride,
                            uint64_t *length) {
	if (elem_size == 0 || slots < 1 || slots > (1u << 30) || max_len < 1 ||
	    max_len > (UINT32_MAX - sizeof(struct shmkit_slot)) / elem_size) {
		return EINVAL;
	}
	*stride = align64(sizeof(struct shmkit_slot) + max_len * elem_size);
	if (slots > (INT64_MAX - sizeof(struct shmkit_channel)) / *stride) {
		return EINVAL;
	}
	*length = sizeof(struct shmkit_channel) + slots * *stride;
	return 0;
}

/* spsc_geometry: an SPSC channel's ring is one stride longer, and far below
 * the 2^35 bytes after which stamps repeat (as channel.spscGeometry). */
static int spsc_geometry(uint64_t slots, uint64_t stride, uint64_t *cap, uint64_t *length) {
	if (slots > (1ull << 34) / stride - 1) {
		return EINVAL;
	}
	*cap = (slots + 1) * stride;
	*length = sizeof(struct shmkit_channel) + *cap;
	return 0;
}

/* check_channel checks a channel's geometry as channel.newRing does. */
static int check_channel(const struct shmkit_object *o) {
	uint64_t size = o->elem_size;
	const struct shmkit_channel *h = o->data;
	uint64_t stride, length, cap;
	int spsc = (o->flags & SHMKIT_FLAG_SPSC) != 0;
	if (channel_geometry(size, o->param0, o->param1, &stride, &length) != 0 ||
	    (spsc && spsc_geometry(o->param0, stride, &cap, &length) != 0) || o->length < length ||
	    h->slots != o->param0 || h->max_len != o->param1 || h->elem_size != size || h->slot_stride != stride ||
	    (LOAD(&h->spsc) != 0) != spsc ||
	    (o->desc != NULL && (const uint8_t *)o->desc < (const uint8_t *)o->data + length)) {
		return SHMKIT_ECORRUPT;
	}
	return 0;
}

int shmkit_object_at(const struct shmkit_segment *seg, uint32_t i, struct shmkit_object *out) {
	if (i >= seg->dir_capacity) {
		return ENOENT;
	}
	const struct shmkit_entry *e =
	    (const struct shmkit_entry *)(seg->base + sizeof(struct shmkit_header)) + i;
	if (LOAD(&e->state) != SHMKIT_ENTRY_READY) {
		return ENOENT;
	}
	size_t len = strnlen(e->name, sizeof e->name);
	if (len == 0 || len == sizeof e->name || !valid_utf8((const uint8_t *)e->name, len)) {
		return SHMKIT_ECORRUPT;
	}
	memset(out, 0, sizeof *out);
	memcpy(out->name, e->name, len);
	out->kind = e->kind;
	out->typecode = e->typecode;
	out->flags = e->flags;
	out->count = e->count;
	out->offset = e->offset;
	out->length = e->length;
	out->param0 = e->param0;
	out->param1 = e->param1;
	uint64_t desc = e->desc;
	uint64_t end = out->offset + out->length;
	if (out->offset < data_start(seg->dir_capacity) || out->offset % SHMKIT_ALIGN != 0 || out->length == 0 ||
	    end < out->offset || end > seg->size) {
		return SHMKIT_ECORRUPT;
	}
	if (out->length < kind_min_length(out->kind)) {
		return SHMKIT_ECORRUPT;
	}
	out->data = seg->base + out->offset;
	out->elem_size = shmkit_typecode_size((int)out->typecode);
	if (out->typecode == SHMKIT_TYPECODE_STRUCT) {
		if ((out->elem_size = check_desc(out, desc)) == 0) {
			return SHMKIT_ECORRUPT;
		}
		out->desc = (const void *)((const uint8_t *)out->data + desc);
	}
	return 0;
}

static int by_offset(const void *a, const void *b) {
	const struct shmkit_object *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* A lookup reads the whole directory, as Go's does, so that two objects
 * that overlap are reported whichever one is asked for. */
int shmkit_lookup(const struct shmkit_segment *seg, const char *name, uint32_t kind, int typecode,
                  struct shmkit_object *out) {
	if (name == NULL || name[0] == '\0' || strlen(name) > SHMKIT_NAME_MAX) {
		return EINVAL;
	}
	uint32_t n = shmkit_object_slots(seg);
	struct shmkit_object *all = calloc(n ? n : 1, sizeof *all);
	if (all == NULL) {
		return ENOMEM;
	}
	uint32_t found = 0, used = 0;
	int rc = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		rc = shmkit_object_at(seg, i, &all[used]);
		if (rc == ENOENT) {
			rc = 0;
			continue;
		}
		if (rc == 0 && strcmp(all[used].name, name) == 0) {
			found = used + 1;
		}
		used++;
	}
	if (rc == 0) {
		struct shmkit_object want = found ? all[found - 1] : (struct shmkit_object){0};
		qsort(all, used, sizeof *all, by_offset);
		for (uint32_t i = 1; i < used && rc == 0; i++) {
			if (all[i - 1].offset + all[i - 1].length > all[i].offset) {
				rc = SHMKIT_ECORRUPT;
			}
		}
		if (rc == 0 && !found) {
			rc = ENOENT;
		}
		if (rc == 0 && ((kind != 0 && want.kind != kind) || (typecode != 0 && want.typecode != (uint32_t)typecode))) {
			rc = SHMKIT_EKIND;
		}
		if (rc == 0 && (want.kind == SHMKIT_KIND_VALUE || want.kind == SHMKIT_KIND_ARRAY)) {
			rc = check_elems(&want);
		}
		if (rc == 0 && want.kind == SHMKIT_KIND_CHANNEL) {
			rc = check_channel(&want);
		}
		if (rc == 0) {
			*out = want;
		}
	}
	free(all);
	return rc;
}

/* ---- Creating objects: shm.Segment.Alloc's protocol ----------------- */

/* This library's threads queue here before they take the allocation lock
 * word, rather than on the word. */
static pthread_mutex_t alloc_mu = PTHREAD_MUTEX_INITIALIZER;

struct alloc_req {
	const char *name;
	uint16_t kind;
	uint8_t typecode;
	uint8_t flags;
	uint64_t count, length, param0, param1;
	int (*init)(uint8_t *mem, const struct alloc_req *r); /* NULL: zeroes will do */
	uint32_t value;                                        /* for init */
	const void *data;                                      /* for init */
	uint64_t elem_size;                                    /* VALUE, ARRAY, CHANNEL: bytes per element */
	const struct shmkit_struct_desc *desc;                 /* typecode 'T': copied to desc_off */
	uint64_t desc_off;
};

static int alive(int32_t pid);

/* The low 32 bits of this process's pid namespace inode, 0 if unknown. */
static uint32_t pid_namespace(void) {
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 ? (uint32_t)st.st_ino : 0;
}

/* How long an allocation waits for another process's before EBUSY, and how
 * long a sleeping waiter goes without looking whether the holder died. */
#define ALLOC_WAIT_NS (30 * 1000000000LL)
#define ALLOC_LOOK_NS (20 * 1000000LL)

/* Takes the header's allocation lock (see struct shmkit_header) for this
 * thread; the caller holds alloc_mu. The word names the thread, not the
 * process, so that another copy of this library (or Go's) in the same
 * process is never taken for a holder that died. A word naming this thread
 * is left over from a thread that had its id before: allocation is not
 * re-entered on one thread. */
static int alloc_lock(struct shmkit_header *h) {
	uint32_t ns = pid_namespace();
	int32_t tid = (int32_t)syscall(SYS_gettid);
	uint64_t me = (uint64_t)ns << 32 | (uint32_t)tid;
	int64_t deadline = shmkit_now_ns() + ALLOC_WAIT_NS;
	for (int i = 0;; i++) {
		uint32_t seq = LOAD(&h->alloc_seq);
		uint64_t held = __atomic_load_n(&h->alloc_lock, __ATOMIC_SEQ_CST);
		int32_t id = (int32_t)(uint32_t)held;
		if (held == 0 || ((uint32_t)(held >> 32) == ns && (id == tid || !alive(id)))) {
			if (__atomic_compare_exchange_n(&h->alloc_lock, &held, me, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
				return 0;
			}
			continue;
		}
		if (i < 64) {
			sched_yield();
			continue;
		}
		int64_t now = shmkit_now_ns();
		if (now >= deadline) {
			return EBUSY;
		}
		int64_t until = now + ALLOC_LOOK_NS < deadline ? now + ALLOC_LOOK_NS : deadline;
		__atomic_add_fetch(&h->alloc_waiters, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&h->alloc_lock, __ATOMIC_SEQ_CST) == held) {
			shmkit_futex_wait(&h->alloc_seq, seq, until);
		}
		__atomic_sub_fetch(&h->alloc_waiters, 1, __ATOMIC_SEQ_CST);
	}
}

static void alloc_unlock(struct shmkit_header *h) {
	__atomic_store_n(&h->alloc_lock, 0, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&h->alloc_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&h->alloc_waiters, __ATOMIC_SEQ_CST) != 0) {
		syscall(SYS_futex, &h->alloc_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
}

/* alloc_locked does the work of alloc_object under both locks. */
static int alloc_locked(struct shmkit_segment *seg, const struct alloc_req *r, uint64_t length,
                        struct shmkit_object *out) {
	struct shmkit_header *h = (struct shmkit_header *)seg->base;
	struct shmkit_entry *dir = (struct shmkit_entry *)(seg->base + sizeof *h);
	struct shmkit_object o;
	uint64_t used = 0; /* the end of the last published object */
	uint32_t n = LOAD(&h->dir_count);
	if (n > seg->dir_capacity) {
		return SHMKIT_ECORRUPT;
	}
	for (uint32_t i = 0; i < n; i++) {
		int rc = shmkit_object_at(seg, i, &o);
		if (rc == SHMKIT_ECORRUPT) {
			return rc;
		}
		if (rc == 0 && strcmp(o.name, r->name) == 0) {
			return EEXIST;
		}
		if (rc == 0 && o.offset + o.length > used) {
			used = o.offset + o.length;
		}
	}
	/* A process that died between publishing an entry and counting it left
	 * a complete entry behind: count it and move on. */
	for (; n < seg->dir_capacity && LOAD(&dir[n].state) != SHMKIT_ENTRY_EMPTY; n++) {
		if (shmkit_object_at(seg, n, &o) != 0) {
			return SHMKIT_ECORRUPT;
		}
		if (o.offset + o.length > used) {
			used = o.offset + o.length;
		}
		STORE(&h->dir_count, n + 1);
	}
	if (n == seg->dir_capacity) {
		return ENOSPC;
	}
	uint64_t cur = LOAD(&h->alloc_cursor);
	if (cur < data_start(seg->dir_capacity) || cur > seg->size || cur % SHMKIT_ALIGN != 0 || cur < used) {
		return SHMKIT_ECORRUPT; /* below a live object: handing it out would overwrite that object */
	}
	if (length > seg->size - cur) {
		return ENOSPC;
	}
	/* Move the cursor first: if we die below, the bytes are lost, never
	 * handed out twice. Memory past the cursor is still zero. */
	STORE(&h->alloc_cursor, cur + length);
	struct shmkit_entry *e = &dir[n];
	memset(e->name, 0, sizeof e->name);
	strcpy(e->name, r->name);
	e->kind = r->kind;
	e->typecode = r->typecode;
	e->flags = r->flags;
	e->count = r->count;
	e->offset = cur;
	e->length = length;
	e->param0 = r->param0;
	e->param1 = r->param1;
	e->desc = r->desc != NULL ? r->desc_off : 0;
	memset(e->reserved, 0, sizeof e->reserved);
	if (r->desc != NULL) {
		memcpy(seg->base + cur + r->desc_off, r->desc, desc_bytes(r->desc));
	}
	int rc = r->init != NULL ? r->init(seg->base + cur, r) : 0;
	if (rc != 0) {
		return rc;
	}
	STORE(&e->state, SHMKIT_ENTRY_READY);
	STORE(&h->dir_count, n + 1);
	return shmkit_object_at(seg, n, out);
}

static int alloc_object(struct shmkit_segment *seg, const struct alloc_req *r, struct shmkit_object *out) {
	if (seg->fd < 0) {
		return EBADF; /* read-only, or mapped without its file */
	}
	if (r->name == NULL || shmkit_check_name(r->name, strlen(r->name), 1) != 0) {
		return EINVAL;
	}
	uint64_t length = align64(r->length);
	if (r->length == 0 || length < r->length) {
		return EINVAL;
	}
	struct shmkit_header *h = (struct shmkit_header *)seg->base;
	pthread_mutex_lock(&alloc_mu);
	int rc = alloc_lock(h);
	if (rc == 0) {
		rc = alloc_locked(seg, r, length, out);
		alloc_unlock(h);
	}
	pthread_mutex_unlock(&alloc_mu);
	if (rc == 0 && (out->kind == SHMKIT_KIND_VALUE || out->kind == SHMKIT_KIND_ARRAY)) {
		rc = check_elems(out);
	}
	return rc;
}

/* The element size of a request: its typecode's, or its (checked)
 * description's; 0 if neither is valid. */
static uint64_t req_elem_size(int typecode, const struct shmkit_struct_desc *desc) {
	return typecode == SHMKIT_TYPECODE_STRUCT ? shmkit_struct_size(desc) : shmkit_typecode_size(typecode);
}

/* add_desc places a record description after the r->length bytes of an
 * object being made, 64-aligned, and grows the object to hold it. */
static void add_desc(struct alloc_req *r, const struct shmkit_struct_desc *desc) {
	r->desc = desc;
	r->desc_off = align64(r->length);
	r->length = r->desc_off + desc_bytes(desc);
}

static int init_elems(uint8_t *mem, const struct alloc_req *r) {
	uint64_t bytes = r->count * r->elem_size;
	if (r->data != NULL) {
		memcpy(mem, r->data, bytes);
	}
	return r->flags & SHMKIT_FLAG_LOCKED ? shmkit_mutex_init(mem + align64(bytes), 1) : 0;
}

static int new_elems(struct shmkit_segment *seg, const char *name, int typecode,
                     const struct shmkit_struct_desc *desc, uint64_t count, int array, int locked, const void *init,
                     struct shmkit_object *out) {
	uint64_t size = req_elem_size(typecode, desc);
	if (size == 0 || (!array && count != 1) || count > INT64_MAX / size / 2) {
		return EINVAL;
	}
	uint64_t bytes = count * size;
	struct alloc_req r = {
	    .name = name, .kind = array ? SHMKIT_KIND_ARRAY : SHMKIT_KIND_VALUE, .typecode = (uint8_t)typecode,
	    .count = count, .length = bytes ? bytes : 1, .init = init_elems, .data = init, .elem_size = size,
	};
	if (locked) {
		r.flags = SHMKIT_FLAG_LOCKED;
		r.length = align64(bytes) + SHMKIT_SLOT_SIZE;
	}
	if (typecode == SHMKIT_TYPECODE_STRUCT) {
		add_desc(&r, desc);
	}
	return alloc_object(seg, &r, out);
}

int shmkit_new_elems(struct shmkit_segment *seg, const char *name, int typecode, uint64_t count, int array,
                     int locked, const void *init, struct shmkit_object *out) {
	if (typecode == SHMKIT_TYPECODE_STRUCT) {
		return EINVAL; /* structs need their description: shmkit_new_struct_elems */
	}
	return new_elems(seg, name, typecode, NULL, count, array, locked, init, out);
}

int shmkit_new_struct_elems(struct shmkit_segment *seg, const char *name, const struct shmkit_struct_desc *desc,
                            uint64_t count, int array, int locked, const void *init, struct shmkit_object *out) {
	return new_elems(seg, name, SHMKIT_TYPECODE_STRUCT, desc, count, array, locked, init, out);
}

static int init_semaphore(uint8_t *mem, const struct alloc_req *r) {
	return shmkit_sem_init((struct shmkit_semaphore *)mem, r->value,
	                       r->kind == SHMKIT_KIND_BOUNDED ? r->value : SHMKIT_SEM_VALUE_MAX);
}

int shmkit_new_semaphore(struct shmkit_segment *seg, const char *name, unsigned value, int bounded,
                         struct shmkit_object *out) {
	if (value > SHMKIT_SEM_VALUE_MAX) {
		return EINVAL;
	}
	struct alloc_req r = {
	    .name = name, .kind = bounded ? SHMKIT_KIND_BOUNDED : SHMKIT_KIND_SEMAPHORE,
	    .length = sizeof(struct shmkit_semaphore), .init = init_semaphore, .value = value,
	    .param0 = bounded ? value : 0,
	};
	return alloc_object(seg, &r, out);
}

static int init_mutex(uint8_t *mem, const struct alloc_req *r) {
	return shmkit_mutex_init(mem, r->kind == SHMKIT_KIND_RMUTEX);
}

int shmkit_new_mutex(struct shmkit_segment *seg, const char *name, int recursive, struct shmkit_object *out) {
	struct alloc_req r = {
	    .name = name, .kind = recursive ? SHMKIT_KIND_RMUTEX : SHMKIT_KIND_MUTEX,
	    .length = sizeof(struct shmkit_mutex), .init = init_mutex,
	};
	return alloc_object(seg, &r, out);
}

static int init_barrier(uint8_t *mem, const struct alloc_req *r) {
	return shmkit_barrier_init((struct shmkit_barrier *)mem, r->value);
}

int shmkit_new_cond(struct shmkit_segment *seg, const char *name, struct shmkit_object *out) {
	struct alloc_req r = {.name = name, .kind = SHMKIT_KIND_COND, .length = sizeof(struct shmkit_cond)};
	return alloc_object(seg, &r, out);
}

int shmkit_new_event(struct shmkit_segment *seg, const char *name, struct shmkit_object *out) {
	struct alloc_req r = {.name = name, .kind = SHMKIT_KIND_EVENT, .length = sizeof(struct shmkit_event)};
	return alloc_object(seg, &r, out);
}

int shmkit_new_barrier(struct shmkit_segment *seg, const char *name, uint32_t parties, struct shmkit_object *out) {
	if (parties < 1 || parties > INT32_MAX) {
		return EINVAL;
	}
	struct alloc_req r = {
	    .name = name, .kind = SHMKIT_KIND_BARRIER, .length = sizeof(struct shmkit_barrier),
	    .init = init_barrier, .value = parties,
	};
	return alloc_object(seg, &r, out);
}

static int init_channel(uint8_t *mem, const struct alloc_req *r) {
	struct shmkit_channel *h = (struct shmkit_channel *)mem;
	h->slots = (uint32_t)r->param0;
	h->max_len = (uint32_t)r->param1;
	h->elem_size = (uint32_t)r->elem_size;
	h->slot_stride = (uint32_t)r->value; /* the stride, from channel_geometry */
	h->pid_namespace = pid_namespace();
	if (r->flags & SHMKIT_FLAG_SPSC) {
		h->spsc = 1; /* the ring's zeroes match no record's stamp */
		return 0;
	}
	for (uint64_t i = 0; i < r->param0; i++) { /* slot i first serves position i */
		struct shmkit_slot *s = (struct shmkit_slot *)(mem + sizeof *h + i * h->slot_stride);
		s->state = ((2 * i) & ((1ull << 40) - 1)) << SHMKIT_SLOT_SEQ_SHIFT;
	}
	return 0;
}

static int new_channel(struct shmkit_segment *seg, const char *name, int typecode,
                       const struct shmkit_struct_desc *desc, uint32_t slots, uint32_t max_len, unsigned flags,
                       struct shmkit_object *out) {
	int spsc = (flags & SHMKIT_FLAG_SPSC) != 0;
	if (flags & ~(SHMKIT_FLAG_SPSC | SHMKIT_FLAG_JOINABLE)) {
		return EINVAL;
	}
	uint64_t size = req_elem_size(typecode, desc), stride, length, cap;
	if (channel_geometry(size, slots, max_len, &stride, &length) != 0 ||
	    (spsc && spsc_geometry(slots, stride, &cap, &length) != 0)) {
		return EINVAL;
	}
	struct alloc_req r = {
	    .name = name, .kind = SHMKIT_KIND_CHANNEL, .typecode = (uint8_t)typecode,
	    .flags = (uint8_t)flags, .length = length, .param0 = slots, .param1 = max_len,
	    .init = init_channel, .value = (uint32_t)stride, .elem_size = size,
	};
	if (typecode == SHMKIT_TYPECODE_STRUCT) {
		add_desc(&r, desc);
	}
	int rc = alloc_object(seg, &r, out);
	return rc == 0 ? check_channel(out) : rc;
}

int shmkit_new_channel(struct shmkit_segment *seg, const char *name, int typecode, uint32_t slots,
                       uint32_t max_len, struct shmkit_object *out) {
	return new_channel(seg, name, typecode, NULL, slots, max_len, 0, out);
}

int shmkit_new_spsc_channel(struct shmkit_segment *seg, const char *name, int typecode, uint32_t slots,
                            uint32_t max_len, struct shmkit_object *out) {
	return new_channel(seg, name, typecode, NULL, slots, max_len, SHMKIT_FLAG_SPSC, out);
}

int shmkit_new_channel_flags(struct shmkit_segment *seg, const char *name, int typecode, uint32_t slots,
                             uint32_t max_len, unsigned flags, struct shmkit_object *out) {
	return new_channel(seg, name, typecode, NULL, slots, max_len, flags, out);
}

int shmkit_new_struct_channel(struct shmkit_segment *seg, const char *name, const struct shmkit_struct_desc *desc,
                              uint32_t slots, uint32_t max_len, unsigned flags, struct shmkit_object *out) {
	return new_channel(seg, name, SHMKIT_TYPECODE_STRUCT, desc, slots, max_len, flags, out);
}

/* ---- Channels: the ring protocol of struct shmkit_channel ------------ */

#define SEQ_MASK ((1ull << 40) - 1)
#define SPIN_TRIES 128
#define MAX_HELPS (1 << 16)
#define SLICE_NS 250000000 /* a sleep slice, after which dead peers are looked for */

static uint64_t slot_state(uint64_t seq, int busy, uint32_t pid) {
	uint64_t s = (seq & SEQ_MASK) << SHMKIT_SLOT_SEQ_SHIFT;
	return busy ? s | SHMKIT_SLOT_BUSY | (pid & SHMKIT_SLOT_PID_MASK) : s;
}
static uint64_t state_seq(uint64_t st) { return st >> SHMKIT_SLOT_SEQ_SHIFT; }
static uint32_t state_owner(uint64_t st) { return st & SHMKIT_SLOT_BUSY ? (uint32_t)(st & SHMKIT_SLOT_PID_MASK) : 0; }
static uint64_t seq_of(uint64_t pos) { return (2 * pos) & SEQ_MASK; }
static int behind(uint64_t a, uint64_t b) { return ((a - b) & SEQ_MASK) >= (1ull << 39); }

/* Whether /proc says pid is a zombie or being reaped (as procs.Alive). */
static int exited(int32_t pid) {
	char path[32], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 0;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) {
		return 0;
	}
	buf[n] = 0;
	char *paren = strrchr(buf, ')');
	return paren != NULL && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

/* The largest id the kernel gives a process or thread: PID_MAX_LIMIT less
 * one, as Go's procs.MaxPID. An id outside 1..PID_LIMIT read from a segment
 * names nobody: kill would take 0 as our group and -1 as everyone. */
#define PID_LIMIT ((1 << 22) - 1)

static int alive(int32_t pid) {
	return pid > 0 && pid <= PID_LIMIT && (kill(pid, 0) == 0 || errno == EPERM) && !exited(pid);
}

/* Whether channel peer pid may be alive: always once processes of different
 * pid namespaces opened the channel, since a pid may then name a process
 * this one cannot see (see struct shmkit_channel). */
static int peer_alive(const struct shmkit_chan *ch, int32_t pid) {
	return LOAD(&ch->h->mixed_ns) != 0 || alive(pid);
}

static struct shmkit_slot *slot_at(const struct shmkit_chan *ch, uint64_t pos) {
	return (struct shmkit_slot *)(ch->slots_base + (pos % ch->slots) * ch->stride);
}
static void *slot_data(struct shmkit_slot *s) { return (uint8_t *)s + sizeof *s; }

/* populate maps the pages of o into this process now if it is at most
 * SHMKIT_POPULATE_MAX bytes, best effort: a
 * kernel before 5.14 refuses the advice, and the first lap then faults the
 * pages in. The advice reports a page it cannot map, never signals. Once
 * it has mapped them, a read of each page makes the first access now:
 * under a hypervisor with page tables of its own, that access still traps
 * to the host after the advice (about 5 µs a page on the build machine). */
static void populate(const struct shmkit_segment *seg, const struct shmkit_object *o) {
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = (uintptr_t)o->data & ~(page - 1);
	uintptr_t to = ((uintptr_t)o->data + o->length + page - 1) & ~(page - 1);
	uintptr_t end = (uintptr_t)seg->base + seg->size;
	if (o->length == 0 || o->length > SHMKIT_POPULATE_MAX || from < (uintptr_t)seg->base) {
		return;
	}
	to = to < end ? to : end;
	if (madvise((void *)from, to - from, seg->fd >= 0 ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) != 0) {
		return;
	}
	for (uintptr_t p = from; p < to; p += page) {
		(void)*(const volatile uint32_t *)p;
	}
}

/* mapped_writable reports whether the mapping holding addr may be written,
 * from /proc/self/maps; 1 if that cannot be read (memory the caller mapped
 * itself is then trusted to be writable, as before). */
static int mapped_writable(const void *addr) {
	FILE *f = fopen("/proc/self/maps", "re");
	if (f == NULL) {
		return 1;
	}
	char line[512];
	int writable = 1;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long from, to;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &from, &to, perms) == 3 && (uintptr_t)addr >= from && (uintptr_t)addr < to) {
			writable = perms[1] == 'w';
			break;
		}
	}
	fclose(f);
	return writable;
}

int shmkit_chan_open(const struct shmkit_segment *seg, const char *name, int typecode, struct shmkit_chan *ch) {
	struct shmkit_object o;
	int rc = shmkit_lookup(seg, name, SHMKIT_KIND_CHANNEL, typecode, &o);
	if (rc != 0) {
		return rc;
	}
	memset(ch, 0, sizeof *ch);
	ch->h = o.data;
	ch->slots_base = (uint8_t *)o.data + sizeof(struct shmkit_channel);
	ch->slots = o.param0;
	ch->max_len = (uint32_t)o.param1;
	ch->elem_size = (uint32_t)o.elem_size;
	/* The geometry the lookup checked, computed again from the private
	 * copy of the entry: never read back from the header, which another
	 * process may have changed since. */
	uint64_t length;
	channel_geometry(ch->elem_size, ch->slots, ch->max_len, &ch->stride, &length);
	ch->pid = (uint32_t)getpid();
	/* A segment without its file is read-only (shmkit_attach), or memory
	 * the caller mapped (shmkit_check): ask the mapping which. */
	ch->readonly = seg->fd < 0 && !mapped_writable(o.data);
	if (!ch->readonly && LOAD(&ch->h->pid_namespace) != pid_namespace()) {
		STORE_SC(&ch->h->mixed_ns, 1); /* before this process claims or registers anything */
	}
	ch->joinable = (o.flags & SHMKIT_FLAG_JOINABLE) != 0;
	if (o.flags & SHMKIT_FLAG_SPSC) {
		uint64_t length;
		spsc_geometry(ch->slots, ch->stride, &ch->cap, &length); /* checked by the lookup */
		ch->spsc = 1;
		ch->token = (uint64_t)ch->pid << 32 | ((uint32_t)((uintptr_t)ch ^ (uint64_t)shmkit_now_ns()) | 1u);
	}
	populate(seg, &o);
	return 0;
}

void shmkit_chan_close(struct shmkit_chan *ch) {
	if (ch->spsc && ch->send_leased) {
		ch->send_leased = 0;
		uint64_t token = ch->token;
		CAS(&ch->h->producer, token, 0);
	}
	if (ch->spsc && ch->recv_leased) {
		ch->recv_leased = 0;
		uint64_t token = ch->token;
		CAS(&ch->h->consumer, token, 0);
	}
}

/* record_peer puts pid in a peer table unless it is there: in an empty
 * entry or one whose process is dead. */
static void record_peer(struct shmkit_chan *ch, int32_t *table, int32_t pid) {
	for (int i = 0; i < SHMKIT_PEERS; i++) {
		if (LOAD(&table[i]) == pid) {
			return;
		}
	}
	for (int i = 0; i < SHMKIT_PEERS; i++) {
		int32_t p = LOAD(&table[i]);
		if ((p == 0 || !peer_alive(ch, p)) && CAS(&table[i], p, pid)) {
			return;
		}
	}
	STORE(&ch->h->peers_overflow, 1); /* not recorded: never report peers dead */
}

int shmkit_chan_register(struct shmkit_chan *ch, int sender) {
	if (ch->readonly) {
		return SHMKIT_EREADONLY;
	}
	int *flag = sender ? &ch->send_registered : &ch->recv_registered;
	int32_t *table = sender ? ch->h->producers : ch->h->consumers;
	if (*flag) {
		return 0;
	}
	*flag = 1;
	record_peer(ch, table, (int32_t)ch->pid);
	return 0;
}

int shmkit_chan_expect(struct shmkit_chan *ch, int sender, int32_t pid) {
	if (ch->readonly) {
		return SHMKIT_EREADONLY;
	}
	if (pid <= 0) {
		return EINVAL;
	}
	record_peer(ch, sender ? ch->h->producers : ch->h->consumers, pid);
	return 0;
}

static int all_dead(const struct shmkit_chan *ch, int32_t *table) {
	if (LOAD(&ch->h->peers_overflow) != 0) {
		return 0;
	}
	int seen = 0;
	for (int i = 0; i < SHMKIT_PEERS; i++) {
		int32_t p = LOAD(&table[i]);
		if (p != 0) {
			if (peer_alive(ch, p)) {
				return 0;
			}
			seen = 1;
		}
	}
	return seen;
}

/* Wakes the sleepers on seq if waiters counts any; a wake that woke nobody
 * marks that word stale for this handle (see struct shmkit_channel). */
static void wake_side(uint32_t *waiters, uint32_t *seq, uint32_t *stale) {
	uint32_t w = LOAD(waiters);
	if ((w & SHMKIT_WAITER_COUNT_MASK) == 0 || w == LOAD(stale)) {
		return;
	}
	__atomic_fetch_add(seq, 1, __ATOMIC_ACQ_REL);
	if (syscall(SYS_futex, seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0) == 0) {
		STORE(stale, w);
	}
}
static void wake_receivers(struct shmkit_chan *ch) {
	wake_side(&ch->h->recv_waiters, &ch->h->data_seq, &ch->recv_stale);
}
static void wake_senders(struct shmkit_chan *ch) {
	wake_side(&ch->h->send_waiters, &ch->h->space_seq, &ch->send_stale);
}

/* A claim attempt: 1 claimed, 0 must wait for *blk in state *blk_st, or an
 * error (negative: SHMKIT_ECORRUPT negated). */
static int claim_send(struct shmkit_chan *ch, uint64_t *pos_out, struct shmkit_slot **blk, uint64_t *blk_st) {
	for (int i = 0; i < MAX_HELPS; i++) {
		uint64_t pos = LOAD(&ch->h->tail);
		struct shmkit_slot *s = slot_at(ch, pos);
		uint64_t st = LOAD(&s->state), seq = state_seq(st), want = seq_of(pos);
		if (seq == want && !(st & SHMKIT_SLOT_BUSY)) {
			if (CAS(&s->state, st, slot_state(want, 1, ch->pid))) {
				uint64_t p = pos;
				CAS(&ch->h->tail, p, pos + 1);
				*pos_out = pos;
				return 1;
			}
		} else if (behind(seq, want)) {
			*blk = s;
			*blk_st = st;
			return 0; /* the previous lap is still there */
		} else {
			uint64_t p = pos;
			CAS(&ch->h->tail, p, pos + 1); /* help the tail on */
		}
	}
	return -SHMKIT_ECORRUPT;
}

static void publish(struct shmkit_chan *ch, uint64_t pos, uint32_t n) {
	struct shmkit_slot *s = slot_at(ch, pos);
	STORE(&s->len, n);
	STORE_SC(&s->state, slot_state(seq_of(pos) + 1, 0, 0));
}

/* 1 claimed (*n set), 0 wait, negative error; -SHMKIT_ESHORTBUF leaves the
 * message queued. */
static int claim_recv(struct shmkit_chan *ch, uint32_t cap, uint64_t *pos_out, uint32_t *n,
                      struct shmkit_slot **blk, uint64_t *blk_st) {
	for (int i = 0; i < MAX_HELPS; i++) {
		uint64_t pos = LOAD(&ch->h->head);
		struct shmkit_slot *s = slot_at(ch, pos);
		uint64_t st = LOAD(&s->state), seq = state_seq(st), full = seq_of(pos) + 1;
		if (seq == full && !(st & SHMKIT_SLOT_BUSY)) {
			uint32_t len = LOAD(&s->len);
			if (LOAD(&s->state) != st) {
				continue;
			}
			if (len != SHMKIT_LEN_SKIP && len > ch->max_len) {
				return -SHMKIT_ECORRUPT;
			}
			if (len != SHMKIT_LEN_SKIP && len > cap) {
				*n = len;
				return -SHMKIT_ESHORTBUF;
			}
			if (CAS(&s->state, st, slot_state(full, 1, ch->pid))) {
				uint64_t p = pos;
				CAS(&ch->h->head, p, pos + 1);
				*pos_out = pos;
				*n = len;
				return 1;
			}
		} else if (behind(seq, full)) {
			*blk = s;
			*blk_st = st;
			return 0;
		} else {
			uint64_t p = pos;
			CAS(&ch->h->head, p, pos + 1);
		}
	}
	return -SHMKIT_ECORRUPT;
}

static void free_slot(struct shmkit_chan *ch, uint64_t pos) {
	STORE_SC(&slot_at(ch, pos)->state, slot_state(seq_of(pos + ch->slots), 0, 0));
}

/* take_over frees a slot whose claimer died; 1 if it changed anything. */
static int take_over(struct shmkit_chan *ch, struct shmkit_slot *s, uint64_t st) {
	uint32_t pid = state_owner(st);
	if (s == NULL || pid == 0 || peer_alive(ch, (int32_t)pid)) {
		return 0;
	}
	uint64_t seq = state_seq(st), next;
	if ((seq & 1) == 0) { /* a producer died writing: publish "no message" */
		STORE(&s->len, SHMKIT_LEN_SKIP);
		next = slot_state(seq + 1, 0, 0);
	} else { /* a consumer died reading: free the slot */
		next = slot_state(seq - 1 + 2 * ch->slots, 0, 0);
	}
	if (CAS(&s->state, st, next)) {
		__atomic_fetch_add(&ch->h->recovered, 1, __ATOMIC_ACQ_REL);
		wake_receivers(ch);
		wake_senders(ch);
		return 1;
	}
	return 0;
}

/* An attempt of send or recv: 1 done, 0 wait, negative error. */
typedef int (*attempt_fn)(struct shmkit_chan *ch, void *arg);
/* Called after a whole slice with nothing moving: 0 or an error. */
typedef int (*stuck_fn)(struct shmkit_chan *ch, void *arg);

/* wait_for spins on try, then sleeps on seq counting itself in waiters,
 * as channel.waitFor does. */
static int membarrier_heavy(void);

static int wait_for(struct shmkit_chan *ch, int64_t deadline, uint32_t *seq, uint32_t *waiters,
                    attempt_fn try, stuck_fn stuck, void *arg) {
	for (int i = 0; i < SPIN_TRIES; i++) {
		int rc = try(ch, arg);
		if (rc != 0) {
			return rc;
		}
		/* As Go's channel waiter (wait.SpinSharedUntil): a pause from the first
		 * look, since each look takes the line the producer writes. With a
		 * sched_yield every 16 tries and nothing between the others, W3's
		 * C row slept on every hop on an Intel KVM guest: 10-14 µs a round
		 * trip, 1.6-2.7 µs with spin_look. */
		if (!spin_look(i < SPIN_HOT ? SPIN_HOT : i, deadline)) {
			break;
		}
	}
	int idle = 0;
	for (;;) {
		int64_t now = shmkit_now_ns();
		if (now >= deadline) {
			return -ETIMEDOUT;
		}
		int64_t until = deadline - now > SLICE_NS ? now + SLICE_NS : deadline;
		uint32_t v = LOAD(seq); /* before registering: see wake_side */
		__atomic_fetch_add(waiters, SHMKIT_WAITER_REGISTER, __ATOMIC_SEQ_CST);
		int rc = ch->spsc ? membarrier_heavy() : 0; /* the other side publishes without a fence */
		rc = rc != 0 ? -rc : try(ch, arg);
		if (rc == 0 && idle) {
			rc = stuck(ch, arg);
			rc = rc > 0 ? -rc : rc;
		}
		if (rc == 0) {
			int w = shmkit_futex_wait(seq, v, until);
			idle = w == ETIMEDOUT;
			rc = w != 0 && w != ETIMEDOUT ? -w : try(ch, arg);
		}
		__atomic_fetch_sub(waiters, 1, __ATOMIC_ACQ_REL);
		if (rc != 0) {
			return rc;
		}
	}
}

struct send_op {
	uint64_t pos;
	struct shmkit_slot *blk;
	uint64_t blk_st;
};

static int send_attempt(struct shmkit_chan *ch, void *arg) {
	struct send_op *op = arg;
	if (LOAD(&ch->h->closed) != 0) {
		return -SHMKIT_EENDED;
	}
	return claim_send(ch, &op->pos, &op->blk, &op->blk_st);
}

static int send_stuck(struct shmkit_chan *ch, void *arg) {
	struct send_op *op = arg;
	return !take_over(ch, op->blk, op->blk_st) && all_dead(ch, ch->h->consumers) ? SHMKIT_EPEERDEAD : 0;
}

static int spsc_send(struct shmkit_chan *ch, const void *data, uint32_t n, int64_t deadline_ns);
static int spsc_recv(struct shmkit_chan *ch, void *buf, uint32_t cap, uint32_t *n, int64_t deadline_ns);
static uint64_t spsc_len(const struct shmkit_chan *ch);

static int chan_send(struct shmkit_chan *ch, const void *data, uint32_t n, int64_t deadline_ns);

/* One message done: unfinished - 1, never below 0, waking joiners at 0. */
static int task_done(struct shmkit_chan *ch) {
	uint32_t v = __atomic_load_n(&ch->h->unfinished, __ATOMIC_SEQ_CST);
	do {
		if (v == 0) {
			return EINVAL;
		}
	} while (!__atomic_compare_exchange_n(&ch->h->unfinished, &v, v - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	if (v == 1 && __atomic_load_n(&ch->h->join_waiters, __ATOMIC_SEQ_CST) != 0) {
		shmkit_futex_wake(&ch->h->unfinished, INT_MAX);
	}
	return 0;
}

int shmkit_chan_send(struct shmkit_chan *ch, const void *data, uint32_t n, int64_t deadline_ns) {
	if (ch->readonly) {
		return SHMKIT_EREADONLY;
	}
	return chan_send(ch, data, n, deadline_ns);
}

/* received counts a message this process claimed, on a joinable channel:
 * a message counts from its receiver on, so one that never entered the
 * ring never counts (see struct shmkit_channel). */
static void received(struct shmkit_chan *ch) {
	if (ch->joinable) {
		__atomic_add_fetch(&ch->h->unfinished, 1, __ATOMIC_SEQ_CST);
	}
}

static int spsc_end(const struct shmkit_chan *ch, uint64_t pos, uint64_t *end, uint64_t *count);

/* Whether the ring holds a message no receiver has counted yet: published
 * and not freed, or claimed by a receiver. A dead receiver's claim is taken
 * over, so that join does not wait for it. */
static int queued(struct shmkit_chan *ch) {
	if (ch->spsc) {
		uint64_t end, count;
		int rc = spsc_end(ch, LOAD(&ch->h->head), &end, &count);
		return count > 0 || rc != 0; /* a record that does not read right: wait */
	}
	for (uint64_t i = 0; i < ch->slots; i++) {
		struct shmkit_slot *s = slot_at(ch, i);
		uint64_t st = LOAD(&s->state);
		if ((state_seq(st) & 1) == 0) {
			continue; /* empty, or a producer writing: not sent yet */
		}
		if (state_owner(st) != 0) {
			if (!take_over(ch, s, st)) {
				return 1;
			}
		} else if (LOAD(&s->len) != SHMKIT_LEN_SKIP || LOAD(&s->state) != st) {
			return 1;
		}
	}
	return 0;
}

static int join_done(struct shmkit_chan *ch) {
	return !queued(ch) && __atomic_load_n(&ch->h->unfinished, __ATOMIC_SEQ_CST) == 0;
}

int shmkit_chan_task_done(struct shmkit_chan *ch) {
	if (ch->readonly) { /* first, as Go's TaskDone */
		return SHMKIT_EREADONLY;
	}
	return ch->joinable ? task_done(ch) : ENOTSUP;
}

int shmkit_chan_join(struct shmkit_chan *ch, int64_t deadline_ns) {
	if (ch->readonly) {
		return SHMKIT_EREADONLY;
	}
	if (!ch->joinable) {
		return ENOTSUP;
	}
	for (;;) {
		if (join_done(ch)) {
			return 0;
		}
		int64_t now = shmkit_now_ns();
		if (deadline_ns != SHMKIT_FOREVER && now >= deadline_ns) {
			return ETIMEDOUT;
		}
		int64_t until = deadline_ns == SHMKIT_FOREVER || deadline_ns - now > SLICE_NS ? now + SLICE_NS : deadline_ns;
		__atomic_add_fetch(&ch->h->join_waiters, 1, __ATOMIC_SEQ_CST);
		uint32_t v = __atomic_load_n(&ch->h->unfinished, __ATOMIC_SEQ_CST);
		int rc = 0;
		if (join_done(ch)) {
			rc = -1;
		} else if (queued(ch) && all_dead(ch, ch->h->consumers)) {
			rc = SHMKIT_EPEERDEAD; /* queued messages no receiver is left to take */
		} else { /* task_done wakes us at 0; anything else, the slice's end */
			shmkit_futex_wait(&ch->h->unfinished, v, until);
		}
		__atomic_sub_fetch(&ch->h->join_waiters, 1, __ATOMIC_SEQ_CST);
		if (rc != 0) {
			return rc < 0 ? 0 : rc;
		}
	}
}

static int chan_send(struct shmkit_chan *ch, const void *data, uint32_t n, int64_t deadline_ns) {
	if (n > ch->max_len) {
		return SHMKIT_ETOOLARGE;
	}
	shmkit_chan_register(ch, 1);
	if (ch->spsc) {
		return spsc_send(ch, data, n, deadline_ns);
	}
	struct send_op op = {0};
	int rc = send_attempt(ch, &op);
	if (rc == 0 && deadline_ns <= 0) {
		rc = -EAGAIN;
	} else if (rc == 0) {
		rc = wait_for(ch, deadline_ns, &ch->h->space_seq, &ch->h->send_waiters, send_attempt, send_stuck, &op);
	}
	if (rc < 0) {
		return -rc;
	}
	if (LOAD(&ch->h->closed) != 0) { /* closed after we claimed: no message */
		publish(ch, op.pos, SHMKIT_LEN_SKIP);
		wake_receivers(ch);
		return SHMKIT_EENDED;
	}
	memcpy(slot_data(slot_at(ch, op.pos)), data, (size_t)n * ch->elem_size);
	publish(ch, op.pos, n);
	wake_receivers(ch);
	return 0;
}

struct recv_op {
	uint32_t cap;
	uint64_t pos;
	uint32_t n;
	struct shmkit_slot *blk;
	uint64_t blk_st;
};

static int recv_attempt(struct shmkit_chan *ch, void *arg) {
	struct recv_op *op = arg;
	for (;;) {
		int closed = LOAD(&ch->h->closed) != 0; /* before looking: see docs/channel.md */
		op->blk = NULL;
		int rc = claim_recv(ch, op->cap, &op->pos, &op->n, &op->blk, &op->blk_st);
		if (rc < 0) {
			return rc;
		}
		if (rc == 0) {
			return closed && state_owner(op->blk_st) == 0 ? -SHMKIT_EEOF : 0;
		}
		if (op->n != SHMKIT_LEN_SKIP) {
			return 1;
		}
		free_slot(ch, op->pos); /* a message that never was: drop it */
		wake_senders(ch);
	}
}

static int recv_stuck(struct shmkit_chan *ch, void *arg) {
	struct recv_op *op = arg;
	return !take_over(ch, op->blk, op->blk_st) && LOAD(&ch->h->closed) == 0 && all_dead(ch, ch->h->producers)
	           ? SHMKIT_EPEERDEAD
	           : 0;
}

int shmkit_chan_recv(struct shmkit_chan *ch, void *buf, uint32_t cap, uint32_t *n, int64_t deadline_ns) {
	int rc = shmkit_chan_register(ch, 0);
	if (rc != 0) {
		return rc;
	}
	if (ch->spsc) {
		return spsc_recv(ch, buf, cap, n, deadline_ns);
	}
	struct recv_op op = {.cap = cap};
	rc = recv_attempt(ch, &op);
	if (rc == 0 && deadline_ns <= 0) {
		rc = -EAGAIN;
	} else if (rc == 0) {
		rc = wait_for(ch, deadline_ns, &ch->h->data_seq, &ch->h->recv_waiters, recv_attempt, recv_stuck, &op);
	}
	if (rc < 0) {
		if (rc == -SHMKIT_ESHORTBUF) {
			*n = op.n;
		}
		return -rc;
	}
	received(ch); /* while the slot is still claimed */
	memcpy(buf, slot_data(slot_at(ch, op.pos)), (size_t)op.n * ch->elem_size);
	*n = op.n;
	free_slot(ch, op.pos);
	wake_senders(ch);
	return 0;
}

int shmkit_chan_end(struct shmkit_chan *ch) {
	if (ch->readonly) {
		return SHMKIT_EREADONLY;
	}
	uint32_t open = 0;
	if (!CAS(&ch->h->closed, open, 1)) {
		return SHMKIT_EENDED;
	}
	__atomic_fetch_add(&ch->h->data_seq, 1, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&ch->h->space_seq, 1, __ATOMIC_ACQ_REL);
	shmkit_futex_wake(&ch->h->data_seq, INT_MAX);
	shmkit_futex_wake(&ch->h->space_seq, INT_MAX);
	return 0;
}

uint64_t shmkit_chan_len(const struct shmkit_chan *ch) {
	if (ch->spsc) {
		return spsc_len(ch);
	}
	uint64_t t = LOAD(&ch->h->tail), h = LOAD(&ch->h->head);
	return t <= h ? 0 : (t - h < ch->slots ? t - h : ch->slots);
}

/* ---- Channels: the SPSC protocol (SHMKIT_FLAG_SPSC) ------------------- */

#ifndef MEMBARRIER_CMD_GLOBAL_EXPEDITED
#define MEMBARRIER_CMD_QUERY 0
#define MEMBARRIER_CMD_GLOBAL_EXPEDITED (1 << 1)
#define MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED (1 << 2)
#endif

static pthread_once_t membarrier_once = PTHREAD_ONCE_INIT;
static int membarrier_rc;

static void membarrier_register(void) {
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
	int want = MEMBARRIER_CMD_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
	if (cmds < 0 || (cmds & want) != want ||
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0) != 0) {
		membarrier_rc = ENOSYS;
	}
}

/* Every running thread of every registered process runs a full barrier. */
static int membarrier_heavy(void) {
	while (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0) != 0) {
		if (errno != EINTR) {
			return errno;
		}
	}
	return 0;
}

#define REC_HEADER 8u

static uint32_t stamp(uint64_t pos) { return (uint32_t)(pos >> 3) | 1u; }
static uint64_t header_word(uint64_t pos, uint32_t low) { return (uint64_t)stamp(pos) << 32 | low; }
static uint64_t record_size(const struct shmkit_chan *ch, uint64_t n) {
	return REC_HEADER + ((n * ch->elem_size + 7) & ~(uint64_t)7);
}
static uint64_t *ring_word(const struct shmkit_chan *ch, uint64_t off) { return (uint64_t *)(ch->slots_base + off); }
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* The position after a pad record at pos: the next one whose elements
 * start on a 64-byte line. */
static uint64_t spsc_after_pad(uint64_t pos) { return ((pos + REC_HEADER + 63) & ~(uint64_t)63) - REC_HEADER; }

/* What the header at pos holds: 1 a message of *n elements, 2 a skip
 * record, 3 a pad record, 0 nothing yet, or -SHMKIT_ECORRUPT. */
static int spsc_record(const struct shmkit_chan *ch, uint64_t pos, uint32_t *n) {
	if (pos % REC_HEADER != 0) {
		return -SHMKIT_ECORRUPT; /* a head stored by no shmkit consumer: its word would cross the ring's end */
	}
	uint64_t off = pos % ch->cap, hd = LOAD(ring_word(ch, off));
	uint32_t low = (uint32_t)hd;
	if ((uint32_t)(hd >> 32) != stamp(pos)) {
		return 0;
	}
	if (low == SHMKIT_LEN_SKIP) {
		return 2;
	}
	if (low == SHMKIT_LEN_PAD) {
		return spsc_after_pad(pos) == pos ? -SHMKIT_ECORRUPT : 3;
	}
	if (low == 0 || low - 1 > ch->max_len || off + record_size(ch, low - 1) > ch->cap) {
		return -SHMKIT_ECORRUPT;
	}
	*n = low - 1;
	return 1;
}

/* The position after the last published record from pos; *count messages. */
static int spsc_end(const struct shmkit_chan *ch, uint64_t pos, uint64_t *end, uint64_t *count) {
	*count = 0;
	for (uint64_t i = 0; i < ch->cap / REC_HEADER; i++) {
		uint32_t n = 0;
		int rc = spsc_record(ch, pos, &n);
		if (rc <= 0) {
			*end = pos;
			return -rc;
		}
		if (rc == 2) {
			pos += ch->cap - pos % ch->cap;
		} else if (rc == 3) {
			pos = spsc_after_pad(pos);
		} else {
			pos += record_size(ch, n);
			(*count)++;
		}
	}
	return SHMKIT_ECORRUPT;
}

static int spsc_lease(struct shmkit_chan *ch, uint64_t *word) {
	pthread_once(&membarrier_once, membarrier_register);
	if (membarrier_rc != 0) {
		return membarrier_rc;
	}
	for (;;) {
		uint64_t cur = LOAD(word);
		if (cur == ch->token) {
			return 0;
		}
		if (cur != 0 && peer_alive(ch, (int32_t)(cur >> 32))) {
			return SHMKIT_EINUSE;
		}
		if (CAS(word, cur, ch->token)) {
			return 0;
		}
	}
}

struct spsc_send_op {
	uint64_t size, at, pad;
};

/* A message whose elements take this many bytes or more is padded to start
 * them on a 64-byte line (Go's padMin), unless the pad and the record would
 * take more than a stride: within one the ring still holds slots messages. */
#define SPSC_PAD_MIN 1024u

static uint64_t spsc_pad_before(const struct shmkit_chan *ch, uint64_t off, uint64_t size) {
	if (size < REC_HEADER + SPSC_PAD_MIN) {
		return 0;
	}
	uint64_t pad = spsc_after_pad(off) - off;
	return pad + size <= ch->stride ? pad : 0;
}

/* Reserve room as channel's reserve does: 1 with op->at and op->pad, 0
 * wait, negative error. */
static int spsc_reserve(struct shmkit_chan *ch, void *arg) {
	struct spsc_send_op *op = arg;
	if (LOAD(&ch->h->closed) != 0) {
		return -SHMKIT_EENDED;
	}
	uint64_t off = ch->tail % ch->cap, skip = 0;
	uint64_t pad = spsc_pad_before(ch, off, op->size);
	if (off + pad + op->size > ch->cap) {
		skip = ch->cap - off;
		pad = spsc_pad_before(ch, 0, op->size);
	}
	uint64_t end = ch->tail + skip + pad + op->size;
	if (end % ch->cap != 0) {
		end += REC_HEADER;
	}
	if (end - ch->head_seen > ch->cap && end - (ch->head_seen = LOAD(&ch->h->head)) > ch->cap) {
		return 0;
	}
	if (skip > 0) {
		STORE_REL(ring_word(ch, off), header_word(ch->tail, SHMKIT_LEN_SKIP));
		ch->tail += skip;
		off = 0;
	}
	op->at = off;
	op->pad = pad;
	return 1;
}

static int spsc_send_stuck(struct shmkit_chan *ch, void *arg) {
	(void)arg;
	return all_dead(ch, ch->h->consumers) ? SHMKIT_EPEERDEAD : 0;
}

/* spsc_lease_send takes the sending side, and finds where the messages
 * published so far end. */
static int spsc_lease_send(struct shmkit_chan *ch) {
	int rc;
	if (!ch->send_leased) {
		uint64_t count;
		if ((rc = spsc_lease(ch, &ch->h->producer)) != 0 ||
		    (rc = spsc_end(ch, ch->head_seen = LOAD(&ch->h->head), &ch->tail, &count)) != 0) {
			return rc;
		}
		ch->send_leased = 1;
	}
	return 0;
}

/* spsc_reserve_wait reserves room for a record of op->size bytes, waiting
 * until deadline_ns for it: 0, or an error (EAGAIN where it may not wait). */
static int spsc_reserve_wait(struct shmkit_chan *ch, struct spsc_send_op *op, int64_t deadline_ns) {
	int rc = spsc_reserve(ch, op);
	if (rc == 0 && deadline_ns <= 0) {
		rc = -EAGAIN;
	} else if (rc == 0) {
		rc = wait_for(ch, deadline_ns, &ch->h->space_seq, &ch->h->send_waiters, spsc_reserve, spsc_send_stuck, op);
	}
	return rc < 0 ? -rc : 0;
}

static int spsc_send(struct shmkit_chan *ch, const void *data, uint32_t n, int64_t deadline_ns) {
	int rc = spsc_lease_send(ch);
	if (rc != 0) {
		return rc;
	}
	struct spsc_send_op op = {.size = record_size(ch, n)};
	if ((rc = spsc_reserve_wait(ch, &op, deadline_ns)) != 0) {
		return rc;
	}
	uint64_t rec = op.at + op.pad;
	memcpy(ch->slots_base + rec + REC_HEADER, data, (size_t)n * ch->elem_size);
	if (rec + op.size < ch->cap) {
		STORE_REL(ring_word(ch, rec + op.size), 0); /* old elements there never read as a header */
	}
	STORE_REL(ring_word(ch, rec), header_word(ch->tail + op.pad, n + 1));
	if (op.pad > 0) { /* after the message's header: a consumer never passes the pad to find nothing */
		STORE_REL(ring_word(ch, op.at), header_word(ch->tail, SHMKIT_LEN_PAD));
	}
	ch->tail += op.pad + op.size;
	/* Closed meanwhile: the message may still be received before the end
	 * of stream, but the consumer may have ended it first (see channel's
	 * publish). Open here: a consumer's end of stream comes after a heavy
	 * barrier that shows it this header. */
	rc = LOAD(&ch->h->closed) != 0 ? SHMKIT_EENDED : 0;
	wake_receivers(ch);
	return rc;
}

struct spsc_recv_op {
	uint32_t cap, n;
	uint64_t at;
};

/* peek as channel's: 1 with op->at and op->n, 0 wait, negative error. At
 * most a skip record, then a pad record, come before a message; the
 * position moves past them only with the message behind them, so that a
 * corrupt chain of them is reported at every look. */
static int spsc_peek(struct shmkit_chan *ch, struct spsc_recv_op *op) {
	int passed = 0; /* 2: a skip record, 3: a pad record */
	uint64_t pos = ch->head;
	for (int i = 0; i < 3; i++) {
		uint32_t n = 0;
		int rc = spsc_record(ch, pos, &n);
		if (rc <= 0) {
			return rc;
		}
		if (rc >= 2 && passed >= rc) {
			return -SHMKIT_ECORRUPT; /* a skip after a pad, or two of a kind */
		}
		if (rc == 2) {
			pos += ch->cap - pos % ch->cap;
			passed = rc;
			continue;
		}
		if (rc == 3) {
			pos = spsc_after_pad(pos);
			passed = rc;
			continue;
		}
		op->n = n;
		if (n > op->cap) {
			return -SHMKIT_ESHORTBUF;
		}
		ch->head = pos;
		op->at = pos % ch->cap;
		return 1;
	}
	return -SHMKIT_ECORRUPT;
}

static int spsc_try_recv(struct shmkit_chan *ch, void *arg) {
	struct spsc_recv_op *op = arg;
	int closed = LOAD(&ch->h->closed) != 0;
	int rc = spsc_peek(ch, op);
	if (rc != 0 || !closed) {
		return rc;
	}
	if (ch->eof) {
		return -SHMKIT_EEOF;
	}
	if ((rc = membarrier_heavy()) != 0) {
		return -rc;
	}
	if ((rc = spsc_peek(ch, op)) != 0) {
		return rc;
	}
	ch->eof = 1;
	return -SHMKIT_EEOF;
}

static int spsc_recv_stuck(struct shmkit_chan *ch, void *arg) {
	(void)arg;
	return LOAD(&ch->h->closed) == 0 && all_dead(ch, ch->h->producers) ? SHMKIT_EPEERDEAD : 0;
}

static int spsc_recv(struct shmkit_chan *ch, void *buf, uint32_t cap, uint32_t *n, int64_t deadline_ns) {
	int rc;
	if (!ch->recv_leased) {
		if ((rc = spsc_lease(ch, &ch->h->consumer)) != 0) {
			return rc;
		}
		if ((ch->head = LOAD(&ch->h->head)) % REC_HEADER != 0) {
			return SHMKIT_ECORRUPT;
		}
		ch->recv_leased = 1;
	}
	struct spsc_recv_op op = {.cap = cap};
	rc = spsc_try_recv(ch, &op);
	if (rc == 0 && deadline_ns <= 0) {
		rc = -EAGAIN;
	} else if (rc == 0) {
		rc = wait_for(ch, deadline_ns, &ch->h->data_seq, &ch->h->recv_waiters, spsc_try_recv, spsc_recv_stuck, &op);
	}
	if (rc < 0) {
		if (rc == -SHMKIT_ESHORTBUF) {
			*n = op.n;
		}
		return -rc;
	}
	received(ch); /* before the message leaves the ring */
	memcpy(buf, ch->slots_base + op.at + REC_HEADER, (size_t)op.n * ch->elem_size);
	*n = op.n;
	ch->head += record_size(ch, op.n);
	STORE_REL(&ch->h->head, ch->head);
	wake_senders(ch);
	return 0;
}

static uint64_t spsc_len(const struct shmkit_chan *ch) {
	uint64_t end, count;
	spsc_end(ch, LOAD(&ch->h->head), &end, &count);
	return count;
}

/* ---- Streams of single values ----------------------------------------- */

/* spsc_room is how many records of size bytes fit behind the head the
 * producer last read, each with the word after it. */
static uint64_t spsc_room(const struct shmkit_chan *ch, uint64_t size) {
	uint64_t used = ch->tail - ch->head_seen + REC_HEADER;
	return used >= ch->cap ? 0 : (ch->cap - used) / size;
}

/* spsc_send_run writes values from data as one-element records, the first
 * at the position spsc_reserve gave op: as many as fit before the ring's
 * end and in the room last seen (or seen now), each with the word after
 * it zeroed by the next record's header, and the word after the last by a
 * store of its own. Every store is relaxed but the first record's header,
 * stored last with a release store, so a consumer sees the run whole or
 * not at all (Go's Writer.SendValues). It returns how many it wrote. */
static uint64_t spsc_send_run(struct shmkit_chan *ch, const struct spsc_send_op *op, const uint8_t *data,
                              uint64_t count) {
	uint64_t size = op->size, at = op->at, es = ch->elem_size, m = 1;
	if (at + size < ch->cap) { /* m records need at + m*size < cap and tail + m*size + 8 - head <= cap */
		uint64_t want = count < (ch->cap - at - 1) / size ? count : (ch->cap - at - 1) / size;
		uint64_t room = spsc_room(ch, size);
		if (room < want) {
			ch->head_seen = LOAD(&ch->h->head);
			room = spsc_room(ch, size);
		}
		m = want < room ? want : room; /* reserve found room for one */
	}
	for (uint64_t i = 1; i < m; i++) {
		memcpy(ch->slots_base + at + i * size + REC_HEADER, data + i * es, (size_t)es);
		__atomic_store_n(ring_word(ch, at + i * size), header_word(ch->tail + i * size, 2), __ATOMIC_RELAXED);
	}
	memcpy(ch->slots_base + at + REC_HEADER, data, (size_t)es);
	if (at + m * size < ch->cap) {
		__atomic_store_n(ring_word(ch, at + m * size), 0, __ATOMIC_RELAXED); /* old elements there never read as a header */
	}
	STORE_REL(ring_word(ch, at), header_word(ch->tail, 2));
	return m;
}

static int spsc_send_values(struct shmkit_chan *ch, const uint8_t *data, uint64_t count, uint64_t *sent,
                            int64_t deadline_ns) {
	while (*sent < count) {
		struct spsc_send_op op = {.size = record_size(ch, 1)};
		int rc = spsc_reserve_wait(ch, &op, deadline_ns);
		if (rc != 0) {
			return rc;
		}
		uint64_t m = spsc_send_run(ch, &op, data + *sent * ch->elem_size, count - *sent);
		ch->tail += m * op.size;
		*sent += m;
		rc = LOAD(&ch->h->closed) != 0 ? SHMKIT_EENDED : 0; /* as spsc_send */
		wake_receivers(ch);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

int shmkit_chan_send_values(struct shmkit_chan *ch, const void *data, uint64_t count, uint64_t *sent,
                            int64_t deadline_ns) {
	*sent = 0;
	if (ch->readonly) {
		return SHMKIT_EREADONLY;
	}
	if (count == 0) {
		return 0;
	}
	if (ch->max_len < 1) {
		return SHMKIT_ETOOLARGE;
	}
	const uint8_t *p = data;
	shmkit_chan_register(ch, 1);
	if (ch->spsc && record_size(ch, 1) < REC_HEADER + SPSC_PAD_MIN) {
		int rc = spsc_lease_send(ch);
		return rc != 0 ? rc : spsc_send_values(ch, p, count, sent, deadline_ns);
	}
	for (; *sent < count; (*sent)++) { /* any-to-any, or elements padded to a line: one send each */
		int rc = chan_send(ch, p + *sent * ch->elem_size, 1, deadline_ns);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

/* spsc_take_values takes every one-element message that is ready, passing
 * skip records, into buf from element *n on, up to cap, and stores head
 * once after the last. An empty message is taken and ends the batch: it
 * returns 1 then, else 0 (anything taken or not). It stops at anything
 * else (nothing yet, another length, a pad, a corrupt header), for
 * shmkit_chan_recv to handle. */
static int spsc_take_values(struct shmkit_chan *ch, uint8_t *buf, uint64_t cap, uint64_t *n) {
	uint64_t size = record_size(ch, 1), es = ch->elem_size, pos = ch->head, taken = pos;
	int empty = 0;
	while (*n < cap) {
		uint64_t off = pos % ch->cap, hd = LOAD(ring_word(ch, off));
		if (hd == header_word(pos, 2) && off + size <= ch->cap) {
			memcpy(buf + *n * es, ch->slots_base + off + REC_HEADER, (size_t)es);
			(*n)++;
			taken = pos += size;
		} else if (hd == header_word(pos, 1)) {
			taken = pos += REC_HEADER;
			empty = 1;
			break;
		} else if (hd == header_word(pos, SHMKIT_LEN_SKIP) && off != 0) {
			pos += ch->cap - off; /* counts only with a message behind it */
		} else {
			break;
		}
	}
	if (taken != ch->head) {
		ch->head = taken;
		STORE_REL(&ch->h->head, taken);
		wake_senders(ch);
	}
	return empty;
}

int shmkit_chan_recv_values(struct shmkit_chan *ch, void *buf, uint64_t cap, uint64_t *n, int64_t deadline_ns) {
	*n = 0;
	if (ch->readonly) {
		return SHMKIT_EREADONLY;
	}
	if (cap == 0) {
		return 0;
	}
	uint8_t *p = buf;
	int fast = ch->spsc && !ch->joinable;
	if (fast && ch->recv_leased && (spsc_take_values(ch, p, cap, n) || *n > 0)) {
		return 0;
	}
	uint32_t got = 0;
	int rc = shmkit_chan_recv(ch, p, 1, &got, deadline_ns); /* waits; a longer message stays: SHMKIT_ESHORTBUF */
	if (rc != 0 || got == 0) {
		return rc; /* an empty message is taken and ends the batch */
	}
	*n = 1;
	if (ch->joinable) {
		return 0; /* one message a call: an empty one taken unseen after values would be owed a task_done */
	}
	if (fast) {
		spsc_take_values(ch, p, cap, n); /* all that is ready: nothing is left for the loop below */
		return 0;
	}
	while (*n < cap) { /* any-to-any: one receive each, of what is queued */
		if (shmkit_chan_recv(ch, p + *n * ch->elem_size, 1, &got, 0) != 0 || got == 0) {
			break; /* an error comes again on the next call */
		}
		(*n)++;
	}
	return 0;
}

/* ===================================================================== */
/* Shared dicts and lists (SHMKIT_KIND_DICT, SHMKIT_KIND_LIST)           */
/* ===================================================================== */
/* The layout and protocol are in shmkit.h; docs/design.md explains the
 * publication and the recovery. Helpers here are prefixed dict_. */

#include <sys/random.h>

struct shmkit_dict {
	uint8_t *base;        /* a reservation of SHMKIT_DICT_HEAP_MAX bytes */
	uint64_t mapped;      /* bytes of the heap mapped from base (atomic) */
	int fd;
	int readonly;
	uint32_t kind;
	uint64_t id;
	pthread_mutex_t map_mu; /* threads of this process extending the mapping */
};

#define DICT_HEAP(d) ((struct shmkit_dict_heap *)(d)->base)
#define DICT_INITIAL_HEAP (64u << 10)
#define DICT_MIN_SLOTS 8u
#define DICT_SPINS 64      /* attempts a reader makes before it nudges the lock */
#define DICT_RO_NUDGES 100000 /* a read-only reader's patience with a slot left odd */
#define RELAXED_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define RELAXED_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* dict_tail reads the last n < 8 bytes as a little-endian number, as
 * memcpy into a zeroed uint64_t would, in two loads rather than n. */
static inline uint64_t dict_tail(const uint8_t *p, uint64_t n) {
	if (n >= 4) {
		uint32_t lo, hi; /* overlapping when n < 8: the shared bytes are the same */
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		return lo | (uint64_t)hi << (8 * (n - 4));
	}
	if (n == 0) {
		return 0;
	}
	return p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) | (uint64_t)p[n - 1] << (8 * (n - 1));
}

/* Go's dict reader has a port of it (dict/hash.go; TestHashMatchesC). */
static uint64_t dict_hash(int tag, const uint8_t *p, uint64_t n) {
	uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)(uint8_t)tag << 56) ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
		h ^= h >> 31;
		p += 8;
		n -= 8;
	}
	h = (h ^ dict_tail(p, n)) * 0x94D049BB133111EBull;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return h;
}

/* Block sizes are multiples of 8. Free blocks of up to 1024 bytes have a
 * list per size; larger ones a list per power of two (from class
 * DICT_LARGE: 1032..2047 bytes, then 2048..4095, ...), served first fit. A
 * request whose own list has nothing that fits is cut from a block of the
 * next list up that has one. Neighbouring free blocks are
 * merged when enough has been freed (dict_rebuild), so freed space serves
 * any later size and the heap does not fragment as values change size. */
#define DICT_LARGE 127u
#define DICT_LAST_CLASS (DICT_LARGE + 21u) /* blocks of 2^31 bytes */
#define DICT_LARGE_LOOKS 64 /* large free blocks looked at per allocation */
#define DICT_BLOCK_MAX (1ull << 31)
#define DICT_MERGE_SHARE 8 /* merge when 1/8 of the blocks' bytes were freed since the last merge */

static uint64_t dict_round(uint64_t n) {
	if (n < 16) {
		n = 16;
	}
	n = (n + 7) & ~7ull;
	return n <= DICT_BLOCK_MAX ? n : 0;
}

static unsigned dict_class(uint64_t size) {
	return size <= 1024 ? (unsigned)(size / 8 - 2) : DICT_LARGE + (unsigned)(63 - __builtin_clzll(size >> 10));
}

static int valid_tag(int tag) { return tag >= 0 && (unsigned)tag <= SHMKIT_TAG_MAX; }

/* valid_bool: a BOOL's byte is 0 or 1, so that true has one encoding and
 * one key (the other tags' bytes are any, or a record, checked apart). */
static int valid_bool(int tag, const void *p, uint64_t len) {
	return tag != (int)SHMKIT_TAG_BOOL || len != 1 || p == NULL || *(const uint8_t *)p <= 1;
}

static int valid_datum(int tag, uint64_t len, uint64_t max) {
	if (!valid_tag(tag) || len > max) {
		return 0;
	}
	switch (tag) {
	case SHMKIT_TAG_NONE:
		return len == 0;
	case SHMKIT_TAG_BOOL:
		return len == 1;
	case SHMKIT_TAG_INT:
	case SHMKIT_TAG_FLOAT:
		return len == 8;
	}
	return 1;
}

/* ---- the mapping ---- */

static int dict_map_more(struct shmkit_dict *d, uint64_t want);

/* dict_map makes sure [0, want) of the heap is mapped; the check that
 * finds it is, inline, since every offset followed passes here. */
static inline int dict_map(struct shmkit_dict *d, uint64_t want) {
	return want <= LOAD(&d->mapped) ? 0 : dict_map_more(d, want);
}

static int dict_map_more(struct shmkit_dict *d, uint64_t want) {
	if (want > SHMKIT_DICT_HEAP_MAX) {
		return SHMKIT_ECORRUPT;
	}
	pthread_mutex_lock(&d->map_mu);
	int rc = 0;
	uint64_t have = LOAD(&d->mapped);
	if (want > have) {
		struct stat st;
		uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
		if (fstat(d->fd, &st) != 0) {
			rc = errno;
		} else {
			uint64_t size = (uint64_t)st.st_size & ~(page - 1); /* never a page past the end */
			if (size > SHMKIT_DICT_HEAP_MAX) {
				size = SHMKIT_DICT_HEAP_MAX;
			}
			if (size < want) {
				rc = SHMKIT_ECORRUPT; /* an offset past the end of the file */
			} else if (mmap(d->base + have, size - have, d->readonly ? PROT_READ : PROT_READ | PROT_WRITE,
			                MAP_SHARED | MAP_FIXED, d->fd, (off_t)have) == MAP_FAILED) {
				rc = errno;
			} else {
				STORE(&d->mapped, size);
			}
		}
	}
	pthread_mutex_unlock(&d->map_mu);
	return rc;
}

/* dict_span checks that [off, off+len) lies in the heap's blocks and is mapped. */
static int dict_span(struct shmkit_dict *d, uint64_t off, uint64_t len) {
	if (off < SHMKIT_DICT_HEAP_START || off % 8 != 0 || len > SHMKIT_DICT_HEAP_MAX ||
	    off > SHMKIT_DICT_HEAP_MAX - len) {
		return SHMKIT_ECORRUPT;
	}
	return dict_map(d, off + len);
}

static struct shmkit_dict_block *dict_block(struct shmkit_dict *d, uint64_t off) {
	return (struct shmkit_dict_block *)(d->base + off);
}

/* A free block's link to the next one, over key_len and val_len. */
static uint64_t *dict_next_free(struct shmkit_dict_block *b) { return (uint64_t *)((uint8_t *)b + 8); }

/* An item, checked: where its key and value are. */
struct dict_item {
	uint64_t off, size;
	int ktag, vtag;
	uint64_t klen, vlen;
	const uint8_t *key, *val;
};

/* item_holds reports whether the item's value is tag and the len bytes
 * at val: the same value, as compare-and-swap and a list's pop_if ask. */
static int item_holds(const struct dict_item *it, int tag, const void *val, uint64_t len) {
	return it->vtag == tag && it->vlen == len && (len == 0 || memcmp(it->val, val, len) == 0);
}

static int dict_item_at(struct shmkit_dict *d, uint64_t ref, struct dict_item *it) {
	int rc = dict_span(d, ref, sizeof(struct shmkit_dict_block));
	if (rc != 0) {
		return rc;
	}
	struct shmkit_dict_block b;
	memcpy(&b, dict_block(d, ref), sizeof b);
	if (b.type != SHMKIT_BLOCK_ITEM || b.size < sizeof b || b.size % 8 != 0 || b.key_len > SHMKIT_DICT_KEY_MAX ||
	    b.val_len > SHMKIT_DICT_VALUE_MAX || sizeof b + (uint64_t)b.key_len + b.val_len > b.size ||
	    !valid_tag(b.key_tag) || !valid_tag(b.val_tag)) {
		return SHMKIT_ECORRUPT;
	}
	if ((rc = dict_span(d, ref, b.size)) != 0) {
		return rc;
	}
	it->off = ref;
	it->size = b.size;
	it->ktag = b.key_tag;
	it->vtag = b.val_tag;
	it->klen = b.key_len;
	it->vlen = b.val_len;
	it->key = d->base + ref + sizeof b;
	it->val = it->key + b.key_len;
	return 0;
}

/* A table or array block, checked. */
struct dict_table {
	uint64_t off, cap;
	struct shmkit_dict_slot *slots; /* TABLE */
	uint64_t *len, *refs;           /* ARRAY */
	uint64_t n;                     /* ARRAY: *len as checked, the one value used */
};

static int dict_table_at(struct shmkit_dict *d, uint64_t off, unsigned type, struct dict_table *t) {
	int rc = dict_span(d, off, 32);
	if (rc != 0) {
		return rc;
	}
	struct shmkit_dict_block *b = dict_block(d, off);
	uint64_t size = RELAXED_LOAD(&b->size);
	uint64_t cap = RELAXED_LOAD((uint64_t *)(b + 1));
	uint64_t each = type == SHMKIT_BLOCK_TABLE ? sizeof(struct shmkit_dict_slot) : 8;
	if (RELAXED_LOAD(&b->type) != type || cap == 0 || cap > (1ull << 32) ||
	    (type == SHMKIT_BLOCK_TABLE && (cap & (cap - 1)) != 0) || 32 + cap * each > size) {
		return SHMKIT_ECORRUPT;
	}
	if ((rc = dict_span(d, off, size)) != 0) {
		return rc;
	}
	t->off = off;
	t->cap = cap;
	t->slots = (struct shmkit_dict_slot *)(d->base + off + 32);
	t->len = (uint64_t *)(d->base + off + 24);
	t->refs = (uint64_t *)(d->base + off + 32);
	return 0;
}

/* ---- creating and opening ---- */

static void dict_sanitize(char *out, const char *in, size_t room) {
	size_t n = 0;
	for (; in != NULL && *in != '\0' && n + 1 < room; in++) {
		char c = *in;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		         c == '_' || c == '-';
		out[n++] = ok ? c : '_';
	}
	out[n] = '\0';
}

static int dict_valid_heap_name(const char *name) {
	size_t n = strnlen(name, SHMKIT_DICT_NAME_MAX + 1);
	if (n == 0 || n > SHMKIT_DICT_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-')) {
			return 0;
		}
	}
	return 1;
}

/* dict_fallocate gives the file size bytes, every page allocated now, so a
 * full /dev/shm is ENOSPC here and never SIGBUS later. */
static int dict_fallocate(int fd, uint64_t size) {
	int rc;
	while ((rc = fallocate(fd, 0, 0, (off_t)size)) != 0 && errno == EINTR) {
	}
	if (rc != 0 && errno == EOPNOTSUPP) {
		rc = ftruncate(fd, (off_t)size);
	}
	return rc == 0 ? 0 : errno;
}

/* A new, empty table (dict) or array (list) of cap entries, in a new heap. */
static void dict_first_block(uint8_t *mem, uint32_t kind) {
	uint64_t each = kind == SHMKIT_KIND_DICT ? sizeof(struct shmkit_dict_slot) : 8;
	struct shmkit_dict_block *b = (struct shmkit_dict_block *)(mem + SHMKIT_DICT_HEAP_START);
	b->size = (uint32_t)dict_round(32 + DICT_MIN_SLOTS * each);
	b->type = kind == SHMKIT_KIND_DICT ? SHMKIT_BLOCK_TABLE : SHMKIT_BLOCK_ARRAY;
	*(uint64_t *)(b + 1) = DICT_MIN_SLOTS;
	struct shmkit_dict_heap *h = (struct shmkit_dict_heap *)mem;
	h->table = SHMKIT_DICT_HEAP_START;
	h->cursor = SHMKIT_DICT_HEAP_START + b->size;
	h->used = b->size;
}

int shmkit_dict_init(void *mem, uint64_t len, const char *prefix, const char *name, int list, unsigned mode) {
	struct shmkit_dict_ref *ref = mem;
	if (mem == NULL || len < sizeof *ref || name == NULL || name[0] == '\0') {
		return EINVAL;
	}
	uint32_t kind = list ? SHMKIT_KIND_LIST : SHMKIT_KIND_DICT;
	char stem[100], obj[64];
	dict_sanitize(stem, prefix != NULL && prefix[0] == '/' ? prefix + 1 : prefix != NULL ? prefix : "shmkit",
	              100);
	dict_sanitize(obj, name, sizeof obj);
	int fd = open("/dev/shm", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd < 0) {
		return errno;
	}
	uint8_t *heap = MAP_FAILED;
	uint64_t id = 0;
	int rc = 0;
	while (id == 0) {
		if (getrandom(&id, sizeof id, 0) != sizeof id) {
			id = (uint64_t)shmkit_now_ns() ^ ((uint64_t)getpid() << 32);
		}
	}
	if (fchmod(fd, mode ? (mode_t)mode : 0600) != 0 || (rc = dict_fallocate(fd, DICT_INITIAL_HEAP)) != 0 ||
	    (heap = mmap(NULL, DICT_INITIAL_HEAP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		rc = rc != 0 ? rc : errno;
		close(fd);
		return rc;
	}
	struct shmkit_dict_heap *h = (struct shmkit_dict_heap *)heap;
	h->version = SHMKIT_DICT_VERSION;
	h->kind = kind;
	h->id = id;
	h->size = DICT_INITIAL_HEAP;
	/* Its creator's pid namespace from the start: a heap whose pid_ns is
	 * still 0 at attach was made by a build that did not record it, whose
	 * writers may be of any namespace. 0 if unknown: then nobody judges. */
	h->pid_ns = pid_namespace();
	h->mixed_ns = h->pid_ns == 0;
	dict_first_block(heap, kind);
	rc = shmkit_mutex_init(&h->lock, 0);
	STORE(&h->magic, SHMKIT_DICT_MAGIC);
	munmap(heap, DICT_INITIAL_HEAP);
	char proc[64], file[sizeof "/dev/shm/" + SHMKIT_DICT_NAME_MAX];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	for (int attempt = 0; rc == 0; attempt++) {
		snprintf(ref->heap_name, sizeof ref->heap_name, "%s.%s.%016llx", stem, obj,
		         (unsigned long long)(id + (uint64_t)attempt));
		snprintf(file, sizeof file, "/dev/shm/%s", ref->heap_name);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, file, AT_SYMLINK_FOLLOW) == 0) {
			break;
		}
		rc = errno;
		if (rc == EEXIST && attempt < 8) {
			rc = 0;
		}
	}
	close(fd);
	if (rc != 0) {
		memset(ref->heap_name, 0, sizeof ref->heap_name);
		return rc;
	}
	ref->heap_id = id;
	ref->kind = kind;
	return 0;
}

static int init_dict(uint8_t *mem, const struct alloc_req *r) {
	return shmkit_dict_init(mem, r->length, r->data, r->name, r->kind == SHMKIT_KIND_LIST, r->value);
}

int shmkit_new_dict(struct shmkit_segment *seg, const char *name, const char *prefix, int list,
                    struct shmkit_object *out) {
	struct alloc_req r = {.name = name, .kind = list ? SHMKIT_KIND_LIST : SHMKIT_KIND_DICT,
	                      .length = sizeof(struct shmkit_dict_ref), .init = init_dict, .data = prefix};
	struct stat st;
	if (seg->fd >= 0 && fstat(seg->fd, &st) == 0) {
		r.value = st.st_mode & 0777; /* whoever may open the segment may open its dicts */
	}
	return alloc_object(seg, &r, out);
}

void shmkit_dict_close(struct shmkit_dict *d) {
	if (d == NULL) {
		return;
	}
	munmap(d->base, SHMKIT_DICT_HEAP_MAX);
	close(d->fd);
	pthread_mutex_destroy(&d->map_mu);
	free(d);
}

/* dict_ref_name copies and checks a reference's heap name. */
static int dict_ref_name(const void *mem, uint64_t len, char name[192], struct shmkit_dict_ref *copy) {
	if (mem == NULL || len < sizeof *copy) {
		return SHMKIT_ECORRUPT;
	}
	memcpy(copy, mem, sizeof *copy);
	memcpy(name, copy->heap_name, 192);
	if (memchr(name, '\0', 192) == NULL || !dict_valid_heap_name(name) ||
	    (copy->kind != SHMKIT_KIND_DICT && copy->kind != SHMKIT_KIND_LIST)) {
		return SHMKIT_ECORRUPT;
	}
	return 0;
}

int shmkit_dict_attach(const void *mem, uint64_t len, int readonly, struct shmkit_dict **out) {
	struct shmkit_dict_ref ref;
	char name[192], file[sizeof "/dev/shm/" + 192];
	int rc = dict_ref_name(mem, len, name, &ref);
	if (rc != 0) {
		return rc;
	}
	snprintf(file, sizeof file, "/dev/shm/%s", name);
	int fd = open(file, (readonly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		return errno;
	}
	struct shmkit_dict *d = calloc(1, sizeof *d);
	void *base = mmap(NULL, SHMKIT_DICT_HEAP_MAX, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct stat st;
	if (d == NULL || base == MAP_FAILED) {
		rc = ENOMEM;
	} else if (fstat(fd, &st) != 0) {
		rc = errno;
	} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < SHMKIT_DICT_HEAP_START) {
		rc = SHMKIT_ENOTSHMKIT;
	}
	if (rc == 0) {
		d->base = base;
		d->fd = fd;
		d->readonly = readonly;
		d->kind = ref.kind;
		d->id = ref.heap_id;
		pthread_mutex_init(&d->map_mu, NULL);
		if ((rc = dict_map(d, SHMKIT_DICT_HEAP_START)) == 0) {
			struct shmkit_dict_heap *h = DICT_HEAP(d);
			uint64_t size = LOAD(&h->size);
			if (LOAD(&h->magic) != SHMKIT_DICT_MAGIC) {
				rc = SHMKIT_ENOTSHMKIT;
			} else if (h->version != SHMKIT_DICT_VERSION) {
				rc = SHMKIT_EVERSION;
			} else if (h->kind != ref.kind || h->id != ref.heap_id || size < SHMKIT_DICT_HEAP_START ||
			           size > SHMKIT_DICT_HEAP_MAX) {
				rc = SHMKIT_ECORRUPT;
			} else {
				rc = dict_map(d, size);
			}
			if (rc == 0 && !readonly) {
				/* Ids of holders are judged only among writers of one
				 * pid namespace (dict_lock_wait): a writer of another, one
				 * whose namespace is unknown, or a heap of a build that
				 * did not record its creator's (pid_ns 0), mixes them. */
				uint32_t ns = pid_namespace();
				if (ns == 0 || LOAD(&h->pid_ns) != ns) {
					STORE(&h->mixed_ns, 1u);
				}
			}
		}
		if (rc == 0) {
			*out = d;
			return 0;
		}
		pthread_mutex_destroy(&d->map_mu);
	}
	if (base != MAP_FAILED) {
		munmap(base, SHMKIT_DICT_HEAP_MAX);
	}
	free(d);
	close(fd);
	return rc;
}

int shmkit_dict_open(const struct shmkit_segment *seg, const char *name, uint32_t kind, int readonly,
                     struct shmkit_dict **out) {
	struct shmkit_object o;
	int rc = shmkit_lookup(seg, name, kind, 0, &o);
	if (rc == 0 && o.kind != SHMKIT_KIND_DICT && o.kind != SHMKIT_KIND_LIST) {
		rc = SHMKIT_EKIND;
	}
	if (rc == 0) {
		rc = shmkit_dict_attach(o.data, o.length, readonly || seg->fd < 0, out);
		if (rc == 0 && (*out)->kind != o.kind) {
			shmkit_dict_close(*out);
			rc = SHMKIT_ECORRUPT;
		}
	}
	return rc;
}

int shmkit_dict_unlink(const void *mem, uint64_t len) {
	struct shmkit_dict_ref ref;
	char name[192], file[sizeof "/dev/shm/" + 192];
	int rc = dict_ref_name(mem, len, name, &ref);
	if (rc == 0) {
		snprintf(file, sizeof file, "/dev/shm/%s", name);
		if (unlink(file) != 0) {
			rc = errno;
		}
	}
	return rc;
}

uint32_t shmkit_dict_kind(const struct shmkit_dict *d) { return d->kind; }

void shmkit_dict_mapping(const struct shmkit_dict *d, const void **base, const uint64_t **mapped) {
	*base = d->base;
	*mapped = &d->mapped;
}

uint64_t shmkit_dict_test_hash(int tag, const void *key, uint64_t len) { return dict_hash(tag, key, len); }

/* ---- the writer lock, allocation and repair ---- */

/* dict_push_free puts the block at off on its free list. */
static void dict_push_free(struct shmkit_dict *d, uint64_t off, uint64_t size) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	struct shmkit_dict_block *b = dict_block(d, off);
	unsigned c = dict_class(size);
	RELAXED_STORE(&b->type, SHMKIT_BLOCK_FREE);
	RELAXED_STORE(dict_next_free(b), h->free_heads[c]);
	h->nonempty[c / 64] |= 1ull << (c % 64); /* before the block is on it: a hint that errs towards "maybe" */
	STORE(&h->free_heads[c], off);
}

static void dict_free(struct shmkit_dict *d, uint64_t off) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t size = dict_block(d, off)->size;
	if (size < 16 || size % 8 != 0) {
		return; /* not a size this heap makes: leave it out of the lists */
	}
	dict_push_free(d, off, size);
	h->used -= size < h->used ? size : h->used;
	h->freed += size;
}

/* dict_split gives the last size bytes of the free block at off (bs bytes,
 * taken off its list) as a block of their own and puts the rest back on
 * the list of its size. The new block's header is written first, then the
 * shrink: a writer killed between leaves the old block whole. */
static uint64_t dict_split(struct shmkit_dict *d, uint64_t off, uint64_t bs, uint64_t size) {
	if (bs - size < 16) {
		return off;
	}
	uint64_t tail = off + bs - size;
	dict_block(d, tail)->size = (uint32_t)size;
	dict_block(d, tail)->type = SHMKIT_BLOCK_FREE;
	STORE(&dict_block(d, off)->size, (uint32_t)(bs - size));
	dict_push_free(d, off, bs - size);
	return tail;
}

/* dict_grow makes the heap at least need bytes. The file's pages are
 * memory (fallocate allocates them), so it grows by an eighth of its size
 * (at least 64 KiB, in 64 KiB steps), not by doubling: at most an eighth
 * of it is room not yet used. If the file system has no room for that, it
 * takes the least it can in DICT_INITIAL_HEAP steps. fallocate allocates
 * every page or none, so a full /dev/shm is ENOSPC here, the heap as it
 * was. */
static int dict_grow(struct shmkit_dict *d, uint64_t need) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t have = LOAD(&h->size);
	if (have < SHMKIT_DICT_HEAP_START || have > SHMKIT_DICT_HEAP_MAX) {
		return SHMKIT_ECORRUPT; /* read again since the lock checked it */
	}
	if (need > SHMKIT_DICT_HEAP_MAX) {
		return ENOSPC;
	}
	uint64_t step = have / 8 > DICT_INITIAL_HEAP ? have / 8 : DICT_INITIAL_HEAP;
	uint64_t size = have + step > need ? have + step : need;
	size = (size + DICT_INITIAL_HEAP - 1) & ~(uint64_t)(DICT_INITIAL_HEAP - 1);
	if (size > SHMKIT_DICT_HEAP_MAX) {
		size = SHMKIT_DICT_HEAP_MAX;
	}
	int rc = dict_fallocate(d->fd, size);
	uint64_t least = (need + DICT_INITIAL_HEAP - 1) & ~(uint64_t)(DICT_INITIAL_HEAP - 1);
	if (rc == ENOSPC && least < size) {
		size = least;
		rc = dict_fallocate(d->fd, size);
	}
	if (rc != 0) {
		return rc;
	}
	STORE(&h->size, size);
	if ((rc = dict_map(d, size)) != 0) {
		return rc;
	}
	/* The grower is about to fill the new pages: their page-table entries
	 * made in one call cost less than a fault each. Best effort (a kernel
	 * before 5.14 refuses); fallocate has already given them memory. */
	(void)madvise(d->base + have, size - have, MADV_POPULATE_WRITE);
	return 0;
}

/* dict_checked_free checks that off is a free block of class c within the
 * heap's blocks; *size its size. */
static int dict_checked_free(struct shmkit_dict *d, uint64_t off, unsigned c, uint64_t *size) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	int rc = dict_span(d, off, sizeof(struct shmkit_dict_block));
	if (rc != 0) {
		return rc;
	}
	struct shmkit_dict_block *b = dict_block(d, off);
	uint64_t bs = b->size;
	if (b->type != SHMKIT_BLOCK_FREE || bs < 16 || bs % 8 != 0 || dict_class(bs) != c || off + bs > h->cursor ||
	    (rc = dict_span(d, off, bs)) != 0) {
		return rc != 0 ? rc : SHMKIT_ECORRUPT;
	}
	*size = bs;
	return 0;
}

/* dict_next_class is the first class from k whose list heap.nonempty says
 * may hold a block, DICT_LAST_CLASS + 1 if none: most lists are empty, and
 * a request is served from the first that is not. */
static unsigned dict_next_class(const struct shmkit_dict_heap *h, unsigned k) {
	for (; k <= DICT_LAST_CLASS; k = (k | 63) + 1) {
		uint64_t bits = h->nonempty[k / 64] >> (k % 64);
		if (bits != 0) {
			k += (unsigned)__builtin_ctzll(bits);
			return k <= DICT_LAST_CLASS ? k : DICT_LAST_CLASS + 1;
		}
	}
	return DICT_LAST_CLASS + 1;
}

/* dict_reuse finds a free block for size bytes: the first on its own list
 * (first fit among the first few, for a large size), else the first of
 * the next list up that has one, which always fits; the rest of a larger
 * block goes back on the list of its size. *out 0: none. */
static int dict_reuse(struct shmkit_dict *d, uint64_t size, uint64_t *out) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	unsigned c = dict_class(size);
	*out = 0;
	/* From a small size's own list, the next is two up: 8 bytes left is no block. */
	for (unsigned k = c; k <= DICT_LAST_CLASS; k = dict_next_class(h, k == c && c + 1 < DICT_LARGE ? c + 2 : k + 1)) {
		uint64_t *link = &h->free_heads[k];
		int looks = k == c && c >= DICT_LARGE ? DICT_LARGE_LOOKS : 1;
		for (int n = 0; n < looks && *link != 0; n++) {
			uint64_t off = *link, bs;
			int rc = dict_checked_free(d, off, k, &bs);
			if (rc != 0) {
				return rc;
			}
			if (bs >= size) {
				STORE(link, *dict_next_free(dict_block(d, off)));
				if (h->free_heads[k] == 0) {
					h->nonempty[k / 64] &= ~(1ull << (k % 64));
				}
				*out = dict_split(d, off, bs, size);
				return 0;
			}
			link = dict_next_free(dict_block(d, off));
		}
	}
	return 0;
}

static int dict_rebuild(struct shmkit_dict *d, const uint64_t *live, uint64_t nlive);

/* dict_extend takes size bytes at the cursor, growing the heap if need be. */
static int dict_extend(struct shmkit_dict *d, uint64_t size, uint64_t *out) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t off = LOAD(&h->cursor);
	int rc = 0;
	if (off > h->size || size > h->size - off) {
		rc = dict_grow(d, off + size);
	}
	if (rc != 0 || (rc = dict_span(d, off, size)) != 0) { /* the cursor is read again: checked here too */
		return rc;
	}
	dict_block(d, off)->size = (uint32_t)size;
	dict_block(d, off)->type = SHMKIT_BLOCK_FREE;
	STORE(&h->cursor, off + size); /* the header first: the heap stays walkable */
	*out = off;
	return 0;
}

/* dict_alloc hands out a block of at least need bytes, its header written
 * and the rest not cleared. */
static int dict_alloc(struct shmkit_dict *d, uint64_t need, unsigned type, uint64_t *out) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t size = dict_round(need), off;
	if (size == 0) {
		return EINVAL;
	}
	int rc = dict_reuse(d, size, &off), merged = 0;
	if (rc == 0 && off == 0 && h->freed >= size &&
	    h->freed >= (h->cursor - SHMKIT_DICT_HEAP_START) / DICT_MERGE_SHARE) {
		/* Rather than take new space, merge the free neighbours freed meanwhile. */
		merged = 1;
		if ((rc = dict_rebuild(d, NULL, 0)) == 0) {
			rc = dict_reuse(d, size, &off);
		}
	}
	if (rc == 0 && off == 0) {
		rc = dict_extend(d, size, &off);
		if (rc == ENOSPC && !merged && h->freed > 0) {
			/* A full file system: merge whatever was freed before giving up. */
			if ((rc = dict_rebuild(d, NULL, 0)) == 0 && (rc = dict_reuse(d, size, &off)) == 0 && off == 0) {
				rc = dict_extend(d, size, &off);
			}
		}
	}
	if (rc != 0) {
		return rc;
	}
	struct shmkit_dict_block *b = dict_block(d, off);
	RELAXED_STORE(&b->type, type);
	h->used += b->size;
	*out = off;
	return 0;
}

static int dict_new_item(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int vtag, const void *val,
                         uint64_t vlen, uint64_t *out) {
	uint64_t off;
	int rc = dict_alloc(d, sizeof(struct shmkit_dict_block) + klen + vlen, SHMKIT_BLOCK_ITEM, &off);
	if (rc != 0) {
		return rc;
	}
	struct shmkit_dict_block *b = dict_block(d, off);
	b->key_tag = (uint8_t)ktag;
	b->val_tag = (uint8_t)vtag;
	b->key_len = (uint32_t)klen;
	b->val_len = (uint32_t)vlen;
	if (klen) {
		memcpy(b + 1, key, klen);
	}
	if (vlen) {
		memcpy((uint8_t *)(b + 1) + klen, val, vlen);
	}
	*out = off;
	return 0;
}

static int by_u64(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* dict_rebuild walks the blocks from the first to heap.cursor and makes
 * the free lists anew: each run of neighbouring blocks that are not live
 * becomes one free block, and a run that ends the heap gives its space
 * back to the cursor. Live blocks are those in live (sorted), or with
 * live NULL those not marked free. Every store leaves the walk whole (a
 * run grows by one store of its first block's size), so a writer killed
 * here leaves a heap the next writer rebuilds again. Writers hold the lock. */
static int dict_rebuild(struct shmkit_dict *d, const uint64_t *live, uint64_t nlive) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t tails[DICT_LAST_CLASS + 1] = {0}, used = 0, end = LOAD(&h->cursor), run = 0, runsize = 0;
	if (end < SHMKIT_DICT_HEAP_START || end > LOAD(&d->mapped) || end % 8 != 0) {
		return SHMKIT_ECORRUPT; /* read again since the lock checked it: the walk stays in the mapping */
	}
	memset(h->free_heads, 0, sizeof h->free_heads);
	memset(h->nonempty, 0, sizeof h->nonempty);
	/* Each list in address order, so the low blocks are used first and the
	 * heap's end is the likeliest to come free. */
	for (uint64_t off = SHMKIT_DICT_HEAP_START;;) {
		uint64_t size = 0;
		int is_live = 1;
		if (off < end) {
			size = dict_block(d, off)->size;
			if (size < 16 || size % 8 != 0 || size > end - off) {
				return SHMKIT_ECORRUPT;
			}
			is_live = live != NULL ? bsearch(&off, live, nlive, sizeof *live, by_u64) != NULL
			                       : dict_block(d, off)->type != SHMKIT_BLOCK_FREE;
		}
		if (!is_live && run != 0 && runsize + size <= DICT_BLOCK_MAX) {
			runsize += size;
			STORE(&dict_block(d, run)->size, (uint32_t)runsize);
			off += size;
			continue;
		}
		if (run != 0) { /* the run before this block is complete */
			if (off >= end) {
				STORE(&h->cursor, run);
				break;
			}
			unsigned c = dict_class(runsize);
			struct shmkit_dict_block *b = dict_block(d, run);
			RELAXED_STORE(&b->type, SHMKIT_BLOCK_FREE);
			RELAXED_STORE(dict_next_free(b), 0);
			if (tails[c] != 0) {
				STORE(dict_next_free(dict_block(d, tails[c])), run);
			} else {
				h->nonempty[c / 64] |= 1ull << (c % 64);
				STORE(&h->free_heads[c], run);
			}
			tails[c] = run;
			run = 0;
		}
		if (off >= end) {
			break;
		}
		if (is_live) {
			used += size;
		} else {
			run = off;
			runsize = size;
			RELAXED_STORE(&dict_block(d, off)->type, SHMKIT_BLOCK_FREE);
		}
		off += size;
	}
	h->used = used;
	h->freed = 0;
	return 0;
}

/* dict_sweep rebuilds the free lists from what the table (or array)
 * reaches: every other block is free. Writers hold the lock. */
static int dict_sweep(struct shmkit_dict *d) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	struct dict_table t;
	int list = d->kind == SHMKIT_KIND_LIST;
	int rc = dict_table_at(d, h->table, list ? SHMKIT_BLOCK_ARRAY : SHMKIT_BLOCK_TABLE, &t);
	if (rc != 0) {
		return rc;
	}
	uint64_t n = list ? *t.len : t.cap;
	if (list && n > t.cap) {
		return SHMKIT_ECORRUPT;
	}
	uint64_t *live = malloc((n + 1) * sizeof *live), used = 0;
	if (live == NULL) {
		return ENOMEM;
	}
	live[used++] = t.off;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t ref = list ? t.refs[i] : t.slots[i].ref;
		if (ref >= SHMKIT_DICT_HEAP_START) {
			live[used++] = ref;
		}
	}
	qsort(live, used, sizeof *live, by_u64);
	rc = dict_rebuild(d, live, used);
	free(live);
	return rc;
}

static void dict_undo(struct shmkit_dict *d, const struct dict_table *t);

/* dict_repair makes the heap consistent after a writer died holding the
 * lock: an overwrite in place finished or undone, every seqlock closed, the counts recounted, the free lists rebuilt. */
static int dict_repair(struct shmkit_dict *d) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	if (h->cursor < SHMKIT_DICT_HEAP_START || h->cursor > h->size || h->cursor % 8 != 0) {
		return SHMKIT_ECORRUPT;
	}
	uint64_t g = h->gen;
	if (g & 1) {
		STORE(&h->gen, g + 1);
	}
	if (d->kind == SHMKIT_KIND_DICT) {
		struct dict_table t;
		int rc = dict_table_at(d, h->table, SHMKIT_BLOCK_TABLE, &t);
		if (rc != 0) {
			return rc;
		}
		dict_undo(d, &t);
		uint64_t count = 0, tombs = 0;
		for (uint64_t i = 0; i < t.cap; i++) {
			uint32_t q = t.slots[i].seq;
			if (q & 1) {
				STORE(&t.slots[i].seq, q + 1);
			}
			count += t.slots[i].ref >= SHMKIT_DICT_HEAP_START;
			tombs += t.slots[i].ref == SHMKIT_SLOT_TOMB;
		}
		h->count = count;
		h->tombstones = tombs;
	}
	int rc = dict_sweep(d);
	if (rc == 0) {
		h->recoveries++;
	}
	return rc;
}

#define DICT_LOCK_LOOKS 10 /* looks at a held writer lock, each after twice the pause of the last, before sleeping */
#define DICT_LOCK_SETTLE 8 /* pauses (about 150 ns) a free lock must stay free before a waiter tries it */

/* dict_lock_held reads the lock word of glibc's mutex (its first int,
 * __lock): the holder's thread id, 0 if free or its holder died. */
static inline int dict_lock_held(struct shmkit_dict_heap *h) {
	return (__atomic_load_n((uint32_t *)(void *)&h->lock.mutex, __ATOMIC_RELAXED) & FUTEX_TID_MASK) != 0;
}

/* The kind field glibc gives a mutex made by shmkit_mutex_init(m, 0), read
 * from one made here, so that no glibc constant is copied; -1 off glibc. */
static int dict_mutex_kind(void) {
	static int kind = -2;
	int k = __atomic_load_n(&kind, __ATOMIC_RELAXED);
	if (k == -2) {
		k = -1;
#ifdef __GLIBC__
		pthread_mutex_t m;
		if (shmkit_mutex_init(&m, 0) == 0) {
			k = m.__data.__kind;
			pthread_mutex_destroy(&m);
		}
#endif
		__atomic_store_n(&kind, k, __ATOMIC_RELAXED);
	}
	return k;
}

/* dict_lock_impossible says whether the writer lock holds what no step of
 * the robust protocol leaves (a peer scribbled it): another kind (glibc
 * may then abort, as for a priority-inheritance kind, or return EINVAL),
 * a holder id above any the kernel gives, or the waiters bit with neither
 * a holder nor the owner-died mark. */
static int dict_lock_impossible(struct shmkit_dict_heap *h) {
#ifdef __GLIBC__
	int kind = dict_mutex_kind();
	if (kind != -1 && __atomic_load_n(&h->lock.mutex.__data.__kind, __ATOMIC_RELAXED) != kind) {
		return 1;
	}
#endif
	uint32_t w = __atomic_load_n((uint32_t *)(void *)&h->lock.mutex, __ATOMIC_RELAXED);
	uint32_t tid = w & FUTEX_TID_MASK;
	return tid > PID_LIMIT || (tid == 0 && (w & (FUTEX_WAITERS | FUTEX_OWNER_DIED)) == FUTEX_WAITERS);
}

/* dict_lock_wait sleeps on a held writer lock until it is taken or the
 * lock wait ends (EBUSY), looking between naps of ALLOC_LOOK_NS at what
 * holds it: a lock word gone impossible, or one that names a thread that
 * is not alive and has stayed the same across a nap (the kernel marks a
 * holder that dies owner-died, so nobody can release this one), is
 * SHMKIT_ECORRUPT; only if every writer attached in this process's pid
 * namespace, since an id names a thread of its own namespace, and a
 * holder of another would look dead here. Such a holder is not taken
 * over: a writer that unmapped the heap may have left it, or a peer. */
static int dict_lock_wait(struct shmkit_dict_heap *h) {
	int64_t deadline = shmkit_now_ns() + ALLOC_WAIT_NS;
	uint32_t stuck = 0; /* the lock word of a dead holder at the last look, without the waiters bit */
	uint32_t ns = pid_namespace();
	for (;;) {
		if (dict_lock_impossible(h)) {
			return SHMKIT_ECORRUPT;
		}
		/* Looked at each time: a writer of another namespace may attach
		 * while this one waits. The waiters bit is left out, since this
		 * waiter's own sleep sets it. */
		int judge = ns != 0 && LOAD(&h->mixed_ns) == 0 && LOAD(&h->pid_ns) == ns;
		uint32_t w = __atomic_load_n((uint32_t *)(void *)&h->lock.mutex, __ATOMIC_RELAXED) & ~(uint32_t)FUTEX_WAITERS;
		int32_t tid = (int32_t)(w & FUTEX_TID_MASK);
		if (judge && tid != 0 && (w & FUTEX_OWNER_DIED) == 0 && !alive(tid)) {
			if (w == stuck) {
				return SHMKIT_ECORRUPT;
			}
			stuck = w;
		} else {
			stuck = 0;
		}
		int64_t now = shmkit_now_ns();
		if (now >= deadline) {
			return EBUSY;
		}
		int rc = shmkit_mutex_timedlock(&h->lock.mutex, now + ALLOC_LOOK_NS < deadline ? now + ALLOC_LOOK_NS : deadline);
		if (rc != ETIMEDOUT) {
			return rc;
		}
	}
}

static int dict_lock(struct shmkit_dict *d) {
	if (d->readonly) {
		return EBADF;
	}
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	if (dict_lock_impossible(h)) {
		return SHMKIT_ECORRUPT;
	}
	/* Writers hold the lock for well under a microsecond: look at it a few
	 * times (about 20 us in all) before sleeping in the kernel (and before
	 * reading the clock). The looks are loads, not tries, and further
	 * apart each time: a try writes the lock's cache line, and every look
	 * takes that line from the holder, which writes it again to unlock
	 * (and the undo note in it). A lock seen free is tried only if it is
	 * still free a moment later: a writer that keeps coming back, as a
	 * counter's does (from Go, after a cgo call's return and the next
	 * call), takes it again in between, and runs writes in a row instead
	 * of handing the lock and its lines to the other process at each one.
	 * A live holder is waited for as long as the allocation lock, then
	 * EBUSY; a lock word no writer could have left is SHMKIT_ECORRUPT
	 * (dict_lock_wait). */
	int rc = pthread_mutex_trylock(&h->lock.mutex);
	for (int look = 0; rc == EBUSY && look < DICT_LOCK_LOOKS; look++) {
		for (int i = 0; i < 1 << look; i++) {
			cpu_relax();
		}
		if (dict_lock_held(h)) {
			continue;
		}
		for (int i = 0; i < DICT_LOCK_SETTLE; i++) {
			cpu_relax();
		}
		if (!dict_lock_held(h)) {
			rc = pthread_mutex_trylock(&h->lock.mutex);
		}
	}
	if (rc == EBUSY) {
		rc = dict_lock_wait(h);
	}
	if (rc == EOWNERDEAD) {
		rc = dict_map(d, LOAD(&h->size));
		if (rc == 0) {
			rc = dict_repair(d);
		}
		pthread_mutex_consistent(&h->lock.mutex);
	} else if (rc == EBUSY || rc == SHMKIT_ECORRUPT) {
		return rc;
	} else if (rc != 0) {
		/* EDEADLK (a word naming this thread, which holds no dict lock),
		 * ENOTRECOVERABLE (consistent is always called, so a scribbled
		 * owner field), EINVAL: a lock word no writer left. */
		return SHMKIT_ECORRUPT;
	}
	if (rc == 0 && (h->gen & 1)) {
		/* Odd with the lock held and no writer dead: scribbled. Each write
		 * adds 2, so it would stay odd, and readers go to the lock. */
		STORE(&h->gen, h->gen + 1);
	}
	if (rc == 0) {
		uint64_t size = LOAD(&h->size);
		if (size < SHMKIT_DICT_HEAP_START || size > SHMKIT_DICT_HEAP_MAX || h->cursor > size ||
		    h->cursor < SHMKIT_DICT_HEAP_START || h->cursor % 8 != 0) {
			rc = SHMKIT_ECORRUPT;
		} else {
			rc = dict_map(d, size);
		}
	}
	if (rc != 0) {
		pthread_mutex_unlock(&h->lock.mutex);
	}
	return rc;
}

static void dict_unlock(struct shmkit_dict *d) { pthread_mutex_unlock(&DICT_HEAP(d)->lock.mutex); }

/* A reader that keeps meeting a writer, or a seqlock left odd (by a writer
 * that died, repaired when the lock is taken, or by a hostile process),
 * reads under the lock instead. A read-only handle cannot lock: it yields
 * and tries again, EBUSY at last. */
static int dict_slow_lock(struct shmkit_dict *d, int *nudges) {
	if (d->readonly) {
		sched_yield();
		return ++*nudges > DICT_RO_NUDGES ? EBUSY : EAGAIN;
	}
	return dict_lock(d);
}

int shmkit_dict_test_lock(struct shmkit_dict *d) { return dict_lock(d); }

/* ---- seqlocked slots ---- */

/* slot_seq is a slot's seq as a writer holding the lock starts from: even.
 * Odd there, with no writer dead (dict_repair evens those), it was
 * scribbled; a write from it would leave it odd for good, and a read-only
 * reader busy. */
static inline uint32_t slot_seq(struct shmkit_dict_slot *s) {
	uint32_t q = RELAXED_LOAD(&s->seq);
	return q + (q & 1);
}

static void slot_store(struct shmkit_dict_slot *s, uint32_t hash, uint64_t ref) {
	uint32_t q = slot_seq(s);
	RELAXED_STORE(&s->seq, q + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	RELAXED_STORE(&s->hash, hash);
	RELAXED_STORE(&s->ref, ref);
	STORE(&s->seq, q + 2);
}

static void gen_begin(struct shmkit_dict_heap *h) {
	RELAXED_STORE(&h->gen, h->gen + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void gen_end(struct shmkit_dict_heap *h) { STORE(&h->gen, h->gen + 1); }

static int key_equal(const struct dict_item *it, int ktag, const void *key, uint64_t klen) {
	return it->ktag == ktag && it->klen == klen && memcmp(it->key, key, klen) == 0;
}

/* ---- reading a dict without the lock ---- */

/* The result of one read: the value's tag and length, copied if it fit. */
struct dict_out {
	int *tag;
	void *buf;
	uint64_t cap;
	uint64_t *len;
};

static void out_copy(const struct dict_out *o, int tag, const uint8_t *p, uint64_t n) {
	if (o->tag) {
		*o->tag = tag;
	}
	if (o->len) {
		*o->len = n;
	}
	if (n <= o->cap && n > 0 && o->buf != NULL) {
		memcpy(o->buf, p, n);
	}
}

static int out_fits(const struct dict_out *o, uint64_t n) { return n <= o->cap || (n == 0); }

/* dict_find reads the key once; EAGAIN if a writer got in the way. With the
 * lock held (locked), seqlocks are not looked at. Go's Get runs the same
 * steps without the lock (dict/reader.go): a change here goes there too. */
static int dict_find(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, uint64_t hash,
                     const struct dict_out *o, int locked) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t g1 = LOAD(&h->gen);
	if ((g1 & 1) && !locked) {
		return EAGAIN;
	}
	struct dict_table t;
	int rc = dict_table_at(d, LOAD(&h->table), SHMKIT_BLOCK_TABLE, &t);
	if (rc != 0) {
		goto check;
	}
	uint32_t h32 = (uint32_t)(hash >> 32);
	uint64_t mask = t.cap - 1;
	rc = ENOENT;
	for (uint64_t n = 0, i = h32 & mask; n < t.cap; n++, i = (i + 1) & mask) {
		struct shmkit_dict_slot *s = &t.slots[i];
		uint32_t q = LOAD(&s->seq);
		if ((q & 1) && !locked) {
			return EAGAIN;
		}
		uint64_t ref = RELAXED_LOAD(&s->ref);
		/* Every way past a slot is checked against its seqlock too: an
		 * item replaced meanwhile may have been freed and its block reused
		 * for another key, and taking that for "not this key" would miss
		 * the key. */
		int passed = ref == SHMKIT_SLOT_EMPTY || ref == SHMKIT_SLOT_TOMB || RELAXED_LOAD(&s->hash) != h32;
		struct dict_item it;
		int irc = 0;
		if (!passed) {
			irc = dict_item_at(d, ref, &it);
			passed = irc == 0 && !key_equal(&it, ktag, key, klen);
		}
		if (passed) {
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (!locked && RELAXED_LOAD(&s->seq) != q) {
				return EAGAIN;
			}
			if (ref == SHMKIT_SLOT_EMPTY) {
				break;
			}
			continue;
		}
		if (irc == 0) {
			out_copy(o, it.vtag, it.val, it.vlen);
			irc = out_fits(o, it.vlen) ? 0 : SHMKIT_ESHORTBUF;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!locked && RELAXED_LOAD(&s->seq) != q) {
			return EAGAIN;
		}
		rc = irc;
		break;
	}
check:
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (!locked && RELAXED_LOAD(&h->gen) != g1) {
		return EAGAIN;
	}
	return rc;
}

static int dict_check_key(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen) {
	if (d->kind != SHMKIT_KIND_DICT) {
		return SHMKIT_EKIND;
	}
	if (!valid_datum(ktag, klen, SHMKIT_DICT_KEY_MAX) || (klen > 0 && key == NULL) || ktag == (int)SHMKIT_TAG_RECORD ||
	    !valid_bool(ktag, key, klen)) {
		return EINVAL;
	}
	return 0;
}

int shmkit_dict_get(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int *tag, void *buf,
                    uint64_t cap, uint64_t *len) {
	int rc = dict_check_key(d, ktag, key, klen);
	if (rc != 0) {
		return rc;
	}
	uint64_t hash = dict_hash(ktag, key, klen);
	struct dict_out o = {tag, buf, cap, len};
	int nudges = 0;
	for (int i = 0;; i++) {
		rc = dict_find(d, ktag, key, klen, hash, &o, 0);
		if (rc != EAGAIN) {
			return rc;
		}
		cpu_relax();
		if (i >= DICT_SPINS) {
			if ((rc = dict_slow_lock(d, &nudges)) == 0) {
				rc = dict_find(d, ktag, key, klen, hash, &o, 1);
				dict_unlock(d);
				return rc;
			}
			if (rc != EAGAIN) {
				return rc;
			}
		}
	}
}

int64_t shmkit_dict_lookup(struct shmkit_dict *d, int ktag, const void *key, int klen, void *buf, int cap) {
	if (d == NULL || klen < 0 || buf == NULL || cap < 8) {
		return -EINVAL;
	}
	int tag = 0;
	uint64_t len = 0;
	int rc = shmkit_dict_get(d, ktag, key, (uint64_t)klen, &tag, buf, (uint64_t)cap, &len);
	if (rc == SHMKIT_ESHORTBUF) {
		memcpy(buf, &len, 8);
	}
	return rc != 0 ? -(int64_t)rc : (int64_t)(len << 8 | (uint64_t)tag);
}

int shmkit_dict_store(struct shmkit_dict *d, int ktag, const void *key, int klen, int vtag, const void *val, int vlen) {
	if (d == NULL || klen < 0 || vlen < 0) {
		return EINVAL;
	}
	return shmkit_dict_set(d, ktag, key, (uint64_t)klen, vtag, val, (uint64_t)vlen);
}

int shmkit_dict_add_int(struct shmkit_dict *d, int ktag, const void *key, int klen, int delta, int64_t *out) {
	if (d == NULL || klen < 0) {
		return EINVAL;
	}
	return shmkit_dict_add(d, ktag, key, (uint64_t)klen, delta, out);
}

/* ---- writing a dict, under the lock ---- */

/* Where a key is (*at, *ref != 0, its item in *found) or would go (*at,
 * *ref == 0). */
static int dict_slot_for(struct shmkit_dict *d, const struct dict_table *t, int ktag, const void *key, uint64_t klen,
                         uint32_t h32, uint64_t *at, uint64_t *ref, struct dict_item *found) {
	uint64_t mask = t->cap - 1, free_at = UINT64_MAX;
	for (uint64_t n = 0, i = h32 & mask; n < t->cap; n++, i = (i + 1) & mask) {
		uint64_t r = t->slots[i].ref;
		if (r == SHMKIT_SLOT_EMPTY) {
			*at = free_at != UINT64_MAX ? free_at : i;
			*ref = 0;
			return 0;
		}
		if (r == SHMKIT_SLOT_TOMB) {
			if (free_at == UINT64_MAX) {
				free_at = i;
			}
			continue;
		}
		if (t->slots[i].hash != h32) {
			continue;
		}
		struct dict_item it;
		int rc = dict_item_at(d, r, &it);
		if (rc != 0) {
			return rc;
		}
		if (key_equal(&it, ktag, key, klen)) {
			*at = i;
			*ref = r;
			*found = it;
			return 0;
		}
	}
	if (free_at == UINT64_MAX) {
		return SHMKIT_ECORRUPT; /* no empty slot: we never fill a table */
	}
	*at = free_at;
	*ref = 0;
	return 0;
}

/* dict_rehash replaces the table with one of cap slots holding its keys. */
static int dict_rehash(struct shmkit_dict *d, struct dict_table *t, uint64_t cap) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t off;
	int rc = dict_alloc(d, 32 + cap * sizeof(struct shmkit_dict_slot), SHMKIT_BLOCK_TABLE, &off);
	if (rc != 0) {
		return rc;
	}
	uint8_t *b = d->base + off;
	memset(b + 16, 0, 16 + cap * sizeof(struct shmkit_dict_slot));
	*(uint64_t *)(b + 16) = cap;
	struct dict_table nt;
	if ((rc = dict_table_at(d, off, SHMKIT_BLOCK_TABLE, &nt)) != 0) {
		return rc;
	}
	for (uint64_t i = 0; i < t->cap; i++) {
		uint64_t r = t->slots[i].ref;
		if (r < SHMKIT_DICT_HEAP_START) {
			continue;
		}
		uint32_t h32 = t->slots[i].hash;
		uint64_t j = h32 & (cap - 1);
		while (nt.slots[j].ref != SHMKIT_SLOT_EMPTY) {
			j = (j + 1) & (cap - 1);
		}
		nt.slots[j].hash = h32;
		nt.slots[j].ref = r;
	}
	uint64_t old = t->off;
	gen_begin(h);
	STORE(&h->table, off);
	gen_end(h);
	h->tombstones = 0;
	dict_free(d, old);
	*t = nt;
	return 0;
}

static uint64_t dict_cap_for(uint64_t keys) {
	uint64_t cap = DICT_MIN_SLOTS;
	while (keys * 5 > cap * 3) {
		cap *= 2;
	}
	return cap;
}

/* dict_locked_table is the table, grown first if one more key would load
 * it past 4/5. */
static int dict_locked_table(struct shmkit_dict *d, struct dict_table *t, int adding) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	int rc = dict_table_at(d, h->table, SHMKIT_BLOCK_TABLE, t);
	if (rc == 0 && (h->count > t->cap || h->tombstones > t->cap - h->count)) {
		rc = SHMKIT_ECORRUPT; /* more keys than slots: a count that lies */
	}
	if (rc == 0 && adding && (h->count + h->tombstones + 1) * 5 > t->cap * 4) {
		rc = dict_rehash(d, t, dict_cap_for(h->count + 1));
	}
	return rc;
}

/* dict_overwrite replaces the value of the item in slot at in place: a
 * value of at most 8 bytes with the new value's tag and length. Readers
 * see the slot's seq change and read again. The old bytes, the slot and
 * its seq are noted first, in the lock's cache line (which the writer
 * holds already), so that dict_repair can undo an overwrite whose writer
 * died before making seq even again. Go's Add of an int (dict/adder.go)
 * makes the same stores in the same order, and shmkit_dict_add's checks
 * before them: keep the two in step. */
static inline void dict_overwrite_to(struct shmkit_dict *d, const struct dict_table *t, uint64_t at,
                                     const struct dict_item *it, const void *val, int stop) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	struct shmkit_dict_slot *s = &t->slots[at];
	uint64_t was = 0, n = it->vlen;
	if (n == 8) { /* an integer or float: two plain moves, not calls */
		memcpy(&was, it->val, 8);
	} else {
		memcpy(&was, it->val, n);
	}
	uint32_t q = slot_seq(s);
	RELAXED_STORE(&h->undo_val, was);
	STORE(&h->undo_note, (uint64_t)q << 32 | (at + 1));
	RELAXED_STORE(&s->seq, q + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (stop == 1) { /* a writer killed halfway through the bytes */
		memcpy((uint8_t *)it->val, val, it->vlen / 2);
		return;
	}
	if (n == 8) {
		memcpy((uint8_t *)it->val, val, 8);
	} else {
		memcpy((uint8_t *)it->val, val, n);
	}
	STORE(&s->seq, q + 2);
	if (stop == 2) { /* killed before the note is cleared */
		return;
	}
	STORE(&h->undo_note, (uint64_t)0);
}

/* dict_undo finishes an overwrite in place that a killed writer left: if
 * the slot's seq is still odd, the old bytes go back and the seq is closed;
 * if it is even again, the new value stays. The lock is held, and the table
 * is the one the note's index is in: no table is replaced while a note is
 * set. */
static void dict_undo(struct shmkit_dict *d, const struct dict_table *t) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t note = h->undo_note, at = (note & 0xFFFFFFFFu) - 1;
	if (note == 0) {
		return;
	}
	h->undo_note = 0;
	if (at >= t->cap) {
		return; /* not a slot of the table: nothing to put back */
	}
	struct shmkit_dict_slot *s = &t->slots[at];
	struct dict_item it;
	if (s->seq != (uint32_t)(note >> 32) + 1 || dict_item_at(d, s->ref, &it) != 0 || it.vlen > 8) {
		return;
	}
	uint64_t was = h->undo_val;
	memcpy((uint8_t *)it.val, &was, it.vlen);
	STORE(&s->seq, s->seq + 1);
}

/* dict_put stores a new item for the key at slot at (whose item is old,
 * described by it, or 0), or a tombstone if vtag is SHMKIT_TAG_ABSENT. */
static int dict_put(struct shmkit_dict *d, struct dict_table *t, uint64_t at, uint64_t old, const struct dict_item *it,
                    uint32_t h32, int ktag, const void *key, uint64_t klen, int vtag, const void *val, uint64_t vlen) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t ref = SHMKIT_SLOT_TOMB;
	if (old != 0 && vtag != (int)SHMKIT_TAG_ABSENT && it->vtag == vtag && it->vlen == vlen && vlen <= 8) {
		dict_overwrite_to(d, t, at, it, val, 0);
		return 0;
	}
	if (vtag != (int)SHMKIT_TAG_ABSENT) {
		int rc = dict_new_item(d, ktag, key, klen, vtag, val, vlen, &ref);
		if (rc != 0) {
			return rc;
		}
	} else if (old == 0) {
		return 0;
	}
	uint64_t was = t->slots[at].ref;
	slot_store(&t->slots[at], h32, ref);
	if (old != 0) {
		dict_free(d, old);
	}
	if (old == 0 && was == SHMKIT_SLOT_TOMB) {
		h->tombstones--;
	}
	if (old == 0) {
		h->count++;
	}
	if (ref == SHMKIT_SLOT_TOMB) {
		h->count--;
		h->tombstones++;
	}
	return 0;
}

int shmkit_dict_test_overwrite(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int64_t val,
                               int stage) {
	int rc = dict_check_key(d, ktag, key, klen);
	if (rc != 0 || (rc = dict_lock(d)) != 0) {
		return rc;
	}
	struct dict_table t;
	struct dict_item it;
	uint64_t at, ref;
	uint32_t h32 = (uint32_t)(dict_hash(ktag, key, klen) >> 32);
	if ((rc = dict_table_at(d, DICT_HEAP(d)->table, SHMKIT_BLOCK_TABLE, &t)) != 0 ||
	    (rc = dict_slot_for(d, &t, ktag, key, klen, h32, &at, &ref, &it)) != 0 || (rc = ref == 0 ? ENOENT : 0) != 0 ||
	    (rc = it.vtag == (int)SHMKIT_TAG_INT && it.vlen == 8 ? 0 : SHMKIT_EKIND) != 0) {
		dict_unlock(d);
		return rc;
	}
	dict_overwrite_to(d, &t, at, &it, &val, stage);
	return 0;
}

/* What a locked write does once it found the key. */
enum dict_op { OP_SET, OP_DELETE, OP_LOAD_OR_STORE, OP_CAS, OP_ADD };

struct dict_write {
	enum dict_op op;
	int vtag;
	const void *val;
	uint64_t vlen;
	int otag; /* OP_CAS */
	const void *old;
	uint64_t olen;
	int64_t delta; /* OP_ADD */
	int done;      /* loaded (LOAD_OR_STORE), swapped (CAS) */
	int64_t sum;   /* OP_ADD */
	struct dict_out out;
};

static int dict_write(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, struct dict_write *w) {
	int rc = dict_check_key(d, ktag, key, klen);
	if (rc != 0) {
		return rc;
	}
	uint64_t hash = dict_hash(ktag, key, klen);
	uint32_t h32 = (uint32_t)(hash >> 32);
	if ((rc = dict_lock(d)) != 0) {
		return rc;
	}
	struct dict_table t;
	struct dict_item it = {0};
	uint64_t at, old;
	int adding = w->op != OP_DELETE;
	if ((rc = dict_locked_table(d, &t, adding)) != 0 ||
	    (rc = dict_slot_for(d, &t, ktag, key, klen, h32, &at, &old, &it)) != 0) {
		goto out;
	}
	switch (w->op) {
	case OP_SET:
		rc = dict_put(d, &t, at, old, &it, h32, ktag, key, klen, w->vtag, w->val, w->vlen);
		break;
	case OP_DELETE:
		rc = old == 0 ? ENOENT : dict_put(d, &t, at, old, &it, h32, ktag, key, klen, SHMKIT_TAG_ABSENT, NULL, 0);
		break;
	case OP_LOAD_OR_STORE:
		if (old != 0) {
			w->done = 1;
			out_copy(&w->out, it.vtag, it.val, it.vlen);
			rc = out_fits(&w->out, it.vlen) ? 0 : SHMKIT_ESHORTBUF;
		} else {
			rc = dict_put(d, &t, at, 0, NULL, h32, ktag, key, klen, w->vtag, w->val, w->vlen);
		}
		break;
	case OP_CAS: {
		int match = w->otag == (int)SHMKIT_TAG_ABSENT
		                ? old == 0
		                : old != 0 && item_holds(&it, w->otag, w->old, w->olen);
		if (match) {
			rc = dict_put(d, &t, at, old, &it, h32, ktag, key, klen, w->vtag, w->val, w->vlen);
			w->done = rc == 0;
		}
		break;
	}
	case OP_ADD: {
		int64_t cur = 0;
		if (old != 0) {
			if (it.vtag != (int)SHMKIT_TAG_INT || it.vlen != 8) {
				rc = SHMKIT_EKIND;
				break;
			}
			memcpy(&cur, it.val, 8);
		}
		if (__builtin_add_overflow(cur, w->delta, &w->sum)) {
			rc = EOVERFLOW; /* past int64: an error, never a wrapped count */
			break;
		}
		rc = dict_put(d, &t, at, old, &it, h32, ktag, key, klen, SHMKIT_TAG_INT, &w->sum, 8);
		break;
	}
	}
out:
	dict_unlock(d);
	return rc;
}

/* valid_record checks a RECORD value: a valid description, then exactly
 * the bytes of one record. The description is checked in a copy, aligned
 * and out of reach of the caller's other threads. */
static int valid_record(const void *val, uint64_t vlen) {
	struct shmkit_struct_desc head;
	if (vlen < sizeof head) {
		return 0;
	}
	memcpy(&head, val, sizeof head);
	uint64_t nf = head.fields, db = sizeof head + nf * sizeof(struct shmkit_field);
	if (nf == 0 || nf > SHMKIT_FIELDS_MAX || vlen < db || vlen - db != head.size) {
		return 0;
	}
	struct shmkit_struct_desc *copy = malloc(db);
	if (copy == NULL) {
		return 0;
	}
	memcpy(copy, val, db);
	uint64_t size = desc_size(copy, db);
	free(copy);
	return size != 0 && size == head.size;
}

static int check_value(int vtag, const void *val, uint64_t vlen) {
	return valid_datum(vtag, vlen, SHMKIT_DICT_VALUE_MAX) && (vlen == 0 || val != NULL) &&
	               valid_bool(vtag, val, vlen) && (vtag != (int)SHMKIT_TAG_RECORD || valid_record(val, vlen))
	           ? 0
	           : EINVAL;
}

int shmkit_dict_set(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int vtag, const void *val,
                    uint64_t vlen) {
	if (check_value(vtag, val, vlen) != 0) {
		return EINVAL;
	}
	struct dict_write w = {.op = OP_SET, .vtag = vtag, .val = val, .vlen = vlen};
	return dict_write(d, ktag, key, klen, &w);
}

int shmkit_dict_delete(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen) {
	struct dict_write w = {.op = OP_DELETE};
	return dict_write(d, ktag, key, klen, &w);
}

int shmkit_dict_load_or_store(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int vtag,
                              const void *val, uint64_t vlen, int *loaded, int *tag, void *buf, uint64_t cap,
                              uint64_t *len) {
	if (check_value(vtag, val, vlen) != 0) {
		return EINVAL;
	}
	struct dict_write w = {.op = OP_LOAD_OR_STORE, .vtag = vtag, .val = val, .vlen = vlen,
	                       .out = {tag, buf, cap, len}};
	int rc = dict_write(d, ktag, key, klen, &w);
	if (loaded) {
		*loaded = w.done;
	}
	return rc;
}

int shmkit_dict_cas(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int otag, const void *old,
                    uint64_t olen, int ntag, const void *nval, uint64_t nlen, int *swapped) {
	if ((otag != (int)SHMKIT_TAG_ABSENT && check_value(otag, old, olen) != 0) ||
	    (ntag != (int)SHMKIT_TAG_ABSENT && check_value(ntag, nval, nlen) != 0)) {
		return EINVAL;
	}
	struct dict_write w = {.op = OP_CAS, .vtag = ntag, .val = nval, .vlen = nlen, .otag = otag, .old = old,
	                       .olen = olen};
	int rc = dict_write(d, ktag, key, klen, &w);
	if (swapped) {
		*swapped = w.done;
	}
	return rc;
}

int shmkit_dict_add(struct shmkit_dict *d, int ktag, const void *key, uint64_t klen, int64_t delta, int64_t *out) {
	struct dict_write w = {.op = OP_ADD, .delta = delta};
	int rc = dict_write(d, ktag, key, klen, &w);
	if (rc == 0 && out) {
		*out = w.sum;
	}
	return rc;
}

int shmkit_dict_len(struct shmkit_dict *d, uint64_t *n) {
	if (d->kind == SHMKIT_KIND_LIST) {
		return shmkit_list_len(d, n);
	}
	uint64_t c = LOAD(&DICT_HEAP(d)->count);
	if (c > LOAD(&DICT_HEAP(d)->size) / 32) {
		return SHMKIT_ECORRUPT; /* each key takes a slot and an item, 32 bytes at least: a count that lies */
	}
	*n = c;
	return 0;
}

int shmkit_dict_clear(struct shmkit_dict *d) {
	int rc = dict_lock(d);
	if (rc != 0) {
		return rc;
	}
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	int list = d->kind == SHMKIT_KIND_LIST;
	uint64_t each = list ? 8 : sizeof(struct shmkit_dict_slot), off;
	if ((rc = dict_alloc(d, 32 + DICT_MIN_SLOTS * each, list ? SHMKIT_BLOCK_ARRAY : SHMKIT_BLOCK_TABLE, &off)) ==
	    0) {
		uint8_t *b = d->base + off;
		memset(b + 16, 0, 16 + DICT_MIN_SLOTS * each);
		*(uint64_t *)(b + 16) = DICT_MIN_SLOTS;
		gen_begin(h);
		STORE(&h->table, off);
		h->count = 0;
		h->tombstones = 0;
		gen_end(h);
		rc = dict_sweep(d);
	}
	dict_unlock(d);
	return rc;
}

/* dict_next_at reads the first item at or after *pos; EAGAIN if a writer
 * got in the way (never with the lock held). */
static int dict_next_at(struct shmkit_dict *d, uint64_t *pos, uint64_t *gen, int *restarted, struct dict_out *ko,
                        struct dict_out *vo, int locked) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t g1 = LOAD(&h->gen);
	if ((g1 & 1) && !locked) {
		return EAGAIN;
	}
	if (*gen != 0 && *gen != g1 + 1) {
		*pos = 0;
		*restarted = 1;
	}
	struct dict_table t;
	int rc = dict_table_at(d, LOAD(&h->table), SHMKIT_BLOCK_TABLE, &t);
	uint64_t i = *pos;
	for (; rc == 0 && i < t.cap; i++) {
		struct shmkit_dict_slot *s = &t.slots[i];
		uint32_t q = LOAD(&s->seq);
		if ((q & 1) && !locked) {
			return EAGAIN;
		}
		uint64_t ref = RELAXED_LOAD(&s->ref);
		if (ref < SHMKIT_DICT_HEAP_START) {
			continue;
		}
		struct dict_item it;
		rc = dict_item_at(d, ref, &it);
		if (rc == 0) {
			out_copy(ko, it.ktag, it.key, it.klen);
			out_copy(vo, it.vtag, it.val, it.vlen);
			rc = out_fits(ko, it.klen) && out_fits(vo, it.vlen) ? 0 : SHMKIT_ESHORTBUF;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!locked && RELAXED_LOAD(&s->seq) != q) {
			return EAGAIN;
		}
		break;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (!locked && RELAXED_LOAD(&h->gen) != g1) {
		return EAGAIN;
	}
	*gen = g1 + 1;
	if (rc != 0) {
		return rc;
	}
	if (i >= t.cap) {
		*pos = t.cap;
		return ENOENT;
	}
	*pos = i + 1;
	return 0;
}

int shmkit_dict_next(struct shmkit_dict *d, uint64_t *pos, uint64_t *gen, int *restarted, int *ktag, void *kbuf,
                     uint64_t kcap, uint64_t *klen, int *vtag, void *vbuf, uint64_t vcap, uint64_t *vlen) {
	if (d->kind != SHMKIT_KIND_DICT) {
		return SHMKIT_EKIND;
	}
	struct dict_out ko = {ktag, kbuf, kcap, klen}, vo = {vtag, vbuf, vcap, vlen};
	int nudges = 0, rc;
	*restarted = 0;
	for (int i = 0;; i++) {
		rc = dict_next_at(d, pos, gen, restarted, &ko, &vo, 0);
		if (rc != EAGAIN) {
			return rc;
		}
		cpu_relax();
		if (i >= DICT_SPINS) {
			if ((rc = dict_slow_lock(d, &nudges)) == 0) {
				rc = dict_next_at(d, pos, gen, restarted, &ko, &vo, 1);
				dict_unlock(d);
				return rc;
			}
			if (rc != EAGAIN) {
				return rc;
			}
		}
	}
}

int shmkit_dict_stats(struct shmkit_dict *d, struct shmkit_dict_stats *out) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	memset(out, 0, sizeof *out);
	struct dict_table t;
	int list = d->kind == SHMKIT_KIND_LIST;
	if (dict_table_at(d, LOAD(&h->table), list ? SHMKIT_BLOCK_ARRAY : SHMKIT_BLOCK_TABLE, &t) == 0) {
		out->slots = t.cap;
	}
	if (list) {
		shmkit_list_len(d, &out->count);
	} else {
		out->count = LOAD(&h->count);
	}
	out->heap_size = LOAD(&h->size);
	out->used = RELAXED_LOAD(&h->used);
	out->recoveries = RELAXED_LOAD(&h->recoveries);
	return 0;
}

/* ---- lists ---- */

/* list_read runs fn on the array once, under the heap's seqlock; EAGAIN if
 * a writer got in the way. */
static int list_read(struct shmkit_dict *d, int (*fn)(struct shmkit_dict *, struct dict_table *, void *), void *arg) {
	if (d->kind != SHMKIT_KIND_LIST) {
		return SHMKIT_EKIND;
	}
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	int nudges = 0;
	for (int i = 0;; i++) {
		int locked = 0;
		if (i > DICT_SPINS) {
			int rc = dict_slow_lock(d, &nudges);
			if (rc != 0 && rc != EAGAIN) {
				return rc;
			}
			locked = rc == 0;
		}
		uint64_t g1 = LOAD(&h->gen);
		if ((g1 & 1) && !locked) {
			cpu_relax();
			continue;
		}
		struct dict_table t;
		int rc = dict_table_at(d, LOAD(&h->table), SHMKIT_BLOCK_ARRAY, &t);
		if (rc == 0 && (t.n = RELAXED_LOAD(t.len)) > t.cap) {
			rc = SHMKIT_ECORRUPT;
		}
		if (rc == 0) {
			rc = fn(d, &t, arg);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (locked) {
			dict_unlock(d);
			return rc;
		}
		if (RELAXED_LOAD(&h->gen) == g1) {
			return rc;
		}
		cpu_relax();
	}
}

static int list_len_fn(struct shmkit_dict *d, struct dict_table *t, void *arg) {
	(void)d;
	*(uint64_t *)arg = t->n;
	return 0;
}

int shmkit_list_len(struct shmkit_dict *d, uint64_t *n) { return list_read(d, list_len_fn, n); }

/* list_at is the index of item i of a list of n items, counted from the
 * end if end (i = 1: the last); n (past the end) if there is none. */
static uint64_t list_at(uint64_t i, int end, uint64_t n) {
	if (!end) {
		return i < n ? i : n;
	}
	return i == 0 || i > n ? n : n - i;
}

struct list_get_arg {
	uint64_t i;
	int end;
	struct dict_out out;
};

static int list_get_fn(struct shmkit_dict *d, struct dict_table *t, void *arg) {
	struct list_get_arg *a = arg;
	uint64_t i = list_at(a->i, a->end, t->n);
	if (i >= t->n) {
		return ERANGE;
	}
	struct dict_item it;
	int rc = dict_item_at(d, RELAXED_LOAD(&t->refs[i]), &it);
	if (rc == 0) {
		out_copy(&a->out, it.vtag, it.val, it.vlen);
		rc = out_fits(&a->out, it.vlen) ? 0 : SHMKIT_ESHORTBUF;
	}
	return rc;
}

int shmkit_list_get(struct shmkit_dict *d, uint64_t i, int *tag, void *buf, uint64_t cap, uint64_t *len) {
	struct list_get_arg a = {i, 0, {tag, buf, cap, len}};
	return list_read(d, list_get_fn, &a);
}

int shmkit_list_get_end(struct shmkit_dict *d, uint64_t k, int *tag, void *buf, uint64_t cap, uint64_t *len) {
	struct list_get_arg a = {k, 1, {tag, buf, cap, len}};
	return list_read(d, list_get_fn, &a);
}

/* list_lock takes the writer lock of a list and its checked array. */
static int list_lock(struct shmkit_dict *d, struct dict_table *t) {
	if (d->kind != SHMKIT_KIND_LIST) {
		return SHMKIT_EKIND;
	}
	int rc = dict_lock(d);
	if (rc != 0) {
		return rc;
	}
	rc = dict_table_at(d, DICT_HEAP(d)->table, SHMKIT_BLOCK_ARRAY, t);
	if (rc == 0 && (t->n = RELAXED_LOAD(t->len)) > t->cap) {
		rc = SHMKIT_ECORRUPT;
	}
	if (rc != 0) {
		dict_unlock(d);
	}
	return rc;
}

/* list_rebuild publishes a new array of cap entries: the old one's refs
 * with item new_ref inserted at ins (ins > len: none) and entry del left
 * out (del > len: none), reversed if reverse. */
static int list_rebuild(struct shmkit_dict *d, struct dict_table *t, uint64_t ins, uint64_t new_ref, uint64_t del,
                        int reverse) {
	struct shmkit_dict_heap *h = DICT_HEAP(d);
	uint64_t len = t->n, n = len + (ins <= len) - (del < len), cap = DICT_MIN_SLOTS, off;
	while (cap < n) {
		cap *= 2;
	}
	int rc = dict_alloc(d, 32 + cap * 8, SHMKIT_BLOCK_ARRAY, &off);
	if (rc != 0) {
		return rc;
	}
	uint8_t *b = d->base + off;
	*(uint64_t *)(b + 16) = cap;
	*(uint64_t *)(b + 24) = n;
	uint64_t *refs = (uint64_t *)(b + 32), k = 0;
	for (uint64_t i = 0; i <= len; i++) {
		if (i == ins) {
			refs[k++] = new_ref;
		}
		if (i < len && i != del) {
			refs[k++] = t->refs[i];
		}
	}
	if (reverse) {
		for (uint64_t i = 0; i < n / 2; i++) {
			uint64_t x = refs[i];
			refs[i] = refs[n - 1 - i];
			refs[n - 1 - i] = x;
		}
	}
	uint64_t old = t->off;
	gen_begin(h);
	STORE(&h->table, off);
	gen_end(h);
	dict_free(d, old);
	return 0;
}

static int list_set(struct shmkit_dict *d, uint64_t i, int end, int vtag, const void *val, uint64_t vlen) {
	if (check_value(vtag, val, vlen) != 0) {
		return EINVAL;
	}
	struct dict_table t;
	int rc = list_lock(d, &t);
	if (rc != 0) {
		return rc;
	}
	uint64_t ref;
	if ((i = list_at(i, end, t.n)) >= t.n) {
		rc = ERANGE;
	} else if ((rc = dict_new_item(d, SHMKIT_TAG_NONE, NULL, 0, vtag, val, vlen, &ref)) == 0) {
		struct shmkit_dict_heap *h = DICT_HEAP(d);
		uint64_t old = t.refs[i];
		gen_begin(h);
		STORE(&t.refs[i], ref);
		gen_end(h);
		struct dict_item it;
		if (dict_item_at(d, old, &it) == 0) {
			dict_free(d, old);
		}
	}
	dict_unlock(d);
	return rc;
}

int shmkit_list_set(struct shmkit_dict *d, uint64_t i, int vtag, const void *val, uint64_t vlen) {
	return list_set(d, i, 0, vtag, val, vlen);
}

int shmkit_list_set_end(struct shmkit_dict *d, uint64_t k, int vtag, const void *val, uint64_t vlen) {
	return list_set(d, k, 1, vtag, val, vlen);
}

static int list_insert(struct shmkit_dict *d, uint64_t i, int end, int vtag, const void *val, uint64_t vlen) {
	if (check_value(vtag, val, vlen) != 0) {
		return EINVAL;
	}
	struct dict_table t;
	int rc = list_lock(d, &t);
	if (rc != 0) {
		return rc;
	}
	uint64_t ref, len = t.n;
	if (end) {
		i = i >= len ? 0 : len - i;
	} else if (i > len) {
		i = len;
	}
	if ((rc = dict_new_item(d, SHMKIT_TAG_NONE, NULL, 0, vtag, val, vlen, &ref)) == 0) {
		struct shmkit_dict_heap *h = DICT_HEAP(d);
		if (i == len && len < t.cap) {
			/* Append in place: the entry first, then the length that shows it. */
			gen_begin(h);
			STORE(&t.refs[len], ref);
			STORE(t.len, len + 1);
			gen_end(h);
		} else if ((rc = list_rebuild(d, &t, i, ref, UINT64_MAX, 0)) != 0) {
			dict_free(d, ref);
		}
	}
	dict_unlock(d);
	return rc;
}

int shmkit_list_insert(struct shmkit_dict *d, uint64_t i, int vtag, const void *val, uint64_t vlen) {
	return list_insert(d, i, 0, vtag, val, vlen);
}

int shmkit_list_insert_end(struct shmkit_dict *d, uint64_t k, int vtag, const void *val, uint64_t vlen) {
	return list_insert(d, k, 1, vtag, val, vlen);
}

int shmkit_list_append(struct shmkit_dict *d, int vtag, const void *val, uint64_t vlen) {
	return list_insert(d, UINT64_MAX, 0, vtag, val, vlen);
}

/* list_remove removes item i (it) of the locked array t, of n items. */
static int list_remove(struct shmkit_dict *d, struct dict_table *t, uint64_t n, uint64_t i, const struct dict_item *it) {
	int rc = 0;
	if (i == n - 1) {
		struct shmkit_dict_heap *h = DICT_HEAP(d);
		gen_begin(h);
		STORE(t->len, n - 1);
		gen_end(h);
		dict_free(d, it->off);
	} else if ((rc = list_rebuild(d, t, UINT64_MAX, 0, i, 0)) == 0) {
		dict_free(d, it->off);
	}
	return rc;
}

static int list_pop(struct shmkit_dict *d, uint64_t i, int end, int *tag, void *buf, uint64_t cap, uint64_t *len) {
	struct dict_table t;
	int rc = list_lock(d, &t);
	if (rc != 0) {
		return rc;
	}
	uint64_t n = t.n;
	struct dict_item it;
	struct dict_out o = {tag, buf, cap, len};
	if ((i = list_at(i, end, n)) >= n) {
		rc = ERANGE;
	} else if ((rc = dict_item_at(d, t.refs[i], &it)) == 0) {
		out_copy(&o, it.vtag, it.val, it.vlen);
		if (buf != NULL && check_value(it.vtag, it.val, it.vlen) != 0) {
			/* Left where it is: a value no writer may store (scribbled)
			 * could not be put back by the caller once removed. A pop
			 * that drops the value (Python's del) removes it. */
			rc = SHMKIT_ECORRUPT;
		} else if (buf != NULL && !out_fits(&o, it.vlen)) {
			rc = SHMKIT_ESHORTBUF;
		} else {
			rc = list_remove(d, &t, n, i, &it);
		}
	}
	dict_unlock(d);
	return rc;
}

int shmkit_list_pop(struct shmkit_dict *d, uint64_t i, int *tag, void *buf, uint64_t cap, uint64_t *len) {
	return list_pop(d, i, 0, tag, buf, cap, len);
}

int shmkit_list_pop_end(struct shmkit_dict *d, uint64_t k, int *tag, void *buf, uint64_t cap, uint64_t *len) {
	return list_pop(d, k, 1, tag, buf, cap, len);
}

int shmkit_list_pop_if(struct shmkit_dict *d, uint64_t i, int vtag, const void *val, uint64_t vlen, int *popped) {
	if (popped) {
		*popped = 0;
	}
	if (check_value(vtag, val, vlen) != 0) {
		return EINVAL;
	}
	struct dict_table t;
	int rc = list_lock(d, &t);
	if (rc != 0) {
		return rc;
	}
	struct dict_item it;
	if (i >= t.n) {
		rc = ERANGE;
	} else if ((rc = dict_item_at(d, t.refs[i], &it)) == 0 && item_holds(&it, vtag, val, vlen) &&
	           (rc = list_remove(d, &t, t.n, i, &it)) == 0 && popped) {
		*popped = 1;
	}
	dict_unlock(d);
	return rc;
}

int shmkit_list_reverse(struct shmkit_dict *d) {
	struct dict_table t;
	int rc = list_lock(d, &t);
	if (rc == 0) {
		rc = list_rebuild(d, &t, UINT64_MAX, 0, UINT64_MAX, 1);
		dict_unlock(d);
	}
	return rc;
}

/* ---- Queues of messages of any size (shmkit.h) ---------------------- */

static int queue_names(const char *name, const char *suffix, char *out) {
	size_t n = strlen(name), k = strlen(suffix);
	if (n + k > SHMKIT_NAME_MAX) {
		return EINVAL;
	}
	memcpy(out, name, n);
	memcpy(out + n, suffix, k + 1);
	return 0;
}

/* room_for is 0 if objects of the n lengths (each rounded up to 64) would
 * all fit now, in the data area and the directory, ENOSPC if not: a maker
 * of several objects asks before it makes the first (as Go's
 * segment.Room). A snapshot: an allocation made meanwhile may take it. */
static int room_for(const struct shmkit_segment *seg, const uint64_t *lengths, int n) {
	const struct shmkit_header *h = (const struct shmkit_header *)seg->base;
	const struct shmkit_entry *dir = (const struct shmkit_entry *)(seg->base + sizeof *h);
	uint64_t need = 0;
	for (int i = 0; i < n; i++) {
		uint64_t a = align64(lengths[i]);
		if (a < lengths[i] || a > seg->size - need) {
			return ENOSPC;
		}
		need += a;
	}
	uint32_t count = LOAD(&h->dir_count);
	if (count > seg->dir_capacity) {
		return SHMKIT_ECORRUPT;
	}
	while (count < seg->dir_capacity && LOAD(&dir[count].state) != SHMKIT_ENTRY_EMPTY) {
		count++; /* published but not yet counted: taken all the same */
	}
	uint64_t cur = LOAD(&h->alloc_cursor);
	if (cur < data_start(seg->dir_capacity) || cur > seg->size) {
		return SHMKIT_ECORRUPT;
	}
	return seg->dir_capacity - count < (uint32_t)n || need > seg->size - cur ? ENOSPC : 0;
}

int shmkit_new_pipe(struct shmkit_segment *seg, const char *name, int typecode, uint32_t slots, uint32_t max_len,
                    int duplex) {
	char n[2][SHMKIT_NAME_MAX + 1];
	struct shmkit_object o;
	if (name == NULL || typecode == SHMKIT_TYPECODE_STRUCT) {
		return EINVAL;
	}
	if (queue_names(name, ".0", n[0]) != 0 || queue_names(name, ".1", n[1]) != 0) {
		return EINVAL;
	}
	if (duplex) {
		/* Refuse before making NAME.0 what would refuse NAME.1: a pipe made
		 * in part would hold its name, and the segment's space, for good. */
		int rc = shmkit_check_name(n[1], strlen(n[1]), 1) != 0 ? EINVAL : shmkit_lookup(seg, n[1], 0, 0, &o);
		if (rc != ENOENT) {
			return rc == 0 ? EEXIST : rc;
		}
		uint64_t size = shmkit_typecode_size(typecode), stride, length[2];
		if (size != 0 && channel_geometry(size, slots, max_len, &stride, &length[0]) == 0) {
			length[1] = length[0];
			if ((rc = room_for(seg, length, 2)) != 0) {
				return rc;
			}
		}
	}
	int rc = shmkit_new_channel_flags(seg, n[0], typecode, slots, max_len, 0, &o);
	if (rc == 0 && duplex) {
		rc = shmkit_new_channel_flags(seg, n[1], typecode, slots, max_len, 0, &o);
	}
	return rc;
}

int shmkit_new_queue(struct shmkit_segment *seg, const char *name, uint32_t slots, uint32_t slot_bytes,
                     uint64_t max_message) {
	static const char *const suffixes[4] = {".send", ".recv", ".max", ".len"};
	if (slot_bytes <= SHMKIT_QUEUE_HEADER || max_message > UINT32_MAX) {
		return EINVAL;
	}
	if (seg->fd < 0) {
		return EBADF;
	}
	if (name == NULL || shmkit_check_name(name, strlen(name), 1) != 0) {
		return EINVAL;
	}
	/* Refuse before making anything, for the derived names and for room: a
	 * queue made in part would hold its name, and the segment's space, for
	 * good. */
	char n[4][SHMKIT_NAME_MAX + 1];
	struct shmkit_object o;
	for (int i = 0; i < 4; i++) {
		if (queue_names(name, suffixes[i], n[i]) != 0 || shmkit_check_name(n[i], strlen(n[i]), 1) != 0) {
			return EINVAL;
		}
		int rc = shmkit_lookup(seg, n[i], 0, 0, &o);
		if (rc != ENOENT) {
			return rc == 0 ? EEXIST : rc;
		}
	}
	uint64_t stride, ring;
	if (channel_geometry(1, slots, slot_bytes, &stride, &ring) != 0) {
		return EINVAL;
	}
	const uint64_t lengths[5] = {ring, sizeof(struct shmkit_mutex), sizeof(struct shmkit_mutex), 8, 8};
	int rc = room_for(seg, lengths, 5);
	int64_t zero = 0;
	if (rc == 0) {
		rc = shmkit_new_channel_flags(seg, name, 'B', slots, slot_bytes, 0, &o);
	}
	if (rc == 0) {
		rc = shmkit_new_mutex(seg, n[0], 0, &o);
	}
	if (rc == 0) {
		rc = shmkit_new_mutex(seg, n[1], 0, &o);
	}
	if (rc == 0) {
		rc = shmkit_new_elems(seg, n[2], 'Q', 1, 0, 0, &max_message, &o);
	}
	if (rc == 0) {
		rc = shmkit_new_elems(seg, n[3], 'q', 1, 0, 0, &zero, &o);
	}
	return rc;
}

int shmkit_queue_open(const struct shmkit_segment *seg, const char *name, struct shmkit_queue *q) {
	char n[SHMKIT_NAME_MAX + 1];
	struct shmkit_object o;
	memset(q, 0, sizeof *q);
	int rc = shmkit_chan_open(seg, name, 'B', &q->ch);
	if (rc == 0 && (rc = queue_names(name, ".send", n)) == 0 && (rc = shmkit_lookup(seg, n, SHMKIT_KIND_MUTEX, 0, &o)) == 0) {
		q->send_lock = o.data;
	}
	if (rc == 0 && (rc = queue_names(name, ".recv", n)) == 0 && (rc = shmkit_lookup(seg, n, SHMKIT_KIND_MUTEX, 0, &o)) == 0) {
		q->recv_lock = o.data;
	}
	if (rc == 0 && (rc = queue_names(name, ".max", n)) == 0 && (rc = shmkit_lookup(seg, n, SHMKIT_KIND_VALUE, 'Q', &o)) == 0) {
		q->limit = LOAD((uint64_t *)o.data);
	}
	if (rc == 0 && (rc = queue_names(name, ".len", n)) == 0 && (rc = shmkit_lookup(seg, n, SHMKIT_KIND_VALUE, 'q', &o)) == 0) {
		q->queued = o.data;
	}
	if (rc == 0 && (q->ch.max_len <= SHMKIT_QUEUE_HEADER || q->limit > UINT32_MAX)) {
		rc = SHMKIT_ECORRUPT;
	}
	if (rc == 0 && (q->part = malloc(q->ch.max_len)) == NULL) {
		rc = ENOMEM;
	}
	return rc;
}

void shmkit_queue_close(struct shmkit_queue *q) {
	shmkit_chan_close(&q->ch);
	free(q->part);
	q->part = NULL;
}

/* queue_lock takes a queue's mutex; a holder that died leaves nothing to
 * repair (the part rules above handle what it left), so it is marked
 * consistent. */
static int queue_lock(void *mutex, int64_t deadline_ns) {
	int rc;
	if (deadline_ns == SHMKIT_NOWAIT) {
		rc = shmkit_mutex_trylock(mutex);
		rc = rc == EBUSY ? EAGAIN : rc;
	} else if (deadline_ns == SHMKIT_FOREVER) {
		rc = shmkit_mutex_lock(mutex);
	} else {
		rc = shmkit_mutex_timedlock(mutex, deadline_ns);
	}
	if (rc == EOWNERDEAD) {
		rc = shmkit_mutex_consistent(mutex);
		if (rc != 0) {
			shmkit_mutex_unlock(mutex);
		}
	}
	return rc;
}

static void put_u32(uint8_t *p, uint32_t v) {
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint32_t get_u32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int shmkit_queue_send(struct shmkit_queue *q, const void *msg, uint64_t len, int64_t deadline_ns) {
	if (q->ch.readonly) {
		return SHMKIT_EREADONLY; /* its locks live in a mapping this process may not write */
	}
	if (len > q->limit) {
		return SHMKIT_ETOOLARGE;
	}
	uint64_t room = q->ch.max_len - SHMKIT_QUEUE_HEADER;
	uint64_t parts = len == 0 ? 1 : (len + room - 1) / room;
	int rc = queue_lock(q->send_lock, deadline_ns);
	if (rc != 0) {
		return rc;
	}
	/* Holding the send lock, only receivers change the count, and they free
	 * slots: what fits now still fits when the parts go in. */
	if (deadline_ns == SHMKIT_NOWAIT && parts > q->ch.slots - shmkit_chan_len(&q->ch)) {
		shmkit_mutex_unlock(q->send_lock);
		return EAGAIN;
	}
	const uint8_t *p = msg;
	uint32_t flags = SHMKIT_QUEUE_FIRST;
	uint64_t left = len;
	do {
		uint64_t k = left < room ? left : room;
		if (k == left) {
			flags |= SHMKIT_QUEUE_LAST;
		}
		put_u32(q->part, flags);
		put_u32(q->part + 4, (uint32_t)len);
		if (k > 0) {
			memcpy(q->part + SHMKIT_QUEUE_HEADER, p, k);
		}
		rc = shmkit_chan_send(&q->ch, q->part, (uint32_t)(SHMKIT_QUEUE_HEADER + k),
		                      flags & SHMKIT_QUEUE_FIRST ? deadline_ns : SHMKIT_FOREVER);
		p += k;
		left -= k;
		flags = 0;
	} while (rc == 0 && left > 0);
	shmkit_mutex_unlock(q->send_lock);
	if (rc == 0) {
		__atomic_add_fetch(q->queued, 1, __ATOMIC_RELAXED);
	}
	return rc;
}

#define QUEUE_ORPHAN_CHECK_NS 100000000LL /* 100 ms */

/* queue_orphaned: whether the message a receiver assembles can never
 * finish: no sender is inside a message (the send lock is free, or its
 * holder died) and no part is queued. A live sender holds the send lock
 * from a message's first part to its last, and the receiver the receive
 * lock, so nothing can add to the message once that is seen. */
static int queue_orphaned(struct shmkit_queue *q) {
	if (queue_lock(q->send_lock, SHMKIT_NOWAIT) != 0) {
		return 0;
	}
	int orphaned = shmkit_chan_len(&q->ch) == 0;
	shmkit_mutex_unlock(q->send_lock);
	return orphaned;
}

int shmkit_queue_recv(struct shmkit_queue *q, void **msg, uint64_t *len, int64_t deadline_ns) {
	*msg = NULL;
	*len = 0;
	if (q->ch.readonly) {
		return SHMKIT_EREADONLY;
	}
	int rc = queue_lock(q->recv_lock, deadline_ns);
	if (rc != 0) {
		return rc;
	}
	uint8_t *buf = NULL;
	uint64_t have = 0, total = 0;
	for (;;) {
		uint32_t n = 0;
		if (buf != NULL) {
			/* Inside a message: wait for its next part in slices, and between
			 * them drop the message if it can never finish (as Go's queue). */
			rc = shmkit_chan_recv(&q->ch, q->part, q->ch.max_len, &n, shmkit_now_ns() + QUEUE_ORPHAN_CHECK_NS);
			if (rc == ETIMEDOUT || rc == EAGAIN) {
				if (queue_orphaned(q)) {
					free(buf);
					buf = NULL;
				}
				continue;
			}
		} else {
			rc = shmkit_chan_recv(&q->ch, q->part, q->ch.max_len, &n, deadline_ns);
		}
		if (rc != 0) {
			break; /* SHMKIT_EEOF inside a message too: its sender died or the end cut it off */
		}
		if (n < SHMKIT_QUEUE_HEADER) {
			rc = SHMKIT_ECORRUPT;
			break;
		}
		uint32_t flags = get_u32(q->part);
		if (flags & SHMKIT_QUEUE_FIRST) {
			total = get_u32(q->part + 4);
			if (total > q->limit) {
				rc = SHMKIT_ECORRUPT;
				break;
			}
			free(buf);
			if ((buf = malloc(total ? total : 1)) == NULL) {
				rc = ENOMEM;
				break;
			}
			have = 0;
		} else if (buf == NULL) {
			continue; /* the rest of a message whose receiver died */
		}
		uint64_t k = n - SHMKIT_QUEUE_HEADER;
		if (have + k > total) {
			rc = SHMKIT_ECORRUPT;
			break;
		}
		memcpy(buf + have, q->part + SHMKIT_QUEUE_HEADER, k);
		have += k;
		if (flags & SHMKIT_QUEUE_LAST) {
			if (have != total) {
				rc = SHMKIT_ECORRUPT;
				break;
			}
			__atomic_sub_fetch(q->queued, 1, __ATOMIC_RELAXED);
			*msg = buf;
			*len = total;
			buf = NULL;
			break;
		}
	}
	free(buf);
	shmkit_mutex_unlock(q->recv_lock);
	return rc;
}

/* ---- Process pools: the worker table, and a worker in C -------------- */

static int init_pool(uint8_t *mem, const struct alloc_req *r) {
	struct shmkit_pool *p = (struct shmkit_pool *)mem;
	p->workers = r->value;
	p->parent_pid = *(const int32_t *)r->data;
	p->version = SHMKIT_POOL_VERSION;
	STORE(&p->magic, SHMKIT_POOL_MAGIC); /* last: a reader that sees it sees the rest */
	return 0;
}

int shmkit_new_pool(struct shmkit_segment *seg, const char *name, uint32_t workers, int32_t parent_pid,
                    struct shmkit_object *out) {
	if (workers == 0 || workers > (1u << 20)) {
		return EINVAL;
	}
	struct alloc_req r = {
	    .name = name, .kind = SHMKIT_KIND_BYTES, .init = init_pool, .value = workers, .data = &parent_pid,
	    .length = sizeof(struct shmkit_pool) + (uint64_t)workers * sizeof(struct shmkit_pool_worker),
	};
	return alloc_object(seg, &r, out);
}

static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }
static void put_u64(uint8_t *p, uint64_t v) {
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

/* A task name or encoding as a JSON string: the few characters that need
 * it escaped. */
static void json_string(const char *s) {
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			printf("\\%c", c);
		} else if (c < 0x20) {
			printf("\\u%04x", c);
		} else {
			putchar(c);
		}
	}
	putchar('"');
}

static int pool_list(const struct shmkit_pool_task *tasks, size_t n, const struct shmkit_pool_init *inits,
                     size_t ninits) {
	printf("{\"tasks\": [");
	for (size_t i = 0; i < n; i++) {
		printf(i ? ", {\"name\": " : "{\"name\": ");
		json_string(tasks[i].name);
		printf(", \"in\": ");
		json_string(tasks[i].in ? tasks[i].in : "bytes");
		printf(", \"out\": ");
		json_string(tasks[i].out ? tasks[i].out : "bytes");
		putchar('}');
	}
	printf("], \"inits\": [");
	for (size_t i = 0; i < ninits; i++) {
		printf(i ? ", " : "");
		json_string(inits[i].name);
	}
	printf("]}\n");
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Opens the worker's row of the pool's table. */
static int pool_row(struct shmkit_segment *seg, const char *slot_arg, struct shmkit_pool_worker **row) {
	struct shmkit_object o;
	int rc = shmkit_lookup(seg, "pool", SHMKIT_KIND_BYTES, 0, &o);
	if (rc != 0) {
		return rc;
	}
	const struct shmkit_pool *p = o.data;
	if (o.length < sizeof *p || LOAD(&p->magic) != SHMKIT_POOL_MAGIC) {
		return SHMKIT_ENOTSHMKIT;
	}
	if (LOAD(&p->version) != SHMKIT_POOL_VERSION) {
		return SHMKIT_EVERSION; /* another build's protocol: its messages would be misread */
	}
	uint64_t workers = p->workers;
	char *end;
	long slot = strtol(slot_arg, &end, 10);
	if (*slot_arg == 0 || *end != 0 || slot < 0 || (uint64_t)slot >= workers ||
	    sizeof *p + workers * sizeof **row > o.length) {
		return EINVAL;
	}
	*row = (struct shmkit_pool_worker *)((uint8_t *)o.data + sizeof *p) + slot;
	return 0;
}

/* One task's answer appended to the result message being built. */
struct pool_answers {
	struct shmkit_chan *results;
	uint8_t *msg;
	uint64_t id;
	uint32_t count, size;
};

static int pool_flush(struct pool_answers *a) {
	if (a->count == 0) {
		return 0;
	}
	put_u64(a->msg, a->id);
	put_u32(a->msg + 8, a->count);
	put_u32(a->msg + 12, 0);
	int rc = shmkit_chan_send(a->results, a->msg, a->size, SHMKIT_FOREVER);
	a->size = 16;
	a->count = 0;
	return rc;
}

static int pool_answer(struct pool_answers *a, uint8_t status, const void *data, uint32_t len) {
	uint32_t max = a->results->max_len;
	if (16 + 5 + (uint64_t)len > max) {
		static const char too_large[] = "pool: task input or result longer than the pool's message size";
		status = SHMKIT_POOL_TOOLARGE;
		data = too_large;
		len = sizeof too_large - 1;
	}
	if ((uint64_t)a->size + 5 + len > max) {
		int rc = pool_flush(a);
		if (rc != 0) {
			return rc;
		}
	}
	a->msg[a->size] = status;
	put_u32(a->msg + a->size + 1, len);
	memmove(a->msg + a->size + 5, data, len);
	a->size += 5 + len;
	a->count++;
	return 0;
}

static int pool_serve(struct shmkit_pool_worker *row, struct shmkit_chan *tasks, struct shmkit_chan *results,
                      const struct shmkit_pool_task *fns, size_t n) {
	uint32_t max_in = tasks->max_len, max_out = results->max_len;
	uint8_t *buf = malloc(max_in), *msg = malloc(max_out), *out = malloc(max_out);
	char err[1024];
	int rc = (buf && msg && out) ? 0 : ENOMEM;
	STORE(&row->state, SHMKIT_POOL_IDLE);
	while (rc == 0) {
		uint32_t got;
		rc = shmkit_chan_recv(tasks, buf, max_in, &got, SHMKIT_FOREVER);
		if (rc != 0) {
			break; /* SHMKIT_EEOF: the pool let this worker go */
		}
		if (got < 16 || 16 + (uint64_t)(get_u32(buf + 12) & 0xFFFF) > got) {
			rc = SHMKIT_ECORRUPT;
			break;
		}
		uint64_t id = get_u64(buf);
		uint32_t count = get_u32(buf + 8), name_len = get_u32(buf + 12) & 0xFFFF;
		const char *name = (const char *)buf + 16;
		const struct shmkit_pool_task *fn = NULL;
		for (size_t i = 0; i < n && fn == NULL; i++) {
			if (strlen(fns[i].name) == name_len && memcmp(fns[i].name, name, name_len) == 0) {
				fn = &fns[i];
			}
		}
		STORE(&row->task, id);
		STORE(&row->item, 0);
		STORE(&row->state, SHMKIT_POOL_BUSY);
		struct pool_answers a = {.results = results, .msg = msg, .id = id, .size = 16};
		uint64_t at = 16 + name_len;
		for (uint32_t k = 0; k < count && rc == 0; k++) {
			STORE(&row->item, k);
			if (at + 4 > got || get_u32(buf + at) > got - at - 4) {
				rc = SHMKIT_ECORRUPT;
				break;
			}
			uint32_t len = get_u32(buf + at);
			const uint8_t *in = buf + at + 4;
			at += 4 + (uint64_t)len;
			if (fn == NULL) {
				int m = snprintf(err, sizeof err, "pool: no task function registered under this name: \"%.*s\"",
				                 (int)name_len, name);
				rc = pool_answer(&a, SHMKIT_POOL_ERROR, err, (uint32_t)m);
				continue;
			}
			size_t out_len = max_out - 16 - 5;
			err[0] = 0;
			int failed = fn->fn(fn->arg, in, len, out, &out_len, err, sizeof err);
			if (failed == 0 && out_len <= max_out - 16 - 5) {
				rc = pool_answer(&a, SHMKIT_POOL_OK, out, (uint32_t)out_len);
			} else if (failed == 0) { /* a result longer than any message */
				int m = snprintf(err, sizeof err, "pool: task input or result longer than the pool's message size: "
				                                  "a result of %zu bytes", out_len);
				rc = pool_answer(&a, SHMKIT_POOL_TOOLARGE, err, (uint32_t)m);
			} else {
				err[sizeof err - 1] = 0;
				if (err[0] == 0) {
					snprintf(err, sizeof err, "task %s failed", fn->name);
				}
				rc = pool_answer(&a, SHMKIT_POOL_ERROR, err, (uint32_t)strlen(err));
			}
		}
		if (rc == 0) {
			rc = pool_flush(&a);
		}
		__atomic_add_fetch(&row->done, 1, __ATOMIC_RELEASE);
		STORE(&row->state, SHMKIT_POOL_IDLE);
	}
	free(buf);
	free(msg);
	free(out);
	return rc == SHMKIT_EEOF ? 0 : rc;
}

/* pool_init runs the initializer argv[4] with argv[5..]: 0, or 4 (main's
 * exit status) with a message on stderr. */
static int pool_init(int argc, char **argv, const struct shmkit_pool_init *inits, size_t ninits) {
	for (size_t i = 0; i < ninits; i++) {
		if (inits[i].name == NULL || strcmp(inits[i].name, argv[4]) != 0) {
			continue;
		}
		char err[512] = "";
		if (inits[i].fn(inits[i].arg, argc - 5, argv + 5, err, sizeof err - 1) != 0) {
			err[sizeof err - 1] = 0;
			fprintf(stderr, "pool worker: initializer %s: %s\n", argv[4], err[0] ? err : "failed");
			return 4;
		}
		return 0;
	}
	fprintf(stderr, "pool worker: no initializer registered under this name: %s\n", argv[4]);
	return 4;
}

int shmkit_pool_main(int argc, char **argv, const struct shmkit_pool_task *tasks, size_t n) {
	return shmkit_pool_serve(argc, argv, tasks, n, NULL, 0);
}

int shmkit_pool_serve(int argc, char **argv, const struct shmkit_pool_task *tasks, size_t n,
                      const struct shmkit_pool_init *inits, size_t ninits) {
	const char *role = getenv(SHMKIT_POOL_ROLE_ENV);
	if (role != NULL && strcmp(role, SHMKIT_POOL_TASKS_ROLE) == 0) {
		return pool_list(tasks, n, inits, ninits);
	}
	if (argc < 4) {
		fprintf(stderr, "pool worker: want the pool's segment, the slot and the worker's segment\n");
		return 1;
	}
	struct shmkit_segment pool_seg, own;
	struct shmkit_pool_worker *row = NULL;
	int rc = shmkit_attach(argv[1], 0, &pool_seg);
	if (rc != 0) {
		fprintf(stderr, "pool worker: %s: %s\n", argv[1], shmkit_strerror(rc));
		return 1;
	}
	if ((rc = pool_row(&pool_seg, argv[2], &row)) != 0) {
		fprintf(stderr, "pool worker: %s slot %s: %s\n", argv[1], argv[2], shmkit_strerror(rc));
		shmkit_detach(&pool_seg);
		return 1;
	}
	if ((rc = shmkit_attach(argv[3], 0, &own)) != 0) {
		fprintf(stderr, "pool worker: %s: %s\n", argv[3], shmkit_strerror(rc));
		shmkit_detach(&pool_seg);
		return 1;
	}
	struct shmkit_chan tasks_ch, results_ch;
	int status = 1;
	if ((rc = shmkit_chan_open(&own, "tasks", 'B', &tasks_ch)) != 0 ||
	    (rc = shmkit_chan_open(&own, "results", 'B', &results_ch)) != 0 ||
	    (rc = shmkit_chan_register(&tasks_ch, 0)) != 0 || (rc = shmkit_chan_register(&results_ch, 1)) != 0) {
		fprintf(stderr, "pool worker: %s: %s\n", argv[3], shmkit_strerror(rc));
	} else {
		STORE(&row->pid, (int32_t)getpid());
		status = argc > 4 ? pool_init(argc, argv, inits, ninits) : 0;
		if (status == 0 && (rc = pool_serve(row, &tasks_ch, &results_ch, tasks, n)) != 0) {
			status = 1;
			fprintf(stderr, "pool worker: %s\n", shmkit_strerror(rc));
		}
		shmkit_chan_close(&tasks_ch);
		shmkit_chan_close(&results_ch);
	}
	shmkit_detach(&own);
	shmkit_detach(&pool_seg);
	return status;
}
