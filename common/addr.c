/*
 * Address text in the form users and the tracker protocol use:
 * "1.2.3.4:80", "[2001:db8::1]:80"; the port may be left out when the
 * caller has a default.  A bare IPv6 address without brackets is taken
 * whole, since its colons cannot be told from a port separator.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static int addr_parse_port(const char *, uint16_t *);

/* Parse a decimal port 1-65535 with nothing after it. */
static int
addr_parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * Split "host:port", "[v6]:port", "host" or "v6" into host and port.
 * defport 0 means the port is required.  On error *why says what was wrong.
 */
int
addr_split(const char *s, char *host, size_t hostlen, uint16_t *port,
    uint16_t defport, const char **why)
{
	const char *h = s, *colon, *p = NULL;
	size_t	    hl;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL) {
			*why = "missing ']'";
			return -1;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			p = close + 2;
		else if (close[1] != '\0') {
			*why = "junk after ']'";
			return -1;
		}
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hl = (size_t)(colon - s);
		p = colon + 1;
	} else
		hl = strlen(s);
	if (hl == 0) {
		*why = "empty address";
		return -1;
	}
	if (hl >= hostlen) {
		*why = "address too long";
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (p != NULL) {
		if (addr_parse_port(p, port) == -1) {
			*why = "bad port (1-65535)";
			return -1;
		}
	} else if (defport != 0)
		*port = defport;
	else {
		*why = "missing port";
		return -1;
	}
	return 0;
}

/* Parse a numeric address with optional port; no name lookups. */
int
addr_parse(const char *s, uint16_t defport, struct addr *a, const char **why)
{
	char		     host[ADDR_HOSTLEN];
	uint16_t	     port = 0;
	struct sockaddr_in  *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (addr_split(s, host, sizeof(host), &port, defport, why) == -1)
		return -1;
	if (s[0] != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		a->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		a->len = sizeof(*sin6);
		return 0;
	}
	*why = "not an IPv4 or IPv6 address";
	return -1;
}

/* Exactly an IPv4 or IPv6 address, no port and no brackets; port 0. */
int
addr_parse_ip(const char *s, struct addr *a, const char **why)
{
	struct sockaddr_in  *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		a->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		a->len = sizeof(*sin6);
		return 0;
	}
	*why = "not an IPv4 or IPv6 address";
	return -1;
}

/* Copy a kernel-supplied address; IPv4 and IPv6 only. */
int
addr_from_sa(struct addr *a, const struct sockaddr *sa, socklen_t len)
{
	memset(a, 0, sizeof(*a));
	if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    len > sizeof(a->ss))
		return -1;
	memcpy(&a->ss, sa, len);
	a->len = len;
	return 0;
}

/* Format as "ip:port" or "[v6]:port"; buf should hold ADDR_STRLEN. */
char *
addr_format_sa(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else
		snprintf(buf, len, "(family %d)", sa->sa_family);
	return buf;
}

char *
addr_format(const struct addr *a, char *buf, size_t len)
{
	return addr_format_sa((const struct sockaddr *)&a->ss, buf, len);
}

int
addr_family(const struct addr *a)
{
	return a->ss.ss_family;
}

uint16_t
addr_port(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

void
addr_set_port(struct addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

/* Same family, address and port. */
int
addr_equal(const struct addr *a, const struct addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return 0;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss;
		const struct sockaddr_in *y = (const void *)&b->ss;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss;
		const struct sockaddr_in6 *y = (const void *)&b->ss;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return 0;
}
