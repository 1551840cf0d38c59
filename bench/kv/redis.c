/* redis.c - the W8 peer over Redis, through hiredis on the server's Unix
 * socket (TARGET): SET and GET one round trip each, or BATCH commands
 * pipelined per round trip; INCR for the counter. */
#include <hiredis/hiredis.h>

#include "w8.h"

static redisContext *connect_to(const char *path) {
	redisContext *c = redisConnectUnix(path);
	if (c == NULL || c->err) {
		w8_fail("redis: connect %s: %s", path, c ? c->errstr : "out of memory");
	}
	return c;
}

static redisReply *reply_of(redisContext *c, void *r) {
	if (r == NULL) {
		w8_fail("redis: %s", c->errstr);
	}
	redisReply *reply = (redisReply *)r;
	if (reply->type == REDIS_REPLY_ERROR) {
		w8_fail("redis: %s", reply->str);
	}
	return reply;
}

static redisReply *next_reply(redisContext *c) {
	void *r = NULL;
	if (redisGetReply(c, &r) != REDIS_OK) {
		w8_fail("redis: %s", c->errstr);
	}
	return reply_of(c, r);
}

/* used_memory is the server's allocated bytes (INFO memory). */
static long long used_memory(redisContext *c) {
	redisReply *r = reply_of(c, redisCommand(c, "INFO memory"));
	const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, "used_memory:") : NULL;
	if (p == NULL) {
		w8_fail("redis: INFO memory has no used_memory");
	}
	long long v = strtoll(p + strlen("used_memory:"), NULL, 10);
	freeReplyObject(r);
	return v;
}

static void check_ok(redisReply *r, long i) {
	if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) {
		w8_fail("redis: SET of key %ld answered type %d", i, r->type);
	}
	freeReplyObject(r);
}

static long long value_of(redisReply *r, long i) {
	if (r->type != REDIS_REPLY_STRING) {
		w8_fail("redis: GET of key %ld answered type %d", i, r->type);
	}
	long long v = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* set stores keys from..n-1 = their index, batch commands per round trip. */
static void set_keys(redisContext *c, const char *keys, const size_t *lens, long n, long batch) {
	for (long i = 0; i < n;) {
		if (batch == 1) {
			check_ok(reply_of(c, redisCommand(c, "SET %b %ld", keys + i * W8_KEY_MAX, lens[i], i)), i);
			i++;
			continue;
		}
		long end = i + batch < n ? i + batch : n;
		for (long j = i; j < end; j++) {
			redisAppendCommand(c, "SET %b %ld", keys + j * W8_KEY_MAX, lens[j], j);
		}
		for (long j = i; j < end; j++) {
			check_ok(next_reply(c), j);
		}
		i = end;
	}
}

/* get_keys reads n keys (index j % keys), checks each, and sums them. */
static long long get_keys(redisContext *c, const char *keys, const size_t *lens, long n, long nkeys, long batch) {
	long long sum = 0;
	for (long j = 0; j < n;) {
		long end = j + batch < n ? j + batch : n;
		if (batch == 1) {
			long i = j % nkeys;
			long long v = value_of(reply_of(c, redisCommand(c, "GET %b", keys + i * W8_KEY_MAX, lens[i])), i);
			if (v != i) {
				w8_fail("redis: key %ld holds %lld", i, v);
			}
			sum += v;
			j++;
			continue;
		}
		for (long k = j; k < end; k++) {
			redisAppendCommand(c, "GET %b", keys + (k % nkeys) * W8_KEY_MAX, lens[k % nkeys]);
		}
		for (long k = j; k < end; k++) {
			long long v = value_of(next_reply(c), k % nkeys);
			if (v != k % nkeys) {
				w8_fail("redis: key %ld holds %lld", k % nkeys, v);
			}
			sum += v;
		}
		j = end;
	}
	return sum;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		w8_fail("usage: %s set|get|add|read SOCKET ...", argv[0]);
	}
	const char *op = argv[1];
	redisContext *c = connect_to(argv[2]);
	if (strcmp(op, "set") == 0) {
		long n = w8_arg(argc, argv, 3), batch = w8_arg(argc, argv, 4);
		size_t *lens;
		char *keys = w8_keys(n, &lens);
		long long before = used_memory(c);
		w8_ready();
		long long t0 = w8_now();
		set_keys(c, keys, lens, n, batch);
		long long t1 = w8_now();
		long long grown = used_memory(c) - before;
		w8_done(t1 - t0, get_keys(c, keys, lens, n, n, 100), grown);
	} else if (strcmp(op, "get") == 0) {
		long n = w8_arg(argc, argv, 3), nkeys = w8_arg(argc, argv, 4), batch = w8_arg(argc, argv, 5);
		size_t *lens;
		char *keys = w8_keys(nkeys, &lens);
		set_keys(c, keys, lens, nkeys, 100);
		w8_ready();
		long long t0 = w8_now();
		long long sum = get_keys(c, keys, lens, n, nkeys, batch);
		w8_done(w8_now() - t0, sum, 0);
	} else if (strcmp(op, "add") == 0) {
		long n = w8_arg(argc, argv, 3);
		long long v = 0;
		w8_ready();
		for (long i = 0; i < n; i++) {
			redisReply *r = reply_of(c, redisCommand(c, "INCR counter"));
			if (r->type != REDIS_REPLY_INTEGER) {
				w8_fail("redis: INCR answered type %d", r->type);
			}
			v = r->integer;
			freeReplyObject(r);
		}
		w8_done_value(v);
	} else if (strcmp(op, "read") == 0) {
		w8_ready();
		w8_done_value(value_of(reply_of(c, redisCommand(c, "GET counter")), -1));
	} else {
		w8_fail("redis: unknown role %s", op);
	}
	redisFree(c);
	return 0;
}
