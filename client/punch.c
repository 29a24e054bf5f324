/*
 * natclient punch: the N4 client, interoperating with n4.py.  HELLO over
 * TCP, wait for READY, send EXCHANGE by UDP from the first of COUNT
 * sockets (bound from PORT on), and learn the peer's address from
 * PEERINFO.  Then every socket sends PUNCH to the peer's port + OFFSET:
 * behind NATs that allocate ports in sequence, our socket i and the
 * peer's socket i meet there.  The first PUNCH that comes back wins.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "n4.h"
#include "natclient.h"

#define PUNCH_SOCKS_MAX 256
#define PUNCH_EVERY_MS	200 /* PUNCH and EXCHANGE resend interval */
#define PUNCH_ANSWERS	5   /* PUNCHes sent back to the winner */

/* Read exactly one 8-byte packet from the server; -1 on close or timeout. */
static int
punch_read(int fd, struct n4_packet *p, int64_t deadline)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	uint8_t	      b[N4_SIZE];
	size_t	      have = 0;
	ssize_t	      n;

	while (have < sizeof(b)) {
		int wait =
		    deadline < 0 ? -1 : (int)(deadline - client_now_ms());

		if (deadline >= 0 && wait <= 0)
			return -1;
		if (poll(&pfd, 1, wait) != 1)
			continue;
		if ((n = read(fd, b + have, sizeof(b) - have)) <= 0)
			return -1;
		have += (size_t)n;
	}
	return n4_parse(b, sizeof(b), p);
}

static int
punch_socket(const struct client_opts *o, int port)
{
	struct sockaddr_in sin;
	int		   fd = client_udp_new(o, AF_INET), on = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		client_fail(o, "bind UDP port %d: %s", port, strerror(errno));
	return fd;
}

/* Send EXCHANGE until PEERINFO arrives over tcp. */
static void
punch_exchange(const struct client_opts *o, int tcp, int udp,
    const struct addr *srv, const uint8_t *ident, struct sockaddr_in *peer)
{
	struct n4_packet p = {.cmd = N4_EXCHANGE};
	struct pollfd	 pfd = {tcp, POLLIN, 0};
	int64_t		 deadline = client_now_ms() + o->timeout * 1000;
	uint8_t		 b[N4_SIZE];

	memcpy(p.ident, ident, N4_IDENT_LEN);
	n4_pack(&p, b);
	while (client_now_ms() < deadline) {
		sendto(udp, b, sizeof(b), 0, (const struct sockaddr *)&srv->ss,
		    srv->len);
		if (poll(&pfd, 1, PUNCH_EVERY_MS) == 1)
			break;
	}
	if (punch_read(tcp, &p, deadline) == -1 || p.cmd != N4_PEERINFO)
		client_fail(o, "no PEERINFO from the server");
	*peer = p.addr;
}

/* PUNCH from every socket until one hears the peer; its index. */
static int
punch_race(const struct client_opts *o, int *fds, int n,
    const struct sockaddr_in *target, const uint8_t *ident,
    struct sockaddr_in *from)
{
	struct pollfd	 pfd[PUNCH_SOCKS_MAX];
	struct n4_packet p = {.cmd = N4_PUNCH}, got;
	int64_t		 deadline = client_now_ms() + o->timeout * 1000;
	int64_t		 next = 0;
	uint8_t		 b[N4_SIZE], in[64];
	int		 i;

	memcpy(p.ident, ident, N4_IDENT_LEN);
	n4_pack(&p, b);
	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	while (client_now_ms() < deadline) {
		if (client_now_ms() >= next) {
			for (i = 0; i < n; i++)
				sendto(fds[i], b, sizeof(b), 0,
				    (const struct sockaddr *)target,
				    sizeof(*target));
			next = client_now_ms() + PUNCH_EVERY_MS;
		}
		if (poll(pfd, (nfds_t)n, PUNCH_EVERY_MS) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			socklen_t len = sizeof(*from);
			ssize_t	  r;

			if (!(pfd[i].revents & POLLIN))
				continue;
			r = recvfrom(fds[i], in, sizeof(in), 0,
			    (struct sockaddr *)from, &len);
			/* Only a PUNCH from the peer's IP, as n4.py. */
			if (r == N4_SIZE &&
			    n4_parse(in, (size_t)r, &got) == 0 &&
			    got.cmd == N4_PUNCH &&
			    from->sin_addr.s_addr == target->sin_addr.s_addr)
				return i;
		}
	}
	return -1;
}

/* Is peer one of our own sockets?  (Two clients behind one IP.) */
static int
punch_is_self(const int *fds, int n, const struct sockaddr_in *peer)
{
	struct sockaddr_in me, probe = *peer;
	socklen_t	   len;
	int		   fd, i, local;

	/* An address we can bind to is one of ours. */
	probe.sin_port = 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	local =
	    fd != -1 && bind(fd, (struct sockaddr *)&probe, sizeof(probe)) == 0;
	if (fd != -1)
		close(fd);
	for (i = 0; local && i < n; i++) {
		len = sizeof(me);
		if (getsockname(fds[i], (struct sockaddr *)&me, &len) == 0 &&
		    me.sin_port == peer->sin_port)
			return 1;
	}
	return 0;
}

int
cmd_punch(struct client_opts *o, int argc, char **argv)
{
	struct sockaddr_in peer, target, from;
	struct n4_packet   p = {.cmd = N4_HELLO};
	struct addr	   srv;
	uint8_t		   ident[N4_IDENT_LEN], b[N4_SIZE];
	char		   pa[INET_ADDRSTRLEN], line[128];
	int		   fds[PUNCH_SOCKS_MAX], tcp, i, won, port;

	(void)argv;
	if (argc != 1)
		client_fail(o,
		    "usage: natclient punch [-a IDENT] [-b PORT] "
		    "[-n COUNT] [-o OFFSET]");
	if (n4_ident(o->ident, ident) == -1)
		client_fail(o, "-a: an ident is 1 to 6 bytes");
	if (o->src_count < 1 || o->src_count > PUNCH_SOCKS_MAX ||
	    (o->src_port != 0 && o->src_port + o->src_count - 1 > 65535))
		client_fail(o, "-n: 1 to %d sockets, ports up to 65535",
		    PUNCH_SOCKS_MAX);
	o->family = AF_INET; /* N4 is IPv4 only */
	client_resolve(o, CLIENT_PORT_N4, &srv);
	for (i = 0; i < o->src_count; i++)
		fds[i] = punch_socket(o, o->src_port ? o->src_port + i : 0);
	tcp = client_tcp_connect(o, &srv);
	memcpy(p.ident, ident, N4_IDENT_LEN);
	n4_pack(&p, b);
	if (write(tcp, b, sizeof(b)) != (ssize_t)sizeof(b))
		client_fail(o, "HELLO: %s", strerror(errno));
	if (!o->json && isatty(STDERR_FILENO))
		fprintf(stderr, "waiting for a peer with ident '%.6s'\n",
		    (char *)ident);
	/* The server closes us when no peer comes in its wait_timeout. */
	if (punch_read(tcp, &p, -1) == -1 || p.cmd != N4_READY)
		client_fail(o,
		    "no peer came: the server closed the "
		    "connection");
	punch_exchange(o, tcp, fds[0], &srv, ident, &peer);
	close(tcp);
	if (punch_is_self(fds, o->src_count, &peer))
		client_fail(o,
		    "the server gave us our own address: N4 ties a "
		    "client to its IP, and the two clients share "
		    "one (use listen/connect behind one NAT)");
	target = peer;
	port = ntohs(peer.sin_port) + o->peer_offset;
	if (port < 1 || port > 65535)
		client_fail(o, "peer port %d + offset %d is out of range",
		    ntohs(peer.sin_port), o->peer_offset);
	target.sin_port = htons((uint16_t)port);
	won = punch_race(o, fds, o->src_count, &target, ident, &from);
	if (won == -1)
		client_fail(o, "no punch from %s:%d within %d s",
		    inet_ntop(AF_INET, &peer.sin_addr, pa, sizeof(pa)),
		    ntohs(target.sin_port), o->timeout);
	/* Answer a few times: our own PUNCHes may all have been lost. */
	p.cmd = N4_PUNCH;
	memcpy(p.ident, ident, N4_IDENT_LEN);
	n4_pack(&p, b);
	for (i = 0; i < PUNCH_ANSWERS; i++) {
		sendto(fds[won], b, sizeof(b), 0, (struct sockaddr *)&from,
		    sizeof(from));
		poll(NULL, 0, 20);
	}
	{
		struct sockaddr_in me;
		socklen_t	   len = sizeof(me);
		char		   local[8], peerstr[INET_ADDRSTRLEN + 8];

		getsockname(fds[won], (struct sockaddr *)&me, &len);
		inet_ntop(AF_INET, &from.sin_addr, pa, sizeof(pa));
		snprintf(local, sizeof(local), "%d", ntohs(me.sin_port));
		snprintf(peerstr, sizeof(peerstr), "%s:%d", pa,
		    ntohs(from.sin_port));
		snprintf(line, sizeof(line), "nc -u -p %d %s %d",
		    ntohs(me.sin_port), pa, ntohs(from.sin_port));
		if (o->json)
			client_print(o, "nc", "local_port", local, "peer",
			    peerstr, "nc", line, NULL);
		else
			printf("local port: %s\npeer: %s\n%s\n", local, peerstr,
			    line);
	}
	for (i = 0; i < o->src_count; i++)
		close(fds[i]);
	return 0;
}
