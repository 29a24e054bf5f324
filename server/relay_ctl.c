/*
 * Relay control connections (JSON lines) and the ports they expose.
 *
 *   hello {version, client_id} -> challenge {nonce}
 *   auth {hmac}                -> ok, or error (rate-limited, logged)
 *   expose {proto, remote_port, name} -> exposed {remote_port, …}
 *   list, unexpose {remote_port}, heartbeat
 *   meet {session}             -> met, then the two meeting clients'
 *				   sockets are joined (relay fallback)
 *
 * A visitor on an exposed port waits while the client is sent
 * conn {id}; the client's data connection with that id may reach any
 * relay worker, which finds the visitor's worker in the table record
 * D|id (used once) and hands the socket over by mail.  Records:
 *
 *   D|id		  a waiting visitor (worker, connection id)
 *   R|client_id|name	  the port a client had, to give it back
 *   M|session		  a client waiting to meet its peer
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "named.h"
#include "ratelimit.h"
#include "relay.h"
#include "siphash.h"

#define RELAY_KEEP_PORT	 (86400 * 1000) /* ms a client's port is kept */
#define RELAY_OUTPUT_MAX (64 * 1024)

struct relay_visitor {
	struct wconn	   base;
	struct worker	  *w;
	struct relay_port *port;
	int		   fd;
	struct event	  *timer;
};

static void relay_ctl_free(struct relay_ctl *);

static void
relay_send(struct relay_ctl *c, json_t *msg)
{
	jsonline_send(c->bev, msg);
}

static void
relay_error(struct relay_ctl *c, const char *code, const char *message)
{
	char a[ADDR_STRLEN];

	proc_count(c->w, STAT_ERRORS);
	log_info("%s: %s (client %s)", code, message,
	    addr_format(&c->peer, a, sizeof(a)));
	relay_send(c,
	    json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message",
		message));
}

/* Say why, then close once the output is flushed. */
static void
relay_close_with(struct relay_ctl *c, const char *code, const char *message)
{
	relay_error(c, code, message);
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		relay_ctl_free(c);
}

void
relay_port_release(struct relay_port *p)
{
	if (p->nconns == 0 && p->closed)
		free(p);
}

static void
relay_port_close(struct relay_port *p)
{
	if (p->udp)
		relay_udp_close(p);
	event_free(p->ev);
	close(p->fd);
	p->closed = 1;
	p->ctl = NULL;
	relay_port_release(p);
}

static void
relay_ctl_free(struct relay_ctl *c)
{
	int i;

	wconn_remove(&c->base);
	/* Streams already joined go on; new visitors are not taken. */
	for (i = 0; i < c->nports; i++)
		relay_port_close(c->ports[i]);
	jsonline_close(c->w, c->bev, c->closing);
	free(c);
}

static void
relay_visitor_free(struct relay_visitor *v, int close_fd)
{
	if (close_fd)
		close(v->fd);
	wconn_remove(&v->base);
	event_free(v->timer);
	free(v);
}

static void
relay_stream_closed(void *arg)
{
	struct relay_port *p = arg;

	p->nconns--;
	relay_port_release(p);
}

/* The client's data connection for this visitor arrived. */
static void
relay_visitor_mail(struct wconn *wc, const struct wmail *m, int fd)
{
	struct relay_visitor *v = (struct relay_visitor *)wc;
	struct relay_port    *p = v->port;
	struct worker	     *w = v->w;
	int		      vfd = v->fd;

	if (m->type != MAIL_RELAY_DATA || fd == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	relay_visitor_free(v, 0);
	if (splice_join(w, vfd, fd, relay_stream_closed, p) == -1) {
		log_warn("out of memory for a stream");
		p->nconns--;
		relay_port_release(p);
	}
}

static void
relay_visitor_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct relay_visitor *v = arg;
	struct relay_port    *p = v->port;

	(void)fd;
	(void)ev;
	proc_count(v->w, STAT_TIMEOUTS);
	relay_visitor_free(v, 1);
	p->nconns--;
	relay_port_release(p);
}

static size_t
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
	struct relay_ctl       *c = p->ctl;
	struct relay_visitor   *v;
	struct timeval		tv;
	struct sockaddr_storage ss;
	socklen_t		len = sizeof(ss);
	int			fd;

	(void)ev;
	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		 SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1 ||
	    c == NULL)
		return;
	if (p->nconns >= c->w->conf->relay_max_conns_per_port ||
	    (v = calloc(1, sizeof(*v))) == NULL) {
		close(fd);
		relay_error(c, "port_full",
		    "a visitor was refused: too many "
		    "connections on the port");
		return;
	}
	v->w = c->w;
	v->port = p;
	v->fd = fd;
	v->base.mail = relay_visitor_mail;
	tv.tv_sec = c->w->conf->relay_handshake_timeout;
	tv.tv_usec = 0;
	if (wconn_add(&v->base) == -1) {
		free(v);
		close(fd);
		return;
	}
	if (relay_announce(p, v->base.id, (struct sockaddr *)&ss, "tcp") ==
	    -1) {
		relay_visitor_free(v, 1);
		return;
	}
	v->timer = evtimer_new(c->w->base, relay_visitor_timeout_cb, v);
	evtimer_add(v->timer, &tv);
	p->nconns++;
}

/*
 * Tell the port's client about a visitor (connection id conn in this
 * worker) under a new one-time id, recorded as D|id; 0, or -1.
 */
int
relay_announce(struct relay_port *p, uint64_t conn,
    const struct sockaddr *visitor, const char *proto)
{
	struct relay_ctl *c = p->ctl;
	struct relay_wait rw = {conn, (uint16_t)c->w->ordinal};
	uint8_t		  id[RELAY_ID_LEN], key[TABLE_KEY_MAX];
	char		  hex[2 * RELAY_ID_LEN + 1], a[ADDR_STRLEN];

	if (getrandom(id, sizeof(id), 0) != sizeof(id) ||
	    table_put(c->w->state->table, TABLE_KIND_RELAY_PORT, key,
		relay_key(key, 'D', id, sizeof(id)), &rw, sizeof(rw),
		(int64_t)c->w->conf->relay_handshake_timeout * 1000,
		table_now_ms()) == -1)
		return -1;
	addr_format_sa(visitor, a, sizeof(a));
	relay_send(c,
	    json_pack("{s:s,s:s,s:s,s:i,s:s}", "type", "conn", "id",
		hex_encode(id, sizeof(id), hex), "proto", proto, "remote_port",
		p->port, "visitor", a));
	return 0;
}

static int
relay_listen_on(struct relay_ctl *c, int port, int udp)
{
	struct addr a = c->local;
	int	    fd, on = 1;

	addr_set_port(&a, (uint16_t)port);
	fd = socket(addr_family(&a),
	    (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (!udp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) == -1 ||
	    (!udp && listen(fd, 128) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A port for this client: its old one if free, else any in the range. */
static int
relay_pick_port(struct relay_ctl *c, int want, int udp, const uint8_t *rkey,
    size_t rlen, int *port)
{
	const struct conf_range *r = &c->w->conf->relay_port_range;
	int			 fd, i, old = 0, span = r->high - r->low + 1;
	uint32_t		 rnd;

	if (want == 0 &&
	    table_get(c->w->state->table, TABLE_KIND_RELAY_PORT, rkey, rlen,
		&old, sizeof(old), table_now_ms()) == (int)sizeof(old) &&
	    old >= r->low && old <= r->high &&
	    (fd = relay_listen_on(c, old, udp)) != -1) {
		*port = old;
		return fd;
	}
	if (want != 0) {
		*port = want;
		return relay_listen_on(c, want, udp);
	}
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = 0;
	for (i = 0; i < span; i++) {
		*port = r->low + (int)((rnd + (uint32_t)i) % (uint32_t)span);
		if ((fd = relay_listen_on(c, *port, udp)) != -1)
			return fd;
	}
	return -1;
}

static void
relay_expose(struct relay_ctl *c, json_t *msg)
{
	const struct conf_range *r = &c->w->conf->relay_port_range;
	const char		*proto = NULL, *name = "";
	json_int_t		 want = 0;
	struct relay_port	*p;
	uint8_t			 rkey[TABLE_KEY_MAX];
	char			 idname[128];
	size_t			 rlen;
	int			 fd, port = 0, udp;

	if (json_unpack(msg, "{s:s,s?I,s?s}", "proto", &proto, "remote_port",
		&want, "name", &name) == -1)
		return relay_error(c, "bad_message",
		    "expose needs proto, and remote_port and name are optional");
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
		return relay_error(c, "unsupported", "proto is tcp or udp");
	udp = strcmp(proto, "udp") == 0;
	if (name[0] != '\0' && !named_name_ok(name))
		return relay_error(c, "bad_name",
		    "a name is 1 to 32 of A-Z a-z 0-9 . _ -");
	if (want != 0 && (want < r->low || want > r->high))
		return relay_error(c, "port_not_allowed",
		    "remote_port is outside relay.port_range");
	if (c->nports >= c->w->conf->relay_max_ports)
		return relay_error(c, "too_many_ports",
		    "relay.max_ports_per_client reached");
	snprintf(idname, sizeof(idname), "%s|%s", c->client_id, name);
	rlen = relay_key(rkey, 'R', idname,
	    strlen(idname) > TABLE_KEY_MAX - 1 ? TABLE_KEY_MAX - 1
					       : strlen(idname));
	if ((fd = relay_pick_port(c, (int)want, udp, rkey, rlen, &port)) == -1)
		return relay_error(c, "port_busy",
		    want != 0 ? "remote_port is taken" : "no free port");
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		close(fd);
		return relay_error(c, "internal", "out of memory");
	}
	p->ctl = c;
	p->port = port;
	p->fd = fd;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->udp = udp;
	p->ev = event_new(c->w->base, fd, EV_READ | EV_PERSIST,
	    udp ? relay_udp_read : relay_visitor_cb, p);
	event_add(p->ev, NULL);
	c->ports[c->nports++] = p;
	table_put(c->w->state->table, TABLE_KIND_RELAY_PORT, rkey, rlen, &port,
	    sizeof(port), RELAY_KEEP_PORT, table_now_ms());
	log_info("client %s exposes %s port %d", c->client_id, proto, port);
	relay_send(c,
	    json_pack("{s:s,s:s,s:i,s:s}", "type", "exposed", "proto", proto,
		"remote_port", port, "name", name));
}

static void
relay_list(struct relay_ctl *c)
{
	json_t *ports = json_array();
	int	i;

	for (i = 0; i < c->nports; i++)
		json_array_append_new(ports,
		    json_pack("{s:s,s:i,s:s,s:i}", "proto",
			c->ports[i]->udp ? "udp" : "tcp", "remote_port",
			c->ports[i]->port, "name", c->ports[i]->name,
			"connections", c->ports[i]->nconns));
	relay_send(c, json_pack("{s:s,s:o}", "type", "list", "ports", ports));
}

static void
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

static void
relay_auth(struct relay_ctl *c, json_t *msg)
{
	struct worker	     *w = c->w;
	struct ratelimit_rule rule = {(uint32_t)w->conf->relay_auth_burst,
	    (uint32_t)w->conf->relay_auth_per_minute};
	const char	     *hmac = "";
	char		      a[ADDR_STRLEN];

	json_unpack(msg, "{s:s}", "hmac", &hmac);
	if (w->conf->relay_ntokens == 0)
		return relay_close_with(c, "no_relay",
		    "this server has no relay tokens (relay.token_file)");
	if (relay_auth_ok(w->conf, c->nonce, sizeof(c->nonce), hmac)) {
		c->authed = 1;
		relay_send(c, json_pack("{s:s}", "type", "ok"));
		return;
	}
	log_warnx("wrong token from %s (client id %s)",
	    addr_format(&c->peer, a, sizeof(a)), c->client_id);
	/* Only failures spend the IP's bucket; hello looks at it. */
	ratelimit_take(w->state->table, RL_RELAY_AUTH_FAIL,
	    (const struct sockaddr *)&c->peer.ss, &rule, table_now_ms());
	relay_close_with(c, "auth_failed", "wrong token");
}

/* Take the control connection's socket out of its bufferevent. */
static int
relay_ctl_detach(struct relay_ctl *c)
{
	int fd = bufferevent_getfd(c->bev);

	bufferevent_setfd(c->bev, -1);
	c->closing = 0; /* nothing to linger for */
	relay_ctl_free(c);
	return fd;
}

static void
relay_met(struct worker *w, int a, int b)
{
	static const char met[] = "{\"type\":\"met\"}\n";

	if (send(a, met, sizeof(met) - 1, MSG_NOSIGNAL) !=
		(ssize_t)sizeof(met) - 1 ||
	    send(b, met, sizeof(met) - 1, MSG_NOSIGNAL) !=
		(ssize_t)sizeof(met) - 1) {
		close(a);
		close(b);
		return;
	}
	proc_count(w, STAT_PAIRED);
	if (splice_join(w, a, b, NULL, NULL) == -1)
		log_warn("out of memory for a meeting");
}

/* The partner of a waiting meeting arrived, with its socket. */
static void
relay_ctl_mail(struct wconn *wc, const struct wmail *m, int fd)
{
	struct relay_ctl *c = (struct relay_ctl *)wc;
	struct worker	 *w = c->w;

	if (m->type != MAIL_RELAY_MEET || fd == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	relay_met(w, relay_ctl_detach(c), fd);
}

static enum table_action
relay_meet_fn(void *val, size_t *len, int found, void *arg)
{
	struct relay_wait *me = arg;

	if (found && *len == sizeof(*me)) {
		struct relay_wait other;

		memcpy(&other, val, sizeof(other));
		if (other.visitor != me->visitor) {
			*me = other; /* the caller learns its partner */
			return TABLE_DELETE;
		}
	}
	memcpy(val, me, sizeof(*me));
	*len = sizeof(*me);
	me->visitor = 0;
	return TABLE_STORE;
}

/*
 * Relay fallback: two clients with the same punch session meet.  1 when
 * c is gone (its socket went to the partner's worker).
 */
static int
relay_meet(struct relay_ctl *c, json_t *msg)
{
	struct relay_wait rw = {c->base.id, (uint16_t)c->w->ordinal};
	struct worker	 *w = c->w;
	const char	 *hex = "";
	uint8_t		  session[RELAY_ID_LEN], key[TABLE_KEY_MAX];
	int		  fd;

	json_unpack(msg, "{s:s}", "session", &hex);
	if (hex_decode(hex, session, RELAY_ID_LEN) == -1) {
		relay_error(c, "bad_session", "a session is 32 hex digits");
		return 0;
	}
	if (table_update(w->state->table, TABLE_KIND_RELAY_PORT, key,
		relay_key(key, 'M', session, sizeof(session)), relay_meet_fn,
		&rw, (int64_t)w->conf->relay_handshake_timeout * 3000,
		table_now_ms()) == -1) {
		relay_error(c, "server_full", "no room");
		return 0;
	}
	if (rw.visitor == 0)
		return 0; /* the first: wait for the partner's mail */
	fd = relay_ctl_detach(c);
	if (wmail_send_fd(w, rw.ordinal, rw.visitor, MAIL_RELAY_MEET, NULL, 0,
		fd) == -1)
		log_warnx("a meeting partner could not be reached");
	close(fd);
	return 1;
}

/* One message; 1 when c is gone. */
static int
relay_message(struct relay_ctl *c, const char *line, size_t len)
{
	json_t	   *msg;
	const char *type = "";
	int	    gone = 0;

	proc_count(c->w, STAT_REQUESTS);
	msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (msg == NULL || json_unpack(msg, "{s:s}", "type", &type) == -1)
		relay_error(c, "bad_message", "not a JSON object with a type");
	else if (strcmp(type, "auth") == 0 && !c->authed)
		relay_auth(c, msg);
	else if (!c->authed)
		relay_close_with(c, "not_authenticated", "auth first");
	else if (strcmp(type, "expose") == 0)
		relay_expose(c, msg);
	else if (strcmp(type, "list") == 0)
		relay_list(c);
	else if (strcmp(type, "unexpose") == 0)
		relay_unexpose(c, msg);
	else if (strcmp(type, "meet") == 0)
		gone = relay_meet(c, msg);
	else if (strcmp(type, "heartbeat") == 0)
		relay_send(c, json_pack("{s:s}", "type", "heartbeat"));
	else
		relay_error(c, "unknown_type", type);
	json_decref(msg);
	return gone;
}

static void
relay_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_ctl *c = arg;
	char		 *line;
	size_t		  len;
	int		  got;

	while (!c->closing &&
	    (got = jsonline_next(bev, RELAY_LINE_MAX, RELAY_OUTPUT_MAX, &line,
		 &len)) != 0) {
		if (got == -1) {
			relay_close_with(c, "too_long",
			    "a message is at most 4096 bytes");
			return;
		}
		got = relay_message(c, line, len);
		free(line);
		if (got)
			return; /* c is gone */
	}
}

static void
relay_write_cb(struct bufferevent *bev, void *arg)
{
	struct relay_ctl *c = arg;

	if (c->closing)
		relay_ctl_free(c);
	else if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		relay_read_cb(bev, c);
}

static void
relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_ctl *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		proc_count(c->w, STAT_TIMEOUTS);
	relay_ctl_free(c);
}

/* A control connection whose hello (line) was read. */
void
relay_ctl_start(struct worker *w, int fd, const char *line, size_t len,
    const struct addr *peer)
{
	struct ratelimit_rule	rule = {(uint32_t)w->conf->relay_auth_burst,
	      (uint32_t)w->conf->relay_auth_per_minute};
	struct timeval		tv = {w->conf->relay_handshake_timeout, 0};
	struct timeval		idle = {w->conf->relay_idle_timeout, 0};
	struct sockaddr_storage ss;
	struct relay_ctl       *c;
	socklen_t		sl = sizeof(ss);
	const char	       *id = NULL;
	json_int_t		version = 0;
	json_t		       *msg;
	char			hex[2 * RELAY_NONCE_LEN + 1];

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->w = w;
	c->peer = *peer;
	c->base.mail = relay_ctl_mail;
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL || wconn_add(&c->base) == -1) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, relay_read_cb, relay_write_cb, relay_event_cb,
	    c);
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	addr_from_sa(&c->local, (struct sockaddr *)&ss, sl);
	msg = json_loadb(line, len, 0, NULL);
	if (json_unpack(msg, "{s:I,s:s}", "version", &version, "client_id",
		&id) == -1 ||
	    version != 1 || strlen(id) == 0 ||
	    strlen(id) > NAMED_NAME_MAX * 2 ||
	    strspn(id,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789._-") != strlen(id)) {
		json_decref(msg);
		return relay_close_with(c, "bad_hello",
		    "hello needs version 1 and a client_id of up to 64 of "
		    "A-Z a-z 0-9 . _ -");
	}
	snprintf(c->client_id, sizeof(c->client_id), "%s", id);
	json_decref(msg);
	if (ratelimit_peek(w->state->table, RL_RELAY_AUTH_FAIL,
		(const struct sockaddr *)&peer->ss, &rule,
		table_now_ms()) == 0) {
		proc_count(w, STAT_DROP_RATELIMIT);
		return relay_close_with(c, "rate_limited",
		    "too many failed logins from this address");
	}
	if (getrandom(c->nonce, sizeof(c->nonce), 0) != sizeof(c->nonce))
		return relay_close_with(c, "internal", "no randomness");
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	relay_send(c,
	    json_pack("{s:s,s:s}", "type", "challenge", "nonce",
		hex_encode(c->nonce, sizeof(c->nonce), hex)));
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

/* A client's data connection for visitor id: to the visitor's worker. */
void
relay_data_start(struct worker *w, int fd, const char *hexid)
{
	static const char unknown[] =
	    "{\"type\":\"error\",\"code\":\"unknown_id\","
	    "\"message\":\"no visitor waits for this id\"}\n";
	struct relay_wait rw;
	uint8_t		  id[RELAY_ID_LEN], key[TABLE_KEY_MAX];

	memset(&rw, 0, sizeof(rw));
	if (hex_decode(hexid, id, RELAY_ID_LEN) == 0)
		table_update(w->state->table, TABLE_KIND_RELAY_PORT, key,
		    relay_key(key, 'D', id, sizeof(id)), relay_take_fn, &rw, 0,
		    table_now_ms());
	if (rw.visitor == 0 ||
	    wmail_send_fd(w, rw.ordinal, rw.visitor, MAIL_RELAY_DATA, NULL, 0,
		fd) == -1) {
		proc_count(w, STAT_ERRORS);
		send(fd, unknown, sizeof(unknown) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	close(fd); /* the visitor's worker has its own copy */
}
