/*
 * Two connections joined in the agent's event loop, without a process:
 * common/fdsplice.c's pairs (splice(2) through a pipe per direction,
 * so a visitor's bytes never enter the agent's memory; backpressure,
 * half-close, as the relay's).  The connections come as bufferevents,
 * which may hold bytes already (a line written to the relay, a
 * visitor's first bytes read): those go first, then the sockets are
 * the pair's.
 */
#include "config.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <unistd.h>

#include "evsock.h"
#include "fdsplice.h"
#include "splice.h"

struct splice {
	struct fdsplice	    *pair;
	struct splice_owner *owner;
	LIST_ENTRY(splice) entry;
};

static void
splice_moved(void *arg, int dir, size_t n)
{
	struct splice *s = arg;

	*(dir == 0 ? s->owner->a_to_b : s->owner->b_to_a) += n;
}

static void
splice_closed(void *arg)
{
	struct splice *s = arg;

	LIST_REMOVE(s, entry);
	(*s->owner->now)--;
	free(s);
}

/*
 * Join a and b (both connected; what they already read, or have yet
 * to write, goes first), counted for owner.  The join owns both: 0, or
 * -1 when there is no memory (both closed).
 */
int
splice_join(struct event_base *base, struct bufferevent *a,
    struct bufferevent *b, struct splice_owner *owner)
{
	static struct fdsplice_ops ops;
	struct evbuffer		  *in[2], *out[2];
	struct splice		  *s = calloc(1, sizeof(*s));
	int			   fd[2], i, rv = 0;

	ops.base = base;
	ops.splice = 1;
	ops.moved = splice_moved;
	ops.closed = splice_closed;
	for (i = 0; i < 2; i++) {
		in[i] = evbuffer_new();
		out[i] = evbuffer_new();
	}
	fd[0] = evsock_unwrap(a, in[0], out[0]);
	fd[1] = evsock_unwrap(b, in[1], out[1]);
	if (s == NULL || in[0] == NULL || in[1] == NULL || out[0] == NULL ||
	    out[1] == NULL) {
		close(fd[0]);
		close(fd[1]);
		rv = -1;
		goto done;
	}
	s->owner = owner;
	if ((s->pair = fdsplice_join(&ops, s, fd[0], fd[1])) == NULL) {
		rv = -1;
		goto done;
	}
	LIST_INSERT_HEAD(&owner->list, s, entry);
	(*owner->now)++;
	/* To b: what we had for b, then what a had read; to a, the same. */
	for (i = 0; i < 2; i++) {
		size_t n = evbuffer_get_length(in[!i]);

		*(i == 1 ? owner->a_to_b : owner->b_to_a) += n;
		evbuffer_add_buffer(out[i], in[!i]);
		n = evbuffer_get_length(out[i]);
		if (fdsplice_pre(s->pair, !i, evbuffer_pullup(out[i], -1), n) ==
		    -1) {
			s = NULL; /* closed: splice_closed freed it */
			rv = -1;
			break;
		}
	}
	s = NULL;
done:
	free(s);
	for (i = 0; i < 2; i++) {
		if (in[i] != NULL)
			evbuffer_free(in[i]);
		if (out[i] != NULL)
			evbuffer_free(out[i]);
	}
	return rv;
}

/* The owner goes: its joins end now. */
void
splice_close_all(struct splice_owner *owner)
{
	struct splice *s;

	while ((s = LIST_FIRST(&owner->list)) != NULL)
		fdsplice_close(s->pair);
}
