/*
 * TURN requests on the tracker's UDP port (RFC 8656): Allocate,
 * Refresh, CreatePermission, ChannelBind, Send indications and
 * ChannelData.  Every request but an indication is authenticated with
 * long-term credentials (turn_auth.c); answers to authenticated ones
 * carry MESSAGE-INTEGRITY (SHA-256 when the request used it).  Answers
 * are built in the tracker's buffer and kept within max(3 × request,
 * 128) bytes, so that an unauthenticated request cannot be amplified.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "natserver.h"
#include "ratelimit.h"
#include "stun.h"
#include "table.h"
#include "turn.h"

#define TURN_SOFTWARE "natkit " PACKAGE_VERSION

/* One request being answered. */
struct turn_req {
	struct worker	      *w;
	struct listener	      *l;
	const struct sockaddr *from, *local;
	struct bufferevent    *bev; /* over TCP: the client's connection */
	struct stunmsg	       m;
	struct turn_cred       cred;
	int		       authed;
	struct stunbuf	       b;
};

static int
turn_attr_known(uint16_t type)
{
	switch (type) {
	case STUN_ATTR_USERNAME:
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case STUN_ATTR_ERROR_CODE:
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
	case 0x001d: /* PASSWORD-ALGORITHM: only MD5 keys are served */
	case TURN_ATTR_CHANNEL_NUMBER:
	case TURN_ATTR_LIFETIME:
	case TURN_ATTR_XOR_PEER_ADDRESS:
	case TURN_ATTR_DATA:
	case TURN_ATTR_XOR_RELAYED_ADDRESS:
	case TURN_ATTR_REQUESTED_FAMILY:
	case TURN_ATTR_EVEN_PORT:
	case TURN_ATTR_REQUESTED_TRANSPORT:
	case TURN_ATTR_DONT_FRAGMENT:
	case TURN_ATTR_RESERVATION_TOKEN:
	case 0x0024: /* PRIORITY, from ICE agents' checks */
	case 0x0025: /* USE-CANDIDATE */
		return 1;
	}
	return 0;
}

/*
 * Is this datagram TURN's?  ChannelData (first two bits 01), or a STUN
 * message of a TURN method.  Binding stays the tracker's.
 */
int
turn_wants(const uint8_t *p, size_t len)
{
	uint16_t method;

	if (len >= 4 && (p[0] & 0xc0) == 0x40)
		return 1;
	if (len < STUN_HDR_LEN || (p[0] & 0xc0) != 0)
		return 0;
	method = (uint16_t)((p[0] << 8 | p[1]) & ~0x0110);
	return method == TURN_ALLOCATE || method == TURN_REFRESH ||
	    method == TURN_SEND || method == TURN_CREATE_PERMISSION ||
	    method == TURN_CHANNEL_BIND;
}

/* Start an answer: success or error of the request's method. */
static void
turn_start(struct turn_req *r, uint16_t cls)
{
	stunbuf_start(&r->b, r->b.p, r->b.max, (uint16_t)(r->m.method | cls),
	    r->m.tid);
}

/* Finish an answer: SOFTWARE, integrity if authenticated, FINGERPRINT. */
static ssize_t
turn_finish(struct turn_req *r)
{
	size_t n;

	if (r->authed)
		stunbuf_integrity(&r->b, r->cred.key, sizeof(r->cred.key),
		    r->m.mi256 != 0);
	n = stunbuf_finish(&r->b, r->m.fingerprint);
	if (n == 0) {
		/* Over the amplification bound or the buffer: say nothing. */
		proc_count(r->w, STAT_DROP_SEND);
		return -1;
	}
	return (ssize_t)n;
}

/* An error answer, with REALM and a fresh NONCE for 401 and 438. */
static ssize_t
turn_error(struct turn_req *r, int code, const char *reason)
{
	char nonce[25];

	proc_count(r->w, STAT_ERRORS);
	turn_start(r, STUNMSG_CLASS_ERROR);
	stunbuf_error(&r->b, code, reason);
	if (code == 401 || code == 438) {
		const char *realm = r->w->conf->turn_realm;

		turn_nonce_make(r->from, (int64_t)time(NULL), nonce);
		stunbuf_attr(&r->b, STUN_ATTR_REALM, realm, strlen(realm));
		stunbuf_attr(&r->b, STUN_ATTR_NONCE, nonce, 24);
		r->authed = 0;
	}
	return turn_finish(r);
}

/*
 * Long-term credentials (RFC 8489 section 9.2.4).  0 when the request
 * may go on; else the answer to send (or -1: none) is in *out.
 */
static int
turn_authenticate(struct turn_req *r, ssize_t *out)
{
	const struct server_conf *c = r->w->conf;
	const uint8_t		 *user, *realm, *nonce;
	size_t			  ulen, rlen, nlen;
	const char		 *why;
	char			  a[ADDR_STRLEN], u[TURN_USER_MAX + 1];
	int64_t			  now = (int64_t)time(NULL);

	if (r->m.mi == 0 && r->m.mi256 == 0) {
		*out = turn_error(r, 401, "Unauthorized");
		return -1;
	}
	user = stunmsg_attr(&r->m, STUN_ATTR_USERNAME, &ulen);
	realm = stunmsg_attr(&r->m, STUN_ATTR_REALM, &rlen);
	nonce = stunmsg_attr(&r->m, STUN_ATTR_NONCE, &nlen);
	if (user == NULL || realm == NULL || nonce == NULL) {
		*out = turn_error(r, 400, "Bad Request");
		return -1;
	}
	if (!turn_nonce_ok(nonce, nlen, r->from, now, c->turn_nonce_lifetime)) {
		*out = turn_error(r, 438, "Stale Nonce");
		return -1;
	}
	if (rlen != strlen(c->turn_realm) ||
	    memcmp(realm, c->turn_realm, rlen) != 0)
		why = "another realm";
	else if (turn_auth_key(c, user, ulen, now, &r->cred, &why) == 0) {
		if (stunmsg_integrity_ok(&r->m, r->cred.key,
			sizeof(r->cred.key))) {
			r->authed = 1;
			return 0;
		}
		why = "wrong password";
	}
	proc_count(r->w, STAT_TURN_AUTH_FAIL);
	if (worker_log_ok(r->w, r->from)) {
		snprintf(u, sizeof(u), "%.*s",
		    (int)(ulen < TURN_USER_MAX ? ulen : TURN_USER_MAX),
		    (const char *)user);
		log_info("turn: %s from %s (user '%s')", why,
		    addr_format_sa(r->from, a, sizeof(a)), log_sanitize(u));
	}
	*out = turn_error(r, 401, "Unauthorized");
	return -1;
}

/* A success answer with the allocation's addresses and lifetime. */
static ssize_t
turn_allocated(struct turn_req *r, struct turn_alloc *a, uint32_t lifetime,
    const uint8_t *token)
{
	struct sockaddr_storage relayed;

	turn_alloc_relayed(a, &relayed);
	turn_start(r, STUNMSG_CLASS_SUCCESS);
	stunbuf_xaddr(&r->b, TURN_ATTR_XOR_RELAYED_ADDRESS,
	    (struct sockaddr *)&relayed);
	stunbuf_u32(&r->b, TURN_ATTR_LIFETIME, lifetime);
	if (token != NULL)
		stunbuf_attr(&r->b, TURN_ATTR_RESERVATION_TOKEN, token,
		    TURN_TOKEN_LEN);
	stunbuf_xaddr(&r->b, STUN_ATTR_XOR_MAPPED_ADDRESS, r->from);
	stunbuf_attr(&r->b, STUN_ATTR_SOFTWARE, TURN_SOFTWARE,
	    strlen(TURN_SOFTWARE));
	return turn_finish(r);
}

/* The lifetime a request asks for, as the server grants it. */
static uint32_t
turn_lifetime(struct turn_req *r)
{
	uint32_t want;

	if (stunmsg_attr_u32(&r->m, TURN_ATTR_LIFETIME, &want) == -1)
		return TURN_LIFETIME_S;
	if (want == 0)
		return 0;
	if (want < TURN_LIFETIME_S)
		return TURN_LIFETIME_S;
	return want > (uint32_t)r->w->conf->turn_max_lifetime
	    ? (uint32_t)r->w->conf->turn_max_lifetime
	    : want;
}

/* A refused Allocate: counted by its reason. */
static ssize_t
turn_alloc_refuse(struct turn_req *r, int code, const char *reason)
{
	proc_count(r->w,
	    code == 486	      ? STAT_TURN_QUOTA
		: code == 508 ? STAT_TURN_CAPACITY
			      : STAT_TURN_REFUSED);
	return turn_error(r, code, reason);
}

static ssize_t
turn_allocate(struct turn_req *r)
{
	const struct server_conf *c = r->w->conf;
	struct ratelimit_rule	  rule = {(uint32_t)c->turn_allocate_burst,
		(uint32_t)c->turn_allocate_per_minute};
	struct turn_alloc	 *a;
	const uint8_t		 *v;
	size_t			  len;
	const char		 *why;
	uint32_t		  lifetime;
	uint8_t			  token[TURN_TOKEN_LEN];
	int			  family = r->from->sa_family, flags = 0, code;

	if ((a = turn_alloc_find(r->l, r->from)) != NULL) {
		/* A retransmission is answered again; anything else: 437. */
		if (strcmp(turn_alloc_user(a), r->cred.user) == 0 &&
		    memcmp(turn_alloc_tid(a), r->m.tid, 12) == 0)
			return turn_allocated(r, a, TURN_LIFETIME_S, NULL);
		return turn_alloc_refuse(r, 437, "Allocation Mismatch");
	}
	if ((v = stunmsg_attr(&r->m, TURN_ATTR_REQUESTED_TRANSPORT, &len)) ==
		NULL ||
	    len != 4)
		return turn_alloc_refuse(r, 400, "Bad Request");
	if (v[0] != IPPROTO_UDP)
		return turn_alloc_refuse(r, 442,
		    "Unsupported Transport Protocol");
	if ((v = stunmsg_attr(&r->m, TURN_ATTR_RESERVATION_TOKEN, &len)) !=
	    NULL) {
		/* Section 7.2: not with EVEN-PORT nor a family. */
		if (len != TURN_TOKEN_LEN ||
		    stunmsg_attr(&r->m, TURN_ATTR_EVEN_PORT, &len) != NULL ||
		    stunmsg_attr(&r->m, TURN_ATTR_REQUESTED_FAMILY, &len) !=
			NULL)
			return turn_alloc_refuse(r, 400, "Bad Request");
		memcpy(token, v, TURN_TOKEN_LEN);
		flags |= TURN_TAKE;
	}
	if ((v = stunmsg_attr(&r->m, TURN_ATTR_EVEN_PORT, &len)) != NULL) {
		if (len != 1)
			return turn_alloc_refuse(r, 400, "Bad Request");
		flags |= TURN_EVEN | (v[0] & 0x80 ? TURN_RESERVE : 0);
	}
	if (stunmsg_attr(&r->m, TURN_ATTR_DONT_FRAGMENT, &len) != NULL)
		flags |= TURN_DF;
	if ((v = stunmsg_attr(&r->m, TURN_ATTR_REQUESTED_FAMILY, &len)) !=
	    NULL) {
		if (len != 4 || (v[0] != 1 && v[0] != 2))
			return turn_alloc_refuse(r, 440,
			    "Address Family not Supported");
		family = v[0] == 1 ? AF_INET : AF_INET6;
	}
	if (turn_quota_user(r->w, r->cred.user) >= c->turn_user_quota)
		return turn_alloc_refuse(r, 486, "Allocation Quota Reached");
	if (turn_quota_total(r->w) >= c->turn_max_allocations)
		return turn_alloc_refuse(r, 508, "Insufficient Capacity");
	if (!ratelimit_take(r->w->state->table, RL_TURN_ALLOCATE, r->from,
		&rule, table_now_ms())) {
		proc_count(r->w, STAT_DROP_RATELIMIT);
		return turn_alloc_refuse(r, 486, "Allocation Quota Reached");
	}
	a = turn_alloc_new(r->w, r->l, r->from, r->local, family, flags, r->bev,
	    &r->cred, r->m.tid, token, &why, &code);
	if (a == NULL) {
		log_debug("turn: allocate: %s", why);
		return turn_alloc_refuse(r, code,
		    code == 440 ? "Address Family not Supported"
				: "Insufficient Capacity");
	}
	lifetime = turn_lifetime(r);
	if (lifetime == 0)
		lifetime = TURN_LIFETIME_S;
	turn_alloc_refresh(a, lifetime);
	proc_count(r->w, STAT_TURN_ALLOCATED);
	return turn_allocated(r, a, lifetime,
	    flags & TURN_RESERVE ? token : NULL);
}

/* The allocation of this 5-tuple for its own user, or an error. */
static struct turn_alloc *
turn_owned(struct turn_req *r, ssize_t *out)
{
	struct turn_alloc *a = turn_alloc_find(r->l, r->from);

	if (a == NULL)
		*out = turn_error(r, 437, "Allocation Mismatch");
	else if (strcmp(turn_alloc_user(a), r->cred.user) != 0) {
		*out = turn_error(r, 441, "Wrong Credentials");
		a = NULL;
	}
	return a;
}

static ssize_t
turn_refresh(struct turn_req *r)
{
	struct turn_alloc *a;
	const uint8_t	  *v;
	size_t		   len;
	ssize_t		   out;
	uint32_t	   lifetime;

	if ((a = turn_owned(r, &out)) == NULL)
		return out;
	if ((v = stunmsg_attr(&r->m, TURN_ATTR_REQUESTED_FAMILY, &len)) !=
		NULL &&
	    (len != 4 ||
		(v[0] == 1 ? AF_INET : AF_INET6) != turn_alloc_family(a)))
		return turn_error(r, 443, "Peer Address Family Mismatch");
	lifetime = turn_lifetime(r);
	if (lifetime == 0)
		turn_alloc_free(a);
	else
		turn_alloc_refresh(a, lifetime);
	turn_start(r, STUNMSG_CLASS_SUCCESS);
	stunbuf_u32(&r->b, TURN_ATTR_LIFETIME, lifetime);
	return turn_finish(r);
}

/* A peer address attribute: 0, or an error code (400, 403, 443). */
static int
turn_peer(struct turn_req *r, struct turn_alloc *a, const uint8_t *v,
    size_t len, struct turn_addr *peer)
{
	struct sockaddr_storage ss;

	if (v == NULL || stunmsg_attr_addr(v, len, r->m.tid, &ss) == -1)
		return 400;
	if (ss.ss_family != turn_alloc_family(a))
		return 443;
	if (!turn_peer_allowed(r->w->conf, (struct sockaddr *)&ss)) {
		proc_count(r->w, STAT_TURN_DENIED);
		return 403;
	}
	turn_addr_set(peer, (struct sockaddr *)&ss);
	return 0;
}

static const char *
turn_reason(int code)
{
	switch (code) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 443:
		return "Peer Address Family Mismatch";
	case 508:
		return "Insufficient Capacity";
	}
	return "Error";
}

static ssize_t
turn_create_permission(struct turn_req *r)
{
	struct turn_addr   peers[16];
	struct turn_alloc *a;
	const uint8_t	  *v;
	size_t		   pos = 0, len;
	ssize_t		   out;
	int		   n = 0, code, i;

	if ((a = turn_owned(r, &out)) == NULL)
		return out;
	/* All are checked before any is installed (section 10.2). */
	while ((v = stunmsg_attr_next(&r->m, TURN_ATTR_XOR_PEER_ADDRESS, &pos,
		    &len)) != NULL) {
		if (n == (int)(sizeof(peers) / sizeof(peers[0])))
			return turn_error(r, 508, "Insufficient Capacity");
		if ((code = turn_peer(r, a, v, len, &peers[n++])) != 0)
			return turn_error(r, code, turn_reason(code));
	}
	if (n == 0)
		return turn_error(r, 400, "Bad Request");
	for (i = 0; i < n; i++)
		if (turn_alloc_permit(a, &peers[i], TURN_PERMISSION_S) == -1)
			return turn_error(r, 508, "Insufficient Capacity");
	turn_start(r, STUNMSG_CLASS_SUCCESS);
	return turn_finish(r);
}

static ssize_t
turn_channel_bind(struct turn_req *r)
{
	struct turn_addr   peer;
	struct turn_alloc *a;
	const uint8_t	  *v;
	size_t		   len;
	ssize_t		   out;
	uint32_t	   num;
	int		   code;

	if ((a = turn_owned(r, &out)) == NULL)
		return out;
	if (stunmsg_attr_u32(&r->m, TURN_ATTR_CHANNEL_NUMBER, &num) == -1 ||
	    (num >> 16) < TURN_CHANNEL_LOW || (num >> 16) > TURN_CHANNEL_HIGH)
		return turn_error(r, 400, "Bad Request");
	v = stunmsg_attr(&r->m, TURN_ATTR_XOR_PEER_ADDRESS, &len);
	if ((code = turn_peer(r, a, v, len, &peer)) != 0)
		return turn_error(r, code, turn_reason(code));
	if ((code = turn_alloc_bind(a, (uint16_t)(num >> 16), &peer)) != 0)
		return turn_error(r, code, turn_reason(code));
	turn_start(r, STUNMSG_CLASS_SUCCESS);
	return turn_finish(r);
}

/* A Send indication: no answer, whatever becomes of it. */
static void
turn_send(struct turn_req *r)
{
	struct turn_alloc      *a = turn_alloc_find(r->l, r->from);
	struct sockaddr_storage peer;
	const uint8_t	       *v, *data;
	size_t			len, dlen;

	if (a == NULL ||
	    (v = stunmsg_attr(&r->m, TURN_ATTR_XOR_PEER_ADDRESS, &len)) ==
		NULL ||
	    stunmsg_attr_addr(v, len, r->m.tid, &peer) == -1 ||
	    (data = stunmsg_attr(&r->m, TURN_ATTR_DATA, &dlen)) == NULL) {
		proc_count(r->w, STAT_TURN_NO_PERM);
		return;
	}
	turn_alloc_send(a, (struct sockaddr *)&peer, data, dlen);
}

/* ChannelData: a 4-byte header (channel, length) and the payload. */
static void
turn_channel_data(struct worker *w, struct listener *l, const uint8_t *p,
    size_t len, const struct sockaddr *from)
{
	struct turn_alloc *a;
	size_t		   dlen = (size_t)(p[2] << 8 | p[3]);

	if (dlen > len - 4 || (a = turn_alloc_find(l, from)) == NULL) {
		proc_count(w, STAT_TURN_NO_PERM);
		return;
	}
	turn_alloc_channel_send(a, (uint16_t)(p[0] << 8 | p[1]), p + 4, dlen);
}

/*
 * Answer one TURN message from `from` that came to `local` on l (a
 * turn_wants() one), a datagram or, over TCP, a frame of connection bev:
 * the answer's length in out, or -1 for none.
 */
ssize_t
turn_answer(struct worker *w, struct listener *l, const uint8_t *p, size_t len,
    const struct sockaddr *from, const struct sockaddr *local,
    struct bufferevent *bev, uint8_t *out, size_t max)
{
	struct turn_req r;
	const char     *why;
	ssize_t		ans;
	/* Over UDP the source may be forged: no answer larger than this. */
	size_t cap = bev != NULL ? max : len * 3 > 128 ? len * 3 : 128;

	if ((p[0] & 0xc0) == 0x40) {
		turn_channel_data(w, l, p, len, from);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.w = w;
	r.l = l;
	r.from = from;
	r.local = local;
	r.bev = bev;
	r.b.p = out;
	r.b.max = cap < max ? cap : max;
	if (stunmsg_parse(p, len, turn_attr_known, &r.m, &why) == -1) {
		proc_count(w, STAT_DROP_JUNK);
		log_debug("turn: dropped: %s", why);
		return -1;
	}
	if (r.m.cls == STUNMSG_CLASS_INDICATION && r.m.method == TURN_SEND) {
		turn_send(&r);
		return -1;
	}
	if (r.m.cls != STUNMSG_CLASS_REQUEST || r.m.method == TURN_SEND) {
		proc_count(w, STAT_DROP_JUNK);
		return -1;
	}
	proc_count(w, STAT_REQUESTS);
	if (r.m.nunknown > 0) {
		uint8_t u[2 * STUNMSG_UNKNOWN_MAX];
		int	i;

		for (i = 0; i < r.m.nunknown; i++) {
			u[2 * i] = (uint8_t)(r.m.unknown[i] >> 8);
			u[2 * i + 1] = (uint8_t)r.m.unknown[i];
		}
		turn_start(&r, STUNMSG_CLASS_ERROR);
		stunbuf_error(&r.b, 420, "Unknown Attribute");
		stunbuf_attr(&r.b, STUN_ATTR_UNKNOWN_ATTRIBUTES, u,
		    2 * (size_t)r.m.nunknown);
		proc_count(w, STAT_ERRORS);
		return turn_finish(&r);
	}
	if (turn_authenticate(&r, &ans) == -1)
		return ans;
	switch (r.m.method) {
	case TURN_ALLOCATE:
		return turn_allocate(&r);
	case TURN_REFRESH:
		return turn_refresh(&r);
	case TURN_CREATE_PERMISSION:
		return turn_create_permission(&r);
	default:
		return turn_channel_bind(&r);
	}
}
