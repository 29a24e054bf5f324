/*
 * libFuzzer: the Noise handshake and the replay window (common/noise.c,
 * common/replay.c) as a peer's bytes reach them.  The input is split
 * into a message 1 for a responder and a message 3 after its answer;
 * and into counters for the window, which must take each once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "noise.h"
#include "replay.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const uint8_t prologue[] = "fuzz";
	struct noise_hs	     hs;
	struct replay	     r;
	uint8_t		     k[32], msg[NOISE_HS_MAX], pl[NOISE_HS_MAX];
	size_t		     cut = n > 0 ? d[0] % (n + 1) : 0, i;
	uint64_t	     c;

	memset(k, 7, sizeof(k));
	if (noise_init(&hs, 0, k, (n & 1) ? k : NULL, prologue, 4) == -1)
		abort();
	if (noise_read(&hs, d, cut, pl, sizeof(pl)) >= 0 &&
	    noise_write(&hs, NULL, 0, msg, sizeof(msg)) > 0)
		/* A forged message 3 must not verify. */
		if (noise_read(&hs, d + cut, n - cut, pl, sizeof(pl)) >= 0)
			abort();
	memset(&r, 0, sizeof(r));
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&c, d + i, 8);
		c %= 1u << 20;
		if (replay_ok(&r, c)) {
			replay_take(&r, c);
			if (replay_ok(&r, c))
				abort();
		}
	}
	return 0;
}
