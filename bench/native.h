/* native.h - the C workers of package bench (native.c). Each returns 0 or
 * an errno value, as shmkit.h's functions do. */
#ifndef SHMKIT_BENCH_NATIVE_H
#define SHMKIT_BENCH_NATIVE_H

#include "shmkit.h"

int native_stream_send(const char *segname, const char *name, long count, long elems);
int native_stream_recv(const char *segname, const char *name, long count, long elems, double *sum);
int native_ping(const char *segname, long count, double *sum);
int native_pong(const char *segname, long count);
int native_fc_send(const char *segname, long count, long elems);
int native_fc_recv(const char *segname, long count, long elems, double *sum);
int native_count(const char *segname, const char *name, long k, int locked);
int native_sem_pingpong(const char *segname, long count, int pinger);

/* The C floor (floor.c): spin-only ring and ping-pong over a bytes object;
 * bench_prefault maps a range of a segment in ahead. */
int floor_stream_send(const char *segname, const char *name, long count, long elems);
int floor_stream_recv(const char *segname, const char *name, long count, long elems, double *sum);
int floor_pingpong(const char *segname, const char *name, long count, int pinger, double *sum);
void bench_prefault(const struct shmkit_segment *seg, const void *p, uint64_t len);

#endif
