/*
 * The ceiling for the tracker benchmark: the least a UDP server can do,
 * echo every datagram back, with the same batching (recvmmsg/sendmmsg)
 * and one SO_REUSEPORT socket per process.
 *	udp_echo HOST PORT PROCS
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ECHO_BATCH 32

static void
echo_loop(int fd)
{
	static uint8_t		bufs[ECHO_BATCH][2048];
	struct sockaddr_storage from[ECHO_BATCH];
	struct mmsghdr		m[ECHO_BATCH];
	struct iovec		iov[ECHO_BATCH];
	int			i, n;

	for (;;) {
		for (i = 0; i < ECHO_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, m, ECHO_BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		sendmmsg(fd, m, (unsigned)n, 0);
	}
}

int
main(int argc, char *argv[])
{
	struct addrinfo hints, *res;
	int		procs, i, on = 1;

	if (argc != 4)
		return 2;
	procs = atoi(argv[3]);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0)
		return 2;
	for (i = 0; i < procs; i++) {
		int fd = socket(res->ai_family, SOCK_DGRAM, 0);

		if (fd == -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) ==
			-1 ||
		    bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
			perror("udp_echo");
			return 1;
		}
		if (fork() == 0) {
			/* Go when the parent goes. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			echo_loop(fd);
		}
		close(fd);
	}
	signal(SIGTERM, SIG_DFL);
	while (wait(NULL) > 0)
		;
	return 0;
}
