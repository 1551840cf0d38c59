/*
 * robust.c - what Go's path for robust mutexes (internal/robust) needs of
 * each OS thread. Only the Go packages use it; it is not part of the C API.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// A direct-mapped table from a thread's thread pointer to what the Go path
// needs of it: its kernel thread id and the address of its robust list head.
// A thread writes only its own entry; two threads that map to the same entry
// evict each other and fall back to registering again. An entry is cleared
// when its thread exits (a thread-specific key's destructor) and in a forked
// child, so a thread pointer that glibc reuses for a new thread never finds
// the old thread's id.
#define ROBUST_THREADS 4096

struct robust_thread {
	uintptr_t tp;    // the key; 0 while being written
	uintptr_t head;  // struct robust_list_head *
	uint32_t tid;
	uint32_t pad[3];
};

static struct robust_thread robust_threads[ROBUST_THREADS];
static pthread_key_t robust_key;
static pthread_once_t robust_once = PTHREAD_ONCE_INIT;
static int robust_ready;

static uint32_t robust_index(uintptr_t tp) {
	return (uint32_t)(((uint64_t)tp * 0x9E3779B97F4A7C15ull) >> 52);
}

static void robust_forget(void *value) {
	uintptr_t tp = (uintptr_t)value;
	__atomic_compare_exchange_n(&robust_threads[robust_index(tp)].tp, &tp, 0, 0,
	                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void robust_forget_all(void) {
	for (int i = 0; i < ROBUST_THREADS; i++) {
		__atomic_store_n(&robust_threads[i].tp, 0, __ATOMIC_SEQ_CST);
	}
}

static void robust_setup(void) {
	robust_ready = pthread_key_create(&robust_key, robust_forget) == 0 &&
	               pthread_atfork(NULL, NULL, robust_forget_all) == 0;
}

static struct robust_list_head *robust_head(void) {
	struct robust_list_head *head = NULL;
	size_t len = 0;
	if (syscall(SYS_get_robust_list, 0, &head, &len) != 0 || len != sizeof *head) {
		return NULL;
	}
	return head;
}

/* shmkit_go_robust_register records the calling thread, whose thread pointer is tp. */
int shmkit_go_robust_register(uintptr_t tp) {
	pthread_once(&robust_once, robust_setup);
	struct robust_list_head *head = robust_head();
	if (!robust_ready || head == NULL || tp == 0) {
		return ENOSYS;
	}
	int rc = pthread_setspecific(robust_key, (void *)tp);
	if (rc != 0) {
		return rc;
	}
	struct robust_thread *t = &robust_threads[robust_index(tp)];
	__atomic_store_n(&t->tp, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->head, (uintptr_t)head, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->tid, (uint32_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->tp, tp, __ATOMIC_SEQ_CST);
	return 0;
}

void *shmkit_go_robust_table(void) { return robust_threads; }

int shmkit_go_mutex_levels(void *m) { return (int)((pthread_mutex_t *)m)->__data.__count; }

/* The offsets the Go path's assembly uses, and the size of an entry, for
 * it to check before the first use. */
void shmkit_go_robust_layout(uint64_t out[9]) {
	out[0] = offsetof(pthread_mutex_t, __data.__lock);
	out[1] = offsetof(pthread_mutex_t, __data.__count);
	out[2] = offsetof(pthread_mutex_t, __data.__owner);
	out[3] = offsetof(pthread_mutex_t, __data.__nusers);
	out[4] = offsetof(pthread_mutex_t, __data.__kind);
	out[5] = offsetof(pthread_mutex_t, __data.__list.__prev);
	out[6] = offsetof(pthread_mutex_t, __data.__list.__next);
	out[7] = offsetof(struct robust_list_head, list_op_pending);
	out[8] = sizeof(struct robust_thread);
}

static int robust_init_mutex(pthread_mutex_t *m, int type) {
	pthread_mutexattr_t a;
	int rc = pthread_mutexattr_init(&a);
	if (rc == 0 && (rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) == 0 &&
	    (rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) == 0 &&
	    (rc = pthread_mutexattr_settype(&a, type)) == 0) {
		rc = pthread_mutex_init(m, &a);
	}
	return rc;
}

// robust_selftest checks, on the calling thread, that glibc links a robust
// mutex into the thread's list as the Go path does, and reports the __kind
// values of shmkit's two mutex types. 0 if all holds, else the failed step.
int shmkit_go_robust_selftest(int32_t *kind_errorcheck, int32_t *kind_recursive) {
	pthread_mutex_t a, r;
	if (robust_init_mutex(&a, PTHREAD_MUTEX_ERRORCHECK) != 0 || robust_init_mutex(&r, PTHREAD_MUTEX_RECURSIVE) != 0) {
		return 1;
	}
	*kind_errorcheck = a.__data.__kind;
	*kind_recursive = r.__data.__kind;
	struct robust_list_head *head = robust_head();
	if (head == NULL || head->futex_offset != (long)offsetof(pthread_mutex_t, __data.__lock) - (long)offsetof(pthread_mutex_t, __data.__list.__next)) {
		return 2;
	}
	uintptr_t first = (uintptr_t)head->list.next, node = (uintptr_t)&a.__data.__list.__next;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	if (pthread_mutex_lock(&a) != 0) {
		return 3;
	}
	int ok = (uint32_t)a.__data.__lock == tid && (uint32_t)a.__data.__owner == tid && a.__data.__count == 1 &&
	         a.__data.__nusers == 1 && (uintptr_t)head->list.next == node &&
	         (uintptr_t)a.__data.__list.__next == first && (uintptr_t)a.__data.__list.__prev == (uintptr_t)head &&
	         *(uintptr_t *)((first & ~(uintptr_t)1) - 8) == node && head->list_op_pending == NULL;
	if (pthread_mutex_unlock(&a) != 0 || !ok) {
		return 4;
	}
	if ((uintptr_t)head->list.next != first || a.__data.__lock != 0 || a.__data.__owner != 0 ||
	    a.__data.__nusers != 0 || a.__data.__list.__next != NULL || a.__data.__list.__prev != NULL) {
		return 5;
	}
	pthread_mutex_destroy(&a);
	pthread_mutex_destroy(&r);
	return 0;
}
