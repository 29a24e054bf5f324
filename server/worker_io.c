/*
 * Event plumbing that every worker kind needs: a read event on each of its
 * datagram sockets and an accept loop on each of its stream sockets, with
 * each door's connection budget applied at accept (gate.c).  The kinds
 * differ only in what they do with a datagram or a connection, and each
 * calls gate_leave when a connection it was given ends.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "log.h"
#include "natserver.h"
#include "ratelimit.h"

/* Connections taken in one callback, so one busy socket cannot starve. */
#define WORKER_ACCEPT_BATCH 64
#define WORKER_PAUSE_MS	    100	  /* out of descriptors: stop accepting */
#define WORKER_WARN_MS	    10000 /* a repeated warning, at most this often */

struct worker_sock {
	struct worker	   *w;
	struct listener	   *l;
	worker_dgram_fn	    dgram;
	worker_accept_fn    accept;
	struct event	   *ev;
	struct event	   *pause; /* out of descriptors: accept later */
	struct worker_sock *next;
};

static struct worker_sock *worker_socks; /* what worker_listen watches */

static void worker_read_cb(evutil_socket_t, short, void *);
static void worker_accept_cb(evutil_socket_t, short, void *);

static void
worker_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker_sock *ws = arg;

	(void)fd;
	(void)ev;
	ws->dgram(ws->w, ws->l);
}

static void
worker_resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker_sock *ws = arg;

	(void)fd;
	(void)ev;
	event_add(ws->ev, NULL);
}

/*
 * accept() found no descriptor: the listener stays readable, so stop
 * watching it for a moment instead of spinning, count each time, and
 * warn once per WORKER_WARN_MS.
 */
static void
worker_accept_pause(struct worker_sock *ws)
{
	static int64_t last_warn;
	static int     since;
	struct timeval tv = {0, WORKER_PAUSE_MS * 1000};
	int64_t	       now = table_now_ms();

	proc_count(ws->w, STAT_TCP_REFUSED);
	since++;
	if (now - last_warn >= WORKER_WARN_MS) {
		log_warnx("accept: out of descriptors (%d times); pausing "
			  "for %d ms: raise the open-files limit or lower "
			  "max_connections",
		    since, WORKER_PAUSE_MS);
		last_warn = now;
		since = 0;
	}
	if (ws->pause == NULL &&
	    (ws->pause = evtimer_new(ws->w->base, worker_resume_cb, ws)) ==
		NULL)
		return; /* no timer: keep watching, as before */
	event_del(ws->ev);
	evtimer_add(ws->pause, &tv);
}

static void
worker_accept_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker_sock     *ws = arg;
	struct sockaddr_storage ss;
	struct addr		peer;
	socklen_t		len;
	int			i, c;

	(void)ev;
	for (i = 0; i < WORKER_ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		c = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c == -1) {
			if (errno == EMFILE || errno == ENFILE)
				worker_accept_pause(ws);
			return;
		}
		if (addr_from_sa(&peer, (struct sockaddr *)&ss, len) == -1) {
			close(c);
			continue;
		}
		proc_count(ws->w, STAT_TCP_ACCEPTED);
		if (!gate_enter(ws->w, ws->l->use, c,
			(const struct sockaddr *)&peer.ss))
			continue;
		if (ws->l->use == LISTEN_RELAY || ws->l->use == LISTEN_HTTP ||
		    ws->l->use == LISTEN_HTTPS)
			worker_nodelay(c);
		if ((ws->l->use == LISTEN_NAMED || ws->l->use == LISTEN_RELAY) &&
		    (c = tls_front(ws->w, c)) == -1) {
			gate_leave(ws->l->use,
			    (const struct sockaddr *)&peer.ss);
			proc_count(ws->w, STAT_NOMEM);
			continue;
		}
		ws->accept(ws->w, ws->l, c, &peer);
	}
}

/* Watch every socket of this worker's kind. */
void
worker_listen(struct worker *w, worker_dgram_fn dgram, worker_accept_fn acc)
{
	int i;

	for (i = 0; i < w->ls->n; i++) {
		struct listener	   *l = &w->ls->v[i];
		struct worker_sock *ws;
		struct event	   *ev;

		if (l->kind != w->kind || l->fd == -1)
			continue;
		if ((ws = calloc(1, sizeof(*ws))) == NULL)
			fatal("worker_listen");
		ws->w = w;
		ws->l = l;
		ws->dgram = dgram;
		ws->accept = acc;
		ev = event_new(w->base, l->fd, EV_READ | EV_PERSIST,
		    l->type == SOCK_DGRAM ? worker_read_cb : worker_accept_cb,
		    ws);
		if (ev == NULL || event_add(ev, NULL) == -1)
			fatalx("cannot watch a listening socket");
		ws->ev = ev;
		ws->next = worker_socks;
		worker_socks = ws;
	}
}

/*
 * Stop serving the listening sockets and close this worker's copies:
 * what arrives now is the other workers' (after a reload, the new ones).
 */
void
worker_unlisten(struct worker *w)
{
	struct worker_sock *ws;

	(void)w;
	while ((ws = worker_socks) != NULL) {
		worker_socks = ws->next;
		event_free(ws->ev);
		if (ws->pause != NULL)
			event_free(ws->pause);
		close(ws->l->fd);
		ws->l->fd = -1;
		free(ws);
	}
}

/* For kinds whose datagram protocol is not served yet: read and count. */
void
worker_drop_dgram(struct worker *w, struct listener *l)
{
	char buf[1];
	int  i;

	for (i = 0; i < WORKER_ACCEPT_BATCH; i++) {
		if (recv(l->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) ==
		    -1)
			return;
		proc_count(w, STAT_DROP_JUNK);
	}
}

/*
 * Close a connection after an error message without losing the message:
 * closing with unread input makes the kernel send a reset, which may
 * destroy what is still in flight.  So shut our side, read and drop what
 * comes until the peer closes, for at most WORKER_LINGER_S in all (a
 * persistent event's timeout starts again with each read, so the
 * deadline is kept apart).
 */
#define WORKER_LINGER_S 2

struct worker_linger {
	struct event *ev;
	int64_t	      until_ms;
};

static void
worker_linger_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker_linger *l = arg;
	char		      b[4096];

	if ((ev & EV_READ) && table_now_ms() < l->until_ms) {
		ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);

		if (n > 0 || (n == -1 && errno == EAGAIN))
			return;
	}
	event_free(l->ev);
	free(l);
	close(fd);
}

/* Relayed streams are often small writes (ssh, a request and its
 * answer): Nagle's wait for an ACK would hold them 40 ms. */
void
worker_nodelay(int fd)
{
	int on = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

void
worker_linger(struct worker *w, int fd)
{
	struct timeval	      tv = {WORKER_LINGER_S, 0};
	struct worker_linger *l = calloc(1, sizeof(*l));

	shutdown(fd, SHUT_WR);
	if (l != NULL)
		l->until_ms = table_now_ms() + WORKER_LINGER_S * 1000;
	if (l == NULL ||
	    (l->ev = event_new(w->base, fd, EV_READ | EV_PERSIST,
		 worker_linger_cb, l)) == NULL ||
	    event_add(l->ev, &tv) == -1) {
		if (l != NULL && l->ev != NULL)
			event_free(l->ev);
		free(l);
		close(fd);
	}
}

/*
 * Whether a line about peer may be logged now: a few at once and one
 * every 10 s after that, per source IP across the workers (the shared
 * table's buckets), so that one peer's junk cannot flood the log; a
 * line held back is counted instead.
 */
#define WORKER_LOG_BURST      5
#define WORKER_LOG_PER_MINUTE 6

int
worker_log_ok(struct worker *w, const struct sockaddr *peer)
{
	struct ratelimit_rule rule = {WORKER_LOG_BURST, WORKER_LOG_PER_MINUTE};

	if (ratelimit_take(w->state->table, RL_LOG, peer, &rule,
		table_now_ms()))
		return 1;
	proc_count(w, STAT_LOG_HELD);
	return 0;
}

/*
 * Send n datagrams at once on fd; the kernel's refusals are counted as
 * STAT_DROP_SEND (and skipped), what it took under counter.
 */
void
worker_sendmmsg(struct worker *w, int fd, struct mmsghdr *v, int n,
    int counter)
{
	int i, sent;

	for (i = 0; i < n; i += sent) {
		sent = sendmmsg(fd, v + i, (unsigned)(n - i), MSG_DONTWAIT);
		if (sent <= 0) {
			proc_count(w, STAT_DROP_SEND);
			sent = 1;
		} else
			w->slot->counter[counter] += (uint64_t)sent;
	}
}

/*
 * Make h leave from local address ip (4 or 16 bytes, by family): the
 * IP_PKTINFO or IPV6_PKTINFO control message, written in ctl (room for
 * CMSG_SPACE(sizeof(struct in6_pktinfo))).
 */
void
worker_pktinfo(struct msghdr *h, char *ctl, int family, const void *ip)
{
	struct cmsghdr *c = (struct cmsghdr *)ctl;

	h->msg_control = ctl;
	if (family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, ip, 4);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, ip, 16);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
	}
}
