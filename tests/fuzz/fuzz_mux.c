/*
 * libFuzzer: a mux carrier (common/muxconn.c, muxstream.c, muxframe.c)
 * reading a peer's bytes, as the agent's (accepting: the input's OPENs
 * become streams joined to socketpairs, which write back) and as the
 * relay's (opening: one stream of its own first).  The first byte
 * picks the side; the rest is what the peer sent.  Nothing may crash,
 * leak or read out of bounds, whatever the frames.
 */
#include "config.h"

#include <sys/socket.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evsock.h"
#include "muxconn.h"

#define FUZZ_MUX_STREAMS 64

static struct event_base *base;
static int		  ends[FUZZ_MUX_STREAMS], nends;

static int
fuzz_pair(int *mine)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	*mine = sv[1];
	return sv[0];
}

static void
fuzz_moved(void *arg, int dir, size_t n)
{
	(void)arg;
	(void)dir;
	(void)n;
}

static void
fuzz_ended(void *arg, const char *reason)
{
	(void)arg;
	if (reason != NULL && strlen(reason) > MUXF_REASON_MAX)
		abort();
}

static void
fuzz_dead(void *arg, const char *why)
{
	*(int *)arg = 1;
	(void)why;
}

/* Every other stream is attached at once, with a few bytes waiting to
 * go to the peer; the rest wait (their bytes held) or are reset. */
static void
fuzz_opened(void *arg, struct muxc_stream *s, const char *meta)
{
	int mine, theirs;

	(void)arg;
	if (strlen(meta) > MUXF_META_MAX)
		abort();
	if (nends == FUZZ_MUX_STREAMS || (meta[0] & 1)) {
		muxc_reset(s, "refused");
		return;
	}
	theirs = fuzz_pair(&mine);
	ends[nends++] = mine;
	if (write(mine, "local", 5) != 5)
		abort();
	muxc_attach(s, evsock_new(base, theirs, NULL, NULL));
}

static const struct muxc_ops fuzz_ops = {1, fuzz_opened, fuzz_moved,
    fuzz_ended, fuzz_dead};

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct muxc *m;
	int	     peer, carrier, mine, dead = 0, i;

	if (n == 0)
		return 0;
	if (base == NULL && (base = event_base_new()) == NULL)
		abort();
	nends = 0;
	carrier = fuzz_pair(&peer);
	if ((m = muxc_new(base, evsock_new(base, carrier, NULL, NULL),
		 &fuzz_ops, &dead, d[0] & 1)) == NULL)
		abort();
	if (d[0] & 1) { /* the relay's: a visitor of its own first */
		int vis = fuzz_pair(&mine);

		ends[nends++] = mine;
		if (muxc_open(m, evsock_new(base, vis, NULL, NULL), "a b",
			NULL) == NULL)
			abort();
	}
	if (write(peer, d + 1, n - 1) < 0)
		abort();
	shutdown(peer, SHUT_WR);
	for (i = 0; i < 8 && !dead; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	if (!dead)
		muxc_free(m);
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < nends; i++)
		close(ends[i]);
	close(peer);
	return 0;
}
