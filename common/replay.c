/*
 * The receive window of sealed datagrams (as WireGuard's, RFC 6479's
 * bitmap): a counter is taken once, and not at all once it falls more
 * than REPLAY_WINDOW behind the newest.  replay_ok is asked before the
 * datagram is opened and replay_take only after it proved authentic,
 * so forged datagrams cannot move the window.
 */
#include "config.h"

#include <string.h>

#include "replay.h"

#define REPLAY_WORDS (REPLAY_WINDOW / 64)

static int
replay_bit(const struct replay *r, uint64_t n)
{
	return (int)(r->bits[(n / 64) % REPLAY_WORDS] >> (n % 64)) & 1;
}

/* 1 when counter n has not been taken and is inside the window. */
int
replay_ok(const struct replay *r, uint64_t n)
{
	if (n == UINT64_MAX)
		return 0;
	if (n >= r->top)
		return 1;
	if (r->top - n > REPLAY_WINDOW - 64)
		return 0;
	return !replay_bit(r, n);
}

/* Mark counter n taken, sliding the window forward past it. */
void
replay_take(struct replay *r, uint64_t n)
{
	if (n >= r->top) {
		uint64_t w, from = (r->top + 63) / 64, to = n / 64;

		/* Clear the words the window slides over. */
		if (r->top == 0 || (to >= from && to - from >= REPLAY_WORDS))
			memset(r->bits, 0, sizeof(r->bits));
		else
			for (w = from; w <= to && to >= from; w++)
				r->bits[w % REPLAY_WORDS] = 0;
		r->top = n + 1;
	}
	r->bits[(n / 64) % REPLAY_WORDS] |= (uint64_t)1 << (n % 64);
}
