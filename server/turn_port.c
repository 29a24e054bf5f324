/*
 * Relayed ports: a UDP socket for each allocation, at a random port of
 * turn.relay_port_range, and the next port held for EVEN-PORT's R bit
 * (RFC 8656 section 7.2).  The Allocate that brings the token comes from
 * another client port, so maybe to another tracker worker: the token
 * and the port go into the shared table, the socket (bound with
 * SO_REUSEPORT) stays with the worker that made it.  The worker that
 * takes the token binds the port beside it; the first one closes its
 * socket at its next sweep, when the record is gone.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table.h"
#include "turn.h"

#define TURN_PORT_TRIES 64

/* A port held by EVEN-PORT's R bit for a RESERVATION-TOKEN. */
struct turn_resv {
	struct turn_resv *next;
	uint8_t		  token[TURN_TOKEN_LEN];
	int		  fd;
	struct turn_addr  bound;
};

static struct turn_resv *turn_resvs;
static int		 turn_nresv;

/* A nonblocking UDP socket bound to ss: the fd, or -1 with errno. */
static int
turn_bind(const struct sockaddr_storage *ss, socklen_t len, int flags)
{
	int fd, on = 1, pmtu = IP_PMTUDISC_DO, e;

	if ((fd = socket(ss->ss_family,
		 SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	/* A held port: the worker that takes it binds it beside us. */
	if (flags & TURN_SHARED)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	if ((flags & TURN_DF) && ss->ss_family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu,
		    sizeof(pmtu));
	else if (flags & TURN_DF)
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu,
		    sizeof(pmtu));
	if (bind(fd, (const struct sockaddr *)ss, len) == 0)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

static void
turn_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/*
 * A UDP socket on the relay address of family, at a random port of
 * turn.relay_port_range (even when asked; with the next port held in
 * *next for TURN_RESERVE).  The address: the one of turn.relay_address
 * for that family, else the one the client's request came to.  -1 with
 * *code 440 (no address of that family) or 508.
 */
static int
turn_socket(struct worker *w, int family, const struct sockaddr *local,
    int flags, struct turn_addr *bound, int *next, int *code)
{
	const struct server_conf *c = w->conf;
	struct sockaddr_storage	  ss;
	socklen_t		  len = 0;
	uint32_t		  span;
	int			  i, fd;

	for (i = 0; i < c->turn_nrelay; i++)
		if (addr_family(&c->turn_relay[i]) == family) {
			memcpy(&ss, &c->turn_relay[i].ss, c->turn_relay[i].len);
			len = c->turn_relay[i].len;
		}
	if (len == 0 && local->sa_family == family) {
		len = family == AF_INET ? sizeof(struct sockaddr_in)
					: sizeof(struct sockaddr_in6);
		memcpy(&ss, local, len);
	}
	*code = 440;
	if (len == 0)
		return -1;
	*code = 508;
	span = (uint32_t)(c->turn_port_range.high - c->turn_port_range.low) + 1;
	for (i = 0; i < TURN_PORT_TRIES; i++) {
		int port =
		    c->turn_port_range.low + (int)randombytes_uniform(span);

		if ((flags & TURN_EVEN) && (port & 1) &&
		    --port < c->turn_port_range.low)
			continue;
		if ((flags & TURN_RESERVE) &&
		    port + 1 > c->turn_port_range.high)
			continue;
		turn_set_port(&ss, (uint16_t)port);
		if ((fd = turn_bind(&ss, len, flags)) == -1) {
			if (errno != EADDRINUSE)
				return -1;
			continue;
		}
		turn_addr_set(bound, (struct sockaddr *)&ss);
		if (!(flags & TURN_RESERVE))
			return fd;
		turn_set_port(&ss, (uint16_t)(port + 1));
		if ((*next = turn_bind(&ss, len, TURN_SHARED)) != -1)
			return fd;
		close(fd);
	}
	return -1;
}

/* Hold the next port for a later Allocate with the token. */
static int
turn_reserve(struct worker *w, int fd, const struct turn_addr *bound,
    uint8_t *token)
{
	struct turn_resv *r;

	if (turn_nresv >= w->conf->turn_max_allocations ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		close(fd);
		return -1;
	}
	randombytes_buf(r->token, sizeof(r->token));
	r->fd = fd;
	r->bound = *bound;
	r->bound.port = htons((uint16_t)(ntohs(bound->port) + 1));
	if (table_put(w->state->table, TABLE_KIND_TURN_PORT, r->token,
		sizeof(r->token), &r->bound, sizeof(r->bound),
		TURN_RESERVED_S * 1000, table_now_ms()) == -1) {
		close(fd);
		free(r);
		return -1;
	}
	memcpy(token, r->token, sizeof(r->token));
	r->next = turn_resvs;
	turn_resvs = r;
	turn_nresv++;
	return 0;
}

/* Take the record of a token: once only, whichever worker asks. */
static enum table_action
turn_take_fn(void *val, size_t *len, int found, void *arg)
{
	struct turn_addr *bound = arg;

	if (!found || *len != sizeof(*bound))
		return TABLE_KEEP;
	memcpy(bound, val, sizeof(*bound));
	return TABLE_DELETE;
}

/* A socket on the port a token holds (-1: no such token, or taken). */
static int
turn_unreserve(struct worker *w, const uint8_t *token, struct turn_addr *bound)
{
	struct sockaddr_storage ss;
	socklen_t		len;

	memset(bound, 0, sizeof(*bound));
	table_update(w->state->table, TABLE_KIND_TURN_PORT, token,
	    TURN_TOKEN_LEN, turn_take_fn, bound, TURN_RESERVED_S * 1000,
	    table_now_ms());
	if (bound->family == 0)
		return -1;
	len = turn_addr_get(bound, &ss);
	return turn_bind(&ss, len, TURN_SHARED);
}

/* Close the held ports that were taken or that nobody came for. */
void
turn_port_sweep(struct worker *w, int64_t now)
{
	struct turn_resv **p = &turn_resvs, *r;
	struct turn_addr   b;

	while ((r = *p) != NULL)
		if (table_get(w->state->table, TABLE_KIND_TURN_PORT, r->token,
			sizeof(r->token), &b, sizeof(b), now) == -1) {
			*p = r->next;
			close(r->fd);
			free(r);
			turn_nresv--;
		} else
			p = &r->next;
}

/*
 * The relayed socket of a new allocation: the port a token held
 * (TURN_TAKE), or a new one (holding the next for TURN_RESERVE, its
 * token in token).  The fd and *bound, or -1 with *code and *why.
 */
int
turn_port_open(struct worker *w, int family, const struct sockaddr *local,
    int flags, uint8_t *token, struct turn_addr *bound, int *code,
    const char **why)
{
	int fd, next = -1;

	*code = 508;
	if (flags & TURN_TAKE) {
		if ((fd = turn_unreserve(w, token, bound)) == -1)
			*why = "no port is held for this token";
		return fd;
	}
	if ((fd = turn_socket(w, family, local, flags, bound, &next, code)) ==
	    -1) {
		*why = *code == 440 ? "no relay address of that family"
				    : "no relay port free";
		return -1;
	}
	if ((flags & TURN_RESERVE) &&
	    turn_reserve(w, next, bound, token) == -1) {
		*why = "no room to hold a port";
		close(fd);
		return -1;
	}
	return fd;
}
