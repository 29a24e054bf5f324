/*
 * A worker's registry of its connections, and mail between the workers
 * of one kind, addressed to connections (see conns.c).
 */
#ifndef NATSERVER_CONNS_H
#define NATSERVER_CONNS_H

#include <stdint.h>

#include "natserver.h"

#define MAIL_BODY 3072

enum wmail_type {
	MAIL_GONE = 1, /* the connection mail was for no longer exists */
	MAIL_N4_READY,
	MAIL_N4_PEERINFO,
	MAIL_CONNECT,	 /* a named connect, to the name's holder */
	MAIL_PUNCH,	 /* the punch message, to the connecting side */
	MAIL_RELAY_DATA, /* a relay data connection (with its fd) */
	MAIL_RELAY_MEET, /* a meeting partner's socket (relay fallback) */
	MAIL_RELAY_REFUSED, /* the client's local service refused a visitor */
	MAIL_RELAY_VHOST,   /* a virtual host's visitor (with its fd), to its port */
};

/* One message between workers of a kind, addressed to a connection. */
struct wmail {
	uint64_t to;
	uint64_t from; /* the connection that sent it, for an answer */
	uint16_t from_ordinal;
	uint16_t type;
	uint32_t len; /* of body */
	uint8_t	 body[MAIL_BODY];
};

/* Every connection of this worker starts with this. */
struct wconn {
	uint64_t id; /* generation << 32 | registry index */
	void (*mail)(struct wconn *, const struct wmail *, int);
};

void	      wconn_init(struct worker *, int);
int	      wconn_add(struct wconn *);
void	      wconn_remove(struct wconn *);
struct wconn *wconn_find(uint64_t);
int  wmail_send(struct worker *, int, uint64_t, uint16_t, const void *, size_t,
     uint64_t);
int  wmail_send_fd(struct worker *, int, uint64_t, uint16_t, const void *,
     size_t, int);
void wmail_start(struct worker *);

#endif
