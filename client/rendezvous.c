/*
 * natclient listen NAME and connect NAME: meet through the rendezvous
 * server's named sessions, punch as its punch message says, then carry
 * stdin/stdout (or datagrams) over the path.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "ping.h"
#include "fallback.h"
#include "hex.h"
#include "holepunch.h"
#include "keys.h"
#include "mux.h"
#include "natclient.h"
#include "path.h"
#include "secure.h"
#include "session.h"
#include "tcppunch.h"

#define RDV_PUNCH_MIN_S	 10    /* punching gets at least this long */
#define RDV_HANDSHAKE_MS 10000 /* the end-to-end handshake */

/* The plan in a punch message; -1 if the message is not one. */
static int
rdv_plan(const struct client_opts *o, struct session *s, json_t *msg,
    struct hp_plan *p)
{
	const char *session, *strategy, *pub, *mapping = "none",
					      *alloc = "preserving", *why,
					      *mapped = NULL;
	json_t *peer, *lan = NULL, *v;
	size_t	i;
	int	delta = 0;

	memset(p, 0, sizeof(*p));
	if (json_unpack(msg, "{s:s,s:s,s:i,s:o}", "session", &session,
		"strategy", &strategy, "delay_ms", &p->delay_ms, "peer",
		&peer) == -1 ||
	    json_unpack(peer, "{s:s,s?o,s?i,s?{s?s,s?s,s?i,s?s}}", "public",
		&pub, "lan", &lan, "rtt_ms", &p->rtt_ms, "nat", "mapping",
		&mapping, "allocation", &alloc, "delta", &delta, "mapped",
		&mapped) == -1 ||
	    hex_decode(session, p->session, sizeof(p->session)) == -1 ||
	    (p->strategy = named_strategy_parse(strategy)) == -1 ||
	    addr_parse(pub, 0, &p->peer_public, &why) == -1)
		return -1;
	p->connector = strcmp(client_json_type(msg), "punch") == 0 &&
	    json_is_string(json_object_get(msg, "role")) &&
	    strcmp(json_string_value(json_object_get(msg, "role")),
		"connector") == 0;
	json_array_foreach(lan, i, v) if (p->npeer_lan < HP_LAN_MAX &&
	    json_is_string(v) &&
	    addr_parse(json_string_value(v), 0, &p->peer_lan[p->npeer_lan],
		&why) == 0) p->npeer_lan++;
	if (p->delay_ms < 0 || p->delay_ms > 10000)
		p->delay_ms = 0;
	p->peer_class = named_class(mapping, alloc);
	if (mapped != NULL && addr_parse(mapped, 0, &p->peer_mapped, &why) == 0)
		p->peer_class = NAMED_MAPPED;
	p->peer_delta = delta != 0 ? delta : 1;
	p->my_class = s->class;
	p->my_delta = s->delta;
	p->main_fd = s->udp;
	p->timeout_ms = 1000 *
	    (o->timeout > RDV_PUNCH_MIN_S ? o->timeout : RDV_PUNCH_MIN_S);
	return 0;
}

static void
rdv_report(const struct client_opts *o, const struct hp_plan *p,
    const struct hp_result *r, int ok, FILE *out, const struct secure *sec)
{
	char	    peer[ADDR_STRLEN], pair[128], key[KEY_LINE_MAX] = "";
	const char *strategy = named_strategy_name(p->strategy);

	snprintf(pair, sizeof(pair), "%s x %s", named_class_name(p->my_class),
	    named_class_name(p->peer_class));
	if (ok) {
		addr_format(&r->peer, peer, sizeof(peer));
		key_format(sec->peer, key, sizeof(key));
	} else
		addr_format(&p->peer_public, peer, sizeof(peer));
	client_status(json_pack("{s:s,s:s,s:s,s:s,s:i}", "event",
	    ok ? "path" : "nopath",
	    "path", !ok ? "none" : p->strategy == NAMED_RELAY ? "relay" : "direct",
	    "strategy", strategy, "peer", peer, "ms", r->ms));
	if (o->json) {
		char *s = json_dumps(
		    json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:i}", "result",
			!ok			     ? "failed"
			    : p->strategy == NAMED_RELAY ? "relay"
							 : "direct",
			"peer", peer, "strategy", strategy, "nat_pair", pair,
			"ms", r->ms, "probes", r->probes, "peer_key", key,
			"handshake_ms", r->handshake_ms),
		    JSON_COMPACT | JSON_PRESERVE_ORDER);

		fprintf(out, "%s\n", s);
		fflush(out);
		free(s);
	} else if (ok)
		fprintf(out, "connected to %s (%s, %s) in %d ms\n", peer,
		    strategy, pair, r->ms);
	if (!ok)
		fprintf(stderr,
		    "natclient: no direct path to %s between %s NATs "
		    "(strategy %s), nor one through the relay\n",
		    peer, pair, strategy);
}

/* What became of a punch: rdv_run's and rdv_carry's results. */
enum rdv_result {
	RDV_DONE,   /* both directions ended cleanly */
	RDV_NOPATH, /* no path could be made with this peer */
	RDV_LOST,   /* the path was made, then the peer went away */
	RDV_REFUSED, /* the path was made, the handshake refused */
};

static int
rdv_failed(const struct client_opts *o, const struct hp_plan *p,
    struct hp_result *r)
{
	rdv_report(o, p, r, 0, stdout, NULL);
	return RDV_NOPATH;
}

/* --forward or --local (or ping): datagrams, not stdin/stdout. */
static int
rdv_datagrams(const struct client_opts *o)
{
	return o->forward[0] != '\0' || o->local_port ||
	    (o->ping_count > 0 && !o->ping_stream);
}

/* --forward-tcp or --local-tcp: TCP connections over a stream path. */
static int
rdv_forwards_tcp(const struct client_opts *o)
{
	return o->forward_tcp[0] != '\0' || o->local_tcp;
}

/* Carry TCP connections: the listener dials --forward-tcp for each. */
static int
rdv_tcp(const struct client_opts *o, struct secure *sec)
{
	struct mux_stats st;
	struct addr	 target;
	const char	*why;

	memset(&st, 0, sizeof(st));
	if (o->local_tcp)
		return bridge_tcp(sec, o, o->local_tcp_fd, NULL, &st);
	if (addr_parse(o->forward_tcp, 0, &target, &why) == -1)
		client_fail(o, "--forward-tcp %s: %s", o->forward_tcp, why);
	return bridge_tcp(sec, o, -1, &target, &st);
}

/*
 * Seal the path (the punched UDP socket r->fd, or tcp when it is a TCP
 * connection to the peer: punched with --tcp, or through the relay),
 * say how we connected, then carry stdin/stdout or datagrams over it:
 * RDV_DONE, RDV_LOST or RDV_REFUSED.
 */
static int
rdv_carry(const struct client_opts *o, struct hp_plan *p, struct hp_result *r,
    int tcp, const struct secure_policy *pol)
{
	struct dg_local local;
	struct secure	sec;
	struct path	path;
	int64_t		start;
	int		rv;

	if (tcp != -1) {
		if (path_tcp(&path, tcp) == -1)
			client_fail(o, "out of memory");
	} else if (rdv_datagrams(o))
		path_udp(&path, r->fd, &r->peer);
	else if (path_enet(o, &path, r->fd, &r->peer, p->connector) == -1)
		return RDV_LOST;
	start = client_now_ms();
	if (secure_handshake(&sec, &path, p->connector, pol, p->session,
		RDV_HANDSHAKE_MS) == -1) {
		/* Cleanly: a refusal must reach the peer before the end. */
		path.ops->close(&path, 1);
		return RDV_REFUSED;
	}
	r->handshake_ms = (int)(client_now_ms() - start);
	if (o->ping_count > 0) {
		rv = ping_run(o, &sec, o->ping_name,
		    p->strategy == NAMED_RELAY ? "relay" : "direct",
		    named_strategy_name(p->strategy));
		return rv == 0 ? RDV_DONE : RDV_LOST;
	}
	if (rdv_forwards_tcp(o)) {
		rdv_report(o, p, r, 1, stdout, &sec);
		rv = rdv_tcp(o, &sec);
	} else if (!rdv_datagrams(o)) {
		rdv_report(o, p, r, 1, stderr, &sec);
		rv = bridge_stream(&sec);
	} else {
		dg_local_open(o, &local);
		rdv_report(o, p, r, 1, stdout, &sec);
		rv = bridge_datagrams(&sec, &local);
	}
	return rv == 0 ? RDV_DONE : RDV_LOST;
}

/* No direct path: through the relay when we have a token. */
static int
rdv_fallback(const struct client_opts *o, struct hp_plan *p,
    struct hp_result *r, const struct secure_policy *pol)
{
	int64_t start = client_now_ms();
	int	fd;

	if ((fd = relay_fallback(o, p->session, p->connector, &r->peer)) == -1)
		return rdv_failed(o, p, r);
	p->strategy = NAMED_RELAY;
	r->ms = (int)(client_now_ms() - start);
	return rdv_carry(o, p, r, fd, pol);
}

/*
 * --tcp with a gateway's TCP mapping on either side: the mapped side
 * accepts on its port (the listener, when both are mapped), the other
 * connects to the mapped address.  As for UDP, the mapped side never
 * sends first (holepunch.c says why).
 */
static int
rdv_run_tcp_mapped(const struct client_opts *o, struct session *s,
    struct hp_plan *p, const char *peer_mapped,
    const struct secure_policy *pol)
{
	struct hp_result r;
	struct addr	 to;
	const char	*why;
	int64_t		 start;
	int		 fd;

	memset(&r, 0, sizeof(r));
	p->strategy = NAMED_PORTMAP;
	if (p->delay_ms > 0)
		poll(NULL, 0, p->delay_ms);
	start = client_now_ms();
	if (s->pm != NULL && (peer_mapped == NULL || !p->connector))
		fd = tcp_accept_one(o, &s->server, addr_port(&s->tcp_local),
		    &r.peer, p->timeout_ms);
	else if (addr_parse(peer_mapped, 0, &to, &why) == -1)
		client_fail(o, "the punch message's mapped_tcp: %s", why);
	else {
		r.peer = to;
		fd = tcp_punch(o, addr_port(&s->tcp_local), &to, p->timeout_ms);
	}
	r.ms = (int)(client_now_ms() - start);
	if (fd == -1)
		return rdv_fallback(o, p, &r, pol);
	return rdv_carry(o, p, &r, fd, pol);
}

/* --tcp: simultaneous open between two endpoint-independent NATs. */
static int
rdv_run_tcp(const struct client_opts *o, struct session *s, json_t *msg,
    struct hp_plan *p, const struct secure_policy *pol)
{
	struct hp_result r;
	const char	*pub = NULL, *why, *mapped = NULL;
	int64_t		 start;
	int		 fd;

	memset(&r, 0, sizeof(r));
	json_unpack(msg, "{s:{s:s}}", "peer", "public_tcp", &pub);
	if (pub == NULL || addr_parse(pub, 0, &r.peer, &why) == -1)
		client_fail(o, "the punch message has no TCP address");
	json_unpack(msg, "{s:{s:{s:s}}}", "peer", "nat", "mapped_tcp",
	    &mapped);
	if (s->pm != NULL || mapped != NULL)
		return rdv_run_tcp_mapped(o, s, p, mapped, pol);
	if (p->my_class != NAMED_OPEN || p->peer_class != NAMED_OPEN) {
		p->strategy = NAMED_NONE;
		rdv_report(o, p, &r, 0, stdout, NULL);
		fprintf(stderr,
		    "natclient: --tcp needs endpoint-independent "
		    "mapping on both sides; try UDP\n");
		return RDV_NOPATH;
	}
	if (p->delay_ms > 0)
		poll(NULL, 0, p->delay_ms);
	start = client_now_ms();
	fd = tcp_punch(o, addr_port(&s->tcp_local), &r.peer, p->timeout_ms);
	r.ms = (int)(client_now_ms() - start);
	p->strategy = NAMED_TCP;
	if (fd == -1)
		return rdv_fallback(o, p, &r, pol);
	return rdv_carry(o, p, &r, fd, pol);
}

/* Punch and, on success, carry data; an enum rdv_result. */
static int
rdv_run(const struct client_opts *o, struct session *s, json_t *msg,
    const struct secure_policy *pol)
{
	struct hp_plan	 p;
	struct hp_result r;

	if (rdv_plan(o, s, msg, &p) == -1)
		client_fail(o, "a punch message we cannot read");
	if (o->tcp)
		return rdv_run_tcp(o, s, msg, &p, pol);
	memset(&r, 0, sizeof(r));
	session_note(o, "punching to %s: %s",
	    json_string_value(
		json_object_get(json_object_get(msg, "peer"), "public")),
	    named_strategy_name(p.strategy));
	if (p.strategy == NAMED_NONE || holepunch(o, &p, &r) == -1)
		return rdv_fallback(o, &p, &r, pol);
	return rdv_carry(o, &p, &r, -1, pol);
}

static void
rdv_check(struct client_opts *o, int argc, char **argv, const char *usage)
{
	struct addr a;
	const char *why;

	if (argc != 2)
		client_fail(o, "usage: %s", usage);
	if (!named_name_ok(argv[1]))
		client_fail(o, "name '%s': 1 to 32 of A-Z a-z 0-9 . _ -",
		    argv[1]);
	if (o->forward[0] != '\0' && addr_parse(o->forward, 0, &a, &why) == -1)
		client_fail(o, "--forward %s: %s", o->forward, why);
	if (o->forward_tcp[0] != '\0' &&
	    addr_parse(o->forward_tcp, 0, &a, &why) == -1)
		client_fail(o, "--forward-tcp %s: %s", o->forward_tcp, why);
	if (o->tcp && (o->forward[0] != '\0' || o->local_port))
		client_fail(o,
		    "--tcp carries a stream: not with --forward "
		    "or --local");
	if ((o->forward[0] != '\0' || o->local_port) && rdv_forwards_tcp(o))
		client_fail(o, "datagrams or TCP connections: --forward and "
		    "--local are not with --forward-tcp or --local-tcp");
	/* ENet speaks IPv4 only. */
	if (o->family == AF_UNSPEC)
		o->family = AF_INET;
}

/* The server's answer to a keepalive whose registration is gone. */
static int
rdv_lapsed(json_t *msg)
{
	const char *code = json_string_value(json_object_get(msg, "code"));

	return strcmp(client_json_type(msg), "error") == 0 && code != NULL &&
	    strcmp(code, "not_registered") == 0;
}

/*
 * Wait under a name for peers.  A peer we find no path to leaves us
 * waiting for the next; one that goes away after the path was made ends
 * the listener, which unregisters (closing its session frees the name),
 * or with --keep-listening registers again and waits for the next.
 */
int
cmd_listen(struct client_opts *o, int argc, char **argv)
{
	struct secure_policy pol;
	struct client_key    key;
	struct session	     s;
	json_t		    *msg;

	rdv_check(o, argc, argv, "natclient listen NAME [--forward HOST:PORT]");
	if (o->local_port || o->local_tcp)
		client_fail(o, "listen: --local and --local-tcp are for "
		    "connect (a listener forwards: --forward, --forward-tcp)");
	key_load(o, &key, 1);
	key_policy(o, &key, 0, argv[1], &pol);
	session_open(o, &s, argv[1], &key);
	/* Always: a script or a log waits for this line. */
	fprintf(stderr, "natclient: listening as '%s'\n", argv[1]);
	for (;;) {
		int rv;

		msg = session_read(&s, session_wait_ms(&s));
		if (msg == NULL && errno == ETIMEDOUT) {
			session_keepalive(&s);
			continue;
		}
		if (msg == NULL)
			session_fail(o, NULL, "listen");
		if (rdv_lapsed(msg)) {
			/* The server lost our name: take it again. */
			json_decref(msg);
			close(s.tcp);
			close(s.udp);
			fprintf(stderr,
			    "natclient: the registration lapsed; registering "
			    "'%s' again\n",
			    argv[1]);
			session_open(o, &s, argv[1], &key);
			continue;
		}
		if (strcmp(client_json_type(msg), "error") == 0)
			session_fail(o, msg, "listen");
		rv = strcmp(client_json_type(msg), "punch") == 0
		    ? rdv_run(o, &s, msg, &pol)
		    : RDV_NOPATH;
		json_decref(msg);
		if (rv == RDV_NOPATH)
			continue;
		client_status(json_pack("{s:s}", "event", "lost"));
		close(s.tcp);
		close(s.udp);
		if (rv == RDV_REFUSED) {
			/* A stranger does not end us: wait for the right peer. */
			session_open(o, &s, argv[1], &key);
			fprintf(stderr, "natclient: listening again as '%s'\n",
			    argv[1]);
			continue;
		}
		if (!o->keep_listening)
			return rv == RDV_DONE ? 0 : 1;
		fprintf(stderr, "natclient: listening again as '%s'\n",
		    argv[1]);
		session_open(o, &s, argv[1], &key);
	}
}

int
cmd_connect(struct client_opts *o, int argc, char **argv)
{
	struct secure_policy pol;
	struct client_key    key;
	struct session	     s;
	json_t		    *msg;

	rdv_check(o, argc, argv, "natclient connect NAME [--local PORT]");
	if (o->forward[0] != '\0' || o->forward_tcp[0] != '\0')
		client_fail(o, "connect: --forward and --forward-tcp are for "
		    "listen (a connector is local: --local, --local-tcp)");
	/* Bound before the punch: a port in use is said at once. */
	if (o->local_tcp)
		o->local_tcp_fd = mux_listen(o, o->local_tcp);
	key_load(o, &key, 1);
	key_policy(o, &key, 1, argv[1], &pol);
	session_open(o, &s, NULL, NULL);
	session_send(&s,
	    json_pack("{s:s,s:s}", "type", "connect", "name", argv[1]));
	for (;;) {
		msg = session_read(&s, o->timeout * 1000);
		if (msg == NULL || strcmp(client_json_type(msg), "error") == 0)
			session_fail(o, msg, "connect");
		if (strcmp(client_json_type(msg), "punch") == 0)
			return rdv_run(o, &s, msg, &pol) == RDV_DONE ? 0 : 1;
		json_decref(msg);
	}
}

/*
 * natclient ping NAME: connect as connect does, then ping over the path
 * (ping.c) and leave.  A listener of datagrams (--forward) by default;
 * --stream for one that carries stdin/stdout.
 */
int
cmd_ping(struct client_opts *o, int argc, char **argv)
{
	if (o->ping_count == 0)
		o->ping_count = 4;
	if (o->forward[0] != '\0' || o->local_port || rdv_forwards_tcp(o))
		client_fail(o, "ping: not with --forward, --local, "
		    "--forward-tcp or --local-tcp");
	o->ping_name = argc == 2 ? argv[1] : "";
	return cmd_connect(o, argc, argv);
}
