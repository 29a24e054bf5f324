/*
 * The PCP MAP message (RFC 6887 sections 7 and 11): a request from us,
 * a response from the gateway.  No Debian library speaks PCP (libnatpmp
 * is NAT-PMP only), so this small codec is ours.  Addresses travel as
 * 16 bytes, IPv4 ones mapped into IPv6 (::ffff:a.b.c.d).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "bytes.h"
#include "pcp.h"

/* An address as PCP carries it; all zeros for "any". */
static void
pcp_put_addr(uint8_t *p, const struct addr *a)
{
	memset(p, 0, 16);
	if (a == NULL)
		return;
	if (addr_family(a) == AF_INET) {
		p[10] = p[11] = 0xff;
		memcpy(p + 12, &((const struct sockaddr_in *)&a->ss)->sin_addr,
		    4);
	} else
		memcpy(p, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
		    16);
}

static void
pcp_get_addr(const uint8_t *p, uint16_t port, struct addr *a)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	    0xff};
	struct sockaddr_in   sin;
	struct sockaddr_in6  sin6;

	if (memcmp(p, v4mapped, 12) == 0) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		memcpy(&sin.sin_addr, p + 12, 4);
		addr_from_sa(a, (struct sockaddr *)&sin, sizeof(sin));
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(port);
		memcpy(&sin6.sin6_addr, p, 16);
		addr_from_sa(a, (struct sockaddr *)&sin6, sizeof(sin6));
	}
}

/*
 * A MAP request into b (PCP_MAP_LEN bytes): map our (client, ipproto,
 * internal) for lifetime seconds, 0 to delete; suggest the same port
 * outside.
 */
size_t
pcp_map_request(uint8_t *b, const struct addr *client, const uint8_t *nonce,
    int ipproto, uint16_t internal, uint32_t lifetime)
{
	memset(b, 0, PCP_MAP_LEN);
	b[0] = PCP_VERSION;
	b[1] = PCP_OP_MAP;
	be32_put(b + 4, lifetime);
	pcp_put_addr(b + 8, client);
	memcpy(b + 24, nonce, PCP_NONCE_LEN);
	b[36] = (uint8_t)ipproto;
	be16_put(b + 40, internal);
	be16_put(b + 42, internal);
	pcp_put_addr(b + 44, NULL);
	return PCP_MAP_LEN;
}

/* An ANNOUNCE request (section 14.1): does the gateway speak PCP? */
size_t
pcp_announce_request(uint8_t *b, const struct addr *client)
{
	memset(b, 0, PCP_HEADER_LEN);
	b[0] = PCP_VERSION;
	b[1] = PCP_OP_ANNOUNCE;
	pcp_put_addr(b + 8, client);
	return PCP_HEADER_LEN;
}

/*
 * A response to our request (opcode op; for MAP, our nonce, protocol
 * and port): its result code (PCP_OK is 0) with the lifetime and the
 * external address; PCP_NOT_OURS for anything else, PCP_OLD_VERSION
 * when a NAT-PMP-only gateway says it speaks version 0.
 */
int
pcp_parse_response(const uint8_t *b, size_t n, int op, const uint8_t *nonce,
    int ipproto, uint16_t internal, uint32_t *lifetime, struct addr *ext)
{
	if (n >= 4 && b[0] == 0 && (b[1] & 0x80) && be16_get(b + 2) == 1)
		return PCP_OLD_VERSION; /* NAT-PMP: unsupported version */
	if (n < PCP_HEADER_LEN || n > PCP_MAX_LEN || n % 4 != 0 ||
	    b[0] != PCP_VERSION || b[1] != (0x80 | op))
		return PCP_NOT_OURS;
	if (op == PCP_OP_MAP &&
	    (n < PCP_MAP_LEN || memcmp(b + 24, nonce, PCP_NONCE_LEN) != 0 ||
		b[36] != ipproto || be16_get(b + 40) != internal))
		return PCP_NOT_OURS;
	if (lifetime != NULL)
		*lifetime = be32_get(b + 4);
	if (op == PCP_OP_MAP && ext != NULL && b[3] == PCP_OK)
		pcp_get_addr(b + 44, be16_get(b + 42), ext);
	return b[3];
}

/* RFC 6887 section 7.4's result codes, for one line of verbose output. */
const char *
pcp_result_name(int r)
{
	static const char *const names[] = {"success", "unsupported version",
	    "not authorized", "malformed request", "unsupported opcode",
	    "unsupported option", "malformed option", "network failure",
	    "no resources", "unsupported protocol", "user exceeded quota",
	    "cannot provide external", "address mismatch",
	    "excessive remote peers"};

	if (r >= 0 && r < (int)(sizeof(names) / sizeof(names[0])))
		return names[r];
	return "an unknown result";
}
