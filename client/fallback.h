/* Relay fallback for listen and connect; see fallback.c. */
#ifndef NATCLIENT_FALLBACK_H
#define NATCLIENT_FALLBACK_H

#include <stdint.h>

#include "named.h"
#include "natclient.h"

int
relay_fallback(const struct client_opts *, const uint8_t *, int, struct addr *);

#endif
