/*
 * Federation: a tracker with tracker.peers announces itself to them
 * ("//tcksvr/<external_address>:<port>") every tracker.announce_interval
 * seconds.  Every tracker worker has the timer; a record in the shared
 * table says when the next announcement is due, and the worker that
 * moves it forward sends, so the peers hear from one worker per interval.
 */
#include "config.h"

#include <sys/socket.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"

static const char tracker_fed_key[] = "announce-due";

struct tracker_fed_due {
	int64_t now;
	int64_t interval_ms;
	int	mine;
};

/* Claim the announcement if it is due; move the due time forward. */
static enum table_action
tracker_fed_due_fn(void *val, size_t *len, int found, void *arg)
{
	struct tracker_fed_due *d = arg;
	int64_t			due = 0;

	if (found && *len == sizeof(due))
		memcpy(&due, val, sizeof(due));
	if (found && due > d->now)
		return TABLE_KEEP;
	due = d->now + d->interval_ms;
	memcpy(val, &due, sizeof(due));
	*len = sizeof(due);
	d->mine = 1;
	return TABLE_STORE;
}

/* Send the announcement to every peer; answers are not awaited. */
static void
tracker_fed_announce(struct worker *w)
{
	const struct server_conf *c = w->conf;
	char			  msg[64 + ADDR_STRLEN], a[ADDR_STRLEN];
	struct addr		  self;
	const char		 *why;
	int			  i, n, fd;

	if (addr_parse(c->external_address,
		addr_port(&c->tracker_listen.v[0].addr), &self, &why) == -1)
		return;
	n = snprintf(msg, sizeof(msg), "//tcksvr/%s",
	    addr_format(&self, a, sizeof(a)));
	for (i = 0; i < c->tracker_peers.n; i++) {
		const struct addr *p = &c->tracker_peers.v[i].addr;

		fd = socket(addr_family(p), SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd == -1)
			continue;
		if (sendto(fd, msg, (size_t)n, 0,
			(const struct sockaddr *)&p->ss, p->len) == -1)
			log_debug("announce to %s: failed",
			    addr_format(p, a, sizeof(a)));
		close(fd);
	}
	log_debug("announced %s to %d peers", msg + 9, c->tracker_peers.n);
}

static void
tracker_fed_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	      *w = arg;
	struct tracker_fed_due d = {table_now_ms(),
	    (int64_t)w->conf->announce_interval * 1000, 0};

	(void)fd;
	(void)ev;
	if (table_update(w->state->table, TABLE_KIND_TRACKER, tracker_fed_key,
		sizeof(tracker_fed_key) - 1, tracker_fed_due_fn, &d, 0,
		d.now) == 0 &&
	    d.mine)
		tracker_fed_announce(w);
}

/* Start announcing, if there are peers to announce to. */
void
tracker_fed_start(struct worker *w)
{
	struct timeval second = {1, 0};
	struct event  *ev;

	if (w->conf->tracker_peers.n == 0 || w->conf->tracker_listen.n == 0)
		return;
	ev = event_new(w->base, -1, EV_PERSIST, tracker_fed_tick_cb, w);
	if (ev == NULL || evtimer_add(ev, &second) == -1)
		fatalx("cannot start the federation timer");
}
