/*
 * libFuzzer: addresses and hex as peers and config files give them
 * (common/addr.c, common/hex.c).  What parses formats back and parses
 * again to the same address.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "hex.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char	    s[512], host[ADDR_HOSTLEN], text[ADDR_STRLEN];
	struct addr a, b;
	const char *why;
	uint8_t	    bin[64];
	uint16_t    port;

	if (n >= sizeof(s))
		return 0;
	memcpy(s, d, n);
	s[n] = '\0';
	if (addr_parse(s, 1234, &a, &why) == 0) {
		addr_format(&a, text, sizeof(text));
		if (addr_parse(text, 0, &b, &why) != 0 || !addr_equal(&a, &b))
			abort();
	}
	addr_parse_ip(s, &a, &why);
	addr_split(s, host, sizeof(host), &port, 1, &why);
	hex_decode(s, bin, n / 2 < sizeof(bin) ? n / 2 : sizeof(bin));
	return 0;
}
