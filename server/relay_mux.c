/*
 * A TCP port's visitors over one data connection (expose "mux":true):
 * the relay asks the client for it with mux {id}, as for a pooled one,
 * and its data connection with that id comes by mail.  From then on
 * each visitor is a stream on it (common/muxconn.c), opened with
 * "visitor to" (its address, and the one it reached, for a PROXY
 * header); the client dials its service and says why in the stream's
 * RESET when it cannot.  While there is no carrier (asked, or lost) a
 * visitor takes the pool or the dial-back as before.  A carrier
 * outlives its port (the control connection went, or the worker
 * drains) until its last stream ends, as joined streams do.  Bounds:
 * one carrier per port; visitors by relay.max_conns_per_port, counted
 * with the port's other streams; idle streams by relay.idle_timeout.
 */
#include "config.h"

#include <sys/socket.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evsock.h"
#include "hex.h"
#include "log.h"
#include "muxconn.h"
#include "relay.h"

#define RELAY_MUX_ASK_MS   3000 /* an unanswered ask is made again */
#define RELAY_MUX_AGAIN_MS 1000 /* after a carrier was lost */
#define RELAY_MUX_TRIES	   4

struct relay_mux {
	struct wconn	   base; /* its data connection comes by mail */
	struct worker	  *w;
	struct relay_port *port; /* NULL once the port closed */
	struct muxc	  *carrier;
	int		   portnum; /* for the log, after the port went */
	struct event	  *again;
	int		   registered;
};

/* A visitor's stream, what it counts and whom it tells at its end. */
struct relay_mstream {
	struct relay_mux  *x;
	struct relay_port *port;
	struct state_exposure *expo; /* its counters, or NULL */
	void (*done)(void *);
	void		  *arg;
};

static int relay_mux_live; /* streams in this worker */

int
relay_mux_count(void)
{
	return relay_mux_live;
}

static void
relay_mux_free(struct relay_mux *x)
{
	if (x->registered)
		wconn_remove(&x->base);
	event_free(x->again);
	free(x);
}

static void
relay_mux_later(struct relay_mux *x, int ms)
{
	struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(x->again, &tv);
}

/* Ask the client for the carrier; again later if it does not come. */
static void
relay_mux_ask(struct relay_mux *x)
{
	uint8_t id[RELAY_ID_LEN];
	char	hex[2 * RELAY_ID_LEN + 1];

	if (x->port == NULL || x->port->ctl == NULL || x->carrier != NULL)
		return;
	if (relay_wait_id(x->w, x->base.id, id, RELAY_MUX_TRIES) == 0)
		relay_send(x->port->ctl,
		    json_pack("{s:s,s:s,s:i}", "type", "mux", "id",
			hex_encode(id, sizeof(id), hex), "remote_port",
			x->port->port));
	relay_mux_later(x, RELAY_MUX_ASK_MS);
}

static void
relay_mux_again_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	relay_mux_ask(arg);
}

/* Direction 0, the visitor to the client, is in; 1 is out. */
static void
relay_mux_moved(void *arg, int dir, size_t n)
{
	struct relay_mstream *t = arg;

	t->x->w->slot->counter[dir == 0 ? STAT_BYTES_IN : STAT_BYTES_OUT] +=
	    n;
	if (t->expo != NULL)
		t->expo->bytes[dir] += n;
}

static void
relay_mux_ended(void *arg, const char *reason)
{
	struct relay_mstream *t = arg;
	struct relay_mux     *x = t->x;

	/* The client's word: its service refused the visitor. */
	if (reason != NULL && reason[0] != '\0') {
		relay_refused_log(x->w, t->port->port, reason, strlen(reason));
		if (t->expo != NULL)
			t->expo->errors++;
	}
	x->w->slot->gauge[GAUGE_STREAMS]--;
	relay_mux_live--;
	t->done(t->arg);
	free(t);
	/* A port's carrier that outlived it goes with its last stream;
	 * x goes in relay_mux_dead. */
	if (x->port == NULL && muxc_count(x->carrier) == 0)
		muxc_free(x->carrier);
}

/* The carrier went (its streams have ended): asked for anew, or x goes
 * with it when its port has. */
static void
relay_mux_dead(void *arg, const char *why)
{
	struct relay_mux *x = arg;

	if (strcmp(why, "closed") != 0) /* not by us */
		log_info("the mux connection of port %d ended: %s",
		    x->portnum, why);
	x->carrier = NULL;
	x->w->slot->gauge[GAUGE_MUX]--;
	if (x->port == NULL)
		relay_mux_free(x);
	else
		relay_mux_later(x, RELAY_MUX_AGAIN_MS);
}

static void
relay_mux_opened(void *arg, struct muxc_stream *s, const char *meta)
{
	(void)arg;
	(void)meta;
	muxc_reset(s, "the relay opens the streams");
}

static struct muxc_ops relay_mux_ops = {0, relay_mux_opened,
    relay_mux_moved, relay_mux_ended, relay_mux_dead};

/* The client's data connection for the carrier arrived (by mail). */
static void
relay_mux_mail(struct wconn *wc, const struct wmail *m, int fd)
{
	struct relay_mux *x = (struct relay_mux *)wc;
	struct evsock	 *sock;

	if (m->type != MAIL_RELAY_DATA || fd == -1 || x->carrier != NULL ||
	    x->port == NULL) {
		if (fd != -1)
			close(fd); /* late, or a second: one is enough */
		return;
	}
	relay_mux_ops.idle_s = x->w->conf->relay_idle_timeout;
	worker_nodelay(fd);
	if ((sock = evsock_new(x->w->base, fd, NULL, NULL)) == NULL ||
	    (x->carrier = muxc_new(x->w->base, sock, &relay_mux_ops, x, 1)) ==
		NULL) {
		if (sock == NULL)
			close(fd);
		proc_count(x->w, STAT_NOMEM);
		relay_mux_later(x, RELAY_MUX_AGAIN_MS);
		return;
	}
	x->w->slot->gauge[GAUGE_MUX]++;
	evtimer_del(x->again);
}

/* Port p's carrier, asked for now: 0, or -1. */
int
relay_mux_open(struct relay_port *p)
{
	struct relay_mux *x = calloc(1, sizeof(*x));

	if (x == NULL ||
	    (x->again = evtimer_new(p->ctl->w->base, relay_mux_again_cb, x)) ==
		NULL) {
		free(x);
		return -1;
	}
	x->w = p->ctl->w;
	x->port = p;
	x->portnum = p->port;
	x->base.mail = relay_mux_mail;
	if (wconn_add(&x->base) == -1) {
		relay_mux_free(x);
		return -1;
	}
	x->registered = 1;
	p->mux = x;
	relay_mux_ask(x);
	return 0;
}

/*
 * A visitor (vfd, from visitor) as a stream on p's carrier: 0 when it
 * took it (done(arg) at its end, counted in expo), -1 when there is no
 * carrier now.
 */
int
relay_mux_take(struct relay_port *p, int vfd, const struct sockaddr *visitor,
    struct state_exposure *expo, void (*done)(void *), void *arg)
{
	struct relay_mux       *x = p->mux;
	struct relay_mstream   *t;
	struct evsock	       *sock;
	struct sockaddr_storage to;
	socklen_t		tolen = sizeof(to);
	char			meta[2 * ADDR_STRLEN + 2], a[ADDR_STRLEN];
	char			b[ADDR_STRLEN] = "?";

	if (x == NULL || x->carrier == NULL)
		return -1;
	addr_format_sa(visitor, a, sizeof(a));
	if (getsockname(vfd, (struct sockaddr *)&to, &tolen) == 0)
		addr_format_sa((struct sockaddr *)&to, b, sizeof(b));
	snprintf(meta, sizeof(meta), "%s %s", a, b);
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (sock = evsock_new(x->w->base, vfd, NULL, NULL)) == NULL) {
		free(t);
		proc_count(x->w, STAT_NOMEM);
		close(vfd);
		done(arg);
		return 0;
	}
	t->x = x;
	t->port = p;
	t->expo = expo;
	t->done = done;
	t->arg = arg;
	if (muxc_open(x->carrier, sock, meta, t) == NULL) {
		/* sock (and vfd) freed */
		free(t);
		proc_count(x->w, STAT_NOMEM);
		done(arg);
		return 0;
	}
	x->w->slot->gauge[GAUGE_STREAMS]++;
	relay_mux_live++;
	proc_count(x->w, STAT_MUX_STREAMS);
	return 0;
}

/* The port closes: its carrier stays until its streams end. */
void
relay_mux_close(struct relay_port *p)
{
	struct relay_mux *x = p->mux;

	if (x == NULL)
		return;
	p->mux = NULL;
	x->port = NULL;
	evtimer_del(x->again);
	wconn_remove(&x->base);
	x->registered = 0;
	if (x->carrier == NULL)
		relay_mux_free(x);
	else if (muxc_count(x->carrier) == 0)
		muxc_free(x->carrier); /* x too, in relay_mux_dead */
}
