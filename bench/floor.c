//go:build cgo

/*
 * floor.c - the C floor: the simplest lock-free single-producer,
 * single-consumer ring and ping-pong, spinning only, with indices cached on
 * each side and messages laid end to end. Nothing real can do less work per
 * message, so it marks the physical limit the other rows are held to.
 */
#include "native.h"

#include <stdlib.h>
#include <string.h>

#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* A bytes object: two index lines, then cap doubles. Positions count
 * elements and only grow; a message may wrap around the end. */
struct floor_ring {
	_Alignas(64) uint64_t head; /* consumer: elements taken */
	_Alignas(64) uint64_t tail; /* producer: elements written */
	_Alignas(64) double data[];
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
	}
	return rc;
}

/* open_ring opens the ring in bytes object name; *cap is its length in
 * float64. */
static int open_ring(const char *segname, const char *name, struct shmkit_segment *seg, struct floor_ring **r,
                     uint64_t *cap) {
	void *mem;
	uint64_t len;
	int rc = open_floor(segname, name, seg, &mem, &len);
	if (rc == 0) {
		*r = mem;
		*cap = (len - sizeof **r) / sizeof(double);
	}
	return rc;
}

int floor_stream_send(const char *segname, const char *name, long count, long elems) {
	struct shmkit_segment seg;
	struct floor_ring *r;
	uint64_t cap, tail = 0, head = 0, n = (uint64_t)elems;
	int rc = open_ring(segname, name, &seg, &r, &cap);
	if (rc != 0) {
		return rc;
	}
	double *msg = calloc(n, sizeof *msg);
	for (long k = 0; k < count; k++) {
		msg[0] = msg[n - 1] = (double)k;
		while (tail + n - head > cap) {
			head = LOAD_ACQ(&r->head);
		}
		uint64_t at = tail % cap, first = n < cap - at ? n : cap - at;
		memcpy(&r->data[at], msg, first * sizeof *msg);
		memcpy(&r->data[0], msg + first, (n - first) * sizeof *msg);
		STORE_REL(&r->tail, tail += n);
	}
	free(msg);
	shmkit_detach(&seg);
	return 0;
}

int floor_stream_recv(const char *segname, const char *name, long count, long elems, double *sum) {
	struct shmkit_segment seg;
	struct floor_ring *r;
	uint64_t cap, head = 0, tail = 0, n = (uint64_t)elems;
	int rc = open_ring(segname, name, &seg, &r, &cap);
	if (rc != 0) {
		return rc;
	}
	double *buf = calloc(n, sizeof *buf), total = 0;
	for (long k = 0; k < count; k++) {
		while (tail - head < n) {
			tail = LOAD_ACQ(&r->tail);
		}
		uint64_t at = head % cap, first = n < cap - at ? n : cap - at;
		memcpy(buf, &r->data[at], first * sizeof *buf);
		memcpy(buf + first, &r->data[0], (n - first) * sizeof *buf);
		total += buf[0] + buf[n - 1];
		STORE_REL(&r->head, head += n);
	}
	*sum = total;
	free(buf);
	shmkit_detach(&seg);
	return 0;
}

/* Ping-pong: each side publishes a value with a sequence number on its own
 * cache line and spins on the other's. */
struct floor_pp {
	_Alignas(64) uint64_t ping_seq;
	double ping;
	_Alignas(64) uint64_t pong_seq;
	double pong;
};

int floor_pingpong(const char *segname, const char *name, long count, int pinger, double *sum) {
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
	double total = 0;
	for (uint64_t k = 1; k <= (uint64_t)count; k++) {
		if (pinger) {
			p->ping = (double)(k - 1);
			STORE_REL(&p->ping_seq, k);
			while (LOAD_ACQ(&p->pong_seq) != k) {
			}
			total += p->pong;
		} else {
			while (LOAD_ACQ(&p->ping_seq) != k) {
			}
			p->pong = p->ping + 1;
			STORE_REL(&p->pong_seq, k);
		}
	}
	*sum = total;
	shmkit_detach(&seg);
	return 0;
}
