// client.cpp - a C++ program that includes shmkit.h and links the C
// library compiled as C: it attaches to segment argv[1], reads float64
// value "x", takes mutex "mu", receives every message of channel "ch" until
// the end of stream, and prints what it saw.
#include "shmkit.h"

#include <cstdio>
#include <vector>

int main(int argc, char **argv) {
	if (argc != 2) {
		return 2;
	}
	shmkit_segment seg;
	shmkit_object x, mu;
	shmkit_chan ch;
	if (shmkit_attach(argv[1], 0, &seg) != 0 || shmkit_lookup(&seg, "x", SHMKIT_KIND_VALUE, 'd', &x) != 0 ||
	    shmkit_lookup(&seg, "mu", SHMKIT_KIND_MUTEX, 0, &mu) != 0 || shmkit_chan_open(&seg, "ch", 'd', &ch) != 0) {
		std::puts("open failed");
		return 1;
	}
	int lock = shmkit_mutex_lock(mu.data);
	double value = *static_cast<double *>(x.data);
	shmkit_mutex_unlock(mu.data);
	std::vector<double> buf(ch.max_len);
	double sum = 0;
	int messages = 0, rc;
	uint32_t n;
	while ((rc = shmkit_chan_recv(&ch, buf.data(), ch.max_len, &n, SHMKIT_FOREVER)) == 0) {
		for (uint32_t i = 0; i < n; i++) {
			sum += buf[i];
		}
		messages++;
	}
	std::printf("lock=%d x=%g messages=%d sum=%g end=%s\n", lock, value, messages, sum,
	            rc == SHMKIT_EEOF ? "eof" : shmkit_strerror(rc));
	shmkit_detach(&seg);
	return 0;
}
