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
 *
 * This file: the connections (accept, lines in, dispatch, errors, close)
 * and the UDP datagrams.  The names in the table: rdv_names.c; connect
 * and punch: rdv_punch.c.
 */
#include "config.h"

#include <sys/socket.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "hex.h"
#include "rdv_named.h"

size_t
named_key(uint8_t *key, char tag, const void *id, size_t len)
{
	key[0] = (uint8_t)tag;
	memcpy(key + 1, id, len);
	return 1 + len;
}

int64_t
named_ttl(const struct worker *w)
{
	return (int64_t)w->conf->name_ttl * 1000;
}

void
named_send(struct named_conn *c, json_t *msg)
{
	jsonline_send(&c->jl, msg);
}

void
named_error(struct named_conn *c, const char *code, const char *message)
{
	jsonline_error(&c->jl, code, message);
}

static enum table_action
named_release_fn(void *val, size_t *len, int found, void *arg)
{
	(void)len;
	return found && memcmp(val, arg, sizeof(uint64_t)) == 0 ? TABLE_DELETE
								: TABLE_KEEP;
}

/* The connection's end (jsonline_kind.free). */
static void
named_free(void *arg)
{
	struct named_conn *c = arg;
	struct table	  *t = c->w->state->table;
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
	jsonline_free(&c->jl);
	gate_leave(LISTEN_NAMED, (struct sockaddr *)&c->peer);
	if (c->deadline != NULL)
		event_free(c->deadline);
	free(c);
}

/* Only the keys a message may have; the first other one, or NULL. */
const char *
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

/* The operations, as the connection object calls them. */
JSONLINE_OP(named_register)
JSONLINE_OP(named_lookup)
JSONLINE_OP(named_list)
JSONLINE_OP(named_connect)
JSONLINE_OP(named_keepalive)
JSONLINE_OP(named_challenge)

/* The protocol: a row per message type, in the order of the header. */
static const struct jsonline_op named_ops[] = {
    {"register", named_register_op, JSONLINE_ANY},
    {"lookup", named_lookup_op, JSONLINE_ANY},
    {"list", named_list_op, JSONLINE_ANY},
    {"connect", named_connect_op, JSONLINE_ANY},
    {"keepalive", named_keepalive_op, JSONLINE_ANY},
    {"challenge", named_challenge_op, JSONLINE_ANY},
};

static const struct jsonline_kind named_kind = {NAMED_LINE_MAX,
    NAMED_OUTPUT_MAX, named_ops, sizeof(named_ops) / sizeof(named_ops[0]),
    NULL, named_free, NULL};

/* Not registered in time: whatever it sent, the connection goes. */
static void
named_deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct named_conn *c = arg;

	(void)fd;
	(void)ev;
	proc_count(c->w, STAT_TIMEOUTS);
	if (!c->jl.closing)
		jsonline_close_with(&c->jl, "timeout",
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
	if ((c->deadline = evtimer_new(w->base, named_deadline_cb, c)) == NULL ||
	    wconn_add(&c->base) == -1) {
		proc_count(w, c->deadline == NULL ? STAT_NOMEM : STAT_TCP_REFUSED);
		close(fd);
		goto fail;
	}
	if (jsonline_open(&c->jl, &named_kind, w, fd, c) == -1) {
		proc_count(w, STAT_NOMEM); /* fd is closed */
		wconn_remove(&c->base);
		goto fail;
	}
	/* Register within register_timeout, however many bytes come. */
	evtimer_add(c->deadline, &reg);
	/* Quiet past the name's lifetime: the client is gone. */
	bufferevent_set_timeouts(c->jl.bev, &idle, NULL);
	return;
fail:
	gate_leave(LISTEN_NAMED, (struct sockaddr *)&c->peer);
	if (c->deadline != NULL)
		event_free(c->deadline);
	free(c);
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
