/* A pool worker in C: serves the tasks below, after the initializer the
 * driver names, to a Go or Python driver through shmkit_pool_serve. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmkit.h"

static int get_double(const void *in, size_t len, double *x, char *err, size_t err_len) {
	if (len != sizeof *x) {
		snprintf(err, err_len, "want 8 bytes, got %zu", len);
		return 1;
	}
	memcpy(x, in, sizeof *x);
	return 0;
}

/* c.square: a float64 squared. */
static int square(void *arg, const void *in, size_t len, void *out, size_t *out_len, char *err, size_t err_len) {
	(void)arg;
	double x;
	if (get_double(in, len, &x, err, err_len) != 0) {
		return 1;
	}
	x *= x;
	memcpy(out, &x, sizeof x);
	*out_len = sizeof x;
	return 0;
}

/* c.refuse: every input is an error. */
static int refuse(void *arg, const void *in, size_t len, void *out, size_t *out_len, char *err, size_t err_len) {
	(void)arg, (void)out, (void)out_len;
	double x = 0;
	get_double(in, len, &x, err, err_len);
	snprintf(err, err_len, "refused %g", x);
	return 1;
}

/* c.crash: a segfault at 13, as a bug in C code would make; else x+1. */
static int crash(void *arg, const void *in, size_t len, void *out, size_t *out_len, char *err, size_t err_len) {
	double x;
	if (get_double(in, len, &x, err, err_len) != 0) {
		return 1;
	}
	if (x == 13) {
		raise(SIGSEGV);
	}
	return square(arg, &(double){x}, sizeof x, out, out_len, err, err_len);
}

/* c.slow: c.square after a millisecond's sleep, a task that takes a while. */
static int slow(void *arg, const void *in, size_t len, void *out, size_t *out_len, char *err, size_t err_len) {
	nanosleep(&(struct timespec){0, 1000000}, NULL);
	return square(arg, in, len, out, out_len, err, err_len);
}

/* c.sum: a []float64's sum. */
static int sum(void *arg, const void *in, size_t len, void *out, size_t *out_len, char *err, size_t err_len) {
	(void)arg, (void)err, (void)err_len;
	double s = 0, x;
	for (size_t i = 0; i + sizeof x <= len; i += sizeof x) {
		memcpy(&x, (const char *)in + i, sizeof x);
		s += x;
	}
	memcpy(out, &s, sizeof s);
	*out_len = sizeof s;
	return 0;
}

/* c.reverse: bytes reversed. */
static int reverse(void *arg, const void *in, size_t len, void *out, size_t *out_len, char *err, size_t err_len) {
	(void)arg, (void)err, (void)err_len;
	if (len > *out_len) {
		return 1;
	}
	for (size_t i = 0; i < len; i++) {
		((char *)out)[i] = ((const char *)in)[len - 1 - i];
	}
	*out_len = len;
	return 0;
}

/* c.scale's factor, which the initializer c.factor sets. */
static double factor = 1;

/* c.factor: the initializer; initargs one number, the factor. */
static int set_factor(void *arg, int argc, char **args, char *err, size_t err_len) {
	(void)arg;
	char *end = NULL;
	if (argc != 1 || (factor = strtod(args[0], &end), end == args[0] || *end != 0)) {
		snprintf(err, err_len, "want one number, got %d arguments", argc);
		return 1;
	}
	return 0;
}

/* c.scale: a float64 times the factor. */
static int scale(void *arg, const void *in, size_t len, void *out, size_t *out_len, char *err, size_t err_len) {
	(void)arg;
	double x;
	if (get_double(in, len, &x, err, err_len) != 0) {
		return 1;
	}
	x *= factor;
	memcpy(out, &x, sizeof x);
	*out_len = sizeof x;
	return 0;
}

/* c.big: a result of 4096 bytes, longer than a small pool's messages:
 * *out_len set past the room given, and 0 returned. */
static int big(void *arg, const void *in, size_t len, void *out, size_t *out_len, char *err, size_t err_len) {
	(void)arg, (void)in, (void)len, (void)err, (void)err_len;
	if (*out_len >= 4096) {
		memset(out, 0, 4096);
	}
	*out_len = 4096;
	return 0;
}

/* c.mimic: an error whose text reads like the pool's "too large". */
static int mimic(void *arg, const void *in, size_t len, void *out, size_t *out_len, char *err, size_t err_len) {
	(void)arg, (void)in, (void)len, (void)out, (void)out_len;
	snprintf(err, err_len, "pool: task input or result longer than the pool's message size");
	return 1;
}

static const struct shmkit_pool_init inits[] = {
    {"c.factor", set_factor, NULL},
};

static const struct shmkit_pool_task tasks[] = {
    {"c.scale", "<d", "<d", scale, NULL},
    {"c.square", "<d", "<d", square, NULL},
    {"c.slow", "<d", "<d", slow, NULL},
    {"c.refuse", "<d", "<d", refuse, NULL},
    {"c.crash", "<d", "<d", crash, NULL},
    {"c.sum", "[]<d", "<d", sum, NULL},
    {"c.reverse", NULL, NULL, reverse, NULL},
    {"c.big", "<d", NULL, big, NULL},
    {"c.mimic", "<d", "<d", mimic, NULL},
};

int main(int argc, char **argv) {
	return shmkit_pool_serve(argc, argv, tasks, sizeof tasks / sizeof tasks[0], inits, sizeof inits / sizeof inits[0]);
}
