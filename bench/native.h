/* native.h - the C workers of package bench (native.c). Each returns 0 or
 * an errno value, as shmkit.h's functions do. */
#ifndef SHMKIT_BENCH_NATIVE_H
#define SHMKIT_BENCH_NATIVE_H

#include "shmkit.h"

int native_stream_send(const char *segname, const char *name, long count, long elems);
int native_stream_recv(const char *segname, const char *name, long count, long elems, int64_t *sum);
int native_ping(const char *segname, long count, int64_t *sum);
int native_pong(const char *segname, long count);
int native_fc_send(const char *segname, long count, long elems);
int native_fc_recv(const char *segname, long count, long elems, int64_t *sum);
int native_count(const char *segname, const char *name, long k, int locked);
int native_sem_pingpong(const char *segname, long count, int pinger);

/* The C floor (floor.c): spin-only ring and ping-pong over a bytes object;
 * bench_prefault maps a range of a segment in ahead. */
int floor_stream_send(const char *segname, const char *name, long count, long elems);
int floor_stream_recv(const char *segname, const char *name, long count, long elems, int64_t *sum);
int floor_batch(const char *segname, const char *name, long count, int64_t *sum);
int floor_pingpong(const char *segname, const char *name, long count, int pinger, int64_t *sum);
long floor_ring_holds(uint64_t len, long elems);
void bench_prefault(const struct shmkit_segment *seg, const void *p, uint64_t len);

/* W8 from C (w8native.c): the dict "d" of a segment, keys 0..nkeys-1 of
 * kv/w8.h made ahead; each call times its own loop. */
struct w8_native {
	struct shmkit_segment seg;
	struct shmkit_dict *d;
	char *keys;
	size_t *lens;
	long nkeys;
};
int w8_native_open(const char *segname, long nkeys, struct w8_native *w);
void w8_native_close(struct w8_native *w);
long long w8_native_heap(struct w8_native *w);
int w8_native_set(struct w8_native *w, long long *ns);
int w8_native_get(struct w8_native *w, long n, long long *ns, long long *sum);
int w8_native_add(struct w8_native *w, long n, long long *v);

#endif
