/*
 * Exposed UDP ports.  Each visitor address is a session: the client is
 * told of it as of a TCP visitor and opens a data connection, over which
 * the session's datagrams travel both ways, each framed by a 2-byte
 * length.  Datagrams on their way to the client, before its data
 * connection or while it is slow, wait up to RELAY_UDP_QUEUE bytes per
 * session (more are dropped and counted, as UDP may).  A session
 * silent for RELAY_UDP_IDLE_S, or whose data connection closes, ends.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relay.h"

#define RELAY_UDP_QUEUE	 (64 * 1024)
#define RELAY_UDP_IDLE_S 120

struct relay_usess {
	struct wconn		base;
	struct relay_port      *p;
	struct relay_usess     *next;
	struct sockaddr_storage peer;
	socklen_t		plen;
	struct bufferevent     *bev; /* NULL until the data connection */
	struct evbuffer	       *queue;
	struct event	       *idle;
};

static void
relay_usess_free(struct relay_usess *s)
{
	struct relay_usess **pp;

	for (pp = &s->p->usess; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	wconn_remove(&s->base);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	evbuffer_free(s->queue);
	event_free(s->idle);
	s->p->nconns--;
	relay_port_release(s->p);
	free(s);
}

static void
relay_usess_touch(struct relay_usess *s)
{
	struct timeval tv = {RELAY_UDP_IDLE_S, 0};

	evtimer_add(s->idle, &tv);
}

/* Frames from the client: datagrams for the visitor. */
static void
relay_usess_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_usess *s = arg;
	struct evbuffer	   *in = bufferevent_get_input(bev);
	uint8_t		    b[65536 + 2];
	uint16_t	    n;

	while (evbuffer_get_length(in) >= 2) {
		evbuffer_copyout(in, &n, 2);
		n = ntohs(n);
		if (evbuffer_get_length(in) < (size_t)n + 2)
			return;
		evbuffer_remove(in, b, (size_t)n + 2);
		if (sendto(s->p->fd, b + 2, n, MSG_DONTWAIT,
			(struct sockaddr *)&s->peer, s->plen) == -1 &&
		    s->p->ctl != NULL)
			proc_count(s->p->ctl->w, STAT_DROP_SEND);
		relay_usess_touch(s);
	}
}

static void
relay_usess_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	relay_usess_free(arg);
}

static void
relay_usess_idle_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	relay_usess_free(arg);
}

/* The client's data connection for this session arrived. */
static void
relay_usess_mail(struct wconn *wc, const struct wmail *m, int fd)
{
	struct relay_usess *s = (struct relay_usess *)wc;
	struct worker	   *w = s->p->ctl != NULL ? s->p->ctl->w : NULL;

	if (m->type != MAIL_RELAY_DATA || fd == -1 || w == NULL ||
	    s->bev != NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	s->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		close(fd);
		relay_usess_free(s);
		return;
	}
	bufferevent_setcb(s->bev, relay_usess_read_cb, NULL,
	    relay_usess_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	bufferevent_write_buffer(s->bev, s->queue);
}

static struct relay_usess *
relay_usess_new(struct relay_port *p, const struct sockaddr_storage *peer,
    socklen_t plen)
{
	struct worker	   *w = p->ctl->w;
	struct relay_usess *s;

	if (p->nconns >= w->conf->relay_max_conns_per_port ||
	    (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->p = p;
	s->peer = *peer;
	s->plen = plen;
	s->base.mail = relay_usess_mail;
	s->queue = evbuffer_new();
	s->idle = evtimer_new(w->base, relay_usess_idle_cb, s);
	if (s->queue == NULL || s->idle == NULL || wconn_add(&s->base) == -1) {
		if (s->queue != NULL)
			evbuffer_free(s->queue);
		if (s->idle != NULL)
			event_free(s->idle);
		free(s);
		return NULL;
	}
	p->nconns++;
	s->next = p->usess;
	p->usess = s;
	if (relay_announce(p, s->base.id, (struct sockaddr *)peer, NULL) ==
	    -1) {
		relay_usess_free(s);
		return NULL;
	}
	relay_usess_touch(s);
	return s;
}

/* Datagrams from visitors on an exposed UDP port. */
void
relay_udp_read(evutil_socket_t fd, short ev, void *arg)
{
	struct relay_port      *p = arg;
	struct relay_usess     *s;
	struct evbuffer	       *out;
	struct sockaddr_storage ss;
	socklen_t		len;
	uint8_t			b[65536 + 2];
	uint16_t		n16;
	ssize_t			n;
	int			i;

	(void)ev;
	for (i = 0; i < 64 && p->ctl != NULL; i++) {
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		n = recvfrom(fd, b + 2, sizeof(b) - 2, MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &len);
		if (n < 0)
			return;
		for (s = p->usess; s != NULL; s = s->next)
			if (s->plen == len && memcmp(&s->peer, &ss, len) == 0)
				break;
		if (s == NULL && (s = relay_usess_new(p, &ss, len)) == NULL) {
			proc_count(p->ctl->w, STAT_DROP_RATELIMIT);
			continue;
		}
		n16 = htons((uint16_t)n);
		memcpy(b, &n16, 2);
		/* Before the data connection, or while it is slow: bounded. */
		out =
		    s->bev != NULL ? bufferevent_get_output(s->bev) : s->queue;
		if (evbuffer_get_length(out) + (size_t)n + 2 <= RELAY_UDP_QUEUE)
			evbuffer_add(out, b, (size_t)n + 2);
		else
			proc_count(p->ctl->w, STAT_DROP_SEND);
		relay_usess_touch(s);
	}
}

/* The port closes: its sessions end with it. */
void
relay_udp_close(struct relay_port *p)
{
	p->closed = 0; /* freed by the caller, not by the last session */
	while (p->usess != NULL)
		relay_usess_free(p->usess);
}
