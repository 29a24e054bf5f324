/*
 * The state segment shared by the master and its workers: a header, one
 * slot per worker (pid, heartbeat, counters) and the table.
 */
#ifndef NATKIT_STATE_H
#define NATKIT_STATE_H

#include <sys/types.h>
#include <stdint.h>

#include "table.h"

#define STATE_SLOTS_MAX 256

/* Per-worker counters; each worker writes only its own slot. */
enum stat_counter {
	STAT_REQUESTS,	     /* requests parsed */
	STAT_REPLIES,	     /* replies sent */
	STAT_ERRORS,	     /* requests answered with an error */
	STAT_DROP_JUNK,	     /* datagrams that were no request at all */
	STAT_DROP_RATELIMIT, /* requests refused by a rate limit */
	STAT_DROP_SEND,	     /* replies the kernel would not send */
	STAT_TCP_ACCEPTED,   /* connections accepted */
	STAT_TCP_REFUSED,    /* connections closed at once: over a limit */
	STAT_TIMEOUTS,	     /* connections closed for waiting too long */
	STAT_PAIRED,	     /* rendezvous pairs made */
	STAT_DROP_MAIL,	     /* messages between workers that were lost */
	STAT_COPIED,	     /* relayed directions copied, not spliced */
	STAT_LOCAL_REFUSED,  /* visitors whose client's service refused */
	STAT_LOGINS_OK,	     /* relay logins that passed */
	STAT_LOGINS_FAILED,  /* relay logins with a wrong token */
	STAT_BYTES_IN,	     /* relayed bytes, visitor to client */
	STAT_BYTES_OUT,	     /* relayed bytes, client to visitor */
	STAT_NOMEM,	     /* connections refused: no memory for them */
	STAT_LOG_HELD,	     /* log lines held back: their source said much */
	STAT_BAD_SIG,	     /* registrations whose signature failed */
	STAT_POOL_HITS,	     /* visitors handed to a ready data connection */
	STAT_TLS_RESUMED,    /* TLS handshakes that resumed a session */
	STAT_VHOST_BAD,	     /* virtual-host heads refused as malformed */
	STAT_VHOST_UNKNOWN,  /* virtual-host heads naming no exposed host */
	STAT_VHOST_GONE,     /* visitors of a known host answered 502/503 */
	STAT_TURN_ALLOCATED, /* TURN allocations made */
	STAT_TURN_QUOTA,     /* allocations refused: a quota or rate (486) */
	STAT_TURN_CAPACITY,  /* allocations refused: no room or port (508) */
	STAT_TURN_REFUSED,   /* allocations refused: a bad request (4xx) */
	STAT_TURN_AUTH_FAIL, /* requests with wrong or stale credentials */
	STAT_TURN_DENIED,    /* peer addresses refused (403) */
	STAT_TURN_PKTS_OUT,  /* datagrams relayed, client to peer */
	STAT_TURN_PKTS_IN,   /* datagrams relayed, peer to client */
	STAT_TURN_BYTES_OUT, /* their bytes */
	STAT_TURN_BYTES_IN,
	STAT_TURN_NO_PERM,   /* datagrams dropped: no permission or channel */
	STAT_TURN_OVER_BPS,  /* datagrams dropped: over turn.max_bps */
	STAT_MUX_STREAMS,    /* visitors as streams on a mux connection */
	STAT_MAX
};

/* Per-worker gauges: what it holds now. */
enum stat_gauge {
	GAUGE_STREAMS,	 /* relayed streams joined */
	GAUGE_EXPOSURES, /* exposed ports */
	GAUGE_POOLED,	 /* ready data connections in pools */
	GAUGE_TURN,	 /* TURN allocations */
	GAUGE_MUX,	 /* mux data connections (carriers) */
	GAUGE_MAX
};

/*
 * One named exposure's (or virtual host's) counters: bytes relayed
 * (index 0 in, 1 out), visitors, and visitors it failed.
 */
#define STATE_EXPOSURES_MAX 16 /* per worker; more share "" */
struct state_exposure {
	char	 name[64];
	uint64_t bytes[2];
	uint64_t visitors, errors;
	uint64_t requests; /* an HTTP virtual host's */
};

struct state_slot {
	pid_t	 pid;	       /* 0 when free */
	int	 kind;	       /* the worker kind, the master's enum */
	int64_t	 heartbeat_ms; /* table_now_ms() of the last beat */
	uint64_t counter[STAT_MAX];
	int64_t	 gauge[GAUGE_MAX];
	struct state_exposure expo[STATE_EXPOSURES_MAX];
} __attribute__((aligned(128)));

struct state {
	struct state_slot *slots;
	struct table	  *table;
	void		  *base;
	size_t		   len;
};

struct state *state_create(const struct table_config *);
const char   *stat_name(int);
const char   *gauge_name(int);
uint64_t     *state_exposure_bytes(struct state_slot *, const char *);
struct state_exposure *
state_exposure_find(struct state_exposure *, int, const char *);

#endif
