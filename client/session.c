/*
 * A named session with the rendezvous server (8848): probe our NAT
 * through the tracker, register over TCP with our LAN candidate and NAT
 * behaviour, let the server see our UDP mapping by sending the token from
 * the socket that will punch, and read the server's JSON lines.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "keys.h"
#include "named.h"
#include "natclient.h"
#include "session.h"
#include "tcppunch.h"

#define SESSION_OBSERVE_MS 500 /* token resend interval */

/* Progress for people: on a terminal only, never into a data stream. */
void
session_note(const struct client_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o->json || !isatty(STDERR_FILENO))
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
session_send(struct session *s, json_t *msg)
{
	return client_send_json(s->tcp, msg);
}

/* The next JSON message from the server; see client_json_read. */
json_t *
session_read(struct session *s, int timeout_ms)
{
	return client_json_read(s->tcp, s->buf, sizeof(s->buf), &s->have,
	    timeout_ms);
}

/* Exit with the server's error message. */
void
session_fail(const struct client_opts *o, json_t *msg, const char *what)
{
	const char *code = "", *text = "";
	char	    buf[256];

	if (msg == NULL)
		client_fail(o, "%s: the server closed the connection", what);
	json_unpack(msg, "{s?s,s?s}", "code", &code, "message", &text);
	snprintf(buf, sizeof(buf), "%s: %s (%s)", what, text, code);
	client_sanitize(buf, 0);
	client_fail(o, "%s", buf);
}

/*
 * Our NAT behaviour as the server wants it.  Without RFC 5780 answers
 * the mapping is guessed from the allocation: a NAT that keeps or
 * reuses ports is taken for a cone.
 */
static json_t *
session_nat(const struct nat_result *r)
{
	const char *mapping = r->mapping;

	if (!r->nat)
		mapping = "none";
	else if (strcmp(mapping, "unknown") == 0)
		mapping =
		    strcmp(r->allocation, "preserving") == 0 ? "EIM" : "APDM";
	return json_pack("{s:s,s:s,s:s,s:i}", "mapping", mapping, "filtering",
	    r->filtering, "allocation",
	    strcmp(r->allocation, "unknown") == 0 ? "random" : r->allocation,
	    "delta", r->delta);
}

/* Our LAN candidate: the address we reach the server from, UDP port. */
static json_t *
session_lan(struct session *s)
{
	struct sockaddr_storage ss;
	struct addr		a;
	socklen_t		len = sizeof(ss);
	char			buf[ADDR_STRLEN];

	if (getsockname(s->tcp, (struct sockaddr *)&ss, &len) == -1 ||
	    addr_from_sa(&a, (struct sockaddr *)&ss, len) == -1)
		return json_array();
	addr_set_port(&a, addr_port(&s->local));
	return json_pack("[s]", addr_format(&a, buf, sizeof(buf)));
}

/* Send the token from the punching socket until the server answers. */
static void
session_observe(const struct client_opts *o, struct session *s)
{
	char	req[128], ans[256];
	json_t *msg;
	int	n, tries;

	snprintf(req, sizeof(req), "{\"type\":\"udp\",\"token\":\"%s\"}",
	    s->token);
	for (tries = 0; tries < o->timeout * 1000 / SESSION_OBSERVE_MS;
	     tries++) {
		struct pollfd pfd = {s->udp, POLLIN, 0};
		const char   *a = NULL, *why;

		sendto(s->udp, req, strlen(req), 0,
		    (const struct sockaddr *)&s->server.ss, s->server.len);
		if (poll(&pfd, 1, SESSION_OBSERVE_MS) != 1)
			continue;
		if ((n = (int)recv(s->udp, ans, sizeof(ans) - 1, 0)) <= 0)
			continue;
		ans[n] = '\0';
		msg = json_loads(ans, 0, NULL);
		if (json_unpack(msg, "{s:s}", "address", &a) == 0 &&
		    addr_parse(a, 0, &s->observed, &why) == 0) {
			json_decref(msg);
			return;
		}
		json_decref(msg);
	}
	client_fail(o, "the server did not see our UDP packets");
}

/* How long a listener may wait for the server before session_keepalive. */
int
session_wait_ms(const struct session *s)
{
	int64_t renew;

	if (s->pm == NULL)
		return s->keepalive_ms;
	renew = s->pm->renew_ms - client_now_ms();
	if (renew < 100)
		renew = 100;
	return renew < s->keepalive_ms ? (int)renew : s->keepalive_ms;
}

/* Keep the name, the UDP mapping and the gateway's mapping alive. */
void
session_keepalive(struct session *s)
{
	char req[128];

	portmap_renew(s->pm);
	session_send(s, json_pack("{s:s}", "type", "keepalive"));
	snprintf(req, sizeof(req), "{\"type\":\"udp\",\"token\":\"%s\"}",
	    s->token);
	sendto(s->udp, req, strlen(req), 0,
	    (const struct sockaddr *)&s->server.ss, s->server.len);
}

/*
 * Sign the server's nonce and our name with our key (rdv_owner.c on the
 * server): the name is then ours, and no other key may take it.
 */
static void
session_sign(const struct client_opts *o, struct session *s, const char *name,
    const struct client_key *k, json_t *reg)
{
	static const char label[] = "natkit-register-1";
	uint8_t		  m[sizeof(label) + 32 + NAMED_NAME_MAX], sig[64];
	char		  hex[2 * sizeof(sig) + 1];
	const char	 *nonce = NULL;
	json_t		 *msg;

	session_send(s, json_pack("{s:s}", "type", "challenge"));
	msg = session_read(s, o->timeout * 1000);
	if (msg == NULL || strcmp(client_json_type(msg), "challenge") != 0 ||
	    json_unpack(msg, "{s:s}", "nonce", &nonce) == -1 ||
	    strlen(nonce) != 64 ||
	    hex_decode(nonce, m + sizeof(label), 32) == -1)
		session_fail(o, msg, "register: challenge");
	json_decref(msg);
	memcpy(m, label, sizeof(label));
	memcpy(m + sizeof(label) + 32, name, strlen(name));
	crypto_sign_detached(sig, NULL, m, sizeof(label) + 32 + strlen(name),
	    k->sk);
	json_object_set_new(reg, "key",
	    json_string(hex_encode(k->pk, 32, hex)));
	json_object_set_new(reg, "sig",
	    json_string(hex_encode(sig, sizeof(sig), hex)));
	if (o->listed)
		json_object_set_new(reg, "listed", json_true());
}

/*
 * Ask the gateway to map the port that punches: UDP, or with --tcp the
 * control connection's TCP port (portmap.c).  A mapped side is a full
 * cone; the address goes to the server in reg's "mapped" (UDP) or
 * "mapped_tcp".  The gateway protocols here map IPv4 only.
 */
static void
session_portmap(const struct client_opts *o, struct session *s, json_t *reg)
{
	char ext[ADDR_STRLEN];

	if (!o->portmap || !portmap_useful(&s->server))
		return;
	if (o->tcp)
		s->pm = portmap_open(o, IPPROTO_TCP, addr_port(&s->tcp_local),
		    &s->nat.public_addr);
	else
		s->pm = portmap_open(o, IPPROTO_UDP, addr_port(&s->local),
		    &s->nat.public_addr);
	if (s->pm == NULL)
		return;
	json_object_set_new(reg, o->tcp ? "mapped_tcp" : "mapped",
	    json_string(addr_format(&s->pm->external, ext, sizeof(ext))));
	s->class = NAMED_MAPPED;
}

/*
 * Probe, connect, register: as name, owned by key k, or anonymously
 * when name is NULL.
 */
void
session_open(const struct client_opts *o, struct session *s, const char *name,
    const struct client_key *k)
{
	struct addr tracker;
	json_t	   *msg, *reg;
	const char *token = NULL;
	char	    pub[ADDR_STRLEN];

	portmap_release(); /* the last session's, if any */
	memset(s, 0, sizeof(*s));
	client_resolve(o, CLIENT_PORT_NAMED, &s->server);
	client_service(o, o->tracker, CLIENT_PORT_TRACKER, &tracker);
	nattype_probe(o, &tracker, &s->nat, 0);
	reg = session_nat(&s->nat);
	s->class =
	    named_class(json_string_value(json_object_get(reg, "mapping")),
		json_string_value(json_object_get(reg, "allocation")));
	s->delta = s->nat.delta;
	s->udp = client_udp_new(o, addr_family(&s->server));
	client_bind_any(o, s->udp, &s->server, &s->local);
	if (o->tcp) {
		/* Bound so that a punching socket can share the port. */
		struct sockaddr_storage ss;
		socklen_t		len = sizeof(ss);

		s->tcp = tcp_reusable(o, &s->server, 0);
		if (connect(s->tcp, (struct sockaddr *)&s->server.ss,
			s->server.len) == -1)
			client_fail(o, "connect: %s", strerror(errno));
		getsockname(s->tcp, (struct sockaddr *)&ss, &len);
		addr_from_sa(&s->tcp_local, (struct sockaddr *)&ss, len);
	} else
		s->tcp = client_tcp_connect(o, &s->server);
	session_portmap(o, s, reg);
	/* The LAN address is the TCP socket's: before TLS takes it. */
	msg = json_pack("{s:s,s:o,s:o}", "type", "register", "lan",
	    session_lan(s), "nat", reg);
	if ((s->tcp = client_tls(o, s->tcp, &s->server, o->server)) == -1)
		client_fail(o, "no TLS connection to the rendezvous server");
	if (name != NULL) {
		json_object_set_new(msg, "name", json_string(name));
		session_sign(o, s, name, k, msg);
	}
	session_send(s, msg);
	msg = session_read(s, o->timeout * 1000);
	if (msg == NULL || strcmp(client_json_type(msg), "registered") != 0 ||
	    json_unpack(msg, "{s:s}", "token", &token) == -1 ||
	    strlen(token) != 2 * NAMED_TOKEN_LEN)
		session_fail(o, msg, "register");
	snprintf(s->token, sizeof(s->token), "%s", token);
	/* Refresh three times per lifetime of the name. */
	s->keepalive_ms =
	    1000 * (int)json_integer_value(json_object_get(msg, "ttl")) / 3;
	if (s->keepalive_ms < 1000)
		s->keepalive_ms = 1000;
	json_decref(msg);
	session_observe(o, s);
	session_note(o, "public address %s, NAT: %s (%s)",
	    addr_format(&s->observed, pub, sizeof(pub)), s->nat.name,
	    named_class_name(s->class));
	client_status(json_pack("{s:s,s:s,s:s}", "event", "public", "public",
	    pub, "nat", s->nat.name));
}
