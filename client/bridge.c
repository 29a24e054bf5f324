/*
 * What runs over a punched path.
 *
 * A byte stream between stdin/stdout and the peer: ENet over the punched
 * UDP socket (reliable, ordered, flow controlled).  ENet makes its own
 * socket; it is swapped for ours, so that ENet speaks through the hole.
 * End of input is an empty packet on the data channel (ENet orders
 * packets within a channel only, so it cannot overtake the data); when
 * both sides have sent theirs, the peers disconnect.
 *
 * Or datagrams: listen --forward hands the peer's datagrams to a local
 * UDP service, connect --local carries what a local program sends to
 * 127.0.0.1:PORT.  Keepalives hold the path open; our own packets are
 * told from data by magic and session.
 */
#include "config.h"

#include <sys/socket.h>
#include <enet/enet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "holepunch.h"

#define BRIDGE_CHUNK	    16384
#define BRIDGE_QUEUE_MAX    512	  /* ENet commands in flight: backpressure */
#define BRIDGE_KEEPALIVE_MS 15000 /* datagram mode */
#define BRIDGE_CONNECT_MS   10000 /* ENet handshake */
#define BRIDGE_PEER_TIMEOUT 15000 /* ENet gives a silent peer up */

static void
bridge_enet_addr(const struct addr *a, ENetAddress *e)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

	e->host = sin->sin_addr.s_addr;
	e->port = ntohs(sin->sin_port);
}

static ENetHost *
bridge_host(const struct client_opts *o, int fd)
{
	ENetHost *h;

	if (enet_initialize() != 0)
		client_fail(o, "enet_initialize failed");
	if ((h = enet_host_create(NULL, 1, 1, 0, 0)) == NULL)
		client_fail(o, "enet_host_create failed");
	enet_socket_destroy(h->socket);
	h->socket = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return h;
}

static size_t
bridge_queued(ENetPeer *p)
{
	return enet_list_size(&p->outgoingCommands) +
	    enet_list_size(&p->sentReliableCommands);
}

/* stdin and stdout over ENet; 0 when both directions ended cleanly. */
int
bridge_stream(const struct client_opts *o, int fd, const struct addr *peer,
    int connector)
{
	ENetHost     *h = bridge_host(o, fd);
	ENetPeer     *p = NULL;
	ENetEvent     ev;
	ENetAddress   ea;
	struct pollfd pfd[2];
	uint8_t	      buf[BRIDGE_CHUNK];
	int64_t	      deadline = client_now_ms() + BRIDGE_CONNECT_MS;
	int	      in_done = 0, out_done = 0, bye = 0;

	bridge_enet_addr(peer, &ea);
	if (connector && (p = enet_host_connect(h, &ea, 1, 0)) == NULL)
		client_fail(o, "enet_host_connect failed");
	while (p == NULL || p->state != ENET_PEER_STATE_CONNECTED) {
		if (client_now_ms() > deadline)
			client_fail(o, "no ENet handshake over the path");
		if (enet_host_service(h, &ev, 100) > 0 &&
		    ev.type == ENET_EVENT_TYPE_CONNECT)
			p = ev.peer;
	}
	enet_peer_timeout(p, 0, BRIDGE_PEER_TIMEOUT, BRIDGE_PEER_TIMEOUT);
	pfd[0].fd = STDIN_FILENO;
	pfd[1].fd = fd;
	pfd[1].events = POLLIN;
	for (;;) {
		int wait_in = !in_done && bridge_queued(p) < BRIDGE_QUEUE_MAX;

		pfd[0].events = wait_in ? POLLIN : 0;
		poll(pfd, 2, 20);
		if (wait_in &&
		    (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n > 0)
				enet_peer_send(p, 0,
				    enet_packet_create(buf, (size_t)n,
					ENET_PACKET_FLAG_RELIABLE));
			else if (n == 0 || errno != EINTR) {
				in_done = 1;
				enet_peer_send(p, 0,
				    enet_packet_create(NULL, 0,
					ENET_PACKET_FLAG_RELIABLE));
			}
		}
		while (enet_host_service(h, &ev, 0) > 0) {
			if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
				enet_host_destroy(h);
				if (in_done && out_done)
					return 0;
				fprintf(stderr,
				    "natclient: the peer went away\n");
				return -1;
			}
			if (ev.type != ENET_EVENT_TYPE_RECEIVE)
				continue;
			if (ev.packet->dataLength == 0) {
				out_done = 1;
				close(STDOUT_FILENO);
			} else if (!out_done &&
			    client_write_all(STDOUT_FILENO, ev.packet->data,
				ev.packet->dataLength) == -1)
				out_done = 1; /* stdout closed: drop the rest */
			enet_packet_destroy(ev.packet);
		}
		if (in_done && out_done && !bye && bridge_queued(p) == 0) {
			bye = 1;
			enet_peer_disconnect_later(p, 0);
		}
	}
}

/* Datagrams between the path and the local application; until killed. */
int
bridge_datagrams(int fd, const struct addr *peer, const uint8_t *session,
    struct dg_local *local)
{
	struct pollfd pfd[2] = {{fd, POLLIN, 0}, {local->fd, POLLIN, 0}};
	uint8_t	      b[65536], ka[HP_PACKET_LEN];
	int64_t	      next_ka = 0;

	hp_packet(ka, session, HP_KEEPALIVE);
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t		len = sizeof(ss);
		ssize_t			n;
		struct addr		from;

		if (client_now_ms() >= next_ka) {
			sendto(fd, ka, sizeof(ka), 0,
			    (const struct sockaddr *)&peer->ss, peer->len);
			next_ka = client_now_ms() + BRIDGE_KEEPALIVE_MS;
		}
		if (poll(pfd, 2, 1000) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			n = recvfrom(fd, b, sizeof(b), MSG_DONTWAIT,
			    (struct sockaddr *)&ss, &len);
			if (n >= 0 &&
			    addr_from_sa(&from, (struct sockaddr *)&ss, len) ==
				0 &&
			    addr_equal(&from, peer) &&
			    hp_parse(b, (size_t)n, session) == 0)
				dg_local_send(local, b, (size_t)n);
		}
		if ((pfd[1].revents & POLLIN) &&
		    (n = dg_local_recv(local, b, sizeof(b))) >= 0)
			sendto(fd, b, (size_t)n, 0,
			    (const struct sockaddr *)&peer->ss, peer->len);
	}
}
