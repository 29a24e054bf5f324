/*
 * Joining two sockets in an event loop (natserver's relay, natclient's
 * agent): splice(2) through a pipe per direction, so the bytes never
 * enter user space.  A pipe holds at most its capacity
 * (64 KiB, 1 MiB once a direction proves busy: common/pipegrow.c), which
 * bounds what one connection can have in flight: while
 * a direction's pipe has data, its source is not read (backpressure).
 * End of input on one side becomes shutdown(SHUT_WR) on the other once
 * the pipe is empty (half-close); the pair is freed when both directions
 * ended, on an error, or after the idle time without traffic.  Bytes
 * the caller read before the join go first (fdsplice_pre), at once
 * where the sink takes them.  Pipes come from, and empty ones go back
 * to, pipegrow.c's spares.
 *
 * A caller that must see what a sends before it goes (the relay's HTTP
 * virtual hosts route each request) says, through ops->allow, how much
 * of a's input may be taken; it may hold the rest in a's socket, end
 * the direction there, and keep a's socket when the pair ends
 * (fdsplice_keep), to join it to another b.
 *
 * When a or b is the plain end of a TLS pump in this process
 * (common/tlsloop.c) and the caller need not see a's bytes, the pump
 * takes the other socket itself and the pair only counts, times out
 * and ends it: no pipe, no socketpair hop.
 *
 * Where splice is off (relay.splice = no), no pipe can be had, or the
 * kernel refuses to splice a socket, a direction copies through a
 * buffer of the same size instead, with the same rules; the buffer is
 * held only while it has data.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdsplice.h"
#include "pipegrow.h"
#include "tlsloop.h"

#define COPY_CHUNK    (64 * 1024) /* a copying direction's buffer */
#define SPLICE_ROUNDS 16
/* A read that brought less than this most likely emptied the source:
 * the next one would only say EAGAIN (a system call per message, per
 * hop, on a ping-pong or request-answer stream), so wait for the
 * source instead; the read event is level-triggered, so nothing that
 * is there is missed. */
#define SPLICE_SHORT 4096

struct splice_dir {
	int	      from, to;
	int	      pipe[2]; /* -1: copying through buf */
	char	     *buf;
	size_t	      off, pending; /* in the pipe or buf */
	char	     *pre; /* read before the join: first out */
	size_t	      pre_off, pre_len;
	size_t	      moved;	    /* until the pipe grows (pipegrow.c) */
	int	      eof, done;
	struct event *rd, *wr;
};

struct fdsplice {
	const struct fdsplice_ops *ops;
	void			  *arg;
	struct splice_dir	   d[2];
	struct event		  *idle;
	int			   fds[2];
	int			   keep; /* a outlives the pair, not shut down */
	int			   pumped; /* a TLS pump took a and b: */
	struct tlsloop		  *tls;	   /* it, until it ends */
	int			   tls_side; /* 0: a was its plain end; 1: b */
};

static void
splice_unpipe(struct splice_dir *d)
{
	if (d->pipe[0] != -1) {
		close(d->pipe[0]);
		close(d->pipe[1]);
	}
	d->pipe[0] = d->pipe[1] = -1;
}

/*
 * The kernel cannot splice these sockets: copy from now on, taking over
 * what the pipe holds.  0, or -1 when that cannot be done.
 */
static int
splice_to_copy(struct fdsplice *p, struct splice_dir *d)
{
	ssize_t n = 0;

	if (d->pending > 0) {
		d->buf =
		    malloc(d->pending > COPY_CHUNK ? d->pending : COPY_CHUNK);
		if (d->buf == NULL)
			return -1;
		n = read(d->pipe[0], d->buf, d->pending);
		if (n != (ssize_t)d->pending)
			return -1;
	}
	d->off = 0;
	splice_unpipe(d);
	if (p->ops->copied != NULL)
		p->ops->copied(p->arg);
	return 0;
}

/* What the pair holds, all of it or what it got before memory ran out. */
static void
splice_release(struct fdsplice *p)
{
	int i;

	if (p->pumped) {
		if (p->tls != NULL)
			tlsloop_end(p->tls); /* it holds a and b */
		event_free(p->idle);
		free(p);
		return;
	}
	for (i = 0; i < 2; i++) {
		if (p->d[i].rd != NULL)
			event_free(p->d[i].rd);
		if (p->d[i].wr != NULL)
			event_free(p->d[i].wr);
		pipe_put(p->d[i].pipe, p->d[i].moved, p->d[i].pending);
		free(p->d[i].buf);
		free(p->d[i].pre);
		if (i != 0 || !p->keep)
			close(p->fds[i]);
	}
	event_free(p->idle);
	free(p);
}

/* The end: both directions done, an error, idleness, or the caller. */
void
fdsplice_close(struct fdsplice *p)
{
	void (*closed)(void *) = p->ops->closed;
	void *arg = p->arg;

	splice_release(p);
	if (closed != NULL)
		closed(arg);
}

static void
splice_touch(struct fdsplice *p)
{
	struct timeval tv = {p->ops->idle_s, 0};

	if (p->ops->idle_s > 0)
		evtimer_add(p->idle, &tv);
}

/* The source is drained for now: wait for it, or for room at the sink. */
static int
splice_wait(struct splice_dir *d, int for_room)
{
	if (for_room) {
		event_add(d->wr, NULL);
		event_del(d->rd); /* backpressure */
	} else
		event_add(d->rd, NULL);
	return 0;
}

/* Both directions, spliced or copied: the pipe's or buffer's data out. */
static ssize_t
splice_out(struct splice_dir *d)
{
	if (d->pipe[0] != -1)
		return splice(d->pipe[0], NULL, d->to, NULL, d->pending,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	return send(d->to, d->buf + d->off, d->pending,
	    MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* At most max bytes in. */
static ssize_t
splice_in(struct splice_dir *d, size_t max)
{
	if (d->pipe[0] != -1)
		return splice(d->from, NULL, d->pipe[1], NULL,
		    max < PIPE_CHUNK ? max : PIPE_CHUNK,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (d->buf == NULL && (d->buf = malloc(COPY_CHUNK)) == NULL)
		return -1;
	d->off = 0;
	return recv(d->from, d->buf, max < COPY_CHUNK ? max : COPY_CHUNK,
	    MSG_DONTWAIT);
}

/* EINVAL from splice: this pair of descriptors cannot be spliced. */
static int
splice_refused(struct splice_dir *d, ssize_t n)
{
	return n == -1 && errno == EINVAL && d->pipe[0] != -1;
}

/* Bytes taken in: direction 0 is a to b. */
static void
splice_counted(struct fdsplice *p, struct splice_dir *d, size_t n)
{
	if (p->ops->moved != NULL)
		p->ops->moved(p->arg, d == &p->d[0] ? 0 : 1, n);
}

/* What was read before the join goes out first: 1 when it is all out. */
static int
splice_pre_out(struct splice_dir *d)
{
	while (d->pre_len > 0) {
		ssize_t n = send(d->to, d->pre + d->pre_off, d->pre_len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			return n == -1 && errno == EAGAIN ? 0 : -1;
		d->pre_off += (size_t)n;
		d->pre_len -= (size_t)n;
	}
	free(d->pre);
	d->pre = NULL;
	return 1;
}

/*
 * Move what can be moved in one direction: 0, or -1 on error.  At most
 * SPLICE_ROUNDS chunks a call, so that one busy pair cannot starve the
 * others (the read event is level-triggered and calls again).
 */
static int
splice_move(struct fdsplice *p, struct splice_dir *d)
{
	ssize_t n, max;
	int	round, drained = 0;

	if (d->pre != NULL && (round = splice_pre_out(d)) != 1)
		return round == 0 ? splice_wait(d, 1) : -1;
	for (round = 0; round < SPLICE_ROUNDS; round++) {
		while (d->pending > 0) {
			n = splice_out(d);
			if (splice_refused(d, n) && splice_to_copy(p, d) == 0)
				continue;
			if (n == -1 && errno == EAGAIN)
				return splice_wait(d, 1);
			if (n <= 0)
				return -1;
			d->pending -= (size_t)n;
			d->off += (size_t)n;
		}
		event_del(d->wr);
		if (drained && !d->eof)
			break;
		max = d == &p->d[0] && p->ops->allow != NULL && !d->eof
		    ? p->ops->allow(p->arg, d->from)
		    : FDSPLICE_ALL;
		if (max == FDSPLICE_END)
			d->eof = 1;
		if (d->eof) {
			if (d->to != p->fds[0] || !p->keep)
				shutdown(d->to, SHUT_WR);
			event_del(d->rd);
			d->done = 1;
			return 0;
		}
		if (max == FDSPLICE_WAIT)
			break;
		if (max == FDSPLICE_HOLD) {
			event_del(d->rd); /* until fdsplice_resume */
			return 0;
		}
		n = splice_in(d, (size_t)max);
		if (splice_refused(d, n) && splice_to_copy(p, d) == 0)
			n = splice_in(d, (size_t)max);
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1)
			return -1;
		if (n == 0)
			d->eof = 1;
		d->pending = (size_t)n;
		drained = n > 0 && n < SPLICE_SHORT;
		splice_counted(p, d, (size_t)n);
		if (d->pipe[1] != -1)
			pipe_note(d->pipe[1], &d->moved, (size_t)n);
		splice_touch(p);
	}
	/* Out of rounds with data in hand: go on when the sink is ready. */
	if (d->pending > 0)
		return splice_wait(d, 1);
	/* An idle copying direction holds no buffer. */
	free(d->buf);
	d->buf = NULL;
	return splice_wait(d, 0);
}

static void
splice_dir_cb(struct fdsplice *p, int i)
{
	if (splice_move(p, &p->d[i]) == -1 || (p->d[0].done && p->d[1].done))
		fdsplice_close(p);
}

static void
splice_cb0(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	splice_dir_cb(arg, 0);
}

static void
splice_cb1(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	splice_dir_cb(arg, 1);
}

static void
splice_idle_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	fdsplice_close(arg);
}

/* Direction 0 was held (FDSPLICE_HOLD): ask ops->allow again.  The
 * pair may end in this call. */
void
fdsplice_resume(struct fdsplice *p)
{
	if (p->pumped)
		return; /* nothing is held */
	event_add(p->d[0].rd, NULL);
	splice_dir_cb(p, 0);
}

/*
 * a's socket outlives the pair: it is neither shut down nor closed, and
 * is the caller's when ops->closed is called.  -1 when it cannot be
 * (b's end of input was already passed on to a).
 */
int
fdsplice_keep(struct fdsplice *p)
{
	if (p->d[1].done || p->pumped)
		return -1;
	p->keep = 1;
	return 0;
}

/* A pump's join: what it read (to_app: from its TLS side) is counted. */
static void
splice_tls_moved(void *arg, int to_app, size_t n)
{
	struct fdsplice *p = arg;

	if (p->ops->moved != NULL)
		p->ops->moved(p->arg, to_app ? p->tls_side : !p->tls_side, n);
	splice_touch(p);
}

static void
splice_tls_ended(void *arg)
{
	struct fdsplice *p = arg;

	p->tls = NULL; /* gone already */
	fdsplice_close(p);
}

static const struct tlsloop_hooks splice_tls_hooks = {
    splice_tls_moved, splice_tls_ended};

/*
 * a or b is a pump's plain end: the pump takes the other.  1 when it
 * did, 0 when neither is, -1 when it failed (a and b closed, p freed).
 */
static int
splice_tls_join(struct fdsplice *p, int a, int b)
{
	int i, rv;

	if (p->ops->allow != NULL)
		return 0; /* the caller reads a's bytes itself */
	for (i = 0; i < 2; i++) {
		p->tls_side = i;
		rv = tlsloop_adopt(i == 0 ? a : b, i == 0 ? b : a,
		    &splice_tls_hooks, p, &p->tls);
		if (rv != 0)
			break;
	}
	if (rv == -1) {
		event_free(p->idle);
		free(p);
	}
	if (rv != 1)
		return rv;
	p->pumped = 1;
	splice_touch(p);
	return 1;
}

/*
 * Join a and b, which the pair then owns, as ops say (arg for its
 * calls); ops->closed(arg) is called when it ends.  NULL (a and b
 * closed) when out of memory.
 */
struct fdsplice *
fdsplice_join(const struct fdsplice_ops *ops, void *arg, int a, int b)
{
	struct fdsplice *p = calloc(1, sizeof(*p));
	void (
	    *cb[2])(evutil_socket_t, short, void *) = {splice_cb0, splice_cb1};
	int i;

	if (p != NULL) /* both kinds of pair time out */
		p->idle = evtimer_new(ops->base, splice_idle_cb, p);
	if (p == NULL || p->idle == NULL) {
		free(p);
		close(a);
		close(b);
		return NULL;
	}
	p->ops = ops;
	p->arg = arg;
	switch (splice_tls_join(p, a, b)) {
	case 1:
		return p;
	case -1:
		return NULL;
	}
	p->fds[0] = a;
	p->fds[1] = b;
	p->d[0].from = p->d[1].to = a;
	p->d[0].to = p->d[1].from = b;
	for (i = 0; i < 2; i++) {
		/* Without a pipe (splice off, or none to be had): copy. */
		if (!ops->splice || pipe_get(p->d[i].pipe) == -1) {
			p->d[i].pipe[0] = p->d[i].pipe[1] = -1;
			if (ops->copied != NULL)
				ops->copied(arg);
		}
		p->d[i].rd = event_new(ops->base, p->d[i].from,
		    EV_READ | EV_PERSIST, cb[i], p);
		p->d[i].wr = event_new(ops->base, p->d[i].to,
		    EV_WRITE | EV_PERSIST, cb[i], p);
	}
	if (p->d[0].rd == NULL || p->d[0].wr == NULL || p->d[1].rd == NULL ||
	    p->d[1].wr == NULL) {
		splice_release(p);
		return NULL;
	}
	for (i = 0; i < 2; i++)
		event_add(p->d[i].rd, NULL);
	splice_touch(p);
	return p;
}

/*
 * Bytes the caller read before the join, to go out first in direction
 * dir (0: to b), not counted as moved; called right after
 * fdsplice_join.  0, or -1 when there is no memory for them (the pair
 * is then closed).
 */
int
fdsplice_pre(struct fdsplice *p, int dir, const void *b, size_t n)
{
	struct splice_dir *d = &p->d[dir];

	if (n == 0)
		return 0;
	if (p->pumped) {
		/* To the pump's other socket, or to its TLS side. */
		if (tlsloop_pre(p->tls, dir == p->tls_side, b, n) == -1) {
			fdsplice_close(p);
			return -1;
		}
		return 0;
	}
	if ((d->pre = malloc(n)) == NULL) {
		fdsplice_close(p);
		return -1;
	}
	memcpy(d->pre, b, n);
	d->pre_off = 0;
	d->pre_len = n;
	/* Out now if the sink takes it (a fresh connection's empty buffer
	 * does), else as soon as it does; an error shows there too. */
	if (splice_pre_out(d) != 1)
		event_add(d->wr, NULL);
	return 0;
}
