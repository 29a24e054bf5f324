/*
 * libFuzzer: what the relay's virtual hosts read from a visitor
 * (common/httphead.c, common/tlssni.c, common/hostname.c).  The first
 * byte picks the parser.  A head said to be whole ends in its empty
 * line within the input; a name found is a clean host name (it is
 * logged and hashed), and normalizing it again changes nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "httphead.h"
#include "tlssni.h"

static void
fuzz_check_name(const char *name)
{
	char again[HOSTNAME_MAX + 1], wild[HOSTNAME_MAX + 1];
	int  level;

	if (hostname_norm(again, name, strlen(name), 1) != 0 ||
	    strcmp(again, name) != 0)
		abort();
	for (level = 1; hostname_wildcard(wild, name, level) == 0; level++)
		if (!hostname_match(wild, name))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct httphead h;
	char		name[HOSTNAME_MAX + 1], *copy;
	const char     *why;

	if (n < 1)
		return 0;
	/* An exact copy: a read past the input is ASan's to catch. */
	if ((copy = malloc(n - 1 + 1)) == NULL)
		return 0;
	memcpy(copy, d + 1, n - 1);
	switch (d[0] % 3) {
	case 0:
		if (httphead_parse(copy, n - 1, &h) == HTTPHEAD_OK) {
			if (h.len > n - 1 || h.len < 4 ||
			    memcmp(copy + h.len - 4, "\r\n\r\n", 4) != 0)
				abort();
			fuzz_check_name(h.host);
		}
		break;
	case 1:
		if (tlssni_parse((const uint8_t *)copy, n - 1, name, &why) ==
		    TLSSNI_OK)
			fuzz_check_name(name);
		break;
	default:
		if (hostname_from_host(name, copy, n - 1) == 0)
			fuzz_check_name(name);
		if (n - 1 <= HOSTNAME_MAX + 1 &&
		    hostname_norm(name, copy, n - 1, 1) == 0)
			fuzz_check_name(name);
		break;
	}
	free(copy);
	return 0;
}
