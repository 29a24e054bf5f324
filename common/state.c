/*
 * The state segment is anonymous shared memory mapped by the master before
 * it forks, so every worker, also a respawned one, sees the same pages; a
 * worker needs no name or permission to reach it after dropping
 * privileges.  Slots are cache-line aligned so that workers never write
 * to one line.
 */
#include "config.h"

#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#include "state.h"

static const char *stat_names[STAT_MAX] = {
    [STAT_REQUESTS] = "requests",
    [STAT_REPLIES] = "replies",
    [STAT_ERRORS] = "errors",
    [STAT_DROP_JUNK] = "drops_junk",
    [STAT_DROP_RATELIMIT] = "drops_ratelimit",
    [STAT_DROP_SEND] = "drops_send",
    [STAT_TCP_ACCEPTED] = "tcp_accepted",
    [STAT_TCP_REFUSED] = "tcp_refused",
    [STAT_TIMEOUTS] = "timeouts",
    [STAT_PAIRED] = "paired",
    [STAT_DROP_MAIL] = "drops_mail",
    [STAT_COPIED] = "streams_copied",
    [STAT_LOCAL_REFUSED] = "visitors_refused_locally",
    [STAT_LOGINS_OK] = "relay_logins_ok",
    [STAT_LOGINS_FAILED] = "relay_logins_failed",
    [STAT_BYTES_IN] = "relayed_bytes_in",
    [STAT_BYTES_OUT] = "relayed_bytes_out",
    [STAT_NOMEM] = "out_of_memory",
    [STAT_LOG_HELD] = "log_lines_held",
    [STAT_BAD_SIG] = "bad_signatures",
    [STAT_POOL_HITS] = "relay_pool_hits",
    [STAT_TLS_RESUMED] = "tls_resumed",
    [STAT_VHOST_BAD] = "vhost_bad_requests",
    [STAT_VHOST_UNKNOWN] = "vhost_unknown_hosts",
    [STAT_VHOST_GONE] = "vhost_bad_gateway",
    [STAT_TURN_ALLOCATED] = "turn_allocations_made",
    [STAT_TURN_QUOTA] = "turn_allocations_over_quota",
    [STAT_TURN_CAPACITY] = "turn_allocations_no_capacity",
    [STAT_TURN_REFUSED] = "turn_allocations_refused",
    [STAT_TURN_AUTH_FAIL] = "turn_auth_failures",
    [STAT_TURN_DENIED] = "turn_peers_denied",
    [STAT_TURN_PKTS_OUT] = "turn_packets_to_peers",
    [STAT_TURN_PKTS_IN] = "turn_packets_from_peers",
    [STAT_TURN_BYTES_OUT] = "turn_bytes_to_peers",
    [STAT_TURN_BYTES_IN] = "turn_bytes_from_peers",
    [STAT_TURN_NO_PERM] = "turn_drops_no_permission",
    [STAT_TURN_OVER_BPS] = "turn_drops_over_bandwidth",
    [STAT_MUX_STREAMS] = "relay_mux_streams",
};

const char *
stat_name(int c)
{
	return c >= 0 && c < STAT_MAX ? stat_names[c] : "unknown";
}

static const char *gauge_names[GAUGE_MAX] = {
    [GAUGE_STREAMS] = "relay_streams",
    [GAUGE_EXPOSURES] = "relay_exposures",
    [GAUGE_POOLED] = "relay_pooled",
    [GAUGE_TURN] = "turn_allocations",
    [GAUGE_MUX] = "relay_mux_connections",
};

const char *
gauge_name(int g)
{
	return g >= 0 && g < GAUGE_MAX ? gauge_names[g] : "unknown";
}

/*
 * The entry for name among n, claimed when new; names past the room
 * share the last entry, named "".
 */
struct state_exposure *
state_exposure_find(struct state_exposure *v, int n, const char *name)
{
	int i;

	for (i = 0; i < n - 1; i++)
		if (strcmp(v[i].name, name) == 0 ||
		    (v[i].name[0] == '\0' && v[i].bytes[0] == 0 &&
			v[i].bytes[1] == 0 && v[i].visitors == 0))
			break;
	snprintf(v[i].name, sizeof(v[i].name), "%s", i == n - 1 ? "" : name);
	return &v[i];
}

/* The byte counters of exposure name in a worker's slot. */
uint64_t *
state_exposure_bytes(struct state_slot *slot, const char *name)
{
	return state_exposure_find(slot->expo, STATE_EXPOSURES_MAX, name)
	    ->bytes;
}

/* Map and lay out a segment for the given table. */
struct state *
state_create(const struct table_config *tc)
{
	size_t	      slots = STATE_SLOTS_MAX * sizeof(struct state_slot);
	struct state *st;
	void	     *p;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		fatal("state");
	st->len = slots + table_size(tc);
	p = mmap(NULL, st->len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("state: mmap %zu bytes", st->len);
	st->base = p;
	st->slots = p;
	if ((st->table = table_init((char *)p + slots, st->len - slots, tc)) ==
	    NULL)
		fatalx("state: cannot lay out the table");
	return st;
}
