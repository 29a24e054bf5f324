/*
 * libFuzzer: the relay worker (server/relay.c, relay_ctl.c,
 * relay_port.c) on a real worker, through its real listener on loopback.
 * With the first byte's low bit set, the harness logs in first as
 * natclient does (hello, the challenge's HMAC with the test token), so
 * that the rest reaches the control messages behind the login (expose
 * http and https among them); otherwise the rest is a connection's
 * first lines as they come.  With bit 1 or 2 set (and bit 0 clear) the
 * rest goes to the virtual hosts' HTTP or HTTPS door instead: a
 * request head or a ClientHello (relay_vhost.c).
 */
#include "config.h"

#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_worker.h"
#include "hex.h"

#define FUZZ_TOKEN "fuzz-token-0123456789abcdef"

static void
fuzz_send(int fd, const char *s)
{
	if (fuzz_send_all(fd, s, strlen(s)) == -1)
		abort();
}

/* Log in as natclient does; 0, or -1 when the relay refused. */
static int
fuzz_login(struct worker *w, int fd)
{
	char	      line[4200], hex[2 * EVP_MAX_MD_SIZE + 1], *p, *q;
	unsigned char mac[EVP_MAX_MD_SIZE], raw[64];
	unsigned int  maclen;
	size_t	      len;

	fuzz_send(fd, "{\"type\":\"hello\",\"version\":1,\"client_id\":"
		      "\"0123456789abcdef0123456789abcdef\"}\n");
	if (fuzz_line(w, fd, line, sizeof(line)) == -1 ||
	    (p = strstr(line, "\"nonce\":\"")) == NULL)
		return -1;
	p += 9;
	if ((q = strchr(p, '"')) == NULL || (len = (size_t)(q - p) / 2) >
		sizeof(raw))
		return -1;
	*q = '\0';
	if (hex_decode(p, raw, len) == -1)
		return -1;
	HMAC(EVP_sha256(), FUZZ_TOKEN, (int)strlen(FUZZ_TOKEN), raw, len, mac,
	    &maclen);
	snprintf(line, sizeof(line), "{\"type\":\"auth\",\"hmac\":\"%s\"}\n",
	    hex_encode(mac, maclen, hex));
	fuzz_send(fd, line);
	if (fuzz_line(w, fd, line, sizeof(line)) == -1 ||
	    strstr(line, "\"ok\"") == NULL)
		return -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const int uses[] = {LISTEN_RELAY, LISTEN_HTTP, LISTEN_HTTPS};
	static struct worker *w;
	int		      fd, door = LISTEN_RELAY;

	if (w == NULL) {
		struct server_conf *c;

		w = fuzz_worker(WORKER_RELAY, uses, 3);
		c = (struct server_conf *)w->conf;
		/* The web doors are on: expose http and https are served. */
		c->relay_http_listen.n = c->relay_https_listen.n = 1;
		snprintf(c->relay_subdomain_host,
		    sizeof(c->relay_subdomain_host), "relay.test");
		snprintf(c->relay_tokens[0].secret,
		    sizeof(c->relay_tokens[0].secret), "%s", FUZZ_TOKEN);
		c->relay_ntokens = 1;
		fuzz_start(w);
	}
	if (n < 1)
		return 0;
	if (!(d[0] & 1) && (d[0] & 6))
		door = d[0] & 2 ? LISTEN_HTTP : LISTEN_HTTPS;
	fd = fuzz_connect(w, door, SOCK_STREAM);
	if ((d[0] & 1) && fuzz_login(w, fd) == -1) {
		fprintf(stderr, "fuzz: the relay refused the test login\n");
		abort();
	}
	if (n > 1)
		fuzz_send_all(fd, d + 1, n - 1); /* the relay may close first */
	fuzz_finish(w, fd);
	return 0;
}
