/*
 * An exposure's visitors over one data connection (mux = yes): the
 * relay asks for it with mux {id}; the agent dials it, says data {id},
 * and from then on the relay opens a stream on it for each visitor
 * (common/muxconn.c).  For each the agent dials the local service
 * (with a PROXY header from the stream's "visitor to" when asked for)
 * and joins the two, or resets the stream saying why, which the relay
 * logs.  A visitor costs no connection to the relay and no TLS
 * handshake; an idle one, its local socket and a few hundred bytes.
 * A carrier outlives a lost control connection until the relay ends it
 * (its streams go on); EXPOSE_MUX_MAX carriers at most, streams by
 * EXPOSE_MUX_STREAMS, past which a visitor's stream is reset.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evsock.h"
#include "expose.h"
#include "lineout.h"
#include "log.h"
#include "muxconn.h"

#define EXPOSE_MUX_MAX	   4	 /* carriers of an exposure at once */
#define EXPOSE_MUX_STREAMS 65536 /* visitors of an exposure at once */

struct expose_mux {
	struct expose_run *e;
	char		   id[64];
	struct dial	  *dial;
	struct muxc	  *carrier;
	LIST_ENTRY(expose_mux) entry;
};

/* A visitor: its local service being dialled, then joined. */
struct expose_mstream {
	struct expose_mux  *x;
	struct muxc_stream *s;
	struct dial	   *dial;
	int		    joined;
	char		    from[ADDR_STRLEN], to[ADDR_STRLEN];
};

/* A carrier that is not (or no longer) there: forgotten. */
static void
expose_mux_forget(struct expose_mux *x)
{
	LIST_REMOVE(x, entry);
	x->e->nmux--;
	free(x);
}

static void
expose_mux_moved(void *arg, int dir, size_t n)
{
	struct expose_mstream *t = arg;
	struct service	      *s = t->x->e->s;

	/* Direction 1 comes from the relay: bytes in, to the service. */
	*(dir == 1 ? &s->bytes_in : &s->bytes_out) += n;
}

static void
expose_mux_ended(void *arg, const char *reason)
{
	struct expose_mstream *t = arg;

	(void)reason;
	if (t->dial != NULL)
		dial_cancel(t->dial);
	if (t->joined)
		t->x->e->s->visitors--;
	t->x->e->nmuxed--;
	free(t);
}

/* The carrier went (its streams ended before): forgotten. */
static void
expose_mux_dead(void *arg, const char *why)
{
	struct expose_mux *x = arg;

	if (strcmp(why, "closed") != 0)
		agent_error(x->e->s, "mux connection: %s", why);
	expose_mux_forget(x);
}

/* The local service answered (or not): joined, or the stream reset. */
static void
expose_mux_local_cb(struct bufferevent *bev, const char *why, int final,
    void *arg)
{
	struct expose_mstream *t = arg;
	struct expose_run     *e = t->x->e;
	struct evsock	      *sock;
	char		       text[300];

	(void)final;
	t->dial = NULL;
	if (bev == NULL) {
		agent_error(e->s, "a visitor was turned away: local service %s",
		    why);
		snprintf(text, sizeof(text), "local service %s", why);
		muxc_reset(t->s, text);
		return;
	}
	expose_proxy(e, bev, t->from, t->to);
	if ((sock = evsock_take(e->s->a->base, bev, NULL, NULL)) == NULL) {
		muxc_reset(t->s, "the client is out of memory");
		return;
	}
	t->joined = 1;
	e->s->visitors++;
	e->s->visitors_total++;
	muxc_attach(t->s, sock);
}

/* The relay opened a stream for a visitor ("visitor to"). */
static void
expose_mux_opened(void *arg, struct muxc_stream *s, const char *meta)
{
	struct expose_mux     *x = arg;
	struct expose_run     *e = x->e;
	struct expose_mstream *t;
	const char	      *sp = strchr(meta, ' ');
	char		       text[300];

	if (e->nmuxed >= EXPOSE_MUX_STREAMS ||
	    (t = calloc(1, sizeof(*t))) == NULL) {
		muxc_reset(s, e->nmuxed >= EXPOSE_MUX_STREAMS
			? "the client has too many visitors"
			: "the client is out of memory");
		return;
	}
	t->x = x;
	t->s = s;
	e->nmuxed++;
	muxc_set_arg(s, t);
	/* Addresses for a PROXY header; anything else is not one. */
	if (sp != NULL && (size_t)(sp - meta) < sizeof(t->from) &&
	    strlen(sp + 1) < sizeof(t->to)) {
		memcpy(t->from, meta, (size_t)(sp - meta));
		snprintf(t->to, sizeof(t->to), "%s", sp + 1);
		log_sanitize(t->from);
		log_sanitize(t->to);
	}
	if ((t->dial = dial_start(e->s->a->base, &e->s->a->o, &e->local, 0,
		 expose_mux_local_cb, t)) == NULL) {
		snprintf(text, sizeof(text), "local service: %s",
		    strerror(errno));
		agent_error(e->s, "a visitor was turned away: %s", text);
		muxc_reset(s, text);
	}
}

static const struct muxc_ops expose_mux_ops = {0, expose_mux_opened,
    expose_mux_moved, expose_mux_ended, expose_mux_dead};

/* The carrier's connection to the relay: data {id}, then frames. */
static void
expose_mux_dialed_cb(struct bufferevent *bev, const char *why, int final,
    void *arg)
{
	struct expose_mux *x = arg;
	struct expose_run *e = x->e;
	struct evsock	  *sock;
	char		   line[128];

	(void)final;
	x->dial = NULL;
	if (bev != NULL) {
		snprintf(line, sizeof(line),
		    "{\"type\":\"data\",\"id\":\"%s\"}\n", x->id);
		line_write(bev, line, strlen(line));
		if ((sock = evsock_take(e->s->a->base, bev, NULL, NULL)) !=
		    NULL)
			x->carrier = muxc_new(e->s->a->base, sock,
			    &expose_mux_ops, x, 0);
		why = "out of memory";
	}
	if (x->carrier == NULL) {
		agent_error(e->s, "mux connection: %s", why);
		expose_mux_forget(x);
	}
}

/* mux {id}: the relay asks for the carrier of the exposure's visitors. */
void
expose_mux_ask(struct expose_run *e, const char *id)
{
	struct service	  *s = e->s;
	struct expose_mux *x;

	if (!expose_id_ok(id, sizeof(x->id)) || e->nmux >= EXPOSE_MUX_MAX ||
	    (x = calloc(1, sizeof(*x))) == NULL) {
		agent_error(s, "a mux connection the relay asked for was not "
			       "made (%u open, or a bad id)",
		    e->nmux);
		return;
	}
	x->e = e;
	snprintf(x->id, sizeof(x->id), "%s", id);
	LIST_INSERT_HEAD(&e->muxes, x, entry);
	e->nmux++;
	if ((x->dial = dial_start(s->a->base, &e->relay, &e->server, 1,
		 expose_mux_dialed_cb, x)) == NULL) {
		agent_error(s, "mux connection: %s", strerror(errno));
		expose_mux_forget(x);
	}
}

/* The exposure stops: its carriers and their visitors end now. */
void
expose_mux_close_all(struct expose_run *e)
{
	struct expose_mux *x;

	while ((x = LIST_FIRST(&e->muxes)) != NULL) {
		if (x->carrier != NULL)
			muxc_free(x->carrier); /* expose_mux_dead frees x */
		else {
			dial_cancel(x->dial);
			expose_mux_forget(x);
		}
	}
}

/* The round trip of the newest carrier's last ping, or 0. */
int64_t
expose_mux_rtt_us(const struct expose_run *e)
{
	struct expose_mux *x;

	LIST_FOREACH(x, &e->muxes, entry)
		if (x->carrier != NULL)
			return muxc_rtt_us(x->carrier);
	return 0;
}
