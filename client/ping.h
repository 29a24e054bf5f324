/* natclient ping over a sealed path; ping.c. */
#ifndef NATCLIENT_PING_H
#define NATCLIENT_PING_H

#include "natclient.h"
#include "secure.h"

int ping_run(const struct client_opts *, struct secure *, const char *,
    const char *, const char *);

#endif
