//go:build cgo

/*
 * native.c - the C implementations of the workloads: the same protocols as
 * the Go workers, as plain C loops over the project's C library.
 */
#include "native.h"

#include <stdlib.h>
#include <string.h>

static int open_chan(const char *segname, const char *name, struct shmkit_segment *seg, struct shmkit_chan *ch) {
	int rc = shmkit_attach(segname, 0, seg);
	if (rc == 0 && (rc = shmkit_chan_open(seg, name, 'd', ch)) != 0) {
		shmkit_detach(seg);
	}
	return rc;
}

int native_stream_send(const char *segname, const char *name, long count, long elems) {
	struct shmkit_segment seg;
	struct shmkit_chan ch;
	int rc = open_chan(segname, name, &seg, &ch);
	if (rc != 0) {
		return rc;
	}
	double *msg = calloc((size_t)elems, sizeof *msg);
	shmkit_chan_register(&ch, 1);
	for (long k = 0; k < count && rc == 0; k++) {
		msg[0] = msg[elems - 1] = (double)k;
		rc = shmkit_chan_send(&ch, msg, (uint32_t)elems, SHMKIT_FOREVER);
	}
	free(msg);
	shmkit_detach(&seg);
	return rc;
}

int native_stream_recv(const char *segname, const char *name, long count, long elems, int64_t *sum) {
	struct shmkit_segment seg;
	struct shmkit_chan ch;
	int rc = open_chan(segname, name, &seg, &ch);
	if (rc != 0) {
		return rc;
	}
	double *buf = calloc((size_t)elems, sizeof *buf);
	int64_t total = 0;
	shmkit_chan_register(&ch, 0);
	for (long k = 0; k < count && rc == 0; k++) {
		uint32_t n = 0;
		rc = shmkit_chan_recv(&ch, buf, (uint32_t)elems, &n, SHMKIT_FOREVER);
		if (rc == 0) {
			total += (int64_t)buf[0] + (int64_t)buf[n - 1];
		}
	}
	*sum = total;
	free(buf);
	shmkit_detach(&seg);
	return rc;
}

int native_ping(const char *segname, long count, int64_t *sum) {
	struct shmkit_segment seg;
	struct shmkit_chan out, in;
	int rc = open_chan(segname, "ping", &seg, &out);
	if (rc != 0) {
		return rc;
	}
	if ((rc = shmkit_chan_open(&seg, "pong", 'd', &in)) != 0) {
		shmkit_detach(&seg);
		return rc;
	}
	double v;
	int64_t total = 0;
	for (long k = 0; k < count && rc == 0; k++) {
		uint32_t n;
		v = (double)k;
		if ((rc = shmkit_chan_send(&out, &v, 1, SHMKIT_FOREVER)) == 0 &&
		    (rc = shmkit_chan_recv(&in, &v, 1, &n, SHMKIT_FOREVER)) == 0) {
			total += (int64_t)v;
		}
	}
	*sum = total;
	shmkit_detach(&seg);
	return rc;
}

int native_pong(const char *segname, long count) {
	struct shmkit_segment seg;
	struct shmkit_chan out, in;
	int rc = open_chan(segname, "ping", &seg, &in);
	if (rc != 0) {
		return rc;
	}
	if ((rc = shmkit_chan_open(&seg, "pong", 'd', &out)) != 0) {
		shmkit_detach(&seg);
		return rc;
	}
	for (long k = 0; k < count && rc == 0; k++) {
		uint32_t n;
		double v;
		if ((rc = shmkit_chan_recv(&in, &v, 1, &n, SHMKIT_FOREVER)) == 0) {
			v += 1;
			rc = shmkit_chan_send(&out, &v, 1, SHMKIT_FOREVER);
		}
	}
	shmkit_detach(&seg);
	return rc;
}

/* The seed's FloatChannel: buffer, buffer_len, and semaphores empty and full. */
struct seed {
	struct shmkit_segment seg;
	double *buffer;
	int32_t *len;
	void *empty, *full;
};

static int open_seed(const char *segname, struct seed *s) {
	struct shmkit_object o;
	int rc = shmkit_attach(segname, 0, &s->seg);
	if (rc != 0) {
		return rc;
	}
	if ((rc = shmkit_lookup(&s->seg, "buffer", SHMKIT_KIND_ARRAY, 'd', &o)) == 0) {
		s->buffer = o.data;
		bench_prefault(&s->seg, o.data, o.length); /* as shmkit's FloatChannel maps its slot */
		if ((rc = shmkit_lookup(&s->seg, "buffer_len", SHMKIT_KIND_VALUE, 'i', &o)) == 0) {
			s->len = o.data;
			if ((rc = shmkit_lookup(&s->seg, "empty", SHMKIT_KIND_SEMAPHORE, 0, &o)) == 0) {
				s->empty = o.data;
				if ((rc = shmkit_lookup(&s->seg, "full", SHMKIT_KIND_SEMAPHORE, 0, &o)) == 0) {
					s->full = o.data;
					return 0;
				}
			}
		}
	}
	shmkit_detach(&s->seg);
	return rc;
}

int native_fc_send(const char *segname, long count, long elems) {
	struct seed s;
	int rc = open_seed(segname, &s);
	if (rc != 0) {
		return rc;
	}
	double *msg = calloc((size_t)elems, sizeof *msg);
	for (long k = 0; k < count && rc == 0; k++) {
		msg[0] = msg[elems - 1] = (double)k;
		if ((rc = shmkit_sem_wait(s.empty)) == 0) {
			__atomic_store_n(s.len, (int32_t)elems, __ATOMIC_RELAXED);
			memcpy(s.buffer, msg, (size_t)elems * sizeof *msg);
			rc = shmkit_sem_post(s.full);
		}
	}
	free(msg);
	shmkit_detach(&s.seg);
	return rc;
}

int native_fc_recv(const char *segname, long count, long elems, int64_t *sum) {
	struct seed s;
	int rc = open_seed(segname, &s);
	if (rc != 0) {
		return rc;
	}
	double *buf = calloc((size_t)elems, sizeof *buf);
	int64_t total = 0;
	for (long k = 0; k < count && rc == 0; k++) {
		if ((rc = shmkit_sem_wait(s.full)) == 0) {
			int32_t n = __atomic_load_n(s.len, __ATOMIC_RELAXED);
			if (n < 1 || n > elems) {
				rc = SHMKIT_ECORRUPT;
				break;
			}
			memcpy(buf, s.buffer, (size_t)n * sizeof *buf);
			total += (int64_t)buf[0] + (int64_t)buf[n - 1];
			rc = shmkit_sem_post(s.empty);
		}
	}
	*sum = total;
	free(buf);
	shmkit_detach(&s.seg);
	return rc;
}

int native_count(const char *segname, const char *name, long k, int locked) {
	struct shmkit_segment seg;
	struct shmkit_object o;
	int rc = shmkit_attach(segname, 0, &seg);
	if (rc != 0) {
		return rc;
	}
	if ((rc = shmkit_lookup(&seg, name, SHMKIT_KIND_VALUE, 'q', &o)) == 0 && locked && o.lock == NULL) {
		rc = SHMKIT_EKIND;
	}
	int64_t *v = o.data;
	for (long i = 0; i < k && rc == 0; i++) {
		if (!locked) {
			__atomic_fetch_add(v, 1, __ATOMIC_SEQ_CST);
		} else if ((rc = shmkit_mutex_lock(o.lock)) == 0) {
			__atomic_store_n(v, __atomic_load_n(v, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
			rc = shmkit_mutex_unlock(o.lock);
		}
	}
	shmkit_detach(&seg);
	return rc;
}

int native_sem_pingpong(const char *segname, long count, int pinger) {
	struct shmkit_segment seg;
	struct shmkit_object a, b;
	int rc = shmkit_attach(segname, 0, &seg);
	if (rc != 0) {
		return rc;
	}
	if ((rc = shmkit_lookup(&seg, "a", SHMKIT_KIND_SEMAPHORE, 0, &a)) == 0 &&
	    (rc = shmkit_lookup(&seg, "b", SHMKIT_KIND_SEMAPHORE, 0, &b)) == 0) {
		for (long i = 0; i < count && rc == 0; i++) {
			if (pinger) {
				if ((rc = shmkit_sem_post(a.data)) == 0) {
					rc = shmkit_sem_wait(b.data);
				}
			} else if ((rc = shmkit_sem_wait(a.data)) == 0) {
				rc = shmkit_sem_post(b.data);
			}
		}
	}
	shmkit_detach(&seg);
	return rc;
}
