/*
 * libFuzzer: the NatTrackerServer text protocol's parser
 * (common/tracktext.c), and a member line made from what it accepts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tracktext.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct sockaddr_in6 from = {.sin6_family = AF_INET6, .sin6_port = 7};
	struct tt_request   r;
	struct tt_member    m;
	const char	   *why;
	char		    line[1024];
	size_t		    len;
	int		    i;

	if (tt_parse((const char *)d, n, &r, &why) == -1) {
		if (why == NULL || strlen(why) == 0)
			abort(); /* an error always says what was wrong */
		return 0;
	}
	memset(from.sin6_addr.s6_addr, 0xab, 16);
	tt_member_make(&r, (struct sockaddr *)&from, &m);
	for (i = 0; i < 2; i++) {
		len = tt_member_line(&m, i, line, sizeof(line));
		if (len >= sizeof(line) || strlen(line) != len)
			abort();
	}
	for (i = 0; i < r.ntrackers; i++)
		if (tt_addr_text(&r.trackers[i], line, sizeof(line)) >=
		    sizeof(line))
			abort();
	return 0;
}
