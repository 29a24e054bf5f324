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
 *
 * A peer that goes away is seen within seconds: ENet's own pings time
 * out, in datagram mode the keepalives stop, and a peer stopped by
 * SIGINT or SIGTERM says goodbye first (an ENet disconnect, or HP_BYE).
 */
#include "config.h"

#include <sys/socket.h>
#include <enet/enet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "holepunch.h"

#define BRIDGE_CHUNK	    16384
#define BRIDGE_QUEUE_MAX    512	  /* ENet commands in flight: backpressure */
#define BRIDGE_KEEPALIVE_MS 2000  /* datagram mode */
#define BRIDGE_SILENT_MS    8000  /* datagram mode: the peer is gone */
#define BRIDGE_CONNECT_MS   10000 /* ENet handshake */
#define BRIDGE_PEER_MIN_MS  3000  /* ENet gives a silent peer up */
#define BRIDGE_PEER_MAX_MS  6000

static volatile sig_atomic_t bridge_stop;

static void
bridge_signal(int sig)
{
	bridge_stop = sig;
}

/* SIGINT and SIGTERM set bridge_stop (and interrupt poll). */
static void
bridge_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bridge_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

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
	enet_peer_timeout(p, 0, BRIDGE_PEER_MIN_MS, BRIDGE_PEER_MAX_MS);
	bridge_catch();
	pfd[0].fd = STDIN_FILENO;
	pfd[1].fd = fd;
	pfd[1].events = POLLIN;
	for (;;) {
		int wait_in = !in_done && bridge_queued(p) < BRIDGE_QUEUE_MAX;

		pfd[0].events = wait_in ? POLLIN : 0;
		poll(pfd, 2, 20);
		if (bridge_stop) {
			enet_peer_disconnect_now(p, 0);
			enet_host_flush(h);
			exit(1);
		}
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

/*
 * Datagrams between the path and the local application, until the peer
 * goes away (-1) or a signal stops us (exit, after telling the peer).
 */
int
bridge_datagrams(int fd, const struct addr *peer, const uint8_t *session,
    struct dg_local *local)
{
	struct pollfd pfd[2] = {{fd, POLLIN, 0}, {local->fd, POLLIN, 0}};
	uint8_t	      b[65536], ka[HP_PACKET_LEN], bye[HP_PACKET_LEN];
	int64_t	      next_ka = 0, heard = client_now_ms();
	int	      i;

	hp_packet(ka, session, HP_KEEPALIVE);
	hp_packet(bye, session, HP_BYE);
	bridge_catch();
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t		len = sizeof(ss);
		ssize_t			n;
		struct addr		from;
		int			type;

		if (bridge_stop) {
			for (i = 0; i < 3; i++)
				sendto(fd, bye, sizeof(bye), 0,
				    (const struct sockaddr *)&peer->ss,
				    peer->len);
			exit(1);
		}
		if (client_now_ms() - heard > BRIDGE_SILENT_MS) {
			fprintf(stderr,
			    "natclient: the peer went away (silent for "
			    "%d s)\n",
			    BRIDGE_SILENT_MS / 1000);
			return -1;
		}
		if (client_now_ms() >= next_ka) {
			sendto(fd, ka, sizeof(ka), 0,
			    (const struct sockaddr *)&peer->ss, peer->len);
			next_ka = client_now_ms() + BRIDGE_KEEPALIVE_MS;
		}
		if (poll(pfd, 2, 500) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			n = recvfrom(fd, b, sizeof(b), MSG_DONTWAIT,
			    (struct sockaddr *)&ss, &len);
			if (n >= 0 &&
			    addr_from_sa(&from, (struct sockaddr *)&ss, len) ==
				0 &&
			    addr_equal(&from, peer)) {
				heard = client_now_ms();
				type = hp_parse(b, (size_t)n, session);
				if (type == HP_BYE) {
					fprintf(stderr,
					    "natclient: the peer went away\n");
					return -1;
				}
				if (type == 0)
					dg_local_send(local, b, (size_t)n);
			}
		}
		if ((pfd[1].revents & POLLIN) &&
		    (n = dg_local_recv(local, b, sizeof(b))) >= 0)
			sendto(fd, b, (size_t)n, 0,
			    (const struct sockaddr *)&peer->ss, peer->len);
	}
}
