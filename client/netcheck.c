/*
 * natclient netcheck: the one summary to read first.  Does UDP reach the
 * tracker (and how fast), the public IPv4 and IPv6 addresses, what the
 * NAT does (nat-type's tests: mapping, filtering, allocation,
 * hairpinning), which port-mapping protocols the gateway offers and
 * the address a mapping gets (portmap.c), whether the relay answers a
 * hello with its challenge (over TLS, the certificate checked as every
 * command checks it) and how fast, and each tracker's round trip.
 * Nothing here fails on the first problem: each line says what it found.
 */
#include "config.h"

#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "natclient.h"
#include "portmap.h"

/* Now, in milliseconds to the microsecond. */
static double
nc_now(void)
{
	return (double)client_now_us() / 1000;
}

/* One STUN round trip from a fresh socket: ms, or -1 (mapped set). */
static double
nc_stun(const struct client_opts *o, const struct addr *srv,
    struct addr *mapped)
{
	int    fd = client_udp_new(o, addr_family(srv)), rv;
	double t0 = nc_now();

	rv = nattype_ask(fd, srv, 0, mapped, NULL);
	t0 = nc_now() - t0;
	close(fd);
	return rv == 0 ? t0 : -1;
}

/* The server's address in one family, at port; -1 when it has none. */
static int
nc_resolve(const char *hostport, int family, uint16_t defport,
    struct addr *a)
{
	struct addrinfo hints, *res;
	char		host[ADDR_HOSTLEN];
	const char     *why;
	uint16_t	port;
	int		rv;

	if (addr_split(hostport, host, sizeof(host), &port, defport, &why) ==
	    -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -1;
	rv = addr_from_sa(a, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rv == 0)
		addr_set_port(a, port);
	return rv;
}

/* ---- the relay: connect (and TLS), hello, challenge ---- */

struct nc_relay {
	struct event_base *base;
	double		   t0;
	double		   connect_ms, hello_ms;
	char		   why[300];
};

static void
nc_relay_read_cb(struct bufferevent *bev, void *arg)
{
	struct nc_relay *r = arg;
	char		*line;
	size_t		 n;
	json_t		*msg;

	if ((line = evbuffer_readln(bufferevent_get_input(bev), &n,
		 EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 4096) {
			snprintf(r->why, sizeof(r->why),
			    "it answered a line of more than 4096 bytes");
			event_base_loopexit(r->base, NULL);
		}
		return;
	}
	msg = json_loadb(line, n, 0, NULL);
	free(line);
	if (msg != NULL && strcmp(client_json_type(msg), "challenge") == 0)
		r->hello_ms = nc_now() - r->t0 - r->connect_ms;
	else {
		const char *code = "", *text = "not a natkit relay's answer";

		json_unpack(msg, "{s?s,s?s}", "code", &code, "message", &text);
		snprintf(r->why, sizeof(r->why), "it answered hello with: %s%s%s%s",
		    text, code[0] != '\0' ? " (" : "", code,
		    code[0] != '\0' ? ")" : "");
		client_sanitize(r->why, 0);
	}
	json_decref(msg);
	event_base_loopexit(r->base, NULL);
}

static void
nc_relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct nc_relay *r = arg;

	(void)bev;
	snprintf(r->why, sizeof(r->why), "%s before answering hello",
	    (what & BEV_EVENT_TIMEOUT) ? "timed out" : "the connection closed");
	event_base_loopexit(r->base, NULL);
}

static void
nc_relay_dialed(struct bufferevent *bev, const char *why, int final,
    void *arg)
{
	static const char hello[] =
	    "{\"type\":\"hello\",\"version\":1,\"client_id\":\"netcheck\"}\n";
	struct nc_relay *r = arg;
	struct timeval	 tv = {5, 0};

	(void)final;
	if (bev == NULL) {
		snprintf(r->why, sizeof(r->why), "%s", why);
		event_base_loopexit(r->base, NULL);
		return;
	}
	r->connect_ms = nc_now() - r->t0;
	bufferevent_setcb(bev, nc_relay_read_cb, NULL, nc_relay_event_cb, r);
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_write(bev, hello, sizeof(hello) - 1);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* 0 with the times, or -1 with why. */
static int
nc_relay(const struct client_opts *o, const struct addr *relay,
    struct nc_relay *r)
{
	struct dial *d;

	memset(r, 0, sizeof(*r));
	r->connect_ms = r->hello_ms = -1;
	if ((r->base = event_base_new()) == NULL) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		return -1;
	}
	r->t0 = nc_now();
	if ((d = dial_start(r->base, o, relay, 1, nc_relay_dialed, r)) ==
	    NULL)
		snprintf(r->why, sizeof(r->why), "cannot connect");
	else
		event_base_dispatch(r->base);
	/* The loop's connection goes with the process; netcheck ends. */
	return r->hello_ms >= 0 ? 0 : -1;
}

/* ---- the summary ---- */

static json_t *
nc_ms(double ms)
{
	return ms >= 0 ? json_real(ms) : json_null();
}

static json_t *
nc_addr(const struct addr *a, int have)
{
	char s[ADDR_STRLEN];

	return have ? json_string(addr_format(a, s, sizeof(s))) : json_null();
}

/* Each tracker asked: the server's, and --tracker's when another. */
static json_t *
nc_trackers(const struct client_opts *o, const struct addr *srv, double ms)
{
	json_t	   *list = json_array();
	struct addr t, mapped;
	char	    s[ADDR_STRLEN];

	json_array_append_new(list,
	    json_pack("{s:s,s:o}", "address", addr_format(srv, s, sizeof(s)),
		"ms", nc_ms(ms)));
	if (o->tracker[0] != '\0' &&
	    nc_resolve(o->tracker, AF_UNSPEC, CLIENT_PORT_TRACKER, &t) == 0 &&
	    !addr_equal(&t, srv))
		json_array_append_new(list,
		    json_pack("{s:s,s:o}", "address",
			addr_format(&t, s, sizeof(s)), "ms",
			nc_ms(nc_stun(o, &t, &mapped))));
	return list;
}

static void
nc_print_text(json_t *j)
{
	json_t	   *nat = json_object_get(j, "nat"), *rel, *t;
	const char *v4 = json_string_value(json_object_get(j, "ipv4"));
	const char *v6 = json_string_value(json_object_get(j, "ipv6"));
	size_t	    i;

	printf("UDP: %s\n", json_is_true(json_object_get(j, "udp"))
		? "yes"
		: "no (the tracker did not answer; UDP may be blocked)");
	printf("public IPv4: %s\npublic IPv6: %s\n", v4 ? v4 : "none",
	    v6 ? v6 : "none");
	if (json_is_object(nat)) {
		printf("NAT: %s (mapping %s, filtering %s, port allocation %s)\n"
		       "hairpinning: %s\n",
		    json_string_value(json_object_get(nat, "type")),
		    json_string_value(json_object_get(nat, "mapping")),
		    json_string_value(json_object_get(nat, "filtering")),
		    json_string_value(json_object_get(nat, "allocation")),
		    json_is_true(json_object_get(nat, "hairpin")) ? "yes" : "no");
		if (json_object_get(nat, "note") != NULL)
			printf("note: %s\n",
			    json_string_value(json_object_get(nat, "note")));
	}
	printf("port mapping: %s\n",
	    json_string_value(json_object_get(json_object_get(j, "portmap"),
		"note")));
	rel = json_object_get(j, "relay");
	if (json_is_true(json_object_get(rel, "reachable")))
		printf("relay: %s answers (%s), connect %.1f ms, hello %.1f ms\n",
		    json_string_value(json_object_get(rel, "address")),
		    json_is_true(json_object_get(rel, "tls")) ? "TLS"
							     : "plaintext",
		    json_real_value(json_object_get(rel, "connect_ms")),
		    json_real_value(json_object_get(rel, "hello_ms")));
	else
		printf("relay: %s: %s\n",
		    json_string_value(json_object_get(rel, "address")),
		    json_string_value(json_object_get(rel, "error")));
	json_array_foreach(json_object_get(j, "trackers"), i, t)
	{
		json_t *ms = json_object_get(t, "ms");

		if (json_is_real(ms))
			printf("tracker %s: %.1f ms\n",
			    json_string_value(json_object_get(t, "address")),
			    json_real_value(ms));
		else
			printf("tracker %s: no answer\n",
			    json_string_value(json_object_get(t, "address")));
	}
}

int
cmd_netcheck(struct client_opts *o, int argc, char **argv)
{
	struct addr	  srv, srv6, relay, mapped, mapped6;
	struct nat_result r;
	struct nc_relay	  rr;
	json_t		 *j, *rel;
	double		  ms, ms6 = -1;
	int		  have6;

	(void)argv;
	if (argc != 1)
		client_fail(o, "usage: natclient [-s HOST[:PORT]] netcheck");
	client_resolve(o, CLIENT_PORT_TRACKER, &srv);
	ms = nc_stun(o, &srv, &mapped);
	/* IPv6 too, when the server has an IPv6 address beside this one. */
	have6 = addr_family(&srv) == AF_INET6
	    ? (srv6 = srv, mapped6 = mapped, ms6 = ms, ms >= 0)
	    : nc_resolve(o->server, AF_INET6, CLIENT_PORT_TRACKER, &srv6) == 0 &&
		(ms6 = nc_stun(o, &srv6, &mapped6)) >= 0;
	j = json_pack("{s:b,s:o,s:o}", "udp", ms >= 0, "ipv4",
	    nc_addr(&mapped, ms >= 0 && addr_family(&srv) == AF_INET), "ipv6",
	    nc_addr(&mapped6, have6));
	if (ms >= 0) {
		nattype_probe(o, &srv, &r, 1);
		json_object_set_new(j, "nat",
		    json_pack("{s:s,s:b,s:s,s:s,s:s,s:i,s:b}", "type", r.name,
			"nat", r.nat, "mapping", r.mapping, "filtering",
			r.filtering, "allocation", r.allocation, "delta",
			r.delta, "hairpin", r.hairpin));
		if (r.why != NULL)
			json_object_set_new(json_object_get(j, "nat"), "note",
			    json_string(r.why));
	}
	json_object_set_new(j, "portmap", portmap_report(o, &srv));
	client_service(o, o->relay, CLIENT_PORT_RELAY, &relay);
	rel = json_pack("{s:s,s:b,s:b}", "address", "", "tls", o->tls,
	    "reachable", nc_relay(o, &relay, &rr) == 0);
	json_object_set_new(rel, "address", nc_addr(&relay, 1));
	json_object_set_new(rel, "connect_ms", nc_ms(rr.connect_ms));
	json_object_set_new(rel, "hello_ms", nc_ms(rr.hello_ms));
	if (rr.hello_ms < 0)
		json_object_set_new(rel, "error", json_string(rr.why));
	json_object_set_new(j, "relay", rel);
	json_object_set_new(j, "trackers", nc_trackers(o, &srv, ms));
	if (o->json)
		client_print_json(j); /* it takes j */
	else {
		nc_print_text(j);
		json_decref(j);
	}
	return ms >= 0 ? 0 : 1;
}
