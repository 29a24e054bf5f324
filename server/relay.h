/*
 * The relay worker's parts: the first line of a connection to 8888
 * (relay.c), control connections and exposed ports (relay_ctl.c), and
 * joined sockets (relay_splice.c).
 */
#ifndef NATSERVER_RELAY_H
#define NATSERVER_RELAY_H

#include <stdint.h>

#include "conns.h"
#include "natserver.h"

#define RELAY_LINE_MAX 4096
#define RELAY_ID_LEN   16 /* bytes of a data connection id */

/* The record of a visitor waiting for its data connection. */
struct relay_wait {
	uint64_t visitor; /* connection id in the holding worker */
	uint16_t ordinal; /* the holding worker */
};

/* relay_ctl.c */
void relay_ctl_start(struct worker *, int, const char *, size_t,
    const struct addr *);
void relay_data_start(struct worker *, int, const char *);

/* relay_splice.c */
int splice_join(struct worker *, int, int, void (*)(void *), void *);
int splice_count(void);

#endif
