/*
 * The tracker over TCP.  The first byte of a connection decides its
 * protocol: "/" for text lines (each answer ends with an empty line),
 * anything else for STUN messages framed by their length field.
 * Connections are bounded in number (in all and per source IP: gate.c),
 * line length and queued output, and by a deadline that only an answered
 * request renews (tracker.idle_timeout): a drip of bytes that never makes
 * a request does not keep a connection.
 */
#include "config.h"

#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "log.h"
#include "natserver.h"
#include "stun.h"
#include "turn.h"

#define TRACKER_LINE_MAX   2048
#define TRACKER_STUN_MAX   (4096 + 128) /* a TURN payload and its header */
#define TRACKER_OUTPUT_MAX (64 * 1024) /* stop reading above this */

struct tracker_conn {
	struct worker	       *w;
	struct listener	       *l;
	struct bufferevent     *bev;
	struct event	       *deadline;
	struct sockaddr_storage peer;
	struct sockaddr_storage local;
	int			closing;
};

static void tracker_conn_free(struct tracker_conn *);
static void tracker_read_cb(struct bufferevent *, void *);
static void tracker_write_cb(struct bufferevent *, void *);
static void tracker_event_cb(struct bufferevent *, short, void *);

static void
tracker_conn_free(struct tracker_conn *c)
{
	/* A TURN allocation over TCP lives as long as its connection. */
	turn_conn_closed(c->l, (struct sockaddr *)&c->peer);
	gate_leave(LISTEN_TRACKER, (struct sockaddr *)&c->peer);
	bufferevent_free(c->bev);
	event_free(c->deadline);
	free(c);
}

/* An answered request: the connection may wait idle_timeout again. */
static void
tracker_renew(struct tracker_conn *c)
{
	struct timeval tv = {c->w->conf->tracker_idle_timeout, 0};

	evtimer_add(c->deadline, &tv);
}

static void
tracker_deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct tracker_conn *c = arg;

	(void)fd;
	(void)ev;
	proc_count(c->w, STAT_TIMEOUTS);
	tracker_conn_free(c);
}

/* Say why, then close once the output is flushed. */
static void
tracker_close_with(struct tracker_conn *c, const char *msg)
{
	if (msg != NULL)
		bufferevent_write(c->bev, msg, strlen(msg));
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		tracker_conn_free(c);
}

/* Answer every whole text line in the input. */
static int
tracker_text_lines(struct tracker_conn *c, struct evbuffer *in)
{
	struct listener *via;
	uint8_t		 answer[TRACKER_LINE_MAX + 64];
	char		*line;
	size_t		 len;
	ssize_t		 n;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		n = tracker_answer(c->w, c->l, (uint8_t *)line, len,
		    (struct sockaddr *)&c->peer, (struct sockaddr *)&c->local,
		    1, NULL, answer, sizeof(answer) - 2, &via);
		free(line);
		if (n < 0) {
			tracker_close_with(c, "error: bad request\n\n");
			return -1;
		}
		/* Each answer ends with an empty line. */
		if (n > 0)
			answer[n++] = '\n';
		answer[n++] = '\n';
		bufferevent_write(c->bev, answer, (size_t)n);
		tracker_renew(c);
	}
	if (evbuffer_get_length(in) > TRACKER_LINE_MAX) {
		proc_count(c->w, STAT_ERRORS);
		tracker_close_with(c, "error: line too long\n\n");
		return -1;
	}
	return 0;
}

/* Answer every whole STUN message in the input. */
static int
tracker_stun_frames(struct tracker_conn *c, struct evbuffer *in)
{
	struct listener *via;
	uint8_t		 answer[512];
	size_t		 have, need;
	ssize_t		 n;
	uint8_t		 head[4];

	while ((have = evbuffer_get_length(in)) >= 4) {
		evbuffer_copyout(in, head, 4);
		need = stun_frame_len(head, 4);
		/* TURN's ChannelData, padded to a word on a stream. */
		if ((head[0] & 0xc0) == 0x40 && turn_enabled(c->w->conf))
			need = 4 + (((size_t)(head[2] << 8 | head[3]) + 3) & ~3u);
		if (need == 0 || need > TRACKER_STUN_MAX) {
			proc_count(c->w, STAT_DROP_JUNK);
			tracker_close_with(c, NULL);
			return -1;
		}
		if (have < need)
			return 0;
		n = tracker_answer(c->w, c->l,
		    evbuffer_pullup(in, (ssize_t)need), need,
		    (struct sockaddr *)&c->peer, (struct sockaddr *)&c->local,
		    1, c->bev, answer, sizeof(answer), &via);
		evbuffer_drain(in, need);
		if (n > 0)
			bufferevent_write(c->bev, answer, (size_t)n);
		tracker_renew(c);
	}
	return 0;
}

static void
tracker_read_cb(struct bufferevent *bev, void *arg)
{
	struct tracker_conn *c = arg;
	struct evbuffer	    *in = bufferevent_get_input(bev);
	uint8_t		     first;
	int		     rv;

	if (c->closing || evbuffer_copyout(in, &first, 1) != 1)
		return;
	rv = first == '/' ? tracker_text_lines(c, in)
			  : tracker_stun_frames(c, in);
	if (rv == 0 &&
	    evbuffer_get_length(bufferevent_get_output(bev)) >
		TRACKER_OUTPUT_MAX)
		bufferevent_disable(bev, EV_READ);
}

/* Output drained: finish a closing connection, or read again. */
static void
tracker_write_cb(struct bufferevent *bev, void *arg)
{
	struct tracker_conn *c = arg;

	if (c->closing)
		tracker_conn_free(c);
	else
		bufferevent_enable(bev, EV_READ);
}

static void
tracker_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	tracker_conn_free(arg);
}

/* A new TCP connection to the tracker. */
void
tracker_accept(struct worker *w, struct listener *l, int fd,
    const struct addr *peer)
{
	struct tracker_conn *c;
	socklen_t	     len;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		gate_leave(LISTEN_TRACKER, (const struct sockaddr *)&peer->ss);
		proc_count(w, STAT_NOMEM);
		close(fd);
		return;
	}
	c->w = w;
	c->l = l;
	memcpy(&c->peer, &peer->ss, peer->len);
	len = sizeof(c->local);
	if (getsockname(fd, (struct sockaddr *)&c->local, &len) == -1)
		memcpy(&c->local, &l->addr.ss, l->addr.len);
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(w->base, tracker_deadline_cb, c);
	if (c->bev == NULL || c->deadline == NULL) {
		gate_leave(LISTEN_TRACKER, (struct sockaddr *)&c->peer);
		proc_count(w, STAT_NOMEM);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->deadline != NULL)
			event_free(c->deadline);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, tracker_read_cb, tracker_write_cb,
	    tracker_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	tracker_renew(c);
}
