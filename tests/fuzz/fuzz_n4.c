/*
 * libFuzzer: N4 packets (common/n4.c).  What parses packs and parses
 * back the same (READY carries nothing, so its bytes are not kept).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "n4.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct n4_packet p, q;
	uint8_t		 out[N4_SIZE];
	char		 ident[N4_IDENT_LEN * 2 + 1];

	if (n4_parse(d, n, &p) == 0 && p.cmd != N4_READY) {
		n4_pack(&p, out);
		if (n4_parse(out, sizeof(out), &q) != 0 ||
		    memcmp(&q, &p, sizeof(p)) != 0)
			abort();
	}
	if (n < sizeof(ident)) {
		memcpy(ident, d, n);
		ident[n] = '\0';
		n4_ident(ident, p.ident);
	}
	return 0;
}
