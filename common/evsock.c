/*
 * A buffered socket in an event loop (evsock.h): an input and an output
 * evbuffer; reading while the owner wants it, EVSOCK_READ bytes at a
 * time into space reserved in the input; writing whenever the output
 * holds bytes (a callback on the output adds the write event, as a
 * bufferevent does).  The socket is non-blocking and the evsock's to
 * close.
 */
#include "config.h"

#include <sys/uio.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "evsock.h"

struct evsock {
	int			 fd;
	struct event		*rev, *wev;
	struct evbuffer		*in, *out;
	const struct evsock_cbs *cbs;
	void			*arg;
	size_t			 low;
	size_t			 rsize; /* the next read's room */
	int			 reading;
};

static void
evsock_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct evsock	      *s = arg;
	struct evbuffer_iovec  v[2];
	struct iovec	       io[2];
	ssize_t		       n;
	size_t		       left;
	int		       nv, i;

	(void)ev;
	nv = evbuffer_reserve_space(s->in, (ev_ssize_t)s->rsize, v, 2);
	if (nv <= 0) {
		if (s->cbs != NULL)
			s->cbs->event(s->arg, EVSOCK_ERROR);
		return;
	}
	for (i = 0; i < nv; i++) {
		io[i].iov_base = v[i].iov_base;
		io[i].iov_len = v[i].iov_len;
	}
	if ((n = readv(fd, io, nv)) <= 0) {
		evbuffer_commit_space(s->in, v, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		event_del(s->rev);
		s->reading = 0;
		if (s->cbs != NULL)
			s->cbs->event(s->arg,
			    n == 0 ? EVSOCK_EOF : EVSOCK_ERROR);
		return;
	}
	/* Filled: read more at once next time; mostly empty: less. */
	if ((size_t)n >= s->rsize && s->rsize < EVSOCK_READ)
		s->rsize = s->rsize * 2 + 256 > EVSOCK_READ ? EVSOCK_READ
							  : s->rsize * 2 + 256;
	else if ((size_t)n < s->rsize / 4 && s->rsize > EVSOCK_READ_MIN)
		s->rsize = (s->rsize - 256) / 2;
	for (i = 0, left = (size_t)n; i < nv; i++) {
		v[i].iov_len = left < v[i].iov_len ? left : v[i].iov_len;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(s->in, v, nv);
	if (s->cbs != NULL)
		s->cbs->read(s->arg);
}

static void
evsock_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct evsock *s = arg;
	size_t	       left;

	(void)ev;
	if (evbuffer_write(s->out, fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		if (s->cbs != NULL)
			s->cbs->event(s->arg, EVSOCK_ERROR);
		return;
	}
	if ((left = evbuffer_get_length(s->out)) > 0)
		event_add(s->wev, NULL);
	if (left <= s->low && s->cbs != NULL)
		s->cbs->write(s->arg);
}

/* Bytes were queued: write them when the socket takes them. */
static void
evsock_queued_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct evsock *s = arg;

	(void)buf;
	if (info->n_added > 0 && !event_pending(s->wev, EV_WRITE, NULL))
		event_add(s->wev, NULL);
}

/* fd, connected and non-blocking, buffered; NULL (fd open) when out of
 * memory.  Reading starts off. */
struct evsock *
evsock_new(struct event_base *base, int fd, const struct evsock_cbs *cbs,
    void *arg)
{
	struct evsock *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->fd = fd;
	s->cbs = cbs;
	s->arg = arg;
	s->rsize = EVSOCK_READ_MIN;
	if ((s->in = evbuffer_new()) == NULL ||
	    (s->out = evbuffer_new()) == NULL ||
	    (s->rev = event_new(base, fd, EV_READ | EV_PERSIST, evsock_read_cb,
		 s)) == NULL ||
	    (s->wev = event_new(base, fd, EV_WRITE, evsock_write_cb, s)) ==
		NULL ||
	    evbuffer_add_cb(s->out, evsock_queued_cb, s) == NULL) {
		s->fd = -1;
		evsock_free(s);
		return NULL;
	}
	return s;
}

/*
 * The socket out of bev, which is freed (the socket stays open): what
 * bev read is added to in, what it had yet to write to out.
 */
int
evsock_unwrap(struct bufferevent *bev, struct evbuffer *in,
    struct evbuffer *out)
{
	int fd = bufferevent_getfd(bev);

	evbuffer_add_buffer(in, bufferevent_get_input(bev));
	/* Only the bufferevent drains its output; now we do. */
	evbuffer_unfreeze(bufferevent_get_output(bev), 1);
	evbuffer_add_buffer(out, bufferevent_get_output(bev));
	bufferevent_setfd(bev, -1); /* freed without closing the socket */
	bufferevent_free(bev);
	return fd;
}

/* bev's socket, with what bev read and has yet to write; bev is freed
 * either way, and on failure (NULL) its socket closed. */
struct evsock *
evsock_take(struct event_base *base, struct bufferevent *bev,
    const struct evsock_cbs *cbs, void *arg)
{
	struct evsock *s = evsock_new(base, bufferevent_getfd(bev), cbs, arg);

	if (s == NULL) {
		bufferevent_free(bev); /* it closes the socket */
		return NULL;
	}
	evsock_unwrap(bev, s->in, s->out);
	return s;
}

/* Who hears of s from now (NULL: no one yet). */
void
evsock_setcb(struct evsock *s, const struct evsock_cbs *cbs, void *arg)
{
	s->cbs = cbs;
	s->arg = arg;
}

void
evsock_free(struct evsock *s)
{
	if (s->rev != NULL)
		event_free(s->rev);
	if (s->wev != NULL)
		event_free(s->wev);
	if (s->in != NULL)
		evbuffer_free(s->in);
	if (s->out != NULL)
		evbuffer_free(s->out);
	if (s->fd != -1)
		close(s->fd);
	free(s);
}

struct evbuffer *
evsock_input(struct evsock *s)
{
	return s->in;
}

struct evbuffer *
evsock_output(struct evsock *s)
{
	return s->out;
}

int
evsock_fd(const struct evsock *s)
{
	return s->fd;
}

/*
 * Write what is queued now, not in the next round of the loop: a
 * message relayed on costs no wait for the write event.  What the
 * socket does not take (or an error) is left to the write event.
 */
void
evsock_flush(struct evsock *s)
{
	if (evbuffer_get_length(s->out) == 0 ||
	    evbuffer_write(s->out, s->fd) <= 0)
		return;
	if (evbuffer_get_length(s->out) == 0)
		event_del(s->wev);
}

/* Read from the socket (on), or leave its bytes in the kernel. */
void
evsock_reading(struct evsock *s, int on)
{
	if (on == s->reading)
		return;
	s->reading = on;
	if (on)
		event_add(s->rev, NULL);
	else
		event_del(s->rev);
}

/* The write callback comes when a write leaves at most low bytes. */
void
evsock_low(struct evsock *s, size_t low)
{
	s->low = low;
}
