/*
 * Named sessions on 8848: JSON lines over TCP, and UDP datagrams that
 * only let the server see a client's UDP mapping.  Messages:
 *
 *   register {name?, lan?, nat?}  -> registered {name, token, ttl}
 *   (UDP) udp {token}             -> (UDP) observed {address}
 *   lookup {name}                 -> peer {name, public, nat}
 *   list                          -> list {names}
 *   connect {name}                -> punch, to both sides
 *   keepalive                     -> keepalive
 *
 * and {"type":"error","code":…,"message":…} for anything wrong.  Records:
 *
 *   N|name	   the connection holding a name (id, worker, token, class)
 *   T|token	   a registered connection and its observed UDP address
 *
 * A connect reaches the name's holder by mail; the holder chooses the
 * strategy and start delays and sends both punch messages.
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
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "hex.h"
#include "log.h"
#include "named.h"
#include "ratelimit.h"
#include "rendezvous.h"
#include "slotset.h"

#define NAMED_OUTPUT_MAX (64 * 1024)
#define NAMED_LIST_MAX	 255 /* names `list` can show */
#define NAMED_MARGIN_MS	 100 /* added to the later side's half RTT */

struct named_conn {
	struct wconn		base;
	struct worker	       *w;
	struct bufferevent     *bev;
	struct sockaddr_storage peer;
	char			name[NAMED_NAME_MAX + 1];
	uint8_t			token[NAMED_TOKEN_LEN];
	int			registered, closing;
	int			list_slot; /* where its name is listed */
	struct event	       *deadline;  /* to register, not renewed */
	json_t		       *lan, *nat;
};

/*
 * A name's record: the connection holding it, and enough to tell that
 * it died with its worker (the worker's state slot and pid) and where
 * it came from (family and address), so that its owner may take the
 * name back at once.
 */
struct named_holder {
	uint64_t conn;
	uint16_t ordinal;
	uint8_t	 token[NAMED_TOKEN_LEN];
	uint16_t slot;
	int32_t	 pid;
	uint8_t	 source[17];
};

struct named_claim {
	struct named_holder  me;
	const struct state  *state;
	int		     taken; /* a live client, or a dead one's name */
};

struct named_obs {
	uint64_t		conn;
	uint16_t		ordinal;
	uint16_t		has_addr;
	struct sockaddr_storage addr;
};


static void named_free(struct named_conn *);

static size_t
named_key(uint8_t *key, char tag, const void *id, size_t len)
{
	key[0] = (uint8_t)tag;
	memcpy(key + 1, id, len);
	return 1 + len;
}

static int64_t
named_ttl(const struct worker *w)
{
	return (int64_t)w->conf->name_ttl * 1000;
}

static void
named_send(struct named_conn *c, json_t *msg)
{
	jsonline_send(c->bev, msg);
}

static void
named_error(struct named_conn *c, const char *code, const char *message)
{
	proc_count(c->w, STAT_ERRORS);
	named_send(c,
	    json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message",
		message));
}

/*
 * Say why, then close once the output is flushed (named_free lets the
 * message arrive: worker_linger).
 */
static void
named_close_with(struct named_conn *c, const char *code, const char *message)
{
	named_error(c, code, message);
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		named_free(c);
}

static enum table_action
named_release_fn(void *val, size_t *len, int found, void *arg)
{
	(void)len;
	return found && memcmp(val, arg, sizeof(uint64_t)) == 0 ? TABLE_DELETE
								: TABLE_KEEP;
}

static void
named_free(struct named_conn *c)
{
	struct table *t = c->w->state->table;
	uint8_t	      key[TABLE_KEY_MAX];
	int64_t	      now = table_now_ms();

	if (c->name[0] != '\0')
		table_update(t, TABLE_KIND_NAMED, key,
		    named_key(key, 'N', c->name, strlen(c->name)),
		    named_release_fn, &c->base.id, 0, now);
	if (c->registered)
		table_update(t, TABLE_KIND_NAMED, key,
		    named_key(key, 'T', c->token, sizeof(c->token)),
		    named_release_fn, &c->base.id, 0, now);
	wconn_remove(&c->base);
	json_decref(c->lan);
	json_decref(c->nat);
	jsonline_close(c->w, c->bev, c->closing);
	gate_leave(LISTEN_NAMED, (struct sockaddr *)&c->peer);
	if (c->deadline != NULL)
		event_free(c->deadline);
	free(c);
}

/* Only the keys a message may have; the first other one, or NULL. */
static const char *
named_unknown_key(json_t *msg, const char *const *allowed)
{
	const char *k;
	json_t	   *v;
	int	    i;

	json_object_foreach(msg, k, v)
	{
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return k;
	}
	return NULL;
}

/* LAN candidates: at most NAMED_LAN_MAX "ip:port" strings. */
static int
named_lan_ok(json_t *lan)
{
	struct addr a;
	const char *why;
	size_t	    i;
	json_t	   *v;

	if (!json_is_array(lan) || json_array_size(lan) > NAMED_LAN_MAX)
		return 0;
	json_array_foreach(lan, i, v) if (!json_is_string(v) ||
	    addr_parse(json_string_value(v), 0, &a, &why) == -1 ||
	    addr_port(&a) == 0) return 0;
	return 1;
}

/* The NAT behaviour a client reports, from natclient nat-type. */
static int
named_nat_ok(json_t *nat)
{
	const char *m = NULL, *f = NULL, *a = NULL;
	json_int_t  delta = 0;

	if (!json_is_object(nat) || json_object_size(nat) > 4 ||
	    json_unpack(nat, "{s:s,s?s,s:s,s?I}", "mapping", &m, "filtering",
		&f, "allocation", &a, "delta", &delta) == -1)
		return 0;
	/*
	 * Filtering is only passed on to the peer: a short word, so that
	 * the punch mail between workers keeps within MAIL_BODY.
	 */
	if (f != NULL &&
	    (strlen(f) > NAMED_WORD_MAX ||
		strspn(f,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") !=
		    strlen(f)))
		return 0;
	return named_class(m, a) != -1 && delta > -65536 && delta < 65536;
}

static int
named_class_of(json_t *nat)
{
	const char *m = "none", *a = "preserving";
	int	    k;

	json_unpack(nat, "{s?s,s?s}", "mapping", &m, "allocation", &a);
	k = named_class(m, a);
	return k == -1 ? NAMED_OPEN : k;
}

/* The source IP of a connection, as a holder keeps it. */
static void
named_source(const struct sockaddr_storage *ss, uint8_t *out)
{
	memset(out, 0, 17);
	out[0] = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(out + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(out + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		    16);
}

/* Whether the worker that took h still runs (else h's connection died). */
static int
named_alive(const struct state *st, const struct named_holder *h)
{
	return h->slot < STATE_SLOTS_MAX && h->pid != 0 &&
	    st->slots[h->slot].pid == h->pid;
}

/*
 * Take a name unless a live client holds it.  A holder that died with
 * its worker gives way to a client from the same source IP: its owner
 * coming back (with keys, a signature will prove it); anyone else waits
 * for name_ttl.
 */
static enum table_action
named_claim_fn(void *val, size_t *len, int found, void *arg)
{
	struct named_holder *h = val;
	struct named_claim  *c = arg;

	if (found && *len == sizeof(*h) && h->conn != c->me.conn &&
	    (named_alive(c->state, h) ||
		memcmp(h->source, c->me.source, sizeof(h->source)) != 0)) {
		c->taken = 1;
		return TABLE_KEEP;
	}
	*h = c->me;
	*len = sizeof(*h);
	return TABLE_STORE;
}

static void
named_register(struct named_conn *c, json_t *msg)
{
	static const char *const keys[] = {"type", "name", "lan", "nat", NULL};
	struct worker		*w = c->w;
	struct named_claim	 claim;
	struct named_obs	 o;
	struct slotset set = {w->state->table, TABLE_KIND_NAMED, "names",
	    NAMED_LIST_MAX};
	struct ratelimit_rule rule = {(uint32_t)w->conf->named_register_burst,
	    (uint32_t)w->conf->named_register_per_minute};
	const char    *name = NULL, *bad;
	char	       hex[2 * NAMED_TOKEN_LEN + 1], pad[NAMED_NAME_MAX + 1];
	json_t	      *lan = json_object_get(msg, "lan");
	json_t	      *nat = json_object_get(msg, "nat");
	uint8_t	       key[TABLE_KEY_MAX];
	int64_t	       now = table_now_ms();

	if ((bad = named_unknown_key(msg, keys)) != NULL)
		return named_error(c, "unknown_field", bad);
	if (c->registered)
		return named_error(c, "already_registered",
		    "this connection is registered");
	if (json_unpack(msg, "{s?s}", "name", &name) == -1 ||
	    (name != NULL && !named_name_ok(name)))
		return named_error(c, "bad_name",
		    "a name is 1 to 32 of A-Z a-z 0-9 . _ -");
	if (lan != NULL && !named_lan_ok(lan))
		return named_error(c, "bad_lan",
		    "lan is a list of at most 8 \"ip:port\"");
	if (nat != NULL && !named_nat_ok(nat))
		return named_error(c, "bad_nat",
		    "nat needs mapping and allocation as nat-type reports");
	if (ratelimit_take(w->state->table, RL_NAMED_REGISTER,
		(struct sockaddr *)&c->peer, &rule, now) == 0) {
		proc_count(w, STAT_DROP_RATELIMIT);
		return named_error(c, "rate_limited", "too many registrations");
	}
	if (getrandom(c->token, sizeof(c->token), 0) != sizeof(c->token))
		return named_error(c, "internal", "no randomness");
	if (name != NULL) {
		memset(&claim, 0, sizeof(claim));
		claim.state = w->state;
		claim.me.conn = c->base.id;
		claim.me.ordinal = (uint16_t)w->ordinal;
		claim.me.slot = (uint16_t)(w->slot - w->state->slots);
		claim.me.pid = (int32_t)getpid();
		named_source(&c->peer, claim.me.source);
		memcpy(claim.me.token, c->token, sizeof(claim.me.token));
		if (table_update(w->state->table, TABLE_KIND_NAMED, key,
			named_key(key, 'N', name, strlen(name)), named_claim_fn,
			&claim, named_ttl(w), now) == -1)
			return named_error(c, "server_full", "no room");
		if (claim.taken)
			return named_error(c, "name_taken",
			    "a live client holds this name");
		snprintf(c->name, sizeof(c->name), "%s", name);
		memset(pad, 0, sizeof(pad));
		memcpy(pad, name, strlen(name));
		c->list_slot = slotset_put(&set, pad, sizeof(pad), sizeof(pad),
		    named_ttl(w), now);
	}
	memset(&o, 0, sizeof(o));
	o.conn = c->base.id;
	o.ordinal = (uint16_t)w->ordinal;
	if (table_put(w->state->table, TABLE_KIND_NAMED, key,
		named_key(key, 'T', c->token, sizeof(c->token)), &o, sizeof(o),
		named_ttl(w), now) == -1)
		return named_error(c, "server_full", "no room");
	c->registered = 1;
	evtimer_del(c->deadline);
	c->lan = lan != NULL ? json_incref(lan) : json_array();
	c->nat = nat != NULL ? json_incref(nat)
			     : json_pack("{s:s,s:s}", "mapping", "none",
				   "allocation", "preserving");
	named_send(c,
	    json_pack("{s:s,s:s,s:s,s:i}", "type", "registered", "name",
		c->name, "token", hex_encode(c->token, sizeof(c->token), hex),
		"ttl", w->conf->name_ttl));
}

/* Refresh a record if it is still this connection's. */
struct named_touch {
	uint64_t conn;
	int	 ours;
};

static enum table_action
named_touch_fn(void *val, size_t *len, int found, void *arg)
{
	struct named_touch *t = arg;

	(void)len;
	if (!found || memcmp(val, &t->conn, sizeof(t->conn)) != 0)
		return TABLE_KEEP;
	t->ours = 1;
	return TABLE_STORE;
}

/*
 * Refresh this connection's records, each in one table operation (its
 * name's place in the list is remembered, not looked for): 0, or -1
 * when they are gone (they lapsed, or another client holds the name).
 */
static int
named_touch(struct named_conn *c)
{
	struct worker	  *w = c->w;
	struct slotset set = {w->state->table, TABLE_KIND_NAMED, "names",
	    NAMED_LIST_MAX};
	struct named_touch t = {c->base.id, 0};
	char		   pad[NAMED_NAME_MAX + 1];
	uint8_t		   key[TABLE_KEY_MAX];
	int64_t		   now = table_now_ms();

	if (!c->registered)
		return 0;
	table_update(w->state->table, TABLE_KIND_NAMED, key,
	    named_key(key, 'T', c->token, sizeof(c->token)), named_touch_fn,
	    &t, named_ttl(w), now);
	if (!t.ours)
		return -1;
	if (c->name[0] == '\0')
		return 0;
	t.ours = 0;
	table_update(w->state->table, TABLE_KIND_NAMED, key,
	    named_key(key, 'N', c->name, strlen(c->name)), named_touch_fn,
	    &t, named_ttl(w), now);
	if (!t.ours)
		return -1;
	memset(pad, 0, sizeof(pad));
	memcpy(pad, c->name, strlen(c->name));
	c->list_slot = slotset_refresh(&set, c->list_slot, pad, sizeof(pad),
	    sizeof(pad), named_ttl(w), now);
	return 0;
}

/* A keepalive: refreshed, or told that the registration is gone. */
static void
named_keepalive(struct named_conn *c)
{
	if (named_touch(c) == 0) {
		named_send(c, json_pack("{s:s}", "type", "keepalive"));
		return;
	}
	/* Forget what is no longer ours; named_free must not release it. */
	c->registered = 0;
	c->name[0] = '\0';
	named_error(c, "not_registered",
	    "this registration lapsed: register again");
}

/* The observed UDP address of a token's holder: 0, or -1. */
static int
named_observed(struct worker *w, const uint8_t *token, struct named_obs *o)
{
	uint8_t key[TABLE_KEY_MAX];

	if (table_get(w->state->table, TABLE_KIND_NAMED, key,
		named_key(key, 'T', token, NAMED_TOKEN_LEN), o, sizeof(*o),
		table_now_ms()) != (int)sizeof(*o) ||
	    !o->has_addr)
		return -1;
	return 0;
}

static int
named_holder(struct worker *w, const char *name, struct named_holder *h)
{
	uint8_t key[TABLE_KEY_MAX];

	return table_get(w->state->table, TABLE_KIND_NAMED, key,
		   named_key(key, 'N', name, strlen(name)), h, sizeof(*h),
		   table_now_ms()) == (int)sizeof(*h)
	    ? 0
	    : -1;
}

static void
named_lookup(struct named_conn *c, json_t *msg)
{
	static const char *const keys[] = {"type", "name", NULL};
	struct named_holder	 h;
	struct named_obs	 o;
	const char		*name = NULL, *bad;
	char			 a[ADDR_STRLEN];

	if ((bad = named_unknown_key(msg, keys)) != NULL)
		return named_error(c, "unknown_field", bad);
	if (json_unpack(msg, "{s:s}", "name", &name) == -1 ||
	    !named_name_ok(name))
		return named_error(c, "bad_name", "lookup needs a valid name");
	if (named_holder(c->w, name, &h) == -1 ||
	    !named_alive(c->w->state, &h))
		return named_error(c, "not_found", name);
	if (named_observed(c->w, h.token, &o) == -1)
		a[0] = '\0';
	else
		addr_format_sa((struct sockaddr *)&o.addr, a, sizeof(a));
	named_send(c,
	    json_pack("{s:s,s:s,s:s}", "type", "peer", "name", name, "public",
		a));
}

static void
named_list_cb(void *arg, int slot, const void *val, size_t len)
{
	char name[NAMED_NAME_MAX + 1];

	(void)slot;
	if (len != sizeof(name))
		return;
	memcpy(name, val, sizeof(name));
	name[NAMED_NAME_MAX] = '\0';
	json_array_append_new(arg, json_string(name));
}

static void
named_list(struct named_conn *c, json_t *msg)
{
	static const char *const keys[] = {"type", NULL};
	struct slotset set = {c->w->state->table, TABLE_KIND_NAMED, "names",
	    NAMED_LIST_MAX};
	struct ratelimit_rule rule = {(uint32_t)c->w->conf->list_burst,
	    (uint32_t)c->w->conf->list_per_minute};
	const char	     *bad;
	json_t		     *names;

	if ((bad = named_unknown_key(msg, keys)) != NULL)
		return named_error(c, "unknown_field", bad);
	if (ratelimit_take(c->w->state->table, RL_NAMED_LIST,
		(struct sockaddr *)&c->peer, &rule, table_now_ms()) == 0) {
		proc_count(c->w, STAT_DROP_RATELIMIT);
		return named_error(c, "rate_limited", "too many lists");
	}
	names = json_array();
	slotset_list(&set, named_list_cb, names, table_now_ms());
	named_send(c, json_pack("{s:s,s:o}", "type", "list", "names", names));
}

/* The kernel's smoothed RTT of this TCP connection, in ms. */
static int
named_rtt_ms(struct named_conn *c)
{
	struct tcp_info ti;
	socklen_t	len = sizeof(ti);

	if (getsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_INFO, &ti,
		&len) == -1)
		return 0;
	return (int)(ti.tcpi_rtt / 1000);
}

/* This side as the other side's punch message names it. */
static json_t *
named_side(struct named_conn *c, const struct named_obs *o)
{
	char a[ADDR_STRLEN], t[ADDR_STRLEN];

	/* public_tcp: this connection's source, for TCP punching. */
	addr_format_sa((const struct sockaddr *)&o->addr, a, sizeof(a));
	addr_format_sa((const struct sockaddr *)&c->peer, t, sizeof(t));
	return json_pack("{s:s,s:s,s:s,s:O,s:O,s:i}", "name", c->name, "public",
	    a, "public_tcp", t, "lan", c->lan, "nat", c->nat, "rtt_ms",
	    named_rtt_ms(c));
}

static void
named_connect(struct named_conn *c, json_t *msg)
{
	static const char *const keys[] = {"type", "name", NULL};
	struct worker		*w = c->w;
	struct ratelimit_rule	 rule = {(uint32_t)w->conf->connect_burst,
	       (uint32_t)w->conf->connect_per_minute};
	struct named_holder	 h;
	struct named_obs	 o;
	const char		*name = NULL, *bad;
	json_t			*me;
	char			*body;
	int			 rv;

	if ((bad = named_unknown_key(msg, keys)) != NULL)
		return named_error(c, "unknown_field", bad);
	if (json_unpack(msg, "{s:s}", "name", &name) == -1 ||
	    !named_name_ok(name))
		return named_error(c, "bad_name", "connect needs a valid name");
	if (!c->registered || named_observed(w, c->token, &o) == -1)
		return named_error(c, "not_observed",
		    "register, then send the token by UDP first");
	if (ratelimit_take(w->state->table, RL_CONNECT,
		(struct sockaddr *)&c->peer, &rule, table_now_ms()) == 0) {
		proc_count(w, STAT_DROP_RATELIMIT);
		return named_error(c, "rate_limited", "too many connects");
	}
	if (named_holder(w, name, &h) == -1 || !named_alive(w->state, &h))
		return named_error(c, "not_found", name);
	if (h.conn == c->base.id)
		return named_error(c, "self", "cannot connect to oneself");
	me = named_side(c, &o);
	body = json_dumps(me, JSON_COMPACT);
	json_decref(me);
	rv = body == NULL ? -1
			  : wmail_send(w, h.ordinal, h.conn, MAIL_CONNECT, body,
				strlen(body), c->base.id);
	free(body);
	if (rv == -1)
		named_error(c, "busy", "the server could not reach the name");
}

/* The holder's half of a connect: choose, and tell both sides. */
static void
named_punch(struct named_conn *c, const struct wmail *m)
{
	struct named_obs o;
	json_t		*peer, *mine, *msg;
	const char	*peer_pub = "";
	char		 hex[2 * NAMED_TOKEN_LEN + 1], *s, my_ip[ADDR_STRLEN];
	char		 their_ip[ADDR_STRLEN], *colon;
	uint8_t		 session[NAMED_TOKEN_LEN];
	int		 strategy, rtt_me, rtt_peer = 0, later;

	peer = json_loadb((const char *)m->body, m->len, 0, NULL);
	if (peer == NULL || named_observed(c->w, c->token, &o) == -1) {
		json_decref(peer);
		s = "{\"type\":\"error\",\"code\":\"peer_not_ready\","
		    "\"message\":\"the name has no UDP mapping yet\"}";
		wmail_send(c->w, m->from_ordinal, m->from, MAIL_PUNCH, s,
		    strlen(s), 0);
		return;
	}
	json_unpack(peer, "{s:s,s:i}", "public", &peer_pub, "rtt_ms",
	    &rtt_peer);
	mine = named_side(c, &o);
	/* Same public IP: both sit behind one NAT. */
	snprintf(their_ip, sizeof(their_ip), "%s", peer_pub);
	json_unpack(mine, "{s:s}", "public", &s);
	snprintf(my_ip, sizeof(my_ip), "%s", s);
	if ((colon = strrchr(their_ip, ':')) != NULL)
		*colon = '\0';
	if ((colon = strrchr(my_ip, ':')) != NULL)
		*colon = '\0';
	strategy = named_strategy(named_class_of(c->nat),
	    named_class_of(json_object_get(peer, "nat")),
	    strcmp(my_ip, their_ip) == 0);
	rtt_me = named_rtt_ms(c);
	later = (rtt_me > rtt_peer ? rtt_me : rtt_peer) / 2 + NAMED_MARGIN_MS;
	if (getrandom(session, sizeof(session), 0) != sizeof(session))
		memset(session, 0, sizeof(session));
	hex_encode(session, sizeof(session), hex);
	proc_count(c->w, STAT_PAIRED);

	msg = json_pack("{s:s,s:s,s:s,s:s,s:i,s:O}", "type", "punch", "session",
	    hex, "role", "connector", "strategy", named_strategy_name(strategy),
	    "delay_ms", later - rtt_peer / 2, "peer", mine);
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (s != NULL)
		wmail_send(c->w, m->from_ordinal, m->from, MAIL_PUNCH, s,
		    strlen(s), 0);
	free(s);
	named_send(c,
	    json_pack("{s:s,s:s,s:s,s:s,s:i,s:o}", "type", "punch", "session",
		hex, "role", "listener", "strategy",
		named_strategy_name(strategy), "delay_ms", later - rtt_me / 2,
		"peer", peer));
	json_decref(mine);
}

static void
named_mail(struct wconn *rc, const struct wmail *m, int fd)
{
	struct named_conn *c = (struct named_conn *)rc;

	(void)fd; /* named mail carries none */

	if (c->closing)
		return;
	switch (m->type) {
	case MAIL_CONNECT:
		named_punch(c, m);
		break;
	case MAIL_PUNCH: /* a whole JSON line, built by the holder */
		bufferevent_write(c->bev, m->body, m->len);
		bufferevent_write(c->bev, "\n", 1);
		break;
	case MAIL_GONE:
		named_error(c, "not_found", "the name's holder left");
		break;
	}
}

static void
named_message(struct named_conn *c, const char *line, size_t len)
{
	json_t	    *msg;
	json_error_t err;
	const char  *type = NULL;

	proc_count(c->w, STAT_REQUESTS);
	if ((msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return named_error(c, "bad_json", err.text);
	if (!json_is_object(msg) ||
	    json_unpack(msg, "{s:s}", "type", &type) == -1)
		named_error(c, "bad_message",
		    "a message is an object with a type");
	else if (strcmp(type, "register") == 0)
		named_register(c, msg);
	else if (strcmp(type, "lookup") == 0)
		named_lookup(c, msg);
	else if (strcmp(type, "list") == 0)
		named_list(c, msg);
	else if (strcmp(type, "connect") == 0)
		named_connect(c, msg);
	else if (strcmp(type, "keepalive") == 0)
		named_keepalive(c);
	else
		named_error(c, "unknown_type", type);
	json_decref(msg);
}

static void
named_read_cb(struct bufferevent *bev, void *arg)
{
	struct named_conn *c = arg;
	char		  *line;
	size_t		   len;
	int		   got;

	while (!c->closing &&
	    (got = jsonline_next(bev, NAMED_LINE_MAX, NAMED_OUTPUT_MAX, &line,
		 &len)) != 0) {
		if (got == -1) {
			named_close_with(c, "too_long",
			    "a message is at most 4096 bytes");
			return;
		}
		named_message(c, line, len);
		free(line);
	}
}

static void
named_write_cb(struct bufferevent *bev, void *arg)
{
	struct named_conn *c = arg;

	if (c->closing)
		named_free(c);
	else if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		named_read_cb(bev, c);
}

static void
named_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct named_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		proc_count(c->w, STAT_TIMEOUTS);
	named_free(c);
}

/* Not registered in time: whatever it sent, the connection goes. */
static void
named_deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct named_conn *c = arg;

	(void)fd;
	(void)ev;
	proc_count(c->w, STAT_TIMEOUTS);
	if (!c->closing)
		named_close_with(c, "timeout",
		    "a connection registers within rendezvous.register_timeout");
}

void
rdv_named_accept(struct worker *w, struct listener *l, int fd,
    const struct addr *peer)
{
	struct timeval	   idle = {w->conf->name_ttl, 0};
	struct timeval	   reg = {w->conf->register_timeout, 0};
	struct named_conn *c;

	(void)l;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		gate_leave(LISTEN_NAMED, (const struct sockaddr *)&peer->ss);
		proc_count(w, STAT_NOMEM);
		close(fd);
		return;
	}
	c->w = w;
	c->base.mail = named_mail;
	memcpy(&c->peer, &peer->ss, peer->len);
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(w->base, named_deadline_cb, c);
	if (c->bev == NULL || c->deadline == NULL ||
	    wconn_add(&c->base) == -1) {
		proc_count(w, c->bev == NULL || c->deadline == NULL
			? STAT_NOMEM
			: STAT_TCP_REFUSED);
		gate_leave(LISTEN_NAMED, (struct sockaddr *)&c->peer);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->deadline != NULL)
			event_free(c->deadline);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, named_read_cb, named_write_cb, named_event_cb,
	    c);
	/* Register within register_timeout, however many bytes come. */
	evtimer_add(c->deadline, &reg);
	/* Quiet past the name's lifetime: the client is gone. */
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* A UDP datagram: {"type":"udp","token":…} records where it came from. */
struct named_seen {
	const struct sockaddr_storage *from;
	int			       found;
};

static enum table_action
named_observe_fn(void *val, size_t *len, int found, void *arg)
{
	struct named_obs  *o = val;
	struct named_seen *seen = arg;

	if (!found || *len != sizeof(*o))
		return TABLE_KEEP;
	memcpy(&o->addr, seen->from, sizeof(o->addr));
	o->has_addr = 1;
	seen->found = 1;
	return TABLE_STORE;
}

static int
named_udp(struct worker *w, const char *buf, size_t n,
    struct sockaddr_storage *from)
{
	uint8_t		  token[NAMED_TOKEN_LEN], key[TABLE_KEY_MAX];
	const char	 *type, *hex;
	json_t		 *msg = json_loadb(buf, n, 0, NULL);
	struct named_seen seen = {from, 0};
	int		  rv = -1;

	if (msg != NULL &&
	    json_unpack(msg, "{s:s,s:s}", "type", &type, "token", &hex) == 0 &&
	    json_object_size(msg) == 2 && strcmp(type, "udp") == 0 &&
	    hex_decode(hex, token, sizeof(token)) == 0 &&
	    table_update(w->state->table, TABLE_KIND_NAMED, key,
		named_key(key, 'T', token, sizeof(token)), named_observe_fn,
		&seen, named_ttl(w), table_now_ms()) == 0 &&
	    seen.found)
		rv = 0;
	json_decref(msg);
	return rv;
}

void
rdv_named_dgram(struct worker *w, struct listener *l)
{
	struct sockaddr_storage from;
	char			buf[512], a[ADDR_STRLEN], reply[128];
	socklen_t		len;
	ssize_t			n;
	int			i;

	for (i = 0; i < 64; i++) {
		memset(&from, 0, sizeof(from));
		len = sizeof(from);
		n = recvfrom(l->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
		    (struct sockaddr *)&from, &len);
		if (n == -1)
			return;
		if (n > (ssize_t)sizeof(buf) ||
		    named_udp(w, buf, (size_t)n, &from) == -1) {
			proc_count(w, STAT_DROP_JUNK);
			continue;
		}
		proc_count(w, STAT_REQUESTS);
		addr_format_sa((struct sockaddr *)&from, a, sizeof(a));
		n = snprintf(reply, sizeof(reply),
		    "{\"type\":\"observed\",\"address\":\"%s\"}", a);
		if (sendto(l->fd, reply, (size_t)n, MSG_DONTWAIT,
			(struct sockaddr *)&from, len) == n)
			proc_count(w, STAT_REPLIES);
		else
			proc_count(w, STAT_DROP_SEND);
	}
}
