/*
 * Hold N waiting N4 clients: connect N TCP connections to an N4 server
 * on loopback, send each a HELLO with its own ident (so none is paired),
 * then check after a pause that all are still open.  Prints
 * "clients=N open=M".  Usage: n4_hold PORT N HOLD_SECONDS
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "n4.h"

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct rlimit	   rl;
	struct n4_packet   p;
	uint8_t		   b[N4_SIZE];
	int		  *fds, n, i, open = 0, hold;

	if (argc != 4) {
		fprintf(stderr, "usage: n4_hold PORT N HOLD_SECONDS\n");
		return 2;
	}
	n = atoi(argv[2]);
	hold = atoi(argv[3]);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		return 1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&p, 0, sizeof(p));
	p.cmd = N4_HELLO;
	for (i = 0; i < n; i++) {
		/* Idents are 6 bytes: i in base 36 is unique below 2e9. */
		char id[7];
		int  v = i, k;

		for (k = 0; k < 6; k++, v /= 36)
			id[k] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		memcpy(p.ident, id, 6);
		n4_pack(&p, b);
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] == -1 ||
		    connect(fds[i], (struct sockaddr *)&sin, sizeof(sin)) ==
			-1 ||
		    write(fds[i], b, sizeof(b)) != (ssize_t)sizeof(b)) {
			fprintf(stderr, "client %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	sleep((unsigned)hold);
	for (i = 0; i < n; i++) {
		struct pollfd pfd = {fds[i], POLLIN, 0};

		/* Still open: nothing to read, no EOF. */
		if (poll(&pfd, 1, 0) == 0)
			open++;
	}
	printf("clients=%d open=%d\n", n, open);
	return open == n ? 0 : 1;
}
