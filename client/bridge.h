/* What runs over a punched path; see bridge.c. */
#ifndef NATCLIENT_BRIDGE_H
#define NATCLIENT_BRIDGE_H

#include <stdint.h>

#include "datagram.h"
#include "natclient.h"

int bridge_stream(const struct client_opts *, int, const struct addr *, int);
int
bridge_datagrams(int, const struct addr *, const uint8_t *, struct dg_local *);

#endif
