/*
 * A connection made without waiting: a TCP connect, and with tls = yes
 * a TLS handshake pumped in the loop (common/tlsloop.c) with the
 * server's certificate checked as natclient always does (tls.c).  The
 * caller is called once, with a bufferevent over the plain end, or with
 * NULL and why; within the timeout either way.  The local service's
 * connections are made here too, without TLS.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "tlsloop.h"

struct dial {
	struct event_base	 *base;
	const struct client_opts *o;
	struct addr		  to;
	int			  fd;  /* the socket, until TLS takes it */
	int			  app; /* TLS: our plain end */
	int			  tls;
	int			  checked; /* 1 trusted, -1 not: done soon */
	struct event		 *ev, *app_ev, *timer;
	dial_fn			 *cb;
	void			 *arg;
	char			  why[1024];
};

static void
dial_free(struct dial *d)
{
	if (d->app != -1)
		tlsloop_forget(d);
	event_free(d->ev);
	if (d->app_ev != NULL)
		event_free(d->app_ev);
	event_free(d->timer);
	if (d->fd != -1)
		close(d->fd);
	if (d->app != -1)
		close(d->app);
	free(d);
}

/* Tell the caller, once, and go. */
static void
dial_done(struct dial *d, int ok)
{
	struct bufferevent *bev = NULL;
	int		    fd = d->app != -1 ? d->app : d->fd;

	if (ok && (bev = bufferevent_socket_new(d->base, fd,
		       BEV_OPT_CLOSE_ON_FREE)) != NULL) {
		if (d->app != -1)
			d->app = -1;
		else
			d->fd = -1;
	} else if (ok)
		snprintf(d->why, sizeof(d->why), "out of memory");
	d->cb(bev, bev != NULL ? NULL : d->why, d->checked == -1, d->arg);
	dial_free(d);
}

static void
dial_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dial *d = arg;
	char	     a[ADDR_STRLEN];

	(void)fd;
	(void)ev;
	if (d->checked != 0) {
		dial_done(d, d->checked == 1);
		return;
	}
	snprintf(d->why, sizeof(d->why), "%s: %s", addr_format(&d->to, a,
	    sizeof(a)), d->app != -1 ? "TLS handshake timed out"
				      : "connection timed out");
	dial_done(d, 0);
}

/*
 * The handshake is done (tlsloop's hook): is it the server we trust?
 * The caller is told from the timer's callback, at once: this may run
 * within tlsloop_start, before it has even returned.
 */
static int
dial_tls_checked(SSL *ssl, void *arg)
{
	struct dial *d = arg;
	char	     a[ADDR_STRLEN];

	d->checked = client_tls_trust(d->o, ssl,
			 addr_format(&d->to, a, sizeof(a)), d->why,
			 sizeof(d->why)) == -1
	    ? -1
	    : 1;
	evtimer_del(d->timer);
	event_active(d->timer, EV_TIMEOUT, 1);
	return d->checked == 1 ? 0 : -1;
}

/* Our plain end became readable before the handshake ended: it failed. */
static void
dial_tls_failed_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dial *d = arg;
	char	     a[ADDR_STRLEN];

	(void)fd;
	(void)ev;
	if (d->checked != 0)
		return; /* the timer's callback tells */
	snprintf(d->why, sizeof(d->why),
	    "TLS with server %s failed (is it a TLS server? tls = no on both "
	    "sides for plaintext)",
	    addr_format(&d->to, a, sizeof(a)));
	dial_done(d, 0);
}

static void
dial_connected_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dial *d = arg;
	char	     a[ADDR_STRLEN];
	int	     err = 0;
	socklen_t    len = sizeof(err);
	SSL	    *ssl;

	(void)ev;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		snprintf(d->why, sizeof(d->why), "%s: %s",
		    addr_format(&d->to, a, sizeof(a)), strerror(err));
		dial_done(d, 0);
		return;
	}
	if (!d->tls) {
		dial_done(d, 1);
		return;
	}
	ssl = client_tls_new(d->o, d->o->server);
	SSL_set_connect_state(ssl);
	d->fd = -1; /* the pump has it, or closed it */
	if ((d->app = tlsloop_start(d->base, ssl, fd, dial_tls_checked, d)) ==
	    -1) {
		snprintf(d->why, sizeof(d->why), "TLS: %s", strerror(errno));
		dial_done(d, 0);
		return;
	}
	if ((d->app_ev = event_new(d->base, d->app, EV_READ, dial_tls_failed_cb,
		 d)) == NULL) {
		snprintf(d->why, sizeof(d->why), "out of memory");
		dial_done(d, 0);
		return;
	}
	event_add(d->app_ev, NULL);
}

/*
 * Connect to `to` (through TLS when tls), calling cb once.  NULL when
 * the connection cannot even start (cb was not called, nor will be).
 */
struct dial *
dial_start(struct event_base *base, const struct client_opts *o,
    const struct addr *to, int tls, dial_fn *cb, void *arg)
{
	struct dial   *d = calloc(1, sizeof(*d));
	struct timeval tv = {o->timeout, 0};
	int	       on = 1;

	if (d == NULL)
		return NULL;
	d->base = base;
	d->o = o;
	d->to = *to;
	d->tls = tls;
	d->cb = cb;
	d->arg = arg;
	d->app = -1;
	if (tls && !o->tls)
		client_tls_warn_plain();
	d->tls = tls && o->tls;
	d->fd = socket(addr_family(to),
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd == -1 ||
	    (connect(d->fd, (struct sockaddr *)&to->ss, to->len) == -1 &&
		errno != EINPROGRESS) ||
	    (d->ev = event_new(base, d->fd, EV_WRITE, dial_connected_cb, d)) ==
		NULL ||
	    (d->timer = evtimer_new(base, dial_timeout_cb, d)) == NULL) {
		int e = errno;

		if (d->ev != NULL)
			event_free(d->ev);
		if (d->fd != -1)
			close(d->fd);
		free(d);
		errno = e;
		return NULL;
	}
	/* No Nagle: small writes (a request, ssh) would wait 40 ms. */
	setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	event_add(d->ev, NULL);
	evtimer_add(d->timer, &tv);
	return d;
}

/* The caller no longer wants it: cb is not called. */
void
dial_cancel(struct dial *d)
{
	dial_free(d);
}
