/*
 * shmkit.c - process-shared primitives over memory in a shmkit segment.
 * Plain C: cgo compiles it into package cgo, and a C program can compile it
 * directly (cc prog.c shmkit.c -lpthread). See shmkit.h for the contract.
 */
#define _GNU_SOURCE
#include "shmkit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct timespec to_timespec(int64_t ns) {
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	return ts;
}

/* sem_* report through errno. */
static int sem_rc(int rc) { return rc == 0 ? 0 : errno; }

int shmkit_sem_init(void *sem, unsigned value) { return sem_rc(sem_init(sem, 1, value)); }

int shmkit_sem_wait(void *sem) {
	int rc;
	while ((rc = sem_rc(sem_wait(sem))) == EINTR) {
	}
	return rc;
}

int shmkit_sem_trywait(void *sem) {
	int rc;
	while ((rc = sem_rc(sem_trywait(sem))) == EINTR) {
	}
	return rc;
}

int shmkit_sem_timedwait(void *sem, int64_t deadline_ns) {
	struct timespec ts = to_timespec(deadline_ns);
	int rc;
	while ((rc = sem_rc(sem_clockwait(sem, CLOCK_MONOTONIC, &ts))) == EINTR) {
	}
	return rc;
}

int shmkit_sem_post(void *sem) { return sem_rc(sem_post(sem)); }

int shmkit_sem_getvalue(void *sem, int *value) { return sem_rc(sem_getvalue(sem, value)); }

int shmkit_bounded_post(struct shmkit_bounded *b) {
	int rc = shmkit_mutex_lock(&b->lock.mutex);
	if (rc == EOWNERDEAD) {
		/* The dead holder was between reading and posting: the value is
		 * whatever it is, and the check below still holds. */
		rc = shmkit_mutex_consistent(&b->lock.mutex);
	}
	if (rc != 0) {
		return rc;
	}
	int value = 0;
	rc = shmkit_sem_getvalue(&b->sem.sem, &value);
	if (rc == 0) {
		rc = value >= 0 && (uint32_t)value >= b->bound ? ERANGE : shmkit_sem_post(&b->sem.sem);
	}
	shmkit_mutex_unlock(&b->lock.mutex);
	return rc;
}

int shmkit_nsem_open(const char *name, int create, unsigned mode, unsigned value, sem_t **out) {
	sem_t *s = create ? sem_open(name, O_CREAT | O_EXCL, (mode_t)mode, value) : sem_open(name, 0);
	if (s == SEM_FAILED) {
		return errno;
	}
	*out = s;
	return 0;
}

int shmkit_nsem_close(sem_t *sem) { return sem_rc(sem_close(sem)); }

int shmkit_nsem_unlink(const char *name) { return sem_rc(sem_unlink(name)); }

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
