/*
 * The carriers of a path to the peer (path.h): each moves whole
 * messages and never blocks.
 *
 *   udp   a datagram per message, from the peer's address only
 *   enet  an ENet packet per message: reliable, ordered, flow controlled,
 *	   over the punched UDP socket (ENet's own socket is swapped for
 *	   ours, so that ENet speaks through the hole)
 *   tcp   a TCP connection, each message framed by its length in two
 *	   bytes, big-endian; a bounded queue to send
 */
#include "config.h"

#include <sys/socket.h>
#include <enet/enet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

#define PATH_ENET_QUEUE	    512	  /* ENet commands in flight */
#define PATH_ENET_CONNECT_MS 10000 /* ENet's own handshake */
#define PATH_ENET_PEER_MIN_MS 3000 /* ENet gives a silent peer up */
#define PATH_ENET_PEER_MAX_MS 6000
#define PATH_CLOSE_MS	    3000 /* to hand the last bytes over */

static void
path_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* udp */

static int
path_udp_send(struct path *p, const uint8_t *m, size_t n)
{
	/* A full socket buffer loses the datagram, as the network may. */
	if (sendto(p->fd, m, n, 0, (const struct sockaddr *)&p->peer.ss,
		p->peer.len) == -1 &&
	    errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
		return -1;
	return 0;
}

static int
path_udp_recv(struct path *p, uint8_t *buf, size_t size)
{
	struct sockaddr_storage ss;
	struct addr		from;

	for (;;) {
		socklen_t len = sizeof(ss);
		ssize_t	  n = recvfrom(p->fd, buf, size, MSG_DONTWAIT,
			  (struct sockaddr *)&ss, &len);

		if (n == -1)
			return errno == ECONNREFUSED || errno == EAGAIN ||
				errno == EINTR
			    ? 0
			    : -1;
		if (addr_from_sa(&from, (struct sockaddr *)&ss, len) == 0 &&
		    addr_equal(&from, &p->peer) && n > 0)
			return (int)n;
		p->junk++;
	}
}

static int
path_always(struct path *p)
{
	(void)p;
	return 1;
}

static short
path_no_events(struct path *p)
{
	(void)p;
	return 0;
}

static int
path_no_flush(struct path *p)
{
	(void)p;
	return 0;
}

static void
path_fd_close(struct path *p, int clean)
{
	(void)clean;
	close(p->fd);
}

static const struct path_ops path_udp_ops = {"udp", 0, path_udp_send,
    path_udp_recv, path_always, path_no_events, path_no_flush,
    path_fd_close};

/* Datagrams with peer over the punched socket fd. */
int
path_udp(struct path *p, int fd, const struct addr *peer)
{
	memset(p, 0, sizeof(*p));
	p->ops = &path_udp_ops;
	p->fd = fd;
	p->peer = *peer;
	path_nonblock(fd);
	return 0;
}

/* tcp */

static int
path_tcp_flush(struct path *p)
{
	ssize_t n;

	while (p->out_have > 0) {
		n = send(p->fd, p->out, p->out_have, MSG_NOSIGNAL);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		memmove(p->out, p->out + n, p->out_have - (size_t)n);
		p->out_have -= (size_t)n;
	}
	return 0;
}

static int
path_tcp_send(struct path *p, const uint8_t *m, size_t n)
{
	if (n > PATH_MSG_MAX || PATH_TCP_QUEUE - p->out_have < n + 2)
		return -1; /* the caller asked room() first */
	p->out[p->out_have] = (uint8_t)(n >> 8);
	p->out[p->out_have + 1] = (uint8_t)n;
	memcpy(p->out + p->out_have + 2, m, n);
	p->out_have += n + 2;
	return path_tcp_flush(p);
}

static int
path_tcp_recv(struct path *p, uint8_t *buf, size_t size)
{
	size_t len;

	for (;;) {
		ssize_t n;

		if (p->in_have >= 2 &&
		    p->in_have >= 2 + (len = (size_t)(p->in[0] << 8 | p->in[1]))) {
			if (len > size)
				return -1;
			memcpy(buf, p->in + 2, len);
			memmove(p->in, p->in + 2 + len, p->in_have - 2 - len);
			p->in_have -= 2 + len;
			return len > 0 ? (int)len : -1;
		}
		n = read(p->fd, p->in + p->in_have, PATH_MSG_MAX + 2 - p->in_have);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1;
		p->in_have += (size_t)n;
	}
}

static int
path_tcp_room(struct path *p)
{
	return PATH_TCP_QUEUE - p->out_have >= PATH_MSG_MAX + 2;
}

static short
path_tcp_events(struct path *p)
{
	return p->out_have > 0 ? POLLOUT : 0;
}

static void
path_tcp_close(struct path *p, int clean)
{
	int64_t deadline = client_now_ms() + PATH_CLOSE_MS;

	while (clean && p->out_have > 0 && client_now_ms() < deadline) {
		struct pollfd pfd = {p->fd, POLLOUT, 0};

		poll(&pfd, 1, 100);
		if (path_tcp_flush(p) == -1)
			break;
	}
	close(p->fd);
	free(p->in);
	free(p->out);
	p->in = p->out = NULL;
}

static const struct path_ops path_tcp_ops = {"tcp", 1, path_tcp_send,
    path_tcp_recv, path_tcp_room, path_tcp_events, path_tcp_flush,
    path_tcp_close};

/* Messages over the connected TCP socket fd: 0, or -1 out of memory. */
int
path_tcp(struct path *p, int fd)
{
	memset(p, 0, sizeof(*p));
	p->ops = &path_tcp_ops;
	p->fd = fd;
	p->in = malloc(PATH_MSG_MAX + 2);
	p->out = malloc(PATH_TCP_QUEUE);
	if (p->in == NULL || p->out == NULL) {
		free(p->in);
		free(p->out);
		return -1;
	}
	path_nonblock(fd);
	return 0;
}

/* enet */

static size_t
path_enet_queued(struct path *p)
{
	ENetPeer *peer = p->enet_peer;

	return enet_list_size(&peer->outgoingCommands) +
	    enet_list_size(&peer->sentReliableCommands);
}

static int
path_enet_send(struct path *p, const uint8_t *m, size_t n)
{
	ENetPacket *pk = enet_packet_create(m, n, ENET_PACKET_FLAG_RELIABLE);

	if (pk == NULL || enet_peer_send(p->enet_peer, 0, pk) != 0)
		return -1;
	return 0;
}

static int
path_enet_recv(struct path *p, uint8_t *buf, size_t size)
{
	ENetEvent ev;
	int	  n;

	while (enet_host_service(p->enet_host, &ev, 0) > 0) {
		if (ev.type == ENET_EVENT_TYPE_DISCONNECT)
			return -1;
		if (ev.type != ENET_EVENT_TYPE_RECEIVE)
			continue;
		n = ev.packet->dataLength <= size ? (int)ev.packet->dataLength
						  : -1;
		if (n > 0)
			memcpy(buf, ev.packet->data, (size_t)n);
		enet_packet_destroy(ev.packet);
		return n > 0 ? n : -1;
	}
	return 0;
}

static int
path_enet_room(struct path *p)
{
	return path_enet_queued(p) < PATH_ENET_QUEUE;
}

static int
path_enet_flush(struct path *p)
{
	enet_host_flush(p->enet_host);
	return 0;
}

static void
path_enet_close(struct path *p, int clean)
{
	int64_t	  deadline = client_now_ms() + PATH_CLOSE_MS;
	ENetEvent ev;

	if (clean) {
		enet_peer_disconnect_later(p->enet_peer, 0);
		while (client_now_ms() < deadline)
			if (enet_host_service(p->enet_host, &ev, 50) > 0 &&
			    ev.type == ENET_EVENT_TYPE_DISCONNECT)
				break;
	} else {
		enet_peer_disconnect_now(p->enet_peer, 0);
		enet_host_flush(p->enet_host);
	}
	enet_host_destroy(p->enet_host); /* closes fd */
}

static const struct path_ops path_enet_ops = {"enet", 1, path_enet_send,
    path_enet_recv, path_enet_room, path_no_events, path_enet_flush,
    path_enet_close};

/*
 * An ENet stream with peer over the punched socket fd, the connector
 * dialling: 0, or -1 (said why) when ENet's handshake fails.
 */
int
path_enet(const struct client_opts *o, struct path *p, int fd,
    const struct addr *peer, int connector)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&peer->ss;
	int64_t			  deadline = client_now_ms() + PATH_ENET_CONNECT_MS;
	ENetHost		 *h;
	ENetPeer		 *ep = NULL;
	ENetAddress		  ea;
	ENetEvent		  ev;

	memset(p, 0, sizeof(*p));
	p->ops = &path_enet_ops;
	p->fd = fd;
	p->peer = *peer;
	if (enet_initialize() != 0 ||
	    (h = enet_host_create(NULL, 1, 1, 0, 0)) == NULL)
		client_fail(o, "ENet cannot start");
	enet_socket_destroy(h->socket);
	h->socket = fd;
	path_nonblock(fd);
	ea.host = sin->sin_addr.s_addr;
	ea.port = ntohs(sin->sin_port);
	if (connector && (ep = enet_host_connect(h, &ea, 1, 0)) == NULL)
		client_fail(o, "enet_host_connect failed");
	while (ep == NULL || ep->state != ENET_PEER_STATE_CONNECTED) {
		if (client_now_ms() > deadline) {
			fprintf(stderr,
			    "natclient: no ENet handshake over the path\n");
			enet_host_destroy(h);
			return -1;
		}
		if (enet_host_service(h, &ev, 100) > 0 &&
		    ev.type == ENET_EVENT_TYPE_CONNECT)
			ep = ev.peer;
	}
	enet_peer_timeout(ep, 0, PATH_ENET_PEER_MIN_MS, PATH_ENET_PEER_MAX_MS);
	p->enet_host = h;
	p->enet_peer = ep;
	return 0;
}

/* Wait up to ms for the path to have input, sending what it holds. */
int
path_wait(struct path *p, int ms)
{
	struct pollfd pfd = {p->fd, (short)(POLLIN | p->ops->events(p)), 0};

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	if ((pfd.revents & POLLOUT) && p->ops->flush(p) == -1)
		return -1;
	return (pfd.revents & ~POLLOUT) != 0;
}
