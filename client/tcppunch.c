/*
 * --tcp: TCP simultaneous open.  The control connection to the server is
 * bound with SO_REUSEADDR and SO_REUSEPORT, so the server sees the
 * mapping of our port P; after the punch message each side connects
 * from P to the other's mapping at the same moment, and the two SYNs
 * cross.  A refused or timed-out attempt is retried from P until the
 * deadline.  There is no TTL-2 opening packet as for UDP: the ICMP
 * "time exceeded" it draws aborts a connect in SYN_SENT, and a peer's
 * SYN let in by its mapping before our real SYN leaves would meet a
 * closed port and be reset.
 * The connection then carries stdin and stdout itself.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "natclient.h"
#include "tcppunch.h"

#define TCP_ATTEMPT_MS 1500 /* one connect: the SYN and one retransmit */

/* A TCP socket that may share its port with others; port 0: any. */
int
tcp_reusable(const struct client_opts *o, const struct addr *like,
    uint16_t port)
{
	struct addr local = *like;
	int fd = client_socket(o, addr_family(like), SOCK_STREAM), on = 1;

	memset(&local.ss, 0, sizeof(local.ss));
	local.ss.ss_family = (sa_family_t)addr_family(like);
	addr_set_port(&local, port);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&local.ss, local.len) == -1)
		client_fail(o, "TCP port %u: %s", port, strerror(errno));
	return fd;
}

/* One attempt: the connected socket, or -1. */
static int
tcp_attempt(const struct client_opts *o, uint16_t port, const struct addr *peer)
{
	struct pollfd pfd;
	int	      fd = tcp_reusable(o, peer, port), err = 0;
	socklen_t     len = sizeof(err);
	int64_t	      start = client_now_ms();
	int	      left;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) == -1 &&
	    errno != EINPROGRESS && errno != EINTR) {
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	left = TCP_ATTEMPT_MS - (int)(client_now_ms() - start);
	if (poll(&pfd, 1, left > 0 ? left : 0) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* Connect from port to peer until timeout_ms; the socket, or -1. */
int
tcp_punch(const struct client_opts *o, uint16_t port, const struct addr *peer,
    int timeout_ms)
{
	int64_t deadline = client_now_ms() + timeout_ms;
	int	fd;

	while (client_now_ms() < deadline) {
		int64_t t = client_now_ms();

		if ((fd = tcp_attempt(o, port, peer)) != -1)
			return fd;
		if (client_now_ms() - t < 100)
			poll(NULL, 0, 100); /* refused at once: not too fast */
	}
	return -1;
}

/* stdin to the connection, the connection to stdout; 0 when both end. */
int
tcp_bridge(int fd)
{
	struct pollfd pfd[2] = {{STDIN_FILENO, POLLIN, 0}, {fd, POLLIN, 0}};
	char	      b[65536];
	int	      in_done = 0, out_done = 0;

	while (!(in_done && out_done)) {
		ssize_t n;

		pfd[0].fd = in_done ? -1 : STDIN_FILENO;
		pfd[1].fd = out_done ? -1 : fd;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			return -1;
		if (!in_done && (pfd[0].revents & (POLLIN | POLLHUP))) {
			n = read(STDIN_FILENO, b, sizeof(b));
			if (n > 0 && client_write_all(fd, b, (size_t)n) == -1)
				return -1;
			if (n <= 0) {
				in_done = 1;
				shutdown(fd, SHUT_WR);
			}
		}
		if (!out_done &&
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(fd, b, sizeof(b));
			if (n < 0)
				return -1;
			if (n == 0) {
				out_done = 1;
				close(STDOUT_FILENO);
			} else if (client_write_all(STDOUT_FILENO, b,
				       (size_t)n) == -1)
				return -1;
		}
	}
	close(fd);
	return 0;
}
