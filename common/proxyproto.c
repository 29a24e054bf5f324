/*
 * The PROXY protocol header that haproxy, nginx, Postfix and others
 * accept (haproxy's proxy-protocol.txt): sent first on a connection to
 * a local service, it tells the service the visitor's address, which
 * the relay saw and the service, reached from natclient, cannot.
 *
 *   v1  "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" (text)
 *   v2  a 12-byte signature, version/command 0x21 (PROXY), family and
 *       protocol 0x11 (TCP over IPv4) or 0x21 (IPv6), the length, then
 *       source and destination addresses and ports, network order
 *
 * An IPv4-mapped IPv6 address is given as IPv4, so that both ends are
 * of one family; where they still differ, the header says UNKNOWN (v1)
 * or LOCAL (v2), which the protocol provides for: the service then
 * uses the connection's own addresses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proxyproto.h"

static const uint8_t proxy_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* "v1", "v2", or "no"/"" (none): the version, or -1. */
int
proxy_version(const char *s)
{
	if (s == NULL || *s == '\0' || strcmp(s, "no") == 0)
		return PROXY_NONE;
	if (strcmp(s, "v1") == 0)
		return PROXY_V1;
	if (strcmp(s, "v2") == 0)
		return PROXY_V2;
	return -1;
}

/* a's address as 4 or 16 bytes (an IPv4-mapped one as 4): its family. */
static int
proxy_ip(const struct addr *a, uint8_t *ip)
{
	if (addr_family(a) == AF_INET) {
		memcpy(ip, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
		return AF_INET;
	}
	if (addr_family(a) != AF_INET6)
		return AF_UNSPEC;
	memcpy(ip, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)ip)) {
		memmove(ip, ip + 12, 4);
		return AF_INET;
	}
	return AF_INET6;
}

/*
 * The header for a TCP stream from `from` to `to`, into out (at least
 * PROXY_HEADER_MAX bytes): its length, 0 for PROXY_NONE.
 */
size_t
proxy_header(int version, const struct addr *from, const struct addr *to,
    uint8_t *out)
{
	uint8_t src[16], dst[16];
	char	s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int	fam = proxy_ip(from, src), n;
	size_t	alen;

	if (version == PROXY_NONE)
		return 0;
	if (fam != proxy_ip(to, dst))
		fam = AF_UNSPEC;
	if (version == PROXY_V1) {
		if (fam == AF_UNSPEC) {
			memcpy(out, "PROXY UNKNOWN\r\n", 15);
			return 15;
		}
		inet_ntop(fam, src, s, sizeof(s));
		inet_ntop(fam, dst, d, sizeof(d));
		n = snprintf((char *)out, PROXY_HEADER_MAX,
		    "PROXY %s %s %s %u %u\r\n", fam == AF_INET ? "TCP4" : "TCP6",
		    s, d, addr_port(from), addr_port(to));
		return n > 0 && n < PROXY_HEADER_MAX ? (size_t)n : 0;
	}
	memcpy(out, proxy_sig, sizeof(proxy_sig));
	if (fam == AF_UNSPEC) {
		out[12] = 0x20; /* LOCAL: no addresses follow */
		out[13] = 0x00;
		out[14] = out[15] = 0;
		return 16;
	}
	alen = fam == AF_INET ? 4 : 16;
	out[12] = 0x21;
	out[13] = fam == AF_INET ? 0x11 : 0x21;
	out[14] = 0;
	out[15] = (uint8_t)(2 * alen + 4);
	memcpy(out + 16, src, alen);
	memcpy(out + 16 + alen, dst, alen);
	out[16 + 2 * alen] = (uint8_t)(addr_port(from) >> 8);
	out[17 + 2 * alen] = (uint8_t)addr_port(from);
	out[18 + 2 * alen] = (uint8_t)(addr_port(to) >> 8);
	out[19 + 2 * alen] = (uint8_t)addr_port(to);
	return 20 + 2 * alen;
}
