/* What runs over a sealed path; see bridge.c. */
#ifndef NATCLIENT_BRIDGE_H
#define NATCLIENT_BRIDGE_H

#include "datagram.h"
#include "secure.h"

int  bridge_stream(struct secure *);
void bridge_catch(void);
void bridge_release(void);
int  bridge_stopped(void);
void	bridge_ping(struct secure *);
int64_t bridge_pong(const uint8_t *, int);
void	bridge_stats(int64_t, uint64_t, uint64_t, int, uint64_t);
int bridge_datagrams(struct secure *, struct dg_local *);

#endif
