/*
 * natclient expose tcp|udp LOCAL_PORT: make a local service reachable on a
 * port of natserver's relay.  The control connection logs in with an
 * HMAC of the server's nonce (the token never travels), asks for the
 * port (the same one again after a reconnect, if it is free), and waits.
 * For each visitor the server announces, a child process connects to
 * the local service and opens a data connection to the relay, and copies
 * between the two.  A lost control connection is made again with
 * back-off.
 */
#include "config.h"

#include <sys/wait.h>
#include <openssl/evp.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "natclient.h"
#include "datagram.h"
#include "hex.h"
#include "relaylogin.h"

#define EXPOSE_HEARTBEAT_MS 20000
#define EXPOSE_UDP_IDLE_MS  120000
#define EXPOSE_BACKOFF_MAX  30 /* seconds between reconnects, at most */

struct expose {
	const struct client_opts *o;
	char			  token[RELAY_TOKEN_MAX + 1];
	char			  client_id[65];
	struct addr		  server, local;
	int			  port; /* what we were given last */
	int			  ctl;
	int			  udp;	   /* expose udp */
	int			  exposed; /* once, since natclient started */
	char			  buf[4096];
	size_t			  have;
};

/*
 * A client id that stays the same for the same exposure of the same
 * host, so that the server can give the port back after a reconnect.
 */
static void
expose_client_id(struct expose *e, const char *proto, int port)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int  len;
	char	      host[256], seed[600];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(seed, sizeof(seed), "%s|%s|%s|%d|%s", host, proto,
	    e->o->local_host, port, e->o->name);
	EVP_Digest(seed, strlen(seed), md, &len, EVP_sha256(), NULL);
	hex_encode(md, 16, e->client_id);
}

static json_t *
expose_read(struct expose *e, int timeout_ms)
{
	return client_json_read(e->ctl, e->buf, sizeof(e->buf), &e->have,
	    timeout_ms);
}

/*
 * Is a refusal final: one that trying again cannot change?  A rate
 * limit is not (its bucket refills); a taken port is, until this
 * natclient has held it once: after a drop, the relay may still hold
 * our old connection (another worker's) for a while.
 */
static int
expose_final(const struct expose *e, const char *code)
{
	static const char *final[] = {"auth_failed", "no_relay",
	    "port_not_allowed", "unsupported", "bad_name", "too_many_ports",
	    "taken_over", "bad_hello", NULL};
	int		   i;

	for (i = 0; final[i] != NULL; i++)
		if (strcmp(code, final[i]) == 0)
			return 1;
	return strcmp(code, "port_busy") == 0 && !e->exposed;
}

/* An error the server gave: final ones end natclient, others retry. */
static int
expose_refused(struct expose *e, json_t *msg, const char *what)
{
	const char *code = "", *text = "";
	char	    buf[300];

	if (msg == NULL) {
		fprintf(stderr, "natclient: %s: connection lost\n", what);
		return 0;
	}
	json_unpack(msg, "{s?s,s?s}", "code", &code, "message", &text);
	snprintf(buf, sizeof(buf), "%s: %s (%s)", what, text, code);
	client_sanitize(buf, 0);
	if (expose_final(e, code))
		client_fail(e->o, "%s", buf);
	fprintf(stderr, "natclient: %s\n", buf);
	return 0;
}

/* Log in and expose; 1 when exposed, 0 to try again later. */
static int
expose_login(struct expose *e, const char *proto)
{
	char	    pub[ADDR_HOSTLEN + 16];
	char	    host[ADDR_HOSTLEN];
	const char *why;
	uint16_t    p;
	json_t	   *msg;

	e->have = 0;
	if (relay_login(e->o, e->ctl, e->buf, sizeof(e->buf), &e->have,
		e->token, e->client_id, &msg) == -1)
		return expose_refused(e, msg, "login");
	client_send_json(e->ctl,
	    json_pack("{s:s,s:s,s:i,s:s}", "type", "expose", "proto", proto,
		"remote_port", e->o->remote_port ? e->o->remote_port : e->port,
		"name", e->o->name));
	msg = expose_read(e, e->o->timeout * 1000);
	if (msg == NULL || strcmp(client_json_type(msg), "exposed") != 0 ||
	    json_unpack(msg, "{s:i}", "remote_port", &e->port) == -1)
		return expose_refused(e, msg, "expose");
	json_decref(msg);
	e->exposed = 1;
	addr_split(e->o->server, host, sizeof(host), &p, 0, &why);
	snprintf(pub, sizeof(pub), strchr(host, ':') ? "[%s]:%d" : "%s:%d",
	    host, e->port);
	if (e->o->json) {
		char *s =
		    json_dumps(json_pack("{s:s,s:s,s:i}", "event", "exposed",
				   "public", pub, "remote_port", e->port),
			JSON_COMPACT | JSON_PRESERVE_ORDER);

		puts(s);
		free(s);
	} else
		puts(pub);
	fflush(stdout);
	return 1;
}

/*
 * In a child: the data connection for visitor id, or exit.  With error,
 * it only tells the relay why the visitor cannot be served.
 */
static int
expose_data(struct expose *e, const char *id, const char *error)
{
	int data = client_tls(e->o, client_tcp_connect(e->o, &e->server),
	    &e->server, e->o->server);

	if (client_send_json(data,
		error == NULL ? json_pack("{s:s,s:s}", "type", "data", "id", id)
			      : json_pack("{s:s,s:s,s:s}", "type", "data", "id",
				    id, "error", error)) == -1)
		_exit(1);
	return data;
}

/*
 * In a child: the local service and a data connection, joined.  A
 * service that cannot be reached is reported to the relay, which closes
 * the visitor at once.
 */
static void
expose_visitor(struct expose *e, const char *id)
{
	int  local = client_socket(e->o, addr_family(&e->local), SOCK_STREAM);
	char a[ADDR_STRLEN], why[200];

	if (connect(local, (struct sockaddr *)&e->local.ss, e->local.len) ==
	    -1) {
		snprintf(why, sizeof(why), "local service %s: %s",
		    addr_format(&e->local, a, sizeof(a)), strerror(errno));
		fprintf(stderr, "natclient: a visitor was turned away: %s\n",
		    why);
		close(expose_data(e, id, why));
		_exit(1);
	}
	_exit(client_join(local, local, expose_data(e, id, NULL), 1) == 0 ? 0 : 1);
}

/*
 * In a child: a UDP visitor's session.  Frames (2-byte length, then the
 * datagram) from the data connection go to the local service, its
 * answers back the same way; ends with the data connection, or after
 * EXPOSE_UDP_IDLE_MS of silence.
 */
static void
expose_udp_visitor(struct expose *e, const char *id)
{
	struct dg_local svc = {0};

	svc.fd = client_udp_new(e->o, addr_family(&e->local));
	svc.service = e->local;
	svc.has_service = 1;
	/* Connected: only the service's own answers are taken. */
	if (connect(svc.fd, (struct sockaddr *)&e->local.ss, e->local.len) ==
	    -1)
		_exit(1);
	_exit(dg_stream(expose_data(e, id, NULL), &svc, EXPOSE_UDP_IDLE_MS) == 0
		? 0
		: 1);
}

/*
 * Serve visitors until the control connection ends; 1 when the relay
 * asked us to reconnect at once (it reloads), else 0.
 */
static int
expose_serve(struct expose *e)
{
	int64_t next = client_now_ms() + EXPOSE_HEARTBEAT_MS;

	for (;;) {
		json_t	   *msg;
		const char *id;
		int	    wait = (int)(next - client_now_ms());

		msg = expose_read(e, wait > 0 ? wait : 0);
		if (msg == NULL && errno == ETIMEDOUT) {
			client_send_json(e->ctl,
			    json_pack("{s:s}", "type", "heartbeat"));
			next = client_now_ms() + EXPOSE_HEARTBEAT_MS;
			continue;
		}
		if (msg == NULL) {
			fprintf(stderr,
			    "natclient: the relay closed the "
			    "control connection\n");
			return 0;
		}
		if (strcmp(client_json_type(msg), "reconnect") == 0) {
			fprintf(stderr,
			    "natclient: the relay asked to reconnect\n");
			json_decref(msg);
			return 1;
		}
		if (strcmp(client_json_type(msg), "conn") == 0 &&
		    json_unpack(msg, "{s:s}", "id", &id) == 0 && fork() == 0) {
			close(e->ctl);
			if (e->udp)
				expose_udp_visitor(e, id);
			expose_visitor(e, id);
		} else if (strcmp(client_json_type(msg), "error") == 0)
			expose_refused(e, msg, "relay");
		json_decref(msg);
	}
}

int
cmd_expose(struct client_opts *o, int argc, char **argv)
{
	struct client_opts lo = *o;
	struct expose	   e;
	struct sigaction   sa;
	char		  *end;
	long		   port;
	int		   backoff = 1;

	if (argc != 3 ||
	    (strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "udp") != 0))
		client_fail(o,
		    "usage: natclient expose tcp|udp LOCAL_PORT "
		    "[--local-host H] [--remote-port N] [--name N]");
	port = strtol(argv[2], &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		client_fail(o, "LOCAL_PORT: 1 to 65535, not '%s'", argv[2]);
	memset(&e, 0, sizeof(e));
	e.o = o;
	e.udp = strcmp(argv[1], "udp") == 0;
	if (relay_token(o, e.token, sizeof(e.token)) == -1)
		client_fail(o,
		    "no token: use --token-file, token_file in "
		    "natclient.conf, or NATKIT_TOKEN");
	expose_client_id(&e, argv[1], (int)port);
	client_resolve(o, CLIENT_PORT_RELAY, &e.server);
	snprintf(lo.server, sizeof(lo.server),
	    strchr(o->local_host, ':') ? "[%s]" : "%s", o->local_host);
	client_resolve(&lo, (uint16_t)port, &e.local);
	/* Visitors' children are not waited for. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		char a[ADDR_STRLEN];

		e.ctl = socket(addr_family(&e.server),
		    SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (e.ctl != -1 &&
		    connect(e.ctl, (struct sockaddr *)&e.server.ss,
			e.server.len) == 0 &&
		    (e.ctl = client_tls(o, e.ctl, &e.server, o->server)) != -1 &&
		    expose_login(&e, argv[1])) {
			backoff = 1;
			if (expose_serve(&e)) {
				close(e.ctl);
				continue;
			}
		} else if (e.ctl != -1 && errno != 0)
			fprintf(stderr, "natclient: relay %s: %s\n",
			    addr_format(&e.server, a, sizeof(a)),
			    strerror(errno));
		if (e.ctl != -1)
			close(e.ctl);
		fprintf(stderr, "natclient: reconnecting in %d s\n", backoff);
		sleep((unsigned)backoff);
		backoff = backoff * 2 > EXPOSE_BACKOFF_MAX ? EXPOSE_BACKOFF_MAX
							   : backoff * 2;
	}
}
