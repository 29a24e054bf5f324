/*
 * Token buckets, one table record per (action, source IP).  Tokens are
 * kept in thousandths so that slow refill rates lose nothing to rounding.
 * A full bucket is the same as no bucket, so a record expires once it
 * would have refilled completely.
 */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "ratelimit.h"

#define RL_MILLI 1000

struct ratelimit_bucket {
	uint64_t tokens; /* thousandths of a request */
	int64_t	 last_ms;
};

struct ratelimit_req {
	const struct ratelimit_rule *rule;
	int64_t			     now;
	int			     allowed;
	int			     peek; /* only look: take nothing */
};

static enum table_action ratelimit_update_fn(void *, size_t *, int, void *);

/* Refill by the time passed, then take one token if there is one. */
static enum table_action
ratelimit_update_fn(void *val, size_t *vallen, int found, void *arg)
{
	struct ratelimit_req   *rq = arg;
	struct ratelimit_bucket b;
	uint64_t		cap = (uint64_t)rq->rule->burst * RL_MILLI;

	if (found && *vallen == sizeof(b)) {
		memcpy(&b, val, sizeof(b));
		if (rq->now > b.last_ms)
			b.tokens += (uint64_t)(rq->now - b.last_ms) *
			    rq->rule->per_minute * RL_MILLI / 60000;
		if (b.tokens > cap)
			b.tokens = cap;
	} else
		b.tokens = cap;
	b.last_ms = rq->now;
	rq->allowed = b.tokens >= RL_MILLI;
	if (rq->allowed && !rq->peek)
		b.tokens -= RL_MILLI;
	memcpy(val, &b, sizeof(b));
	*vallen = sizeof(b);
	return TABLE_STORE;
}

/*
 * Take one request from the bucket for key.  Returns 1 if allowed, 0 if
 * limited.  When the table has no room for the bucket the request is
 * refused: a flood must not buy itself an unlimited pass.
 */
static int
ratelimit_bucket(struct table *t, const void *key, size_t keylen,
    const struct ratelimit_rule *rule, int64_t now, int peek)
{
	struct ratelimit_req rq = {rule, now, 0, peek};
	int64_t		     ttl;

	if (rule->per_minute == 0 || rule->burst == 0)
		return rule->burst != 0;
	ttl = (int64_t)rule->burst * 60000 / rule->per_minute + 1;
	if (table_update(t, TABLE_KIND_BUCKET, key, keylen, ratelimit_update_fn,
		&rq, ttl, now) == -1)
		return 0;
	return rq.allowed;
}

int
ratelimit_take_key(struct table *t, const void *key, size_t keylen,
    const struct ratelimit_rule *rule, int64_t now)
{
	return ratelimit_bucket(t, key, keylen, rule, now, 0);
}

/*
 * The bucket for (action, source IP); the port is not part of it.  With
 * peek, only say whether a request would be allowed (for limits that
 * only failures spend, such as logins).
 */
static int
ratelimit_ip(struct table *t, int action, const struct sockaddr *sa,
    const struct ratelimit_rule *rule, int64_t now, int peek)
{
	uint8_t key[1 + 16];
	size_t	len = 1;

	key[0] = (uint8_t)action;
	if (sa->sa_family == AF_INET) {
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		len += 4;
	} else {
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    16);
		len += 16;
	}
	return ratelimit_bucket(t, key, len, rule, now, peek);
}

int
ratelimit_take(struct table *t, int action, const struct sockaddr *sa,
    const struct ratelimit_rule *rule, int64_t now)
{
	return ratelimit_ip(t, action, sa, rule, now, 0);
}

int
ratelimit_peek(struct table *t, int action, const struct sockaddr *sa,
    const struct ratelimit_rule *rule, int64_t now)
{
	return ratelimit_ip(t, action, sa, rule, now, 1);
}
