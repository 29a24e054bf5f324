/*
 * An exposure's ready data connections (pool = N): the relay asks for
 * each with pool {id}; the agent dials it, says data {id}, and waits.
 * When a visitor comes the relay writes visitor {visitor} and starts
 * the stream at once; the agent then connects to the local service and
 * joins the two, the visitor's first bytes waiting in the data
 * connection's buffer meanwhile (it is not read until the join).  The
 * relay closes an idle one now and then and asks again; the agent never
 * writes on an idle one, so nothing it sends can land in a visitor's
 * stream.  At most spec.pool at a time, whatever the relay asks; an ask
 * that comes before the visitor line of the one it replaces (they come
 * on two connections) waits for it, spec.pool of them at most.
 */
#include "config.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>

#include "expose.h"
#include "httphead.h"
#include "lineout.h"

#define POOL_LINE_MAX 512 /* the visitor line */

struct expose_pooled {
	struct expose_run  *e;
	char		    id[64];
	struct dial	   *dial, *local_dial;
	struct bufferevent *data;
	int		    taken; /* a visitor's: no longer in the pool */
	char		    from[ADDR_STRLEN], to[ADDR_STRLEN]; /* PROXY */
	LIST_ENTRY(expose_pooled) entry;
};

static void pooled_open(struct expose_run *, const char *);

/* One pooled connection less: an ask that waited may have it. */
static void
pooled_left(struct expose_run *e)
{
	e->npooled--;
	if (e->nasks > 0 && e->ctl != NULL) {
		e->nasks--;
		pooled_open(e, e->asks[e->nasks]);
	}
}

static void
pooled_free(struct expose_pooled *c)
{
	LIST_REMOVE(c, entry);
	if (!c->taken)
		pooled_left(c->e);
	if (c->dial != NULL)
		dial_cancel(c->dial);
	if (c->local_dial != NULL)
		dial_cancel(c->local_dial);
	if (c->data != NULL)
		bufferevent_free(c->data);
	free(c);
}

static void
pooled_refused(struct expose_run *e, const char *why)
{
	char text[300];

	snprintf(text, sizeof(text), "local service %s", why);
	if (e->ctl != NULL)
		expose_send(e->ctl,
		    json_pack("{s:s,s:i,s:s}", "type", "refused", "remote_port",
			e->port, "error", text));
}

static void pooled_event_cb(struct bufferevent *, short, void *);

static void
pooled_answered_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pooled_free(arg);
}

/*
 * A web visitor (http, https) whose service failed is told so, as a
 * browser understands: 502 (or a TLS alert), then closed once written.
 * 0, or -1 for any other kind.
 */
static int
pooled_answer(struct expose_pooled *c)
{
	char   out[HTTPHEAD_ANSWER_MAX];
	size_t n;

	if (!c->e->type->vhost || c->data == NULL)
		return -1;
	n = httphead_answer(out, c->e->type->vhost == 2, 502);
	bufferevent_setcb(c->data, NULL, pooled_answered_cb, pooled_event_cb,
	    c);
	if (bufferevent_write(c->data, out, n) == -1 ||
	    bufferevent_enable(c->data, EV_WRITE) == -1)
		return -1;
	return 0;
}

/* The local service answered (or not): join, or end the visitor. */
static void
pooled_local_cb(struct bufferevent *bev, const char *why, int final,
    void *arg)
{
	struct expose_pooled *c = arg;
	struct expose_run    *e = c->e;
	struct bufferevent   *data = c->data;

	(void)final;
	c->local_dial = NULL;
	if (bev == NULL) {
		/* Closing the data connection closes the visitor; the relay
		 * hears why on the control connection. */
		agent_error(e->s, "a visitor was turned away: local service %s",
		    why);
		pooled_refused(e, why);
		if (pooled_answer(c) == -1)
			pooled_free(c);
		return;
	}
	c->data = NULL;
	expose_proxy(e, bev, c->from, c->to);
	pooled_free(c);
	e->s->visitors_total++;
	splice_join(e->s->a->base, data, bev, &e->joins);
}

/* Lines on an idle pooled connection: the visitor's, and only that. */
static void
pooled_read_cb(struct bufferevent *bev, void *arg)
{
	struct expose_pooled *c = arg;
	struct expose_run    *e = c->e;
	char		     *line;
	size_t		      n;
	json_t		     *msg;

	if ((line = evbuffer_readln(bufferevent_get_input(bev), &n,
		 EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) >
		    POOL_LINE_MAX) {
			agent_error(e->s, "the relay sent a pooled connection "
					  "a line of more than %d bytes",
			    POOL_LINE_MAX);
			pooled_free(c);
		}
		return;
	}
	msg = json_loadb(line, n, 0, NULL);
	free(line);
	if (msg == NULL || strcmp(client_json_type(msg), "visitor") != 0) {
		agent_error(e->s, "the relay sent a pooled connection a line "
				  "that is not visitor {…}");
		json_decref(msg);
		pooled_free(c);
		return;
	}
	expose_addr(c->from, msg, "visitor");
	expose_addr(c->to, msg, "to");
	json_decref(msg);
	c->taken = 1; /* the relay asks for another */
	pooled_left(e);
	/* The stream has begun: hold its bytes until the local side is
	 * there (the join reads them first). */
	bufferevent_disable(bev, EV_READ);
	if ((c->local_dial = dial_start(e->s->a->base, &e->s->a->o, &e->local,
		 0, pooled_local_cb, c)) == NULL) {
		agent_error(e->s, "a visitor was turned away: local service: %s",
		    strerror(errno));
		pooled_refused(e, strerror(errno));
		pooled_free(c);
	}
}

/* The relay closed an idle one (it asks again), or it failed. */
static void
pooled_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		pooled_free(arg);
}

static void
pooled_dialed_cb(struct bufferevent *bev, const char *why, int final,
    void *arg)
{
	struct expose_pooled *c = arg;
	char		      line[128];

	(void)final;
	c->dial = NULL;
	if (bev == NULL) {
		agent_error(c->e->s, "pooled data connection: %s", why);
		pooled_free(c);
		return;
	}
	c->data = bev;
	snprintf(line, sizeof(line), "{\"type\":\"data\",\"id\":\"%s\"}\n",
	    c->id);
	line_write(bev, line, strlen(line));
	bufferevent_setcb(bev, pooled_read_cb, NULL, pooled_event_cb, c);
	/* Watched for room only when the line did not all go out. */
	bufferevent_enable(bev,
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0
		? EV_READ | EV_WRITE
		: EV_READ);
}

static void
pooled_open(struct expose_run *e, const char *id)
{
	struct service	     *s = e->s;
	struct expose_pooled *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		agent_error(s, "pooled data connection: out of memory");
		return;
	}
	c->e = e;
	snprintf(c->id, sizeof(c->id), "%s", id);
	LIST_INSERT_HEAD(&e->pooled, c, entry);
	e->npooled++;
	if ((c->dial = dial_start(s->a->base, &e->relay, &e->server, 1,
		 pooled_dialed_cb, c)) == NULL) {
		agent_error(s, "pooled data connection: %s", strerror(errno));
		pooled_free(c);
	}
}

/* An id the relay gave for a data connection: lower-case hex that fits
 * in size bytes with its NUL. */
int
expose_id_ok(const char *id, size_t size)
{
	return strlen(id) < size &&
	    strspn(id, "0123456789abcdef") == strlen(id);
}

/* pool {id}: the relay asks for one more ready data connection. */
void
expose_pool_ask(struct expose_run *e, const char *id)
{
	struct service *s = e->s;
	unsigned	max = (unsigned)s->spec.pool;

	if (!expose_id_ok(id, sizeof(e->asks[0])) ||
	    (e->npooled >= max && e->nasks >= max)) {
		agent_error(s, "a pooled connection the relay asked for was "
			       "not made (%u of %u open, %u waiting, or a bad "
			       "id)",
		    e->npooled, max, e->nasks);
		return;
	}
	if (e->npooled >= max) {
		snprintf(e->asks[e->nasks++], sizeof(e->asks[0]), "%s", id);
		return;
	}
	pooled_open(e, id);
}

/* The control connection is gone: so are the relay's ends of these. */
void
expose_pool_close_all(struct expose_run *e)
{
	e->nasks = 0;
	while (!LIST_EMPTY(&e->pooled))
		pooled_free(LIST_FIRST(&e->pooled));
}
