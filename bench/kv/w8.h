/* w8.h - what the W8 peers (redis.c, lmdb.c, boost_map.cpp) share: the
 * workers' protocol, the keys and the clock. Each peer is one program:
 *
 *   PEER set TARGET N BATCH      time N sets of new keys, then check them
 *   PEER get TARGET N KEYS BATCH fill KEYS keys, then time N gets
 *   PEER add TARGET N            N increments of the key "counter"
 *   PEER read TARGET             report the counter
 *
 * set and get time themselves and report "done <ns> <sum> <bytes>": the
 * sum of the values read back, and how many bytes the store grew by while
 * its keys were set. add and read report "done <value>"; the caller times
 * add from "go" to the last "done". Each prints "ready" and waits for "go"
 * first. BATCH is puts per write transaction (LMDB) or commands per round
 * trip (Redis). */
#ifndef SHMKIT_BENCH_W8_H
#define SHMKIT_BENCH_W8_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* W8_KEY_MAX holds "key" and the ten digits of a uint32, and a NUL. */
#define W8_KEY_MAX 16

static inline void w8_fail(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline void w8_ready(void) {
	char line[16];
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin) || strcmp(line, "go\n") != 0) {
		exit(3);
	}
}

static inline void w8_done(long long ns, long long sum, long long bytes) {
	printf("done %lld %lld %lld\n", ns, sum, bytes);
	fflush(stdout);
}

static inline void w8_done_value(long long v) {
	printf("done %lld\n", v);
	fflush(stdout);
}

static inline long long w8_now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Key i is "key" and the decimal of i * 2654435761 mod 2^32: distinct for
 * every i below 2^32, and in no sorted order. w8_keys makes keys 0..n-1,
 * W8_KEY_MAX bytes apart, with their lengths. */
static inline char *w8_keys(long n, size_t **lens) {
	char *keys = (char *)malloc((size_t)n * W8_KEY_MAX);
	*lens = (size_t *)malloc((size_t)n * sizeof **lens);
	if (keys == NULL || *lens == NULL) {
		w8_fail("out of memory for %ld keys", n);
	}
	for (long i = 0; i < n; i++) {
		(*lens)[i] = (size_t)snprintf(keys + i * W8_KEY_MAX, W8_KEY_MAX, "key%u",
		                              (unsigned)(uint32_t)((uint64_t)i * 2654435761u));
	}
	return keys;
}

static inline long w8_arg(int argc, char **argv, int i) {
	if (i >= argc) {
		w8_fail("%s %s: missing argument %d", argv[0], argc > 1 ? argv[1] : "", i);
	}
	return strtol(argv[i], NULL, 10);
}

#endif
