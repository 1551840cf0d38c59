//go:build cgo

/*
 * floor.c - the C floor: the least work that moves the data. A
 * single-producer, single-consumer ring of doubles whose capacity is a power
 * of two, written with element stores, published with one release store of
 * the index, each side keeping the other's index cached until it must look
 * again, and spinning only; and a ping-pong on two cache lines. Every other
 * row of W1-W3 is held to it: a row that beats it means the floor is wrong.
 */
#include "native.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Messages up to this many doubles are copied element by element; larger
 * ones (W1's 100,000) by copy_big. */
#define SMALL_MSG 64

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* bench_prefault maps the pages of [p, p+len) of seg into this process
 * now, as shmkit's channels map their rings when opened, so that no row
 * takes its page faults in the timed run: the advice, then a read of each
 * page (the first access, which still traps to a hypervisor that keeps
 * page tables of its own). Best effort, like theirs. */
void bench_prefault(const struct shmkit_segment *seg, const void *p, uint64_t len) {
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = (uintptr_t)p & ~(page - 1), to = ((uintptr_t)p + len + page - 1) & ~(page - 1);
	uintptr_t end = (uintptr_t)seg->base + seg->size;
	to = to < end ? to : end;
	if (from >= (uintptr_t)seg->base && to > from && madvise((void *)from, to - from, MADV_POPULATE_WRITE) == 0) {
		for (uintptr_t q = from; q < to; q += page) {
			(void)*(const volatile uint32_t *)q;
		}
	}
}

/* The ring, a bytes object: the consumer's and the producer's index on
 * lines of their own, then the data. Indices count doubles and only grow;
 * a message may wrap around the end. The indices are 128 bytes apart: the
 * adjacent-line prefetcher moves lines in pairs, and at 64 bytes the two
 * indices (and the first data) shared every transfer. */
struct floor_ring {
	_Alignas(128) uint64_t head; /* doubles taken */
	_Alignas(128) uint64_t tail; /* doubles written */
	_Alignas(128) double data[];
};

static int open_floor(const char *segname, const char *name, struct shmkit_segment *seg, void **mem, uint64_t *len) {
	struct shmkit_object o;
	int rc = shmkit_attach(segname, 0, seg);
	if (rc == 0 && (rc = shmkit_lookup(seg, name, SHMKIT_KIND_BYTES, 0, &o)) != 0) {
		shmkit_detach(seg);
	}
	if (rc == 0) {
		*mem = o.data;
		*len = o.length;
		bench_prefault(seg, o.data, o.length);
	}
	return rc;
}

/* open_ring opens the ring in bytes object name, mapped in. Its capacity,
 * in doubles, is the largest power of two that fits for small messages
 * (indices are masked per element), and a whole number of messages for
 * large ones, so that none wraps and the ring is exactly as deep as the
 * bytes object asks; it must hold a message. */
static uint64_t ring_cap(uint64_t len, uint64_t elems) {
	uint64_t room = len >= sizeof(struct floor_ring) ? (len - sizeof(struct floor_ring)) / sizeof(double) : 0;
	if (elems > SMALL_MSG) {
		return room / elems * elems;
	}
	uint64_t cap = 1;
	while (cap * 2 <= room) {
		cap *= 2;
	}
	return cap;
}

/* floor_ring_holds is how many messages of elems doubles the ring in a
 * bytes object of len bytes holds, as open_ring and the loops use it. */
long floor_ring_holds(uint64_t len, long elems) {
	uint64_t cap = ring_cap(len, (uint64_t)elems);
	if (elems == 1) {
		return (long)(cap / 2); /* stamped slots, two doubles each */
	}
	return elems > 0 ? (long)(cap / (uint64_t)elems) : 0;
}

static int open_ring(const char *segname, const char *name, uint64_t elems, struct shmkit_segment *seg,
                     struct floor_ring **r, uint64_t *cap) {
	void *mem;
	uint64_t len;
	int rc = open_floor(segname, name, seg, &mem, &len);
	if (rc != 0) {
		return rc;
	}
	*r = mem;
	*cap = ring_cap(len, elems);
	if (len < sizeof **r || elems == 0 || elems > *cap) {
		shmkit_detach(seg);
		return SHMKIT_ECORRUPT;
	}
	return 0;
}

/* Large messages move by 32-byte vector loads and stores on Intel CPUs
 * with AVX2, as shmkit's Go side moves them there (internal/bulk), else by
 * memcpy, which on other amd64 CPUs with fast string moves makes the one
 * `rep movsb` that shmkit's Go side makes. On the Intel machine of
 * docs/bench.md a producer that wrote this ring with the string move held
 * the pair to a median of 12,900 messages a second, against 18,800 with
 * vector moves; on the AMD machine before it, the string move was the
 * fastest. */
#if defined(__x86_64__)
typedef long long vec32 __attribute__((vector_size(32), aligned(1), may_alias));

__attribute__((target("avx2"))) static void copy_vec(double *dst, const double *src, uint64_t n) {
	uint64_t bytes = n * sizeof *dst, i = 0;
	char *d = (char *)dst;
	const char *s = (const char *)src;
	for (; i + 128 <= bytes; i += 128) {
		vec32 a = *(const vec32 *)(s + i), b = *(const vec32 *)(s + i + 32);
		vec32 c = *(const vec32 *)(s + i + 64), e = *(const vec32 *)(s + i + 96);
		*(vec32 *)(d + i) = a;
		*(vec32 *)(d + i + 32) = b;
		*(vec32 *)(d + i + 64) = c;
		*(vec32 *)(d + i + 96) = e;
	}
	memcpy(d + i, s + i, bytes - i);
}
#endif

static void copy_big(double *dst, const double *src, uint64_t n) {
#if defined(__x86_64__)
	if (__builtin_cpu_is("intel") && __builtin_cpu_supports("avx2")) {
		copy_vec(dst, src, n);
		return;
	}
#endif
	memcpy(dst, src, n * sizeof *dst);
}

static inline void put(double *ring, uint64_t cap, uint64_t at, const double *msg, uint64_t n) {
	if (n <= SMALL_MSG) {
		for (uint64_t i = 0; i < n; i++) {
			ring[(at + i) & (cap - 1)] = msg[i];
		}
		return;
	}
	copy_big(&ring[at % cap], msg, n); /* cap is a multiple of n */
}

static inline void get(double *buf, const double *ring, uint64_t cap, uint64_t at, uint64_t n) {
	if (n <= SMALL_MSG) {
		for (uint64_t i = 0; i < n; i++) {
			buf[i] = ring[(at + i) & (cap - 1)];
		}
		return;
	}
	copy_big(buf, &ring[at % cap], n);
}

/* The loops are always inlined, so that the call with n == 1 compiles to
 * a loop of one store (or load) per message. */
static inline __attribute__((always_inline)) void send_loop(struct floor_ring *r, uint64_t cap, long count,
                                                            uint64_t n, double *msg) {
	uint64_t tail = 0, head = 0;
	for (long k = 0; k < count; k++) {
		msg[0] = msg[n - 1] = (double)k;
		if (tail + n - head > cap) {
			while (tail + n - (head = LOAD_ACQ(&r->head)) > cap) {
				cpu_relax();
			}
		}
		put(r->data, cap, tail, msg, n);
		tail += n;
		STORE_REL(&r->tail, tail);
	}
}

static inline __attribute__((always_inline)) int64_t recv_loop(struct floor_ring *r, uint64_t cap, long count,
                                                              uint64_t n, double *buf) {
	uint64_t head = 0, tail = 0;
	int64_t total = 0;
	for (long k = 0; k < count; k++) {
		if (tail - head < n) {
			while ((tail = LOAD_ACQ(&r->tail)) - head < n) {
				cpu_relax();
			}
		}
		get(buf, r->data, cap, head, n);
		total += (int64_t)buf[0] + (int64_t)buf[n - 1];
		head += n;
		STORE_REL(&r->head, head);
	}
	return total;
}

/* One double per message (W2) moves in a stamped slot: the value and the
 * message's number + 1 side by side, stored by the producer in one 16-byte
 * slot, so the consumer learns of a message from the slot itself and never
 * reads the producer's index; it publishes its own index once per quarter
 * of the ring, which the producer reads only when the ring looks full.
 * Per message that is one data line shared by four messages, and nothing
 * else: the least traffic that moves a value between two cores. */
struct floor_slot {
	uint64_t seq; /* the message's number + 1; written after the value */
	double value;
};

static void stamped_send(struct floor_ring *r, uint64_t cap, long count) {
	struct floor_slot *ring = (struct floor_slot *)r->data;
	uint64_t head = 0;
	for (uint64_t k = 0; k < (uint64_t)count; k++) {
		if (k - head >= cap) {
			while (k - (head = LOAD_ACQ(&r->head)) >= cap) {
				cpu_relax();
			}
		}
		struct floor_slot *sl = &ring[k & (cap - 1)];
		sl->value = (double)k;
		STORE_REL(&sl->seq, k + 1);
	}
}

static int64_t stamped_recv(struct floor_ring *r, uint64_t cap, long count) {
	struct floor_slot *ring = (struct floor_slot *)r->data;
	int64_t total = 0;
	uint64_t quarter_mask = cap / 4 ? cap / 4 - 1 : 0; /* cap is a power of two: a mask, not a division */
	for (uint64_t k = 0; k < (uint64_t)count; k++) {
		struct floor_slot *sl = &ring[k & (cap - 1)];
		while (LOAD_ACQ(&sl->seq) != k + 1) {
			cpu_relax();
		}
		total += 2 * (int64_t)sl->value; /* as recv_loop: the first and the last element */
		if (((k + 1) & quarter_mask) == 0) {
			STORE_REL(&r->head, k + 1);
		}
	}
	STORE_REL(&r->head, (uint64_t)count);
	return total;
}

/* The batched floor (W2's batched rows): plain doubles, eight to a line,
 * with no stamp. The producer stores a batch of BATCH_SEND values and
 * publishes its index once; the consumer reads the producer's index, takes
 * up to BATCH_RECV values that are there, and publishes its own once. The
 * ring holds as many values as the stamped ring holds messages. */
#define BATCH_SEND 64
#define BATCH_RECV 256

static void batch_send(struct floor_ring *r, uint64_t cap, long count) {
	uint64_t head = 0, n = (uint64_t)count;
	for (uint64_t k = 0; k < n;) {
		uint64_t m = n - k < BATCH_SEND ? n - k : BATCH_SEND;
		if (k + m - head > cap) {
			while (k + m - (head = LOAD_ACQ(&r->head)) > cap) {
				cpu_relax();
			}
		}
		for (uint64_t i = 0; i < m; i++) {
			r->data[(k + i) & (cap - 1)] = (double)(k + i);
		}
		k += m;
		STORE_REL(&r->tail, k);
	}
}

static int64_t batch_recv(struct floor_ring *r, uint64_t cap, long count) {
	uint64_t tail = 0, n = (uint64_t)count;
	int64_t total = 0;
	for (uint64_t k = 0; k < n;) {
		if (tail == k) {
			while ((tail = LOAD_ACQ(&r->tail)) == k) {
				cpu_relax();
			}
		}
		uint64_t m = tail - k < BATCH_RECV ? tail - k : BATCH_RECV;
		for (uint64_t i = 0; i < m; i++) {
			total += 2 * (int64_t)r->data[(k + i) & (cap - 1)]; /* as recv_loop: the first and the last element */
		}
		k += m;
		STORE_REL(&r->head, k);
	}
	return total;
}

/* stamped_cap is the stamped ring's capacity in slots: the largest power
 * of two that fits. */
static uint64_t stamped_cap(uint64_t cap_doubles) { return cap_doubles / 2; }

/* message_buffer is a process's own buffer of n doubles, on a cache line
 * as the ring's messages are, and written through once, so that neither
 * the copies' alignment nor first touches of its pages are in the run. */
static double *message_buffer(uint64_t n) {
	size_t size = (n * sizeof(double) + 63) & ~(size_t)63;
	double *b = aligned_alloc(64, size);
	if (b != NULL) {
		memset(b, 0, size);
	}
	return b;
}

int floor_stream_send(const char *segname, const char *name, long count, long elems) {
	struct shmkit_segment seg;
	struct floor_ring *r;
	uint64_t cap, n = (uint64_t)elems;
	int rc = open_ring(segname, name, n, &seg, &r, &cap);
	if (rc != 0) {
		return rc;
	}
	if (n == 1) {
		stamped_send(r, stamped_cap(cap), count);
		shmkit_detach(&seg);
		return 0;
	}
	double *msg = message_buffer(n);
	send_loop(r, cap, count, n, msg);
	free(msg);
	shmkit_detach(&seg);
	return 0;
}

int floor_stream_recv(const char *segname, const char *name, long count, long elems, int64_t *sum) {
	struct shmkit_segment seg;
	struct floor_ring *r;
	uint64_t cap, n = (uint64_t)elems;
	int rc = open_ring(segname, name, n, &seg, &r, &cap);
	if (rc != 0) {
		return rc;
	}
	if (n == 1) {
		*sum = stamped_recv(r, stamped_cap(cap), count);
		shmkit_detach(&seg);
		return 0;
	}
	double *buf = message_buffer(n);
	*sum = recv_loop(r, cap, count, n, buf);
	free(buf);
	shmkit_detach(&seg);
	return 0;
}

/* Ping-pong: each side writes its value and then the round's number on its
 * own cache line, and spins on the other's. */
struct floor_pp {
	_Alignas(64) uint64_t ping_seq;
	double ping;
	_Alignas(64) uint64_t pong_seq;
	double pong;
};

int floor_pingpong(const char *segname, const char *name, long count, int pinger, int64_t *sum) {
	struct shmkit_segment seg;
	void *mem;
	uint64_t len;
	int rc = open_floor(segname, name, &seg, &mem, &len);
	if (rc != 0) {
		return rc;
	}
	if (len < sizeof(struct floor_pp)) {
		shmkit_detach(&seg);
		return SHMKIT_ECORRUPT;
	}
	struct floor_pp *p = mem;
	int64_t total = 0;
	for (uint64_t k = 1; k <= (uint64_t)count; k++) {
		if (pinger) {
			p->ping = (double)(k - 1);
			STORE_REL(&p->ping_seq, k);
			while (LOAD_ACQ(&p->pong_seq) != k) {
				cpu_relax();
			}
			total += (int64_t)p->pong;
		} else {
			while (LOAD_ACQ(&p->ping_seq) != k) {
				cpu_relax();
			}
			p->pong = p->ping + 1;
			STORE_REL(&p->pong_seq, k);
		}
	}
	*sum = total;
	shmkit_detach(&seg);
	return 0;
}

/* floor_batch is the batched floor's sender, or with sum its receiver,
 * over the bytes object of the stamped floor (one value a message). */
int floor_batch(const char *segname, const char *name, long count, int64_t *sum) {
	struct shmkit_segment seg;
	struct floor_ring *r;
	uint64_t cap;
	int rc = open_ring(segname, name, 1, &seg, &r, &cap);
	if (rc != 0) {
		return rc;
	}
	if (sum == NULL) {
		batch_send(r, stamped_cap(cap), count);
	} else {
		*sum = batch_recv(r, stamped_cap(cap), count);
	}
	shmkit_detach(&seg);
	return 0;
}
