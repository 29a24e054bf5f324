/*
 * Per-request routing on the relay's HTTP virtual hosts.  A visitor's
 * kept-alive connection may ask another host in a later request; that
 * request must reach the other host's service, not this one's.  So the
 * stream from the visitor to the service is watched (ops->allow of
 * common/fdsplice.c): libhttp-parser follows the requests' framing
 * (Content-Length, chunked bodies) over bytes peeked from the socket,
 * and each byte is let through only once it is known to belong to a
 * request for this exposure.
 *
 * A request for another host (another exposure, an unknown name, or a
 * head that is bad, too large or too slow) stays unread in the socket.
 * The service is told the end of input after the requests it had; its
 * answers go on to the visitor until it closes its side; then the
 * visitor's socket, the new request still unread, starts again at the
 * head reader (relay_vhost_again), which routes or refuses it as it
 * would a new visitor's.  Answers so keep their order, pipelined or not.
 * A service that does not close after the end of its input holds the
 * visitor until relay.idle_timeout.
 *
 * Once a request upgrades the connection (WebSocket), or the framing
 * cannot be followed, the rest passes through as it is.  Requests for
 * the same host cost a peek and a parse of the bytes each; the answers
 * are not looked at.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <http_parser.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fdsplice.h"
#include "httphead.h"
#include "relay.h"

#define RELAY_PEEK_MAX RELAY_HEAD_MAX /* relay.http_head_max at most */

enum relay_http_mark { MARK_NONE, MARK_HEAD, MARK_MESSAGE };

struct relay_http {
	struct worker	*w;
	uint64_t	*requests; /* the exposure's count, or NULL */
	struct fdsplice *pair;
	uint64_t	 port;	  /* the exposure's connection id, */
	uint16_t	 ordinal; /* in this worker */
	http_parser	 hp;
	enum relay_http_mark mark; /* where the parser paused */
	size_t		 fed;	   /* bytes of the socket the parser has seen */
	size_t		 cut;	   /* bytes of the socket that may go */
	int		 pending;  /* a request began whose host is not known */
	int		 through;  /* pass the rest as it is */
	int		 leaving;  /* the next request is another host's */
	int		 late;	   /* its head's time ran out */
	int		 held;	   /* the stream waits for us */
	int		 fd, watch_fd; /* the visitor, and its duplicate */
	struct event	*watch;	   /* new bytes at the visitor (edge) */
	struct event	*timer;	   /* a later head's deadline */
	char		 host[HOSTNAME_MAX + 1];
};

static int
relay_http_head_done(http_parser *hp)
{
	((struct relay_http *)hp->data)->mark = MARK_HEAD;
	http_parser_pause(hp, 1);
	return 0;
}

static int
relay_http_message_done(http_parser *hp)
{
	((struct relay_http *)hp->data)->mark = MARK_MESSAGE;
	http_parser_pause(hp, 1);
	return 0;
}

static void relay_http_scan(struct relay_http *, const char *, size_t);

static const http_parser_settings relay_http_settings = {
	.on_headers_complete = relay_http_head_done,
	.on_message_complete = relay_http_message_done,
};

/*
 * Feed the parser b[0..n); 0, or -1 when the framing cannot be
 * followed.  A pause says where a head or a request ended.
 */
static int
relay_http_feed(struct relay_http *h, const char *b, size_t n)
{
	size_t m;

	h->mark = MARK_NONE;
	m = http_parser_execute(&h->hp, &relay_http_settings, b, n);
	if (HTTP_PARSER_ERRNO(&h->hp) == HPE_PAUSED)
		http_parser_pause(&h->hp, 0);
	else if (HTTP_PARSER_ERRNO(&h->hp) != HPE_OK)
		return -1;
	h->fed += m;
	return (int)m;
}

/*
 * The visitor's first head (as it went to the service): the parser
 * starts after it, its host is the connection's; expo (or NULL) counts
 * the requests.  NULL when out of memory.
 */
struct relay_http *
relay_http_new(struct worker *w, const struct relay_port *p,
    struct state_exposure *expo, const char *head, size_t len)
{
	struct relay_http *h = calloc(1, sizeof(*h));
	struct httphead	   hh;

	if (h == NULL)
		return NULL;
	h->w = w;
	h->requests = expo != NULL ? &expo->requests : NULL;
	if (h->requests != NULL)
		(*h->requests)++;
	h->port = p->base.id;
	h->ordinal = (uint16_t)w->ordinal;
	h->fd = h->watch_fd = -1;
	http_parser_init(&h->hp, HTTP_REQUEST);
	h->hp.data = h;
	if (httphead_parse(head, len, &hh) == HTTPHEAD_OK)
		memcpy(h->host, hh.host, sizeof(h->host));
	/* As though it were in the socket, nothing pending yet: its end
	 * marks what follows as a request to decide, or as a body. */
	relay_http_scan(h, head, len);
	h->fed = h->cut = 0; /* none of it is in the socket */
	return h;
}

void
relay_http_free(struct relay_http *h)
{
	if (h == NULL)
		return;
	if (h->watch != NULL)
		event_free(h->watch);
	if (h->watch_fd != -1)
		close(h->watch_fd);
	if (h->timer != NULL)
		event_free(h->timer);
	free(h);
}

void
relay_http_join(struct relay_http *h, struct fdsplice *pair)
{
	h->pair = pair;
}

/*
 * The visitor's socket, when the stream ended to go to another host
 * (*late: the next head's time already ran out), else -1.
 */
int
relay_http_leaving(const struct relay_http *h, int *late)
{
	*late = h->late;
	return h->leaving ? h->fd : -1;
}

/* What was let through was taken: the socket starts n bytes later. */
void
relay_http_moved(struct relay_http *h, size_t n)
{
	h->fed = n < h->fed ? h->fed - n : 0;
	h->cut = n < h->cut ? h->cut - n : 0;
}

/* Let a held stream look again; h may be gone after this. */
static void
relay_http_resume(struct relay_http *h)
{
	if (!h->held)
		return;
	h->held = 0;
	fdsplice_resume(h->pair);
}

/* New bytes (or their end) at the visitor. */
static void
relay_http_watch_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	relay_http_resume(arg);
}

/* A later head too slow: it goes to the head reader, which says 408. */
static void
relay_http_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct relay_http *h = arg;

	(void)fd;
	(void)ev;
	h->leaving = h->late = 1;
	relay_http_resume(h);
}

/*
 * Hold the undecided bytes in the socket and wait for more, edge-
 * triggered (the stream's own watch is level-triggered, and libevent
 * will not mix the two on one descriptor: a duplicate watches), with
 * the head's deadline from its first byte.  The watch stays armed for
 * the stream's life: armed anew, it would fire at once for the bytes
 * already there.
 */
static ssize_t
relay_http_hold(struct relay_http *h)
{
	struct timeval tv = {h->w->conf->relay_http_head_timeout, 0};

	if (h->watch == NULL) {
		if ((h->watch_fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
		    (h->watch = event_new(h->w->base, h->watch_fd,
			 EV_READ | EV_ET | EV_PERSIST, relay_http_watch_cb,
			 h)) == NULL ||
		    (h->timer = evtimer_new(h->w->base, relay_http_timer_cb,
			 h)) == NULL) {
			proc_count(h->w, STAT_NOMEM);
			return FDSPLICE_END;
		}
	}
	if (!evtimer_pending(h->timer, NULL))
		evtimer_add(h->timer, &tv);
	if (!event_pending(h->watch, EV_READ, NULL))
		event_add(h->watch, NULL);
	h->held = 1;
	return FDSPLICE_HOLD;
}

/*
 * A later request's head is whole at b[h->cut..n): its host this
 * exposure's?  Stray empty lines before it stay with this service.
 */
static void
relay_http_decide(struct relay_http *h, const char *b, size_t n)
{
	struct httphead hh;
	char		claimed[HOSTNAME_MAX + 1];
	uint64_t	port;
	uint16_t	ordinal;
	size_t		at = h->cut;

	while (n - at >= 2 && b[at] == '\r' && b[at + 1] == '\n')
		at += 2;
	/* Whole to both parsers, ending where the stream's saw it end. */
	if (httphead_parse(b + at, n - at, &hh) == HTTPHEAD_OK &&
	    at + hh.len == h->fed + 1 &&
	    (strcasecmp(hh.host, h->host) == 0 ||
		(relay_domain_find(h->w, hh.host, &ordinal, &port, claimed) ==
			0 &&
		    ordinal == h->ordinal && port == h->port))) {
		h->pending = 0;
		if (h->timer != NULL)
			evtimer_del(h->timer);
		if (h->requests != NULL)
			(*h->requests)++;
		return;
	}
	h->cut = at;
	h->leaving = 1;
}

/* The stream takes no more: the visitor goes on at the head reader
 * when its socket can be kept, else the stream just ends. */
static ssize_t
relay_http_leave(struct relay_http *h)
{
	if (h->timer != NULL)
		evtimer_del(h->timer);
	if (h->watch != NULL)
		event_del(h->watch);
	if (fdsplice_keep(h->pair) == -1)
		h->leaving = 0;
	return FDSPLICE_END;
}

/* What is decided already: bytes that may go, FDSPLICE_END or _ALL;
 * 0 when nothing is. */
static ssize_t
relay_http_decided(struct relay_http *h)
{
	if (h->cut > 0)
		return (ssize_t)h->cut;
	if (h->leaving)
		return relay_http_leave(h);
	if (h->through)
		return FDSPLICE_ALL;
	return 0;
}

/* Follow the requests in b[h->fed..n), the socket's bytes peeked. */
static void
relay_http_scan(struct relay_http *h, const char *b, size_t n)
{
	int m;

	while (h->fed < n && !h->through && !h->leaving) {
		if ((m = relay_http_feed(h, b + h->fed, n - h->fed)) == -1) {
			/* A bad later head gets the head reader's 400;
			 * a body that cannot be followed goes as it is. */
			if (h->pending)
				h->leaving = 1;
			else
				h->through = 1;
			return;
		}
		if (h->mark == MARK_MESSAGE) {
			h->cut = h->fed; /* a request ends: the next waits */
			h->pending = !h->hp.upgrade;
			h->through = h->hp.upgrade; /* a WebSocket's frames */
		} else if (h->mark == MARK_HEAD && h->pending)
			relay_http_decide(h, b, n);
		if (!h->pending)
			h->cut = h->fed;
		if (m == 0 && h->mark == MARK_NONE)
			return;
	}
}

/*
 * ops->allow for the visitor's direction: how many bytes of fd may go
 * to the service now (see common/fdsplice.h).
 */
ssize_t
relay_http_allow(struct relay_http *h, int fd)
{
	static char   b[RELAY_PEEK_MAX];
	struct pollfd pfd = {fd, POLLRDHUP, 0};
	ssize_t	      n, r;

	h->fd = fd;
	if ((r = relay_http_decided(h)) != 0)
		return r;
	n = recv(fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	if (n == -1)
		return errno == EAGAIN ? FDSPLICE_WAIT : FDSPLICE_ALL;
	if (n == 0)
		return FDSPLICE_ALL; /* the end: passed on */
	relay_http_scan(h, b, (size_t)n);
	if ((r = relay_http_decided(h)) != 0)
		return r;
	/* Undecided bytes, no more to come: they go as they are. */
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP))) {
		h->through = 1;
		h->pending = 0;
		return FDSPLICE_ALL;
	}
	if ((size_t)n >= (size_t)h->w->conf->relay_http_head_max) {
		h->leaving = 1; /* the head reader says 431 */
		return relay_http_leave(h);
	}
	return relay_http_hold(h);
}
