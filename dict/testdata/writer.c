/* A writer of the reader tests (readers_test.go), in C through shmkit.h:
 * writer SEGMENT DICT ID SEED OPS. It sets, overwrites and deletes the keys
 * "k<i>" with the values readers_test.go's valid accepts, OPS times, says
 * "churned", and after a line on stdin sets the keys of every tag that
 * finals() in readers_test.go expects of writer ID and prints "done". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmkit.h"

#define KEYS 4000

static void must(const char *what, int rc) {
	if (rc != 0) {
		fprintf(stderr, "writer.c: %s: error %d\n", what, rc);
		exit(1);
	}
}

static uint32_t mix(uint64_t i, uint64_t s) {
	return (uint32_t)(((i * 0x9E3779B97F4A7C15ull) ^ (s * 0xC2B2AE3D27D4EB4Full)) >> 32);
}

static uint64_t next(uint64_t *x) { /* splitmix64 */
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void set_str(struct shmkit_dict *d, const char *k, int ktag, const void *key, uint64_t klen, const char *v) {
	must(k, shmkit_dict_set(d, ktag, key, klen, SHMKIT_TAG_STR, v, strlen(v)));
}

int main(int argc, char **argv) {
	if (argc != 6) {
		fprintf(stderr, "usage: writer SEGMENT DICT ID SEED OPS\n");
		return 2;
	}
	struct shmkit_segment seg;
	struct shmkit_dict *d;
	must("attach", shmkit_attach(argv[1], 0, &seg));
	must("open", shmkit_dict_open(&seg, argv[2], SHMKIT_KIND_DICT, 0, &d));
	uint64_t id = strtoull(argv[3], NULL, 10), x = strtoull(argv[4], NULL, 10);
	long ops = strtol(argv[5], NULL, 10);
	char key[32], *val = malloc(17000);
	for (long n = 0; n < ops; n++) {
		uint64_t r = next(&x), i = r % KEYS, s = id * 100000000u + (uint64_t)n;
		int klen = snprintf(key, sizeof key, "k%llu", (unsigned long long)i);
		unsigned op = (unsigned)(r >> 20) % 16;
		if (op < 5) {
			int64_t v = (int64_t)(s << 32 | mix(i, s));
			must("set int", shmkit_dict_set(d, SHMKIT_TAG_STR, key, klen, SHMKIT_TAG_INT, &v, 8));
		} else if (op < 8) {
			uint64_t t = s & 0xffff;
			snprintf(val, 9, "%04llx%04x", (unsigned long long)t, mix(i, t) & 0xffff);
			set_str(d, "set short", SHMKIT_TAG_STR, key, klen, val);
		} else if (op < 13) {
			int at = snprintf(val, 64, "k%llu/%llu/", (unsigned long long)i, (unsigned long long)s);
			uint64_t pad = s % 97 == 0 ? 16384 + s % 100 : s * 7 % 300;
			memset(val + at, 'a' + (int)(s % 26), pad);
			val[at + pad] = 0;
			set_str(d, "set long", SHMKIT_TAG_STR, key, klen, val);
		} else {
			int rc = shmkit_dict_delete(d, SHMKIT_TAG_STR, key, klen);
			if (rc != ENOENT) {
				must("delete", rc);
			}
		}
	}
	/* Once every writer has churned, the keys of every tag
	 * (readers_test.go's finals, prefix "c"). */
	printf("churned\n");
	fflush(stdout);
	char k[100016];
	if (fgets(k, sizeof k, stdin) == NULL) {
		fprintf(stderr, "writer.c: no go-ahead\n");
		return 1;
	}
	for (int l = 0; l <= 70; l++) {
		int64_t v = l * 1000 + (int64_t)id;
		k[0] = 'c';
		k[1] = 's';
		memset(k + 2, 'z', l);
		must("final str", shmkit_dict_set(d, SHMKIT_TAG_STR, k, 2 + l, SHMKIT_TAG_INT, &v, 8));
		k[1] = 'b';
		for (int j = 0; j < l; j++) {
			k[2 + j] = (char)(j * 7 % 256);
		}
		snprintf(val, 16, "b%d", l);
		set_str(d, "final bytes", SHMKIT_TAG_BYTES, k, 2 + l, val);
	}
	int lens[] = {1000, 5000, 100000};
	for (int j = 0; j < 3; j++) {
		int64_t v = lens[j];
		memcpy(k, "clong", 5);
		memset(k + 5, 'q', lens[j]);
		must("final long", shmkit_dict_set(d, SHMKIT_TAG_STR, k, 5 + lens[j], SHMKIT_TAG_INT, &v, 8));
	}
	for (int j = 0; j < 10; j++) {
		int64_t ik = (int64_t)(id + 1) * 1000000 + j;
		double fv = j + 0.5, fk = (double)(id + 1) * 1000.25 + j;
		uint8_t bv[2] = {(uint8_t)id, (uint8_t)j};
		must("final int", shmkit_dict_set(d, SHMKIT_TAG_INT, &ik, 8, SHMKIT_TAG_FLOAT, &fv, 8));
		must("final float", shmkit_dict_set(d, SHMKIT_TAG_FLOAT, &fk, 8, SHMKIT_TAG_BYTES, bv, 2));
	}
	uint8_t t = 1, f = 0;
	set_str(d, "final true", SHMKIT_TAG_BOOL, &t, 1, "T");
	set_str(d, "final false", SHMKIT_TAG_BOOL, &f, 1, "F");
	set_str(d, "final none", SHMKIT_TAG_NONE, NULL, 0, "N");
	shmkit_dict_close(d);
	shmkit_detach(&seg);
	printf("done\n");
	return 0;
}
