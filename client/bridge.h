/* What runs over a sealed path; see bridge.c. */
#ifndef NATCLIENT_BRIDGE_H
#define NATCLIENT_BRIDGE_H

#include "datagram.h"
#include "secure.h"

int bridge_stream(struct secure *);
int bridge_datagrams(struct secure *, struct dg_local *);

#endif
