/*
 * TURN allocations of one tracker worker.  SO_REUSEPORT keeps a
 * client's 5-tuple on the worker that owns its shard of port 3478, so
 * the allocation, its relayed socket and its peers' datagrams all live
 * here, in a hash table keyed by (listener, client address) under a
 * random SipHash key.  A worker that dies loses its allocations (the
 * kernel closes the relayed sockets); its clients are answered 437 and
 * allocate again.  A reload restarts the tracker workers: the same.
 *
 * Permissions and channels are small arrays grown on demand up to
 * turn.max_permissions and turn.max_channels, so an idle allocation
 * costs its struct, its event and its socket.  One timer a second
 * expires allocations, permissions and channels.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <event2/event.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"
#include "siphash.h"
#include "stun.h"
#include "table.h"
#include "turn.h"

#define TURN_BATCH	 16
#define TURN_BATCHES	 4    /* per read event, for fairness */
#define TURN_HEAD	 48   /* room for a Data indication's header */
#define TURN_PAYLOAD_MAX 4096 /* longer datagrams are dropped */
#define TURN_PORT_TRIES	 64
#define TURN_CTL_LEN	 CMSG_SPACE(sizeof(struct in6_pktinfo))

struct turn_perm {
	struct turn_addr peer;
	int64_t		 until_ms;
};

struct turn_chan {
	struct turn_addr peer;
	uint16_t	 num;
	int64_t		 until_ms;
};

struct turn_alloc {
	struct turn_alloc *next; /* in its hash chain */
	struct worker	  *w;
	struct listener	  *l;
	struct turn_addr   client, local, relayed;
	int		   fd;
	struct event	  *ev;
	int64_t		   until_ms;
	uint8_t		   tid[12]; /* of the Allocate, for retransmits */
	struct turn_cred   cred;
	int		   nperm, nchan, capperm, capchan;
	struct turn_perm  *perm;
	struct turn_chan  *chan;
	int64_t		   tokens, refill_ms; /* turn.max_bps bucket */
};

/* A port held by EVEN-PORT's R bit for a RESERVATION-TOKEN. */
struct turn_resv {
	struct turn_resv *next;
	uint8_t		  token[TURN_TOKEN_LEN];
	int		  fd;
	struct turn_addr  bound;
};

/* How many allocations each user holds here (turn.user_quota). */
struct turn_owner {
	struct turn_owner *next;
	int		   n;
	char		   name[TURN_USER_MAX + 1];
};

static struct turn_alloc **turn_hash;
static size_t		   turn_nbuckets, turn_count;
static struct turn_owner  *turn_owners[256];
static struct turn_resv	  *turn_resvs;
static int		   turn_nresv;
static uint8_t		   turn_hash_key[16];
static struct event	  *turn_sweep_ev;
static uint8_t		   turn_ind_tid[12]; /* Data indications' ids */

/* Buffers for datagrams from peers, allocated once. */
static struct {
	struct mmsghdr		in[TURN_BATCH], out[TURN_BATCH];
	struct iovec		iov_in[TURN_BATCH], iov_out[TURN_BATCH];
	struct sockaddr_storage from[TURN_BATCH], to;
	uint8_t			buf[TURN_BATCH][TURN_HEAD + TURN_PAYLOAD_MAX + 4];
	char			ctl[TURN_CTL_LEN];
} tp;

static void turn_sweep_cb(evutil_socket_t, short, void *);
static void turn_peer_cb(evutil_socket_t, short, void *);

static size_t
turn_bucket(const struct listener *l, const struct turn_addr *client)
{
	uint8_t k[sizeof(*client) + sizeof(l)];

	memcpy(k, client, sizeof(*client));
	memcpy(k + sizeof(*client), &l, sizeof(l));
	return (size_t)siphash24(turn_hash_key, k, sizeof(k)) &
	    (turn_nbuckets - 1);
}

static struct turn_owner **
turn_owner_slot(const char *name)
{
	struct turn_owner **o;

	o = &turn_owners[siphash24(turn_hash_key, name, strlen(name)) & 255];
	while (*o != NULL && strcmp((*o)->name, name) != 0)
		o = &(*o)->next;
	return o;
}

int
turn_alloc_user_count(const char *name)
{
	struct turn_owner **o = turn_owner_slot(name);

	return *o != NULL ? (*o)->n : 0;
}

/* Count one more (or one less) allocation of a user: -1 without memory. */
static int
turn_owner_add(const char *name, int d)
{
	struct turn_owner **o = turn_owner_slot(name), *dead;

	if (*o == NULL) {
		if (d < 0 || (*o = calloc(1, sizeof(**o))) == NULL)
			return -1;
		snprintf((*o)->name, sizeof((*o)->name), "%s", name);
	}
	(*o)->n += d;
	if ((*o)->n <= 0) {
		dead = *o;
		*o = dead->next;
		free(dead);
	}
	return 0;
}

/* Grow the table when it holds more allocations than buckets. */
static void
turn_grow(void)
{
	struct turn_alloc **old = turn_hash, *a, *next;
	size_t		    n = turn_nbuckets, i, b;

	if (turn_count < turn_nbuckets)
		return;
	turn_hash = calloc(n * 2, sizeof(*turn_hash));
	if (turn_hash == NULL) {
		turn_hash = old;
		return; /* longer chains, no harm */
	}
	turn_nbuckets = n * 2;
	for (i = 0; i < n; i++)
		for (a = old[i]; a != NULL; a = next) {
			next = a->next;
			b = turn_bucket(a->l, &a->client);
			a->next = turn_hash[b];
			turn_hash[b] = a;
		}
	free(old);
}

void
turn_alloc_start(struct worker *w)
{
	struct timeval sec = {1, 0};

	turn_auth_init();
	randombytes_buf(turn_hash_key, sizeof(turn_hash_key));
	randombytes_buf(turn_ind_tid, sizeof(turn_ind_tid));
	turn_nbuckets = 1024;
	if ((turn_hash = calloc(turn_nbuckets, sizeof(*turn_hash))) == NULL)
		fatal("turn: calloc");
	turn_sweep_ev = event_new(w->base, -1, EV_PERSIST, turn_sweep_cb, w);
	if (turn_sweep_ev == NULL || event_add(turn_sweep_ev, &sec) == -1)
		fatalx("turn: timer");
}

struct turn_alloc *
turn_alloc_find(struct listener *l, const struct sockaddr *client)
{
	struct turn_addr   key;
	struct turn_alloc *a;

	if (turn_hash == NULL)
		return NULL;
	turn_addr_set(&key, client);
	for (a = turn_hash[turn_bucket(l, &key)]; a != NULL; a = a->next)
		if (a->l == l && memcmp(&a->client, &key, sizeof(key)) == 0)
			return a;
	return NULL;
}

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
	span = (uint32_t)(c->turn_port_range.high - c->turn_port_range.low) +
	    1;
	for (i = 0; i < TURN_PORT_TRIES; i++) {
		int port = c->turn_port_range.low +
		    (int)randombytes_uniform(span);

		if ((flags & TURN_EVEN) && (port & 1) &&
		    --port < c->turn_port_range.low)
			continue;
		if ((flags & TURN_RESERVE) && port + 1 > c->turn_port_range.high)
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

/*
 * Hold a port for a later Allocate with the token (section 7.2).  That
 * Allocate comes from another client port, so maybe to another worker:
 * the token and the port go into the shared table, the socket (bound
 * with SO_REUSEPORT) stays here.  The worker that takes the token binds
 * the port beside it; this one closes its socket at its next sweep,
 * when the record is gone.
 */
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
static void
turn_resv_expire(struct worker *w, int64_t now)
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

/* A new allocation for a client, or NULL with why and a code. */
struct turn_alloc *
turn_alloc_new(struct worker *w, struct listener *l,
    const struct sockaddr *client, const struct sockaddr *local, int family,
    int flags, const struct turn_cred *cred, const uint8_t *tid,
    uint8_t *token, const char **why, int *code)
{
	struct turn_alloc *a;
	int		   next = -1;
	struct addr	   ext;
	const char	  *e;
	size_t		   b;

	*code = 508;
	*why = "out of memory";
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->w = w;
	a->l = l;
	a->fd = -1;
	turn_addr_set(&a->client, client);
	turn_addr_set(&a->local, local);
	memcpy(a->tid, tid, sizeof(a->tid));
	a->cred = *cred;
	a->tokens = w->conf->turn_max_bps;
	if (flags & TURN_TAKE) {
		if ((a->fd = turn_unreserve(w, token, &a->relayed)) == -1) {
			*why = "no port is held for this token";
			goto fail;
		}
		family = a->relayed.family;
	} else if ((a->fd = turn_socket(w, family, local, flags, &a->relayed,
			&next, code)) == -1) {
		*why = *code == 440 ? "no relay address of that family"
				    : "no relay port free";
		goto fail;
	}
	if ((flags & TURN_RESERVE) &&
	    turn_reserve(w, next, &a->relayed, token) == -1) {
		*why = "no room to hold a port";
		goto fail;
	}
	/* Behind a 1:1 NAT the world sees server.external_address. */
	if (w->conf->external_address[0] != '\0' &&
	    addr_parse_ip(w->conf->external_address, &ext, &e) == 0 &&
	    addr_family(&ext) == family) {
		uint16_t port = a->relayed.port;

		turn_addr_set(&a->relayed, (struct sockaddr *)&ext.ss);
		a->relayed.port = port;
	}
	a->ev = event_new(w->base, a->fd, EV_READ | EV_PERSIST, turn_peer_cb,
	    a);
	if (a->ev == NULL || event_add(a->ev, NULL) == -1 ||
	    turn_owner_add(cred->user, 1) == -1)
		goto fail;
	b = turn_bucket(l, &a->client);
	a->next = turn_hash[b];
	turn_hash[b] = a;
	turn_count++;
	w->slot->gauge[GAUGE_TURN] = (int64_t)turn_count;
	turn_grow();
	return a;
fail:
	if (a->ev != NULL)
		event_free(a->ev);
	if (a->fd != -1)
		close(a->fd);
	free(a);
	return NULL;
}

void
turn_alloc_free(struct turn_alloc *a)
{
	struct turn_alloc **p = &turn_hash[turn_bucket(a->l, &a->client)];

	while (*p != a)
		p = &(*p)->next;
	*p = a->next;
	turn_count--;
	a->w->slot->gauge[GAUGE_TURN] = (int64_t)turn_count;
	turn_owner_add(a->cred.user, -1);
	event_free(a->ev);
	close(a->fd);
	free(a->perm);
	free(a->chan);
	free(a);
}

void
turn_alloc_refresh(struct turn_alloc *a, uint32_t lifetime)
{
	a->until_ms = table_now_ms() + (int64_t)lifetime * 1000;
}

const char *
turn_alloc_user(const struct turn_alloc *a)
{
	return a->cred.user;
}

const uint8_t *
turn_alloc_tid(const struct turn_alloc *a)
{
	return a->tid;
}

int
turn_alloc_family(const struct turn_alloc *a)
{
	return a->relayed.family;
}

void
turn_alloc_relayed(const struct turn_alloc *a, struct sockaddr_storage *ss)
{
	turn_addr_get(&a->relayed, ss);
}

/* Room for entry n of an array of size-byte entries (at most max). */
static int
turn_room(void **v, int *cap, int n, int max, size_t size)
{
	void *nv;
	int   want;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -1;
	want = *cap == 0 ? 4 : *cap * 2;
	if (want > max)
		want = max;
	if ((nv = realloc(*v, (size_t)want * size)) == NULL)
		return -1;
	*v = nv;
	*cap = want;
	return 0;
}

/* Install or refresh a permission for peer's IP: 0, or -1 when full. */
int
turn_alloc_permit(struct turn_alloc *a, const struct turn_addr *peer,
    int seconds)
{
	int64_t until = table_now_ms() + (int64_t)seconds * 1000;
	int	i;

	for (i = 0; i < a->nperm; i++)
		if (turn_addr_same_ip(&a->perm[i].peer, peer)) {
			a->perm[i].until_ms = until;
			return 0;
		}
	if (turn_room((void **)&a->perm, &a->capperm, a->nperm,
		a->w->conf->turn_max_permissions, sizeof(*a->perm)) == -1)
		return -1;
	a->perm[a->nperm].peer = *peer;
	a->perm[a->nperm++].until_ms = until;
	return 0;
}

/*
 * Bind a channel to a peer, or refresh the binding (section 11.2):
 * 0, 400 when the number or the peer is bound otherwise, 508 when full.
 */
int
turn_alloc_bind(struct turn_alloc *a, uint16_t num,
    const struct turn_addr *peer)
{
	int64_t until = table_now_ms() + TURN_CHANNEL_S * 1000;
	int	i;

	for (i = 0; i < a->nchan; i++) {
		int same_num = a->chan[i].num == num,
		    same_peer = memcmp(&a->chan[i].peer, peer,
				    sizeof(*peer)) == 0;

		if (same_num != same_peer)
			return 400;
		if (same_num)
			break;
	}
	if (i == a->nchan) {
		if (turn_room((void **)&a->chan, &a->capchan, a->nchan,
			a->w->conf->turn_max_channels, sizeof(*a->chan)) == -1)
			return 508;
		a->chan[i].num = num;
		a->chan[i].peer = *peer;
		a->nchan++;
	}
	if (turn_alloc_permit(a, peer, TURN_PERMISSION_S) == -1)
		return 508;
	a->chan[i].until_ms = until;
	return 0;
}

static int
turn_permitted(const struct turn_alloc *a, const struct turn_addr *peer)
{
	int i;

	for (i = 0; i < a->nperm; i++)
		if (turn_addr_same_ip(&a->perm[i].peer, peer))
			return 1;
	return 0;
}

/* Spend len bytes of the allocation's turn.max_bps: 0, or -1 when over. */
static int
turn_spend(struct turn_alloc *a, size_t len)
{
	int64_t bps = a->w->conf->turn_max_bps, now;

	if (bps == 0)
		return 0;
	now = table_now_ms();
	a->tokens += (now - a->refill_ms) * bps / 1000;
	a->refill_ms = now;
	if (a->tokens > bps)
		a->tokens = bps;
	if (a->tokens < (int64_t)len) {
		proc_count(a->w, STAT_TURN_OVER_BPS);
		return -1;
	}
	a->tokens -= (int64_t)len;
	return 0;
}

static void
turn_to_peer(struct turn_alloc *a, const struct sockaddr *peer,
    socklen_t plen, const uint8_t *data, size_t len)
{
	if (turn_spend(a, len) == -1)
		return;
	if (sendto(a->fd, data, len, MSG_DONTWAIT, peer, plen) == -1) {
		proc_count(a->w, STAT_DROP_SEND);
		return;
	}
	a->w->slot->counter[STAT_TURN_PKTS_OUT]++;
	a->w->slot->counter[STAT_TURN_BYTES_OUT] += len;
}

/* A Send indication's data, to a peer with a permission. */
void
turn_alloc_send(struct turn_alloc *a, const struct sockaddr *peer,
    const uint8_t *data, size_t len)
{
	struct turn_addr p;

	turn_addr_set(&p, peer);
	if (peer->sa_family != a->relayed.family || !turn_permitted(a, &p)) {
		proc_count(a->w, STAT_TURN_NO_PERM);
		return;
	}
	turn_to_peer(a, peer,
	    peer->sa_family == AF_INET ? sizeof(struct sockaddr_in)
				       : sizeof(struct sockaddr_in6),
	    data, len);
}

/* ChannelData's payload, to the peer bound to the channel. */
void
turn_alloc_channel_send(struct turn_alloc *a, uint16_t num,
    const uint8_t *data, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t		sl;
	int			i;

	for (i = 0; i < a->nchan; i++)
		if (a->chan[i].num == num)
			break;
	if (i == a->nchan || !turn_permitted(a, &a->chan[i].peer)) {
		proc_count(a->w, STAT_TURN_NO_PERM);
		return;
	}
	sl = turn_addr_get(&a->chan[i].peer, &ss);
	turn_to_peer(a, (struct sockaddr *)&ss, sl, data, len);
}

/* The control message that sends from the address the client used. */
static void
turn_source(const struct turn_alloc *a, struct msghdr *h)
{
	struct cmsghdr *c;

	h->msg_control = tp.ctl;
	c = (struct cmsghdr *)tp.ctl;
	if (a->local.family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, a->local.ip, 4);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, a->local.ip, 16);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
	}
}

/*
 * Wrap a peer's datagram at buf + TURN_HEAD (len bytes) for the client:
 * ChannelData when a channel is bound to the peer, else a Data
 * indication.  Returns where the message starts, its length in *out.
 */
static uint8_t *
turn_wrap(struct turn_alloc *a, uint8_t *buf, size_t len,
    const struct sockaddr *peer, const struct turn_addr *p, size_t *out)
{
	struct stunbuf b;
	uint8_t	       head[TURN_HEAD], *at;
	size_t	       pad = (4 - (len & 3)) & 3;
	int	       i;

	for (i = 0; i < a->nchan; i++)
		if (memcmp(&a->chan[i].peer, p, sizeof(*p)) == 0) {
			at = buf + TURN_HEAD - 4;
			at[0] = (uint8_t)(a->chan[i].num >> 8);
			at[1] = (uint8_t)a->chan[i].num;
			at[2] = (uint8_t)(len >> 8);
			at[3] = (uint8_t)len;
			*out = len + 4;
			return at;
		}
	/* Indications need unique ids only: a counter in a random id. */
	for (i = 11; i >= 0 && ++turn_ind_tid[i] == 0; i--)
		;
	stunbuf_start(&b, head, sizeof(head),
	    (uint16_t)(TURN_DATA | STUNMSG_CLASS_INDICATION), turn_ind_tid);
	stunbuf_xaddr(&b, TURN_ATTR_XOR_PEER_ADDRESS, peer);
	head[b.len] = (uint8_t)(TURN_ATTR_DATA >> 8);
	head[b.len + 1] = (uint8_t)TURN_ATTR_DATA;
	head[b.len + 2] = (uint8_t)(len >> 8);
	head[b.len + 3] = (uint8_t)len;
	b.len += 4;
	head[2] = (uint8_t)((b.len - STUN_HDR_LEN + len + pad) >> 8);
	head[3] = (uint8_t)(b.len - STUN_HDR_LEN + len + pad);
	at = buf + TURN_HEAD - b.len;
	memcpy(at, head, b.len);
	memset(buf + TURN_HEAD + len, 0, pad);
	*out = b.len + len + pad;
	return at;
}

/* Datagrams from peers: to the client, if permitted. */
static void
turn_peer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct turn_alloc *a = arg;
	struct worker	  *w = a->w;
	socklen_t	   tolen;
	int		   i, n, nout, b, sent;

	(void)ev;
	tolen = turn_addr_get(&a->client, &tp.to);
	for (b = 0; b < TURN_BATCHES; b++) {
		for (i = 0; i < TURN_BATCH; i++) {
			struct msghdr *h = &tp.in[i].msg_hdr;

			memset(h, 0, sizeof(*h));
			tp.iov_in[i].iov_base = tp.buf[i] + TURN_HEAD;
			tp.iov_in[i].iov_len = TURN_PAYLOAD_MAX;
			h->msg_iov = &tp.iov_in[i];
			h->msg_iovlen = 1;
			h->msg_name = &tp.from[i];
			h->msg_namelen = sizeof(tp.from[i]);
		}
		if ((n = recvmmsg(fd, tp.in, TURN_BATCH, MSG_DONTWAIT, NULL)) <=
		    0)
			return;
		for (i = 0, nout = 0; i < n; i++) {
			struct msghdr	*o = &tp.out[nout].msg_hdr;
			struct turn_addr p;
			size_t		 len = tp.in[i].msg_len, olen;

			turn_addr_set(&p, (struct sockaddr *)&tp.from[i]);
			if (tp.in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				proc_count(w, STAT_DROP_JUNK);
				continue;
			}
			if (!turn_permitted(a, &p)) {
				proc_count(w, STAT_TURN_NO_PERM);
				continue;
			}
			if (turn_spend(a, len) == -1)
				continue;
			memset(o, 0, sizeof(*o));
			tp.iov_out[nout].iov_base = turn_wrap(a, tp.buf[i], len,
			    (struct sockaddr *)&tp.from[i], &p, &olen);
			tp.iov_out[nout].iov_len = olen;
			o->msg_iov = &tp.iov_out[nout];
			o->msg_iovlen = 1;
			o->msg_name = &tp.to;
			o->msg_namelen = tolen;
			turn_source(a, o);
			w->slot->counter[STAT_TURN_BYTES_IN] += len;
			nout++;
		}
		for (i = 0; i < nout; i += sent) {
			sent = sendmmsg(a->l->fd, tp.out + i,
			    (unsigned)(nout - i), MSG_DONTWAIT);
			if (sent <= 0) {
				proc_count(w, STAT_DROP_SEND);
				sent = 1;
			} else
				w->slot->counter[STAT_TURN_PKTS_IN] +=
				    (uint64_t)sent;
		}
	}
}

/* Drop what expired from one allocation's permissions and channels. */
static void
turn_expire(struct turn_alloc *a, int64_t now)
{
	int i, k;

	for (i = k = 0; i < a->nperm; i++)
		if (a->perm[i].until_ms > now)
			a->perm[k++] = a->perm[i];
	a->nperm = k;
	for (i = k = 0; i < a->nchan; i++)
		if (a->chan[i].until_ms > now)
			a->chan[k++] = a->chan[i];
	a->nchan = k;
}

static void
turn_sweep_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct turn_alloc *a, *next;
	int64_t		   now = table_now_ms();
	size_t		   i;

	(void)fd;
	(void)ev;
	turn_resv_expire(arg, now);
	for (i = 0; i < turn_nbuckets; i++)
		for (a = turn_hash[i]; a != NULL; a = next) {
			next = a->next;
			if (a->until_ms <= now)
				turn_alloc_free(a);
			else
				turn_expire(a, now);
		}
}
