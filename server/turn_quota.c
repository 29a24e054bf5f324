/*
 * TURN quotas across the tracker workers.  A user's allocations may be
 * spread over every worker (SO_REUSEPORT spreads client ports), so each
 * user has a record in the shared table: a count per worker, tagged
 * with the worker's pid.  A count whose pid is no live tracker (a worker
 * that died, with its allocations) is not added up and its entry is
 * taken again.  The total of all users is the sum of the workers'
 * GAUGE_TURN.
 */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "table.h"
#include "turn.h"

#define TURN_QUOTA_ENTRIES 20 /* workers counted per user: 160 bytes */
#define TURN_QUOTA_TTL_MS  (7 * 86400 * 1000LL) /* renewed by each change */

struct turn_quota_rec {
	struct {
		int32_t pid;
		int32_t n;
	} e[TURN_QUOTA_ENTRIES];
};

struct turn_quota_op {
	struct worker *w;
	int	       delta;
	int	       total; /* out: the user's allocations, live workers */
};

/* Is pid a tracker worker that runs now? */
static int
turn_quota_live(struct worker *w, int32_t pid)
{
	int i;

	if (pid == 0)
		return 0;
	for (i = 0; i < STATE_SLOTS_MAX; i++)
		if (w->state->slots[i].pid == pid &&
		    w->state->slots[i].kind == WORKER_TRACKER)
			return 1;
	return 0;
}

static enum table_action
turn_quota_fn(void *val, size_t *len, int found, void *arg)
{
	struct turn_quota_op *op = arg;
	struct turn_quota_rec r;
	int32_t		      me = (int32_t)op->w->slot->pid;
	int		      i, mine = -1, room = -1;

	memset(&r, 0, sizeof(r));
	if (found && *len == sizeof(r))
		memcpy(&r, val, sizeof(r));
	op->total = 0;
	for (i = 0; i < TURN_QUOTA_ENTRIES; i++) {
		if (r.e[i].pid == me)
			mine = i;
		else if (turn_quota_live(op->w, r.e[i].pid))
			op->total += r.e[i].n;
		else if (room == -1)
			room = i;
	}
	if (op->delta == 0 && mine == -1)
		return TABLE_KEEP;
	if (mine == -1)
		mine = room;
	if (mine == -1)
		return TABLE_KEEP; /* more workers than entries: not counted */
	r.e[mine].pid = me;
	r.e[mine].n += op->delta;
	if (r.e[mine].n < 0)
		r.e[mine].n = 0;
	op->total += r.e[mine].n;
	memcpy(val, &r, sizeof(r));
	*len = sizeof(r);
	return op->total == 0 ? TABLE_DELETE : TABLE_STORE;
}

/* Change (delta != 0) or read a user's count; the total after. */
static int
turn_quota_op(struct worker *w, const char *user, int delta)
{
	struct turn_quota_op op = {w, delta, 0};
	uint8_t		     key[32];

	crypto_generichash(key, sizeof(key), (const uint8_t *)user,
	    strlen(user), NULL, 0);
	table_update(w->state->table, TABLE_KIND_TURN_USER, key, sizeof(key),
	    turn_quota_fn, &op, TURN_QUOTA_TTL_MS, table_now_ms());
	return op.total;
}

/* A user's allocations in all tracker workers. */
int
turn_quota_user(struct worker *w, const char *user)
{
	return turn_quota_op(w, user, 0);
}

void
turn_quota_add(struct worker *w, const char *user, int delta)
{
	turn_quota_op(w, user, delta);
}

/* Allocations now, in all tracker workers (their gauges). */
int64_t
turn_quota_total(struct worker *w)
{
	int64_t n = 0;
	int	i;

	for (i = 0; i < STATE_SLOTS_MAX; i++)
		if (w->state->slots[i].pid != 0 &&
		    w->state->slots[i].kind == WORKER_TRACKER)
			n += w->state->slots[i].gauge[GAUGE_TURN];
	return n;
}
