/*
 * Datagram plumbing for listen --forward, connect --local and expose udp:
 * the local application's socket, and datagrams carried over a TCP
 * stream (the relay) framed by their length in two bytes, big-endian,
 * as natserver's relay frames a UDP visitor's datagrams.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "datagram.h"

/* A stream's datagrams not yet whole: up to two frames. */
struct dg_frames {
	uint8_t buf[2 * (DG_MAX + 2)];
	size_t	have;
};

/* The local socket of --forward HOST:PORT or --local PORT. */
void
dg_local_open(const struct client_opts *o, struct dg_local *l)
{
	struct addr lo;
	const char *why;

	memset(l, 0, sizeof(*l));
	if (o->forward[0] != '\0') {
		if (addr_parse(o->forward, 0, &l->service, &why) == -1)
			client_fail(o, "--forward %s: %s", o->forward, why);
		l->has_service = 1;
		l->fd = client_udp_new(o, addr_family(&l->service));
		return;
	}
	addr_parse("127.0.0.1", (uint16_t)o->local_port, &lo, &why);
	l->fd = client_udp_new(o, AF_INET);
	if (bind(l->fd, (struct sockaddr *)&lo.ss, lo.len) == -1)
		client_fail(o, "--local %d: %s", o->local_port,
		    strerror(errno));
}

/* A datagram from the application (remembered as the one to answer). */
ssize_t
dg_local_recv(struct dg_local *l, void *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t		len = sizeof(ss);
	ssize_t			n;

	n = recvfrom(l->fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)&ss,
	    &len);
	if (n >= 0 && !l->has_service) {
		l->app = ss;
		l->app_len = len;
	}
	return n;
}

/* A datagram to the service, or to whoever sent to us last. */
void
dg_local_send(struct dg_local *l, const void *buf, size_t n)
{
	if (l->has_service)
		sendto(l->fd, buf, n, 0,
		    (const struct sockaddr *)&l->service.ss, l->service.len);
	else if (l->app_len > 0)
		sendto(l->fd, buf, n, 0, (struct sockaddr *)&l->app,
		    l->app_len);
}

/*
 * One datagram queued for the stream; dropped, as UDP may, when it
 * cannot be framed or the queue has no room (the stream is slower than
 * the application).
 */
static void
dg_frame_queue(struct dg_frames *q, const void *d, size_t n)
{
	if (n > DG_MAX || sizeof(q->buf) - q->have < n + 2)
		return;
	q->buf[q->have] = (uint8_t)(n >> 8);
	q->buf[q->have + 1] = (uint8_t)n;
	memcpy(q->buf + q->have + 2, d, n);
	q->have += n + 2;
}

/* Write what the queue holds, as far as the stream takes it: 0, or -1. */
static int
dg_frame_flush(int fd, struct dg_frames *q)
{
	ssize_t n = write(fd, q->buf, q->have);

	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	memmove(q->buf, q->buf + n, q->have - (size_t)n);
	q->have -= (size_t)n;
	return 0;
}

/*
 * Read what the stream has and hand every whole datagram to l: 0, or
 * -1 at the end of the stream or on an error.
 */
static int
dg_frame_read(int fd, struct dg_frames *f, struct dg_local *l)
{
	ssize_t n = read(fd, f->buf + f->have, sizeof(f->buf) - f->have);
	size_t	len, at = 0;

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	f->have += (size_t)n;
	while (f->have - at >= 2 &&
	    f->have - at >=
		2 + (len = (size_t)(f->buf[at] << 8 | f->buf[at + 1]))) {
		dg_local_send(l, f->buf + at + 2, len);
		at += 2 + len;
	}
	memmove(f->buf, f->buf + at, f->have - at);
	f->have -= at;
	return 0;
}

/*
 * Datagrams between a stream and the application until the stream ends
 * (0), fails (-1), or idle_ms pass without traffic (0; -1 for never).
 * The stream is non-blocking: a full stream drops the application's
 * datagrams and never stops the other direction.
 */
int
dg_stream(int fd, struct dg_local *local, int idle_ms)
{
	static struct dg_frames in, out;
	struct pollfd	       pfd[2] = {{fd, POLLIN, 0}, {local->fd, POLLIN, 0}};
	uint8_t		       d[DG_MAX];
	ssize_t		       n;
	int		       rv = 0;

	in.have = out.have = 0;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		pfd[0].events = POLLIN | (out.have > 0 ? POLLOUT : 0);
		if (poll(pfd, 2, idle_ms) <= 0)
			break;
		if ((pfd[0].revents & ~POLLOUT) &&
		    dg_frame_read(fd, &in, local) == -1)
			break;
		if ((pfd[1].revents & POLLIN) &&
		    (n = dg_local_recv(local, d, sizeof(d))) >= 0)
			dg_frame_queue(&out, d, (size_t)n);
		if (out.have > 0 && dg_frame_flush(fd, &out) == -1) {
			rv = -1;
			break;
		}
	}
	return rv;
}
