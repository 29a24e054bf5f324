/*
 * A worker's connection registry and its mail (rendezvous and relay).  A
 * connection is known to other workers by its id: the registry index it holds
 * here and a generation, so an id outlives neither its connection nor this
 * worker.  Mail for an id arrives through this worker's mailbox.
 *
 * Mail to a connection of this very worker (the relay's data
 * connection reaching the worker its visitor waits in, which with one
 * worker is every one) skips the mailbox: a queue here, delivered from
 * the event loop as mailbox mail is, so that no handler runs inside
 * another's call.  That saves the descriptor's trip through the kernel
 * (sendmsg, recvmsg, and re-registering it with epoll) per connection.
 * The queue is bounded; when it is full, mail takes the mailbox.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/random.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "conns.h"

static struct wconn **wconns;
static int	     *wconn_free_idx; /* stack of free indices */
static int	      wconn_nfree, wconn_max;
static uint32_t	      wconn_generation;

#define WMAIL_LOCAL_MAX 1024

struct wmail_local {
	TAILQ_ENTRY(wmail_local) entry;
	int	     fd;
	struct wmail m; /* its body only as long as it is */
};

static TAILQ_HEAD(, wmail_local) wmail_queue = TAILQ_HEAD_INITIALIZER(
    wmail_queue);
static int	     wmail_nlocal;
static struct event *wmail_local_ev;

void
wconn_init(struct worker *w, int max)
{
	int i;

	(void)w;
	wconn_max = max;
	wconns = calloc((size_t)wconn_max, sizeof(*wconns));
	wconn_free_idx = calloc((size_t)wconn_max, sizeof(*wconn_free_idx));
	if (wconns == NULL || wconn_free_idx == NULL)
		fatal("wconn_init");
	for (i = 0; i < wconn_max; i++)
		wconn_free_idx[i] = wconn_max - 1 - i;
	wconn_nfree = wconn_max;
	/* Random, so a respawned worker does not reuse a dead one's ids. */
	if (getrandom(&wconn_generation, sizeof(wconn_generation), 0) !=
	    sizeof(wconn_generation))
		fatal("getrandom");
}

/* Give c an id; -1 when this worker holds as many as it may. */
int
wconn_add(struct wconn *c)
{
	int i;

	if (wconn_nfree == 0)
		return -1;
	i = wconn_free_idx[--wconn_nfree];
	wconns[i] = c;
	c->id = (uint64_t)++wconn_generation << 32 | (uint32_t)i;
	return 0;
}

void
wconn_remove(struct wconn *c)
{
	int i = (int)(c->id & 0xffffffff);

	if (i < wconn_max && wconns[i] == c) {
		wconns[i] = NULL;
		wconn_free_idx[wconn_nfree++] = i;
	}
}

struct wconn *
wconn_find(uint64_t id)
{
	uint32_t i = (uint32_t)(id & 0xffffffff);

	if (i >= (uint32_t)wconn_max || wconns[i] == NULL ||
	    wconns[i]->id != id)
		return NULL;
	return wconns[i];
}

/*
 * Queue m for a connection of this worker, with fd: 0, or -1 when it
 * is not ours (a worker that drains shares its ordinal with its
 * successor, whose connection it may be) or the queue is full.
 */
static int
wmail_queue_local(const struct wmail *m, int fd)
{
	struct wmail_local *l;
	size_t		    n = offsetof(struct wmail, body) + m->len;

	if (wmail_local_ev == NULL || wmail_nlocal >= WMAIL_LOCAL_MAX ||
	    wconn_find(m->to) == NULL ||
	    (l = malloc(offsetof(struct wmail_local, m) + n)) == NULL)
		return -1;
	l->fd = fd;
	memcpy(&l->m, m, n);
	TAILQ_INSERT_TAIL(&wmail_queue, l, entry);
	wmail_nlocal++;
	event_active(wmail_local_ev, EV_TIMEOUT, 0);
	return 0;
}

/* 1: queued here, 0: posted to the mailbox, -1: dropped (counted). */
static int
wmail_post(struct worker *w, int ordinal, uint64_t to, uint16_t type,
    const void *body, size_t len, uint64_t from, int fd)
{
	struct wmail m;

	if (len > sizeof(m.body))
		return -1;
	m.to = to;
	m.from = from;
	m.from_ordinal = (uint16_t)w->ordinal;
	m.type = type;
	m.len = (uint32_t)len;
	if (len > 0)
		memcpy(m.body, body, len);
	if (ordinal == w->ordinal && wmail_queue_local(&m, fd) == 0)
		return 1;
	if (mailbox_post(w, ordinal, &m, offsetof(struct wmail, body) + len,
		fd) == -1) {
		proc_count(w, STAT_DROP_MAIL);
		return -1;
	}
	return 0;
}

/* Post mail to connection `to` held by worker `ordinal`. */
int
wmail_send(struct worker *w, int ordinal, uint64_t to, uint16_t type,
    const void *body, size_t len, uint64_t from)
{
	if (wmail_post(w, ordinal, to, type, body, len, from, -1) == -1)
		return -1;
	return 0;
}

/* The same with a descriptor: once sent (0) it is the receiver's, and
 * the caller's no more; on -1 the caller still has it. */
int
wmail_send_fd(struct worker *w, int ordinal, uint64_t to, uint16_t type,
    const void *body, size_t len, int fd)
{
	switch (wmail_post(w, ordinal, to, type, body, len, 0, fd)) {
	case -1:
		return -1;
	case 0:
		close(fd); /* the receiver has its own copy */
	}
	return 0;
}

/* Hand m (and fd, or -1) to its connection, or say it is gone. */
static void
wmail_deliver(struct worker *w, const struct wmail *m, int fd)
{
	struct wconn *c;

	if ((c = wconn_find(m->to)) != NULL) {
		c->mail(c, m, fd); /* which owns fd now */
		return;
	}
	if (fd != -1)
		close(fd);
	if (m->type != MAIL_GONE && m->from != 0)
		/* Tell the sender, so its side is not left waiting. */
		wmail_send(w, m->from_ordinal, m->from, MAIL_GONE, NULL, 0, 0);
}

static void
wmail_cb(evutil_socket_t box, short ev, void *arg)
{
	struct worker *w = arg;
	struct wmail   m;
	ssize_t	       n;
	int	       i, fd;

	(void)box;
	(void)ev;
	for (i = 0; i < 64; i++) {
		if ((n = mailbox_read(w, &m, sizeof(m), &fd)) == -1)
			return;
		if (n < (ssize_t)offsetof(struct wmail, body) ||
		    (size_t)n != offsetof(struct wmail, body) + m.len) {
			if (fd != -1)
				close(fd);
			continue;
		}
		wmail_deliver(w, &m, fd);
	}
}

/* The mail this worker sent itself, as much as was queued on entry. */
static void
wmail_local_cb(evutil_socket_t unused, short ev, void *arg)
{
	struct wmail_local *l;
	int		    n = wmail_nlocal;

	(void)unused;
	(void)ev;
	while (n-- > 0 && (l = TAILQ_FIRST(&wmail_queue)) != NULL) {
		TAILQ_REMOVE(&wmail_queue, l, entry);
		wmail_nlocal--;
		wmail_deliver(arg, &l->m, l->fd);
		free(l);
	}
}

void
wmail_start(struct worker *w)
{
	struct event *ev;

	ev = event_new(w->base, mailbox_fd(w), EV_READ | EV_PERSIST, wmail_cb,
	    w);
	if (ev == NULL || event_add(ev, NULL) == -1)
		fatalx("cannot watch the mailbox");
	if ((wmail_local_ev = event_new(w->base, -1, 0, wmail_local_cb, w)) ==
	    NULL)
		fatalx("cannot queue mail");
}
