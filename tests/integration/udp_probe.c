/*
 * Test helper: send one datagram and print the answer,
 *	udp_probe HOST PORT TIMEOUT_MS PAYLOAD
 * from source address SRC with -b SRC (a second loopback address), and
 * with -o say on stderr which address answered ("from ADDR"),
 * or stand in for a (hostile) server: answer every datagram with PAYLOAD,
 * until TIMEOUT_MS pass with none,
 *	udp_probe -l HOST PORT TIMEOUT_MS PAYLOAD
 * PAYLOAD takes \n, \r, \0 and \xHH escapes.  Exits 0 with the answer on
 * stdout, 1 when none came within TIMEOUT_MS, 2 on bad arguments.
 */
#include "config.h"

#include <sys/socket.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t
unescape(const char *s, char *out, size_t max)
{
	size_t n = 0;

	while (*s != '\0' && n < max) {
		if (s[0] == '\\' && s[1] == 'n') {
			out[n++] = '\n';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'r') {
			out[n++] = '\r';
			s += 2;
		} else if (s[0] == '\\' && s[1] == '0') {
			out[n++] = '\0';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
			char hex[3] = {s[2], s[3], 0};

			out[n++] = (char)strtol(hex, NULL, 16);
			s += 4;
		} else
			out[n++] = *s++;
	}
	return n;
}

/* Answer whatever arrives on HOST:PORT with the payload. */
static int
serve(struct addrinfo *res, int timeout, const char *payload, size_t len)
{
	struct sockaddr_storage from;
	socklen_t		fromlen;
	struct pollfd		pfd;
	char			buf[65536];
	int			fd;

	fd = socket(res->ai_family, SOCK_DGRAM, 0);
	if (fd == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		return 2;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, timeout) == 1) {
		fromlen = sizeof(from);
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			&fromlen) < 0)
			return 1;
		sendto(fd, payload, len, 0, (struct sockaddr *)&from, fromlen);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	int			listen_mode = 0;
	const char	       *bindto = NULL;
	int			origin = 0;
	struct sockaddr_storage from;
	socklen_t		fromlen = sizeof(from);
	struct addrinfo	       *src;

	struct addrinfo hints, *res;
	char		req[65536], ans[65536];
	struct pollfd	pfd;
	ssize_t		n;
	size_t		len;
	int		fd;

	if (argc >= 6 && strcmp(argv[1], "-o") == 0) {
		origin = 1;
		argc--;
		argv++;
	}
	if (argc == 7 && strcmp(argv[1], "-b") == 0) {
		bindto = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc == 6 && strcmp(argv[1], "-l") == 0) {
		listen_mode = 1;
		argc--;
		argv++;
	}
	if (argc != 5) {
		fprintf(stderr,
		    "usage: udp_probe host port timeout_ms "
		    "payload\n");
		return 2;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0)
		return 2;
	len = unescape(argv[4], req, sizeof(req));
	if (listen_mode)
		return serve(res, atoi(argv[3]), req, len);
	fd = socket(res->ai_family, SOCK_DGRAM, 0);
	if (fd == -1)
		return 2;
	if (bindto != NULL &&
	    (getaddrinfo(bindto, NULL, &hints, &src) != 0 ||
		bind(fd, src->ai_addr, src->ai_addrlen) == -1))
		return 2;
	/* To see another address answer, the socket stays unconnected. */
	if (!origin && connect(fd, res->ai_addr, res->ai_addrlen) == -1)
		return 2;
	if (sendto(fd, req, len, 0, res->ai_addr, res->ai_addrlen) == -1)
		return 1;
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, atoi(argv[3])) != 1)
		return 1;
	if ((n = recvfrom(fd, ans, sizeof(ans), 0, (struct sockaddr *)&from,
		 &fromlen)) < 0)
		return 1;
	if (origin) {
		char host[NI_MAXHOST], port[NI_MAXSERV];

		getnameinfo((struct sockaddr *)&from, fromlen, host,
		    sizeof(host), port, sizeof(port),
		    NI_NUMERICHOST | NI_NUMERICSERV);
		fprintf(stderr, "from %s:%s\n", host, port);
	}
	fwrite(ans, 1, (size_t)n, stdout);
	return 0;
}
