/* TCP simultaneous open (--tcp); see tcppunch.c. */
#ifndef NATCLIENT_TCPPUNCH_H
#define NATCLIENT_TCPPUNCH_H

#include <stdint.h>

#include "natclient.h"

int tcp_reusable(const struct client_opts *, const struct addr *, uint16_t);
int tcp_punch(const struct client_opts *, uint16_t, const struct addr *, int);
int tcp_accept_one(const struct client_opts *, const struct addr *, uint16_t,
    struct addr *, int);

#endif
