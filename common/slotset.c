/*
 * Bounded sets of records.  Adding a member first looks for its identity
 * among the live slots and refreshes that slot, else claims the first free
 * one; both steps are one atomic table_update() each, so two workers
 * never take the same slot.  Two workers adding the same new member at
 * the same moment may give it two slots; the spare one is never
 * refreshed and expires.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "slotset.h"

struct slotset_claim {
	const void *val;
	size_t	    vallen;
	size_t	    identlen;
	int	    any;  /* take the slot if it is free */
	int	    done; /* the value was stored */
};

static enum table_action
slotset_claim_fn(void *val, size_t *vallen, int found, void *arg)
{
	struct slotset_claim *c = arg;

	if (found &&
	    (*vallen < c->identlen || memcmp(val, c->val, c->identlen) != 0))
		return TABLE_KEEP;
	if (!found && !c->any)
		return TABLE_KEEP;
	memcpy(val, c->val, c->vallen);
	*vallen = c->vallen;
	c->done = 1;
	return TABLE_STORE;
}

static size_t
slotset_key(const struct slotset *s, int slot, uint8_t *key)
{
	memcpy(key, s->id, SLOTSET_ID_LEN);
	key[SLOTSET_ID_LEN] = (uint8_t)slot;
	return SLOTSET_ID_LEN + 1;
}

/* Call fn for every live member; returns how many there are. */
int
slotset_list(const struct slotset *s, slotset_fn fn, void *arg, int64_t now)
{
	uint8_t key[SLOTSET_ID_LEN + 1], val[TABLE_VAL_MAX];
	int	i, n, count = 0;

	for (i = 0; i < s->nslots; i++) {
		n = table_get(s->table, s->kind, key, slotset_key(s, i, key),
		    val, sizeof(val), now);
		if (n < 0)
			continue;
		count++;
		if (fn != NULL)
			fn(arg, i, val, (size_t)n);
	}
	return count;
}

/*
 * Refresh the member that slotset_put put in slot: one table operation,
 * not a scan.  Where the slot no longer holds it (it expired and was
 * taken), it is added again as slotset_put adds it.  Returns its slot,
 * or -1 as slotset_put does.
 */
int
slotset_refresh(const struct slotset *s, int slot, const void *val,
    size_t vallen, size_t identlen, int64_t ttl, int64_t now)
{
	struct slotset_claim c = {val, vallen, identlen, 0, 0};
	uint8_t		     key[SLOTSET_ID_LEN + 1];

	if (slot >= 0 && slot < s->nslots && vallen <= TABLE_VAL_MAX &&
	    identlen <= vallen &&
	    table_update(s->table, s->kind, key, slotset_key(s, slot, key),
		slotset_claim_fn, &c, ttl, now) == 0 &&
	    c.done)
		return slot;
	return slotset_put(s, val, vallen, identlen, ttl, now);
}

/*
 * Add or refresh the member whose identity is the first identlen bytes
 * of val.  Returns its slot, or -1 with ENOSPC when the set is full,
 * ENOMEM when the table has no room, EINVAL when the value does not fit.
 */
int
slotset_put(const struct slotset *s, const void *val, size_t vallen,
    size_t identlen, int64_t ttl, int64_t now)
{
	struct slotset_claim c = {val, vallen, identlen, 0, 0};
	uint8_t		     key[SLOTSET_ID_LEN + 1];
	int		     pass, i;

	if (vallen > TABLE_VAL_MAX || identlen > vallen ||
	    s->nslots > SLOTSET_SLOTS_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* Pass 0 refreshes the member's own slot, pass 1 claims a free one. */
	for (pass = 0; pass < 2; pass++) {
		c.any = pass;
		for (i = 0; i < s->nslots; i++) {
			if (table_update(s->table, s->kind, key,
				slotset_key(s, i, key), slotset_claim_fn, &c,
				ttl, now) == -1) {
				errno = ENOMEM;
				return -1;
			}
			if (c.done)
				return i;
		}
	}
	errno = ENOSPC;
	return -1;
}
