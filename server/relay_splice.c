/*
 * The relay's joined streams (a visitor and its data connection, two
 * meeting clients): common/fdsplice.c's pairs, spliced unless
 * relay.splice = no, closed after relay.idle_timeout without traffic,
 * their bytes counted in the worker's slot and the exposure's counters.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "fdsplice.h"
#include "relay.h"

struct relay_stream {
	struct worker *w;
	uint64_t      *bytes; /* the exposure's counters, or NULL */
	void (*closed)(void *);
	void *arg;
};

static int		   splice_live;
static struct fdsplice_ops relay_splice_ops;

int
splice_count(void)
{
	return splice_live;
}

/* Direction 0, the visitor (a) to the client (b), is in; 1 is out. */
static void
relay_stream_moved(void *arg, int dir, size_t n)
{
	struct relay_stream *s = arg;

	s->w->slot->counter[dir == 0 ? STAT_BYTES_IN : STAT_BYTES_OUT] += n;
	if (s->bytes != NULL)
		s->bytes[dir] += n;
}

static void
relay_stream_copied(void *arg)
{
	proc_count(((struct relay_stream *)arg)->w, STAT_COPIED);
}

static void
relay_stream_closed(void *arg)
{
	struct relay_stream *s = arg;

	if (s->closed != NULL)
		s->closed(s->arg);
	s->w->slot->gauge[GAUGE_STREAMS] = --splice_live;
	free(s);
}

/*
 * Join a and b, which the stream then owns; closed(arg) is called when
 * it ends, and expo (or NULL) counts what it moves.  pre[0..prelen)
 * goes to b first (a virtual host's head, read before).  -1 (a and b
 * closed, closed not called) when out of memory.
 */
int
splice_join(struct worker *w, int a, int b, struct state_exposure *expo,
    const void *pre, size_t prelen, void (*closed)(void *), void *arg)
{
	struct relay_stream *s = calloc(1, sizeof(*s));
	struct fdsplice	    *pair;

	/* A worker's config is its own for life: set once. */
	relay_splice_ops.base = w->base;
	relay_splice_ops.splice = w->conf->relay_splice;
	relay_splice_ops.idle_s = w->conf->relay_idle_timeout;
	relay_splice_ops.moved = relay_stream_moved;
	relay_splice_ops.copied = relay_stream_copied;
	relay_splice_ops.closed = relay_stream_closed;
	if (s == NULL) {
		close(a);
		close(b);
		proc_count(w, STAT_NOMEM);
		return -1;
	}
	s->w = w;
	s->bytes = expo != NULL ? expo->bytes : NULL;
	s->closed = closed;
	s->arg = arg;
	if ((pair = fdsplice_join(&relay_splice_ops, s, a, b)) == NULL) {
		free(s);
		proc_count(w, STAT_NOMEM);
		return -1;
	}
	w->slot->gauge[GAUGE_STREAMS] = ++splice_live;
	/* On failure the pair is closed, and s with it (closed is called). */
	if (fdsplice_pre(pair, 0, pre, prelen) == -1)
		proc_count(w, STAT_NOMEM);
	return 0;
}
