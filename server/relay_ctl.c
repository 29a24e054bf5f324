/*
 * Relay control connections (JSON lines) and the ports they expose.
 *
 *   hello {version, client_id} -> challenge {nonce}
 *   auth {hmac}                -> ok, or error (rate-limited, logged)
 *   expose {proto, remote_port, name} -> exposed {remote_port, …}
 *   list, unexpose {remote_port}, heartbeat
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
#include "log.h"
#include "named.h"
#include "ratelimit.h"
#include "relay.h"
#include "siphash.h"

#define RELAY_OUTPUT_MAX (64 * 1024)

static void relay_ctl_free(struct relay_ctl *);

struct relay_ctl_list relay_ctls = LIST_HEAD_INITIALIZER(relay_ctls);

void
relay_send(struct relay_ctl *c, json_t *msg)
{
	jsonline_send(c->bev, msg);
}

void
relay_error(struct relay_ctl *c, const char *code, const char *message)
{
	char a[ADDR_STRLEN], clean[RELAY_REASON_MAX + 1];

	/* The message may carry the peer's own words (an unknown type). */
	snprintf(clean, sizeof(clean), "%s", message);
	proc_count(c->w, STAT_ERRORS);
	if (worker_log_ok(c->w, (const struct sockaddr *)&c->peer.ss))
		log_info("%s: %s (client %s)", code, log_sanitize(clean),
		    addr_format(&c->peer, a, sizeof(a)));
	relay_send(c,
	    json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message",
		message));
}

/* Read no more; close once the output is flushed. */
static void
relay_ctl_finish(struct relay_ctl *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		relay_ctl_free(c);
}

/* Say why, then close once the output is flushed. */
void
relay_close_with(struct relay_ctl *c, const char *code, const char *message)
{
	relay_error(c, code, message);
	relay_ctl_finish(c);
}

static void
relay_ctl_free(struct relay_ctl *c)
{
	int i;

	wconn_remove(&c->base);
	LIST_REMOVE(c, entry);
	/* Streams already joined go on; new visitors are not taken. */
	for (i = 0; i < c->nports; i++)
		relay_port_close(c->ports[i]);
	jsonline_close(c->w, c->bev, c->closing);
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

	json_unpack(msg, "{s:s}", "hmac", &hmac);
	if (w->conf->relay_ntokens == 0)
		return relay_close_with(c, "no_relay",
		    "this server has no relay tokens (relay.token_file)");
	if (relay_auth_ok(w->conf, c->nonce, sizeof(c->nonce), hmac)) {
		struct timeval idle = {w->conf->relay_idle_timeout, 0};

		/* Logged in: the handshake deadline gives way to idleness. */
		bufferevent_set_timeouts(c->bev, &idle, NULL);
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
	if (splice_join(w, a, b, NULL, NULL, NULL) == -1)
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
		proc_count(w, STAT_NOMEM);
		close(fd);
		return;
	}
	c->w = w;
	c->peer = *peer;
	c->base.mail = relay_ctl_mail;
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL || wconn_add(&c->base) == -1) {
		proc_count(w, c->bev == NULL ? STAT_NOMEM : STAT_TCP_REFUSED);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		free(c);
		return;
	}
	LIST_INSERT_HEAD(&relay_ctls, c, entry);
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
		if (c->closing)
			continue;
		relay_send(c,
		    json_pack("{s:s,s:s}", "type", "reconnect", "message",
			"the relay is reloading or stopping"));
		relay_ctl_finish(c);
	}
}
