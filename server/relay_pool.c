/*
 * Ready data connections: an exposure may ask for a pool of a few data
 * connections opened ahead (expose {pool}), so that a visitor's first
 * byte does not wait for the client to dial back.  The relay asks for
 * each with pool {id}; the client's data connection with that id comes
 * by mail (the D|id record names the pool, as it names a visitor
 * otherwise) and waits here, idle.  A visitor takes one: the relay
 * writes one line, visitor {visitor}, and joins the two; then it asks
 * for another.  Bounds: relay.pool_max per exposure, granted no more
 * than asked; an idle connection is closed (and asked for again) after
 * RELAY_POOL_AGE_S, so that one a NAT dropped silently is not handed a
 * visitor, and at once when its client sends anything or closes.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "relay.h"

#define RELAY_POOL_AGE_S 60
#define RELAY_POOL_TRIES 4 /* ids to try when a table stripe is full */
/* An ask the client has not answered in this long is made again (it
 * may have failed, or its record been pushed out of a full table); one
 * that comes late finds the pool full and is closed. */
#define RELAY_POOL_ASK_MS 3000

struct relay_pooled {
	struct relay_pool *pool;
	int		   fd;
	struct event	  *ev;
	TAILQ_ENTRY(relay_pooled) entry;
};

struct relay_pool {
	struct wconn	   base; /* its data connections come by mail */
	struct relay_port *port;
	int		   want;  /* granted */
	int		   nidle; /* connections waiting here */
	int		   nasked;
	int64_t		   asked[RELAY_POOL_MAX]; /* when each ask expires */
	struct event	  *again; /* to fill it when it could not be */
	TAILQ_HEAD(, relay_pooled) idle;
};

static int relay_npooled; /* in all pools of this worker */

int
relay_pooled_count(void)
{
	return relay_npooled;
}

static void
relay_pooled_free(struct relay_pooled *c)
{
	struct relay_pool *pool = c->pool;

	TAILQ_REMOVE(&pool->idle, c, entry);
	pool->nidle--;
	relay_npooled--;
	pool->port->ctl->w->slot->gauge[GAUGE_POOLED]--;
	event_free(c->ev);
	free(c);
}

/*
 * Ask the client for connections until the pool is full again; when it
 * cannot be (the table is full) or asks are out, look again in a
 * second, or when the first ask expires.
 */
static void
relay_pool_fill(struct relay_pool *pool)
{
	struct relay_port *p = pool->port;
	struct worker	  *w = p->ctl->w;
	int64_t		   now = table_now_ms(), next = 0;
	uint8_t		   id[RELAY_ID_LEN];
	char		   hex[2 * RELAY_ID_LEN + 1];
	int		   i;

	for (i = 0; i < pool->nasked;) /* the client did not come: ask again */
		if (pool->asked[i] <= now)
			pool->asked[i] = pool->asked[--pool->nasked];
		else
			i++;
	while (pool->nidle + pool->nasked < pool->want) {
		if (relay_wait_id(w, pool->base.id, id, RELAY_POOL_TRIES) == -1) {
			next = now + 1000;
			break;
		}
		pool->asked[pool->nasked++] = now +
		    (w->conf->relay_handshake_timeout * 1000 < RELAY_POOL_ASK_MS
			    ? w->conf->relay_handshake_timeout * 1000
			    : RELAY_POOL_ASK_MS);
		relay_send(p->ctl,
		    json_pack("{s:s,s:s,s:i}", "type", "pool", "id",
			hex_encode(id, sizeof(id), hex), "remote_port",
			p->port));
	}
	for (i = 0; i < pool->nasked; i++)
		if (next == 0 || pool->asked[i] < next)
			next = pool->asked[i];
	if (next != 0) {
		struct timeval tv = {(next - now) / 1000,
		    (suseconds_t)((next - now) % 1000 * 1000)};

		evtimer_add(pool->again, &tv);
	} else
		evtimer_del(pool->again);
}

static void
relay_pool_again_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	relay_pool_fill(arg);
}

/* An idle connection spoke, closed or grew old: gone, and asked again. */
static void
relay_pooled_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct relay_pooled *c = arg;
	struct relay_pool   *pool = c->pool;

	(void)ev;
	close(fd);
	relay_pooled_free(c);
	relay_pool_fill(pool);
}

/* A data connection for the pool arrived (from any worker, by mail). */
static void
relay_pool_mail(struct wconn *wc, const struct wmail *m, int fd)
{
	struct relay_pool   *pool = (struct relay_pool *)wc;
	struct worker	    *w = pool->port->ctl->w;
	struct timeval	     age = {RELAY_POOL_AGE_S, 0};
	struct relay_pooled *c;

	if (pool->nasked > 0)
		pool->nasked--; /* which one does not matter: all alike */
	if (m->type != MAIL_RELAY_DATA || fd == -1) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (pool->nidle >= pool->want || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->pool = pool;
	c->fd = fd;
	if ((c->ev = event_new(w->base, fd, EV_READ, relay_pooled_cb, c)) ==
	    NULL) {
		proc_count(w, STAT_NOMEM);
		close(fd);
		free(c);
		return;
	}
	event_add(c->ev, &age);
	TAILQ_INSERT_TAIL(&pool->idle, c, entry);
	pool->nidle++;
	relay_npooled++;
	w->slot->gauge[GAUGE_POOLED]++;
}

/* Port p's pool of want (0 to relay.pool_max) connections: 0, or -1. */
int
relay_pool_open(struct relay_port *p, int want)
{
	struct relay_pool *pool;

	if (want <= 0 || want > RELAY_POOL_MAX ||
	    (pool = calloc(1, sizeof(*pool))) == NULL)
		return -1;
	pool->port = p;
	pool->want = want;
	pool->base.mail = relay_pool_mail;
	TAILQ_INIT(&pool->idle);
	if ((pool->again = evtimer_new(p->ctl->w->base, relay_pool_again_cb,
		 pool)) == NULL) {
		free(pool);
		return -1;
	}
	if (wconn_add(&pool->base) == -1) {
		event_free(pool->again);
		free(pool);
		return -1;
	}
	p->pool = pool;
	relay_pool_fill(pool);
	return 0;
}

/*
 * A visitor (vfd) to a pooled connection: 0 when one took it (joined,
 * closed by done(arg) at its end, counted in expo, with lead), -1 when
 * none waits.
 */
int
relay_pool_take(struct relay_port *p, int vfd, const struct sockaddr *visitor,
    struct state_exposure *expo, const struct relay_lead *lead,
    void (*done)(void *), void *arg)
{
	struct relay_pool   *pool = p->pool;
	struct relay_pooled *c;
	struct worker	    *w;
	char		     a[ADDR_STRLEN], b[ADDR_STRLEN];
	char		     line[2 * ADDR_STRLEN + 64];
	struct sockaddr_storage to;
	socklen_t	     tolen = sizeof(to);
	int		     fd, n;

	if (pool == NULL)
		return -1;
	w = p->ctl->w;
	addr_format_sa(visitor, a, sizeof(a));
	/* The address the visitor reached, for a PROXY protocol header. */
	if (getsockname(vfd, (struct sockaddr *)&to, &tolen) == -1)
		snprintf(b, sizeof(b), "?");
	else
		addr_format_sa((struct sockaddr *)&to, b, sizeof(b));
	n = snprintf(line, sizeof(line),
	    "{\"type\":\"visitor\",\"visitor\":\"%s\",\"to\":\"%s\"}\n",
	    a, b);
	while ((c = TAILQ_FIRST(&pool->idle)) != NULL) {
		fd = c->fd;
		relay_pooled_free(c);
		/* Idle, so its buffer is empty: the line goes at once. */
		if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) !=
		    n) {
			close(fd);
			continue;
		}
		relay_pool_fill(pool);
		proc_count(w, STAT_POOL_HITS);
		if (splice_join(w, vfd, fd, expo, lead, done, arg) ==
		    -1) {
			log_warn("out of memory for a stream");
			done(arg);
		}
		return 0;
	}
	relay_pool_fill(pool);
	return -1;
}

void
relay_pool_close(struct relay_port *p)
{
	struct relay_pool   *pool = p->pool;
	struct relay_pooled *c;

	if (pool == NULL)
		return;
	while ((c = TAILQ_FIRST(&pool->idle)) != NULL) {
		close(c->fd);
		relay_pooled_free(c);
	}
	wconn_remove(&pool->base);
	event_free(pool->again);
	free(pool);
	p->pool = NULL;
}
