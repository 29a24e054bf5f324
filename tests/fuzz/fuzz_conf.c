/*
 * libFuzzer: natserver.conf as the parser reads it (common/conf.c with
 * natserver's key table).  A refused file always says why.
 */
#define _GNU_SOURCE
#include "config.h"

#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "natserver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static int	   fd = -1;
	static char	   path[64];
	struct server_conf c;
	char		   err[CONF_ERR_MAX];

	if (fd == -1) {
		fd = memfd_create("fuzz.conf", 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) == -1 || pwrite(fd, d, n, 0) != (ssize_t)n)
		abort();
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	if (conf_load(server_conf_keys, &c, path, 1, err, sizeof(err)) == -1 &&
	    err[0] == '\0')
		abort();
	return 0;
}
