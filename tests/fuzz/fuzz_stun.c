/*
 * libFuzzer: STUN requests (common/stun.c).  Whatever the parser says,
 * the answer it leads to fits its buffer and keeps the UDP rule: at most
 * max(3 x the request, 128) bytes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "stun.h"

static struct sockaddr_in from = {AF_INET, 0x3412, {0x0100007f}, {0}};
static struct sockaddr_in6 local;

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct stun_origin o = {(struct sockaddr *)&local, NULL};
	struct stun_msg	   m;
	uint8_t		   out[1500], tid[12] = {0};
	size_t		   len = 0, cap = n * 3 > 128 ? n * 3 : 128;
	struct sockaddr_storage ss;

	local.sin6_family = AF_INET6;
	local.sin6_addr.s6_addr[15] = 1;
	stun_looks_like(d, n);
	stun_frame_len(d, n);
	switch (stun_parse(d, n, &m)) {
	case STUN_OK:
		o.other = (n & 1) ? (struct sockaddr *)&from : NULL;
		len = stun_binding_success(&m, (struct sockaddr *)&from, &o,
		    out, sizeof(out));
		break;
	case STUN_BAD:
		len = stun_error(&m, 400, "Bad Request", out, sizeof(out));
		break;
	case STUN_UNKNOWN:
		len = stun_error(&m, 420, "Unknown Attribute", out,
		    sizeof(out));
		break;
	default:
		break;
	}
	if (len > sizeof(out) || len > cap)
		abort();
	/* The client's side reads answers: any bytes as an answer. */
	memcpy(tid, d, n < 12 ? n : 12);
	stun_response_addr(d, n, tid, 0x0020, &ss);
	stun_response_mapped(d, n, tid, &ss);
	return 0;
}
