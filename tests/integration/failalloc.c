/*
 * A fault injector for the tests (LD_PRELOAD, never installed): while
 * the file named by $FAILALLOC_FILE exists, every allocation of the size
 * of a libevent event fails, so event_new and evtimer_new return NULL as
 * they would when memory runs out.  alloc.sh uses it to check that such
 * a failure refuses one connection and leaves the worker serving.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event_struct.h>

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);

static int
failalloc_now(size_t n)
{
	const char *f;

	if (n != sizeof(struct event))
		return 0;
	f = getenv("FAILALLOC_FILE");
	return f != NULL && access(f, F_OK) == 0;
}

void *
malloc(size_t n)
{
	if (failalloc_now(n)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *
calloc(size_t k, size_t n)
{
	if (k == 1 && failalloc_now(n)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(k, n);
}
