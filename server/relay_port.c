/*
 * Exposed ports and their visitors.  Each port is of a kind, a row of
 * relay_kinds: tcp (a visitor is a connection, joined to a data
 * connection; pooled ones too) or udp (relay_udp.c: datagrams carried
 * per visitor session).  A visitor on an exposed TCP port waits
 * while the client is sent conn {id}; the client's data connection with
 * that id may reach any relay worker, which finds the visitor's worker
 * in the table record D|id (used once) and hands the socket over by
 * mail.  Records:
 *
 *   D|id		  a waiting visitor (worker, connection id)
 *   R|client_id|name	  the port a client had, to give it back
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "named.h"
#include "relay.h"

#define RELAY_KEEP_PORT (86400 * 1000) /* ms a client's port is kept */

struct relay_visitor {
	struct wconn	   base;
	struct worker	  *w;
	struct relay_port *port;
	int		   fd;
	struct event	  *timer;
	struct state_exposure *expo;
	char		  *pre; /* a virtual host's head, to go first */
	size_t		   prelen;
	int		   use; /* LISTEN_HTTP(S) for a virtual host's, else 0 */
};

static void relay_visitor_refused(struct relay_visitor *, const struct wmail *);

static int relay_nvisitors; /* waiting for their data connection */

/* Free a closed port once its last stream is gone. */
void
relay_port_release(struct relay_port *p)
{
	if (p->nconns == 0 && p->closed)
		free(p);
}

void
relay_port_close(struct relay_port *p)
{
	if (p->kind->close != NULL)
		p->kind->close(p);
	relay_pool_close(p);
	relay_mux_close(p);
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->fd != -1)
		close(p->fd);
	p->closed = 1;
	p->ctl->w->slot->gauge[GAUGE_EXPOSURES]--;
	p->ctl = NULL;
	relay_port_release(p);
}

static void
relay_visitor_free(struct relay_visitor *v, int close_fd)
{
	relay_nvisitors--;
	if (close_fd)
		close(v->fd);
	wconn_remove(&v->base);
	if (v->timer != NULL)
		event_free(v->timer);
	free(v->pre);
	free(v);
}

/*
 * A waiting visitor failed (its client's service refused, or no data
 * connection came): a virtual host's is answered 502, any is closed,
 * and its place on the port is free again.
 */
static void
relay_visitor_drop(struct relay_visitor *v)
{
	struct relay_port *p = v->port;

	if (v->expo != NULL)
		v->expo->errors++;
	if (v->use != 0) {
		relay_vhost_fail(v->w, v->fd, v->use, 502);
		relay_visitor_free(v, 0);
	} else
		relay_visitor_free(v, 1);
	p->nconns--;
	relay_port_release(p);
}

static void
relay_stream_closed(void *arg)
{
	struct relay_port *p = arg;

	p->nconns--;
	relay_port_release(p);
}

/* A client's word that its service refused a visitor: counted, said. */
void
relay_refused_log(struct worker *w, int port, const char *text, size_t len)
{
	char why[RELAY_REASON_MAX + 1];

	if (len > RELAY_REASON_MAX)
		len = RELAY_REASON_MAX;
	memcpy(why, text, len);
	why[len] = '\0';
	log_sanitize(why);
	proc_count(w, STAT_LOCAL_REFUSED);
	log_info("a visitor to port %d was refused by the client: %s", port,
	    why);
}

/* The client could not reach its service: the visitor is closed now. */
static void
relay_visitor_refused(struct relay_visitor *v, const struct wmail *m)
{
	relay_refused_log(v->w, v->port->port, (const char *)m->body, m->len);
	relay_visitor_drop(v);
}

/* The client's data connection for this visitor arrived. */
static void
relay_visitor_mail(struct wconn *wc, const struct wmail *m, int fd)
{
	struct relay_visitor *v = (struct relay_visitor *)wc;
	struct relay_port    *p = v->port;
	struct worker	     *w = v->w;
	struct relay_lead     lead;
	int		      vfd = v->fd;

	if (m->type == MAIL_RELAY_REFUSED) {
		relay_visitor_refused(v, m);
		return;
	}
	if (m->type != MAIL_RELAY_DATA || fd == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	lead.pre = v->pre;
	lead.prelen = v->prelen;
	lead.use = v->use;
	lead.port = p;
	if (splice_join(w, vfd, fd, v->expo, &lead, relay_stream_closed, p) ==
	    -1) {
		log_warn("out of memory for a stream");
		p->nconns--;
		relay_port_release(p);
	}
	relay_visitor_free(v, 0);
}

static void
relay_visitor_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct relay_visitor *v = arg;

	(void)fd;
	(void)ev;
	proc_count(v->w, STAT_TIMEOUTS);
	relay_visitor_drop(v);
}

size_t
relay_key(uint8_t *key, char tag, const void *b, size_t n)
{
	key[0] = (uint8_t)tag;
	memcpy(key + 1, b, n);
	return 1 + n;
}

/* A visitor on an exposed port: tell the client, wait for its data. */
static void
relay_visitor_cb(evutil_socket_t lfd, short ev, void *arg)
{
	struct relay_port      *p = arg;
	struct sockaddr_storage ss;
	socklen_t		len = sizeof(ss);
	int			fd;

	(void)ev;
	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		 SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1 ||
	    p->ctl == NULL)
		return;
	worker_nodelay(fd);
	if (relay_visitor_start(p, fd, (struct sockaddr *)&ss, p->expo, NULL) ==
	    -1)
		close(fd);
}

/*
 * A visitor (fd, from the address from, or NULL to ask the socket) of
 * port p, counted in expo: to a pooled data connection, or the client
 * is told and we wait for its data connection; lead (or NULL) says what
 * goes first and what kind of visitor it is (a virtual host's is
 * answered 502 if it fails).  0 when it took fd; -1 when the port is
 * full (said to the client; fd is the caller's).
 */
int
relay_visitor_start(struct relay_port *p, int fd, const struct sockaddr *from,
    struct state_exposure *expo, const struct relay_lead *lead)
{
	static const struct relay_lead none;
	struct relay_ctl       *c = p->ctl;
	struct relay_visitor   *v;
	struct timeval		tv;
	struct sockaddr_storage ss, to;
	socklen_t		len = sizeof(ss), tolen = sizeof(to);

	if (p->nconns >= c->w->conf->relay_max_conns_per_port) {
		relay_error(c, "port_full",
		    "a visitor was refused: too many "
		    "connections on the port");
		return -1;
	}
	if (from != NULL)
		memcpy(&ss, from, from->sa_family == AF_INET6
			? sizeof(struct sockaddr_in6)
			: sizeof(struct sockaddr_in));
	else if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd); /* gone already */
		return 0;
	}
	if (expo != NULL)
		expo->visitors++;
	p->nconns++; /* a pooled connection's stream ends with it */
	if (lead == NULL)
		lead = &none;
	/* A virtual host's visitor, with its head read, is not muxed. */
	if ((lead->use == 0 && lead->prelen == 0 &&
		relay_mux_take(p, fd, (struct sockaddr *)&ss, expo,
		    relay_stream_closed, p) == 0) ||
	    relay_pool_take(p, fd, (struct sockaddr *)&ss, expo, lead,
		relay_stream_closed, p) == 0)
		return 0;
	p->nconns--;
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (lead->prelen > 0 && (v->pre = malloc(lead->prelen)) == NULL)) {
		/* Refused, not fatal: the worker serves everyone else. */
		free(v);
		proc_count(c->w, STAT_NOMEM);
		close(fd);
		return 0;
	}
	if (lead->prelen > 0)
		memcpy(v->pre, lead->pre, lead->prelen);
	v->prelen = lead->prelen;
	v->expo = expo;
	v->use = lead->use;
	v->w = c->w;
	v->port = p;
	v->fd = fd;
	v->base.mail = relay_visitor_mail;
	tv.tv_sec = c->w->conf->relay_handshake_timeout;
	tv.tv_usec = 0;
	if (wconn_add(&v->base) == -1) {
		free(v->pre);
		free(v);
		close(fd);
		return 0;
	}
	relay_nvisitors++;
	if ((v->timer = evtimer_new(c->w->base, relay_visitor_timeout_cb,
		 v)) == NULL) {
		/* Refused, not fatal: the worker serves everyone else. */
		proc_count(c->w, STAT_NOMEM);
		relay_visitor_free(v, 1);
		return 0;
	}
	if (getsockname(fd, (struct sockaddr *)&to, &tolen) == -1)
		tolen = 0;
	if (relay_announce(p, v->base.id, (struct sockaddr *)&ss,
		tolen > 0 ? (struct sockaddr *)&to : NULL) == -1) {
		relay_visitor_free(v, 1);
		return 0;
	}
	evtimer_add(v->timer, &tv);
	p->nconns++;
	return 0;
}

/*
 * A new one-time id for a data connection to connection conn of this
 * worker, recorded as D|id for relay.handshake_timeout: 0, or -1 when
 * tries ids all found their stripe of the table full.
 */
int
relay_wait_id(struct worker *w, uint64_t conn, uint8_t *id, int tries)
{
	struct relay_wait rw = {conn, (uint16_t)w->ordinal};
	uint8_t		  key[TABLE_KEY_MAX];

	/* Another id lands in another stripe of the table, which may
	 * have room where this one's had none. */
	while (tries-- > 0)
		if (getrandom(id, RELAY_ID_LEN, 0) == RELAY_ID_LEN &&
		    table_put(w->state->table, TABLE_KIND_RELAY_VISITOR, key,
			relay_key(key, 'D', id, RELAY_ID_LEN), &rw, sizeof(rw),
			(int64_t)w->conf->relay_handshake_timeout * 1000,
			table_now_ms()) == 0)
			return 0;
	return -1;
}

/*
 * Tell the port's client about a visitor (connection id conn in this
 * worker) under a new one-time id, recorded as D|id; 0, or -1.  The
 * visitor's address, and for TCP the address it reached (to), let the
 * client write a PROXY protocol header to its local service.
 */
int
relay_announce(struct relay_port *p, uint64_t conn,
    const struct sockaddr *visitor, const struct sockaddr *to)
{
	struct relay_ctl *c = p->ctl;
	uint8_t		  id[RELAY_ID_LEN];
	char		  hex[2 * RELAY_ID_LEN + 1], a[ADDR_STRLEN];
	char		  b[ADDR_STRLEN] = "";
	json_t		 *msg;

	if (relay_wait_id(c->w, conn, id, 1) == -1)
		return -1;
	addr_format_sa(visitor, a, sizeof(a));
	msg = json_pack("{s:s,s:s,s:s,s:i,s:s}", "type", "conn", "id",
	    hex_encode(id, sizeof(id), hex), "proto", p->kind->name, "remote_port",
	    p->port, "visitor", a);
	if (to != NULL && msg != NULL) {
		addr_format_sa(to, b, sizeof(b));
		json_object_set_new(msg, "to", json_string(b));
	}
	relay_send(c, msg);
	return 0;
}

/* The kinds of exposure, one row each. */
static const struct relay_kind relay_kinds[] = {
    {"tcp", SOCK_STREAM, relay_visitor_cb, NULL, 1, 1, relay_port_open},
    {"udp", SOCK_DGRAM, relay_udp_read, relay_udp_close, 0, 0,
	relay_port_open},
    {"http", 0, NULL, relay_vhost_close, 1, 0, relay_vhost_open},
    {"https", 0, NULL, relay_vhost_close, 1, 0, relay_vhost_open},
};

static const struct relay_kind *
relay_kind_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(relay_kinds) / sizeof(relay_kinds[0]); i++)
		if (strcmp(relay_kinds[i].name, name) == 0)
			return &relay_kinds[i];
	return NULL;
}

static int
relay_listen_on(struct relay_ctl *c, int port, const struct relay_kind *k)
{
	struct addr a = c->local;
	int	    fd, on = 1, stream = k->socktype == SOCK_STREAM;

	addr_set_port(&a, (uint16_t)port);
	fd = socket(addr_family(&a), k->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	if (stream)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) == -1 ||
	    (stream && listen(fd, LISTEN_BACKLOG) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * An older control connection of the same client id in this worker is
 * one the client lost and the relay has not noticed yet (the id names
 * one exposure of one host): its ports go at once, so the new one gets
 * them back, and it is told so, in case it is alive after all.
 */
static void
relay_take_over(struct relay_ctl *c)
{
	struct relay_ctl *o;
	int		  i;

	for (o = LIST_FIRST(&relay_ctls); o != NULL; o = LIST_NEXT(o, entry)) {
		if (o == c || o->jl.closing || !o->authed || o->nports == 0 ||
		    strcmp(o->client, c->client) != 0 ||
		    strcmp(o->client_id, c->client_id) != 0)
			continue;
		for (i = 0; i < o->nports; i++)
			relay_port_close(o->ports[i]);
		o->nports = 0;
		relay_close_with(o, "taken_over",
		    "a newer connection of this client took its ports over");
		return; /* o may be freed: the list is not walked on */
	}
}

/* A port for this client: its old one if free, else any in the range. */
static int
relay_pick_port(struct relay_ctl *c, const struct conf_range *r, int want,
    const struct relay_kind *k, const uint8_t *rkey, size_t rlen, int *port)
{
	int fd, i, old = 0, span = r->high - r->low + 1;
	uint32_t		 rnd;

	if (want == 0 &&
	    table_get(c->w->state->table, TABLE_KIND_RELAY_PORT, rkey, rlen,
		&old, sizeof(old), table_now_ms()) == (int)sizeof(old) &&
	    old >= r->low && old <= r->high &&
	    (fd = relay_listen_on(c, old, k)) != -1) {
		*port = old;
		return fd;
	}
	if (want != 0) {
		*port = want;
		return relay_listen_on(c, want, k);
	}
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = 0;
	for (i = 0; i < span; i++) {
		*port = r->low + (int)((rnd + (uint32_t)i) % (uint32_t)span);
		if ((fd = relay_listen_on(c, *port, k)) != -1)
			return fd;
	}
	return -1;
}

/*
 * The ports a client holds: a named one's on all its connections to
 * this worker, a bare token's on this connection.
 */
static int
relay_client_ports(const struct relay_ctl *c)
{
	const struct relay_ctl *o;
	int			n = 0;

	if (strcmp(c->client, "-") == 0)
		return c->nports;
	LIST_FOREACH(o, &relay_ctls, entry)
	if (!o->jl.closing && strcmp(o->client, c->client) == 0)
		n += o->nports;
	return n;
}

/*
 * The ports this client may have: relay.port_range, narrowed by its
 * token's ports=; -1 when the two do not meet.
 */
static int
relay_client_range(const struct relay_ctl *c, struct conf_range *r)
{
	const struct relay_token *t = &c->w->conf->relay_tokens[c->token];

	*r = c->w->conf->relay_port_range;
	if (t->port_low != 0) {
		if (t->port_low > r->low)
			r->low = t->port_low;
		if (t->port_high < r->high)
			r->high = t->port_high;
	}
	return r->low <= r->high ? 0 : -1;
}

/*
 * open for tcp and udp: a port of its own (remote_port, or the one the
 * client had, or any free one in its range), remembered as R|... so the
 * client gets it back.  0, or -1 with the error answered.
 */
int
relay_port_open(struct relay_ctl *c, struct relay_port *p, json_t *msg,
    json_t *exposed)
{
	const struct relay_kind *k = p->kind;
	struct conf_range	 range, *r = &range;
	json_int_t		 want = 0;
	uint8_t			 rkey[TABLE_KEY_MAX];
	char			 idname[160];
	size_t			 rlen;

	json_unpack(msg, "{s?I}", "remote_port", &want);
	if (relay_client_range(c, r) == -1 ||
	    (want != 0 && (want < r->low || want > r->high))) {
		relay_error(c, "port_not_allowed",
		    "remote_port is outside relay.port_range or this client's "
		    "ports=");
		return -1;
	}
	snprintf(idname, sizeof(idname), "%s|%s|%s", c->client, c->client_id,
	    p->name);
	rlen = relay_key(rkey, 'R', idname,
	    strlen(idname) > TABLE_KEY_MAX - 1 ? TABLE_KEY_MAX - 1
					       : strlen(idname));
	if ((p->fd = relay_pick_port(c, r, (int)want, k, rkey, rlen,
		 &p->port)) == -1) {
		relay_error(c, "port_busy",
		    want != 0 ? "remote_port is taken" : "no free port");
		return -1;
	}
	if ((p->ev = event_new(c->w->base, p->fd, EV_READ | EV_PERSIST,
		 k->visitor, p)) == NULL) {
		proc_count(c->w, STAT_NOMEM);
		close(p->fd);
		relay_error(c, "internal", "out of memory");
		return -1;
	}
	event_add(p->ev, NULL);
	table_put(c->w->state->table, TABLE_KIND_RELAY_PORT, rkey, rlen,
	    &p->port, sizeof(p->port), RELAY_KEEP_PORT, table_now_ms());
	snprintf(idname, sizeof(idname), "%s/%d", k->name, p->port);
	p->expo = state_exposure_find(c->w->slot->expo, STATE_EXPOSURES_MAX,
	    p->name[0] != '\0' ? p->name : idname);
	log_info("client %s (id %s) exposes %s port %d", c->client,
	    c->client_id, k->name, p->port);
	json_object_set_new(exposed, "remote_port", json_integer(p->port));
	return 0;
}

void
relay_expose(struct relay_ctl *c, json_t *msg)
{
	const struct relay_token *t = &c->w->conf->relay_tokens[c->token];
	const char		*proto = NULL, *name = "";
	json_int_t		 pool = 0;
	int			 mux = 0;
	struct relay_port	*p;
	const struct relay_kind *k;
	json_t			*exposed;

	if (json_unpack(msg, "{s:s,s?s,s?I,s?b}", "proto", &proto, "name",
		&name, "pool", &pool, "mux", &mux) == -1)
		return relay_error(c, "bad_message",
		    "expose needs proto; remote_port (or domains), name, "
		    "pool and mux are optional");
	if ((k = relay_kind_find(proto)) == NULL)
		return relay_error(c, "unsupported",
		    "proto is tcp, udp, http or https");
	if (name[0] != '\0' && !named_name_ok(name))
		return relay_error(c, "bad_name",
		    "a name is 1 to 32 of A-Z a-z 0-9 . _ -");
	relay_take_over(c);
	if (relay_client_ports(c) >=
	    (t->max_ports != 0 ? t->max_ports : c->w->conf->relay_max_ports))
		return relay_error(c, "too_many_ports",
		    "relay.max_ports_per_client (or this client's max_ports=) "
		    "reached");
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (exposed = json_pack("{s:s,s:s,s:s}", "type", "exposed", "proto",
		 proto, "name", name)) == NULL) {
		free(p);
		proc_count(c->w, STAT_NOMEM);
		return relay_error(c, "internal", "out of memory");
	}
	p->ctl = c;
	p->fd = -1;
	p->kind = k;
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (k->open(c, p, msg, exposed) == -1) {
		json_decref(exposed);
		free(p);
		return;
	}
	c->ports[c->nports++] = p;
	c->w->slot->gauge[GAUGE_EXPOSURES]++;
	if (!k->pooled || pool < 0)
		pool = 0;
	if (pool > c->w->conf->relay_pool_max)
		pool = c->w->conf->relay_pool_max;
	/* Said before the pool's asks, so the client knows the port first. */
	json_object_set_new(exposed, "pool", json_integer(pool));
	mux = mux && k->mux;
	json_object_set_new(exposed, "mux", json_boolean(mux));
	/* A client heartbeats often enough to stay within it. */
	json_object_set_new(exposed, "idle_timeout",
	    json_integer(c->w->conf->relay_idle_timeout));
	relay_send(c, exposed);
	relay_pool_open(p, (int)pool);
	if (mux && relay_mux_open(p) == -1)
		proc_count(c->w, STAT_NOMEM);
}

/* What list says of a port. */
static json_t *
relay_port_describe(const struct relay_port *p)
{
	json_t *j = json_pack("{s:s,s:i,s:s,s:i}", "proto", p->kind->name,
	    "remote_port", p->port, "name", p->name, "connections", p->nconns);
	json_t *d = json_array();
	int	i;

	for (i = 0; i < p->ndomains; i++)
		json_array_append_new(d, json_string(p->domains[i]));
	if (p->ndomains > 0)
		json_object_set_new(j, "domains", d);
	else
		json_decref(d);
	return j;
}

void
relay_list(struct relay_ctl *c)
{
	json_t *ports = json_array();
	int	i;

	for (i = 0; i < c->nports; i++)
		json_array_append_new(ports,
		    relay_port_describe(c->ports[i]));
	relay_send(c, json_pack("{s:s,s:o}", "type", "list", "ports", ports));
}

void
relay_unexpose(struct relay_ctl *c, json_t *msg)
{
	json_int_t port = 0;
	int	   i;

	json_unpack(msg, "{s:I}", "remote_port", &port);
	for (i = 0; i < c->nports; i++)
		if (c->ports[i]->port == port) {
			relay_port_close(c->ports[i]);
			c->ports[i] = c->ports[--c->nports];
			relay_send(c,
			    json_pack("{s:s,s:I}", "type", "unexposed",
				"remote_port", port));
			return;
		}
	relay_error(c, "not_found", "no such exposed port");
}

/* Visitors that wait for their client's data connection. */
int
relay_visitors_waiting(void)
{
	return relay_nvisitors;
}

/* Take the visitor's record: it is used once. */
static enum table_action
relay_take_fn(void *val, size_t *len, int found, void *arg)
{
	if (!found || *len != sizeof(struct relay_wait))
		return TABLE_KEEP;
	memcpy(arg, val, sizeof(struct relay_wait));
	return TABLE_DELETE;
}

/*
 * A client's data connection for visitor id: to the visitor's worker.
 * With error, the client could not reach its local service: the
 * visitor's worker is told, and closes the visitor at once.  With ack
 * the client waits for a line before it joins the connection to its
 * local service: joined, or the error, so that no word of ours can be
 * taken for the visitor's bytes.  1 when a visitor (or a pool) waited
 * for it, 0 when none did.
 */
int
relay_data_start(struct worker *w, int fd, const char *hexid, const char *error,
    int ack)
{
	static const char unknown[] =
	    "{\"type\":\"error\",\"code\":\"unknown_id\","
	    "\"message\":\"no visitor waits for this id\"}\n";
	static const char joined[] = "{\"type\":\"joined\"}\n";
	struct relay_wait rw;
	uint8_t		  id[RELAY_ID_LEN], key[TABLE_KEY_MAX];
	int		  sent;

	memset(&rw, 0, sizeof(rw));
	if (hex_decode(hexid, id, RELAY_ID_LEN) == 0)
		table_update(w->state->table, TABLE_KIND_RELAY_VISITOR, key,
		    relay_key(key, 'D', id, sizeof(id)), relay_take_fn, &rw, 0,
		    table_now_ms());
	if (rw.visitor == 0)
		sent = -1;
	else if (error != NULL)
		sent = wmail_send(w, rw.ordinal, rw.visitor, MAIL_RELAY_REFUSED,
		    error,
		    strlen(error) < RELAY_REASON_MAX ? strlen(error)
						     : RELAY_REASON_MAX,
		    0);
	else {
		/* Before the visitor's worker has it: first on the stream.
		 * A new connection's empty buffer takes the line whole. */
		if (ack && send(fd, joined, sizeof(joined) - 1,
			       MSG_NOSIGNAL | MSG_DONTWAIT) !=
			(ssize_t)sizeof(joined) - 1) {
			close(fd);
			return 1;
		}
		if (wmail_send_fd(w, rw.ordinal, rw.visitor, MAIL_RELAY_DATA,
			NULL, 0, fd) == 0)
			return 1; /* the visitor's worker has it */
		sent = -1;
	}
	if (sent == -1) {
		proc_count(w, STAT_ERRORS);
		send(fd, unknown, sizeof(unknown) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	close(fd);
	return rw.visitor != 0;
}
