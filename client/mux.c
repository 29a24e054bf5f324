/*
 * TCP port forwarding over one sealed path: connect --local-tcp PORT
 * accepts TCP connections on 127.0.0.1:PORT, listen --forward-tcp
 * HOST:PORT dials HOST:PORT for each, and every such connection is a
 * stream of its own over the one punched (or relayed) path.  Sealed
 * messages (secure.h) carry the streams, each starting with the
 * stream's id (4 bytes, big-endian; the connector numbers them from 1
 * and never reuses one on a path):
 *
 *   MUX_OPEN	 id		 a new stream: the listener dials
 *   MUX_DATA	 id | bytes	 to the stream's TCP connection
 *   MUX_EOF	 id		 that direction ended: shutdown(SHUT_WR)
 *   MUX_RESET	 id		 the stream is gone at once (refused, reset,
 *				 or it broke a bound), both directions
 *   MUX_WINDOW	 id | n (4)	 n more bytes were written out
 *
 * Each side sends a stream at most MUX_WINDOW bytes more than the
 * other side has said it wrote out (MUX_WINDOW), and buffers at most
 * that much of it, so that a local program that reads slowly stalls
 * its own stream only, never the path, and memory is bounded by
 * MUX_STREAMS_MAX x MUX_WINDOW.  A stream past the bound of streams is
 * closed at once (the connector) or reset (the listener); a peer that
 * sends past a window has that stream reset.  The path itself is kept
 * alive, and its round trip measured, by a ping every MUX_PING_MS.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "bytes.h"
#include "mux.h"

#define MUX_WINDOW	(256 * 1024) /* bytes in flight per stream */
#define MUX_GRANT	(MUX_WINDOW / 4) /* written out before we say so */
#define MUX_DIAL_MS	10000 /* the listener's dial of --forward-tcp */
#define MUX_PING_MS	10000
#define MUX_CHUNK	(SECURE_CHUNK - 4)

struct mux_stream {
	uint32_t id;
	int	 fd;
	int	 dead;	     /* closed: swept at the end of the round */
	int64_t	 dial_until; /* listener: still dialling, until then */
	int	 in_eof;     /* the local EOF was read and sent on */
	int	 out_eof;    /* the peer's EOF came */
	int	 shut;	     /* and was passed on with shutdown */
	uint32_t credit;     /* bytes we may still send */
	uint32_t written;    /* out to fd since our last MUX_WINDOW */
	uint8_t *ring;	     /* the peer's bytes, to fd */
	size_t	 off, have;
};

struct mux {
	struct secure		 *s;
	const struct client_opts *o;
	struct mux_stats	 *st;
	int			  listen_fd; /* connector: --local-tcp */
	struct addr		  target;    /* listener: --forward-tcp */
	struct mux_stream	 *streams[MUX_STREAMS_MAX];
	int			  n;
	uint32_t		  next_id;
	int64_t			  next_ping;
	uint8_t			  buf[4 + SECURE_DATA_MAX];
};

/* A message of kind about stream id, with n more bytes: 0, or -1. */
static int
mux_send(struct mux *m, int kind, uint32_t id, const uint8_t *d, size_t n)
{
	uint8_t b[8];

	if (d == NULL && n <= 4) {
		be32_put(b, id);
		return secure_send(m->s, kind, b, 4);
	}
	be32_put(m->buf, id);
	memmove(m->buf + 4, d, n);
	return secure_send(m->s, kind, m->buf, n + 4);
}

static struct mux_stream *
mux_find(struct mux *m, uint32_t id)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->streams[i]->id == id && !m->streams[i]->dead)
			return m->streams[i];
	return NULL;
}

static struct mux_stream *
mux_new(struct mux *m, uint32_t id, int fd)
{
	struct mux_stream *t;
	int		   one = 1;

	if (m->n == MUX_STREAMS_MAX || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->id = id;
	t->fd = fd;
	t->credit = MUX_WINDOW;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	m->streams[m->n++] = t;
	m->st->streams_total++;
	return t;
}

/* The stream is over; reset: its TCP connection is reset, not ended. */
static void
mux_close(struct mux *m, struct mux_stream *t, int reset, int tell)
{
	struct linger lg = {1, 0};

	if (t->dead)
		return;
	if (tell)
		mux_send(m, SECURE_MUX_RESET, t->id, NULL, 0);
	if (reset)
		setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(t->fd);
	t->dead = 1;
}

/* Free the streams closed this round. */
static void
mux_sweep(struct mux *m)
{
	int i, j = 0;

	for (i = 0; i < m->n; i++) {
		if (!m->streams[i]->dead) {
			m->streams[j++] = m->streams[i];
			continue;
		}
		free(m->streams[i]->ring);
		free(m->streams[i]);
	}
	m->n = j;
}

/* Both directions ended and every byte is out: closed cleanly. */
static void
mux_maybe_done(struct mux *m, struct mux_stream *t)
{
	if (t->out_eof && t->have == 0 && !t->shut) {
		shutdown(t->fd, SHUT_WR);
		t->shut = 1;
	}
	if (t->in_eof && t->shut)
		mux_close(m, t, 0, 0);
}

/* The listener: a stream the connector opened, dialled without waiting. */
static void
mux_open(struct mux *m, uint32_t id)
{
	struct mux_stream *t;
	char		   a[ADDR_STRLEN];
	int		   fd;

	if (m->listen_fd != -1 || mux_find(m, id) != NULL)
		return; /* the connector opens; an id is opened once */
	fd = socket(addr_family(&m->target), SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1 || (t = mux_new(m, id, fd)) == NULL) {
		fprintf(stderr, "natclient: forward-tcp: stream %u refused: "
		    "%s\n", id, fd == -1 ? strerror(errno)
		    : "too many streams (or out of memory)");
		if (fd != -1)
			close(fd);
		m->st->refused++;
		mux_send(m, SECURE_MUX_RESET, id, NULL, 0);
		return;
	}
	t->dial_until = client_now_ms() + MUX_DIAL_MS;
	if (connect(fd, (const struct sockaddr *)&m->target.ss,
		m->target.len) == -1 && errno != EINPROGRESS) {
		fprintf(stderr, "natclient: forward-tcp %s: %s\n",
		    addr_format(&m->target, a, sizeof(a)), strerror(errno));
		m->st->refused++;
		mux_close(m, t, 1, 1);
	}
}

/* The listener's dial ended, or is still on (0). */
static void
mux_dialled(struct mux *m, struct mux_stream *t, short revents)
{
	char	  a[ADDR_STRLEN];
	int	  err = 0;
	socklen_t len = sizeof(err);

	if (revents == 0 && client_now_ms() < t->dial_until)
		return;
	if (revents == 0)
		err = ETIMEDOUT;
	else if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		fprintf(stderr, "natclient: forward-tcp %s: %s\n",
		    addr_format(&m->target, a, sizeof(a)), strerror(err));
		m->st->refused++;
		mux_close(m, t, 1, 1);
		return;
	}
	t->dial_until = 0;
}

/* The peer's bytes for stream t, into its ring (bounded by the window). */
static void
mux_data(struct mux *m, struct mux_stream *t, const uint8_t *d, size_t n)
{
	size_t at, first;

	if (t->out_eof || t->have + n > MUX_WINDOW) {
		fprintf(stderr, "natclient: stream %u: the peer sent past "
		    "%s; reset\n", t->id, t->out_eof ? "its end" : "the window");
		mux_close(m, t, 1, 1);
		return;
	}
	if (t->ring == NULL && (t->ring = malloc(MUX_WINDOW)) == NULL) {
		mux_close(m, t, 1, 1);
		return;
	}
	at = (t->off + t->have) % MUX_WINDOW;
	first = n < MUX_WINDOW - at ? n : MUX_WINDOW - at;
	memcpy(t->ring + at, d, first);
	memcpy(t->ring, d + first, n - first);
	t->have += n;
	m->st->bytes_in += n;
}

/* One message from the peer: 0, or -1 when the peer is not one of us. */
static int
mux_message(struct mux *m, int kind, const uint8_t *b, int n)
{
	struct mux_stream *t;

	if (kind == SECURE_PING) {
		secure_send(m->s, SECURE_PONG, b, (size_t)n);
		return 0;
	}
	if (kind == SECURE_PONG) {
		if ((m->st->rtt_us = bridge_pong(b, n)) >= 0)
			bridge_stats(m->st->rtt_us, m->st->bytes_in,
			    m->st->bytes_out, m->n, m->st->streams_total);
		return 0;
	}
	if (kind == SECURE_DATA || kind == SECURE_EOF) {
		fprintf(stderr, "natclient: the peer carries one stream, not "
		    "TCP connections (use --local-tcp with --forward-tcp)\n");
		return -1;
	}
	if (kind < SECURE_MUX_OPEN || kind > SECURE_MUX_WINDOW || n < 4)
		return 0;
	if (kind == SECURE_MUX_OPEN) {
		mux_open(m, be32_get(b));
		return 0;
	}
	if ((t = mux_find(m, be32_get(b))) == NULL)
		return 0; /* a stream that ended meanwhile */
	if (kind == SECURE_MUX_DATA)
		mux_data(m, t, b + 4, (size_t)n - 4);
	else if (kind == SECURE_MUX_EOF) {
		t->out_eof = 1;
		mux_maybe_done(m, t);
	} else if (kind == SECURE_MUX_RESET)
		mux_close(m, t, 1, 0);
	else if (n == 8) {
		uint64_t c = (uint64_t)t->credit + be32_get(b + 4);

		t->credit = c > MUX_WINDOW ? MUX_WINDOW : (uint32_t)c;
	}
	return 0;
}

/* Read the path: 0, or -1 when it ended. */
static int
mux_read_path(struct mux *m)
{
	static uint8_t b[SECURE_DATA_MAX];
	int	       kind, n;

	while ((n = secure_recv(m->s, &kind, b, sizeof(b))) != SECURE_NONE)
		if (n == -1 || mux_message(m, kind, b, n) == -1)
			return -1;
	return 0;
}

/* The connector: a local program connected to --local-tcp. */
static void
mux_accept(struct mux *m)
{
	struct mux_stream *t;
	int		   fd;

	if ((fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK |
		 SOCK_CLOEXEC)) == -1)
		return;
	if ((t = mux_new(m, m->next_id, fd)) == NULL) {
		struct linger lg = {1, 0};

		/* Past the bound: closed at once, not left to hang. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		if (m->st->refused++ == 0)
			fprintf(stderr, "natclient: local-tcp: more than %d "
			    "connections at once; refusing (counted)\n",
			    MUX_STREAMS_MAX);
		return;
	}
	m->next_id++;
	mux_send(m, SECURE_MUX_OPEN, t->id, NULL, 0);
}

/* The peer's bytes out to the local connection, as far as it takes. */
static void
mux_write(struct mux *m, struct mux_stream *t)
{
	while (t->have > 0) {
		size_t	len = t->off + t->have > MUX_WINDOW ? MUX_WINDOW - t->off
							    : t->have;
		ssize_t n = send(t->fd, t->ring + t->off, len, MSG_NOSIGNAL);

		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n == -1) {
			mux_close(m, t, 1, 1); /* the program went away */
			return;
		}
		t->off = (t->off + (size_t)n) % MUX_WINDOW;
		t->have -= (size_t)n;
		t->written += (uint32_t)n;
	}
	if (t->have == 0)
		t->off = 0;
	/* Said in batches, and only when the path has room for more. */
	if (t->written >= MUX_GRANT ||
	    (t->written > 0 && t->have == 0 && m->s->path->ops->room(
		m->s->path))) {
		uint8_t g[4];

		be32_put(g, t->written);
		if (mux_send(m, SECURE_MUX_WINDOW, t->id, g, 4) == 0)
			t->written = 0;
	}
	mux_maybe_done(m, t);
}

/* The local connection's bytes to the peer, within credit and room. */
static void
mux_read(struct mux *m, struct mux_stream *t)
{
	uint8_t *b = m->buf + 4; /* mux_send's own place for it */
	size_t	 want = t->credit < MUX_CHUNK ? t->credit : MUX_CHUNK;
	ssize_t	 n = read(t->fd, b, want);

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		mux_close(m, t, 1, 1);
		return;
	}
	if (n == 0) {
		t->in_eof = 1;
		mux_send(m, SECURE_MUX_EOF, t->id, NULL, 0);
		mux_maybe_done(m, t);
		return;
	}
	t->credit -= (uint32_t)n;
	m->st->bytes_out += (uint64_t)n;
	mux_send(m, SECURE_MUX_DATA, t->id, b, (size_t)n);
}

static void
mux_ping(struct mux *m)
{
	if (client_now_ms() < m->next_ping)
		return;
	bridge_ping(m->s);
	m->next_ping = client_now_ms() + MUX_PING_MS;
}

static short
mux_events(struct mux_stream *t, int room)
{
	short ev = 0;

	if (t->dial_until)
		return POLLOUT;
	if (!t->in_eof && t->credit > 0 && room)
		ev |= POLLIN;
	if (t->have > 0)
		ev |= POLLOUT;
	return ev;
}

/* One round of poll over the path, the local port and the streams. */
static int
mux_round(struct mux *m, struct pollfd *pfd)
{
	struct path *p = m->s->path;
	int	     room = p->ops->room(p), i, n = m->n;

	pfd[0] = (struct pollfd){p->fd, (short)(POLLIN | p->ops->events(p)), 0};
	pfd[1] = (struct pollfd){m->listen_fd, POLLIN, 0};
	for (i = 0; i < n; i++) {
		short ev = mux_events(m->streams[i], room);

		/* Not polled at all when waiting: a hang-up would spin. */
		pfd[2 + i] = (struct pollfd){ev ? m->streams[i]->fd : -1, ev,
		    0};
	}
	poll(pfd, (nfds_t)(2 + n), 20);
	if (bridge_stopped())
		return 1;
	if ((pfd[0].revents & POLLOUT) && p->ops->flush(p) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		struct mux_stream *t = m->streams[i];
		short		   re = pfd[2 + i].revents;

		if (t->dead)
			continue;
		if (t->dial_until)
			mux_dialled(m, t, re);
		else if (re & (POLLOUT | POLLERR | POLLHUP) && t->have > 0)
			mux_write(m, t);
		if (!t->dead && !t->dial_until && (pfd[2 + i].events & POLLIN) &&
		    (re & (POLLIN | POLLHUP | POLLERR)) && p->ops->room(p))
			mux_read(m, t);
	}
	if (m->listen_fd != -1 && (pfd[1].revents & POLLIN))
		mux_accept(m);
	if (mux_read_path(m) == -1)
		return -1;
	for (i = 0; i < m->n; i++)
		if (!m->streams[i]->dead && m->streams[i]->have > 0 &&
		    !m->streams[i]->dial_until)
			mux_write(m, m->streams[i]);
	mux_sweep(m);
	mux_ping(m);
	p->ops->flush(p);
	return 0;
}

/*
 * TCP connections over the path until it ends (-1) or a signal stops
 * us (exit): the connector accepts on listen_fd, the listener (listen_fd
 * -1) dials target.
 */
int
bridge_tcp(struct secure *s, const struct client_opts *o, int listen_fd,
    const struct addr *target, struct mux_stats *st)
{
	static struct mux m;
	struct pollfd	  pfd[2 + MUX_STREAMS_MAX];
	int		  rv, i;

	memset(&m, 0, sizeof(m));
	m.s = s;
	m.o = o;
	m.st = st;
	m.listen_fd = listen_fd;
	if (target != NULL)
		m.target = *target;
	m.next_id = 1;
	bridge_catch();
	while ((rv = mux_round(&m, pfd)) == 0)
		;
	for (i = 0; i < m.n; i++)
		mux_close(&m, m.streams[i], 1, 0);
	mux_sweep(&m);
	if (rv == 1) {
		s->path->ops->close(s->path, 0);
		exit(1);
	}
	fprintf(stderr, "natclient: the peer went away\n");
	s->path->ops->close(s->path, 0);
	secure_wipe(s);
	bridge_release();
	return -1;
}

/* connect --local-tcp PORT: the local port, bound before the punch. */
int
mux_listen(const struct client_opts *o, int port)
{
	struct sockaddr_in sin;
	int		   fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 128) == -1)
		client_fail(o, "--local-tcp %d: 127.0.0.1:%d: %s", port, port,
		    strerror(errno));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}
