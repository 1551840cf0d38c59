/* lmdb.c - the W8 peer over LMDB: an environment in the directory TARGET
 * (on tmpfs, as shmkit's dicts are), default flags; values are 8-byte
 * integers. Sets commit one write transaction per BATCH puts; gets run in
 * a read transaction renewed every BATCH gets; each increment of the
 * counter is a write transaction of its own. */
#include <lmdb.h>

#include "w8.h"

static void check(int rc, const char *what) {
	if (rc != 0) {
		w8_fail("lmdb: %s: %s", what, mdb_strerror(rc));
	}
}

static MDB_env *open_env(const char *dir, MDB_dbi *dbi) {
	MDB_env *env;
	MDB_txn *txn;
	check(mdb_env_create(&env), "env_create");
	check(mdb_env_set_mapsize(env, (size_t)1 << 30), "set_mapsize");
	check(mdb_env_open(env, dir, 0, 0600), "env_open");
	check(mdb_txn_begin(env, NULL, 0, &txn), "txn_begin");
	check(mdb_dbi_open(txn, NULL, 0, dbi), "dbi_open");
	check(mdb_txn_commit(txn), "commit");
	return env;
}

/* held is the bytes of the pages the environment uses. */
static long long held(MDB_env *env) {
	MDB_envinfo info;
	MDB_stat st;
	check(mdb_env_info(env, &info), "env_info");
	check(mdb_env_stat(env, &st), "env_stat");
	return (long long)(info.me_last_pgno + 1) * st.ms_psize;
}

static void set_keys(MDB_env *env, MDB_dbi dbi, char *keys, const size_t *lens, long n, long batch) {
	MDB_txn *txn = NULL;
	for (long i = 0; i < n; i++) {
		if (txn == NULL) {
			check(mdb_txn_begin(env, NULL, 0, &txn), "txn_begin");
		}
		int64_t v = i;
		MDB_val k = {lens[i], keys + i * W8_KEY_MAX}, d = {sizeof v, &v};
		check(mdb_put(txn, dbi, &k, &d, 0), "put");
		if ((i + 1) % batch == 0 || i == n - 1) {
			check(mdb_txn_commit(txn), "commit");
			txn = NULL;
		}
	}
}

static long long get_keys(MDB_env *env, MDB_dbi dbi, char *keys, const size_t *lens, long n, long nkeys, long batch) {
	MDB_txn *txn;
	long long sum = 0;
	check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn_begin");
	for (long j = 0; j < n; j++) {
		if (j > 0 && j % batch == 0) {
			mdb_txn_reset(txn);
			check(mdb_txn_renew(txn), "txn_renew");
		}
		long i = j % nkeys;
		int64_t v;
		MDB_val k = {lens[i], keys + i * W8_KEY_MAX}, d;
		check(mdb_get(txn, dbi, &k, &d), "get");
		if (d.mv_size != sizeof v) {
			w8_fail("lmdb: key %ld holds %zu bytes", i, d.mv_size);
		}
		memcpy(&v, d.mv_data, sizeof v);
		if (v != i) {
			w8_fail("lmdb: key %ld holds %lld", i, (long long)v);
		}
		sum += v;
	}
	mdb_txn_abort(txn);
	return sum;
}

static int64_t read_counter(MDB_txn *txn, MDB_dbi dbi) {
	MDB_val k = {7, "counter"}, d;
	int64_t v = 0;
	int rc = mdb_get(txn, dbi, &k, &d);
	if (rc == MDB_NOTFOUND) {
		return 0;
	}
	check(rc, "get counter");
	if (d.mv_size != sizeof v) {
		w8_fail("lmdb: counter holds %zu bytes", d.mv_size);
	}
	memcpy(&v, d.mv_data, sizeof v);
	return v;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		w8_fail("usage: %s set|get|add|read DIR ...", argv[0]);
	}
	const char *op = argv[1];
	MDB_dbi dbi;
	MDB_env *env = open_env(argv[2], &dbi);
	if (strcmp(op, "set") == 0) {
		long n = w8_arg(argc, argv, 3), batch = w8_arg(argc, argv, 4);
		size_t *lens;
		char *keys = w8_keys(n, &lens);
		long long before = held(env);
		w8_ready();
		long long t0 = w8_now();
		set_keys(env, dbi, keys, lens, n, batch);
		long long t1 = w8_now();
		long long grown = held(env) - before;
		w8_done(t1 - t0, get_keys(env, dbi, keys, lens, n, n, 1000), grown);
	} else if (strcmp(op, "get") == 0) {
		long n = w8_arg(argc, argv, 3), nkeys = w8_arg(argc, argv, 4), batch = w8_arg(argc, argv, 5);
		size_t *lens;
		char *keys = w8_keys(nkeys, &lens);
		set_keys(env, dbi, keys, lens, nkeys, 1000);
		w8_ready();
		long long t0 = w8_now();
		long long sum = get_keys(env, dbi, keys, lens, n, nkeys, batch);
		w8_done(w8_now() - t0, sum, 0);
	} else if (strcmp(op, "add") == 0) {
		long n = w8_arg(argc, argv, 3);
		int64_t v = 0;
		w8_ready();
		for (long i = 0; i < n; i++) {
			MDB_txn *txn;
			check(mdb_txn_begin(env, NULL, 0, &txn), "txn_begin");
			v = read_counter(txn, dbi) + 1;
			MDB_val k = {7, "counter"}, d = {sizeof v, &v};
			check(mdb_put(txn, dbi, &k, &d, 0), "put counter");
			check(mdb_txn_commit(txn), "commit");
		}
		w8_done_value(v);
	} else if (strcmp(op, "read") == 0) {
		MDB_txn *txn;
		check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn_begin");
		w8_ready();
		w8_done_value(read_counter(txn, dbi));
		mdb_txn_abort(txn);
	} else {
		w8_fail("lmdb: unknown role %s", op);
	}
	mdb_env_close(env);
	return 0;
}
