/*
 * cpool.c - W7a's C baseline: a process pool as a C programmer writes one.
 * The parent forks the workers, each with a pipe for its tasks and one
 * for its results; it keeps up to INFLIGHT tasks outstanding per worker,
 * writing them in batches and reading whatever results are there. A task
 * is an int64 x, its result 2x; results land in order by index.
 *
 *	cpool COUNT WORKERS INFLIGHT
 *
 * prints "NANOSECONDS CHECKSUM", the time from the first task sent to the
 * last result read, and the sum of i * result[i] (which a misplaced result
 * changes). Compiled by package bench with cc the first time a run needs it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXWORKERS 64
#define BATCH 256 /* tasks a worker reads at once, at most */

/* write all of buf, or die */
static void write_all(int fd, const void *buf, size_t n) {
	const char *p = buf;
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			perror("cpool: write");
			exit(1);
		}
		p += k;
		n -= (size_t)k;
	}
}

/* The worker: read tasks, answer each with 2x, until the pipe closes. */
static void worker(int in, int out) {
	int64_t buf[BATCH];
	size_t have = 0; /* bytes in buf, a task may arrive in pieces */
	for (;;) {
		ssize_t k = read(in, (char *)buf + have, sizeof buf - have);
		if (k == 0) {
			_exit(0);
		}
		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			_exit(1);
		}
		have += (size_t)k;
		size_t n = have / sizeof buf[0];
		for (size_t i = 0; i < n; i++) {
			buf[i] *= 2;
		}
		write_all(out, buf, n * sizeof buf[0]);
		have -= n * sizeof buf[0];
		memmove(buf, (char *)buf + n * sizeof buf[0], have); /* the start of the next task */
	}
}

struct w {
	pid_t pid;
	int tasks, results; /* the parent's ends */
	long *sent;         /* indices sent and not answered, a ring of INFLIGHT */
	long head, tail;
	size_t partial;     /* bytes of a result read so far */
	int64_t rbuf[BATCH];
};

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: cpool COUNT WORKERS INFLIGHT\n");
		return 2;
	}
	long count = atol(argv[1]), nw = atol(argv[2]), inflight = atol(argv[3]);
	if (count < 1 || nw < 1 || nw > MAXWORKERS || inflight < 1 || inflight > BATCH) {
		fprintf(stderr, "cpool: bad arguments\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct w ws[MAXWORKERS];
	for (long i = 0; i < nw; i++) {
		int t[2], r[2];
		if (pipe(t) != 0 || pipe(r) != 0) {
			perror("cpool: pipe");
			return 1;
		}
		pid_t pid = fork();
		if (pid < 0) {
			perror("cpool: fork");
			return 1;
		}
		if (pid == 0) {
			for (long j = 0; j < i; j++) { /* the other workers' ends */
				close(ws[j].tasks);
				close(ws[j].results);
			}
			close(t[1]);
			close(r[0]);
			worker(t[0], r[1]);
		}
		close(t[0]);
		close(r[1]);
		ws[i] = (struct w){.pid = pid, .tasks = t[1], .results = r[0], .sent = calloc((size_t)inflight, sizeof(long))};
	}
	int64_t *out = calloc((size_t)count, sizeof *out);
	struct pollfd pfd[MAXWORKERS];
	long next = 0, done = 0;
	int64_t t0 = now_ns();
	while (done < count) {
		/* top every worker up to INFLIGHT tasks, in one write each */
		for (long i = 0; i < nw && next < count; i++) {
			int64_t batch[BATCH];
			int n = 0;
			while (ws[i].tail - ws[i].head < inflight && next < count) {
				ws[i].sent[ws[i].tail++ % inflight] = next;
				batch[n++] = next++;
			}
			if (n > 0) {
				write_all(ws[i].tasks, batch, (size_t)n * sizeof batch[0]);
			}
		}
		for (long i = 0; i < nw; i++) {
			pfd[i] = (struct pollfd){.fd = ws[i].results, .events = POLLIN};
		}
		if (poll(pfd, (nfds_t)nw, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			perror("cpool: poll");
			return 1;
		}
		for (long i = 0; i < nw; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP))) {
				continue;
			}
			struct w *x = &ws[i];
			ssize_t k = read(x->results, (char *)x->rbuf + x->partial, sizeof x->rbuf - x->partial);
			if (k <= 0) {
				fprintf(stderr, "cpool: worker %d: %s\n", (int)x->pid, k == 0 ? "exited" : "read failed");
				return 1;
			}
			x->partial += (size_t)k;
			size_t n = x->partial / sizeof(int64_t);
			for (size_t j = 0; j < n; j++) {
				out[x->sent[x->head++ % inflight]] = x->rbuf[j];
			}
			done += (long)n;
			x->partial -= n * sizeof(int64_t);
			memmove(x->rbuf, (char *)x->rbuf + n * sizeof(int64_t), x->partial);
		}
	}
	int64_t t1 = now_ns();
	for (long i = 0; i < nw; i++) {
		close(ws[i].tasks); /* the worker reads end of file and leaves */
		close(ws[i].results);
		free(ws[i].sent);
	}
	for (long i = 0; i < nw; i++) {
		waitpid(ws[i].pid, NULL, 0);
	}
	long long check = 0;
	for (long i = 0; i < count; i++) {
		check += (long long)i * out[i];
	}
	printf("%lld %lld\n", (long long)(t1 - t0), check);
	free(out);
	return 0;
}
