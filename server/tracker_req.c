/*
 * One tracker request in, one answer out: STUN Binding or the text
 * protocol, told apart by their first bytes.  No allocation: the answer is
 * written into the caller's buffer.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "natserver.h"
#include "stun.h"
#include "tracktext.h"
#include "turn.h"

/* Text answers over UDP: at most max(3 × the request, 128) bytes. */
static size_t
tracker_text_cap(size_t reqlen, size_t outmax)
{
	size_t cap = reqlen * 3 > 128 ? reqlen * 3 : 128;

	return cap < outmax ? cap : outmax;
}

/* The text protocol: requests start with "//". */
static size_t
tracker_text(struct worker *w, const char *req, size_t len,
    const struct sockaddr *from, char *out, size_t cap)
{
	struct tt_request r;
	const char	 *why;
	int		  n;

	proc_count(w, STAT_REQUESTS);
	while (len > 0 && (req[len - 1] == '\n' || req[len - 1] == '\r'))
		len--;
	if (tt_parse(req, len, &r, &why) == -1) {
		proc_count(w, STAT_ERRORS);
		n = snprintf(out, cap, "error: %s", why);
	} else if (r.kind == TT_NAT) {
		char a[ADDR_STRLEN];

		addr_format_sa(from, a, sizeof(a));
		n = snprintf(out, cap, "%s", a);
	} else
		return tracker_text_group(w, &r, from, out, cap);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The UDP sockets of RFC 5780, by index; empty without an alternate. */
static struct listener *tracker_alt[4];

/* Find this worker's RFC 5780 sockets. */
void
tracker_rfc5780_init(struct worker *w)
{
	int i;

	for (i = 0; i < w->ls->n; i++) {
		struct listener *l = &w->ls->v[i];

		if (l->kind == WORKER_TRACKER && l->type == SOCK_DGRAM &&
		    l->alt >= 0 && l->fd != -1 &&
		    (l->shard < 0 || l->shard == w->ordinal))
			tracker_alt[l->alt] = l;
	}
}

/*
 * A STUN request that came to listener l.  With RFC 5780 the answer
 * names the other address and port, and a CHANGE-REQUEST is answered from
 * the socket it asks for (*via).  Over TCP a CHANGE-REQUEST with flags
 * cannot be honoured: 400, as coturn answers.
 */
static size_t
tracker_stun(struct worker *w, struct listener *l, const uint8_t *req,
    size_t len, const struct sockaddr *from, const struct sockaddr *local,
    int tcp, uint8_t *out, size_t max, struct listener **via)
{
	struct stun_origin o = {local, NULL};
	struct stun_msg	   m;
	int		   other = l->alt >= 0 ? l->alt ^ 3 : -1, to;

	switch (stun_parse(req, len, &m)) {
	case STUN_NOT:
	case STUN_IGNORE:
		proc_count(w, STAT_DROP_JUNK);
		return 0;
	case STUN_BAD:
		proc_count(w, STAT_REQUESTS);
		proc_count(w, STAT_ERRORS);
		log_debug("stun: bad request: %s", m.why);
		return stun_error(&m, 400, "Bad Request", out, max);
	case STUN_UNKNOWN:
		proc_count(w, STAT_REQUESTS);
		proc_count(w, STAT_ERRORS);
		return stun_error(&m, 420, "Unknown Attribute", out, max);
	case STUN_OK:
		break;
	}
	proc_count(w, STAT_REQUESTS);
	if (other >= 0 && tracker_alt[other] != NULL)
		o.other = (struct sockaddr *)&tracker_alt[other]->addr.ss;
	if (m.change != 0 && tcp) {
		proc_count(w, STAT_ERRORS);
		return stun_error(&m, 400, "Bad Request", out, max);
	}
	if (m.change != 0 && o.other == NULL) {
		/*
		 * No alternate address to answer from.  RFC 3489 clients
		 * read silence as "cannot change"; RFC 5780 asks for 420.
		 */
		proc_count(w, STAT_ERRORS);
		if (m.classic)
			return 0;
		m.nunknown = 1;
		m.unknown[0] = STUN_ATTR_CHANGE_REQUEST;
		return stun_error(&m, 420, "Unknown Attribute", out, max);
	}
	if (m.change != 0) {
		to = l->alt ^ (m.change & STUN_CHANGE_IP ? 1 : 0) ^
		    (m.change & STUN_CHANGE_PORT ? 2 : 0);
		if (tracker_alt[to] == NULL)
			return 0;
		*via = tracker_alt[to];
		o.local = (struct sockaddr *)&tracker_alt[to]->addr.ss;
	}
	return stun_binding_success(&m, from, &o, out, max);
}

/*
 * TURN on a stream with nowhere to send relayed data (no connection to
 * hold it): a request gets 400 saying so, anything else is dropped.
 */
static ssize_t
tracker_no_turn(struct worker *w, const uint8_t *req, size_t len,
    uint8_t *out, size_t max)
{
	struct stunbuf b;

	if (len < STUN_HDR_LEN || (req[0] & 0xc0) != 0 ||
	    (req[1] & 0x10) != 0 || (req[0] & 0x01) != 0) {
		proc_count(w, STAT_DROP_JUNK);
		return -1;
	}
	proc_count(w, STAT_ERRORS);
	stunbuf_start(&b, out, max, (uint16_t)((req[0] << 8 | req[1]) | 0x0110),
	    req + 8);
	stunbuf_error(&b, 400, "TURN needs a connection");
	return (ssize_t)stunbuf_finish(&b, 0);
}

/*
 * Answer one request from `from` that arrived at `local` on listener l
 * (over TCP: the connection bev, where TURN sends relayed data);
 * returns the answer's length (an empty list is a 0-byte answer), -1 to
 * send nothing.  *via is the socket to answer from: l, or for an RFC 5780
 * CHANGE-REQUEST another one.
 */
ssize_t
tracker_answer(struct worker *w, struct listener *l, const uint8_t *req,
    size_t len, const struct sockaddr *from, const struct sockaddr *local,
    int tcp, struct bufferevent *bev, uint8_t *out, size_t max,
    struct listener **via)
{
	size_t n;

	*via = l;
	if (turn_enabled(w->conf) && turn_wants(req, len))
		return tcp && bev == NULL
		    ? tracker_no_turn(w, req, len, out, max)
		    : turn_answer(w, l, req, len, from, local, bev, out, max);
	if (len >= 2 && req[0] == '/' && req[1] == '/')
		return (ssize_t)tracker_text(w, (const char *)req, len, from,
		    (char *)out, tcp ? max : tracker_text_cap(len, max));
	n = tracker_stun(w, l, req, len, from, local, tcp, out, max, via);
	return n > 0 ? (ssize_t)n : -1;
}
