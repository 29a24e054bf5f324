/*
 * The state segment is anonymous shared memory mapped by the master before
 * it forks, so every worker, also a respawned one, sees the same pages; a
 * worker needs no name or permission to reach it after dropping
 * privileges.  Slots are cache-line aligned so that workers never write
 * to one line.
 */
#include "config.h"

#include <sys/mman.h>
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
};

const char *
stat_name(int c)
{
	return c >= 0 && c < STAT_MAX ? stat_names[c] : "unknown";
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
