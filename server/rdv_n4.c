/*
 * N4 pairing, byte-compatible with n4.py.  A client says HELLO with its
 * ident over TCP and waits; the next client with that ident is its peer,
 * and both get READY.  Each then sends EXCHANGE datagrams, and the server
 * tells each side, as PEERINFO, the address the other's datagram came
 * from, then closes.  Unlike n4.py it serves any number of idents, and
 * the two clients of a pair may be held by different workers:
 *
 *   W|ident	   the client waiting for a peer (connection id, worker)
 *   X|ident|ip	   who sends EXCHANGE from ip, and whom to tell
 *
 * A datagram is tied to its client by (ident, source IP), as n4.py does,
 * and, where two clients share the IP (one NAT), by its source port:
 * n4.py sends TCP and UDP from one port, which a port-preserving NAT
 * keeps.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "log.h"
#include "n4.h"
#include "rendezvous.h"

enum n4_state { N4_GREETING, N4_WAITING, N4_PAIRED };

struct n4_conn {
	struct wconn	   base;
	struct worker	  *w;
	int		   fd;
	struct event	  *read, *timer;
	enum n4_state	   state;
	uint8_t		   ident[N4_IDENT_LEN];
	struct sockaddr_in peer;
	struct addr	   from; /* as accepted: its gate_leave */
	uint8_t		   buf[N4_SIZE];
	size_t		   have;
};

struct n4_waiter {
	uint64_t conn;
	uint16_t ordinal;
};

/* One side of a pair, as the X record keeps it (two when both share ip). */
struct n4_side {
	uint64_t self, other;
	uint16_t self_ordinal, other_ordinal;
	uint16_t udp_port; /* network order; 0 until its EXCHANGE came */
	uint16_t tcp_port; /* network order: its HELLO's source port */
};

struct n4_route {
	uint8_t	       n;
	struct n4_side side[2];
};


static void n4_close(struct n4_conn *);

/* The IPv4 address of sa, also when it is v4-mapped; -1 for IPv6. */
static int
n4_v4(const struct sockaddr *sa, struct sockaddr_in *out)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	if (sa->sa_family == AF_INET) {
		*out = *(const struct sockaddr_in *)sa;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(&out->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
		out->sin_port = s6->sin6_port;
		return 0;
	}
	return -1;
}

static size_t
n4_key(uint8_t *key, char tag, const uint8_t *ident, const struct in_addr *ip)
{
	key[0] = (uint8_t)tag;
	memcpy(key + 1, ident, N4_IDENT_LEN);
	if (ip == NULL)
		return 1 + N4_IDENT_LEN;
	memcpy(key + 1 + N4_IDENT_LEN, ip, 4);
	return 1 + N4_IDENT_LEN + 4;
}

static int
n4_send(struct n4_conn *c, const struct n4_packet *p)
{
	uint8_t b[N4_SIZE];

	n4_pack(p, b);
	/* 8 bytes to a socket that has sent nothing back: never partial. */
	return send(c->fd, b, sizeof(b), MSG_NOSIGNAL | MSG_DONTWAIT) ==
		(ssize_t)sizeof(b)
	    ? 0
	    : -1;
}

/* Forget a waiting client's W record, if it is still this client's. */
static enum table_action
n4_unwait_fn(void *val, size_t *len, int found, void *arg)
{
	struct n4_waiter *wt = val;

	(void)len;
	if (found && wt->conn == *(uint64_t *)arg)
		return TABLE_DELETE;
	return TABLE_KEEP;
}

static void
n4_close(struct n4_conn *c)
{
	uint8_t key[TABLE_KEY_MAX];

	if (c->state == N4_WAITING)
		table_update(c->w->state->table, TABLE_KIND_N4, key,
		    n4_key(key, 'W', c->ident, NULL), n4_unwait_fn, &c->base.id,
		    0, table_now_ms());
	wconn_remove(&c->base);
	event_free(c->read);
	event_free(c->timer);
	close(c->fd);
	gate_leave(LISTEN_N4, (struct sockaddr *)&c->from.ss);
	free(c);
}

/* Take the waiting client for this ident, or become it. */
static enum table_action
n4_wait_fn(void *val, size_t *len, int found, void *arg)
{
	struct n4_waiter *wt = val, *me = arg;

	if (found && *len == sizeof(*wt) && wt->conn != me->conn) {
		struct n4_waiter peer = *wt;

		*wt = *me;
		*me = peer; /* the caller learns its peer */
		return TABLE_DELETE;
	}
	*wt = *me;
	*len = sizeof(*wt);
	me->conn = 0;
	return TABLE_STORE;
}

/* Add one side to the X record of its (ident, ip). */
static enum table_action
n4_route_add_fn(void *val, size_t *len, int found, void *arg)
{
	struct n4_route *r = val;

	if (!found || *len != sizeof(*r))
		memset(r, 0, sizeof(*r));
	if (r->n == 2) /* an older pair from this ip: the new one wins */
		r->n = 0;
	r->side[r->n++] = *(struct n4_side *)arg;
	*len = sizeof(*r);
	return TABLE_STORE;
}

static void
n4_route_add(struct n4_conn *c, const struct in_addr *ip, uint64_t self,
    int self_ord, uint64_t other, int other_ord)
{
	struct n4_side s = {self, other, (uint16_t)self_ord,
	    (uint16_t)other_ord, 0, c->peer.sin_port};
	uint8_t	       key[TABLE_KEY_MAX];

	table_update(c->w->state->table, TABLE_KIND_N4, key,
	    n4_key(key, 'X', c->ident, ip), n4_route_add_fn, &s,
	    (int64_t)c->w->conf->wait_timeout * 1000, table_now_ms());
}

static void
n4_paired(struct n4_conn *c)
{
	struct n4_packet p = {.cmd = N4_READY};
	struct timeval	 tv = {c->w->conf->wait_timeout, 0};

	if (n4_send(c, &p) == -1) {
		n4_close(c);
		return;
	}
	c->state = N4_PAIRED;
	evtimer_add(c->timer, &tv);
}

static void
n4_hello(struct n4_conn *c, const struct n4_packet *p)
{
	struct worker	*w = c->w;
	struct n4_waiter me = {c->base.id, (uint16_t)w->ordinal};
	uint8_t		 key[TABLE_KEY_MAX];
	struct in_addr	 peer_ip;

	memcpy(c->ident, p->ident, N4_IDENT_LEN);
	if (table_update(w->state->table, TABLE_KIND_N4, key,
		n4_key(key, 'W', c->ident, NULL), n4_wait_fn, &me,
		(int64_t)w->conf->wait_timeout * 1000, table_now_ms()) == -1) {
		proc_count(w, STAT_ERRORS);
		n4_close(c);
		return;
	}
	if (me.conn == 0) {
		c->state = N4_WAITING;
		return;
	}
	/*
	 * Paired with me.conn.  Its ip is not in the W record; the holder
	 * adds its own route when READY reaches it.
	 */
	proc_count(w, STAT_PAIRED);
	(void)peer_ip;
	n4_route_add(c, &c->peer.sin_addr, c->base.id, w->ordinal, me.conn,
	    me.ordinal);
	if (wmail_send(w, me.ordinal, me.conn, MAIL_N4_READY, &c->base.id,
		sizeof(c->base.id), c->base.id) == -1) {
		n4_close(c);
		return;
	}
	n4_paired(c);
}

static void
n4_mail(struct wconn *rc, const struct wmail *m, int fd)
{
	struct n4_conn *c = (struct n4_conn *)rc;

	(void)fd; /* N4 mail carries none */
	struct n4_packet p;
	uint64_t	 other;

	switch (m->type) {
	case MAIL_N4_READY:
		if (c->state != N4_WAITING || m->len != sizeof(other))
			break;
		memcpy(&other, m->body, sizeof(other));
		n4_route_add(c, &c->peer.sin_addr, c->base.id, c->w->ordinal,
		    other, m->from_ordinal);
		n4_paired(c);
		break;
	case MAIL_N4_PEERINFO:
		if (c->state != N4_PAIRED ||
		    m->len != sizeof(struct sockaddr_in))
			break;
		memset(&p, 0, sizeof(p));
		p.cmd = N4_PEERINFO;
		memcpy(&p.addr, m->body, sizeof(p.addr));
		if (n4_send(c, &p) == 0)
			proc_count(c->w, STAT_REPLIES);
		n4_close(c); /* its work is done, as in n4.py */
		break;
	case MAIL_GONE:
		/* The peer left before the pair was made whole. */
		n4_close(c);
		break;
	}
}

static void
n4_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct n4_conn	*c = arg;
	struct n4_packet p;
	ssize_t		 n;

	(void)ev;
	n = recv(fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		n4_close(c);
		return;
	}
	if (c->state != N4_GREETING) {
		/* Nothing more is expected after HELLO. */
		proc_count(c->w, STAT_ERRORS);
		n4_close(c);
		return;
	}
	if ((c->have += (size_t)n) < sizeof(c->buf))
		return;
	proc_count(c->w, STAT_REQUESTS);
	if (n4_parse(c->buf, c->have, &p) == -1 || p.cmd != N4_HELLO) {
		proc_count(c->w, STAT_ERRORS);
		n4_close(c);
		return;
	}
	c->have = 0;
	n4_hello(c, &p);
}

static void
n4_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct n4_conn *c = arg;

	(void)fd;
	(void)ev;
	proc_count(c->w, STAT_TIMEOUTS);
	n4_close(c);
}

void
rdv_n4_accept(struct worker *w, struct listener *l, int fd,
    const struct addr *peer)
{
	struct timeval	tv = {w->conf->wait_timeout, 0};
	struct n4_conn *c;

	(void)l;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		gate_leave(LISTEN_N4, (const struct sockaddr *)&peer->ss);
		proc_count(w, STAT_NOMEM);
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->from = *peer;
	c->base.mail = n4_mail;
	if (n4_v4((const struct sockaddr *)&peer->ss, &c->peer) == -1 ||
	    wconn_add(&c->base) == -1) {
		/* N4 is IPv4 only: PEERINFO has 4 address bytes. */
		proc_count(w, STAT_TCP_REFUSED);
		gate_leave(LISTEN_N4, (const struct sockaddr *)&peer->ss);
		free(c);
		close(fd);
		return;
	}
	c->read = event_new(w->base, fd, EV_READ | EV_PERSIST, n4_read_cb, c);
	c->timer = evtimer_new(w->base, n4_timer_cb, c);
	if (c->read == NULL || c->timer == NULL) {
		/* Refused, not fatal: the worker serves everyone else. */
		if (c->read != NULL)
			event_free(c->read);
		wconn_remove(&c->base);
		gate_leave(LISTEN_N4, (const struct sockaddr *)&peer->ss);
		free(c);
		close(fd);
		proc_count(w, STAT_NOMEM);
		return;
	}
	event_add(c->read, NULL);
	evtimer_add(c->timer, &tv);
}

/* Mark the side whose EXCHANGE this is; *out gets it. */
static enum table_action
n4_exchange_fn(void *val, size_t *len, int found, void *arg)
{
	struct n4_route *r = val;
	struct n4_side	*out = arg;
	int		 i, pick, pending = 0;

	if (!found || *len != sizeof(*r))
		return TABLE_KEEP;
	for (i = 0; i < r->n; i++)
		if (r->side[i].udp_port == out->udp_port)
			return TABLE_KEEP; /* a repeat of one already told */
	/* The side that sent its HELLO from this port, else the first. */
	for (pick = -1, i = 0; i < r->n; i++)
		if (r->side[i].udp_port == 0 &&
		    (pick == -1 || r->side[i].tcp_port == out->udp_port))
			pick = i;
	if (pick != -1) {
		r->side[pick].udp_port = out->udp_port;
		*out = r->side[pick];
		out->self = 1; /* found */
	}
	for (i = 0; i < r->n; i++)
		pending += r->side[i].udp_port == 0;
	return pending == 0 && r->n == 2 ? TABLE_DELETE : TABLE_STORE;
}

static void
n4_exchange(struct worker *w, const struct n4_packet *p,
    const struct sockaddr_in *from)
{
	struct n4_side s;
	uint8_t	       key[TABLE_KEY_MAX];

	memset(&s, 0, sizeof(s));
	s.udp_port = from->sin_port;
	if (from->sin_port == 0)
		return;
	table_update(w->state->table, TABLE_KIND_N4, key,
	    n4_key(key, 'X', p->ident, &from->sin_addr), n4_exchange_fn, &s,
	    (int64_t)w->conf->wait_timeout * 1000, table_now_ms());
	if (s.self == 0) {
		proc_count(w, STAT_DROP_JUNK); /* no client waits for it */
		return;
	}
	wmail_send(w, s.other_ordinal, s.other, MAIL_N4_PEERINFO, from,
	    sizeof(*from), 0);
}

void
rdv_n4_dgram(struct worker *w, struct listener *l)
{
	struct sockaddr_storage ss;
	struct sockaddr_in	from;
	struct n4_packet	p;
	uint8_t			buf[64];
	socklen_t		len;
	ssize_t			n;
	int			i;

	for (i = 0; i < 64; i++) {
		len = sizeof(ss);
		n = recvfrom(l->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
		    (struct sockaddr *)&ss, &len);
		if (n == -1)
			return;
		if (n4_parse(buf,
			n > (ssize_t)sizeof(buf) ? sizeof(buf) : (size_t)n,
			&p) == -1 ||
		    p.cmd != N4_EXCHANGE ||
		    n4_v4((struct sockaddr *)&ss, &from) == -1) {
			proc_count(w, STAT_DROP_JUNK);
			continue;
		}
		proc_count(w, STAT_REQUESTS);
		n4_exchange(w, &p, &from);
	}
}
