/*
 * Many streams over one connection in an event loop: the relay's
 * visitors over one data connection from the agent (expose mux = yes).
 * muxconn.c runs a carrier, muxstream.c its streams; muxframe.c has
 * the frames and the table of streams by id.
 */
#ifndef NATKIT_MUXCONN_H
#define NATKIT_MUXCONN_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A frame: kind (1 byte), stream id (4, big-endian), payload length
 * (3, big-endian), payload.  The opening side numbers its streams from
 * 1 up and never reuses a number on a carrier; id 0 is the carrier's.
 */
#define MUXF_HEAD	  8
#define MUXF_CHUNK	  MUXF_INFLIGHT /* bytes of a DATA frame, at most */
#define MUXF_META_MAX	  256	/* of an OPEN frame: "visitor to" */
#define MUXF_REASON_MAX	  200	/* of a RESET frame */
#define MUXF_INFLIGHT	  (256 * 1024) /* a stream's bytes in flight */
#define MUXF_GRANT	  (MUXF_INFLIGHT / 4) /* written out before we say */

enum muxf_kind {
	MUXF_OPEN = 1,	/* meta: a new stream, opened by the opener only */
	MUXF_DATA,	/* bytes for the stream's socket */
	MUXF_EOF,	/* that direction ended: shutdown(SHUT_WR) */
	MUXF_RESET,	/* the stream is gone, both ways; reason, or none */
	MUXF_WINDOW,	/* 4 bytes: that many more were written out */
	MUXF_PING,	/* id 0; 8 bytes, echoed in a PONG */
	MUXF_PONG,
};

struct evsock;
struct muxc;
struct muxc_stream;

/* What a carrier's owner hears (marg: the carrier's, sarg: a stream's). */
struct muxc_ops {
	int idle_s;	/* a stream idle this long is reset; 0: never */
	/* The peer opened stream s (the accepting side only): the owner
	 * names its arg (muxc_set_arg; NULL till then), and attaches a
	 * socket (muxc_attach) or resets it, now or later. */
	void (*opened)(void *marg, struct muxc_stream *s, const char *meta);
	void (*moved)(void *sarg, int dir, size_t n); /* 0: to the peer */
	/* s ended (one its owner named: arg not NULL); reason is the
	 * peer's RESET text, or NULL. */
	void (*ended)(void *sarg, const char *reason);
	/* The carrier is gone, after its streams (muxc_free, or it broke):
	 * called once, last. */
	void (*dead)(void *marg, const char *why);
};

struct muxc *muxc_new(struct event_base *, struct evsock *,
    const struct muxc_ops *, void *, int);
void	     muxc_free(struct muxc *);
int	     muxc_count(const struct muxc *);
int64_t	     muxc_rtt_us(const struct muxc *);
struct muxc_stream *muxc_open(struct muxc *, struct evsock *,
    const char *, void *);
void	     muxc_set_arg(struct muxc_stream *, void *);
void	     muxc_attach(struct muxc_stream *, struct evsock *);
void	     muxc_reset(struct muxc_stream *, const char *);

/* muxframe.c: frames, and a carrier's streams by id. */
struct muxf_entry {
	uint32_t id;	/* 0: empty */
	int	 gone;	/* a removed one's place, kept for probing */
	void	*s;
};

struct muxf_table {
	struct muxf_entry *slot; /* open addressing, a power of 2 */
	size_t		   size, used, gone;
};

void   muxf_head(uint8_t *, int, uint32_t, size_t);
int    muxf_parse(const uint8_t *, int *, uint32_t *, size_t *);
void  *muxf_find(const struct muxf_table *, uint32_t);
int    muxf_add(struct muxf_table *, uint32_t, void *);
void   muxf_remove(struct muxf_table *, uint32_t);
void   muxf_table_free(struct muxf_table *);

#endif
