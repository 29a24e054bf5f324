/*
 * The streams of a carrier (muxconn.c): each a socket of the owner's,
 * its bytes framed to the peer as far as its credit goes (and read on
 * only then), the peer's written to it, straight from the carrier's
 * input when nothing waits before them; a WINDOW back every MUXF_GRANT
 * written out; EOF passed on each way once all before it went.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "muxpriv.h"

static void
muxc_send_u32(struct muxc *m, int kind, uint32_t id, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v};

	muxc_send(m, kind, id, b, sizeof(b));
}

/* The stream had bytes: the last to be reset for idleness. */
static void
muxc_touch(struct muxc_stream *s)
{
	struct muxc *m = s->m;

	if (m->ops->idle_s == 0)
		return;
	s->last = muxc_now_ms();
	TAILQ_REMOVE(&m->idle, s, idle);
	TAILQ_INSERT_TAIL(&m->idle, s, idle);
}

/*
 * A stream ends: its socket closed, the owner told (reason: the peer's
 * RESET text, or NULL); tell says a RESET goes to the peer first.
 */
void
muxc_stream_end(struct muxc_stream *s, const char *reason, int tell)
{
	struct muxc *m = s->m;

	if (tell)
		muxc_send(m, MUXF_RESET, s->id, NULL, 0);
	muxf_remove(&m->streams, s->id);
	if (m->ops->idle_s != 0)
		TAILQ_REMOVE(&m->idle, s, idle);
	if (s->blocked)
		TAILQ_REMOVE(&m->blocked, s, waiting);
	if (s->sock != NULL) {
		evbuffer_remove_cb_entry(evsock_output(s->sock), s->drain);
		evsock_free(s->sock);
	}
	if (s->early != NULL)
		evbuffer_free(s->early);
	m->n--;
	if (s->arg != NULL) /* the owner named it, so it hears */
		m->ops->ended(s->arg, reason);
	free(s);
}

/* Both ways ended: the stream is done. */
static void
muxc_maybe_done(struct muxc_stream *s)
{
	if (s->eof_sent && s->shut)
		muxc_stream_end(s, NULL, 0);
}

/* The peer's bytes were all written out and it ended: pass that on. */
static void
muxc_flushed(struct muxc_stream *s)
{
	if (s->sock == NULL || !s->peer_eof || s->shut ||
	    evbuffer_get_length(evsock_output(s->sock)) > 0)
		return;
	shutdown(evsock_fd(s->sock), SHUT_WR);
	s->shut = 1;
	muxc_maybe_done(s);
}

/*
 * Send what the stream's socket gave, as far as its credit and the
 * carrier's room go; read on only when all of it went.
 */
void
muxc_pump(struct muxc_stream *s)
{
	struct muxc	*m = s->m;
	struct evbuffer *in = evsock_input(s->sock);
	struct evbuffer *out = evsock_output(m->sock);
	uint8_t		 h[MUXF_HEAD];
	size_t		 len, n;

	while ((len = evbuffer_get_length(in)) > 0 && s->credit > 0) {
		if (evbuffer_get_length(out) >= MUXC_CARRIER_HIGH) {
			if (!s->blocked) {
				s->blocked = 1;
				TAILQ_INSERT_TAIL(&m->blocked, s, waiting);
			}
			break;
		}
		n = len < s->credit ? len : s->credit;
		if (n > MUXF_CHUNK)
			n = MUXF_CHUNK;
		muxf_head(h, MUXF_DATA, s->id, n);
		evbuffer_add(out, h, sizeof(h));
		evbuffer_remove_buffer(in, out, n);
		s->credit -= (uint32_t)n;
		if (s->arg != NULL)
			m->ops->moved(s->arg, 0, n);
		muxc_touch(s);
	}
	evsock_reading(s->sock, len == 0 && !s->local_eof);
	if (len == 0 && s->local_eof && !s->eof_sent) {
		muxc_send(m, MUXF_EOF, s->id, NULL, 0);
		s->eof_sent = 1;
		muxc_maybe_done(s);
	}
}

static void
muxc_stream_read_cb(void *arg)
{
	struct muxc_stream *s = arg;
	struct muxc	   *m = s->m;

	muxc_enter(m);
	if (!s->blocked)
		muxc_pump(s);
	muxc_leave(m);
}

static void
muxc_stream_write_cb(void *arg)
{
	struct muxc_stream *s = arg;
	struct muxc	   *m = s->m;

	muxc_enter(m);
	muxc_flushed(s);
	muxc_leave(m);
}

static void
muxc_stream_event_cb(void *arg, int what)
{
	struct muxc_stream *s = arg;
	struct muxc	   *m = s->m;

	muxc_enter(m);
	if (what == EVSOCK_ERROR)
		muxc_stream_end(s, NULL, 1);
	else {
		s->local_eof = 1;
		if (!s->blocked)
			muxc_pump(s);
	}
	muxc_leave(m);
}

/* n of the peer's bytes were written out: said back every MUXF_GRANT. */
static void
muxc_written(struct muxc_stream *s, size_t n)
{
	s->drained += (uint32_t)n;
	if (s->drained >= MUXF_GRANT) {
		muxc_send_u32(s->m, MUXF_WINDOW, s->id, s->drained);
		s->owed -= s->drained;
		s->drained = 0;
	}
}

/* Bytes left the stream's output: the peer's, but for what was queued
 * before it was attached (a PROXY header). */
static void
muxc_drain_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct muxc_stream *s = arg;
	size_t		    n = info->n_deleted;

	(void)buf;
	if (n == 0)
		return;
	if (s->skip > 0) {
		size_t k = n < s->skip ? n : s->skip;

		s->skip -= k;
		n -= k;
	}
	muxc_written(s, n);
}

/*
 * n bytes at the head of the carrier's input for stream s: written to
 * its socket at once when nothing waits before them (no copy, no round
 * of the loop), the rest queued; -1 when the socket failed.
 */
static int
muxc_deliver(struct muxc_stream *s, struct evbuffer *in, size_t n)
{
	struct evbuffer *out = evsock_output(s->sock);
	int		 w = 0;

	if (evbuffer_get_length(out) == 0) {
		if ((w = evbuffer_write_atmost(in, evsock_fd(s->sock),
			 (ev_ssize_t)n)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				return -1;
			w = 0;
		}
		muxc_written(s, (size_t)w);
	}
	if ((size_t)w < n)
		evbuffer_remove_buffer(in, out, n - (size_t)w);
	return 0;
}

struct muxc_stream *
muxc_stream_new(struct muxc *m, uint32_t id, void *arg)
{
	struct muxc_stream *s = calloc(1, sizeof(*s));

	if (s == NULL || muxf_add(&m->streams, id, s) == -1) {
		free(s);
		return NULL;
	}
	s->m = m;
	s->id = id;
	s->arg = arg;
	s->credit = MUXF_INFLIGHT;
	s->last = muxc_now_ms();
	if (m->ops->idle_s != 0)
		TAILQ_INSERT_TAIL(&m->idle, s, idle);
	m->n++;
	return s;
}

static const struct evsock_cbs muxc_stream_cbs = {muxc_stream_read_cb,
    muxc_stream_write_cb, muxc_stream_event_cb};

/* The stream's socket: what waited for it first, then both ways. */
static int
muxc_stream_bind(struct muxc_stream *s, struct evsock *sock)
{
	struct evbuffer *out = evsock_output(sock);

	if ((s->drain = evbuffer_add_cb(out, muxc_drain_cb, s)) == NULL)
		return -1;
	s->sock = sock;
	s->skip = evbuffer_get_length(out);
	if (s->early != NULL) {
		evbuffer_add_buffer(out, s->early);
		evbuffer_free(s->early);
		s->early = NULL;
	}
	evsock_setcb(sock, &muxc_stream_cbs, s);
	evsock_reading(sock, 1);
	return 0;
}

/*
 * A new stream to the peer for sock (which it owns from now, and frees
 * at its end), meta in its OPEN (NUL-terminated); arg is what the
 * owner hears of it.  NULL (sock freed) when out of memory.
 */
struct muxc_stream *
muxc_open(struct muxc *m, struct evsock *sock, const char *meta, void *arg)
{
	struct muxc_stream *s;
	size_t		    n = strlen(meta);

	if (n > MUXF_META_MAX || m->doomed ||
	    (s = muxc_stream_new(m, m->last_id + 1, NULL)) == NULL) {
		evsock_free(sock);
		return NULL;
	}
	m->last_id++;
	muxc_enter(m);
	if (muxc_stream_bind(s, sock) == -1) {
		evsock_free(sock);
		muxc_stream_end(s, NULL, 0); /* unnamed: the owner hears not */
		s = NULL;
	} else {
		s->arg = arg;
		muxc_send(m, MUXF_OPEN, s->id, meta, n);
	}
	muxc_leave(m);
	return s;
}

/* What the owner hears of s (an opened one's is NULL until set). */
void
muxc_set_arg(struct muxc_stream *s, void *arg)
{
	s->arg = arg;
}

/* The accepting side's socket for stream s (opened); s owns it now. */
void
muxc_attach(struct muxc_stream *s, struct evsock *sock)
{
	struct muxc *m = s->m;

	muxc_enter(m);
	if (muxc_stream_bind(s, sock) == -1) {
		evsock_free(sock);
		muxc_stream_end(s, NULL, 1);
	} else {
		muxc_pump(s);
		muxc_flushed(s);
	}
	muxc_leave(m);
}

/* The owner ends s; the peer hears reason (or nothing) in the RESET. */
void
muxc_reset(struct muxc_stream *s, const char *reason)
{
	struct muxc *m = s->m;
	size_t	     n = reason != NULL ? strlen(reason) : 0;

	muxc_enter(m);
	muxc_send(m, MUXF_RESET, s->id, reason,
	    n > MUXF_REASON_MAX ? MUXF_REASON_MAX : n);
	muxc_stream_end(s, NULL, 0);
	muxc_leave(m);
}

/* A frame for stream s (payload n bytes at the carrier's input head). */
void
muxc_stream_frame(struct muxc_stream *s, int kind, size_t n)
{
	struct muxc	*m = s->m;
	struct evbuffer *in = evsock_input(m->sock);
	uint8_t		 b[MUXF_REASON_MAX + 1];
	uint32_t	 v;

	switch (kind) {
	case MUXF_DATA:
		if (s->peer_eof || s->owed + n > MUXF_INFLIGHT) {
			evbuffer_drain(in, n);
			muxc_stream_end(s, NULL, 1); /* it broke the rules */
			return;
		}
		if (s->sock == NULL && s->early == NULL &&
		    (s->early = evbuffer_new()) == NULL) {
			evbuffer_drain(in, n);
			muxc_stream_end(s, NULL, 1);
			return;
		}
		s->owed += (uint32_t)n;
		if (s->arg != NULL)
			m->ops->moved(s->arg, 1, n);
		muxc_touch(s);
		if (s->sock == NULL)
			evbuffer_remove_buffer(in, s->early, n);
		else if (muxc_deliver(s, in, n) == -1) {
			evbuffer_drain(in, n);
			muxc_stream_end(s, NULL, 1);
		}
		return;
	case MUXF_EOF:
		s->peer_eof = 1;
		muxc_flushed(s);
		return;
	case MUXF_RESET:
		evbuffer_remove(in, b, n);
		b[n] = '\0';
		muxc_stream_end(s, n > 0 ? (const char *)b : "", 0);
		return;
	case MUXF_WINDOW:
		evbuffer_remove(in, b, 4);
		v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		s->credit = v > MUXF_INFLIGHT - s->credit ? MUXF_INFLIGHT
							: s->credit + v;
		if (s->sock != NULL && !s->blocked)
			muxc_pump(s);
		return;
	}
}

