/* Token-bucket rate limits kept in the shared table. */
#ifndef NATKIT_RATELIMIT_H
#define NATKIT_RATELIMIT_H

#include <sys/socket.h>
#include <stdint.h>

#include "table.h"

/* What is being limited; part of the bucket's key. */
enum ratelimit_action {
	RL_FEDERATION = 1,  /* //tcksvr registrations */
	RL_REGISTER,	    /* tracker group registrations */
	RL_CONNECT,	    /* rendezvous connect attempts */
	RL_RELAY_AUTH_FAIL, /* failed relay logins */
	RL_RELAY_CONN,	    /* new relay connections */
	RL_NAMED_REGISTER,  /* named registrations */
	RL_NAMED_LIST,	    /* named list requests */
	RL_LOG,		    /* log lines about one source */
	RL_TURN_ALLOCATE,   /* TURN Allocate requests */
};

struct ratelimit_rule {
	uint32_t burst;	     /* bucket size, in requests */
	uint32_t per_minute; /* refill rate */
};

int ratelimit_take(struct table *, int, const struct sockaddr *,
    const struct ratelimit_rule *, int64_t);
int ratelimit_peek(struct table *, int, const struct sockaddr *,
    const struct ratelimit_rule *, int64_t);
int ratelimit_take_key(struct table *, const void *, size_t,
    const struct ratelimit_rule *, int64_t);

#endif
