/* Plants an allocation lock word in a segment and allocates after it.
 *
 *   lockword SEGMENT ID
 *
 * The word names thread or process ID (decimal, taken as 32 bits) in this
 * process's pid namespace, as a holder that died or a corrupt writer leaves
 * it. Prints "taken over" if the allocation then succeeds, else the error:
 * a holder judged alive is waited for, 30 s, then EBUSY. */
#include "shmkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: lockword SEGMENT ID\n");
		return 2;
	}
	struct shmkit_segment seg;
	int rc = shmkit_attach(argv[1], 0, &seg);
	if (rc != 0) {
		fprintf(stderr, "lockword: attach: %s\n", shmkit_strerror(rc));
		return 1;
	}
	struct stat st;
	uint32_t ns = stat("/proc/self/ns/pid", &st) == 0 ? (uint32_t)st.st_ino : 0;
	uint32_t id = (uint32_t)strtoul(argv[2], NULL, 10);
	struct shmkit_header *h = (struct shmkit_header *)seg.base;
	__atomic_store_n(&h->alloc_lock, (uint64_t)ns << 32 | id, __ATOMIC_SEQ_CST);
	struct shmkit_object o;
	rc = shmkit_new_semaphore(&seg, argv[2], 0, 0, &o);
	if (rc == 0) {
		printf("taken over\n");
	} else {
		printf("%s\n", shmkit_strerror(rc));
	}
	shmkit_detach(&seg);
	return 0;
}
