/*
 * Relay control connections (JSON lines) and the ports they expose.
 *
 *   hello {version, client_id} -> challenge {nonce}
 *   auth {hmac}                -> ok, or error (rate-limited, logged)
 *   expose {proto, remote_port, name} -> exposed {remote_port, …}
 *   list, unexpose {remote_port}, heartbeat
 *   refused {remote_port, error}: a pooled visitor's service refused it
 *   meet {session}             -> met, then the two meeting clients'
 *				   sockets are joined (relay fallback)
 *   (from the server) reconnect: the worker stops; go to another
 *
 * Ports and visitors are relay_port.c's.  Record:
 *
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
#include "jsonline.h"
#include "log.h"
#include "named.h"
#include "ratelimit.h"
#include "relay.h"
#include "siphash.h"

#define RELAY_OUTPUT_MAX (64 * 1024)


struct relay_ctl_list relay_ctls = LIST_HEAD_INITIALIZER(relay_ctls);

void
relay_send(struct relay_ctl *c, json_t *msg)
{
	jsonline_send(&c->jl, msg);
}

void
relay_error(struct relay_ctl *c, const char *code, const char *message)
{
	char a[ADDR_STRLEN], clean[RELAY_REASON_MAX + 1];

	/* The message may carry the peer's own words (an unknown type). */
	snprintf(clean, sizeof(clean), "%s", message);
	if (worker_log_ok(c->w, (const struct sockaddr *)&c->peer.ss))
		log_info("%s: %s (client %s)", code, log_sanitize(clean),
		    addr_format(&c->peer, a, sizeof(a)));
	jsonline_error(&c->jl, code, message);
}

/* Say why, then close once the output is flushed. */
void
relay_close_with(struct relay_ctl *c, const char *code, const char *message)
{
	relay_error(c, code, message);
	jsonline_finish(&c->jl);
}

/* The connection's end (jsonline_kind.free). */
static void
relay_ctl_free(void *arg)
{
	struct relay_ctl *c = arg;
	int		  i;

	wconn_remove(&c->base);
	LIST_REMOVE(c, entry);
	/* Streams already joined go on; new visitors are not taken. */
	for (i = 0; i < c->nports; i++)
		relay_port_close(c->ports[i]);
	jsonline_free(&c->jl);
	free(c);
}

static void
relay_auth(struct relay_ctl *c, json_t *msg)
{
	struct worker	     *w = c->w;
	struct ratelimit_rule rule = {(uint32_t)w->conf->relay_auth_burst,
	    (uint32_t)w->conf->relay_auth_per_minute};
	const char	     *hmac = "";
	char		      a[ADDR_STRLEN];
	int		      t;

	json_unpack(msg, "{s:s}", "hmac", &hmac);
	if (w->conf->relay_ntokens == 0)
		return relay_close_with(c, "no_relay",
		    "this server has no relay tokens (relay.token_file)");
	if ((t = relay_auth_find(w->conf, c->nonce, sizeof(c->nonce), hmac)) !=
	    -1) {
		struct timeval idle = {w->conf->relay_idle_timeout, 0};

		c->token = t;
		snprintf(c->client, sizeof(c->client), "%s",
		    w->conf->relay_tokens[t].name[0] != '\0'
			? w->conf->relay_tokens[t].name
			: "-");
		/* Logged in: the handshake deadline gives way to idleness. */
		bufferevent_set_timeouts(c->jl.bev, &idle, NULL);
		proc_count(w, STAT_LOGINS_OK);
		c->authed = 1;
		relay_send(c, json_pack("{s:s}", "type", "ok"));
		return;
	}
	proc_count(w, STAT_LOGINS_FAILED);
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
	int fd = bufferevent_getfd(c->jl.bev);

	bufferevent_setfd(c->jl.bev, -1);
	c->jl.closing = 0; /* nothing to linger for */
	jsonline_end(&c->jl);
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
	if (splice_join(w, a, b, NULL, NULL, NULL, NULL) == -1)
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
 * Relay fallback: two clients with the same punch session meet; the
 * second's socket goes to the first's worker, and c ends.
 */
static void
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
		return;
	}
	if (table_update(w->state->table, TABLE_KIND_RELAY_MEET, key,
		relay_key(key, 'M', session, sizeof(session)), relay_meet_fn,
		&rw, (int64_t)w->conf->relay_handshake_timeout * 3000,
		table_now_ms()) == -1) {
		relay_error(c, "server_full", "no room");
		return;
	}
	if (rw.visitor == 0)
		return; /* the first: wait for the partner's mail */
	fd = relay_ctl_detach(c);
	if (wmail_send_fd(w, rw.ordinal, rw.visitor, MAIL_RELAY_MEET, NULL, 0,
		fd) == -1) {
		log_warnx("a meeting partner could not be reached");
		close(fd);
	}
}

static int
relay_logged_in(void *c)
{
	return ((struct relay_ctl *)c)->authed;
}

static void
relay_error_op(void *c, const char *code, const char *message)
{
	relay_error(c, code, message);
}

static void
relay_list_op(void *c, json_t *msg)
{
	(void)msg;
	relay_list(c);
}

static void
relay_heartbeat_op(void *c, json_t *msg)
{
	(void)msg;
	relay_send(c, json_pack("{s:s}", "type", "heartbeat"));
}

/*
 * The client closed a visitor it had on a pooled connection, its local
 * service refusing: logged as a refusal on the dial-back path is (that
 * one comes with the data connection, which a pooled visitor had before).
 */
static void
relay_refused_op(void *arg, json_t *msg)
{
	struct relay_ctl *c = arg;
	const char	 *why = "";
	json_int_t	  port = 0;
	int		  i;

	json_unpack(msg, "{s:I,s:s}", "remote_port", &port, "error", &why);
	for (i = 0; i < c->nports; i++)
		if (c->ports[i]->port == port) {
			/* A client that says much is counted, not all logged. */
			if (worker_log_ok(c->w,
				(const struct sockaddr *)&c->peer.ss))
				relay_refused_log(c->w, (int)port, why,
				    strlen(why));
			else
				proc_count(c->w, STAT_LOCAL_REFUSED);
			return;
		}
	relay_error(c, "not_found", "no such exposed port");
}

JSONLINE_OP(relay_auth)
JSONLINE_OP(relay_expose)
JSONLINE_OP(relay_unexpose)
JSONLINE_OP(relay_meet)

/* The protocol: a row per message type, as the header lists them. */
static const struct jsonline_op relay_ops[] = {
    {"auth", relay_auth_op, JSONLINE_BEFORE_LOGIN},
    {"expose", relay_expose_op, JSONLINE_AFTER_LOGIN},
    {"list", relay_list_op, JSONLINE_AFTER_LOGIN},
    {"unexpose", relay_unexpose_op, JSONLINE_AFTER_LOGIN},
    {"meet", relay_meet_op, JSONLINE_AFTER_LOGIN},
    {"heartbeat", relay_heartbeat_op, JSONLINE_AFTER_LOGIN},
    {"refused", relay_refused_op, JSONLINE_AFTER_LOGIN},
};

static const struct jsonline_kind relay_kind = {RELAY_LINE_MAX,
    RELAY_OUTPUT_MAX, relay_ops, sizeof(relay_ops) / sizeof(relay_ops[0]),
    relay_logged_in, relay_ctl_free, relay_error_op};

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
		proc_count(w, STAT_NOMEM);
		close(fd);
		return;
	}
	c->w = w;
	c->peer = *peer;
	c->base.mail = relay_ctl_mail;
	if (wconn_add(&c->base) == -1) {
		proc_count(w, STAT_TCP_REFUSED);
		close(fd);
		free(c);
		return;
	}
	if (jsonline_open(&c->jl, &relay_kind, w, fd, c) == -1) {
		proc_count(w, STAT_NOMEM); /* fd is closed */
		wconn_remove(&c->base);
		free(c);
		return;
	}
	LIST_INSERT_HEAD(&relay_ctls, c, entry);
	bufferevent_set_timeouts(c->jl.bev, &idle, NULL);
	tls_sockname(fd, &ss, &sl);
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
	bufferevent_set_timeouts(c->jl.bev, &tv, NULL);
	relay_send(c,
	    json_pack("{s:s,s:s}", "type", "challenge", "nonce",
		hex_encode(c->nonce, sizeof(c->nonce), hex)));
}

/*
 * The worker stops (reload or stop): every client is told to reconnect,
 * which takes it to a new worker, and its ports close here so that the
 * new worker can give them back.  Joined streams go on.
 */
void
relay_ctl_drain(void)
{
	struct relay_ctl *c, *next;

	for (c = LIST_FIRST(&relay_ctls); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->jl.closing)
			continue;
		relay_send(c,
		    json_pack("{s:s,s:s}", "type", "reconnect", "message",
			"the relay is reloading or stopping"));
		jsonline_finish(&c->jl);
	}
}
