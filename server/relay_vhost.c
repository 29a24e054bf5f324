/*
 * The relay's virtual hosts: many web services behind NAT on one HTTP
 * port (relay.http_listen, routed by the request's Host) and one HTTPS
 * port (relay.https_listen, routed by the ClientHello's server_name,
 * TLS passed through untouched, so certificates stay with the service).
 *
 * Any relay worker accepts a visitor there and peeks at its head, not
 * taking a byte, within relay.http_head_max bytes and
 * relay.http_head_timeout seconds from accept (a drip of bytes does not
 * extend it).  The name's record (relay_domain.c) says which worker
 * holds the exposure; the visitor's socket goes there by mail, and that
 * worker takes the head, adds X-Forwarded-For, X-Forwarded-Proto and
 * Forwarded to an HTTP one (relay.http_forwarded), and hands the
 * visitor on as a TCP visitor of the exposure (relay_port.c): a pooled
 * data connection, or one the client dials back; the head goes first.
 * After the head the stream is passed through as it is (a WebSocket,
 * any Upgrade, too), but for an HTTP visitor's later requests, each
 * routed by its own Host (relay_http.c).
 *
 * What a browser is told: 400 (malformed head, no host), 404 (no such
 * host), 408 (the head's time ran out), 431 (the head too large), 502
 * (the client or its service failed the visitor), 503 (over a bound);
 * over HTTPS a TLS alert (decode_error, unrecognized_name,
 * internal_error).  No answer repeats a byte of the request.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "httphead.h"
#include "log.h"
#include "relay.h"
#include "tlssni.h"

/* A visitor waiting for its head. */
struct relay_head {
	struct worker *w;
	int	       fd, use; /* LISTEN_HTTP or LISTEN_HTTPS */
	int	       gated;	/* its door's budget to leave (gate.c) */
	struct addr    peer;
	struct event  *ev, *timer;
};

/* The mail that brings a visitor to its exposure's worker. */
struct relay_vhost_mail {
	uint32_t headlen; /* bytes of head to take (HTTP), 0 for HTTPS */
	int32_t	 use;
	char	 name[HOSTNAME_MAX + 1]; /* the claimed name it matched */
};

static int relay_heads; /* waiting for their head */

static void relay_vhost_mail_fd(struct wconn *, const struct relay_vhost_mail *,
    size_t, int);

/*
 * Answer a visitor that will not be served with status (or its TLS
 * alert) and close it; fd is taken.
 */
void
relay_vhost_fail(struct worker *w, int fd, int use, int status)
{
	char   out[HTTPHEAD_ANSWER_MAX];
	size_t n = httphead_answer(out, use == LISTEN_HTTPS, status);

	send(fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	worker_linger(w, fd);
}

static void
relay_head_free(struct relay_head *h, int status)
{
	if (status != 0)
		relay_vhost_fail(h->w, h->fd, h->use, status);
	else if (h->fd != -1)
		close(h->fd);
	if (h->ev != NULL)
		event_free(h->ev);
	event_free(h->timer);
	if (h->gated)
		gate_leave(h->use, (struct sockaddr *)&h->peer.ss);
	relay_heads--;
	free(h);
}

/* Visitors of the virtual hosts still reading their head. */
int
relay_vhost_waiting(void)
{
	return relay_heads;
}

static void
relay_head_refuse(struct relay_head *h, int stat, int status, const char *why)
{
	char a[ADDR_STRLEN];

	proc_count(h->w, stat);
	if (why != NULL &&
	    worker_log_ok(h->w, (const struct sockaddr *)&h->peer.ss))
		log_info("%s visitor from %s refused (%d): %s",
		    h->use == LISTEN_HTTP ? "an HTTP" : "an HTTPS",
		    addr_format(&h->peer, a, sizeof(a)), status, why);
	relay_head_free(h, status);
}

/*
 * The head is read: to the worker that holds name's exposure.  The
 * visitor's socket is no longer this worker's.
 */
static void
relay_head_route(struct relay_head *h, const char *host, size_t headlen)
{
	struct relay_vhost_mail m;
	uint16_t		ordinal;
	uint64_t		port;
	struct wconn	       *wc;

	memset(&m, 0, sizeof(m));
	if (relay_domain_find(h->w, host, &ordinal, &port, m.name) == -1) {
		relay_head_refuse(h, STAT_VHOST_UNKNOWN, 404, NULL);
		return;
	}
	m.headlen = (uint32_t)headlen;
	m.use = h->use;
	/* Our edge-triggered watch goes first: libevent refuses to mix it
	 * with the stream's level-triggered one on the same descriptor. */
	event_free(h->ev);
	h->ev = NULL;
	if (ordinal == h->w->ordinal) {
		if ((wc = wconn_find(port)) == NULL) {
			relay_head_refuse(h, STAT_VHOST_GONE, 502, NULL);
			return;
		}
		relay_vhost_mail_fd(wc, &m, sizeof(m), h->fd);
	} else if (wmail_send_fd(h->w, ordinal, port, MAIL_RELAY_VHOST, &m,
		       sizeof(m), h->fd) == -1) {
		relay_head_refuse(h, STAT_VHOST_GONE, 502, NULL);
		return;
	}
	h->fd = -1; /* the port's worker has it */
	relay_head_free(h, 0);
}

static void
relay_head_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	static uint8_t	    buf[RELAY_HEAD_MAX];
	struct relay_head  *h = arg;
	size_t		    max = (size_t)h->w->conf->relay_http_head_max;
	struct httphead	    hh;
	char		    name[HOSTNAME_MAX + 1];
	const char	   *why = NULL;
	struct pollfd	    pfd = {fd, POLLRDHUP, 0};
	ssize_t		    n;
	int		    r;

	(void)ev;
	n = recv(fd, buf, max, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		relay_head_free(h, 0);
		return;
	}
	if (h->use == LISTEN_HTTP) {
		r = httphead_parse((const char *)buf, (size_t)n, &hh);
		why = hh.why;
		r = r == HTTPHEAD_OK ? 0 : r == HTTPHEAD_MORE ? 1 : -1;
	} else {
		r = tlssni_parse(buf, (size_t)n, name, &why);
		r = r == TLSSNI_OK ? 0 : r == TLSSNI_MORE ? 1 : -1;
	}
	if (r == 1 && (size_t)n >= max)
		relay_head_refuse(h, STAT_VHOST_BAD, 431, "the head is too large");
	else if (r == 1 && poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLRDHUP | POLLHUP)))
		relay_head_free(h, 0); /* the rest can never come */
	else if (r == -1)
		relay_head_refuse(h, STAT_VHOST_BAD, 400, why);
	else if (r == 0)
		relay_head_route(h, h->use == LISTEN_HTTP ? hh.host : name,
		    h->use == LISTEN_HTTP ? hh.len : 0);
}

static void
relay_head_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	relay_head_refuse(arg, STAT_TIMEOUTS, 408, NULL);
}

/*
 * Read fd's head (use: LISTEN_HTTP or LISTEN_HTTPS) within the head's
 * time, or none (late: it ran out); -1 out of memory.
 */
static int
relay_head_start(struct worker *w, int use, int fd, const struct addr *peer,
    int gated, int late)
{
	struct timeval	   tv = {late ? 0 : w->conf->relay_http_head_timeout, 0};
	struct relay_head *h = calloc(1, sizeof(*h));

	if (h == NULL ||
	    (h->ev = event_new(w->base, fd, EV_READ | EV_PERSIST | EV_ET,
		 relay_head_read_cb, h)) == NULL ||
	    (h->timer = evtimer_new(w->base, relay_head_timeout_cb, h)) ==
		NULL) {
		if (h != NULL && h->ev != NULL)
			event_free(h->ev);
		free(h);
		proc_count(w, STAT_NOMEM);
		return -1;
	}
	h->w = w;
	h->fd = fd;
	h->use = use;
	h->gated = gated;
	h->peer = *peer;
	relay_heads++;
	event_add(h->ev, NULL);
	evtimer_add(h->timer, &tv);
	return 0;
}

/* A visitor on relay.http_listen or relay.https_listen. */
void
relay_vhost_accept(struct worker *w, struct listener *l, int fd,
    const struct addr *peer)
{
	if (relay_head_start(w, l->use, fd, peer, 1, 0) == -1) {
		/* Refused, not fatal: the worker serves everyone else. */
		gate_leave(l->use, (const struct sockaddr *)&peer->ss);
		close(fd);
	}
}

/*
 * An HTTP visitor whose next request asks another host than its
 * stream's (relay_http.c): that request, still in fd, is read and
 * routed as a new visitor's would be, by this worker; late: its time
 * already ran out (408).
 */
void
relay_vhost_again(struct worker *w, int fd, int late)
{
	struct addr peer;

	memset(&peer, 0, sizeof(peer));
	peer.len = sizeof(peer.ss);
	if (getpeername(fd, (struct sockaddr *)&peer.ss, &peer.len) == -1 ||
	    relay_head_start(w, LISTEN_HTTP, fd, &peer, 0, late) == -1)
		close(fd);
}

/*
 * An HTTP head with the visitor's address added for the service:
 * X-Forwarded-For, X-Forwarded-Proto and Forwarded (RFC 7239) before
 * its empty line.  The length, or 0 when it does not fit.
 */
static size_t
relay_vhost_forwarded(char *out, size_t max, const char *head, size_t len,
    int fd)
{
	struct sockaddr_storage ss;
	socklen_t		sl = sizeof(ss);
	char			a[ADDR_STRLEN], ip[ADDR_STRLEN];
	const char	       *six;
	int			n;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return 0;
	addr_format_sa((struct sockaddr *)&ss, a, sizeof(a));
	/* "ip:port" or "[ip]:port": the ip alone, bare and as Forwarded's */
	snprintf(ip, sizeof(ip), "%s", a[0] == '[' ? a + 1 : a);
	*(a[0] == '[' ? strchr(ip, ']') : strrchr(ip, ':')) = '\0';
	six = a[0] == '[' ? "\"[" : "";
	n = snprintf(out + len - 2, max - (len - 2),
	    "X-Forwarded-For: %s\r\nX-Forwarded-Proto: http\r\n"
	    "Forwarded: for=%s%s%s;proto=http\r\n\r\n",
	    ip, six, ip, a[0] == '[' ? "]\"" : "");
	if (n < 0 || (size_t)n >= max - (len - 2))
		return 0;
	memcpy(out, head, len - 2);
	return len - 2 + (size_t)n;
}

/*
 * In the exposure's worker: a visitor of port p's names, its head
 * (headlen bytes, HTTP) still in its socket.  fd is taken.
 */
static void
relay_vhost_mail_fd(struct wconn *wc, const struct relay_vhost_mail *m,
    size_t len, int fd)
{
	static char	       head[RELAY_HEAD_MAX], pre[RELAY_HEAD_MAX + 512];
	struct relay_port     *p = (struct relay_port *)wc;
	struct worker	      *w = p->ctl != NULL ? p->ctl->w : NULL;
	struct state_exposure *expo;
	struct relay_lead      lead;
	size_t		       prelen = 0;

	if (w == NULL || len != sizeof(*m) || m->headlen > RELAY_HEAD_MAX ||
	    (m->headlen > 0 &&
		recv(fd, head, m->headlen, MSG_DONTWAIT) != (ssize_t)m->headlen)) {
		close(fd); /* a port closing, or a visitor gone */
		return;
	}
	expo = state_exposure_find(w->slot->expo, STATE_EXPOSURES_MAX,
	    m->name);
	if (m->headlen > 0 && w->conf->relay_http_forwarded)
		prelen = relay_vhost_forwarded(pre, sizeof(pre), head,
		    m->headlen, fd);
	if (m->headlen > 0 && prelen == 0) { /* as it came */
		memcpy(pre, head, m->headlen);
		prelen = m->headlen;
	}
	lead.pre = pre;
	lead.prelen = prelen;
	lead.use = m->use;
	lead.port = p;
	if (relay_visitor_start(p, fd, NULL, expo, &lead) == -1) {
		expo->visitors++;
		expo->errors++;
		proc_count(w, STAT_VHOST_GONE);
		relay_vhost_fail(w, fd, m->use, 503);
	}
}

/* Mail to a virtual host's port: a visitor another worker read. */
void
relay_vhost_mail(struct wconn *wc, const struct wmail *m, int fd)
{
	if (m->type != MAIL_RELAY_VHOST || fd == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	relay_vhost_mail_fd(wc, (const struct relay_vhost_mail *)m->body,
	    m->len, fd);
}
