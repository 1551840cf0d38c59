/* Creates a segment and reports how /proc/self/maps names its mapping:
 * "named 1 deleted 0" when the creator maps it by its name. */
#include "shmkit.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
	struct shmkit_segment seg;
	char name[64]; snprintf(name, sizeof name, "maps-c-%d", getpid());
	if (shmkit_create(name, 1 << 16, 0, 0, &seg) != 0) return 1;
	FILE *f = fopen("/proc/self/maps", "r"); char line[512]; int named = 0, deleted = 0;
	while (fgets(line, sizeof line, f)) { if (strstr(line, name)) named++; if (strstr(line, "/dev/shm/#")) deleted++; }
	printf("named %d deleted %d\n", named, deleted);
	shmkit_detach(&seg); shmkit_unlink(name); return 0;
}
