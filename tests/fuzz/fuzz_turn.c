/*
 * libFuzzer: TURN's request path (server/turn*.c) on a real tracker
 * worker and state table, with a user whose key the harness knows, so
 * that the fuzzer reaches past authentication: the first byte picks a
 * raw datagram (anything, ChannelData too) or a request the harness
 * signs, whose type and attributes are the input, with MESSAGE-INTEGRITY
 * (SHA-1 or SHA-256) and maybe FINGERPRINT.  Every answer stays within
 * max(3 x the request, 128) bytes, logged lines stay sanitized, and the
 * allocations made stay within the quotas.  Relayed sockets bind
 * loopback ports of a small range; peers are loopback only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_worker.h"
#include "turn.h"

#define FUZZ_USER  "fuzz"
#define FUZZ_REALM "natkit"

static struct worker  *w;
static struct listener l;
static uint8_t	       key[16];

static void
fuzz_turn_init(void)
{
	struct server_conf *c;

	w = fuzz_worker(WORKER_TRACKER, NULL, 0);
	c = (struct server_conf *)w->conf;
	snprintf(c->turn_realm, sizeof(c->turn_realm), FUZZ_REALM);
	snprintf(c->turn_users[0].name, sizeof(c->turn_users[0].name),
	    FUZZ_USER);
	turn_user_key(FUZZ_USER, FUZZ_REALM, "pw", key);
	memcpy(c->turn_users[0].key, key, sizeof(key));
	c->turn_nusers = 1;
	c->turn_port_range.low = 47200;
	c->turn_port_range.high = 47231;
	c->turn_max_allocations = 8;
	c->turn_user_quota = 8;
	c->turn_allocate_burst = c->turn_allocate_per_minute = 1000000000;
	c->turn_max_bps = 0;
	c->turn_nallowed = 1;
	c->turn_allowed[0].bits = 104; /* 127/8, as IPv4-mapped */
	memset(c->turn_allowed[0].ip, 0, 16);
	c->turn_allowed[0].ip[10] = c->turn_allowed[0].ip[11] = 0xff;
	c->turn_allowed[0].ip[12] = 127;
	w->slot->kind = WORKER_TRACKER;
	turn_auth_init();
	turn_alloc_start(w);
	l.kind = WORKER_TRACKER;
	l.type = SOCK_DGRAM;
	l.alt = -1;
	l.shard = -1;
	l.fd = -1;
	addr_parse("127.0.0.1:3478", 0, &l.addr, &(const char *){0});
}

/* A request signed with the user's key: type and attributes from d. */
static size_t
fuzz_turn_sign(int mode, const uint8_t *d, size_t n,
    const struct sockaddr *from, uint8_t *msg, size_t max)
{
	static const uint8_t tid[12] = "fuzzfuzzfuzz";
	struct stunbuf	     b;
	char		     nonce[25];
	size_t		     body;

	if (n < 2)
		return 0;
	stunbuf_start(&b, msg, max, (uint16_t)((d[0] << 8 | d[1]) & 0x3fef),
	    tid);
	d += 2;
	n -= 2;
	/* The input's attributes as they are, padded to a word. */
	body = (n + 3) & ~(size_t)3;
	if (b.len + body + 128 > max)
		return 0;
	memcpy(msg + b.len, d, n);
	memset(msg + b.len + n, 0, body - n);
	b.len += body;
	turn_nonce_make(from, (int64_t)time(NULL), nonce);
	stunbuf_attr(&b, STUN_ATTR_USERNAME, FUZZ_USER, strlen(FUZZ_USER));
	stunbuf_attr(&b, STUN_ATTR_REALM, FUZZ_REALM, strlen(FUZZ_REALM));
	stunbuf_attr(&b, STUN_ATTR_NONCE, nonce, 24);
	stunbuf_integrity(&b, key, sizeof(key), mode & 2);
	return stunbuf_finish(&b, mode & 4);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct sockaddr_storage from;
	socklen_t		len;
	uint8_t			msg[4096], out[4096];
	size_t			mlen;
	ssize_t			got;
	int			mode;

	if (w == NULL)
		fuzz_turn_init();
	if (n < 1)
		return 0;
	mode = d[0];
	d++;
	n--;
	fuzz_peer(&from, &len);
	if (mode & 1) {
		if (n > sizeof(msg))
			return 0;
		memcpy(msg, d, n);
		mlen = n;
	} else if ((mlen = fuzz_turn_sign(mode, d, n, (struct sockaddr *)&from,
			msg, sizeof(msg))) == 0)
		return 0;
	if (!turn_wants(msg, mlen))
		return 0;
	got = turn_answer(w, &l, msg, mlen, (struct sockaddr *)&from,
	    (struct sockaddr *)&l.addr.ss, NULL, out, sizeof(out));
	if (got > (ssize_t)(mlen * 3 > 128 ? mlen * 3 : 128))
		abort();
	if (w->slot->gauge[GAUGE_TURN] > w->conf->turn_max_allocations)
		abort();
	fuzz_log_check();
	return 0;
}
