/*
 * Named sessions: the names and registrations in the shared table
 * (register, keepalive, lookup, list), and who may hold a name.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "ratelimit.h"
#include "rdv_named.h"
#include "slotset.h"

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

/*
 * A port the client's router mapped (PCP, NAT-PMP, UPnP), UDP or TCP:
 * an address with a port, passed on to the peer as its target.
 */
static int
named_mapped_ok(const char *mapped)
{
	struct addr ext;
	const char *why;

	return mapped == NULL ||
	    (strlen(mapped) < ADDR_STRLEN &&
		addr_parse(mapped, 0, &ext, &why) == 0 && addr_port(&ext) != 0);
}

/* The NAT behaviour a client reports, from natclient nat-type. */
static int
named_nat_ok(json_t *nat)
{
	const char *m = NULL, *f = NULL, *a = NULL, *mapped = NULL;
	const char *mapped_tcp = NULL;
	json_int_t  delta = 0;

	if (!json_is_object(nat) || json_object_size(nat) > 6 ||
	    json_unpack(nat, "{s:s,s?s,s:s,s?I,s?s,s?s}", "mapping", &m,
		"filtering", &f, "allocation", &a, "delta", &delta, "mapped",
		&mapped, "mapped_tcp", &mapped_tcp) == -1 ||
	    !named_mapped_ok(mapped) || !named_mapped_ok(mapped_tcp))
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
int
named_alive(const struct state *st, const struct named_holder *h)
{
	return h->slot < STATE_SLOTS_MAX && h->pid != 0 &&
	    st->slots[h->slot].pid == h->pid;
}

struct named_claim {
	struct named_holder  me;
	const struct state  *state;
	int		     owned; /* proved the name's key */
	int		     taken; /* a live client, or a dead one's name */
};

/*
 * Take a name unless a live client holds it.  A holder that died with
 * its worker gives way to the name's key (rdv_owner.c), or to a client
 * from the same source IP (its owner coming back without a key);
 * anyone else waits for name_ttl.
 */
static enum table_action
named_claim_fn(void *val, size_t *len, int found, void *arg)
{
	struct named_holder *h = val;
	struct named_claim  *c = arg;

	if (found && *len == sizeof(*h) && h->conn != c->me.conn &&
	    (named_alive(c->state, h) ||
		(!c->owned &&
		    memcmp(h->source, c->me.source, sizeof(h->source)) != 0))) {
		c->taken = 1;
		return TABLE_KEEP;
	}
	*h = c->me;
	*len = sizeof(*h);
	return TABLE_STORE;
}

void
named_register(struct named_conn *c, json_t *msg)
{
	static const char *const keys[] = {"type", "name", "lan", "nat", "key",
	    "sig", "listed", NULL};
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
		    "nat needs mapping and allocation as nat-type reports, "
		    "and mapped or mapped_tcp (if there) an address with a port");
	if (ratelimit_take(w->state->table, RL_NAMED_REGISTER,
		(struct sockaddr *)&c->peer, &rule, now) == 0) {
		proc_count(w, STAT_DROP_RATELIMIT);
		return named_error(c, "rate_limited", "too many registrations");
	}
	if (name != NULL && named_owner_check(c, name, msg) == -1)
		return;
	if (getrandom(c->token, sizeof(c->token), 0) != sizeof(c->token))
		return named_error(c, "internal", "no randomness");
	if (name != NULL) {
		memset(&claim, 0, sizeof(claim));
		claim.state = w->state;
		claim.owned = c->owned;
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
		named_owner_keep(c);
		/* Listed only when its owner asks (and the server lists). */
		c->list_slot = -1;
		if (json_is_true(json_object_get(msg, "listed"))) {
			memset(pad, 0, sizeof(pad));
			memcpy(pad, name, strlen(name));
			c->list_slot = slotset_put(&set, pad, sizeof(pad),
			    sizeof(pad), named_ttl(w), now);
		}
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
	named_owner_keep(c);
	if (c->list_slot < 0)
		return 0;
	memset(pad, 0, sizeof(pad));
	memcpy(pad, c->name, strlen(c->name));
	c->list_slot = slotset_refresh(&set, c->list_slot, pad, sizeof(pad),
	    sizeof(pad), named_ttl(w), now);
	return 0;
}

/* A keepalive: refreshed, or told that the registration is gone. */
void
named_keepalive(struct named_conn *c, json_t *msg)
{
	(void)msg;
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
int
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

int
named_holder(struct worker *w, const char *name, struct named_holder *h)
{
	uint8_t key[TABLE_KEY_MAX];

	return table_get(w->state->table, TABLE_KIND_NAMED, key,
		   named_key(key, 'N', name, strlen(name)), h, sizeof(*h),
		   table_now_ms()) == (int)sizeof(*h)
	    ? 0
	    : -1;
}

void
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

void
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
	if (!c->w->conf->named_list)
		return named_error(c, "list_disabled",
		    "this server does not list names (rendezvous.list = no)");
	if (ratelimit_take(c->w->state->table, RL_NAMED_LIST,
		(struct sockaddr *)&c->peer, &rule, table_now_ms()) == 0) {
		proc_count(c->w, STAT_DROP_RATELIMIT);
		return named_error(c, "rate_limited", "too many lists");
	}
	names = json_array();
	slotset_list(&set, named_list_cb, names, table_now_ms());
	named_send(c, json_pack("{s:s,s:o}", "type", "list", "names", names));
}
