/*
 * The frames of a multiplexed connection (muxconn.h), and a carrier's
 * streams by id: an open-addressed table that doubles when it is half
 * full (removed places counted too), so a lookup stays a probe or two
 * with tens of thousands of streams.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "muxconn.h"

#define MUXF_TABLE_FIRST 64

/* The 8-byte head of a frame of kind about id with n bytes of payload. */
void
muxf_head(uint8_t *h, int kind, uint32_t id, size_t n)
{
	h[0] = (uint8_t)kind;
	h[1] = (uint8_t)(id >> 24);
	h[2] = (uint8_t)(id >> 16);
	h[3] = (uint8_t)(id >> 8);
	h[4] = (uint8_t)id;
	h[5] = (uint8_t)(n >> 16);
	h[6] = (uint8_t)(n >> 8);
	h[7] = (uint8_t)n;
}

/*
 * A head read: 0, or -1 when no frame has that kind or length (the
 * carrier is then broken: nothing after it can be trusted).
 */
int
muxf_parse(const uint8_t *h, int *kind, uint32_t *id, size_t *n)
{
	*kind = h[0];
	*id = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
	    (uint32_t)h[3] << 8 | h[4];
	*n = (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
	switch (*kind) {
	case MUXF_OPEN:
		return *id != 0 && *n <= MUXF_META_MAX ? 0 : -1;
	case MUXF_DATA:
		return *id != 0 && *n > 0 && *n <= MUXF_CHUNK ? 0 : -1;
	case MUXF_EOF:
		return *id != 0 && *n == 0 ? 0 : -1;
	case MUXF_RESET:
		return *id != 0 && *n <= MUXF_REASON_MAX ? 0 : -1;
	case MUXF_WINDOW:
		return *id != 0 && *n == 4 ? 0 : -1;
	case MUXF_PING:
	case MUXF_PONG:
		return *id == 0 && *n == 8 ? 0 : -1;
	}
	return -1;
}

static size_t
muxf_hash(uint32_t id, size_t size)
{
	return (size_t)(id * 2654435761u) & (size - 1);
}

void *
muxf_find(const struct muxf_table *t, uint32_t id)
{
	size_t i;

	if (t->size == 0)
		return NULL;
	for (i = muxf_hash(id, t->size); t->slot[i].id != 0 || t->slot[i].gone;
	     i = (i + 1) & (t->size - 1))
		if (t->slot[i].id == id)
			return t->slot[i].s;
	return NULL;
}

static void
muxf_put(struct muxf_entry *slot, size_t size, uint32_t id, void *s)
{
	size_t i;

	for (i = muxf_hash(id, size); slot[i].id != 0;
	     i = (i + 1) & (size - 1))
		;
	slot[i].id = id;
	slot[i].gone = 0;
	slot[i].s = s;
}

/* Room for one more: the table made anew, twice as big when it is half
 * full of live entries, else the same size without its removed ones. */
static int
muxf_grow(struct muxf_table *t)
{
	size_t		   size, i;
	struct muxf_entry *slot;

	if ((t->used + t->gone + 1) * 2 <= t->size)
		return 0;
	size = t->size == 0 ? MUXF_TABLE_FIRST : t->size;
	while ((t->used + 1) * 2 > size)
		size *= 2;
	if ((slot = calloc(size, sizeof(*slot))) == NULL)
		return -1;
	for (i = 0; i < t->size; i++)
		if (t->slot[i].id != 0)
			muxf_put(slot, size, t->slot[i].id, t->slot[i].s);
	free(t->slot);
	t->slot = slot;
	t->size = size;
	t->gone = 0;
	return 0;
}

/* s under id (not there yet): 0, or -1 when out of memory. */
int
muxf_add(struct muxf_table *t, uint32_t id, void *s)
{
	size_t i;

	if (muxf_grow(t) == -1)
		return -1;
	for (i = muxf_hash(id, t->size); t->slot[i].id != 0;
	     i = (i + 1) & (t->size - 1))
		;
	if (t->slot[i].gone)
		t->gone--;
	t->slot[i].id = id;
	t->slot[i].gone = 0;
	t->slot[i].s = s;
	t->used++;
	return 0;
}

void
muxf_remove(struct muxf_table *t, uint32_t id)
{
	size_t i;

	if (t->size == 0)
		return;
	for (i = muxf_hash(id, t->size); t->slot[i].id != 0 || t->slot[i].gone;
	     i = (i + 1) & (t->size - 1))
		if (t->slot[i].id == id) {
			t->slot[i].id = 0;
			t->slot[i].gone = 1;
			t->slot[i].s = NULL;
			t->used--;
			t->gone++;
			return;
		}
}

void
muxf_table_free(struct muxf_table *t)
{
	free(t->slot);
	memset(t, 0, sizeof(*t));
}
