/* A sliding window of counters seen, against replayed datagrams. */
#ifndef NATKIT_REPLAY_H
#define NATKIT_REPLAY_H

#include <stdint.h>

#define REPLAY_WINDOW 2048 /* counters behind the newest still taken */

struct replay {
	uint64_t top;	/* the highest counter taken, plus one */
	uint64_t bits[REPLAY_WINDOW / 64];
};

int  replay_ok(const struct replay *, uint64_t);
void replay_take(struct replay *, uint64_t);

#endif
