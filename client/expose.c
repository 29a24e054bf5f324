/*
 * [expose NAME] and natclient expose tcp|udp LOCAL_PORT: a local service
 * made reachable on a port of natserver's relay, in the agent's loop.
 * The control connection logs in with an HMAC of the server's nonce
 * (the token never travels), asks for the port (the same one again
 * after a reconnect, if it is free), and waits.  For each visitor the
 * server announces, the agent connects to the local service and opens a
 * data connection to the relay at once, and joins the two (splice.c):
 * no process, no fork; or the relay hands the visitor to one of the
 * data connections opened ahead (expose_pool.c).  A lost control connection is made again with
 * back-off; a refusal that trying again cannot change stops the service
 * (natclient expose: ends natclient).
 */
#include "config.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expose.h"
#include "hostname.h"
#include "proxyproto.h"
#include "hex.h"
#include "lineout.h"

#define EXPOSE_HEARTBEAT_S 20
#define EXPOSE_BACKOFF_MAX 30 /* seconds between reconnects, at most */

enum { EXPOSE_DIALING, EXPOSE_HELLO, EXPOSE_AUTH, EXPOSE_ASKED,
	EXPOSE_EXPOSED, EXPOSE_BACKOFF, EXPOSE_STOPPED };

/* A visitor whose two connections are being made. */
struct expose_visitor {
	struct expose_run  *e;
	char		    id[64];
	struct dial	   *local_dial, *data_dial;
	struct bufferevent *local, *data;
	char		    why[300]; /* the local service's refusal */
	char		    from[ADDR_STRLEN], to[ADDR_STRLEN]; /* PROXY */
	int		    local_failed;

	LIST_ENTRY(expose_visitor) entry;
};

static void expose_connect(struct expose_run *);

/*
 * A client id that stays the same for the same exposure of the same
 * host, so that the server can give the port back after a reconnect.
 */
static void
expose_client_id(struct expose_run *e)
{
	const struct service_spec *p = &e->s->spec;
	unsigned char		   md[EVP_MAX_MD_SIZE];
	unsigned int		   len;
	char			   host[256], seed[600];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(seed, sizeof(seed), "%s|%s|%s|%d|%s", host, p->type,
	    p->local_host, p->local_port, p->label);
	EVP_Digest(seed, strlen(seed), md, &len, EVP_sha256(), NULL);
	hex_encode(md, 16, e->client_id);
}

/* One JSON line out (msg taken). */
void
expose_send(struct bufferevent *bev, json_t *msg)
{
	line_send_json(bev, msg);
}

/* ---- visitors ---- */

static void
expose_visitor_free(struct expose_visitor *v)
{
	LIST_REMOVE(v, entry);
	v->e->nwaiting--;
	if (v->local_dial != NULL)
		dial_cancel(v->local_dial);
	if (v->data_dial != NULL)
		dial_cancel(v->data_dial);
	if (v->local != NULL)
		bufferevent_free(v->local);
	if (v->data != NULL)
		bufferevent_free(v->data);
	free(v);
}

/* The refusal is out: the relay closes the visitor. */
static void
expose_refusal_sent_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_free(bev);
}

static void
expose_refusal_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

#define EXPOSE_JOINED_MAX 512 /* the relay's joined line, or its refusal */
static const struct timeval joined_wait = {10, 0};

static void expose_joined_cb(struct bufferevent *, void *);
static void expose_joined_event_cb(struct bufferevent *, short, void *);

/* Both connections made, or the local one refused: go on. */
static void
expose_visitor_ready(struct expose_visitor *v)
{
	if (v->data == NULL ||
	    (v->local == NULL && !v->local_failed && v->e->type->stream))
		return;
	if (v->local_failed) {
		struct bufferevent *data = v->data;

		v->data = NULL;
		expose_send(data,
		    json_pack("{s:s,s:s,s:s}", "type", "data", "id", v->id,
			"error", v->why));
		bufferevent_setcb(data, NULL, expose_refusal_sent_cb,
		    expose_refusal_event_cb, NULL);
		bufferevent_enable(data, EV_WRITE);
		expose_visitor_free(v);
		return;
	}
	/* ack: the relay says joined (or why not) before any visitor byte,
	 * and only then is the local service joined, so that a refusal
	 * (unknown_id, server_full) is never taken for the visitor's. */
	expose_send(v->data, json_pack("{s:s,s:s,s:b}", "type", "data", "id",
	    v->id, "ack", 1));
	if (v->local != NULL)
		bufferevent_disable(v->local, EV_READ); /* the join reads it */
	bufferevent_setcb(v->data, expose_joined_cb, NULL,
	    expose_joined_event_cb, v);
	bufferevent_set_timeouts(v->data, &joined_wait, NULL);
	bufferevent_enable(v->data, EV_READ | EV_WRITE);
}

/* The relay's line on a visitor's data connection: joined, or not. */
static void
expose_joined_cb(struct bufferevent *bev, void *arg)
{
	struct expose_visitor *v = arg;
	struct expose_run     *e = v->e;
	struct service	      *s = e->s;
	char		      *line;
	size_t		       n;
	json_t		      *msg;
	const char	      *code = "", *text = "";

	if ((line = evbuffer_readln(bufferevent_get_input(bev), &n,
		 EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) >
		    EXPOSE_JOINED_MAX) {
			agent_error(s, "the relay sent a data connection a "
			    "line of more than %d bytes", EXPOSE_JOINED_MAX);
			expose_visitor_free(v);
		}
		return;
	}
	msg = json_loadb(line, n, 0, NULL);
	free(line);
	if (msg == NULL || strcmp(client_json_type(msg), "joined") != 0) {
		json_unpack(msg, "{s?s,s?s}", "code", &code, "message", &text);
		agent_error(s, "relay: a visitor's data connection was refused: "
		    "%s (%s)", text, code);
		json_decref(msg);
		expose_visitor_free(v);
		return;
	}
	json_decref(msg);
	bufferevent_set_timeouts(bev, NULL, NULL);
	s->visitors_total++;
	e->type->join(v);
	v->data = v->local = NULL;
	expose_visitor_free(v);
}

/* tcp: the visitor's stream spliced to the local connection. */
static void
expose_join_stream(struct expose_visitor *v)
{
	struct expose_run *e = v->e;

	expose_proxy(e, v->local, v->from, v->to);
	splice_join(e->s->a->base, v->data, v->local, &e->joins);
}

/* udp: the visitor's framed datagrams to a socket of its own. */
static void
expose_join_datagrams(struct expose_visitor *v)
{
	expose_udp_start(v->e, v->data);
}

static const struct expose_type expose_types[] = {
    {"tcp", 1, expose_join_stream, 0},
    {"udp", 0, expose_join_datagrams, 0},
    {"http", 1, expose_join_stream, 1},
    {"https", 1, expose_join_stream, 2},
};

static const struct expose_type *
expose_type_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(expose_types) / sizeof(expose_types[0]); i++)
		if (strcmp(expose_types[i].name, name) == 0)
			return &expose_types[i];
	return NULL;
}

static void
expose_joined_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct expose_visitor *v = arg;

	(void)bev;
	agent_error(v->e->s, "relay: a visitor's data connection %s before "
	    "it was joined", (what & BEV_EVENT_TIMEOUT) ? "waited too long"
	    : "was closed");
	expose_visitor_free(v);
}

static void
expose_local_cb(struct bufferevent *bev, const char *why, int final,
    void *arg)
{
	struct expose_visitor *v = arg;

	(void)final;
	v->local_dial = NULL;
	v->local = bev;
	if (bev == NULL) {
		v->local_failed = 1;
		snprintf(v->why, sizeof(v->why), "local service %s", why);
		agent_error(v->e->s, "a visitor was turned away: %s", v->why);
	}
	expose_visitor_ready(v);
}

static void
expose_data_cb(struct bufferevent *bev, const char *why, int final,
    void *arg)
{
	struct expose_visitor *v = arg;

	(void)final;
	v->data_dial = NULL;
	if (bev == NULL) {
		agent_error(v->e->s, "data connection: %s", why);
		expose_visitor_free(v);
		return;
	}
	v->data = bev;
	expose_visitor_ready(v);
}

/*
 * The PROXY protocol header (proxy_protocol = v1 or v2) to the local
 * service, first: from the visitor's address to the one it reached, as
 * the relay said them (UNKNOWN/LOCAL when it did not).
 */
void
expose_proxy(struct expose_run *e, struct bufferevent *local,
    const char *from, const char *to)
{
	struct addr f, t;
	uint8_t	    h[PROXY_HEADER_MAX];
	const char *why;

	if (e->proxy == PROXY_NONE)
		return;
	memset(&f, 0, sizeof(f));
	memset(&t, 0, sizeof(t));
	if (from == NULL || addr_parse(from, 0, &f, &why) == -1)
		memset(&f, 0, sizeof(f));
	if (to == NULL || addr_parse(to, 0, &t, &why) == -1)
		memset(&t, 0, sizeof(t));
	bufferevent_write(local, h, proxy_header(e->proxy, &f, &t, h));
}

/* An address the relay named in msg, or "" (ADDR_STRLEN bytes). */
void
expose_addr(char *dst, json_t *msg, const char *key)
{
	const char *v = json_string_value(json_object_get(msg, key));

	snprintf(dst, ADDR_STRLEN, "%s", v != NULL ? v : "");
}

/* conn {id}: a visitor waits on the relay. */
static void
expose_visitor_new(struct expose_run *e, const char *id, json_t *msg)
{
	struct service	      *s = e->s;
	struct expose_visitor *v;

	if (strlen(id) >= sizeof(v->id) || e->nwaiting >= EXPOSE_WAITING_MAX ||
	    (v = calloc(1, sizeof(*v))) == NULL) {
		agent_error(s, "a visitor was dropped: %s",
		    strlen(id) >= 64 ? "its id is too long"
				     : "too many visitors being connected");
		return;
	}
	v->e = e;
	snprintf(v->id, sizeof(v->id), "%s", id);
	expose_addr(v->from, msg, "visitor");
	expose_addr(v->to, msg, "to");
	LIST_INSERT_HEAD(&e->waiting, v, entry);
	e->nwaiting++;
	/* A datagram kind's socket needs no dial: made at the join. */
	if (e->type->stream &&
	    (v->local_dial = dial_start(s->a->base, &s->a->o, &e->local, 0,
		 expose_local_cb, v)) == NULL) {
		v->local_failed = 1;
		snprintf(v->why, sizeof(v->why), "local service: %s",
		    strerror(errno));
	}
	if ((v->data_dial = dial_start(s->a->base, &e->relay, &e->server, 1,
		 expose_data_cb, v)) == NULL) {
		agent_error(s, "data connection: %s", strerror(errno));
		expose_visitor_free(v);
	}
}

/* ---- the control connection ---- */

/*
 * Is a refusal final: one that trying again cannot change?  A rate
 * limit is not (its bucket refills); a taken port is, until this
 * service has held it once: after a drop, the relay may still hold our
 * old connection (another worker's) for a while.
 */
static int
expose_final(const struct expose_run *e, const char *code)
{
	static const char *final[] = {"auth_failed", "no_relay",
	    "port_not_allowed", "unsupported", "bad_name", "too_many_ports",
	    "taken_over", "bad_hello", "domain_not_allowed", "bad_domain",
	    "no_subdomain_host", NULL};
	int		   i;

	for (i = 0; final[i] != NULL; i++)
		if (strcmp(code, final[i]) == 0)
			return 1;
	return (strcmp(code, "port_busy") == 0 ||
		   strcmp(code, "domain_taken") == 0) &&
	    !e->exposed;
}

static void
expose_drop_ctl(struct expose_run *e)
{
	if (e->dial != NULL)
		dial_cancel(e->dial);
	e->dial = NULL;
	if (e->ctl != NULL)
		bufferevent_free(e->ctl);
	e->ctl = NULL;
	expose_pool_close_all(e);
}

/* Try again after the back-off (or at once, when the relay asked). */
static void
expose_retry(struct expose_run *e, int now)
{
	struct timeval tv = {now ? 0 : e->backoff, 0};

	expose_drop_ctl(e);
	e->step = EXPOSE_BACKOFF;
	agent_state(e->s, "reconnecting");
	if (!now) {
		fprintf(stderr, "natclient: %s: reconnecting in %d s\n",
		    e->s->spec.name, e->backoff);
		e->backoff = e->backoff * 2 > EXPOSE_BACKOFF_MAX
		    ? EXPOSE_BACKOFF_MAX
		    : e->backoff * 2;
	}
	evtimer_add(e->timer, &tv);
}

/* Trying again cannot help: the service stops (natclient expose ends). */
static void
expose_fail(struct expose_run *e)
{
	expose_drop_ctl(e);
	e->step = EXPOSE_STOPPED;
	agent_state(e->s, "failed");
	if (e->s->a->once)
		exit(1);
}

/* An error answer, or none: final ones stop the service. */
static void
expose_refused(struct expose_run *e, json_t *msg, const char *what)
{
	const char *code = "", *text = "";

	if (msg == NULL) {
		agent_error(e->s, "%s: connection lost", what);
		expose_retry(e, 0);
		return;
	}
	json_unpack(msg, "{s?s,s?s}", "code", &code, "message", &text);
	agent_error(e->s, "%s: %s (%s)", what, text, code);
	if (!expose_final(e, code)) {
		expose_retry(e, 0);
		return;
	}
	expose_fail(e);
}

/* The names the relay gave (http, https): its URLs, the first shown. */
static void
expose_names(struct expose_run *e, json_t *names)
{
	size_t	i, off = 0;
	json_t *v;
	int	n;

	e->urls[0] = '\0';
	json_array_foreach(names, i, v) {
		const char *name = json_string_value(v);

		if (name == NULL)
			continue;
		n = snprintf(e->urls + off, sizeof(e->urls) - off, "%s%s://%s",
		    off > 0 ? " " : "", e->type->name, name);
		if (n < 0 || (size_t)n >= sizeof(e->urls) - off)
			break;
		off += (size_t)n;
	}
	snprintf(e->s->public_addr, sizeof(e->s->public_addr), "%.*s",
	    (int)strcspn(e->urls, " "), e->urls);
}

/* exposed {remote_port}: say where, once a line on stdout. */
static void
expose_exposed(struct expose_run *e, json_t *msg)
{
	struct service *s = e->s;
	char		host[ADDR_HOSTLEN];
	const char     *why;
	uint16_t	p;
	struct timeval	tv = {EXPOSE_HEARTBEAT_S, 0};
	json_int_t	idle = 0;
	json_t	       *names = NULL;

	if (json_unpack(msg, "{s:i,s?o,s?I}", "remote_port", &e->port,
		"domains", &names, "idle_timeout", &idle) == -1 ||
	    (e->type->vhost && json_array_size(names) == 0)) {
		expose_refused(e, msg, "expose");
		return;
	}
	/* Within the relay's idle timeout (a third of it), or every 20 s. */
	e->heartbeat_s = EXPOSE_HEARTBEAT_S;
	if (idle > 0 && idle / 3 < EXPOSE_HEARTBEAT_S)
		e->heartbeat_s = idle >= 3 ? (int)(idle / 3) : 1;
	tv.tv_sec = e->heartbeat_s;
	e->step = EXPOSE_EXPOSED;
	e->exposed = 1;
	e->backoff = 1;
	addr_split(e->relay.server, host, sizeof(host), &p, 0, &why);
	if (e->type->vhost)
		expose_names(e, names);
	else
		snprintf(s->public_addr, sizeof(s->public_addr),
		    strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, e->port);
	agent_state(s, "exposed");
	if (s->a->once) {
		if (s->a->o.json) {
			json_t *j = json_pack("{s:s,s:s,s:i}", "event",
			    "exposed", "public", s->public_addr,
			    "remote_port", e->port);

			if (names != NULL)
				json_object_set(j, "domains", names);
			client_print_json(j); /* it takes j */
		} else
			puts(e->type->vhost ? e->urls : s->public_addr);
		fflush(stdout);
	} else
		fprintf(stderr, "natclient: %s: exposed on %s\n", s->spec.name,
		    e->type->vhost ? e->urls : s->public_addr);
	evtimer_add(e->timer, &tv);
}

/* What we ask the relay for: a port, or names (http, https). */
static json_t *
expose_message(struct expose_run *e)
{
	const struct service_spec *p = &e->s->spec;
	json_t *m = json_pack("{s:s,s:s,s:s,s:i}", "type", "expose", "proto",
	    p->type, "name", p->label, "pool", e->type->stream ? p->pool : 0);
	json_t *names;
	char	copy[sizeof(p->domains)], *w, *save = NULL;

	if (!e->type->vhost) {
		json_object_set_new(m, "remote_port",
		    json_integer(p->remote_port ? p->remote_port : e->port));
		if (e->type->stream && p->mux)
			json_object_set_new(m, "mux", json_true());
		return m;
	}
	names = json_array();
	snprintf(copy, sizeof(copy), "%s", p->domains);
	for (w = strtok_r(copy, " ,", &save); w != NULL;
	     w = strtok_r(NULL, " ,", &save))
		json_array_append_new(names, json_string(w));
	json_object_set_new(m, "domains", names);
	if (p->subdomain[0] != '\0')
		json_object_set_new(m, "subdomain", json_string(p->subdomain));
	return m;
}

/* One line from the relay, in the step we are at. */
static void
expose_line(struct expose_run *e, json_t *msg)
{
	const struct service_spec *p = &e->s->spec;
	const char		  *type = client_json_type(msg), *id;
	char			   hex[2 * EVP_MAX_MD_SIZE + 1];
	const char		  *nonce;

	switch (e->step) {
	case EXPOSE_HELLO:
		if (strcmp(type, "challenge") != 0 ||
		    json_unpack(msg, "{s:s}", "nonce", &nonce) == -1 ||
		    relay_login_answer(e->token, nonce, hex) == -1) {
			expose_refused(e, msg, "login");
			return;
		}
		expose_send(e->ctl,
		    json_pack("{s:s,s:s}", "type", "auth", "hmac", hex));
		e->step = EXPOSE_AUTH;
		return;
	case EXPOSE_AUTH:
		if (strcmp(type, "ok") != 0) {
			expose_refused(e, msg, "login");
			return;
		}
		expose_send(e->ctl, expose_message(e));
		e->step = EXPOSE_ASKED;
		return;
	case EXPOSE_ASKED:
		if (strcmp(type, "exposed") != 0)
			expose_refused(e, msg, "expose");
		else
			expose_exposed(e, msg);
		return;
	}
	if (strcmp(type, "conn") == 0 &&
	    json_unpack(msg, "{s:s}", "id", &id) == 0)
		expose_visitor_new(e, id, msg);
	else if (strcmp(type, "pool") == 0 &&
	    json_unpack(msg, "{s:s}", "id", &id) == 0)
		expose_pool_ask(e, id);
	else if (strcmp(type, "mux") == 0 &&
	    json_unpack(msg, "{s:s}", "id", &id) == 0 && e->s->spec.mux)
		expose_mux_ask(e, id);
	else if (strcmp(type, "reconnect") == 0) {
		fprintf(stderr, "natclient: %s: the relay asked to reconnect\n",
		    p->name);
		expose_retry(e, 1);
	} else if (strcmp(type, "error") == 0) {
		/* While exposed, a word about one visitor (port_full): said
		 * and kept for status; the exposure goes on. */
		const char *code = "", *text = "";

		json_unpack(msg, "{s?s,s?s}", "code", &code, "message", &text);
		agent_error(e->s, "relay: %s (%s)", text, code);
	}
}

static void
expose_ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct expose_run *e = arg;
	struct evbuffer	  *in = bufferevent_get_input(bev);
	char		  *line;
	size_t		   n;

	while (e->ctl == bev &&
	    (line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
		json_t *msg = json_loadb(line, n, 0, NULL);

		free(line);
		if (msg == NULL || !json_is_object(msg)) {
			json_decref(msg);
			agent_error(e->s, "the relay sent a line that is not "
					  "a JSON object");
			expose_retry(e, 0);
			return;
		}
		expose_line(e, msg);
		json_decref(msg);
	}
	if (e->ctl == bev && evbuffer_get_length(in) > EXPOSE_LINE_MAX) {
		agent_error(e->s, "the relay sent a line of more than %d bytes",
		    EXPOSE_LINE_MAX);
		expose_retry(e, 0);
	}
}

static void
expose_ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct expose_run *e = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		agent_error(e->s, "the relay closed the control connection");
		expose_retry(e, 0);
	}
}

static void
expose_ctl_cb(struct bufferevent *bev, const char *why, int final,
    void *arg)
{
	struct expose_run *e = arg;

	e->dial = NULL;
	if (bev == NULL && final) {
		agent_error(e->s, "%s", why);
		expose_fail(e);
		return;
	}
	if (bev == NULL) {
		agent_error(e->s, "relay %s", why);
		expose_retry(e, 0);
		return;
	}
	e->ctl = bev;
	e->step = EXPOSE_HELLO;
	bufferevent_setcb(bev, expose_ctl_read_cb, NULL, expose_ctl_event_cb, e);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	expose_send(bev, json_pack("{s:s,s:i,s:s}", "type", "hello", "version", 1,
			     "client_id", e->client_id));
}

static void
expose_connect(struct expose_run *e)
{
	e->step = EXPOSE_DIALING;
	agent_state(e->s, "connecting");
	if ((e->dial = dial_start(e->s->a->base, &e->relay, &e->server, 1,
		 expose_ctl_cb, e)) == NULL) {
		agent_error(e->s, "relay: %s", strerror(errno));
		expose_retry(e, 0);
	}
}

/* The timer: a heartbeat while exposed, else the back-off's end. */
static void
expose_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct expose_run *e = arg;
	struct timeval	   tv = {e->heartbeat_s, 0};

	(void)fd;
	(void)ev;
	if (e->step == EXPOSE_BACKOFF) {
		expose_connect(e);
		return;
	}
	if (e->step == EXPOSE_EXPOSED) {
		expose_send(e->ctl, json_pack("{s:s}", "type", "heartbeat"));
		evtimer_add(e->timer, &tv);
	}
}

/* ---- the kind's row ---- */

/* Each of a web exposure's names a host name (or *.name); 0, or -1. */
static int
expose_check_names(const struct service_spec *p, char *why, size_t len)
{
	char  copy[sizeof(p->domains)], name[HOSTNAME_MAX + 1], *w, *save;
	int   n = 0;

	snprintf(copy, sizeof(copy), "%s", p->domains);
	for (w = strtok_r(copy, " ,", &save); w != NULL;
	     w = strtok_r(NULL, " ,", &save), n++)
		if (hostname_norm(name, w, strlen(w), 1) == -1) {
			snprintf(why, len, "domain: '%.64s' is not a host name "
					   "(a-z 0-9 - in labels, or *.name)",
			    w);
			return -1;
		}
	if (n > 8) {
		snprintf(why, len, "domain: at most 8 names");
		return -1;
	}
	if (p->subdomain[0] != '\0' &&
	    (strchr(p->subdomain, '.') != NULL ||
		hostname_norm(name, p->subdomain, strlen(p->subdomain), 0) ==
		    -1)) {
		snprintf(why, len, "subdomain: '%.64s' is not one label "
				   "(a-z 0-9 -)",
		    p->subdomain);
		return -1;
	}
	return 0;
}

static int
expose_check(const struct service_spec *p, char *why, size_t len)
{
	const struct expose_type *t = expose_type_find(p->type);

	if (t != NULL && t->vhost && expose_check_names(p, why, len) == -1)
		return -1;
	if (t == NULL)
		snprintf(why, len, "type: tcp, udp, http or https, not '%s'",
		    p->type);
	else if (t->vhost && p->domains[0] == '\0' && p->subdomain[0] == '\0')
		snprintf(why, len, "domain or subdomain: %s needs a name",
		    p->type);
	else if (!t->vhost && (p->domains[0] != '\0' || p->subdomain[0] != '\0'))
		snprintf(why, len, "domain and subdomain: for http and https only");
	else if (t->vhost && p->remote_port != 0)
		snprintf(why, len, "remote_port: not for %s (port 80 or 443 of "
				   "the relay, by name)",
		    p->type);
	else if (p->local_port == 0)
		snprintf(why, len, "local_port: missing (1 to 65535)");
	else if (proxy_version(p->proxy_protocol) == -1)
		snprintf(why, len, "proxy_protocol: v1, v2 or no, not '%s'",
		    p->proxy_protocol);
	else if (proxy_version(p->proxy_protocol) != PROXY_NONE && !t->stream)
		snprintf(why, len, "proxy_protocol: for tcp only");
	else if (p->mux && strcmp(t->name, "tcp") != 0)
		snprintf(why, len, "mux: for tcp only");
	else
		return 0;
	return -1;
}

static int
expose_start(struct service *s, char *why, size_t len)
{
	struct agent	  *a = s->a;
	struct client_opts lo = a->o;
	struct expose_run *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	if (relay_token(&a->o, e->token, sizeof(e->token)) == -1) {
		snprintf(why, len,
		    "no token: token_file in natclient.conf, --token-file, or "
		    "NATKIT_TOKEN");
		free(e);
		return -1;
	}
	snprintf(lo.server, sizeof(lo.server),
	    strchr(s->spec.local_host, ':') ? "[%s]" : "%s",
	    s->spec.local_host);
	/* The relay: relay = (--relay) if given, else the server itself. */
	e->relay = a->o;
	if (a->o.relay[0] != '\0')
		snprintf(e->relay.server, sizeof(e->relay.server), "%s",
		    a->o.relay);
	if (client_resolve(&e->relay, CLIENT_PORT_RELAY, &e->server) == -1 ||
	    client_resolve(&lo, (uint16_t)s->spec.local_port, &e->local) == -1) {
		snprintf(why, len, "cannot resolve %s or %s", e->relay.server,
		    s->spec.local_host);
		free(e);
		return -1;
	}
	e->s = s;
	e->backoff = 1;
	e->proxy = proxy_version(s->spec.proxy_protocol);
	e->type = expose_type_find(s->spec.type); /* expose_check found it */
	e->joins.a_to_b = &s->bytes_in;
	e->joins.b_to_a = &s->bytes_out;
	e->joins.now = &s->visitors;
	LIST_INIT(&e->joins.list);
	LIST_INIT(&e->waiting);
	LIST_INIT(&e->udp);
	LIST_INIT(&e->pooled);
	LIST_INIT(&e->muxes);
	e->timer = evtimer_new(a->base, expose_timer_cb, e);
	s->run = e;
	expose_client_id(e);
	expose_connect(e);
	return 0;
}

static void
expose_stop(struct service *s)
{
	struct expose_run *e = s->run;

	expose_drop_ctl(e);
	event_free(e->timer);
	while (!LIST_EMPTY(&e->waiting))
		expose_visitor_free(LIST_FIRST(&e->waiting));
	splice_close_all(&e->joins);
	expose_mux_close_all(e);
	expose_udp_close_all(e);
	free(e);
	s->run = NULL;
}

static void
expose_status(struct service *s, json_t *j)
{
	struct expose_run *e = s->run;
	char		   a[ADDR_STRLEN];

	json_object_set_new(j, "type", json_string(s->spec.type));
	json_object_set_new(j, "local",
	    json_string(addr_format(&e->local, a, sizeof(a))));
	json_object_set_new(j, "remote_port", json_integer(e->port));
	if (e->type->vhost)
		json_object_set_new(j, "urls", json_string(e->urls));
	json_object_set_new(j, "pooled", json_integer(e->npooled));
	if (s->spec.mux) { /* its carriers, and the newest one's ping */
		int64_t rtt = expose_mux_rtt_us(e);

		json_object_set_new(j, "mux", json_integer(e->nmux));
		json_object_set_new(j, "rtt_ms",
		    rtt > 0 ? json_real((double)rtt / 1000) : json_null());
	}
}

const struct service_kind expose_kind = {"expose", expose_keys, expose_check,
    expose_start, expose_stop, expose_status};

/* natclient expose tcp|udp LOCAL_PORT: the agent with this one service. */
int
cmd_expose(struct client_opts *o, int argc, char **argv)
{
	static struct agent  a;
	struct service_specs specs;
	struct service_spec  p;
	char		     why[300];
	char		    *end;
	long		     port;

	if (argc != 3 || expose_type_find(argv[1]) == NULL)
		client_fail(o,
		    "usage: natclient expose tcp|udp|http|https LOCAL_PORT "
		    "[--local-host H] [--remote-port N] [--name N] "
		    "[--domain NAME]... [--subdomain LABEL]");
	port = strtol(argv[2], &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		client_fail(o, "LOCAL_PORT: 1 to 65535, not '%s'", argv[2]);
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "expose");
	snprintf(p.label, sizeof(p.label), "%s", o->name);
	snprintf(p.type, sizeof(p.type), "%s", argv[1]);
	snprintf(p.local_host, sizeof(p.local_host), "%s", o->local_host);
	p.local_port = (int)port;
	p.remote_port = o->remote_port;
	p.pool = o->pool;
	p.mux = o->mux;
	snprintf(p.proxy_protocol, sizeof(p.proxy_protocol), "%s",
	    o->proxy_protocol);
	snprintf(p.domains, sizeof(p.domains), "%s", o->domains);
	snprintf(p.subdomain, sizeof(p.subdomain), "%s", o->subdomain);
	if (expose_check(&p, why, sizeof(why)) == -1)
		client_fail(o, "%s", why);
	STAILQ_INIT(&specs);
	STAILQ_INSERT_TAIL(&specs, &p, entry);
	a.o = *o;
	a.path = o->conf_path;
	a.once = 1;
	return agent_run(&a, &specs);
}
