/*
 * A UDP visitor of an [expose] service, in the agent's loop.  The relay
 * frames the visitor's datagrams on the data connection (a 2-byte
 * length, then the datagram); each goes to the local service from a
 * socket of this visitor's own, connected so that only the service's
 * answers are taken, and each answer goes back framed.  A stream slower
 * than the service drops datagrams (counted), as UDP may; the visitor
 * ends with the data connection, or after EXPOSE_UDP_IDLE_MS of quiet.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expose.h"

#define EXPOSE_UDP_MAX 65535 /* what a 2-byte length holds */

struct expose_udp {
	struct expose_run  *e;
	struct bufferevent *data;
	int		    fd;
	struct event	   *ev, *idle;
	LIST_ENTRY(expose_udp) entry;
};

static void
expose_udp_free(struct expose_udp *u)
{
	LIST_REMOVE(u, entry);
	u->e->s->visitors--;
	bufferevent_free(u->data);
	event_free(u->ev);
	event_free(u->idle);
	close(u->fd);
	free(u);
}

static void
expose_udp_touch(struct expose_udp *u)
{
	struct timeval tv = {EXPOSE_UDP_IDLE_MS / 1000, 0};

	evtimer_add(u->idle, &tv);
}

static void
expose_udp_idle_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	expose_udp_free(arg);
}

/* Whole frames from the relay: each a datagram to the service. */
static void
expose_udp_read_cb(struct bufferevent *bev, void *arg)
{
	struct expose_udp *u = arg;
	struct evbuffer	  *in = bufferevent_get_input(bev);
	uint8_t		   len[2], *d;
	size_t		   n;

	while (evbuffer_copyout(in, len, 2) == 2 &&
	    evbuffer_get_length(in) >= 2 + (n = (size_t)(len[0] << 8 | len[1]))) {
		evbuffer_drain(in, 2);
		if ((d = evbuffer_pullup(in, (ssize_t)n)) != NULL || n == 0) {
			/* A service not (yet) listening is UDP's loss. */
			if (send(u->fd, d, n, 0) >= 0)
				u->e->s->bytes_in += n;
		}
		evbuffer_drain(in, n);
		expose_udp_touch(u);
	}
}

static void
expose_udp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		expose_udp_free(arg);
}

/* The service's answers, framed back to the relay. */
static void
expose_udp_answer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct expose_udp *u = arg;
	struct evbuffer	  *out = bufferevent_get_output(u->data);
	uint8_t		   d[EXPOSE_UDP_MAX + 2];
	ssize_t		   n;
	int		   i;

	(void)ev;
	for (i = 0; i < 64; i++) {
		if ((n = recv(fd, d + 2, EXPOSE_UDP_MAX, 0)) == -1)
			return;
		if (evbuffer_get_length(out) >= SPLICE_HIGH)
			continue; /* the relay is slower than the service */
		d[0] = (uint8_t)(n >> 8);
		d[1] = (uint8_t)n;
		bufferevent_write(u->data, d, (size_t)n + 2);
		u->e->s->bytes_out += (uint64_t)n;
		expose_udp_touch(u);
	}
}

/* The data connection for a new UDP visitor: 0, or -1 (it is freed). */
int
expose_udp_start(struct expose_run *e, struct bufferevent *data)
{
	struct event_base *base = e->s->a->base;
	struct expose_udp *u = calloc(1, sizeof(*u));

	if (u == NULL ||
	    (u->fd = socket(addr_family(&e->local),
		 SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(u->fd, (struct sockaddr *)&e->local.ss, e->local.len) == -1 ||
	    (u->ev = event_new(base, u->fd, EV_READ | EV_PERSIST,
		 expose_udp_answer_cb, u)) == NULL ||
	    (u->idle = evtimer_new(base, expose_udp_idle_cb, u)) == NULL) {
		agent_error(e->s, "a UDP visitor was dropped: %s",
		    strerror(errno));
		if (u != NULL) {
			if (u->ev != NULL)
				event_free(u->ev);
			if (u->fd > 0)
				close(u->fd);
		}
		free(u);
		bufferevent_free(data);
		return -1;
	}
	u->e = e;
	u->data = data;
	LIST_INSERT_HEAD(&e->udp, u, entry);
	e->s->visitors++;
	bufferevent_setcb(data, expose_udp_read_cb, NULL, expose_udp_event_cb,
	    u);
	bufferevent_enable(data, EV_READ | EV_WRITE);
	event_add(u->ev, NULL);
	expose_udp_touch(u);
	if (evbuffer_get_length(bufferevent_get_input(data)) > 0)
		expose_udp_read_cb(data, u);
	return 0;
}

void
expose_udp_close_all(struct expose_run *e)
{
	while (!LIST_EMPTY(&e->udp))
		expose_udp_free(LIST_FIRST(&e->udp));
}
