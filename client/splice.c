/*
 * Two connections joined in the agent's event loop, without a process:
 * what one reads is queued on the other's output, at most SPLICE_HIGH
 * bytes a way (then that side is not read until the queue drains: the
 * kernel's buffers and TCP's window push back on the sender).  An end of
 * file on one side is passed on as a shutdown of the other's writing
 * once its queue is out, so a half-closed stream goes on the other way;
 * the join ends when both ways have ended, or at once on an error.
 */
#include "config.h"

#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>

#include "splice.h"

struct splice_side {
	struct bufferevent *bev;
	int		    eof;  /* read its end */
	int		    shut; /* its writing shut down */
	uint64_t	   *count; /* bytes read from it */
};

struct splice {
	struct splice_side   side[2];
	struct splice_owner *owner;
	LIST_ENTRY(splice) entry;
};

static void splice_read_cb(struct bufferevent *, void *);
static void splice_write_cb(struct bufferevent *, void *);
static void splice_event_cb(struct bufferevent *, short, void *);

static void
splice_free(struct splice *s)
{
	LIST_REMOVE(s, entry);
	(*s->owner->now)--;
	bufferevent_free(s->side[0].bev);
	bufferevent_free(s->side[1].bev);
	free(s);
}

static int
splice_which(struct splice *s, struct bufferevent *bev)
{
	return s->side[1].bev == bev;
}

/* Shut the writing of side i down once its queue is out. */
static void
splice_shut(struct splice *s, int i)
{
	struct splice_side *d = &s->side[i];

	if (d->shut || !s->side[!i].eof ||
	    evbuffer_get_length(bufferevent_get_output(d->bev)) > 0)
		return;
	d->shut = 1;
	shutdown(bufferevent_getfd(d->bev), SHUT_WR);
}

static void
splice_read_cb(struct bufferevent *bev, void *arg)
{
	struct splice	   *s = arg;
	int		    i = splice_which(s, bev);
	struct evbuffer	   *in = bufferevent_get_input(bev);
	struct bufferevent *to = s->side[!i].bev;

	if (s->side[!i].shut) { /* nobody left to take it */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	*s->side[i].count += evbuffer_get_length(in);
	evbuffer_add_buffer(bufferevent_get_output(to), in);
	if (evbuffer_get_length(bufferevent_get_output(to)) >= SPLICE_HIGH)
		bufferevent_disable(bev, EV_READ);
}

/* Side bev's queue is out: read the other again, or pass its end on. */
static void
splice_write_cb(struct bufferevent *bev, void *arg)
{
	struct splice *s = arg;
	int	       i = splice_which(s, bev);

	if (!s->side[!i].eof)
		bufferevent_enable(s->side[!i].bev, EV_READ);
	splice_shut(s, i);
	if (s->side[0].eof && s->side[1].eof && s->side[0].shut &&
	    s->side[1].shut)
		splice_free(s);
}

static void
splice_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct splice *s = arg;
	int	       i = splice_which(s, bev);

	if (what & BEV_EVENT_ERROR) {
		splice_free(s);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	s->side[i].eof = 1;
	bufferevent_disable(bev, EV_READ);
	splice_shut(s, !i);
	if (s->side[0].eof && s->side[1].eof && s->side[0].shut &&
	    s->side[1].shut)
		splice_free(s);
}

/*
 * Join a and b (both connected; what they already read is passed on
 * first), counted for owner.  The join owns both: 0, or -1 when there
 * is no memory (both freed).
 */
int
splice_join(struct event_base *base, struct bufferevent *a,
    struct bufferevent *b, struct splice_owner *owner)
{
	struct splice *s = calloc(1, sizeof(*s));
	int	       i;

	(void)base;
	if (s == NULL) {
		bufferevent_free(a);
		bufferevent_free(b);
		return -1;
	}
	s->side[0].bev = a;
	s->side[1].bev = b;
	s->side[0].count = owner->a_to_b;
	s->side[1].count = owner->b_to_a;
	s->owner = owner;
	LIST_INSERT_HEAD(&owner->list, s, entry);
	(*owner->now)++;
	for (i = 0; i < 2; i++) {
		bufferevent_setcb(s->side[i].bev, splice_read_cb,
		    splice_write_cb, splice_event_cb, s);
		bufferevent_setwatermark(s->side[i].bev, EV_WRITE, 0, 0);
		bufferevent_enable(s->side[i].bev, EV_READ | EV_WRITE);
	}
	for (i = 0; i < 2; i++)
		if (evbuffer_get_length(bufferevent_get_input(s->side[i].bev)))
			splice_read_cb(s->side[i].bev, s);
	return 0;
}

/* The owner goes: its joins end now. */
void
splice_close_all(struct splice_owner *owner)
{
	struct splice *s;

	while ((s = LIST_FIRST(&owner->list)) != NULL)
		splice_free(s);
}
