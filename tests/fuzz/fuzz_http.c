/*
 * libFuzzer: per-request routing on the relay's HTTP virtual hosts
 * (server/relay_http.c), in a real relay worker's stream
 * (relay_splice.c, common/fdsplice.c) between two real loopback TCP
 * connections: a visitor whose first request (picked by the first
 * byte) was for a.test, then the input as the visitor's later bytes.
 * What the service receives must be the first head and then a prefix
 * of the input, byte for byte: a later request is passed on whole or
 * held, never reordered, duplicated or cut into.  Where the input is
 * only whole bodiless heads after a first GET, the prefix must end
 * exactly before the first head for another host (or be all of it).
 * A first request that upgrades passes all.  Then the service
 * answers and closes, and the visitor reads what comes (a later
 * request for another host goes on to the head reader: 404 here).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/event.h>
#include <unistd.h>

#include "fuzz_worker.h"
#include "httphead.h"
#include "relay.h"

#define FUZZ_QUIET 60 /* rounds without a byte: the stream is done */

static const char *const fuzz_firsts[] = {
	"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\n"
	"Connection: Upgrade\r\n\r\n",
};

/*
 * A connected pair of loopback TCP sockets, both non-blocking.  Each
 * from a source address of its own in 127/8, so that thousands of
 * inputs a second use no ephemeral ports up; connect() and accept()
 * finished where a signal (libFuzzer's timer) interrupted them.
 */
static void
fuzz_tcp_pair(int ls, int fds[2])
{
	static uint32_t	   next = 0x7f000100; /* 127.0.1.0 */
	struct sockaddr_in sin, src;
	socklen_t	   len = sizeof(sin);

	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	if (++next >= 0x7fffff00)
		next = 0x7f000100;
	src.sin_addr.s_addr = htonl(next);
	if (getsockname(ls, (struct sockaddr *)&sin, &len) == -1 ||
	    (fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fds[0], (struct sockaddr *)&src, sizeof(src)) == -1) {
		perror("fuzz: socket");
		abort();
	}
	if (fuzz_connect_fd(fds[0], (struct sockaddr *)&sin, len) == -1) {
		perror("fuzz: connect");
		abort();
	}
	while ((fds[1] = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		if (errno != EINTR) {
			perror("fuzz: accept");
			abort();
		}
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) == -1)
		abort();
}

static int
fuzz_listen(void)
{
	struct sockaddr_in sin;
	int		   ls;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 16) == -1)
		abort();
	return ls;
}

/* Read fd while the worker runs, until it ends or goes quiet. */
static size_t
fuzz_drain(struct worker *w, int fd, char *buf, size_t size)
{
	size_t	have = 0;
	int	quiet = 0;
	ssize_t n;

	while (quiet < FUZZ_QUIET) {
		fuzz_run(w, 1);
		n = recv(fd, buf + have, size - have, MSG_DONTWAIT);
		if (n == 0)
			break;
		quiet = n > 0 ? 0 : quiet + 1;
		if (n > 0 && (have += (size_t)n) == size)
			break;
	}
	return have;
}

/* Send what the socket takes of b[0..n) now: how much. */
static size_t
fuzz_send_some(int fd, const uint8_t *b, size_t n)
{
	size_t	sent = 0;
	ssize_t r;

	while (sent < n) {
		r = send(fd, b + sent, n - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		sent += (size_t)r;
	}
	return sent;
}

/*
 * Where the input is whole bodiless request heads (stray empty lines
 * between them allowed): how much of it a.test's service must get.
 * -1 where the input is anything else (no judgment made here).
 */
static long
fuzz_expected(const char *in, size_t n)
{
	struct httphead hh;
	size_t		at = 0;

	while (at < n) {
		while (n - at >= 2 && in[at] == '\r' && in[at + 1] == '\n')
			at += 2;
		if (at == n)
			return -1; /* trailing empty lines: the parser's say */
		if (httphead_parse(in + at, n - at, &hh) != HTTPHEAD_OK ||
		    memmem(in + at, hh.len, "ength:", 6) != NULL ||
		    memmem(in + at, hh.len, "ncoding:", 8) != NULL ||
		    memmem(in + at, hh.len, "pgrade", 6) != NULL)
			return -1;
		if (strcasecmp(hh.host, "a.test") != 0)
			return (long)at;
		at += hh.len;
	}
	return (long)n;
}

/* A reset, not a FIN: no TIME_WAIT for thousands of inputs a second. */
static void
fuzz_reset(int fd)
{
	struct linger lg = {1, 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const int	 uses[] = {LISTEN_HTTP};
	static const char	 answer[] = "HTTP/1.1 200 OK\r\n"
					    "Content-Length: 0\r\n\r\n";
	static struct worker	*w;
	static struct relay_port port;
	static int		 ls;
	static char		 got[1 << 16], back[1 << 16];
	struct relay_lead	 lead;
	const char		*first;
	size_t			 have, flen, sent;
	long			 want = -1;
	int			 v[2], s[2];

	if (w == NULL) {
		signal(SIGPIPE, SIG_IGN); /* as natserver: a reset peer is EPIPE */
		w = fuzz_worker(WORKER_RELAY, uses, 1);
		fuzz_start(w);
		ls = fuzz_listen();
		port.base.id = 42; /* no name leads here: others leave */
	}
	if (n < 1 || n - 1 > 16384) /* what a socket surely takes at once */
		return 0;
	first = fuzz_firsts[d[0] % 4];
	flen = strlen(first);
	fuzz_tcp_pair(ls, v); /* the visitor, v[1] the relay's side */
	fuzz_tcp_pair(ls, s); /* s[0] the relay's, s[1] the service */
	memset(&lead, 0, sizeof(lead));
	lead.pre = first;
	lead.prelen = flen;
	lead.use = LISTEN_HTTP;
	lead.port = &port;
	if (splice_join(w, v[1], s[0], NULL, &lead, NULL, NULL) == -1)
		abort();
	sent = fuzz_send_some(v[0], d + 1, n - 1);
	if ((d[0] & 4) && sent == n - 1)
		shutdown(v[0], SHUT_WR);
	have = fuzz_drain(w, s[1], got, sizeof(got));
	if (have < flen || memcmp(got, first, flen) != 0 ||
	    have - flen > sent || memcmp(got + flen, d + 1, have - flen) != 0) {
		fprintf(stderr, "fuzz: the service got %zu bytes that are not "
				"the first head and a prefix of the input\n",
		    have);
		abort();
	}
	if (sent == n - 1 && d[0] % 4 == 0)
		want = fuzz_expected((const char *)d + 1, n - 1);
	if (sent == n - 1 && d[0] % 4 == 3)
		want = (long)(n - 1); /* a WebSocket's: all of it */
	if (want != -1 && have - flen != (size_t)want) {
		fprintf(stderr, "fuzz: the service got %zu bytes of the input, "
				"not %ld\n", have - flen, want);
		abort();
	}
	/* The service answers and closes; the visitor reads what comes. */
	fuzz_send_some(s[1], (const uint8_t *)answer, sizeof(answer) - 1);
	shutdown(s[1], SHUT_WR);
	fuzz_drain(w, v[0], back, sizeof(back));
	fuzz_reset(v[0]);
	fuzz_reset(s[1]);
	fuzz_run(w, 5);
	fuzz_log_check();
	return 0;
}
