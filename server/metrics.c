/*
 * Prometheus text on server.metrics_listen (loopback by default), served
 * by the master.  The master parses no network input: it writes the page
 * as soon as a connection is accepted, whatever the client asks, and
 * then only discards what the client sent until it closes.
 *
 * Worker counters live in the state segment, one slot per worker; those
 * of slots that were retired are kept in metrics_retired[kind] so that
 * every counter only grows.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"

#define METRICS_PAGE_MAX (64 * 1024)
#define METRICS_DRAIN_S	 2  /* in all: a drip of bytes does not extend it */
#define METRICS_CONNS	 16 /* connections at once; more are closed */

#define METRICS_EXPOSURES_MAX 64 /* names on the page; more share "" */

static uint64_t		     metrics_retired[WORKER_KINDS][STAT_MAX];
static struct state_exposure metrics_retired_expo[METRICS_EXPOSURES_MAX];
static struct state	    *metrics_state;
static int		     metrics_fds[CONF_LISTEN_MAX];
static int		     metrics_nfds;

static const char *table_kind_names[TABLE_KIND_MAX] = {"none", "group",
    "tracker", "named", "n4", "relay_port", "bucket", "relay_visitor",
    "relay_meet", "relay_domain", "turn_port", "turn_user"};

static const char *stat_help[STAT_MAX] = {
    [STAT_REQUESTS] = "Requests parsed.",
    [STAT_REPLIES] = "Replies sent.",
    [STAT_ERRORS] = "Requests answered with an error.",
    [STAT_DROP_JUNK] = "Datagrams that were no request at all.",
    [STAT_DROP_RATELIMIT] = "Requests refused by a rate limit.",
    [STAT_DROP_SEND] = "Replies or datagrams that could not be sent.",
    [STAT_TCP_ACCEPTED] = "Connections accepted.",
    [STAT_TCP_REFUSED] = "Connections closed at once, over a limit.",
    [STAT_TIMEOUTS] = "Connections closed for waiting too long.",
    [STAT_PAIRED] = "Rendezvous pairs and relay meetings made.",
    [STAT_DROP_MAIL] = "Messages between workers that were lost.",
    [STAT_COPIED] = "Relayed directions copied instead of spliced.",
    [STAT_LOCAL_REFUSED] = "Visitors closed: the client's service refused.",
    [STAT_LOGINS_OK] = "Relay logins that passed.",
    [STAT_LOGINS_FAILED] = "Relay logins with a wrong token.",
    [STAT_BYTES_IN] = "Relayed bytes from visitors to clients.",
    [STAT_BYTES_OUT] = "Relayed bytes from clients to visitors.",
    [STAT_NOMEM] = "Connections refused because memory ran out.",
    [STAT_LOG_HELD] = "Log lines about a peer held back: it caused too many.",
    [STAT_BAD_SIG] = "Name registrations whose signature did not verify.",
    [STAT_POOL_HITS] = "Visitors handed to a ready (pooled) data connection.",
    [STAT_TLS_RESUMED] = "TLS handshakes that resumed a session (a ticket).",
    [STAT_VHOST_BAD] = "HTTP(S) virtual-host visitors refused: a malformed, "
		       "too large or unnamed head (400, 431, a TLS alert).",
    [STAT_VHOST_UNKNOWN] = "HTTP(S) virtual-host visitors naming no exposed "
			   "host (404, unrecognized_name).",
    [STAT_VHOST_GONE] = "HTTP(S) virtual-host visitors of a known host whose "
			"client or service failed them (502, 503).",
    [STAT_TURN_ALLOCATED] = "TURN allocations made.",
    [STAT_TURN_QUOTA] = "TURN allocations refused: a user's quota or the "
			"Allocate rate of its address (486).",
    [STAT_TURN_CAPACITY] = "TURN allocations refused: turn.max_allocations "
			   "reached or no relay port free (508).",
    [STAT_TURN_REFUSED] = "TURN allocations refused for a bad request "
			  "(400, 437, 440, 442).",
    [STAT_TURN_AUTH_FAIL] = "TURN requests with a wrong password, an "
			    "unknown or expired user name (401).",
    [STAT_TURN_DENIED] = "TURN peer addresses refused by turn.allowed_peer "
			 "and turn.denied_peer (403).",
    [STAT_TURN_PKTS_OUT] = "TURN datagrams relayed from clients to peers.",
    [STAT_TURN_PKTS_IN] = "TURN datagrams relayed from peers to clients.",
    [STAT_TURN_BYTES_OUT] = "TURN payload bytes relayed from clients to "
			    "peers.",
    [STAT_TURN_BYTES_IN] = "TURN payload bytes relayed from peers to "
			   "clients.",
    [STAT_TURN_NO_PERM] = "TURN datagrams dropped: no permission, channel "
			  "or allocation for them.",
    [STAT_TURN_OVER_BPS] = "TURN datagrams dropped: over turn.max_bps.",
    [STAT_MUX_STREAMS] = "Visitors carried as streams on a mux data "
			 "connection.",
};

static const char *gauge_help[GAUGE_MAX] = {
    [GAUGE_STREAMS] = "Relayed streams joined now.",
    [GAUGE_EXPOSURES] = "Ports exposed now.",
    [GAUGE_POOLED] = "Ready data connections waiting in exposures' pools.",
    [GAUGE_TURN] = "TURN allocations now.",
    [GAUGE_MUX] = "Mux data connections carrying exposures' visitors now.",
};

struct metrics_conn {
	struct event *ev;
	int	      fd;
	int64_t	      until_ms;
};

/* What is open now, so that a new worker can close it (fork). */
static struct metrics_conn *metrics_conns[METRICS_CONNS];

/* Add e's bytes to its name's entry in v (METRICS_EXPOSURES_MAX). */
static void
metrics_add_exposure(struct state_exposure *v, const struct state_exposure *e)
{
	struct state_exposure *to;

	if (e->bytes[0] == 0 && e->bytes[1] == 0 && e->visitors == 0)
		return;
	to = state_exposure_find(v, METRICS_EXPOSURES_MAX, e->name);
	to->bytes[0] += e->bytes[0];
	to->bytes[1] += e->bytes[1];
	to->visitors += e->visitors;
	to->errors += e->errors;
	to->requests += e->requests;
}

/* A slot is handed to another worker: keep what it counted. */
void
metrics_retire_slot(struct state_slot *slot)
{
	int c;

	if (slot->kind < 0 || slot->kind >= WORKER_KINDS)
		return;
	for (c = 0; c < STAT_MAX; c++)
		metrics_retired[slot->kind][c] += slot->counter[c];
	memset(slot->counter, 0, sizeof(slot->counter));
	memset(slot->gauge, 0, sizeof(slot->gauge));
	for (c = 0; c < STATE_EXPOSURES_MAX; c++)
		metrics_add_exposure(metrics_retired_expo, &slot->expo[c]);
	memset(slot->expo, 0, sizeof(slot->expo));
}

/* A counter of e, at offset off of struct state_exposure. */
static uint64_t
metrics_field(const struct state_exposure *e, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)e + off, sizeof(v));
	return v;
}

/* The counters per exposure name, each shown where when is not 0. */
static const struct {
	const char *name, *help;
	size_t	    value, when; /* offsets in struct state_exposure */
} metrics_per_name[] = {
	{"exposure_visitors_total", "Visitors per exposure name or virtual host.",
	    offsetof(struct state_exposure, visitors),
	    offsetof(struct state_exposure, visitors)},
	{"exposure_requests_total", "HTTP requests per virtual host.",
	    offsetof(struct state_exposure, requests),
	    offsetof(struct state_exposure, requests)},
	{"exposure_errors_total",
	    "Visitors per exposure name or virtual host that its client or "
	    "service failed.",
	    offsetof(struct state_exposure, errors),
	    offsetof(struct state_exposure, visitors)},
};

/* The page: per kind counters, worker counts, the table's figures. */
static size_t
metrics_page(char *buf, size_t max, const int *workers)
{
	static const char    *dirs[2] = {"in", "out"};
	struct state_exposure expo[METRICS_EXPOSURES_MAX];
	struct table_stats    ts;
	uint64_t	      sum[WORKER_KINDS][STAT_MAX];
	int64_t		      gauge[WORKER_KINDS][GAUGE_MAX];
	size_t		      off = 0;
	int		      i, k, c;

	memcpy(sum, metrics_retired, sizeof(sum));
	memcpy(expo, metrics_retired_expo, sizeof(expo));
	memset(gauge, 0, sizeof(gauge));
	for (i = 0; i < STATE_SLOTS_MAX; i++) {
		struct state_slot *s = &metrics_state->slots[i];

		if (s->kind < 0 || s->kind >= WORKER_KINDS ||
		    !master_slot_live(i))
			continue;
		for (c = 0; c < STAT_MAX; c++)
			sum[s->kind][c] += s->counter[c];
		for (c = 0; c < GAUGE_MAX; c++)
			gauge[s->kind][c] += s->gauge[c];
		for (c = 0; c < STATE_EXPOSURES_MAX; c++)
			metrics_add_exposure(expo, &s->expo[c]);
	}
#define OUT(...)                                                               \
	do {                                                                   \
		int n_ = snprintf(buf + off, max - off, __VA_ARGS__);          \
		if (n_ > 0 && (size_t)n_ < max - off)                          \
			off += (size_t)n_;                                     \
	} while (0)
#define HEAD(name, type, help)                                                 \
	OUT("# HELP natkit_%s %s\n# TYPE natkit_%s %s\n", name, help, name,    \
	    type)
	for (c = 0; c < STAT_MAX; c++) {
		char name[64];

		snprintf(name, sizeof(name), "%s_total", stat_name(c));
		HEAD(name, "counter", stat_help[c]);
		for (k = 0; k < WORKER_KINDS; k++)
			OUT("natkit_%s{kind=\"%s\"} %llu\n", name,
			    roles[k].name, (unsigned long long)sum[k][c]);
	}
	for (c = 0; c < GAUGE_MAX; c++) {
		HEAD(gauge_name(c), "gauge", gauge_help[c]);
		OUT("natkit_%s %lld\n", gauge_name(c),
		    (long long)(gauge[WORKER_TRACKER][c] +
			gauge[WORKER_RENDEZVOUS][c] + gauge[WORKER_RELAY][c]));
	}
	HEAD("exposure_bytes_total", "counter",
	    "Relayed bytes per exposure name (\"\": names past the bound).");
	for (i = 0; i < METRICS_EXPOSURES_MAX; i++)
		for (c = 0; c < 2 && (expo[i].bytes[0] || expo[i].bytes[1]);
		     c++)
			OUT("natkit_exposure_bytes_total{name=\"%s\","
			    "direction=\"%s\"} %llu\n",
			    expo[i].name, dirs[c],
			    (unsigned long long)expo[i].bytes[c]);
	for (c = 0; c < (int)(sizeof(metrics_per_name) /
			     sizeof(metrics_per_name[0]));
	     c++) {
		HEAD(metrics_per_name[c].name, "counter",
		    metrics_per_name[c].help);
		for (i = 0; i < METRICS_EXPOSURES_MAX; i++)
			if (metrics_field(&expo[i], metrics_per_name[c].when) > 0)
				OUT("natkit_%s{name=\"%s\"} %llu\n",
				    metrics_per_name[c].name, expo[i].name,
				    (unsigned long long)metrics_field(&expo[i],
					metrics_per_name[c].value));
	}
	HEAD("workers", "gauge", "Workers running, per kind.");
	for (k = 0; k < WORKER_KINDS; k++)
		OUT("natkit_workers{kind=\"%s\"} %d\n", roles[k].name,
		    workers[k]);
	table_stats(metrics_state->table, &ts);
	HEAD("table_records", "gauge", "Records in the state table, per type.");
	for (k = 1; k < TABLE_KIND_MAX; k++)
		OUT("natkit_table_records{type=\"%s\"} %llu\n",
		    table_kind_names[k], (unsigned long long)ts.count[k]);
	HEAD("table_slots", "gauge", "Record slots in the state table.");
	OUT("natkit_table_slots %u\n", table_slots(metrics_state->table));
	{
		const struct {
			const char *name, *help;
			uint64_t    v;
		} t[] = {{"evicted", "Records evicted by newer ones.",
			     ts.evicted},
		    {"refused", "Records refused: no room.", ts.refused},
		    {"expired", "Records that expired.", ts.expired},
		    {"torn", "Records torn by a crash, discarded.", ts.torn},
		    {"recovered", "Locks recovered from dead owners.",
			ts.recovered}};

		for (i = 0; i < (int)(sizeof(t) / sizeof(t[0])); i++) {
			char name[64];

			snprintf(name, sizeof(name), "table_%s_total",
			    t[i].name);
			HEAD(name, "counter", t[i].help);
			OUT("natkit_%s %llu\n", name,
			    (unsigned long long)t[i].v);
		}
	}
#undef HEAD
#undef OUT
	return off;
}

static void
metrics_conn_free(struct metrics_conn *mc)
{
	int i;

	for (i = 0; i < METRICS_CONNS; i++)
		if (metrics_conns[i] == mc)
			metrics_conns[i] = NULL;
	if (mc->ev != NULL)
		event_free(mc->ev);
	close(mc->fd);
	free(mc);
}

/* Discard what the client sent; close at its end or at the deadline. */
static void
metrics_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_conn *mc = arg;
	char		     buf[4096];
	ssize_t		     n;

	if ((what & EV_READ) && table_now_ms() < mc->until_ms) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 || (n == -1 && errno == EAGAIN))
			return;
	}
	metrics_conn_free(mc);
}

/* A free place among the open connections, or -1. */
static int
metrics_place(void)
{
	int i;

	for (i = 0; i < METRICS_CONNS; i++)
		if (metrics_conns[i] == NULL)
			return i;
	return -1;
}

static void
metrics_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct event_base   *base = arg;
	struct timeval	     drain = {METRICS_DRAIN_S, 0};
	struct metrics_conn *mc;
	char		    *page;
	char		     head[128];
	size_t		     n;
	int		     fd, place, workers[WORKER_KINDS];

	(void)what;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if ((place = metrics_place()) == -1) {
		close(fd); /* full: the scraper tries again */
		return;
	}
	if ((page = malloc(METRICS_PAGE_MAX)) == NULL ||
	    (mc = calloc(1, sizeof(*mc))) == NULL) {
		free(page);
		close(fd);
		return;
	}
	master_worker_counts(workers);
	n = metrics_page(page, METRICS_PAGE_MAX, workers);
	snprintf(head, sizeof(head),
	    "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    n);
	/* Both fit the socket's send buffer of a fresh connection. */
	if (send(fd, head, strlen(head), MSG_NOSIGNAL) == -1 ||
	    send(fd, page, n, MSG_NOSIGNAL) == -1)
		log_debug("metrics: %s", strerror(errno));
	free(page);
	shutdown(fd, SHUT_WR);
	mc->fd = fd;
	mc->until_ms = table_now_ms() + METRICS_DRAIN_S * 1000;
	metrics_conns[place] = mc;
	mc->ev =
	    event_new(base, fd, EV_READ | EV_PERSIST, metrics_drain_cb, mc);
	if (mc->ev == NULL || event_add(mc->ev, &drain) == -1)
		metrics_conn_free(mc);
}

/* Bind server.metrics_listen, before daemonizing; errors name the address. */
int
metrics_bind(const struct server_conf *c, char *err, size_t errlen)
{
	int i, on = 1;

	for (i = 0; i < c->metrics_listen.n; i++) {
		const struct addr *a = &c->metrics_listen.v[i].addr;
		char		   s[ADDR_STRLEN];
		int		   fd;

		fd = socket(addr_family(a),
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ==
			-1 ||
		    bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
		    listen(fd, 16) == -1) {
			snprintf(err, errlen,
			    "cannot listen on tcp %s (metrics): %s",
			    addr_format(a, s, sizeof(s)), strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		metrics_fds[metrics_nfds++] = fd;
	}
	return 0;
}

/* Serve the bound sockets from the master's loop. */
void
metrics_start(struct event_base *base, struct state *st)
{
	struct event *ev;
	int	      i;

	metrics_state = st;
	for (i = 0; i < metrics_nfds; i++) {
		ev = event_new(base, metrics_fds[i], EV_READ | EV_PERSIST,
		    metrics_accept_cb, base);
		if (ev == NULL || event_add(ev, NULL) == -1)
			fatalx("cannot watch the metrics socket");
	}
}

/* In a new worker: the metrics sockets and connections are the master's. */
void
metrics_close_in_worker(void)
{
	int i;

	for (i = 0; i < metrics_nfds; i++)
		close(metrics_fds[i]);
	metrics_nfds = 0;
	for (i = 0; i < METRICS_CONNS; i++)
		if (metrics_conns[i] != NULL) {
			/* The event belongs to the master's base: not freed. */
			close(metrics_conns[i]->fd);
			metrics_conns[i] = NULL;
		}
}
