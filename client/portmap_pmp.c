/*
 * The two protocols on the gateway's UDP port 5351: PCP (our codec,
 * pcp.c) and NAT-PMP (libnatpmp).  Each exchange waits no longer than
 * the caller's timeout, resending as the protocol says, and takes only
 * answers from the gateway's address that match what was asked;
 * anything else is counted and ignored, never trusted.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#define ENABLE_STRNATPMPERR 1 /* natpmp.h declares strnatpmperr() */
#include <natpmp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pcp.h"
#include "portmap.h"

#define PMP_RESEND_MS 250 /* short: discovery must cost little */

/* A UDP socket connected to the gateway; our address towards it. */
static int
pmp_socket(struct portmap *pm)
{
	struct sockaddr_storage ss;
	socklen_t		len = sizeof(ss);
	int			fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    connect(fd, (struct sockaddr *)&pm->gateway.ss, pm->gateway.len) ==
		-1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    addr_from_sa(&pm->lan, (struct sockaddr *)&ss, len) == -1) {
		snprintf(pm->why, sizeof(pm->why), "no socket: %s",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Send req until an answer for it comes: its result code, or -1. */
static int
pcp_exchange(struct portmap *pm, const uint8_t *req, size_t len, int timeout_ms,
    uint32_t *lifetime, struct addr *ext)
{
	int64_t deadline = client_now_ms() + timeout_ms, now, resend = 0;
	uint8_t ans[PCP_MAX_LEN + 4];
	ssize_t n;
	int	fd, rv = -1, junk = 0, wait;

	if ((fd = pmp_socket(pm)) == -1)
		return -1;
	snprintf(pm->why, sizeof(pm->why), "no PCP answer in %d ms",
	    timeout_ms);
	while (rv == -1 && (now = client_now_ms()) < deadline) {
		struct pollfd pfd = {fd, POLLIN, 0};

		if (now >= resend) {
			send(fd, req, len, 0);
			resend = now + PMP_RESEND_MS;
		}
		wait = (int)((resend < deadline ? resend : deadline) - now);
		if (poll(&pfd, 1, wait) != 1)
			continue;
		n = recv(fd, ans, sizeof(ans), 0);
		if (n < 0 && errno == ECONNREFUSED) {
			snprintf(pm->why, sizeof(pm->why),
			    "the gateway refuses PCP (port unreachable)");
			break;
		}
		if (n < 0)
			continue;
		rv = pcp_parse_response(ans, (size_t)n, req[1], req + 24,
		    req[36], (uint16_t)(req[40] << 8 | req[41]), lifetime, ext);
		if (rv == PCP_OLD_VERSION) {
			snprintf(pm->why, sizeof(pm->why),
			    "the gateway speaks NAT-PMP, not PCP");
			rv = -1;
			break;
		}
		if (rv == PCP_NOT_OURS) {
			junk++;
			snprintf(pm->why, sizeof(pm->why),
			    "%d PCP answer(s) that do not match the request",
			    junk);
			rv = -1;
		}
	}
	close(fd);
	return rv;
}

static int
pcp_probe(struct portmap *pm, int timeout_ms)
{
	uint8_t req[PCP_HEADER_LEN];
	int	rv;

	/* The client address must be filled in before the request. */
	if ((rv = pmp_socket(pm)) == -1)
		return -1;
	close(rv);
	pcp_announce_request(req, &pm->lan);
	/* Any PCP answer, even an error, says the gateway speaks it. */
	return pcp_exchange(pm, req, sizeof(req), timeout_ms, NULL, NULL) == -1
	    ? -1
	    : 0;
}

static int
pcp_map(struct portmap *pm, int lifetime, int timeout_ms)
{
	uint8_t	    req[PCP_MAP_LEN], zero[PCP_NONCE_LEN] = {0};
	uint32_t    granted = 0;
	struct addr ext;
	int	    fd, rv;

	if (memcmp(pm->nonce, zero, sizeof(zero)) == 0 &&
	    getrandom(pm->nonce, sizeof(pm->nonce), 0) != sizeof(pm->nonce))
		return -1;
	if ((fd = pmp_socket(pm)) == -1)
		return -1;
	close(fd);
	pcp_map_request(req, &pm->lan, pm->nonce, pm->ipproto, pm->internal,
	    (uint32_t)lifetime);
	rv = pcp_exchange(pm, req, sizeof(req), timeout_ms, &granted, &ext);
	if (rv > 0)
		snprintf(pm->why, sizeof(pm->why), "PCP refused: %s",
		    pcp_result_name(rv));
	if (rv != PCP_OK)
		return -1;
	if (lifetime > 0) {
		if (addr_port(&ext) == 0 || granted == 0) {
			snprintf(pm->why, sizeof(pm->why),
			    "PCP answered with no port or no lifetime");
			return -1;
		}
		pm->external = ext;
		pm->renew_ms = client_now_ms() + (int64_t)granted * 500;
	}
	return 0;
}

/* libnatpmp's answer to its pending request, or NATPMP_TRYAGAIN. */
static int
natpmp_wait(natpmp_t *n, natpmpresp_t *r, int64_t deadline)
{
	struct timeval tv;
	int64_t	       now;
	int	       rv, wait;

	while ((rv = readnatpmpresponseorretry(n, r)) == NATPMP_TRYAGAIN &&
	    (now = client_now_ms()) < deadline) {
		struct pollfd pfd = {n->s, POLLIN, 0};

		getnatpmprequesttimeout(n, &tv);
		wait = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
		if (wait > PMP_RESEND_MS)
			wait = PMP_RESEND_MS;
		if (wait > deadline - now)
			wait = (int)(deadline - now);
		poll(&pfd, 1, wait < 1 ? 1 : wait);
	}
	return rv;
}

static int
natpmp_fail(struct portmap *pm, natpmp_t *n, int rv, int timeout_ms)
{
	if (rv == NATPMP_TRYAGAIN)
		snprintf(pm->why, sizeof(pm->why), "no NAT-PMP answer in %d ms",
		    timeout_ms);
	else
		snprintf(pm->why, sizeof(pm->why), "NAT-PMP: %s",
		    strnatpmperr(rv));
	closenatpmp(n);
	return -1;
}

/* NAT-PMP's public address request: the gateway's external IP. */
static int
natpmp_probe(struct portmap *pm, int timeout_ms)
{
	int64_t	     deadline = client_now_ms() + timeout_ms;
	natpmp_t     n;
	natpmpresp_t r;
	int	     rv;

	rv = initnatpmp(&n, 1,
	    ((struct sockaddr_in *)&pm->gateway.ss)->sin_addr.s_addr);
	if (rv < 0)
		return natpmp_fail(pm, &n, rv, timeout_ms);
	if ((rv = sendpublicaddressrequest(&n)) < 0 ||
	    (rv = natpmp_wait(&n, &r, deadline)) < 0)
		return natpmp_fail(pm, &n, rv, timeout_ms);
	if (r.type != NATPMP_RESPTYPE_PUBLICADDRESS)
		return natpmp_fail(pm, &n, NATPMP_ERR_UNDEFINEDERROR,
		    timeout_ms);
	closenatpmp(&n);
	{
		struct sockaddr_in sin = {.sin_family = AF_INET,
		    .sin_addr = r.pnu.publicaddress.addr};

		addr_from_sa(&pm->external, (struct sockaddr *)&sin,
		    sizeof(sin));
	}
	return 0;
}

static int
natpmp_map(struct portmap *pm, int lifetime, int timeout_ms)
{
	int64_t	     deadline = client_now_ms() + timeout_ms;
	natpmp_t     n;
	natpmpresp_t r;
	int	     rv, proto;

	/* Mapping needs the external IP, which only this request gives. */
	if (lifetime > 0 && natpmp_probe(pm, timeout_ms) == -1)
		return -1;
	proto = pm->ipproto == IPPROTO_TCP ? NATPMP_PROTOCOL_TCP
					   : NATPMP_PROTOCOL_UDP;
	rv = initnatpmp(&n, 1,
	    ((struct sockaddr_in *)&pm->gateway.ss)->sin_addr.s_addr);
	if (rv < 0)
		return natpmp_fail(pm, &n, rv, timeout_ms);
	/* A delete names no external port (RFC 6886 section 3.4). */
	rv = sendnewportmappingrequest(&n, proto, pm->internal,
	    lifetime > 0 ? pm->internal : 0, (uint32_t)lifetime);
	if (rv < 0 || (rv = natpmp_wait(&n, &r, deadline)) < 0)
		return natpmp_fail(pm, &n, rv, timeout_ms);
	closenatpmp(&n);
	if (lifetime == 0)
		return 0;
	if (r.pnu.newportmapping.privateport != pm->internal ||
	    r.pnu.newportmapping.mappedpublicport == 0 ||
	    r.pnu.newportmapping.lifetime == 0) {
		snprintf(pm->why, sizeof(pm->why),
		    "NAT-PMP answered for another port or with no lifetime");
		return -1;
	}
	addr_set_port(&pm->external, r.pnu.newportmapping.mappedpublicport);
	pm->renew_ms =
	    client_now_ms() + (int64_t)r.pnu.newportmapping.lifetime * 500;
	return 0;
}

const struct portmap_ops portmap_pcp_ops = {.name = "pcp",
    .probe = pcp_probe,
    .map = pcp_map};
const struct portmap_ops portmap_natpmp_ops = {.name = "nat-pmp",
    .probe = natpmp_probe,
    .map = natpmp_map};
