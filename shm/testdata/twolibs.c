/* Two copies of the C library in one process, each with two handles of one
 * segment, and threads allocating on every handle: what two libraries in
 * one program that open a segment independently do.
 *
 *   twolibs LIB_A LIB_B SEGMENT THREADS_PER_HANDLE OBJECTS_PER_THREAD
 *
 * Each object is a 'b' array named c-hH-gG-I holding its own name. Exits 0
 * once every allocation returned 0; the caller checks the directory. */
#include "shmkit.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*attach_fn)(const char *, int, struct shmkit_segment *);
typedef int (*new_elems_fn)(struct shmkit_segment *, const char *, int, uint64_t, int, int, const void *,
                            struct shmkit_object *);

struct lib {
	attach_fn attach;
	new_elems_fn new_elems;
};

struct worker {
	struct lib *lib;
	struct shmkit_segment *seg;
	int handle, thread, each;
	int rc;
};

static void *work(void *arg) {
	struct worker *w = arg;
	for (int i = 0; i < w->each; i++) {
		char name[64];
		int n = snprintf(name, sizeof name, "c-h%d-g%d-%d", w->handle, w->thread, i);
		char init[200] = {0};
		memcpy(init, name, (size_t)n);
		struct shmkit_object o;
		int rc = w->lib->new_elems(w->seg, name, 'b', (uint64_t)(n + i % 100), 1, 0, init, &o);
		if (rc != 0) {
			fprintf(stderr, "twolibs: %s: error %d\n", name, rc);
			w->rc = rc;
			return NULL;
		}
	}
	return NULL;
}

int main(int argc, char **argv) {
	if (argc != 6) {
		fprintf(stderr, "usage: twolibs LIB_A LIB_B SEGMENT THREADS EACH\n");
		return 2;
	}
	struct lib libs[2];
	for (int l = 0; l < 2; l++) {
		void *h = dlopen(argv[1 + l], RTLD_NOW | RTLD_LOCAL);
		if (h == NULL) {
			fprintf(stderr, "twolibs: %s\n", dlerror());
			return 1;
		}
		libs[l].attach = (attach_fn)dlsym(h, "shmkit_attach");
		libs[l].new_elems = (new_elems_fn)dlsym(h, "shmkit_new_elems");
		if (libs[l].attach == NULL || libs[l].new_elems == NULL) {
			fprintf(stderr, "twolibs: %s lacks a symbol\n", argv[1 + l]);
			return 1;
		}
	}
	if (libs[0].attach == libs[1].attach) {
		fprintf(stderr, "twolibs: both libraries are one copy\n");
		return 1;
	}
	int threads = atoi(argv[4]), each = atoi(argv[5]);
	enum { handles = 4 };
	struct shmkit_segment segs[handles];
	for (int h = 0; h < handles; h++) {
		int rc = libs[h / 2].attach(argv[3], 0, &segs[h]);
		if (rc != 0) {
			fprintf(stderr, "twolibs: attach: error %d\n", rc);
			return 1;
		}
	}
	struct worker *ws = calloc((size_t)(handles * threads), sizeof *ws);
	pthread_t *ts = calloc((size_t)(handles * threads), sizeof *ts);
	for (int h = 0; h < handles; h++) {
		for (int t = 0; t < threads; t++) {
			struct worker *w = &ws[h * threads + t];
			*w = (struct worker){&libs[h / 2], &segs[h], h, t, each, 0};
			pthread_create(&ts[h * threads + t], NULL, work, w);
		}
	}
	int failed = 0;
	for (int i = 0; i < handles * threads; i++) {
		pthread_join(ts[i], NULL);
		failed |= ws[i].rc != 0;
	}
	return failed;
}
