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
 *
 * A relay or agent under a load of short connections makes and closes
 * two pipes a visitor (three system calls each way, measured at about
 * a tenth of the calls a visitor costs): an empty pipe that never grew
 * is kept for the next pair instead, up to PIPE_SPARE_MAX (twice as
 * many descriptors).  A forked child drops the spares it inherited, so
 * that no pipe is ever shared by two processes.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "pipegrow.h"

#define PIPE_GROW_AFTER (4 * 1024 * 1024)

static int pipe_spares[PIPE_SPARE_MAX][2];
static int pipe_nspare;
static int pipe_atfork_set;

static void
pipe_spares_drop(void)
{
	while (pipe_nspare > 0) {
		pipe_nspare--;
		close(pipe_spares[pipe_nspare][0]);
		close(pipe_spares[pipe_nspare][1]);
	}
}

/* A non-blocking pipe for splice, a spare one if there is: 0, or -1. */
int
pipe_get(int p[2])
{
	if (pipe_nspare == 0)
		return pipe2(p, O_NONBLOCK | O_CLOEXEC);
	pipe_nspare--;
	p[0] = pipe_spares[pipe_nspare][0];
	p[1] = pipe_spares[pipe_nspare][1];
	return 0;
}

/*
 * Done with pipe p (none when p[0] is -1), which holds pending bytes
 * and has carried moved (pipe_note's count): kept as a spare when it
 * is empty and still small, else closed.  p becomes -1, -1.
 */
void
pipe_put(int p[2], size_t moved, size_t pending)
{
	if (p[0] == -1)
		return;
	if (!pipe_atfork_set)
		pipe_atfork_set =
		    pthread_atfork(NULL, NULL, pipe_spares_drop) == 0;
	if (pending == 0 && moved < PIPE_GROW_AFTER &&
	    pipe_nspare < PIPE_SPARE_MAX && pipe_atfork_set) {
		pipe_spares[pipe_nspare][0] = p[0];
		pipe_spares[pipe_nspare][1] = p[1];
		pipe_nspare++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

/* How many spares are kept (for the tests). */
int
pipe_spare_count(void)
{
	return pipe_nspare;
}

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
