/*
 * Named sessions: a connect, reaching the name's holder by mail, and the
 * holder's choice of strategy and start times sent to both sides.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <event2/bufferevent.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "ratelimit.h"
#include "rdv_named.h"

static int
named_class_of(json_t *nat)
{
	const char *m = "none", *a = "preserving";
	int	    k;

	if (json_is_string(json_object_get(nat, "mapped")))
		return NAMED_MAPPED;
	json_unpack(nat, "{s?s,s?s}", "mapping", &m, "allocation", &a);
	k = named_class(m, a);
	return k == -1 ? NAMED_OPEN : k;
}

/* The kernel's smoothed RTT of this TCP connection, in ms. */
static int
named_rtt_ms(struct named_conn *c)
{
	struct tcp_info ti;
	socklen_t	len = sizeof(ti);

	if (getsockopt(bufferevent_getfd(c->jl.bev), IPPROTO_TCP, TCP_INFO, &ti,
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

void
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

void
named_mail(struct wconn *rc, const struct wmail *m, int fd)
{
	struct named_conn *c = (struct named_conn *)rc;

	(void)fd; /* named mail carries none */

	if (c->jl.closing)
		return;
	switch (m->type) {
	case MAIL_CONNECT:
		named_punch(c, m);
		break;
	case MAIL_PUNCH: /* a whole JSON line, built by the holder */
		bufferevent_write(c->jl.bev, m->body, m->len);
		bufferevent_write(c->jl.bev, "\n", 1);
		break;
	case MAIL_GONE:
		named_error(c, "not_found", "the name's holder left");
		break;
	}
}
