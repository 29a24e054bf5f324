/*
 * natclient ping NAME: a connector that, once the sealed path to the
 * listener is up, sends pings over it instead of data and says, for
 * each reply, the round trip and the path it took: direct (with the
 * punching strategy) or through the relay.  Listeners answer pings
 * whatever they carry (bridge.c), so the path is the one a real
 * connect would get.  A ping is the kind SECURE_PING with a sequence
 * number and our send time; the reply, SECURE_PONG, echoes them.
 */
#include "config.h"

#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "natclient.h"
#include "ping.h"

#define PING_WAIT_MS 1000 /* for each reply, and between pings */

static void
ping_put(uint8_t *b, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t
ping_get(const uint8_t *b, int n)
{
	uint64_t v = 0;
	int	 i;

	for (i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

static void
ping_say(const struct client_opts *o, const char *name, const char *via,
    const char *strategy, uint32_t seq, double ms)
{
	if (o->json) {
		json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:s,s:o}", "event",
		    ms >= 0 ? "reply" : "lost", "name", name, "seq", (int)seq,
		    "path", via, "strategy", strategy, "ms",
		    ms >= 0 ? json_real(ms) : json_null());

		client_print_json(j); /* it takes j */
	} else if (ms >= 0)
		printf("reply from %s: seq=%u time=%.3f ms via %s (%s)\n", name,
		    seq, ms, via, strategy);
	else
		printf("no reply from %s: seq=%u within %d ms\n", name, seq,
		    PING_WAIT_MS);
	fflush(stdout);
}

/* Wait for seq's reply: its round trip in ms, or -1 (or -2: path gone). */
static double
ping_wait(struct secure *s, uint32_t seq)
{
	struct path *p = s->path;
	uint8_t	     b[SECURE_DATA_MAX];
	uint64_t     until = (uint64_t)client_now_us() + PING_WAIT_MS * 1000;
	int	     kind, n;

	while ((uint64_t)client_now_us() < until) {
		struct pollfd pfd = {p->fd, (short)(POLLIN | p->ops->events(p)),
		    0};

		secure_tick(s);
		poll(&pfd, 1, 50);
		if ((pfd.revents & POLLOUT) && p->ops->flush(p) == -1)
			return -2;
		while ((n = secure_recv(s, &kind, b, sizeof(b))) != SECURE_NONE) {
			if (n == -1 || kind == SECURE_BYE)
				return -2;
			if (kind == SECURE_PONG && n == 12 &&
			    ping_get(b, 4) == seq)
				return (double)((uint64_t)client_now_us() - ping_get(b + 4, 8)) /
				    1000;
		}
	}
	return -1;
}

/*
 * count pings to name over the sealed path s (via "direct" or "relay",
 * by strategy), one a second: 0 when any came back, else 1.
 */
int
ping_run(const struct client_opts *o, struct secure *s, const char *name,
    const char *via, const char *strategy)
{
	uint8_t	 b[12];
	uint32_t seq;
	int	 replies = 0, i;
	double	 ms;

	for (seq = 1; seq <= (uint32_t)o->ping_count; seq++) {
		uint64_t sent = (uint64_t)client_now_us();

		ping_put(b, seq, 4);
		ping_put(b + 4, sent, 8);
		if (secure_send(s, SECURE_PING, b, sizeof(b)) == -1)
			break;
		s->path->ops->flush(s->path);
		if ((ms = ping_wait(s, seq)) == -2) {
			fprintf(stderr, "natclient: the peer went away\n");
			break;
		}
		ping_say(o, name, via, strategy, seq, ms);
		replies += ms >= 0;
		/* The rest of the second, so that pings go once a second. */
		while (seq < (uint32_t)o->ping_count &&
		    (uint64_t)client_now_us() - sent < PING_WAIT_MS * 1000)
			poll(NULL, 0, 10);
	}
	for (i = 0; i < 3; i++) /* goodbye, on a lossy path thrice */
		secure_send(s, SECURE_BYE, NULL, 0);
	s->path->ops->close(s->path, 1);
	secure_wipe(s);
	return replies > 0 ? 0 : 1;
}
