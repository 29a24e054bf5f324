/*
 * Joining two byte streams in both directions at once, never blocking:
 * a visitor and the local service (expose), stdin/stdout and a TCP path
 * (connect and listen over --tcp or the relay).
 *
 * Each direction has its own pipe (splice(2): the bytes stay in the
 * kernel) or buffer, and every descriptor is non-blocking while the two
 * are joined, so a full direction waits in poll() and never stops the
 * other: both sending at once cannot deadlock, as it did when a blocked
 * write held the loop.  While a direction holds data its source is not
 * read (backpressure).  End of input on one side becomes a half-close
 * on the other once the direction is empty.
 *
 * A direction whose descriptors the kernel will not splice (EINVAL: a
 * terminal, some files) copies through a buffer from then on, taking
 * over what was in its pipe.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "natclient.h"
#include "pipegrow.h"

#define JOIN_COPY 65536 /* a copying direction's buffer */

struct join_dir {
	int    from, to;
	int    pipe[2]; /* -1: copying through buf */
	char   buf[JOIN_COPY];
	size_t off, pending; /* in the pipe, or buf[off..] */
	size_t moved;	     /* until the pipe grows (pipegrow.c) */
	int    eof, done;
	void (*end)(int); /* passes the end of input on */
};

static void
join_shut(int fd)
{
	shutdown(fd, SHUT_WR);
}

/* End what we send on fd: shut a socket's writing half, close the rest. */
static void
join_end_output(int fd)
{
	if (shutdown(fd, SHUT_WR) == -1 && errno == ENOTSOCK)
		close(fd);
}

static void
join_unpipe(struct join_dir *d)
{
	if (d->pipe[0] != -1) {
		close(d->pipe[0]);
		close(d->pipe[1]);
		d->pipe[0] = d->pipe[1] = -1;
	}
}

/* Copy from now on, with what the pipe held in buf; 0, or -1. */
static int
join_to_copy(struct join_dir *d)
{
	size_t	got = 0;
	ssize_t n;

	while (got < d->pending) {
		n = read(d->pipe[0], d->buf + got, d->pending - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	d->off = 0;
	join_unpipe(d);
	return 0;
}

/* Read from the source into the pipe or buffer: bytes, 0 at end, -1. */
static ssize_t
join_fill(struct join_dir *d)
{
	ssize_t n;

	if (d->pipe[0] != -1) {
		n = splice(d->from, NULL, d->pipe[1], NULL, PIPE_CHUNK,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL) {
			join_unpipe(d); /* empty: nothing to take over */
			return join_fill(d);
		}
		if (n > 0)
			pipe_note(d->pipe[1], &d->moved, (size_t)n);
		return n;
	}
	d->off = 0;
	return read(d->from, d->buf, sizeof(d->buf));
}

/* Write what the direction holds: bytes, or -1 (EAGAIN: no room now). */
static ssize_t
join_drain(struct join_dir *d)
{
	ssize_t n;

	if (d->pipe[0] != -1) {
		n = splice(d->pipe[0], NULL, d->to, NULL, d->pending,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL) {
			if (join_to_copy(d) == -1)
				return -1;
			return join_drain(d);
		}
		return n;
	}
	n = write(d->to, d->buf + d->off, d->pending);
	if (n > 0)
		d->off += (size_t)n;
	return n;
}

/* Move what can be moved now: 0, or -1 on an error. */
static int
join_move(struct join_dir *d)
{
	ssize_t n;

	if (d->pending == 0 && !d->eof) {
		n = join_fill(d);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n < 0)
			return -1;
		if (n == 0)
			d->eof = 1;
		d->pending = (size_t)n;
	}
	while (d->pending > 0) {
		n = join_drain(d);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1;
		d->pending -= (size_t)n;
	}
	if (d->eof && !d->done) {
		d->done = 1;
		d->end(d->to);
	}
	return 0;
}

static void
join_nonblock(const int *fd, int *saved, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		saved[i] = fcntl(fd[i], F_GETFL);
		if (saved[i] != -1)
			fcntl(fd[i], F_SETFL, saved[i] | O_NONBLOCK);
	}
}

/* As they were: stdin and stdout may be shared with a shell. */
static void
join_restore(const int *fd, const int *saved, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--)
		if (saved[i] != -1)
			fcntl(fd[i], F_SETFL, saved[i]);
}

/*
 * Join in -> sock and sock -> out (in and out may be one socket) until
 * both directions reach their end; splice where use_splice allows and
 * the kernel agrees.  0, or -1 on an error.
 */
int
client_join(int in, int out, int sock, int use_splice)
{
	struct join_dir *d = calloc(2, sizeof(*d));
	struct pollfd	 pfd[2];
	int		 fds[3] = {in, out, sock}, saved[3], i, rv = -1;

	if (d == NULL)
		return -1;
	d[0].from = in;
	d[0].to = sock;
	d[0].end = join_shut;
	d[1].from = sock;
	d[1].to = out;
	d[1].end = join_end_output;
	for (i = 0; i < 2; i++)
		if (!use_splice || pipe2(d[i].pipe, O_NONBLOCK | O_CLOEXEC) ==
			-1)
			d[i].pipe[0] = d[i].pipe[1] = -1;
	join_nonblock(fds, saved, 3);
	while (!(d[0].done && d[1].done)) {
		for (i = 0; i < 2; i++) {
			pfd[i].fd = d[i].done ? -1
			    : d[i].pending    ? d[i].to
					      : d[i].from;
			pfd[i].events = d[i].pending ? POLLOUT : POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			goto out;
		for (i = 0; i < 2; i++)
			if (pfd[i].revents != 0 && join_move(&d[i]) == -1)
				goto out;
	}
	rv = 0;
out:
	join_restore(fds, saved, 3);
	for (i = 0; i < 2; i++)
		join_unpipe(&d[i]);
	free(d);
	return rv;
}
