/*
 * A TLS connection joined to a plain socket, both non-blocking, both
 * directions at once with a record's worth of buffer each, held only
 * while it has bytes (thousands of idle connections hold none): the server
 * puts one in front of its relay and rendezvous connections, natclient
 * one behind its connections to them, so that the code on the plain
 * side never sees TLS.  The caller waits for what want_net and want_app
 * say (poll(2) events), tells which descriptor it saw readable
 * (tlspump_readable), and calls tlspump_run again.
 *
 * A source that a read found empty, or that gave a short read, is not
 * read again until the caller saw it readable (tlspump_readable).
 *
 * The end of one direction passes on as the end of the other: the plain
 * side's end becomes a TLS close_notify (TLS 1.3 lets the other
 * direction go on), close_notify a shutdown(SHUT_WR) of the plain side.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlspump.h"

/* "sha256:" and the hex of a certificate's SHA-256, as both sides say it. */
void
tlspump_fingerprint(X509 *x, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int  n = 0, i;
	size_t	      at;

	X509_digest(x, EVP_sha256(), md, &n);
	at = (size_t)snprintf(out, size, "sha256:");
	for (i = 0; i < n && at + 3 <= size; i++)
		at += (size_t)snprintf(out + at, size - at, "%02x", md[i]);
}

void
tlspump_init(struct tlspump *p, SSL *ssl, int net, int app)
{
	p->ssl = ssl;
	p->net = net;
	p->app = app;
	p->app_off = p->app_len = p->net_off = p->net_len = 0;
	p->net_eof = p->app_eof = p->shut_sent = p->app_shut = p->failed = 0;
	p->from_net = p->from_app = 0;
	p->net_dry = p->app_dry = 0;
	p->handshaken = SSL_is_init_finished(ssl);
	p->want_net = p->want_app = 0;
	p->to_app = p->to_net = NULL;
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A record in one read, not its header and then its body. */
	SSL_set_read_ahead(ssl, 1);
}

/* A direction's buffer, made when it is about to take bytes. */
static uint8_t *
tlspump_buf(struct tlspump *p, uint8_t **b)
{
	if (*b == NULL && (*b = malloc(TLSPUMP_BUF)) == NULL)
		p->failed = 1;
	return *b;
}

/* Its bytes are out and it waits: the buffer goes until the next. */
static void
tlspump_drop(uint8_t **b)
{
	free(*b);
	*b = NULL;
}

void
tlspump_free(struct tlspump *p)
{
	tlspump_drop(&p->to_app);
	tlspump_drop(&p->to_net);
}

/*
 * n more bytes for one direction (to_app: to the plain side), before
 * (front) or after what it holds: 0, or -1 without memory.  Only the
 * plain side's may go in front: an SSL_write that waits must be retried
 * with the bytes it began with.
 */
int
tlspump_queue(struct tlspump *p, int to_app, const void *b, size_t n,
    int front)
{
	uint8_t **buf = to_app ? &p->to_app : &p->to_net;
	size_t	 *off = to_app ? &p->app_off : &p->net_off;
	size_t	 *len = to_app ? &p->app_len : &p->net_len;
	size_t	  total = *len + n;
	uint8_t	 *nb;

	if (n == 0)
		return 0;
	if ((nb = malloc(total > TLSPUMP_BUF ? total : TLSPUMP_BUF)) == NULL)
		return -1;
	if (*len > 0)
		memcpy(nb + (front ? n : 0), *buf + *off, *len);
	memcpy(nb + (front ? 0 : *len), b, n);
	free(*buf);
	*buf = nb;
	*off = 0;
	*len = total;
	return 0;
}

/* What an SSL call that did not finish waits for; 0 when it failed. */
static short
tlspump_wait(struct tlspump *p, int rv)
{
	switch (SSL_get_error(p->ssl, rv)) {
	case SSL_ERROR_WANT_READ:
		return POLLIN;
	case SSL_ERROR_WANT_WRITE:
		return POLLOUT;
	case SSL_ERROR_ZERO_RETURN:
		p->net_eof = 1;
		return 0;
	default:
		ERR_clear_error();
		p->failed = 1;
		return 0;
	}
}

/* From the TLS side to the plain side: 1 when something moved. */
static int
tlspump_down(struct tlspump *p)
{
	int   moved = 0, n;
	short wait;

	while (!p->failed) {
		if (p->app_len > 0) {
			ssize_t w = send(p->app, p->to_app + p->app_off,
			    p->app_len, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (w == -1 && (errno == EAGAIN || errno == EINTR)) {
				p->want_app |= POLLOUT;
				return moved;
			}
			if (w == -1) {
				p->failed = 1;
				return moved;
			}
			p->app_off += (size_t)w;
			p->app_len -= (size_t)w;
			moved = 1;
			continue;
		}
		if (p->net_eof) {
			/* Its end passes on once its bytes are out. */
			if (!p->app_shut) {
				shutdown(p->app, SHUT_WR);
				p->app_shut = moved = 1;
			}
			return moved;
		}
		if (p->net_dry) {
			tlspump_drop(&p->to_app); /* empty: idle holds none */
			p->want_net |= POLLIN;
			return moved;
		}
		p->app_off = 0;
		if (tlspump_buf(p, &p->to_app) == NULL)
			return moved;
		n = SSL_read(p->ssl, p->to_app, TLSPUMP_BUF);
		if (n > 0) {
			p->app_len = (size_t)n;
			p->from_net += (size_t)n;
			/* Nothing more held by OpenSSL either. */
			p->net_dry = n < TLSPUMP_SHORT && !SSL_has_pending(p->ssl);
			moved = 1;
			continue;
		}
		tlspump_drop(&p->to_app);
		wait = tlspump_wait(p, n);
		p->want_net |= wait;
		p->net_dry = (wait & POLLIN) != 0;
		if (p->net_eof)
			moved = 1; /* the shutdown, in the next round */
		else
			return moved;
	}
	return moved;
}

/* From the plain side to the TLS side: 1 when something moved. */
static int
tlspump_up(struct tlspump *p)
{
	int moved = 0, n;

	while (!p->failed) {
		if (p->net_len > 0) {
			n = SSL_write(p->ssl, p->to_net + p->net_off,
			    (int)p->net_len);
			if (n <= 0) {
				p->want_net |= tlspump_wait(p, n);
				return moved;
			}
			p->net_off += (size_t)n;
			p->net_len -= (size_t)n;
			moved = 1;
			continue;
		}
		if (p->app_eof) {
			if (!p->shut_sent) {
				SSL_shutdown(p->ssl); /* close_notify */
				p->shut_sent = moved = 1;
			}
			return moved;
		}
		if (p->app_dry) {
			tlspump_drop(&p->to_net);
			p->want_app |= POLLIN;
			return moved;
		}
		p->net_off = 0;
		if (tlspump_buf(p, &p->to_net) == NULL)
			return moved;
		n = (int)recv(p->app, p->to_net, TLSPUMP_BUF, MSG_DONTWAIT);
		if (n > 0) {
			p->net_len = (size_t)n;
			p->from_app += (size_t)n;
			p->app_dry = n < TLSPUMP_SHORT;
			moved = 1;
			continue;
		}
		tlspump_drop(&p->to_net);
		if (n == 0) {
			p->app_eof = moved = 1;
		} else if (errno == EAGAIN || errno == EINTR) {
			p->want_app |= POLLIN;
			p->app_dry = 1;
			return moved;
		} else {
			p->failed = 1;
		}
	}
	return moved;
}

/* The caller saw fd readable: read it again. */
void
tlspump_readable(struct tlspump *p, int fd)
{
	if (fd == p->net)
		p->net_dry = 0;
	else if (fd == p->app)
		p->app_dry = 0;
}

/*
 * Move what can be moved now: 1 while the join goes on, 0 when both
 * directions ended, -1 when it failed (a TLS error, a reset).
 */
int
tlspump_run(struct tlspump *p)
{
	int rv;

	p->want_net = p->want_app = 0;
	if (!p->handshaken) {
		uint8_t b;
		ssize_t n = recv(p->app, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		/* The plain side may give up first (its deadline passed). */
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return -1;
		if ((rv = SSL_do_handshake(p->ssl)) != 1) {
			p->want_net = tlspump_wait(p, rv);
			/* Watch for that end, unless it has bytes waiting. */
			p->want_app = n == -1 ? POLLIN : 0;
			return p->failed || p->net_eof ? -1 : 1;
		}
		p->handshaken = 1;
	}
	while (tlspump_down(p) | tlspump_up(p))
		p->want_net = p->want_app = 0;
	if (p->failed)
		return -1;
	if (p->net_eof && p->app_shut && p->shut_sent)
		return 0;
	return 1;
}
