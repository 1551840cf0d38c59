/*
 * peer.c - the C side of the interop tests: one command per run, on a
 * segment made by Go (or making one for Go), printing what it saw.
 * Built by the tests with: cc peer.c ../../cgo/shmkit.c -lpthread
 */
#include "shmkit.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char typecodes[] = "cbBhHiIlLqQfdu";

static void die(const char *what, int rc) {
	printf("error %s: %s\n", what, shmkit_strerror(rc));
	exit(1);
}

static void must(const char *what, int rc) {
	if (rc != 0) {
		die(what, rc);
	}
}

/* The word the tests expect for an error, the same from every peer. */
static const char *class_of(int rc) {
	switch (rc) {
	case 0: return "ok";
	case ENOENT: return "notfound";
	case SHMKIT_ENOTSHMKIT: return "notshmkit";
	case SHMKIT_EVERSION: return "version";
	case SHMKIT_ECORRUPT: return "corrupt";
	case SHMKIT_EKIND: return "kind";
	case SHMKIT_EREADONLY: return "readonly";
	case SHMKIT_EPEERDEAD: return "peerdead";
	case ENOSPC: return "nospace";
	case EEXIST: return "exists";
	case EINVAL: return "invalid";
	}
	return "other";
}

static struct shmkit_segment attach(const char *name) {
	struct shmkit_segment seg;
	must("attach", shmkit_attach(name, 0, &seg));
	return seg;
}

static struct shmkit_object lookup(struct shmkit_segment *seg, const char *name, uint32_t kind, int tc) {
	struct shmkit_object o;
	must(name, shmkit_lookup(seg, name, kind, tc, &o));
	return o;
}

/* print_and_bump prints a value as a number and stores value+1 (integers,
 * characters) or value*2 (floats), under the value's own lock. */
static void print_and_bump(struct shmkit_object *o) {
	void *p = o->data;
	must("lock", shmkit_mutex_lock(o->lock));
	switch (o->typecode) {
	case 'c': printf("c=%d\n", *(char *)p); *(char *)p += 1; break;
	case 'b': printf("b=%d\n", *(signed char *)p); *(signed char *)p += 1; break;
	case 'B': printf("B=%u\n", *(unsigned char *)p); *(unsigned char *)p += 1; break;
	case 'h': printf("h=%d\n", *(short *)p); *(short *)p += 1; break;
	case 'H': printf("H=%u\n", *(unsigned short *)p); *(unsigned short *)p += 1; break;
	case 'i': printf("i=%d\n", *(int *)p); *(int *)p += 1; break;
	case 'I': printf("I=%u\n", *(unsigned *)p); *(unsigned *)p += 1; break;
	case 'l': printf("l=%ld\n", *(long *)p); *(long *)p += 1; break;
	case 'L': printf("L=%lu\n", *(unsigned long *)p); *(unsigned long *)p += 1; break;
	case 'q': printf("q=%lld\n", *(long long *)p); *(long long *)p += 1; break;
	case 'Q': printf("Q=%llu\n", *(unsigned long long *)p); *(unsigned long long *)p += 1; break;
	case 'f': printf("f=%g\n", *(float *)p); *(float *)p *= 2; break;
	case 'd': printf("d=%g\n", *(double *)p); *(double *)p *= 2; break;
	case 'u': printf("u=%u\n", *(uint32_t *)p); *(uint32_t *)p += 1; break;
	}
	must("unlock", shmkit_mutex_unlock(o->lock));
}

static int cmd_values(struct shmkit_segment *seg) {
	for (const char *tc = typecodes; *tc; tc++) {
		char name[8] = "v_";
		name[2] = *tc;
		struct shmkit_object o = lookup(seg, name, SHMKIT_KIND_VALUE, *tc);
		print_and_bump(&o);
	}
	return 0;
}

static int cmd_array(struct shmkit_segment *seg, const char *name) {
	struct shmkit_object o = lookup(seg, name, SHMKIT_KIND_ARRAY, 'd');
	double *a = o.data, sum = 0;
	for (uint64_t i = 0; i < o.count; i++) {
		sum += a[i];
		a[i] = a[i] * 2 + 1;
	}
	printf("count=%llu sum=%.0f\n", (unsigned long long)o.count, sum);
	return 0;
}

static int cmd_sem_wait(struct shmkit_segment *seg, const char *name) {
	struct shmkit_object o = lookup(seg, name, SHMKIT_KIND_SEMAPHORE, 0);
	printf("waiting\n");
	fflush(stdout);
	must("sem_wait", shmkit_sem_wait(o.data));
	printf("acquired\n");
	return 0;
}

static int cmd_sem_post(struct shmkit_segment *seg, const char *name) {
	struct shmkit_object o = lookup(seg, name, SHMKIT_KIND_SEMAPHORE, 0);
	must("sem_post", shmkit_sem_post(o.data));
	printf("released\n");
	return 0;
}

/* Event, barrier and condition, as Go's semaphore package has them. */
static int cmd_event_wait(struct shmkit_segment *seg, const char *name) {
	struct shmkit_object o = lookup(seg, name, SHMKIT_KIND_EVENT, 0);
	printf("waiting\n");
	fflush(stdout);
	must("event_wait", shmkit_event_wait(o.data, SHMKIT_FOREVER));
	printf("set\n");
	return 0;
}

static int cmd_event_set(struct shmkit_segment *seg, const char *name) {
	struct shmkit_object o = lookup(seg, name, SHMKIT_KIND_EVENT, 0);
	must("event_set", shmkit_event_set(o.data));
	printf("set\n");
	return 0;
}

static int cmd_barrier(struct shmkit_segment *seg, const char *name) {
	struct shmkit_object o = lookup(seg, name, SHMKIT_KIND_BARRIER, 0);
	uint32_t index;
	printf("arriving\n");
	fflush(stdout);
	must("barrier_wait", shmkit_barrier_wait(o.data, SHMKIT_FOREVER, &index));
	printf("passed\n");
	return 0;
}

/* cond-wait: under the mutex, wait on the condition until the int32 value
 * flag is non-zero. cond-notify: set it and wake every waiter. */
static int cmd_cond(struct shmkit_segment *seg, const char *mutex, const char *cond, const char *flag, int notify) {
	struct shmkit_object m = lookup(seg, mutex, SHMKIT_KIND_MUTEX, 0);
	struct shmkit_object c = lookup(seg, cond, SHMKIT_KIND_COND, 0);
	struct shmkit_object f = lookup(seg, flag, SHMKIT_KIND_VALUE, 'i');
	int32_t *value = f.data;
	must("lock", shmkit_mutex_lock(m.data));
	if (notify) {
		*value = 1;
		must("notify", shmkit_cond_notify(c.data, INT_MAX));
		printf("notified\n");
	} else {
		printf("waiting\n");
		fflush(stdout);
		while (*value == 0) {
			must("cond_wait", shmkit_cond_wait(c.data, m.data, SHMKIT_FOREVER));
		}
		printf("woken\n");
	}
	must("unlock", shmkit_mutex_unlock(m.data));
	return 0;
}

static _Noreturn void cmd_mutex_hold(struct shmkit_segment *seg, const char *name) {
	struct shmkit_object o = lookup(seg, name, SHMKIT_KIND_MUTEX, 0);
	must("lock", shmkit_mutex_lock(o.data));
	printf("locked\n");
	fflush(stdout);
	for (;;) {
		pause(); /* until killed */
	}
}

static int cmd_mutex_lock(struct shmkit_segment *seg, const char *name) {
	struct shmkit_object o = lookup(seg, name, SHMKIT_KIND_MUTEX, 0);
	int rc = shmkit_mutex_lock(o.data);
	if (rc == EOWNERDEAD) {
		printf("ownerdead\n");
		must("consistent", shmkit_mutex_consistent(o.data));
	} else {
		must("lock", rc);
	}
	must("unlock", shmkit_mutex_unlock(o.data));
	printf("ok\n");
	return 0;
}

/* cmd_send sends count messages of len numbers, then, with join, waits
 * until a consumer has marked every one done, then ends the stream. */
static int cmd_send(struct shmkit_segment *seg, const char *name, long count, long len, int join) {
	struct shmkit_chan ch;
	must("open", shmkit_chan_open(seg, name, 'd', &ch));
	double *msg = calloc((size_t)len, sizeof *msg), sum = 0;
	for (long k = 0; k < count; k++) {
		for (long j = 0; j < len; j++) {
			msg[j] = (double)(k * len + j);
			sum += msg[j];
		}
		must("send", shmkit_chan_send(&ch, msg, (uint32_t)len, SHMKIT_FOREVER));
	}
	if (join) {
		must("join", shmkit_chan_join(&ch, SHMKIT_FOREVER));
		printf("joined\n");
	}
	must("end", shmkit_chan_end(&ch));
	printf("sent=%ld sum=%.0f\n", count, sum);
	free(msg);
	return 0;
}

/* cmd_recv receives until the end, marking each message done with done. */
static int cmd_recv(struct shmkit_segment *seg, const char *name, int done) {
	struct shmkit_chan ch;
	must("open", shmkit_chan_open(seg, name, 'd', &ch));
	double *msg = calloc(ch.max_len, sizeof *msg), sum = 0;
	long count = 0, inorder = 1;
	for (;;) {
		uint32_t n = 0;
		int rc = shmkit_chan_recv(&ch, msg, ch.max_len, &n, SHMKIT_FOREVER);
		if (rc == SHMKIT_EEOF) {
			break;
		}
		must("recv", rc);
		for (uint32_t j = 0; j < n; j++) {
			inorder &= msg[j] == (double)(count * n + j);
			sum += msg[j];
		}
		count++;
		if (done) {
			must("task_done", shmkit_chan_task_done(&ch));
		}
	}
	printf("received=%ld sum=%.0f order=%s\n", count, sum, inorder ? "ok" : "wrong");
	free(msg);
	return 0;
}

/* cmd_send_values sends the numbers 0 .. count-1 as one-value messages
 * with shmkit_chan_send_values, in runs of 1 to 61, then ends the stream. */
static int cmd_send_values(struct shmkit_segment *seg, const char *name, long count) {
	struct shmkit_chan ch;
	must("open", shmkit_chan_open(seg, name, 'd', &ch));
	double run[61], sum = 0;
	for (long k = 0, r = 0; k < count; r++) {
		long m = 1 + r * 13 % 61;
		m = m < count - k ? m : count - k;
		for (long i = 0; i < m; i++) {
			run[i] = (double)(k + i);
			sum += run[i];
		}
		uint64_t sent = 0;
		must("send_values", shmkit_chan_send_values(&ch, run, (uint64_t)m, &sent, SHMKIT_FOREVER));
		if (sent != (uint64_t)m) {
			die("send_values", SHMKIT_ECORRUPT);
		}
		k += m;
	}
	must("end", shmkit_chan_end(&ch));
	printf("sent=%ld sum=%.0f\n", count, sum);
	return 0;
}

/* cmd_recv_values receives one-value messages with shmkit_chan_recv_values,
 * up to 37 at a time, until the end. */
static int cmd_recv_values(struct shmkit_segment *seg, const char *name) {
	struct shmkit_chan ch;
	must("open", shmkit_chan_open(seg, name, 'd', &ch));
	double buf[37], sum = 0;
	long count = 0, inorder = 1;
	for (;;) {
		uint64_t n = 0;
		int rc = shmkit_chan_recv_values(&ch, buf, 37, &n, SHMKIT_FOREVER);
		if (rc == SHMKIT_EEOF) {
			break;
		}
		must("recv_values", rc);
		for (uint64_t j = 0; j < n; j++) {
			inorder &= buf[j] == (double)count;
			sum += buf[j];
			count++;
		}
	}
	printf("received=%ld sum=%.0f order=%s\n", count, sum, inorder ? "ok" : "wrong");
	return 0;
}

/* cmd_pipe_echo serves end 1 of pipe name (channels name.1 in, name.0
 * out, of bytes): each message comes back reversed, until the other end
 * closes; then it closes its own end. */
static int cmd_pipe_echo(struct shmkit_segment *seg, const char *name) {
	char in_name[SHMKIT_NAME_MAX + 8], out_name[SHMKIT_NAME_MAX + 8];
	snprintf(in_name, sizeof in_name, "%s.1", name);
	snprintf(out_name, sizeof out_name, "%s.0", name);
	struct shmkit_chan in, out;
	must("open", shmkit_chan_open(seg, in_name, 'B', &in));
	must("open", shmkit_chan_open(seg, out_name, 'B', &out));
	shmkit_chan_register(&in, 0);
	shmkit_chan_register(&out, 1);
	uint8_t *msg = malloc(in.max_len ? in.max_len : 1);
	long count = 0;
	for (;;) {
		uint32_t n = 0;
		int rc = shmkit_chan_recv(&in, msg, in.max_len, &n, SHMKIT_FOREVER);
		if (rc == SHMKIT_EEOF) {
			break;
		}
		must("recv", rc);
		for (uint32_t i = 0; i < n / 2; i++) {
			uint8_t t = msg[i];
			msg[i] = msg[n - 1 - i];
			msg[n - 1 - i] = t;
		}
		must("send", shmkit_chan_send(&out, msg, n, SHMKIT_FOREVER));
		count++;
	}
	must("end", shmkit_chan_end(&out));
	shmkit_chan_close(&in);
	shmkit_chan_close(&out);
	free(msg);
	printf("echoed=%ld\n", count);
	return 0;
}

/* cmd_queue_recv_timeout receives one message of queue q, giving up
 * after ms milliseconds, and prints the outcome: "timeout", "got=N" or
 * "rc=N". */
static int cmd_queue_recv_timeout(struct shmkit_segment *seg, const char *q, const char *ms) {
	struct shmkit_queue in;
	must("open", shmkit_queue_open(seg, q, &in));
	void *msg;
	uint64_t n;
	int rc = shmkit_queue_recv(&in, &msg, &n, shmkit_now_ns() + atoll(ms) * 1000000LL);
	if (rc == ETIMEDOUT || rc == EAGAIN) {
		printf("timeout\n");
	} else if (rc == 0) {
		printf("got=%llu\n", (unsigned long long)n);
		free(msg);
	} else {
		printf("rc=%d\n", rc);
	}
	shmkit_queue_close(&in);
	return 0;
}

/* cmd_queue_new makes queue q and prints how that went. */
static int cmd_queue_new(struct shmkit_segment *seg, const char *q, const char *slots, const char *slot_bytes,
                         const char *limit) {
	printf("%s\n", class_of(shmkit_new_queue(seg, q, (uint32_t)atol(slots), (uint32_t)atol(slot_bytes),
	                                          (uint64_t)atoll(limit))));
	return 0;
}

/* cmd_queue_echo takes every message of queue src until it ends, sends
 * each reversed on queue dst, then ends dst. */
static int cmd_queue_echo(struct shmkit_segment *seg, const char *src, const char *dst) {
	struct shmkit_queue in, out;
	must("open", shmkit_queue_open(seg, src, &in));
	must("open", shmkit_queue_open(seg, dst, &out));
	must("register", shmkit_chan_register(&out.ch, 1));
	long count = 0;
	for (;;) {
		void *msg;
		uint64_t n;
		int rc = shmkit_queue_recv(&in, &msg, &n, SHMKIT_FOREVER);
		if (rc == SHMKIT_EEOF) {
			break;
		}
		must("recv", rc);
		uint8_t *b = msg;
		for (uint64_t i = 0; i < n / 2; i++) {
			uint8_t t = b[i];
			b[i] = b[n - 1 - i];
			b[n - 1 - i] = t;
		}
		must("send", shmkit_queue_send(&out, msg, n, SHMKIT_FOREVER));
		free(msg);
		count++;
	}
	must("end", shmkit_chan_end(&out.ch));
	shmkit_queue_close(&in);
	shmkit_queue_close(&out);
	printf("echoed=%ld\n", count);
	return 0;
}

/* field_of finds a record field by name in a checked description. */
static const struct shmkit_field *field_of(const struct shmkit_struct_desc *d, const char *name) {
	const struct shmkit_field *f = (const struct shmkit_field *)(d + 1);
	for (uint32_t i = 0; i < d->fields; i++) {
		if (strcmp(f[i].name, name) == 0) {
			return &f[i];
		}
	}
	die(name, ENOENT);
	return NULL;
}

/* cmd_records reads array name's record layout and sums its records' ID
 * and Energy fields by their described offsets; then receives every
 * message of records on channel chan until the end, summing Seq. */
static int cmd_records(struct shmkit_segment *seg, const char *name, const char *chan) {
	struct shmkit_object o;
	must("lookup", shmkit_lookup(seg, name, SHMKIT_KIND_ARRAY, SHMKIT_TYPECODE_STRUCT, &o));
	const struct shmkit_field *f = (const struct shmkit_field *)(o.desc + 1);
	printf("layout %s size=%u", o.desc->type_name, (unsigned)o.elem_size);
	for (uint32_t i = 0; i < o.desc->fields; i++) {
		printf(" %s:%c@%u", f[i].name, f[i].typecode, (unsigned)f[i].offset);
		if (f[i].count > 1) {
			printf("x%u", (unsigned)f[i].count);
		}
	}
	printf("\n");
	const struct shmkit_field *id = field_of(o.desc, "ID"), *energy = field_of(o.desc, "Energy");
	long long ids = 0;
	double energies = 0;
	must("lock", shmkit_mutex_lock(o.lock));
	for (uint64_t i = 0; i < o.count; i++) {
		const uint8_t *rec = (const uint8_t *)o.data + i * o.elem_size;
		int64_t v;
		double e;
		memcpy(&v, rec + id->offset, sizeof v);
		memcpy(&e, rec + energy->offset, sizeof e);
		ids += v;
		energies += e;
	}
	must("unlock", shmkit_mutex_unlock(o.lock));
	printf("records=%llu ids=%lld energy=%g\n", (unsigned long long)o.count, ids, energies);

	struct shmkit_chan ch;
	must("open", shmkit_chan_open(seg, chan, SHMKIT_TYPECODE_STRUCT, &ch));
	struct shmkit_object co;
	must("lookup", shmkit_lookup(seg, chan, SHMKIT_KIND_CHANNEL, SHMKIT_TYPECODE_STRUCT, &co));
	const struct shmkit_field *seq = field_of(co.desc, "Seq");
	uint8_t *buf = calloc(ch.max_len, ch.elem_size);
	long long seqs = 0, count = 0;
	for (;;) {
		uint32_t n = 0;
		int rc = shmkit_chan_recv(&ch, buf, ch.max_len, &n, SHMKIT_FOREVER);
		if (rc == SHMKIT_EEOF) {
			break;
		}
		must("recv", rc);
		for (uint32_t j = 0; j < n; j++) {
			int64_t v;
			memcpy(&v, buf + (size_t)j * ch.elem_size + seq->offset, sizeof v);
			seqs += v;
			count++;
		}
	}
	free(buf);
	printf("events=%lld seq=%lld\n", count, seqs);
	return 0;
}

/* cmd_attach reports how attaching (and, if given, opening a value of a
 * typecode) went, as one word. */
static int cmd_attach(const char *segname, const char *name, const char *tc) {
	struct shmkit_segment seg;
	int rc = shmkit_attach(segname, 0, &seg);
	if (rc == 0 && name != NULL) {
		struct shmkit_object o;
		rc = shmkit_lookup(&seg, name, SHMKIT_KIND_VALUE, tc[0], &o);
	}
	printf("%s\n", class_of(rc));
	if (rc == 0 || seg.base != NULL) {
		shmkit_detach(&seg);
	}
	return 0;
}

/* cmd_create makes a segment for Go to read: every typecode's value, an
 * array, a semaphore, a mutex and a channel with messages in it. */
static int cmd_create(const char *segname) {
	struct shmkit_segment seg;
	struct shmkit_object o;
	must("create", shmkit_create(segname, 1 << 20, 0, 0600, &seg));
	for (const char *tc = typecodes; *tc; tc++) {
		char name[8] = "v_";
		name[2] = *tc;
		uint8_t one[8] = {0};
		switch (*tc) {
		case 'f': { float f = 1.5f; memcpy(one, &f, sizeof f); break; }
		case 'd': { double d = 1.5; memcpy(one, &d, sizeof d); break; }
		default: one[0] = 42;
		}
		must(name, shmkit_new_elems(&seg, name, *tc, 1, 0, 1, one, &o));
	}
	double a[100];
	for (int i = 0; i < 100; i++) {
		a[i] = i;
	}
	must("array", shmkit_new_elems(&seg, "array", 'd', 100, 1, 1, a, &o));
	must("sem", shmkit_new_semaphore(&seg, "sem", 3, 0, &o));
	must("mutex", shmkit_new_mutex(&seg, "mutex", 0, &o));
	must("chan", shmkit_new_channel(&seg, "chan", 'd', 8, 4, &o));
	struct shmkit_chan ch;
	must("open", shmkit_chan_open(&seg, "chan", 'd', &ch));
	for (int k = 0; k < 3; k++) {
		double msg[2] = {k, k + 0.5};
		must("send", shmkit_chan_send(&ch, msg, 2, SHMKIT_FOREVER));
	}
	must("end", shmkit_chan_end(&ch));
	shmkit_detach(&seg);
	printf("created\n");
	return 0;
}

/* cmd_reopen opens channel name n times while another process may be
 * flipping its header, and sends and receives one element through each
 * handle; a handle must never use a geometry other than the one checked. */
static int cmd_reopen(struct shmkit_segment *seg, const char *name, long n) {
	long refused = 0;
	for (long i = 0; i < n; i++) {
		struct shmkit_chan ch;
		int rc = shmkit_chan_open(seg, name, 'd', &ch);
		if (rc == SHMKIT_ECORRUPT) {
			refused++;
			continue;
		}
		must("open", rc);
		double v = (double)i;
		uint32_t got;
		shmkit_chan_send(&ch, &v, 1, SHMKIT_NOWAIT);
		shmkit_chan_recv(&ch, &v, 1, &got, SHMKIT_NOWAIT);
	}
	printf("reopened refused=%s\n", refused > 0 ? "some" : "none");
	return 0;
}

/* cmd_descs opens the records named name in each segment and prints
 * "ok" or why not, one line per segment. An open that succeeds reads every
 * field of every record, through the description's checked copy. */
static int cmd_descs(const char *name, int nsegs, char **segs) {
	static union {
		struct shmkit_struct_desc d;
		uint8_t room[sizeof(struct shmkit_struct_desc) + SHMKIT_FIELDS_MAX * sizeof(struct shmkit_field)];
	} buf;
	for (int i = 0; i < nsegs; i++) {
		struct shmkit_segment seg = attach(segs[i]);
		struct shmkit_object o;
		int rc = shmkit_lookup(&seg, name, 0, SHMKIT_TYPECODE_STRUCT, &o);
		if (rc == 0) {
			rc = shmkit_object_desc(&o, &buf.d, sizeof buf);
		}
		volatile uint64_t sum = 0;
		for (uint64_t r = 0; rc == 0 && r < o.count; r++) {
			const struct shmkit_field *f = (const void *)(&buf.d + 1);
			for (uint32_t k = 0; k < buf.d.fields; k++) {
				unsigned size = shmkit_typecode_size(f[k].typecode);
				const uint8_t *p = (const uint8_t *)o.data + r * o.elem_size + f[k].offset;
				for (uint32_t j = 0; j < f[k].count; j++) {
					switch (size) { /* aligned loads, as Go's */
					case 1: sum += p[j]; break;
					case 2: sum += ((const uint16_t *)p)[j]; break;
					case 4: sum += ((const uint32_t *)p)[j]; break;
					default: sum += ((const uint64_t *)p)[j];
					}
				}
			}
		}
		printf("%s\n", class_of(rc));
		shmkit_detach(&seg);
	}
	return 0;
}

/* cmd_names prints "ok" or "bad" for each name, given in hex, as
 * shmkit_check_name judges it: a segment's name if kind is "segment",
 * else an object's. */
static int cmd_names(const char *kind, int n, char **hex) {
	for (int i = 0; i < n; i++) {
		char name[1024];
		size_t len = strlen(hex[i]) / 2;
		for (size_t k = 0; k < len && k < sizeof name; k++) {
			unsigned byte;
			sscanf(hex[i] + 2 * k, "%2x", &byte);
			name[k] = (char)byte;
		}
		int rc = len <= sizeof name ? shmkit_check_name(name, len, strcmp(kind, "segment") != 0) : EINVAL;
		printf("%s\n", rc == 0 ? "ok" : "bad");
	}
	return 0;
}

static void print_hex(const uint8_t *p, uint64_t n) {
	for (uint64_t i = 0; i < n; i++) {
		printf("%02x", p[i]);
	}
}

/* dict NAME PEER ADDS: print every item as "tag:hexkey=tag:hexvalue" and
 * "end"; set "from-PEER" = 42; add 1 to "year" ADDS times; append PEER to
 * the list NAME-list. */
static int cmd_dict(struct shmkit_segment *seg, const char *name, const char *peer, long adds) {
	struct shmkit_dict *d, *l;
	char lname[80];
	snprintf(lname, sizeof lname, "%s-list", name);
	must("open dict", shmkit_dict_open(seg, name, SHMKIT_KIND_DICT, 0, &d));
	must("open list", shmkit_dict_open(seg, lname, SHMKIT_KIND_LIST, 0, &l));
	uint64_t pos = 0, gen = 0, kl, vl;
	int restarted, kt, vt, rc;
	uint8_t k[256], v[256];
	while ((rc = shmkit_dict_next(d, &pos, &gen, &restarted, &kt, k, sizeof k, &kl, &vt, v, sizeof v, &vl)) == 0) {
		printf("%d:", kt);
		print_hex(k, kl);
		printf("=%d:", vt);
		print_hex(v, vl);
		printf("\n");
	}
	if (rc != ENOENT) {
		die("next", rc);
	}
	printf("end\n");
	char key[80];
	int64_t answer = 42, sum;
	snprintf(key, sizeof key, "from-%s", peer);
	must("set", shmkit_dict_set(d, SHMKIT_TAG_STR, key, strlen(key), SHMKIT_TAG_INT, &answer, 8));
	for (long i = 0; i < adds; i++) {
		must("add", shmkit_dict_add(d, SHMKIT_TAG_STR, "year", 4, 1, &sum));
	}
	must("append", shmkit_list_append(l, SHMKIT_TAG_STR, peer, strlen(peer)));
	shmkit_dict_close(d);
	shmkit_dict_close(l);
	return 0;
}

/* dict-record NAME KEY PEER: read the RECORD under KEY, print its layout
 * ("size S fields F", then "field NAME TYPECODE OFFSET COUNT" lines), add
 * 1000 to its int32 field Job, and store it under KEY-PEER. */
static int cmd_dict_record(struct shmkit_segment *seg, const char *name, const char *key, const char *peer) {
	struct shmkit_dict *d;
	static uint64_t v[4096]; /* 8-aligned: the description's fields are read in place */
	int tag;
	uint64_t len;
	must("open dict", shmkit_dict_open(seg, name, SHMKIT_KIND_DICT, 0, &d));
	must("get", shmkit_dict_get(d, SHMKIT_TAG_STR, key, strlen(key), &tag, v, sizeof v, &len));
	const struct shmkit_struct_desc *desc = (const void *)v;
	uint64_t size = tag == SHMKIT_TAG_RECORD && len >= sizeof *desc ? shmkit_struct_size(desc) : 0;
	uint64_t head = size ? sizeof *desc + (uint64_t)desc->fields * sizeof(struct shmkit_field) : 0;
	if (size == 0 || head + size != len) {
		fprintf(stderr, "peer: %s: tag %d, %llu bytes: not a record\n", key, tag, (unsigned long long)len);
		return 1;
	}
	printf("size %u fields %u\n", desc->size, desc->fields);
	const struct shmkit_field *f = (const void *)(desc + 1);
	uint8_t *rec = (uint8_t *)v + head;
	for (uint32_t i = 0; i < desc->fields; i++) {
		printf("field %s %c %u %u\n", f[i].name, f[i].typecode, f[i].offset, f[i].count);
		if (strcmp(f[i].name, "Job") == 0 && f[i].typecode == 'i') {
			int32_t job;
			memcpy(&job, rec + f[i].offset, 4);
			job += 1000;
			memcpy(rec + f[i].offset, &job, 4);
		}
	}
	char out[128];
	snprintf(out, sizeof out, "%s-%s", key, peer);
	must("set", shmkit_dict_set(d, SHMKIT_TAG_STR, out, strlen(out), SHMKIT_TAG_RECORD, v, len));
	shmkit_dict_close(d);
	return 0;
}

/* dict-hold NAME: take dict NAME's writer lock, say so, wait to be killed. */
static _Noreturn void cmd_dict_hold(struct shmkit_segment *seg, const char *name) {
	struct shmkit_dict *d;
	must("open dict", shmkit_dict_open(seg, name, SHMKIT_KIND_DICT, 0, &d));
	must("lock", shmkit_dict_test_lock(d));
	printf("locked\n");
	fflush(stdout);
	for (;;) {
		pause(); /* until killed */
	}
}

/* cmd_send_forever sends one-number messages on channel name until killed. */
static _Noreturn void cmd_send_forever(struct shmkit_segment *seg, const char *name) {
	struct shmkit_chan ch;
	must("open", shmkit_chan_open(seg, name, 'd', &ch));
	for (double v = 0;; v++) {
		must("send", shmkit_chan_send(&ch, &v, 1, SHMKIT_FOREVER));
	}
}

/* cmd_drain_join receives what is queued without waiting, marking each
 * message done, then joins with a deadline of seconds. */
static int cmd_drain_join(struct shmkit_segment *seg, const char *name, long seconds) {
	struct shmkit_chan ch;
	must("open", shmkit_chan_open(seg, name, 'd', &ch));
	double *msg = calloc(ch.max_len, sizeof *msg);
	long count = 0;
	uint32_t n;
	int rc;
	while ((rc = shmkit_chan_recv(&ch, msg, ch.max_len, &n, SHMKIT_NOWAIT)) == 0) {
		must("task_done", shmkit_chan_task_done(&ch));
		count++;
	}
	if (rc != EAGAIN) {
		die("recv", rc);
	}
	rc = shmkit_chan_join(&ch, shmkit_now_ns() + seconds * 1000000000LL);
	printf("received=%ld join=%s\n", count, rc == ETIMEDOUT ? "timeout" : class_of(rc));
	free(msg);
	return 0;
}

/* cmd_expect starts a child that exits before it opens anything, names it
 * as the peer on the other side of channel name, and waits on the channel:
 * in recv (the child as the sender) or, with side "send", in send on a
 * full channel (the child as the receiver). It prints how the wait ended. */
static int cmd_expect(struct shmkit_segment *seg, const char *name, const char *side) {
	struct shmkit_chan ch;
	must("open", shmkit_chan_open(seg, name, 'd', &ch));
	int sending = strcmp(side, "send") == 0;
	double v = 1;
	uint32_t n;
	int rc;
	if (sending) {
		while ((rc = shmkit_chan_send(&ch, &v, 1, SHMKIT_NOWAIT)) == 0) {
		}
		if (rc != EAGAIN) {
			die("fill", rc);
		}
	} else {
		must("register", shmkit_chan_register(&ch, 0));
	}
	pid_t child = fork();
	if (child == 0) {
		_exit(3);
	}
	if (child < 0) {
		die("fork", errno);
	}
	must("expect", shmkit_chan_expect(&ch, !sending, child));
	int64_t deadline = shmkit_now_ns() + 60 * 1000000000LL;
	rc = sending ? shmkit_chan_send(&ch, &v, 1, deadline) : shmkit_chan_recv(&ch, &v, 1, &n, deadline);
	printf("%s=%s expect0=%s\n", side, rc == ETIMEDOUT ? "timeout" : class_of(rc),
	       shmkit_chan_expect(&ch, 1, 0) == EINVAL ? "einval" : "accepted");
	waitpid(child, NULL, 0);
	return 0;
}

/* in_child makes call i in a child process of its own, so that one crash
 * does not hide the next, and prints how it ended: NAME=class word, or
 * NAME=signalN for the signal that killed it. */
static void in_child(const char *name, int (*call)(int i, void *arg), int i, void *arg) {
	pid_t pid = fork();
	if (pid == 0) {
		printf("%s=%s\n", name, class_of(call(i, arg)));
		_exit(0);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		die("fork", errno);
	}
	if (WIFSIGNALED(status)) {
		printf("%s=signal%d\n", name, WTERMSIG(status));
	}
}

static int chan_readonly_call(int i, void *arg) {
	struct shmkit_chan *ch = arg;
	double v[1] = {1};
	uint32_t n = 0;
	uint64_t count = 0;
	switch (i) {
	case 0: return shmkit_chan_send(ch, v, 1, SHMKIT_NOWAIT);
	case 1: return shmkit_chan_recv(ch, v, 1, &n, SHMKIT_NOWAIT);
	case 2: return shmkit_chan_end(ch);
	case 3: return shmkit_chan_register(ch, 1);
	case 4: return shmkit_chan_task_done(ch);
	case 5: return shmkit_chan_join(ch, SHMKIT_NOWAIT);
	case 6: return shmkit_chan_expect(ch, 1, getpid());
	case 7: return shmkit_chan_send_values(ch, v, 1, &count, SHMKIT_NOWAIT);
	default: return shmkit_chan_recv_values(ch, v, 1, &count, SHMKIT_NOWAIT);
	}
}

/* cmd_chan_readonly attaches read-only and makes each call that writes on
 * channel name, each in a child process of its own (in_child). */
static int cmd_chan_readonly(const char *segname, const char *name) {
	static const char *calls[] = {"send", "recv", "end", "register", "task_done", "join", "expect", "send_values",
	                              "recv_values"};
	struct shmkit_segment seg;
	must("attach", shmkit_attach(segname, 1, &seg));
	struct shmkit_chan ch;
	must("open", shmkit_chan_open(&seg, name, 'd', &ch));
	for (int i = 0; i < (int)(sizeof calls / sizeof calls[0]); i++) {
		in_child(calls[i], chan_readonly_call, i, &ch);
	}
	printf("len=%llu\n", (unsigned long long)shmkit_chan_len(&ch));
	shmkit_detach(&seg);
	return 0;
}

static int queue_readonly_call(int i, void *arg) {
	struct shmkit_queue *q = arg;
	void *msg = NULL;
	uint64_t len = 0;
	return i == 0 ? shmkit_queue_send(q, "hello", 5, SHMKIT_NOWAIT) : shmkit_queue_recv(q, &msg, &len, SHMKIT_NOWAIT);
}

/* cmd_queue_readonly attaches read-only and sends and receives on queue
 * name, each in a child process of its own (in_child). */
static int cmd_queue_readonly(const char *segname, const char *name) {
	struct shmkit_segment seg;
	must("attach", shmkit_attach(segname, 1, &seg));
	struct shmkit_queue q;
	must("open", shmkit_queue_open(&seg, name, &q));
	in_child("send", queue_readonly_call, 0, &q);
	in_child("recv", queue_readonly_call, 1, &q);
	shmkit_queue_close(&q);
	shmkit_detach(&seg);
	return 0;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: peer COMMAND SEGMENT [ARGS]\n");
		return 2;
	}
	const char *cmd = argv[1], *segname = argv[2];
	if (strcmp(cmd, "attach") == 0) {
		return cmd_attach(segname, argc > 4 ? argv[3] : NULL, argc > 4 ? argv[4] : NULL);
	}
	if (strcmp(cmd, "create") == 0) {
		return cmd_create(segname);
	}
	if (strcmp(cmd, "names") == 0) { /* names segment HEX... or names object SEGMENT HEX... */
		int object = strcmp(segname, "segment") != 0;
		return cmd_names(segname, argc - 3 - object, argv + 3 + object);
	}
	if (strcmp(cmd, "descs") == 0) {
		return cmd_descs(segname, argc - 3, argv + 3);
	}
	if (strcmp(cmd, "chan-readonly") == 0 && argc > 3) {
		return cmd_chan_readonly(segname, argv[3]);
	}
	if (strcmp(cmd, "queue-readonly") == 0 && argc > 3) {
		return cmd_queue_readonly(segname, argv[3]);
	}
	struct shmkit_segment seg = attach(segname);
	int rc = 2;
	if (strcmp(cmd, "values") == 0) {
		rc = cmd_values(&seg);
	} else if (strcmp(cmd, "array") == 0 && argc > 3) {
		rc = cmd_array(&seg, argv[3]);
	} else if (strcmp(cmd, "sem-wait") == 0 && argc > 3) {
		rc = cmd_sem_wait(&seg, argv[3]);
	} else if (strcmp(cmd, "sem-post") == 0 && argc > 3) {
		rc = cmd_sem_post(&seg, argv[3]);
	} else if (strcmp(cmd, "queue-recv-timeout") == 0 && argc > 4) {
		rc = cmd_queue_recv_timeout(&seg, argv[3], argv[4]);
	} else if (strcmp(cmd, "queue-new") == 0 && argc > 6) {
		rc = cmd_queue_new(&seg, argv[3], argv[4], argv[5], argv[6]);
	} else if (strcmp(cmd, "queue-echo") == 0 && argc > 4) {
		rc = cmd_queue_echo(&seg, argv[3], argv[4]);
	} else if (strcmp(cmd, "pipe-echo") == 0 && argc > 3) {
		rc = cmd_pipe_echo(&seg, argv[3]);
	} else if (strcmp(cmd, "event-wait") == 0 && argc > 3) {
		rc = cmd_event_wait(&seg, argv[3]);
	} else if (strcmp(cmd, "event-set") == 0 && argc > 3) {
		rc = cmd_event_set(&seg, argv[3]);
	} else if (strcmp(cmd, "barrier") == 0 && argc > 3) {
		rc = cmd_barrier(&seg, argv[3]);
	} else if ((strcmp(cmd, "cond-wait") == 0 || strcmp(cmd, "cond-notify") == 0) && argc > 5) {
		rc = cmd_cond(&seg, argv[3], argv[4], argv[5], strcmp(cmd, "cond-notify") == 0);
	} else if (strcmp(cmd, "mutex-hold") == 0 && argc > 3) {
		cmd_mutex_hold(&seg, argv[3]);
	} else if (strcmp(cmd, "mutex-lock") == 0 && argc > 3) {
		rc = cmd_mutex_lock(&seg, argv[3]);
	} else if ((strcmp(cmd, "send") == 0 || strcmp(cmd, "send-join") == 0) && argc > 5) {
		rc = cmd_send(&seg, argv[3], atol(argv[4]), atol(argv[5]), strcmp(cmd, "send-join") == 0);
	} else if (strcmp(cmd, "send-forever") == 0 && argc > 3) {
		cmd_send_forever(&seg, argv[3]);
	} else if (strcmp(cmd, "drain-join") == 0 && argc > 4) {
		rc = cmd_drain_join(&seg, argv[3], atol(argv[4]));
	} else if (strcmp(cmd, "expect") == 0 && argc > 4) {
		rc = cmd_expect(&seg, argv[3], argv[4]);
	} else if (strcmp(cmd, "reopen") == 0 && argc > 4) {
		rc = cmd_reopen(&seg, argv[3], atol(argv[4]));
	} else if (strcmp(cmd, "records") == 0 && argc > 4) {
		rc = cmd_records(&seg, argv[3], argv[4]);
	} else if (strcmp(cmd, "dict-hold") == 0 && argc > 3) {
		cmd_dict_hold(&seg, argv[3]);
	} else if (strcmp(cmd, "dict-record") == 0 && argc > 5) {
		rc = cmd_dict_record(&seg, argv[3], argv[4], argv[5]);
	} else if (strcmp(cmd, "dict") == 0 && argc > 5) {
		rc = cmd_dict(&seg, argv[3], argv[4], atol(argv[5]));
	} else if (strcmp(cmd, "send-values") == 0 && argc > 4) {
		rc = cmd_send_values(&seg, argv[3], atol(argv[4]));
	} else if (strcmp(cmd, "recv-values") == 0 && argc > 3) {
		rc = cmd_recv_values(&seg, argv[3]);
	} else if ((strcmp(cmd, "recv") == 0 || strcmp(cmd, "recv-done") == 0) && argc > 3) {
		rc = cmd_recv(&seg, argv[3], strcmp(cmd, "recv-done") == 0);
	} else {
		fprintf(stderr, "peer: unknown command %s\n", cmd);
	}
	shmkit_detach(&seg);
	return rc;
}
