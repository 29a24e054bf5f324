/*
 * Every path between two natclients is sealed here, whatever carries
 * it (path.c).  The connector starts a Noise XX handshake (noise.c;
 * XXpsk3 with --secret-file) whose prologue is the rendezvous session
 * id; each side's payload is its Ed25519 identity key, which must
 * convert to the X25519 static key the handshake proved, and which
 * the policy (keys.c) accepts or refuses.  Then every message is
 *
 *   4 | counter (8 bytes, big-endian) | ChaCha20-Poly1305(kind | data)
 *
 * with the first nine bytes as associated data and the counter as the
 * nonce.  On a stream (ENet, TCP) the counter must be the next one: a
 * lost, replayed, reordered or altered message ends the stream with an
 * integrity error.  Datagrams pass a replay window instead and a bad
 * one is dropped and counted.  Handshake messages are 1, 2, 3 and a
 * refusal 5; over UDP they are resent until answered.  The server and
 * the relay carry only these bytes and never hold a key.
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "secure.h"

#define SECURE_HS1	 1
#define SECURE_HS2	 2
#define SECURE_HS3	 3
#define SECURE_MSG	 4
#define SECURE_REFUSED	 5
#define SECURE_HEAD	 9 /* type and counter */
#define SECURE_RESEND_MS 400
#define SECURE_PROLOGUE	 "natkit-path-1"

static int
secure_put(struct secure *s, int type, const uint8_t *m, size_t n, int keep)
{
	uint8_t buf[NOISE_HS_MAX + 1];

	buf[0] = (uint8_t)type;
	memcpy(buf + 1, m, n);
	if (keep) {
		memcpy(s->last, buf, n + 1);
		s->last_len = n + 1;
		s->resend_at = client_now_ms() + SECURE_RESEND_MS;
	}
	/* Out at once: ENet would hold it, and a quick exit would lose it. */
	if (s->path->ops->send(s->path, buf, n + 1) == -1)
		return -1;
	return s->path->ops->flush(s->path);
}

static void
secure_refuse(struct secure *s)
{
	uint8_t no = 0;

	secure_put(s, SECURE_REFUSED, &no, 1, 0);
	s->path->ops->flush(s->path);
}

/* The peer's payload: its Ed25519 key, matching the proven X25519 one. */
static int
secure_identity(struct secure *s, const uint8_t *pl, int n,
    const struct secure_policy *pol)
{
	uint8_t x[32];

	if (n != 32 || crypto_sign_ed25519_pk_to_curve25519(x, pl) != 0 ||
	    sodium_memcmp(x, s->hs.rs, 32) != 0) {
		fprintf(stderr,
		    "natclient: the peer's identity key does not match its "
		    "handshake\n");
		return -1;
	}
	memcpy(s->peer, pl, 32);
	return pol->check(pol, s->peer);
}

/* The next handshake message of type want (resending ours): length. */
static int
secure_await(struct secure *s, int want, uint8_t *buf, size_t size,
    int64_t deadline)
{
	int n;

	for (;;) {
		if (client_now_ms() >= deadline) {
			fprintf(stderr,
			    "natclient: the peer did not finish the "
			    "handshake\n");
			return -1;
		}
		if (s->lossy && s->last_len > 0 &&
		    client_now_ms() >= s->resend_at) {
			s->path->ops->send(s->path, s->last, s->last_len);
			s->resend_at = client_now_ms() + SECURE_RESEND_MS;
		}
		/* What the carrier holds first (ENet reads ahead), then wait. */
		while ((n = s->path->ops->recv(s->path, buf, size)) > 0) {
			if (buf[0] == SECURE_REFUSED) {
				fprintf(stderr,
				    "natclient: the peer refused us (its "
				    "allow-list or secret does not match "
				    "ours)\n");
				return -1;
			}
			if (buf[0] == want)
				return n;
			/* A repeat of what we answered: answer again. */
			if (s->lossy && buf[0] == want - 2 && s->last_len > 0)
				s->path->ops->send(s->path, s->last,
				    s->last_len);
		}
		if (n == -1) {
			fprintf(stderr,
			    "natclient: the path closed during the "
			    "handshake\n");
			return -1;
		}
		if (path_wait(s->path, 50) == -1)
			return -1;
	}
}

static void
secure_prologue(const uint8_t *session, uint8_t *out)
{
	memcpy(out, SECURE_PROLOGUE, sizeof(SECURE_PROLOGUE) - 1);
	memcpy(out + sizeof(SECURE_PROLOGUE) - 1, session, 16);
}

/*
 * The handshake over path p as initiator (the connector) or responder,
 * bound to the 16-byte session id: 0, or -1 (said why on stderr, and
 * told the peer when it is the policy that refused).
 */
int
secure_handshake(struct secure *s, struct path *p, int initiator,
    const struct secure_policy *pol, const uint8_t *session, int timeout_ms)
{
	uint8_t prologue[sizeof(SECURE_PROLOGUE) - 1 + 16];
	uint8_t msg[NOISE_HS_MAX + 1], pl[NOISE_HS_MAX];
	int64_t deadline = client_now_ms() + timeout_ms;
	int	n, rv = -1;

	memset(s, 0, sizeof(*s));
	s->path = p;
	s->initiator = initiator;
	s->lossy = !p->ops->reliable;
#ifdef NATKIT_BENCH_PLAINTEXT
	s->plaintext = 1; /* a benchmark build only: see tests/bench */
#endif
	secure_prologue(session, prologue);
	if (noise_init(&s->hs, initiator, pol->x_sk,
		pol->has_psk ? pol->psk : NULL, prologue,
		sizeof(prologue)) == -1)
		return -1;
	if (initiator) {
		n = noise_write(&s->hs, NULL, 0, msg, sizeof(msg));
		if (secure_put(s, SECURE_HS1, msg, (size_t)n, 1) == -1 ||
		    (n = secure_await(s, SECURE_HS2, msg, sizeof(msg),
			 deadline)) == -1)
			goto out;
		if ((n = noise_read(&s->hs, msg + 1, (size_t)n - 1, pl,
			 sizeof(pl))) == -1) {
			fprintf(stderr, "natclient: the peer's handshake "
					"failed to verify\n");
			goto out;
		}
		if (secure_identity(s, pl, n, pol) == -1) {
			secure_refuse(s);
			goto out;
		}
		n = noise_write(&s->hs, pol->ed_pk, 32, msg, sizeof(msg));
		if (secure_put(s, SECURE_HS3, msg, (size_t)n, 1) == -1)
			goto out;
	} else {
		if ((n = secure_await(s, SECURE_HS1, msg, sizeof(msg),
			 deadline)) == -1)
			goto out;
		/* A secret on one side only: message 1 already differs. */
		if (noise_read(&s->hs, msg + 1, (size_t)n - 1, pl,
			sizeof(pl)) == -1) {
			fprintf(stderr,
			    "natclient: refused a peer whose handshake failed "
			    "(no secret, or another kind of handshake)\n");
			secure_refuse(s);
			goto out;
		}
		n = noise_write(&s->hs, pol->ed_pk, 32, msg, sizeof(msg));
		if (secure_put(s, SECURE_HS2, msg, (size_t)n, 1) == -1 ||
		    (n = secure_await(s, SECURE_HS3, msg, sizeof(msg),
			 deadline)) == -1)
			goto out;
		n = noise_read(&s->hs, msg + 1, (size_t)n - 1, pl, sizeof(pl));
		if (n == -1) {
			fprintf(stderr,
			    "natclient: refused a peer whose handshake failed "
			    "(a different secret, or tampering)\n");
			secure_refuse(s);
			goto out;
		}
		if (secure_identity(s, pl, n, pol) == -1) {
			secure_refuse(s);
			goto out;
		}
		s->last_len = 0;
	}
	noise_split(&s->hs, &s->tx, &s->rx);
	/* The responder confirms at once, so that UDP stops resending. */
	s->confirmed = !initiator || !s->lossy;
	if (!initiator && s->lossy)
		secure_send(s, SECURE_KEEPALIVE, NULL, 0);
	rv = 0;
out:
	sodium_memzero(&s->hs, sizeof(s->hs));
	return rv;
}

/* One message of kind with data (n bytes): 0, or -1 the path failed. */
int
secure_send(struct secure *s, int kind, const uint8_t *d, size_t n)
{
	uint8_t out[SECURE_HEAD + 1 + SECURE_DATA_MAX + NOISE_TAG];
	uint8_t pt[1 + SECURE_DATA_MAX];
	int	i, len;

	if (n > SECURE_DATA_MAX)
		return 0; /* a datagram too big to seal: lost, as UDP may */
	out[0] = SECURE_MSG;
	for (i = 0; i < 8; i++)
		out[1 + i] = (uint8_t)(s->tx.n >> (56 - 8 * i));
	pt[0] = (uint8_t)kind;
	memcpy(pt + 1, d, n);
	if (s->plaintext) {
		memcpy(out + SECURE_HEAD, pt, n + 1);
		len = (int)n + 1 + NOISE_TAG;
	} else
		len = noise_seal(&s->tx, s->tx.n, out, SECURE_HEAD, pt, n + 1,
		    out + SECURE_HEAD);
	s->tx.n++;
	return s->path->ops->send(s->path, out, SECURE_HEAD + (size_t)len);
}

/* Resend message 3 until the responder's first message shows it came. */
void
secure_tick(struct secure *s)
{
	if (!s->confirmed && s->last_len > 0 &&
	    client_now_ms() >= s->resend_at) {
		s->path->ops->send(s->path, s->last, s->last_len);
		s->resend_at = client_now_ms() + SECURE_RESEND_MS;
	}
}

/* A bad message: on a stream the end of it, on UDP a counted drop. */
static int
secure_bad(struct secure *s, const char *what)
{
	if (!s->lossy) {
		fprintf(stderr,
		    "natclient: integrity error: %s; the stream is ended\n",
		    what);
		return -1;
	}
	if (s->dropped++ == 0)
		fprintf(stderr,
		    "natclient: dropped a forged or replayed datagram (counted "
		    "from here on)\n");
	return SECURE_NONE;
}

/*
 * The next message: its data length with *kind set, SECURE_NONE when
 * none is waiting, or -1 at the end of the path or on an integrity
 * error (said so).
 */
int
secure_recv(struct secure *s, int *kind, uint8_t *buf, size_t size)
{
	uint8_t	 in[PATH_MSG_MAX], pt[PATH_MSG_MAX];
	uint64_t ctr = 0;
	int	 n, i, len;

	for (;;) {
		if ((n = s->path->ops->recv(s->path, in, sizeof(in))) <= 0)
			return n == 0 ? SECURE_NONE : -1;
		if (in[0] == SECURE_HS3 && s->lossy && !s->initiator) {
			/* Our confirmation was lost: confirm again. */
			secure_send(s, SECURE_KEEPALIVE, NULL, 0);
			continue;
		}
		if (in[0] == SECURE_REFUSED && !s->confirmed_by_data) {
			fprintf(stderr,
			    "natclient: the peer refused us (its allow-list or "
			    "secret does not match ours)\n");
			return -1;
		}
		if (in[0] != SECURE_MSG) {
			if (s->lossy)
				continue; /* a stray probe or handshake copy */
			return secure_bad(s, "a message out of place");
		}
		if (n < SECURE_HEAD + 1 + NOISE_TAG) {
			if ((n = secure_bad(s, "a short message")) == -1)
				return -1;
			continue;
		}
		for (i = 0; i < 8; i++)
			ctr = ctr << 8 | in[1 + i];
		if ((s->lossy && !replay_ok(&s->window, ctr)) ||
		    (!s->lossy && ctr != s->rx.n)) {
			if (secure_bad(s, "a message out of order") == -1)
				return -1;
			continue;
		}
		if (s->plaintext) {
			len = n - SECURE_HEAD - NOISE_TAG;
			memcpy(pt, in + SECURE_HEAD, (size_t)len);
		} else
			len = noise_open(&s->rx, ctr, in, SECURE_HEAD,
			    in + SECURE_HEAD, (size_t)n - SECURE_HEAD, pt);
		if (len < 1 || (size_t)len - 1 > size) {
			if (secure_bad(s, "a message that fails to "
					  "authenticate") == -1)
				return -1;
			continue;
		}
		if (s->lossy)
			replay_take(&s->window, ctr);
		s->rx.n = ctr + 1;
		s->confirmed = s->confirmed_by_data = 1;
		s->last_len = 0;
		*kind = pt[0];
		memcpy(buf, pt + 1, (size_t)len - 1);
		return len - 1;
	}
}

void
secure_wipe(struct secure *s)
{
	sodium_memzero(&s->tx, sizeof(s->tx));
	sodium_memzero(&s->rx, sizeof(s->rx));
}
