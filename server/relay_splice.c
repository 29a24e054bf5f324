/*
 * Joining two TCP sockets: splice(2) through a pipe per direction, so
 * the bytes never enter user space.  A pipe holds at most its capacity
 * (64 KiB, 1 MiB once a direction proves busy: common/pipegrow.c), which
 * bounds what one connection can have in flight: while
 * a direction's pipe has data, its source is not read (backpressure).
 * End of input on one side becomes shutdown(SHUT_WR) on the other once
 * the pipe is empty (half-close); the pair is freed when both directions
 * ended, on an error, or after idle_timeout without traffic.
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
#include <unistd.h>

#include "log.h"
#include "pipegrow.h"
#include "relay.h"

#define COPY_CHUNK    (64 * 1024) /* a copying direction's buffer */
#define SPLICE_ROUNDS 16

struct splice_dir {
	int	      from, to;
	int	      pipe[2]; /* -1: copying through buf */
	char	     *buf;
	size_t	      off, pending; /* in the pipe or buf */
	size_t	      moved;	    /* until the pipe grows (pipegrow.c) */
	int	      eof, done;
	struct event *rd, *wr;
};

struct splice_pair {
	struct worker	 *w;
	struct splice_dir d[2];
	struct event	 *idle;
	int		  fds[2];
	uint64_t	 *bytes; /* the exposure's counters, or NULL */
	void (*closed)(void *);
	void *arg;
};

static int splice_live;

int
splice_count(void)
{
	return splice_live;
}

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
splice_to_copy(struct splice_pair *p, struct splice_dir *d)
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
	proc_count(p->w, STAT_COPIED);
	return 0;
}

/* What the pair holds, all of it or what it got before memory ran out. */
static void
splice_release(struct splice_pair *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (p->d[i].rd != NULL)
			event_free(p->d[i].rd);
		if (p->d[i].wr != NULL)
			event_free(p->d[i].wr);
		splice_unpipe(&p->d[i]);
		free(p->d[i].buf);
		close(p->fds[i]);
	}
	if (p->idle != NULL)
		event_free(p->idle);
	free(p);
}

static void
splice_free(struct splice_pair *p)
{
	struct worker *w = p->w;

	if (p->closed != NULL)
		p->closed(p->arg);
	splice_release(p);
	w->slot->gauge[GAUGE_STREAMS] = --splice_live;
}

static void
splice_touch(struct splice_pair *p)
{
	struct timeval tv = {p->w->conf->relay_idle_timeout, 0};

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

static ssize_t
splice_in(struct splice_dir *d)
{
	if (d->pipe[0] != -1)
		return splice(d->from, NULL, d->pipe[1], NULL, PIPE_CHUNK,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (d->buf == NULL && (d->buf = malloc(COPY_CHUNK)) == NULL)
		return -1;
	d->off = 0;
	return recv(d->from, d->buf, COPY_CHUNK, MSG_DONTWAIT);
}

/* EINVAL from splice: this pair of descriptors cannot be spliced. */
static int
splice_refused(struct splice_dir *d, ssize_t n)
{
	return n == -1 && errno == EINVAL && d->pipe[0] != -1;
}

/* Bytes taken in: a (the visitor) to b is in, b to a is out. */
static void
splice_counted(struct splice_pair *p, struct splice_dir *d, size_t n)
{
	int i = d == &p->d[0] ? 0 : 1;

	p->w->slot->counter[i == 0 ? STAT_BYTES_IN : STAT_BYTES_OUT] += n;
	if (p->bytes != NULL)
		p->bytes[i] += n;
}

/*
 * Move what can be moved in one direction: 0, or -1 on error.  At most
 * SPLICE_ROUNDS chunks a call, so that one busy pair cannot starve the
 * others (the read event is level-triggered and calls again).
 */
static int
splice_move(struct splice_pair *p, struct splice_dir *d)
{
	ssize_t n;
	int	round;

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
		if (d->eof) {
			shutdown(d->to, SHUT_WR);
			event_del(d->rd);
			d->done = 1;
			return 0;
		}
		n = splice_in(d);
		if (splice_refused(d, n) && splice_to_copy(p, d) == 0)
			n = splice_in(d);
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1)
			return -1;
		if (n == 0)
			d->eof = 1;
		d->pending = (size_t)n;
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
splice_dir_cb(struct splice_pair *p, int i)
{
	if (splice_move(p, &p->d[i]) == -1 || (p->d[0].done && p->d[1].done))
		splice_free(p);
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
	splice_free(arg);
}

/*
 * Join a and b, which the pair then owns; closed(arg) is called when it
 * ends, and bytes (two counters, or NULL) count what it moves.  -1 (a
 * and b closed) when out of memory.
 */
int
splice_join(struct worker *w, int a, int b, uint64_t *bytes,
    void (*closed)(void *), void *arg)
{
	struct splice_pair *p = calloc(1, sizeof(*p));
	void (
	    *cb[2])(evutil_socket_t, short, void *) = {splice_cb0, splice_cb1};
	int i;

	if (p == NULL) {
		close(a);
		close(b);
		proc_count(w, STAT_NOMEM);
		return -1;
	}
	p->w = w;
	p->fds[0] = a;
	p->fds[1] = b;
	p->bytes = bytes;
	p->closed = closed;
	p->arg = arg;
	p->d[0].from = p->d[1].to = a;
	p->d[0].to = p->d[1].from = b;
	for (i = 0; i < 2; i++) {
		/* Without a pipe (splice off, or none to be had): copy. */
		if (!w->conf->relay_splice ||
		    pipe2(p->d[i].pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
			p->d[i].pipe[0] = p->d[i].pipe[1] = -1;
			proc_count(w, STAT_COPIED);
		}
		p->d[i].rd = event_new(w->base, p->d[i].from,
		    EV_READ | EV_PERSIST, cb[i], p);
		p->d[i].wr = event_new(w->base, p->d[i].to,
		    EV_WRITE | EV_PERSIST, cb[i], p);
	}
	p->idle = evtimer_new(w->base, splice_idle_cb, p);
	if (p->d[0].rd == NULL || p->d[0].wr == NULL || p->d[1].rd == NULL ||
	    p->d[1].wr == NULL || p->idle == NULL) {
		/* Refused, not fatal: the worker serves everyone else. */
		splice_release(p);
		proc_count(w, STAT_NOMEM);
		return -1;
	}
	for (i = 0; i < 2; i++)
		event_add(p->d[i].rd, NULL);
	splice_touch(p);
	w->slot->gauge[GAUGE_STREAMS] = ++splice_live;
	return 0;
}
