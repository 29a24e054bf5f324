/*
 * A spliced stream moves through a pipe per direction, and each splice
 * call moves at most what the pipe holds: with the default 64 KiB, a
 * busy stream costs a system call or two per 64 KiB.  A direction that
 * has carried PIPE_GROW_AFTER bytes is a bulk transfer, and its pipe
 * grows to PIPE_CHUNK, which cut the calls per byte and raised the
 * relay's throughput by about a fifth (tests/bench/RESULTS.md).  Pipes
 * start small so that idle connections cost little: the kernel holds
 * pages only for data in flight, but a user's pipes count their full
 * size against fs.pipe-user-pages-soft, beyond which new pipes get two
 * pages.  Growing can fail (fs.pipe-user-pages-hard); the pipe then
 * stays as it is, which is only slower.
 */
#include "config.h"

#include <fcntl.h>

#include "pipegrow.h"

#define PIPE_GROW_AFTER (4 * 1024 * 1024)

/*
 * n more bytes went through the pipe whose write end is fd; *moved
 * counts them, up to the point where the pipe grows.
 */
void
pipe_note(int fd, size_t *moved, size_t n)
{
	if (*moved >= PIPE_GROW_AFTER)
		return;
	*moved += n;
	if (*moved >= PIPE_GROW_AFTER)
		(void)fcntl(fd, F_SETPIPE_SZ, PIPE_CHUNK);
}
