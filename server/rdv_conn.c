/*
 * The rendezvous worker's connection registry and its mail.  A connection
 * is known to other workers by its id: the registry index it holds here
 * and a generation, so an id outlives neither its connection nor this
 * worker.  Mail for an id arrives through this worker's mailbox.
 */
#include "config.h"

#include <sys/random.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rendezvous.h"

static struct rdv_conn **rdv_conns;
static int		*rdv_free; /* stack of free indices */
static int		 rdv_nfree, rdv_max;
static uint32_t		 rdv_generation;

void
rdv_conn_init(struct worker *w)
{
	int i;

	rdv_max = w->conf->rendezvous_max_connections;
	rdv_conns = calloc((size_t)rdv_max, sizeof(*rdv_conns));
	rdv_free = calloc((size_t)rdv_max, sizeof(*rdv_free));
	if (rdv_conns == NULL || rdv_free == NULL)
		fatal("rdv_conn_init");
	for (i = 0; i < rdv_max; i++)
		rdv_free[i] = rdv_max - 1 - i;
	rdv_nfree = rdv_max;
	/* Random, so a respawned worker does not reuse a dead one's ids. */
	if (getrandom(&rdv_generation, sizeof(rdv_generation), 0) !=
	    sizeof(rdv_generation))
		fatal("getrandom");
}

/* Give c an id; -1 when this worker holds as many as it may. */
int
rdv_conn_add(struct rdv_conn *c)
{
	int i;

	if (rdv_nfree == 0)
		return -1;
	i = rdv_free[--rdv_nfree];
	rdv_conns[i] = c;
	c->id = (uint64_t)++rdv_generation << 32 | (uint32_t)i;
	return 0;
}

void
rdv_conn_remove(struct rdv_conn *c)
{
	int i = (int)(c->id & 0xffffffff);

	if (i < rdv_max && rdv_conns[i] == c) {
		rdv_conns[i] = NULL;
		rdv_free[rdv_nfree++] = i;
	}
}

struct rdv_conn *
rdv_conn_find(uint64_t id)
{
	uint32_t i = (uint32_t)(id & 0xffffffff);

	if (i >= (uint32_t)rdv_max || rdv_conns[i] == NULL ||
	    rdv_conns[i]->id != id)
		return NULL;
	return rdv_conns[i];
}

/* Post mail to connection `to` held by worker `ordinal`. */
int
rdv_mail_send(struct worker *w, int ordinal, uint64_t to, uint16_t type,
    const void *body, size_t len, uint64_t from)
{
	struct rdv_mail m;

	if (len > sizeof(m.body))
		return -1;
	m.to = to;
	m.from = from;
	m.from_ordinal = (uint16_t)w->ordinal;
	m.type = type;
	m.len = (uint32_t)len;
	if (len > 0)
		memcpy(m.body, body, len);
	if (mailbox_post(w, ordinal, &m,
		offsetof(struct rdv_mail, body) + len) == -1) {
		proc_count(w, STAT_DROP_MAIL);
		return -1;
	}
	return 0;
}

static void
rdv_mail_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;
	struct rdv_mail	 m;
	struct rdv_conn *c;
	ssize_t		 n;
	int		 i;

	(void)fd;
	(void)ev;
	for (i = 0; i < 64; i++) {
		if ((n = mailbox_read(w, &m, sizeof(m))) == -1)
			return;
		if (n < (ssize_t)offsetof(struct rdv_mail, body) ||
		    (size_t)n != offsetof(struct rdv_mail, body) + m.len)
			continue;
		if ((c = rdv_conn_find(m.to)) != NULL)
			c->mail(c, &m);
		else if (m.type != RDV_MAIL_GONE && m.from != 0)
			/* Tell the sender, so its side is not left waiting. */
			rdv_mail_send(w, m.from_ordinal, m.from, RDV_MAIL_GONE,
			    NULL, 0, 0);
	}
}

void
rdv_mail_start(struct worker *w)
{
	struct event *ev;

	ev = event_new(w->base, mailbox_fd(w), EV_READ | EV_PERSIST,
	    rdv_mail_cb, w);
	if (ev == NULL || event_add(ev, NULL) == -1)
		fatalx("cannot watch the mailbox");
}
