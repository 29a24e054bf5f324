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
#include <event2/event.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"
#include "siphash.h"
#include "table.h"
#include "turn.h"

static struct turn_alloc **turn_hash;
static size_t		   turn_nbuckets, turn_count;
static uint8_t		   turn_hash_key[16];
static struct event	  *turn_sweep_ev;

static void turn_sweep_cb(evutil_socket_t, short, void *);

static size_t
turn_bucket(const struct listener *l, const struct turn_addr *client)
{
	uint8_t k[sizeof(*client) + sizeof(l)];

	memcpy(k, client, sizeof(*client));
	memcpy(k + sizeof(*client), &l, sizeof(l));
	return (size_t)siphash24(turn_hash_key, k, sizeof(k)) &
	    (turn_nbuckets - 1);
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

	randombytes_buf(turn_hash_key, sizeof(turn_hash_key));
	turn_data_init();
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

/* A new allocation for a client, or NULL with why and a code. */
struct turn_alloc *
turn_alloc_new(struct worker *w, struct listener *l,
    const struct sockaddr *client, const struct sockaddr *local, int family,
    int flags, struct bufferevent *bev, const struct turn_cred *cred,
    const uint8_t *tid, uint8_t *token, const char **why, int *code)
{
	struct turn_alloc *a;
	struct addr	   ext;
	const char	  *e;
	size_t		   b;

	*code = 508;
	*why = "out of memory";
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->w = w;
	a->l = l;
	a->bev = bev;
	a->fd = -1;
	turn_addr_set(&a->client, client);
	turn_addr_set(&a->local, local);
	memcpy(a->tid, tid, sizeof(a->tid));
	a->cred = *cred;
	a->tokens = w->conf->turn_max_bps;
	if ((a->fd = turn_port_open(w, family, local, flags, token, &a->relayed,
		 code, why)) == -1)
		goto fail;
	family = a->relayed.family;
	/* Behind a 1:1 NAT the world sees server.external_address. */
	if (w->conf->external_address[0] != '\0' &&
	    addr_parse_ip(w->conf->external_address, &ext, &e) == 0 &&
	    addr_family(&ext) == family) {
		uint16_t port = a->relayed.port;

		turn_addr_set(&a->relayed, (struct sockaddr *)&ext.ss);
		a->relayed.port = port;
	}
	a->ev =
	    event_new(w->base, a->fd, EV_READ | EV_PERSIST, turn_peer_cb, a);
	if (a->ev == NULL || event_add(a->ev, NULL) == -1)
		goto fail;
	turn_quota_add(w, cred->user, 1);
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
	turn_quota_add(a->w, a->cred.user, -1);
	event_free(a->ev);
	close(a->fd);
	free(a->perm);
	free(a->chan);
	free(a);
}

/* A TURN client's TCP connection closed: so does its allocation. */
void
turn_conn_closed(struct listener *l, const struct sockaddr *client)
{
	struct turn_alloc *a = turn_alloc_find(l, client);

	if (a != NULL)
		turn_alloc_free(a);
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
		    same_peer =
			memcmp(&a->chan[i].peer, peer, sizeof(*peer)) == 0;

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
	turn_port_sweep(arg, now);
	for (i = 0; i < turn_nbuckets; i++)
		for (a = turn_hash[i]; a != NULL; a = next) {
			next = a->next;
			if (a->until_ms <= now)
				turn_alloc_free(a);
			else
				turn_expire(a, now);
		}
}
