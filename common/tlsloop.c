/*
 * A TLS connection in an event loop, joined to one end of a socketpair
 * by a tlspump: whoever asked gets the other end, as though it were the
 * connection, and sees only plaintext.  natserver's workers put one in
 * front of each connection to a TLS door; natclient's agent behind each
 * connection it makes to the relay.  A shutdown of the plain end is a
 * close_notify, a close_notify an end of file on the plain end, so a
 * half-close crosses.  A TLS connection costs two descriptors more.
 *
 * A check hook, when given, runs once the handshake is done (a client
 * checks the server's certificate there) and may end the pump: the
 * plain end then reads an end of file, and the hook's owner knows why.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "tlsloop.h"
#include "tlspump.h"

struct tlsloop {
	struct tlspump	   p;
	struct event_base *base;
	struct event	  *net_ev, *app_ev;
	int		   app_peer; /* the end the caller holds */
	tlsloop_check_fn  *check;
	void		  *arg;
	LIST_ENTRY(tlsloop) entry;
};

static LIST_HEAD(, tlsloop) tlsloops = LIST_HEAD_INITIALIZER(tlsloops);
static int tlsloop_n;

static void tlsloop_cb(evutil_socket_t, short, void *);

static void
tlsloop_free(struct tlsloop *f)
{
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

/* Run the pump; wait for what it asks, or let go when it ended. */
static void
tlsloop_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct tlsloop *f = arg;
	int		was = f->p.handshaken;

	(void)fd;
	(void)ev;
	if (tlspump_run(&f->p) != 1 ||
	    (!was && f->p.handshaken && f->check != NULL &&
		f->check(f->p.ssl, f->arg) == -1)) {
		tlsloop_free(f);
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
	tlsloop_cb(-1, 0, f);
	return sp[1];
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
 * reused while an old pump drains is found on the newer one: new ones
 * go first in the list.
 */
int
tlsloop_sockname(int fd, struct sockaddr_storage *ss, socklen_t *len)
{
	struct tlsloop *f;

	LIST_FOREACH(f, &tlsloops, entry)
	if (f->app_peer == fd)
		return getsockname(f->p.net, (struct sockaddr *)ss, len);
	return getsockname(fd, (struct sockaddr *)ss, len);
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
