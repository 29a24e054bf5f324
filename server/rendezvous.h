/*
 * The rendezvous worker's parts: a registry of its connections, mail
 * between rendezvous workers, N4 pairing and named sessions.
 */
#ifndef NATSERVER_RENDEZVOUS_H
#define NATSERVER_RENDEZVOUS_H

#include <stdint.h>

#include "natserver.h"

#define RDV_MAIL_BODY 3072

enum rdv_mail_type {
	RDV_MAIL_GONE = 1, /* the connection mail was for no longer exists */
	RDV_MAIL_N4_READY,
	RDV_MAIL_N4_PEERINFO,
	RDV_MAIL_CONNECT, /* a named connect, to the name's holder */
	RDV_MAIL_PUNCH,	  /* the punch message, to the connecting side */
};

/* One message between rendezvous workers, addressed to a connection. */
struct rdv_mail {
	uint64_t to;
	uint64_t from; /* the connection that sent it, for an answer */
	uint16_t from_ordinal;
	uint16_t type;
	uint32_t len; /* of body */
	uint8_t	 body[RDV_MAIL_BODY];
};

/* Every connection of this worker starts with this. */
struct rdv_conn {
	uint64_t id; /* generation << 32 | registry index */
	void (*mail)(struct rdv_conn *, const struct rdv_mail *);
};

void		 rdv_conn_init(struct worker *);
int		 rdv_conn_add(struct rdv_conn *);
void		 rdv_conn_remove(struct rdv_conn *);
struct rdv_conn *rdv_conn_find(uint64_t);
int  rdv_mail_send(struct worker *, int, uint64_t, uint16_t, const void *,
     size_t, uint64_t);
void rdv_mail_start(struct worker *);

/* rdv_n4.c */
void
rdv_n4_accept(struct worker *, struct listener *, int, const struct addr *);
void rdv_n4_dgram(struct worker *, struct listener *);

/* rdv_named.c */
void
rdv_named_accept(struct worker *, struct listener *, int, const struct addr *);
void rdv_named_dgram(struct worker *, struct listener *);

#endif
