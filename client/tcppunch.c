/*
 * --tcp: TCP simultaneous open.  The control connection to the server is
 * bound with SO_REUSEADDR and SO_REUSEPORT, so the server sees the
 * mapping of our port P; after the punch message each side connects
 * from P to the other's mapping at the same moment, and the two SYNs
 * cross (see tcp_punch for the details).
 * The connection then carries stdin and stdout itself.  Where a gateway
 * mapped the port, the mapped side accepts instead (tcp_accept_one).
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

static void
tcp_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* The pending error of a connecting socket (0: none yet, or connected). */
static int
tcp_error(int fd)
{
	int	  err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

/* Start a nonblocking connect from port; the socket, or -1. */
static int
tcp_start(const struct client_opts *o, uint16_t port, const struct addr *peer)
{
	int fd = tcp_reusable(o, peer, port);

	tcp_nonblock(fd, 1);
	if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) == -1 &&
	    errno != EINPROGRESS && errno != EINTR) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Connect from port to peer until timeout_ms; the socket, or -1.
 *
 * One socket for as long as it lives: the kernel's retransmissions keep
 * its initial sequence number, which the NATs' connection tracking has
 * seen.  A new socket (a new sequence number on the same addresses)
 * only after the first was refused.  There is no TTL-2 opening SYN as
 * for UDP: the ICMP "time exceeded" it draws aborts a connect in
 * SYN_SENT.
 */
int
tcp_punch(const struct client_opts *o, uint16_t port, const struct addr *peer,
    int timeout_ms)
{
	struct pollfd pfd = {-1, POLLOUT, 0};
	int64_t	      deadline = client_now_ms() + timeout_ms;
	int	      fd = -1;

	while (client_now_ms() < deadline) {
		if (fd == -1 && (fd = tcp_start(o, port, peer)) == -1) {
			poll(NULL, 0, 100);
			continue;
		}
		pfd.fd = fd;
		if (poll(&pfd, 1, 50) < 1)
			continue;
		if (tcp_error(fd) == 0) {
			tcp_nonblock(fd, 0);
			return fd;
		}
		close(fd); /* refused: again, not too fast */
		fd = -1;
		poll(NULL, 0, 100);
	}
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * A port-mapped side: take the first connection to port (of like's
 * family) within timeout_ms, the peer's address in from; the socket,
 * or -1.  Who it
 * is, the end-to-end handshake that follows decides.
 */
int
tcp_accept_one(const struct client_opts *o, const struct addr *like,
    uint16_t port, struct addr *from, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t		len = sizeof(ss);
	struct pollfd		pfd = {-1, POLLIN, 0};
	int			lfd, fd = -1;

	lfd = tcp_reusable(o, like, port);
	if (listen(lfd, 1) == -1) {
		close(lfd);
		return -1;
	}
	pfd.fd = lfd;
	if (poll(&pfd, 1, timeout_ms) == 1 &&
	    (fd = accept(lfd, (struct sockaddr *)&ss, &len)) != -1)
		addr_from_sa(from, (struct sockaddr *)&ss, len);
	close(lfd);
	return fd;
}
