//go:build cgo

/*
 * w8native.c - W8 from C: the loops of bench/w8.go's shmkit row, calling
 * the C library's dict directly, as a C program would.
 */
#include "native.h"

#include <errno.h>

#include "kv/w8.h"

int w8_native_open(const char *segname, long nkeys, struct w8_native *w) {
	memset(w, 0, sizeof *w);
	int rc = shmkit_attach(segname, 0, &w->seg);
	if (rc != 0) {
		return rc;
	}
	if ((rc = shmkit_dict_open(&w->seg, "d", SHMKIT_KIND_DICT, 0, &w->d)) != 0) {
		shmkit_detach(&w->seg);
		return rc;
	}
	w->nkeys = nkeys;
	if (nkeys > 0) {
		w->keys = w8_keys(nkeys, &w->lens);
	}
	return 0;
}

void w8_native_close(struct w8_native *w) {
	free(w->keys);
	free(w->lens);
	shmkit_dict_close(w->d);
	shmkit_detach(&w->seg);
}

long long w8_native_heap(struct w8_native *w) {
	struct shmkit_dict_stats s;
	return shmkit_dict_stats(w->d, &s) == 0 ? (long long)s.heap_size : 0;
}

/* w8_native_set sets key i to i for every key. */
int w8_native_set(struct w8_native *w, long long *ns) {
	long long t0 = w8_now();
	for (long i = 0; i < w->nkeys; i++) {
		int64_t v = i;
		int rc = shmkit_dict_set(w->d, SHMKIT_TAG_STR, w->keys + i * W8_KEY_MAX, w->lens[i], SHMKIT_TAG_INT, &v, sizeof v);
		if (rc != 0) {
			return rc;
		}
	}
	*ns = w8_now() - t0;
	return 0;
}

/* w8_native_get gets key j % nkeys for j < n, checks it holds its index,
 * and sums them. */
int w8_native_get(struct w8_native *w, long n, long long *ns, long long *sum) {
	long long t0 = w8_now(), total = 0;
	for (long j = 0; j < n; j++) {
		long i = j % w->nkeys;
		int64_t v;
		int tag;
		uint64_t len;
		int rc = shmkit_dict_get(w->d, SHMKIT_TAG_STR, w->keys + i * W8_KEY_MAX, w->lens[i], &tag, &v, sizeof v, &len);
		if (rc != 0) {
			return rc;
		}
		if (tag != SHMKIT_TAG_INT || len != sizeof v || v != i) {
			return -1; /* not the value set */
		}
		total += v;
	}
	*ns = w8_now() - t0;
	*sum = total;
	return 0;
}

int w8_native_add(struct w8_native *w, long n, long long *v) {
	int64_t out = 0;
	for (long i = 0; i < n; i++) {
		int rc = shmkit_dict_add(w->d, SHMKIT_TAG_STR, "counter", 7, 1, &out);
		if (rc != 0) {
			return rc;
		}
	}
	*v = out;
	return 0;
}
