/*
 * libFuzzer: what a gateway may answer natclient's PCP MAP and ANNOUNCE
 * requests (client/pcp.c).  A response is taken only when it answers
 * the request: the same nonce, protocol and port.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "pcp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const uint8_t nonce[PCP_NONCE_LEN] = {7, 7, 7, 7, 7, 7, 7, 7, 7,
	    7, 7, 7};
	struct addr	     ext;
	uint32_t	     life;
	int		     rv;

	memset(&ext, 0, sizeof(ext));
	rv = pcp_parse_response(d, n, PCP_OP_MAP, nonce, IPPROTO_UDP, 40000,
	    &life, &ext);
	if (rv >= 0 && (n < PCP_MAP_LEN || memcmp(d + 24, nonce, 12) != 0))
		abort(); /* taken, though it answers another request */
	pcp_result_name(rv);
	pcp_parse_response(d, n, PCP_OP_ANNOUNCE, NULL, 0, 0, NULL, NULL);
	return 0;
}
