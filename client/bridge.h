/* What runs over a punched path; see bridge.c. */
#ifndef NATCLIENT_BRIDGE_H
#define NATCLIENT_BRIDGE_H

#include <stdint.h>

#include "natclient.h"

int bridge_stream(const struct client_opts *, int, const struct addr *, int);
int bridge_datagrams(const struct client_opts *, int, const struct addr *,
    const uint8_t *, int, const struct addr *);

#endif
