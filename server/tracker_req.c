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

/*
 * A STUN request.  tcp: over a stream, where a CHANGE-REQUEST with flags
 * cannot be honoured (400, as coturn answers).
 */
static size_t
tracker_stun(struct worker *w, const uint8_t *req, size_t len,
    const struct sockaddr *from, const struct sockaddr *local, int tcp,
    uint8_t *out, size_t max)
{
	struct stun_origin o = {local, NULL};
	struct stun_msg	   m;

	switch (stun_parse(req, len, &m)) {
	case STUN_NOT:
		proc_count(w, STAT_DROP_JUNK);
		return 0;
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
	if (m.change != 0) {
		if (tcp) {
			proc_count(w, STAT_ERRORS);
			return stun_error(&m, 400, "Bad Request", out, max);
		}
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
	return stun_binding_success(&m, from, &o, out, max);
}

/*
 * Answer one request from `from` that arrived at `local`; returns the
 * answer's length (an empty list is a 0-byte answer), -1 to send nothing.
 */
ssize_t
tracker_answer(struct worker *w, const uint8_t *req, size_t len,
    const struct sockaddr *from, const struct sockaddr *local, int tcp,
    uint8_t *out, size_t max)
{
	size_t n;

	if (len >= 2 && req[0] == '/' && req[1] == '/')
		return (ssize_t)tracker_text(w, (const char *)req, len, from,
		    (char *)out, tcp ? max : tracker_text_cap(len, max));
	n = tracker_stun(w, req, len, from, local, tcp, out, max);
	return n > 0 ? (ssize_t)n : -1;
}
