/* TCP connections multiplexed over one sealed path; see mux.c. */
#ifndef NATCLIENT_MUX_H
#define NATCLIENT_MUX_H

#include <stdint.h>

#include "natclient.h"
#include "secure.h"

#define MUX_STREAMS_MAX 128 /* TCP connections at once over one path */

/* What the agent's status shows of a forwarding path. */
struct mux_stats {
	uint64_t streams_total, refused;
	uint64_t bytes_in, bytes_out; /* from the peer; to it */
	int64_t	 rtt_us;	      /* the last ping's, or 0 */
};

int bridge_tcp(struct secure *, const struct client_opts *, int,
    const struct addr *, struct mux_stats *);
int mux_listen(const struct client_opts *, int);

#endif
