/*
 * Relay fallback: when no direct path can be made, both sides of a
 * punch log in to natserver's relay with the session id the rendezvous
 * server gave them, and the relay joins their two connections.  Only
 * the two peers know the session id; only token holders may log in.
 */
#include "config.h"

#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fallback.h"
#include "hex.h"
#include "relaylogin.h"

#define FALLBACK_WAIT_S 15 /* for the peer to arrive at the relay */

/*
 * The relay's answer to meet, read a byte at a time: the peer's stream
 * may follow it at once, and none of it may be taken into a buffer.
 */
static json_t *
fallback_met(int fd, int timeout_ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	int64_t	      deadline = client_now_ms() + timeout_ms;
	char	      line[256];
	size_t	      n = 0;

	while (n < sizeof(line) - 1) {
		int wait = (int)(deadline - client_now_ms());

		if (wait <= 0 || poll(&pfd, 1, wait) != 1 ||
		    read(fd, line + n, 1) != 1)
			return NULL;
		if (line[n] == '\n')
			return json_loadb(line, n, 0, NULL);
		n++;
	}
	return NULL;
}

/* A socket joined with the peer's, or -1 (said why on stderr). */
int
relay_fallback(const struct client_opts *o, const uint8_t *session,
    int connector, struct addr *relay)
{
	char	    token[RELAY_TOKEN_MAX + 1], hex[2 * NAMED_TOKEN_LEN + 1];
	char	    id[64], buf[1024];
	size_t	    have = 0;
	json_t	   *msg = NULL;
	const char *type;
	int	    fd;

	if (relay_token(o, token, sizeof(token)) == -1) {
		fprintf(stderr,
		    "natclient: relay fallback: no token (--token-file, "
		    "token_file in natclient.conf, or NATKIT_TOKEN)\n");
		return -1; /* no token, no relay */
	}
	client_service(o, o->relay, CLIENT_PORT_RELAY, relay);
	fd = client_tls(o, client_tcp_connect(o, relay), relay,
	    o->relay[0] != '\0' ? o->relay : o->server);
	if (fd == -1)
		return -1;
	hex_encode(session, NAMED_TOKEN_LEN, hex);
	snprintf(id, sizeof(id), "meet-%.16s-%c", hex, connector ? 'c' : 'l');
	if (relay_login(o, fd, buf, sizeof(buf), &have, token, id, &msg) ==
	    -1) {
		fprintf(stderr, "natclient: relay fallback: login refused\n");
		json_decref(msg);
		close(fd);
		return -1;
	}
	client_send_json(fd,
	    json_pack("{s:s,s:s}", "type", "meet", "session", hex));
	msg = fallback_met(fd,
	    1000 *
		(o->timeout > FALLBACK_WAIT_S ? o->timeout : FALLBACK_WAIT_S));
	type = json_string_value(json_object_get(msg, "type"));
	if (type == NULL || strcmp(type, "met") != 0) {
		fprintf(stderr,
		    "natclient: relay fallback: the peer did not come\n");
		json_decref(msg);
		close(fd);
		return -1;
	}
	json_decref(msg);
	return fd;
}
