/*
 * The relay's joined streams (a visitor and its data connection, two
 * meeting clients): common/fdsplice.c's pairs, spliced unless
 * relay.splice = no, closed after relay.idle_timeout without traffic,
 * their bytes counted in the worker's slot and the exposure's counters.
 * An HTTP virtual host's visitor is watched request by request
 * (relay_http.c); when it asks another host, its socket goes back to
 * the head reader as the stream ends.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "fdsplice.h"
#include "relay.h"

struct relay_stream {
	struct worker	  *w;
	uint64_t	  *bytes; /* the exposure's counters, or NULL */
	struct relay_http *http;  /* an HTTP visitor's requests, or NULL */
	void (*closed)(void *);
	void *arg;
};

static int		   splice_live;
static struct fdsplice_ops relay_splice_ops, relay_http_ops;

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
	if (dir == 0 && s->http != NULL)
		relay_http_moved(s->http, n);
}

static ssize_t
relay_stream_allow(void *arg, int fd)
{
	return relay_http_allow(((struct relay_stream *)arg)->http, fd);
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
	int		     again = -1, late = 0;

	if (s->http != NULL) {
		again = relay_http_leaving(s->http, &late);
		relay_http_free(s->http);
	}
	if (s->closed != NULL)
		s->closed(s->arg);
	splice_live--;
	s->w->slot->gauge[GAUGE_STREAMS]--; /* with relay_mux.c's */
	if (again != -1) /* its next request is another host's */
		relay_vhost_again(s->w, again, late);
	free(s);
}

/*
 * Join a and b, which the stream then owns; closed(arg) is called when
 * it ends, and expo (or NULL) counts what it moves.  lead (or NULL)
 * says what goes to b first (a virtual host's head, read before) and
 * whether a's requests are routed one by one.  -1 (a and b closed,
 * closed not called) when out of memory.
 */
int
splice_join(struct worker *w, int a, int b, struct state_exposure *expo,
    const struct relay_lead *lead, void (*closed)(void *), void *arg)
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
	relay_http_ops = relay_splice_ops;
	relay_http_ops.allow = relay_stream_allow;
	if (s != NULL && lead != NULL && lead->use == LISTEN_HTTP &&
	    (s->http = relay_http_new(w, lead->port, expo, lead->pre,
		 lead->prelen)) == NULL) {
		free(s);
		s = NULL;
	}
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
	if ((pair = fdsplice_join(s->http != NULL ? &relay_http_ops
						  : &relay_splice_ops,
		 s, a, b)) == NULL) {
		relay_http_free(s->http);
		free(s);
		proc_count(w, STAT_NOMEM);
		return -1;
	}
	if (s->http != NULL)
		relay_http_join(s->http, pair);
	splice_live++;
	w->slot->gauge[GAUGE_STREAMS]++;
	/* On failure the pair is closed, and s with it (closed is called). */
	if (lead != NULL &&
	    fdsplice_pre(pair, 0, lead->pre, lead->prelen) == -1)
		proc_count(w, STAT_NOMEM);
	return 0;
}
