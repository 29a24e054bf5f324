/*
 * What muxconn.c (the carrier) and muxstream.c (its streams) share;
 * nothing else includes it.
 */
#ifndef NATKIT_MUXPRIV_H
#define NATKIT_MUXPRIV_H

#include <sys/queue.h>
#include <event2/buffer.h>
#include <stdint.h>

#include "evsock.h"
#include "muxconn.h"

#define MUXC_CARRIER_HIGH (1024 * 1024)

struct muxc_stream {
	struct muxc	   *m;
	uint32_t	    id;
	struct evsock	   *sock;  /* its socket; NULL until attached */
	struct evbuffer	   *early; /* the peer's bytes before that */
	struct evbuffer_cb_entry *drain;
	void		   *arg;
	uint32_t	    credit;  /* bytes we may still send */
	uint32_t	    owed;    /* the peer's bytes taken, not granted back */
	uint32_t	    drained; /* written out since our last WINDOW */
	size_t		    skip;    /* bytes queued before attach: not owed */
	unsigned	    local_eof:1, eof_sent:1, peer_eof:1, shut:1,
			    blocked:1;
	int64_t		    last;    /* ms of its last bytes */
	TAILQ_ENTRY(muxc_stream) idle;	  /* by last, oldest first */
	TAILQ_ENTRY(muxc_stream) waiting; /* for room in the carrier */
};

TAILQ_HEAD(muxc_streams, muxc_stream);

struct muxc {
	struct event_base     *base;
	struct evsock	      *sock;
	const struct muxc_ops *ops;
	void		      *arg;
	int		       opener;
	uint32_t	       last_id; /* given (opener), or seen */
	struct muxf_table      streams;
	int		       n;
	struct muxc_streams    idle, blocked;
	struct event	      *tick;
	struct event	      *flush; /* activated: write at the round's end */
	int64_t		       heard, pinged, rtt_us;
	uint64_t	       ping_us; /* what our last PING said */
	int		       busy, doomed, flushing;
	const char	      *why; /* doomed: what the owner hears */
};

int64_t muxc_now_ms(void);
void	muxc_send(struct muxc *, int, uint32_t, const void *, size_t);
void	muxc_enter(struct muxc *);
void	muxc_leave(struct muxc *);

/* muxstream.c */
struct muxc_stream *muxc_stream_new(struct muxc *, uint32_t, void *);
void muxc_stream_end(struct muxc_stream *, const char *, int);
void muxc_stream_frame(struct muxc_stream *, int, size_t);
void muxc_pump(struct muxc_stream *);

#endif
