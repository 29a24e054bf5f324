/*
 * Many streams over one carrier connection, in an event loop: the
 * relay's visitors of a port over one data connection from the agent
 * (expose mux = yes), so that a visitor costs neither a new connection
 * to the relay nor a TLS handshake, and an idle one only its socket and
 * a few hundred bytes.  Frames in muxconn.h.
 *
 * Bounds.  Each side sends a stream at most MUXF_INFLIGHT bytes more
 * than the other has said it wrote out (WINDOW frames, sent every
 * MUXF_GRANT bytes), so a stream's socket that reads slowly holds up
 * that stream only, and what waits for it is bounded; a peer that
 * sends past a window has the stream reset.  A stream stops reading
 * its socket while the carrier's output holds MUXC_CARRIER_HIGH bytes
 * (queued in order, woken as it drains), so a slow carrier stalls the
 * readers, not memory.  The carrier is pinged every MUXC_PING_MS and
 * given up after MUXC_DEAD_MS of silence; a stream idle for idle_s is
 * reset.  A frame that cannot be (muxf_parse), or an OPEN from the
 * side that does not open, breaks the carrier: all its streams end.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "muxpriv.h"

#define MUXC_PING_MS	  15000
#define MUXC_DEAD_MS	  (3 * MUXC_PING_MS + 5000)

static void muxc_fail(struct muxc *, const char *);

static uint64_t
muxc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int64_t
muxc_now_ms(void)
{
	return (int64_t)(muxc_now_us() / 1000);
}

void
muxc_send(struct muxc *m, int kind, uint32_t id, const void *p, size_t n)
{
	uint8_t h[MUXF_HEAD];

	muxf_head(h, kind, id, n);
	evbuffer_add(evsock_output(m->sock), h, sizeof(h));
	if (n > 0)
		evbuffer_add(evsock_output(m->sock), p, n);
}

/* Calls in from the loop or the owner: the carrier is freed only once
 * the outermost returns. */
void
muxc_enter(struct muxc *m)
{
	m->busy++;
}

/* The carrier goes: its streams end, then its owner hears why. */
static void
muxc_destroy(struct muxc *m)
{
	struct muxc_stream *s;
	size_t		    i;

	m->busy = 1; /* an owner's muxc_free from here on is a no-op */
	m->doomed = 1;
	for (i = 0; i < m->streams.size; i++)
		if ((s = m->streams.slot[i].s) != NULL)
			muxc_stream_end(s, NULL, 0);
	m->ops->dead(m->arg, m->why != NULL ? m->why : "closed");
	muxf_table_free(&m->streams);
	event_free(m->tick);
	event_free(m->flush);
	evsock_free(m->sock);
	free(m);
}

static void muxc_wake(struct muxc *);

/*
 * The outermost call in returns: what it queued is written once the
 * loop has run this round's other callbacks (theirs go in the same
 * write), without waiting for the socket's write event.
 */
void
muxc_leave(struct muxc *m)
{
	if (--m->busy > 0)
		return;
	if (m->doomed)
		muxc_destroy(m);
	else if (!m->flushing &&
	    evbuffer_get_length(evsock_output(m->sock)) > 0) {
		m->flushing = 1;
		event_active(m->flush, EV_TIMEOUT, 0);
	}
}

/* The round's frames go; streams that waited for room read on while
 * the socket takes them.  What it does not take waits for the write
 * event. */
static void
muxc_flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct muxc *m = arg;

	(void)fd;
	(void)ev;
	m->flushing = 0;
	m->busy++;
	for (;;) {
		evsock_flush(m->sock);
		if (m->doomed || TAILQ_EMPTY(&m->blocked) ||
		    evbuffer_get_length(evsock_output(m->sock)) >=
			MUXC_CARRIER_HIGH)
			break;
		muxc_wake(m);
	}
	if (--m->busy == 0 && m->doomed)
		muxc_destroy(m);
}

/* The peer opens id: 0, or -1 when it may not (the carrier is broken). */
static int
muxc_opened(struct muxc *m, uint32_t id, size_t n)
{
	char		    meta[MUXF_META_MAX + 1];
	struct muxc_stream *s;

	evbuffer_remove(evsock_input(m->sock), meta, n);
	meta[n] = '\0';
	if (m->opener || id <= m->last_id)
		return -1;
	m->last_id = id;
	if ((s = muxc_stream_new(m, id, NULL)) == NULL)
		muxc_send(m, MUXF_RESET, id, "out of memory", 13);
	else
		m->ops->opened(m->arg, s, meta);
	return 0;
}

static void
muxc_ping(struct muxc *m, int kind, const uint8_t *b)
{
	uint64_t t = 0;
	int	 i;

	if (kind == MUXF_PING) {
		muxc_send(m, MUXF_PONG, 0, b, 8);
		return;
	}
	for (i = 0; i < 8; i++)
		t = t << 8 | b[i];
	if (t != m->ping_us || t == 0)
		return; /* not the echo of our last PING */
	m->rtt_us = (int64_t)(muxc_now_us() - t);
}

/* Frames from the peer, each whole one in the input. */
static void
muxc_read_cb(void *arg)
{
	struct muxc	   *m = arg;
	struct evbuffer	   *in = evsock_input(m->sock);
	struct muxc_stream *s;
	uint8_t		    h[MUXF_HEAD], b[8];
	uint32_t	    id;
	size_t		    n;
	int		    kind;

	muxc_enter(m);
	while (!m->doomed && evbuffer_copyout(in, h, sizeof(h)) ==
	    (ev_ssize_t)sizeof(h)) {
		if (muxf_parse(h, &kind, &id, &n) == -1) {
			muxc_fail(m, "a frame that cannot be");
			break;
		}
		if (evbuffer_get_length(in) < sizeof(h) + n)
			break;
		evbuffer_drain(in, sizeof(h));
		m->heard = muxc_now_ms();
		if (kind == MUXF_OPEN) {
			if (muxc_opened(m, id, n) == -1)
				muxc_fail(m, "an OPEN it may not send");
		} else if (kind == MUXF_PING || kind == MUXF_PONG) {
			evbuffer_remove(in, b, 8);
			muxc_ping(m, kind, b);
		} else if ((s = muxf_find(&m->streams, id)) != NULL)
			muxc_stream_frame(s, kind, n);
		else
			evbuffer_drain(in, n); /* a stream that ended */
	}
	muxc_leave(m);
}

/* The carrier has room: the streams that waited read on, in turn. */
static void
muxc_wake(struct muxc *m)
{
	struct muxc_stream *s;

	while (!m->doomed && (s = TAILQ_FIRST(&m->blocked)) != NULL &&
	    evbuffer_get_length(evsock_output(m->sock)) <
		MUXC_CARRIER_HIGH) {
		TAILQ_REMOVE(&m->blocked, s, waiting);
		s->blocked = 0;
		muxc_pump(s);
	}
}

static void
muxc_write_cb(void *arg)
{
	struct muxc *m = arg;

	muxc_enter(m);
	muxc_wake(m);
	muxc_leave(m);
}

static void
muxc_event_cb(void *arg, int what)
{
	struct muxc *m = arg;

	muxc_enter(m);
	muxc_fail(m, what == EVSOCK_EOF ? "the peer closed it"
					: "a socket error");
	muxc_leave(m);
}

static const struct evsock_cbs muxc_cbs = {muxc_read_cb, muxc_write_cb,
    muxc_event_cb};

/* Every second: a ping now and then, the silent carrier and the idle
 * streams given up. */
static void
muxc_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct muxc	   *m = arg;
	struct muxc_stream *s;
	int64_t		    now = muxc_now_ms();
	uint8_t		    b[8];
	uint64_t	    t;
	int		    i;

	(void)fd;
	(void)ev;
	muxc_enter(m);
	if (now - m->heard > MUXC_DEAD_MS)
		muxc_fail(m, "the peer was silent");
	else if (now - m->pinged >= MUXC_PING_MS) {
		t = m->ping_us = muxc_now_us();
		for (i = 7; i >= 0; i--, t >>= 8)
			b[i] = (uint8_t)t;
		muxc_send(m, MUXF_PING, 0, b, 8);
		m->pinged = now;
	}
	while (!m->doomed && (s = TAILQ_FIRST(&m->idle)) != NULL &&
	    now - s->last >= (int64_t)m->ops->idle_s * 1000)
		muxc_stream_end(s, NULL, 1);
	muxc_leave(m);
}

/*
 * A carrier over sock (connected; the carrier owns it), opener if this
 * side opens the streams; ops and arg say what its owner hears.  NULL
 * (sock freed) when out of memory.
 */
struct muxc *
muxc_new(struct event_base *base, struct evsock *sock,
    const struct muxc_ops *ops, void *arg, int opener)
{
	struct muxc   *m = calloc(1, sizeof(*m));
	struct timeval sec = {1, 0};

	if (m == NULL ||
	    (m->tick = event_new(base, -1, EV_PERSIST, muxc_tick_cb, m)) ==
		NULL ||
	    (m->flush = event_new(base, -1, 0, muxc_flush_cb, m)) == NULL) {
		if (m != NULL && m->tick != NULL)
			event_free(m->tick);
		free(m);
		evsock_free(sock);
		return NULL;
	}
	m->base = base;
	m->sock = sock;
	m->ops = ops;
	m->arg = arg;
	m->opener = opener;
	m->heard = m->pinged = muxc_now_ms();
	TAILQ_INIT(&m->idle);
	TAILQ_INIT(&m->blocked);
	evsock_setcb(sock, &muxc_cbs, m);
	evsock_low(sock, MUXC_CARRIER_HIGH / 2);
	evsock_reading(sock, 1);
	event_add(m->tick, &sec);
	return m;
}

/* The carrier broke: it goes once the calls in return. */
static void
muxc_fail(struct muxc *m, const char *why)
{
	if (!m->doomed) {
		m->doomed = 1;
		m->why = why;
	}
}

/* The owner ends the carrier: its streams end, then dead is called. */
void
muxc_free(struct muxc *m)
{
	if (m->busy > 0)
		m->doomed = 1;
	else
		muxc_destroy(m);
}

/* Streams open now. */
int
muxc_count(const struct muxc *m)
{
	return m->n;
}

/* The last ping's round trip, or 0. */
int64_t
muxc_rtt_us(const struct muxc *m)
{
	return m->rtt_us;
}
