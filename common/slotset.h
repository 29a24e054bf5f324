/*
 * Bounded sets in the shared table: member i of set S is the record
 * (S, i), i < nslots.  A member is known by the first bytes of its value
 * (its identity), so re-adding it refreshes its record.
 */
#ifndef NATKIT_SLOTSET_H
#define NATKIT_SLOTSET_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

#define SLOTSET_ID_LEN	  16
#define SLOTSET_SLOTS_MAX 255

struct slotset {
	struct table *table;
	int	      kind;
	uint8_t	      id[SLOTSET_ID_LEN];
	int	      nslots;
};

/* Called for each live member: slot, value, length. */
typedef void (*slotset_fn)(void *, int, const void *, size_t);

int slotset_list(const struct slotset *, slotset_fn, void *, int64_t);
int slotset_put(const struct slotset *, const void *, size_t, size_t, int64_t,
    int64_t);
int slotset_refresh(const struct slotset *, int, const void *, size_t, size_t,
    int64_t, int64_t);

#endif
