/*
 * Hole punching over UDP, as the server's punch message plans it.
 *
 *   lan, simultaneous  the socket the server saw sends to every candidate
 *   predict	        an incrementing side opens HP_PREDICT fresh sockets,
 *			whose mappings step by its delta; socket i of one
 *			side aims at the peer's public port + i * delta
 *   birthday	        the random side opens HP_BIRTHDAY sockets towards
 *			the peer; the open side probes random ports of the
 *			random side's IP at HP_PROBE_RATE a second
 *   portmap		a side whose gateway mapped its port only answers
 *			(the listener, when both are mapped); the other
 *			sends to the mapped address.  The mapped side must
 *			not send first: its gateway would give that flow a
 *			port of its own, and the peer's packets to the
 *			mapped port would then clash with it in conntrack
 *
 * Every socket's first packet to a target leaves with TTL 2: it passes
 * our router, creating the mapping, and dies in the core before it can
 * leave state in the peer's router (see tests/natlab/README).  Real
 * probes follow HP_OPEN_MS later.  The connector takes the first path
 * that answers and says so with SELECT; the listener takes the path
 * SELECT (or the first other packet from the peer) arrives on.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "holepunch.h"

#define HP_PREDICT     8    /* sockets per incrementing side */
#define HP_BIRTHDAY    256  /* sockets on a random side */
#define HP_PROBE_RATE  1000 /* random probes a second */
#define HP_OPEN_MS     300  /* after the TTL-2 packets */
#define HP_RESEND_MS   100  /* probe interval per target */
#define HP_SELECTS     3    /* SELECTs sent for the chosen path */
#define HP_TARGETS_MAX (HP_LAN_MAX + HP_PREDICT + 1)

struct hp_sock {
	int	    fd;
	struct addr target[HP_TARGETS_MAX];
	int	    ntargets;
};

struct hp_state {
	const struct hp_plan *plan;
	struct hp_sock	     *socks;
	int		      nsocks;
	int		      listen_only; /* birthday's random side, and
					      portmap's mapped side */
	int		      random_probes;
	struct addr	      seen; /* listener: a peer address that probed */
	int		      have_seen;
	int		      probes;
};

static const uint8_t hp_magic[4] = {'N', 'K', 'P', '1'};

void
hp_packet(uint8_t *b, const uint8_t *session, int type)
{
	memcpy(b, hp_magic, 4);
	memcpy(b + 4, session, NAMED_TOKEN_LEN);
	b[4 + NAMED_TOKEN_LEN] = (uint8_t)type;
}

/* The type of one of our packets for this session, or 0. */
int
hp_parse(const uint8_t *b, size_t n, const uint8_t *session)
{
	if (n != HP_PACKET_LEN || memcmp(b, hp_magic, 4) != 0 ||
	    memcmp(b + 4, session, NAMED_TOKEN_LEN) != 0)
		return 0;
	return b[4 + NAMED_TOKEN_LEN];
}

static void
hp_ttl(int fd, int family, int ttl)
{
	if (family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl,
		    sizeof(ttl));
}

static void
hp_send(struct hp_state *st, int fd, const struct addr *to, int type)
{
	uint8_t b[HP_PACKET_LEN];

	hp_packet(b, st->plan->session, type);
	sendto(fd, b, sizeof(b), 0, (const struct sockaddr *)&to->ss, to->len);
	st->probes++;
}

static void
hp_add_target(struct hp_sock *s, const struct addr *a, int port_step)
{
	int port;

	if (s->ntargets == HP_TARGETS_MAX)
		return;
	s->target[s->ntargets] = *a;
	port = addr_port(a) + port_step;
	if (port < 1 || port > 65535)
		return;
	addr_set_port(&s->target[s->ntargets++], (uint16_t)port);
}

static int
hp_new_socket(const struct client_opts *o, const struct hp_plan *p)
{
	struct addr local;
	int	    fd = client_udp_new(o, addr_family(&p->peer_public));

	client_bind_any(o, fd, &p->peer_public, &local);
	return fd;
}

/* Which sockets send where. */
static void
hp_setup(const struct client_opts *o, struct hp_state *st)
{
	const struct hp_plan *p = st->plan;
	int		      i, j, n = 1;

	if (p->strategy == NAMED_PREDICT && p->my_class == NAMED_INCREMENTING)
		n = HP_PREDICT;
	if (p->strategy == NAMED_BIRTHDAY && p->my_class == NAMED_RANDOM) {
		n = HP_BIRTHDAY;
		st->listen_only = 1;
	}
	if (p->strategy == NAMED_BIRTHDAY && p->my_class != NAMED_RANDOM)
		st->random_probes = 1;
	if (p->strategy == NAMED_PORTMAP && p->my_class == NAMED_MAPPED &&
	    (p->peer_class != NAMED_MAPPED || !p->connector))
		st->listen_only = 1;
	st->socks = calloc((size_t)n, sizeof(*st->socks));
	if (st->socks == NULL)
		client_fail(o, "out of memory");
	st->nsocks = n;
	for (i = 0; i < n; i++) {
		struct hp_sock *s = &st->socks[i];

		s->fd = n == 1 ? p->main_fd : hp_new_socket(o, p);
		if (p->strategy == NAMED_LAN)
			for (j = 0; j < p->npeer_lan; j++)
				hp_add_target(s, &p->peer_lan[j], 0);
		if (p->strategy == NAMED_PREDICT &&
		    p->peer_class == NAMED_INCREMENTING) {
			/* Our socket i meets the peer's socket i; an open
			   side aims at all of them. */
			if (n > 1)
				hp_add_target(s, &p->peer_public,
				    (i + 1) * p->peer_delta);
			else
				for (j = 1; j <= HP_PREDICT; j++)
					hp_add_target(s, &p->peer_public,
					    j * p->peer_delta);
		} else if (p->strategy == NAMED_PORTMAP) {
			if (!st->listen_only) /* the mapped side only answers */
				hp_add_target(s, &p->peer_mapped, 0);
		} else if (!st->random_probes)
			hp_add_target(s, &p->peer_public, 0);
	}
}

/* The TTL-2 round: create our mappings in order, leave no state there. */
static void
hp_open(struct hp_state *st)
{
	int fam = addr_family(&st->plan->peer_public), i, j;

	for (i = 0; i < st->nsocks; i++) {
		hp_ttl(st->socks[i].fd, fam, 2);
		for (j = 0; j < st->socks[i].ntargets; j++)
			hp_send(st, st->socks[i].fd, &st->socks[i].target[j],
			    HP_PROBE);
		if (!st->listen_only)
			hp_ttl(st->socks[i].fd, fam, 64);
	}
}

static void
hp_probe_all(struct hp_state *st)
{
	int i, j;

	for (i = 0; i < st->nsocks; i++)
		for (j = 0; j < st->socks[i].ntargets; j++)
			hp_send(st, st->socks[i].fd, &st->socks[i].target[j],
			    HP_PROBE);
}

/* Birthday probing: n random ports of the peer's IP. */
static void
hp_probe_random(struct hp_state *st, int n)
{
	struct addr to = st->plan->peer_public;
	uint16_t    r[64];
	int	    i;

	if (n > 64)
		n = 64;
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return;
	for (i = 0; i < n; i++) {
		addr_set_port(&to, (uint16_t)(1024 + r[i] % (65536 - 1024)));
		hp_send(st, st->socks[0].fd, &to, HP_PROBE);
	}
}

/* A datagram on socket s: 1 when the path is chosen. */
static int
hp_input(struct hp_state *st, struct hp_sock *s, struct hp_result *r)
{
	struct sockaddr_storage ss;
	struct addr		from;
	uint8_t			b[2048];
	socklen_t		len = sizeof(ss);
	ssize_t			n;
	int			type, i;

	n = recvfrom(s->fd, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&ss,
	    &len);
	if (n < 0 || addr_from_sa(&from, (struct sockaddr *)&ss, len) == -1)
		return 0;
	type = hp_parse(b, (size_t)n, st->plan->session);
	if (addr_equal(&from, &st->plan->peer_public) == 0 && type == 0 &&
	    !(st->have_seen && addr_equal(&from, &st->seen)))
		return 0; /* a stranger's packet */
	if (st->listen_only)
		hp_ttl(s->fd, addr_family(&from), 64);
	if (type == HP_PROBE)
		hp_send(st, s->fd, &from, HP_ACK);
	if (st->plan->connector && (type == HP_PROBE || type == HP_ACK)) {
		for (i = 0; i < HP_SELECTS; i++)
			hp_send(st, s->fd, &from, HP_SELECT);
	} else if (type == HP_PROBE || type == HP_ACK) {
		st->seen = from;
		st->have_seen = 1;
		return 0;
	} else if (type != HP_SELECT &&
	    !(type == 0 && st->have_seen && addr_equal(&from, &st->seen)))
		return 0;
	r->fd = s->fd;
	r->peer = from;
	return 1;
}

static void
hp_close_others(struct hp_state *st, int keep)
{
	int i;

	for (i = 0; i < st->nsocks; i++)
		if (st->socks[i].fd != keep &&
		    st->socks[i].fd != st->plan->main_fd)
			close(st->socks[i].fd);
	free(st->socks);
}

/*
 * Punch as planned; 0 with the path in r, or -1 when no path opened
 * within the plan's timeout.
 */
int
holepunch(const struct client_opts *o, const struct hp_plan *p,
    struct hp_result *r)
{
	struct hp_state st;
	struct pollfd  *pfd;
	int64_t		start, deadline, next_probe, now;
	int		i, rv = -1;

	memset(&st, 0, sizeof(st));
	memset(r, 0, sizeof(*r));
	st.plan = p;
	if (p->delay_ms > 0)
		poll(NULL, 0, p->delay_ms);
	start = client_now_ms();
	deadline = start + p->timeout_ms;
	hp_setup(o, &st);
	if ((pfd = calloc((size_t)st.nsocks, sizeof(*pfd))) == NULL)
		client_fail(o, "out of memory");
	for (i = 0; i < st.nsocks; i++) {
		pfd[i].fd = st.socks[i].fd;
		pfd[i].events = POLLIN;
	}
	/* A mapped port keeps no state to protect: probe it at once. */
	if (p->strategy == NAMED_PORTMAP)
		next_probe = start;
	else {
		hp_open(&st);
		next_probe = start +
		    (p->rtt_ms > HP_OPEN_MS ? p->rtt_ms : HP_OPEN_MS);
	}
	while (rv == -1 && (now = client_now_ms()) < deadline) {
		if (now >= next_probe && !st.listen_only) {
			if (st.random_probes)
				hp_probe_random(&st, HP_PROBE_RATE / 100);
			else
				hp_probe_all(&st);
			next_probe =
			    now + (st.random_probes ? 10 : HP_RESEND_MS);
		}
		if (poll(pfd, (nfds_t)st.nsocks, 10) <= 0)
			continue;
		for (i = 0; i < st.nsocks && rv == -1; i++)
			if ((pfd[i].revents & POLLIN) &&
			    hp_input(&st, &st.socks[i], r))
				rv = 0;
	}
	r->ms = (int)(client_now_ms() - start);
	r->probes = st.probes;
	free(pfd);
	hp_close_others(&st, rv == 0 ? r->fd : -1);
	return rv;
}
