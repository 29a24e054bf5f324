/*
 * A TLS connection in an event loop, joined to one end of a socketpair
 * by a tlspump: whoever asked gets the other end, as though it were the
 * connection, and sees only plaintext.  natserver's workers put one in
 * front of each connection to a TLS door; natclient's agent behind each
 * connection it makes to the relay.  A shutdown of the plain end is a
 * close_notify, a close_notify an end of file on the plain end, so a
 * half-close crosses.  A TLS connection costs two descriptors more.
 *
 * When the caller joins its plain end to another socket in the same
 * process (common/fdsplice.c), the pump takes that socket instead
 * (tlsloop_adopt): the bytes in the socketpair move into the pump's
 * buffers, in order, the socketpair goes, and each byte crosses one
 * hop less.  Which pump a plain end is, is looked up by descriptor and
 * checked by inode: the number may have been closed and reused.
 *
 * A check hook, when given, runs once the handshake is done (a client
 * checks the server's certificate there) and may end the pump: the
 * plain end then reads an end of file, and the hook's owner knows why.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "tlsloop.h"
#include "tlspump.h"

struct tlsloop {
	struct tlspump	   p;
	struct event_base *base;
	struct event	  *net_ev, *app_ev;
	int		   app_peer; /* the end the caller holds, or -1 */
	dev_t		   peer_dev; /* and what it is, while it is */
	ino_t		   peer_ino;
	tlsloop_check_fn  *check;
	void		  *arg;
	const struct tlsloop_hooks *hooks; /* once adopted */
	void		  *hooks_arg;
	LIST_ENTRY(tlsloop) entry;
};

static LIST_HEAD(, tlsloop) tlsloops = LIST_HEAD_INITIALIZER(tlsloops);
static int tlsloop_n;
static struct tlsloop **by_peer; /* by the caller's descriptor */
static size_t		by_peer_n;

static void tlsloop_cb(evutil_socket_t, short, void *);

/* The caller's end no longer leads to f. */
static void
tlsloop_unindex(struct tlsloop *f)
{
	if (f->app_peer >= 0 && (size_t)f->app_peer < by_peer_n &&
	    by_peer[f->app_peer] == f)
		by_peer[f->app_peer] = NULL;
	f->app_peer = -1;
}

/* Find f by the caller's end from now on: 0, or -1 without memory. */
static int
tlsloop_index(struct tlsloop *f)
{
	struct stat st;
	size_t	    fd = (size_t)f->app_peer;

	if (fd >= by_peer_n) {
		size_t		 n = fd * 2 + 64;
		struct tlsloop **b = realloc(by_peer, n * sizeof(*b));

		if (b == NULL)
			return -1;
		while (by_peer_n < n)
			b[by_peer_n++] = NULL;
		by_peer = b;
	}
	if (fstat(f->app_peer, &st) == -1)
		return -1;
	f->peer_dev = st.st_dev;
	f->peer_ino = st.st_ino;
	by_peer[fd] = f; /* a newer pump on a reused number wins */
	return 0;
}

/* The pump whose plain end the caller holds as fd, or NULL. */
static struct tlsloop *
tlsloop_of(int fd)
{
	struct tlsloop *f;
	struct stat	st;

	if (fd < 0 || (size_t)fd >= by_peer_n || (f = by_peer[fd]) == NULL)
		return NULL;
	if (fstat(fd, &st) == -1 || st.st_dev != f->peer_dev ||
	    st.st_ino != f->peer_ino)
		return NULL;
	return f;
}

static void
tlsloop_free(struct tlsloop *f)
{
	tlsloop_unindex(f);
	LIST_REMOVE(f, entry);
	tlsloop_n--;
	event_free(f->net_ev);
	event_free(f->app_ev);
	SSL_free(f->p.ssl);
	tlspump_free(&f->p);
	close(f->p.net);
	close(f->p.app);
	free(f);
}

static short
tlsloop_events(short want)
{
	return (short)(((want & POLLIN) ? EV_READ : 0) |
	    ((want & POLLOUT) ? EV_WRITE : 0));
}

/*
 * Watch fd for what the pump wants.  The watch persists (it is added
 * whenever it watches anything) and is changed only when that changes:
 * deleting and adding it again after every run cost up to four
 * epoll_ctl calls a run, several per message.
 */
static void
tlsloop_watch(struct tlsloop *f, struct event *ev, int fd, short want)
{
	short e = tlsloop_events(want);

	if (e == (event_get_events(ev) & (EV_READ | EV_WRITE)))
		return;
	event_del(ev);
	event_assign(ev, f->base, fd, (short)(e | EV_PERSIST), tlsloop_cb, f);
	if (e != 0)
		event_add(ev, NULL);
}

/* What an adopted pump read since it last said, to its owner. */
static void
tlsloop_report(struct tlsloop *f)
{
	if (f->p.from_net > 0)
		f->hooks->moved(f->hooks_arg, 1, f->p.from_net);
	if (f->p.from_app > 0)
		f->hooks->moved(f->hooks_arg, 0, f->p.from_app);
	f->p.from_net = f->p.from_app = 0;
}

/* Run the pump; wait for what it asks, or let go when it ended. */
static void
tlsloop_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct tlsloop *f = arg;
	int		was = f->p.handshaken, rv;

	if (ev & EV_READ)
		tlspump_readable(&f->p, fd);
	rv = tlspump_run(&f->p);
	if (f->hooks != NULL)
		tlsloop_report(f);
	if (rv != 1 || (!was && f->p.handshaken && f->check != NULL &&
			   f->check(f->p.ssl, f->arg) == -1)) {
		const struct tlsloop_hooks *h = f->hooks;
		void			   *arg = f->hooks_arg;

		tlsloop_free(f);
		if (h != NULL)
			h->ended(arg);
		return;
	}
	tlsloop_watch(f, f->net_ev, f->p.net, f->p.want_net);
	tlsloop_watch(f, f->app_ev, f->p.app, f->p.want_app);
}

/*
 * Pump ssl (set to accept or connect, over the connected socket fd):
 * the plain descriptor to use instead, or -1 when there is no memory or
 * no descriptor for it (fd closed, ssl freed).
 */
int
tlsloop_start(struct event_base *base, SSL *ssl, int fd,
    tlsloop_check_fn *check, void *arg)
{
	struct tlsloop *f;
	int		sp[2];

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		sp) == -1) {
		free(f);
		SSL_free(ssl);
		close(fd);
		return -1;
	}
	if ((f->net_ev = event_new(base, -1, 0, tlsloop_cb, f)) == NULL ||
	    (f->app_ev = event_new(base, -1, 0, tlsloop_cb, f)) == NULL) {
		if (f->net_ev != NULL)
			event_free(f->net_ev);
		SSL_free(ssl);
		free(f);
		close(sp[0]);
		close(sp[1]);
		close(fd);
		return -1;
	}
	SSL_set_fd(ssl, fd);
	tlspump_init(&f->p, ssl, fd, sp[0]);
	f->base = base;
	f->app_peer = sp[1];
	f->check = check;
	f->arg = arg;
	LIST_INSERT_HEAD(&tlsloops, f, entry);
	tlsloop_n++;
	if (tlsloop_index(f) == -1)
		f->app_peer = -1; /* unfound: never adopted, no harm */
	tlsloop_cb(-1, 0, f);
	return sp[1];
}

/* Pumps holding a buffer now: an idle one holds none. */
int
tlsloop_holding(void)
{
	struct tlsloop *f;
	int		n = 0;

	LIST_FOREACH(f, &tlsloops, entry)
	n += f->p.to_app != NULL || f->p.to_net != NULL;
	return n;
}

/* Pumps still running (a draining relay worker waits for them). */
int
tlsloop_count(void)
{
	return tlsloop_n;
}

/*
 * The local address of a connection the caller holds: for a TLS one
 * the real socket's (fd is only our end of the socketpair).  A number
 * reused while an old pump drains is not taken for it (tlsloop_of).
 */
int
tlsloop_sockname(int fd, struct sockaddr_storage *ss, socklen_t *len)
{
	struct tlsloop *f = tlsloop_of(fd);

	return getsockname(f != NULL ? f->p.net : fd, (struct sockaddr *)ss,
	    len);
}

/* The hook's owner goes away: pumps that still name it stop asking. */
void
tlsloop_forget(void *arg)
{
	struct tlsloop *f;

	LIST_FOREACH(f, &tlsloops, entry)
	if (f->arg == arg)
		f->check = NULL;
}

/* Read all fd holds now (up to its end) into one direction, after
 * what that direction holds: 0, or -1. */
static int
tlsloop_drain(struct tlsloop *f, int fd, int to_app)
{
	uint8_t b[TLSPUMP_BUF];
	ssize_t n;

	while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		if (tlspump_queue(&f->p, to_app, b, (size_t)n, 0) == -1)
			return -1;
	return n == 0 || errno == EAGAIN ? 0 : -1;
}

/*
 * The caller joins its plain end peer to other (both then the pump's):
 * when peer is a running pump's in this process, that pump takes other
 * instead of the socketpair, and hooks hear, with arg, of the bytes it
 * reads and of its end.  1 when it did (f is the pump), 0 when peer is
 * no pump's (nothing changed), -1 when it failed (both closed).  The
 * pump runs first from the loop, after any tlsloop_pre.
 */
int
tlsloop_adopt(int peer, int other, const struct tlsloop_hooks *hooks,
    void *arg, struct tlsloop **fp)
{
	struct tlsloop *f = tlsloop_of(peer);

	if (f == NULL || !f->p.handshaken || f->p.failed || f->p.app_eof ||
	    f->hooks != NULL)
		return 0;
	tlsloop_unindex(f);
	f->hooks = hooks;
	f->hooks_arg = arg;
	f->p.from_net = f->p.from_app = 0;
	/* To the plain side: what is in the socketpair, then the pump's;
	 * from it: the pump's, then what the caller wrote into it. */
	if (f->p.app_len > 0) {
		uint8_t *held = f->p.to_app;
		size_t	 off = f->p.app_off, len = f->p.app_len;

		f->p.to_app = NULL;
		f->p.app_len = f->p.app_off = 0;
		if (tlsloop_drain(f, peer, 1) == -1 ||
		    tlspump_queue(&f->p, 1, held + off, len, 0) == -1)
			f->p.failed = 1;
		free(held);
	} else if (tlsloop_drain(f, peer, 1) == -1)
		f->p.failed = 1;
	if (f->p.app_len > 0) /* the socketpair's would have been read */
		hooks->moved(arg, 1, f->p.app_len);
	if (tlsloop_drain(f, f->p.app, 0) == -1)
		f->p.failed = 1;
	close(peer);
	close(f->p.app);
	f->p.app = other;
	f->p.app_shut = f->p.app_dry = 0; /* an end already come goes on */
	event_del(f->app_ev);
	event_assign(f->app_ev, f->base, -1, 0, tlsloop_cb, f);
	if (f->p.failed) {
		tlsloop_free(f);
		return -1;
	}
	event_active(f->app_ev, EV_WRITE, 1);
	*fp = f;
	return 1;
}

/*
 * Bytes the caller read before the join (see fdsplice_pre): to the
 * plain side they go before what the socketpair held, to the TLS side
 * after what the caller had written into it.  0, or -1 without memory.
 */
int
tlsloop_pre(struct tlsloop *f, int to_app, const void *b, size_t n)
{
	return tlspump_queue(&f->p, to_app, b, n, to_app);
}

/* The owner ends an adopted pump: no hook is called. */
void
tlsloop_end(struct tlsloop *f)
{
	tlsloop_free(f);
}
