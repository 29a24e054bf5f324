/* Sealing every path to the peer; see secure.c. */
#ifndef NATCLIENT_SECURE_H
#define NATCLIENT_SECURE_H

#include "noise.h"
#include "path.h"
#include "replay.h"

#define SECURE_CHUNK 16384 /* stream bytes per sealed message */
#define SECURE_NONE  (-2)  /* secure_recv: nothing now */
/* The largest datagram sealed: an IPv4 UDP payload less our 26 bytes. */
#define SECURE_DATA_MAX (65507 - 26)

enum secure_kind {
	SECURE_DATA = 0,
	SECURE_EOF = 1,	      /* the end of a stream's direction */
	SECURE_KEEPALIVE = 2, /* datagram mode: holds the path open */
	SECURE_BYE = 3,	      /* datagram mode: the peer is leaving */
	SECURE_PING = 4,      /* natclient ping: answered with a pong */
	SECURE_PONG = 5,      /* a ping's bytes, back */
	/* TCP connections over the path (mux.c): */
	SECURE_MUX_OPEN = 6,
	SECURE_MUX_DATA = 7,
	SECURE_MUX_EOF = 8,
	SECURE_MUX_RESET = 9,
	SECURE_MUX_WINDOW = 10,
};

/* Who we are and whom we accept (keys.c fills it). */
struct secure_policy {
	uint8_t	    ed_pk[32], x_sk[32]; /* our identity */
	uint8_t	    psk[32];
	int	    has_psk;
	/* The peer's key (Ed25519): 0 to go on, -1 refused (said why). */
	int (*check)(const struct secure_policy *, const uint8_t *);
	const struct client_opts *o;
	const char		 *name; /* the rendezvous name */
};

struct secure {
	struct path	   *path;
	int		    initiator, lossy, confirmed;
	int		    confirmed_by_data; /* a sealed message came */
	struct noise_hs	    hs;
	struct noise_cipher tx, rx;
	struct replay	    window;
	uint8_t		    last[NOISE_HS_MAX + 1]; /* to resend, lossy */
	size_t		    last_len;
	int64_t		    resend_at;
	uint8_t		    peer[32]; /* the peer's Ed25519 key */
	uint64_t	    dropped;  /* forged or replayed datagrams */
	int		    plaintext; /* the benchmark's switch */
};

int secure_handshake(struct secure *, struct path *, int,
    const struct secure_policy *, const uint8_t *, int);
int secure_send(struct secure *, int, const uint8_t *, size_t);
int secure_recv(struct secure *, int *, uint8_t *, size_t);
void secure_tick(struct secure *);
void secure_wipe(struct secure *);

#endif
