/*
 * The rendezvous worker's parts: N4 pairing and named sessions.
 */
#ifndef NATSERVER_RENDEZVOUS_H
#define NATSERVER_RENDEZVOUS_H

#include <stdint.h>

#include "conns.h"
#include "natserver.h"

/* rdv_n4.c */
void
rdv_n4_accept(struct worker *, struct listener *, int, const struct addr *);
void rdv_n4_dgram(struct worker *, struct listener *);

/* rdv_named.c */
void
rdv_named_accept(struct worker *, struct listener *, int, const struct addr *);
void rdv_named_dgram(struct worker *, struct listener *);

#endif
