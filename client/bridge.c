/*
 * What runs over a sealed path (secure.c), whatever carries it.
 *
 * A byte stream between stdin/stdout and the peer: stdin is read while
 * the path has room, and the path is read while stdout has taken what
 * came before (backpressure both ways); stdin and stdout are
 * non-blocking while joined, so that a full direction never stops the
 * other.  End of input is a sealed EOF message, so that a cut cannot
 * pass for the end; once both sides sent theirs and the path is empty,
 * the carrier is closed cleanly.
 *
 * Or datagrams: listen --forward hands the peer's datagrams to a local
 * UDP service, connect --local carries what a local program sends to
 * 127.0.0.1:PORT.  Sealed keepalives hold the path open.
 *
 * A peer that goes away is seen within seconds: ENet's pings time out,
 * TCP ends, in datagram mode the keepalives stop, and a peer stopped by
 * SIGINT or SIGTERM says goodbye first (an ENet disconnect, or BYE).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "portmap.h"

#define BRIDGE_KEEPALIVE_MS 2000 /* datagram mode */
#define BRIDGE_SILENT_MS    8000 /* datagram mode: the peer is gone */
#define BRIDGE_PING_MS	    10000 /* datagram mode: the round trip */

/* Datagram mode's counters, for the agent's status. */
static uint64_t bridge_in, bridge_out;

static volatile sig_atomic_t bridge_stop;

static void
bridge_signal(int sig)
{
	bridge_stop = sig;
}

/* Port mapping's signal thread hands SIGINT and SIGTERM over here. */
static int
bridge_take(int sig)
{
	if (sig != SIGINT && sig != SIGTERM)
		return 0;
	bridge_stop = sig;
	return 1;
}

/*
 * SIGINT and SIGTERM set bridge_stop (and interrupt poll); where a port
 * mapping blocks them for its own thread (portmap.c), that thread does.
 */
void
bridge_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bridge_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	portmap_on_signal(bridge_take);
}

/*
 * The bridge is over: SIGINT and SIGTERM end natclient again (listen
 * --keep-listening waits for the next peer, and must stop when told),
 * and one that came at the very end is taken now.
 */
void
bridge_release(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	portmap_on_signal(NULL);
	/* To the process, not this thread: portmap.c's thread may be the
	   one that takes it. */
	if (bridge_stop)
		kill(getpid(), bridge_stop);
}

/* A signal came: the bridge must end (mux.c asks too). */
int
bridge_stopped(void)
{
	return bridge_stop != 0;
}

/*
 * A ping of our own (SECURE_PING with our clock, 8 bytes), whose pong
 * gives the path's round trip for the agent's status; natclient ping
 * (ping.c) sends its own, which the same pong answers.
 */
void
bridge_ping(struct secure *s)
{
	uint64_t now = (uint64_t)client_now_us();
	uint8_t	 b[8];
	int	 i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(now >> (56 - 8 * i));
	secure_send(s, SECURE_PING, b, sizeof(b));
}

/* The round trip in microseconds of a pong to bridge_ping, or -1. */
int64_t
bridge_pong(const uint8_t *b, int n)
{
	uint64_t sent = 0;
	int	 i;

	if (n != 8)
		return -1;
	for (i = 0; i < 8; i++)
		sent = sent << 8 | b[i];
	return (int64_t)((uint64_t)client_now_us() - sent);
}

/* What the agent's status shows of a path (output.c's client_status). */
void
bridge_stats(int64_t rtt_us, uint64_t in, uint64_t out, int now,
    uint64_t total)
{
	client_status(json_pack("{s:s,s:f,s:I,s:I,s:i,s:I}", "event", "stats",
	    "rtt_ms", (double)rtt_us / 1000, "bytes_in", (json_int_t)in,
	    "bytes_out", (json_int_t)out, "streams", now, "streams_total",
	    (json_int_t)total));
}

static void
bridge_dropped(const struct secure *s)
{
	if (s->dropped > 0)
		fprintf(stderr,
		    "natclient: dropped %llu forged or replayed datagrams\n",
		    (unsigned long long)s->dropped);
}

/* stdin and stdout across the flags we set, as they were (a shell's). */
static void
bridge_flags(int *saved, int restore)
{
	int i;

	for (i = 0; i < 2; i++)
		if (restore && saved[i] != -1)
			fcntl(i, F_SETFL, saved[i]);
		else if (!restore && (saved[i] = fcntl(i, F_GETFL)) != -1)
			fcntl(i, F_SETFL, saved[i] | O_NONBLOCK);
}

struct bridge_out {
	uint8_t buf[SECURE_DATA_MAX];
	size_t	off, have;
	int	done, discard; /* the peer's EOF; stdout went away */
};

/* What the peer sent, to stdout as far as it takes it: 0, or -1. */
static void
bridge_write(struct bridge_out *w)
{
	while (w->have > 0) {
		ssize_t n = w->discard ? (ssize_t)w->have
				       : write(STDOUT_FILENO, w->buf + w->off,
					     w->have);

		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			w->discard = 1; /* stdout closed: drop the rest */
			continue;
		}
		w->off += (size_t)n;
		w->have -= (size_t)n;
	}
	w->off = 0;
}

/* Read the path while stdout keeps up: 0, 1 at its end, -1 on error. */
static int
bridge_read_path(struct secure *s, struct bridge_out *w)
{
	int kind, n;

	while (w->have == 0) {
		n = secure_recv(s, &kind, w->buf, sizeof(w->buf));
		if (n == SECURE_NONE)
			return 0;
		if (n == -1)
			return 1;
		if (kind == SECURE_EOF && !w->done) {
			w->done = 1;
			close(STDOUT_FILENO);
		} else if (kind == SECURE_DATA && !w->done) {
			w->have = (size_t)n;
			bridge_write(w);
		} else if (kind == SECURE_PING)
			secure_send(s, SECURE_PONG, w->buf, (size_t)n);
	}
	return 0;
}

/* stdin and stdout over the path; 0 when both directions ended cleanly. */
int
bridge_stream(struct secure *s)
{
	static struct bridge_out w;
	struct path		*p = s->path;
	struct pollfd		 pfd[3];
	uint8_t			 buf[SECURE_CHUNK];
	int			 saved[2], in_done = 0, rv = -1;

	memset(&w, 0, sizeof(w));
	bridge_catch();
	bridge_flags(saved, 0);
	for (;;) {
		int wait_in = !in_done && p->ops->room(p);

		pfd[0] = (struct pollfd){STDIN_FILENO, wait_in ? POLLIN : 0, 0};
		pfd[1] = (struct pollfd){STDOUT_FILENO,
		    w.have > 0 && !w.done ? POLLOUT : 0, 0};
		pfd[2] = (struct pollfd){p->fd,
		    (short)(POLLIN | p->ops->events(p)), 0};
		poll(pfd, 3, 20);
		if (bridge_stop) {
			p->ops->close(p, 0);
			bridge_flags(saved, 1);
			exit(1);
		}
		if ((pfd[2].revents & POLLOUT) && p->ops->flush(p) == -1)
			break;
		if (wait_in &&
		    (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n > 0 &&
			    secure_send(s, SECURE_DATA, buf, (size_t)n) == -1)
				break;
			if (n == 0 || (n == -1 && errno != EAGAIN &&
					  errno != EINTR)) {
				in_done = 1;
				if (secure_send(s, SECURE_EOF, NULL, 0) == -1)
					break;
			}
		}
		bridge_write(&w);
		if (bridge_read_path(s, &w) != 0) {
			if (in_done && w.done)
				rv = 0; /* the peer closed after both ends */
			else
				fprintf(stderr,
				    "natclient: the peer went away\n");
			p->ops->close(p, 0);
			goto out;
		}
		p->ops->flush(p);
		if (in_done && w.done && w.have == 0 &&
		    p->ops->events(p) == 0) {
			p->ops->close(p, 1);
			rv = 0;
			goto out;
		}
	}
	fprintf(stderr, "natclient: the path failed\n");
	p->ops->close(p, 0);
out:
	bridge_flags(saved, 1);
	secure_wipe(s);
	bridge_release();
	return rv;
}

/* Say goodbye (lost datagrams: three times), and end. */
static void
bridge_bye(struct secure *s)
{
	int i;

	for (i = 0; i < 3; i++)
		secure_send(s, SECURE_BYE, NULL, 0);
	s->path->ops->close(s->path, 1);
	bridge_dropped(s);
	exit(1);
}

/* The peer's datagrams to the application: 0, or -1 when it is gone. */
static int
bridge_from_peer(struct secure *s, struct dg_local *local, int64_t *heard)
{
	static uint8_t b[SECURE_DATA_MAX];
	int64_t	       rtt;
	int	       kind, n;

	while ((n = secure_recv(s, &kind, b, sizeof(b))) != SECURE_NONE) {
		if (n == -1 || kind == SECURE_BYE) {
			fprintf(stderr, "natclient: the peer went away\n");
			return -1;
		}
		*heard = client_now_ms();
		if (kind == SECURE_DATA) {
			dg_local_send(local, b, (size_t)n);
			bridge_in += (uint64_t)n;
		} else if (kind == SECURE_PING)
			secure_send(s, SECURE_PONG, b, (size_t)n);
		else if (kind == SECURE_PONG && (rtt = bridge_pong(b, n)) >= 0)
			bridge_stats(rtt, bridge_in, bridge_out, 1, 1);
	}
	return 0;
}

/*
 * Datagrams between the path and the local application, until the peer
 * goes away (-1) or a signal stops us (exit, after telling the peer).
 */
int
bridge_datagrams(struct secure *s, struct dg_local *local)
{
	static uint8_t b[SECURE_DATA_MAX];
	struct path   *p = s->path;
	struct pollfd  pfd[2];
	int64_t	       next_ka = 0, next_ping = 0, heard = client_now_ms();
	ssize_t	       n;

	bridge_catch();
	for (;;) {
		if (bridge_stop)
			bridge_bye(s);
		if (client_now_ms() - heard > BRIDGE_SILENT_MS) {
			fprintf(stderr,
			    "natclient: the peer went away (silent for "
			    "%d s)\n",
			    BRIDGE_SILENT_MS / 1000);
			break;
		}
		if (client_now_ms() >= next_ka) {
			secure_send(s, SECURE_KEEPALIVE, NULL, 0);
			next_ka = client_now_ms() + BRIDGE_KEEPALIVE_MS;
		}
		if (client_now_ms() >= next_ping) {
			bridge_ping(s);
			next_ping = client_now_ms() + BRIDGE_PING_MS;
		}
		secure_tick(s);
		pfd[0] = (struct pollfd){p->fd,
		    (short)(POLLIN | p->ops->events(p)), 0};
		pfd[1] = (struct pollfd){local->fd, POLLIN, 0};
		/* Not only when the socket says so: a stream path may hold
		 * a whole message already (read with the handshake). */
		if (poll(pfd, 2, 200) > 0 && (pfd[0].revents & POLLOUT) &&
		    p->ops->flush(p) == -1)
			break;
		if (bridge_from_peer(s, local, &heard) == -1)
			break;
		/* A full stream loses the datagram, as UDP may. */
		if ((pfd[1].revents & POLLIN) &&
		    (n = dg_local_recv(local, b, sizeof(b))) >= 0 &&
		    p->ops->room(p)) {
			if (secure_send(s, SECURE_DATA, b, (size_t)n) == -1)
				break;
			bridge_out += (uint64_t)n;
		}
	}
	p->ops->close(p, 0);
	bridge_dropped(s);
	secure_wipe(s);
	bridge_release();
	return -1;
}
