/*
 * NatTrackerServer requests.  Every field is checked for its characters,
 * length and count; a request over a cap is refused, never cut.  The
 * error words go back to the client as "error: <word>".
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "tracktext.h"

/* Characters allowed in a namespace and a group name. */
static int
tt_name_ok(const char *s, size_t len, size_t min, size_t max)
{
	size_t i;

	if (len < min || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

void
tt_addr_from_sa(struct tt_addr *t, const struct sockaddr *sa)
{
	memset(t, 0, sizeof(*t));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		t->family = 4;
		memcpy(t->port, &sin->sin_port, 2);
		memcpy(t->ip, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		t->family = 6;
		memcpy(t->port, &sin6->sin6_port, 2);
		memcpy(t->ip, &sin6->sin6_addr, 16);
	}
}

int
tt_addr_to_sa(const struct tt_addr *t, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (t->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_port, t->port, 2);
		memcpy(&sin->sin_addr, t->ip, 4);
		return 0;
	}
	if (t->family == 6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_port, t->port, 2);
		memcpy(&sin6->sin6_addr, t->ip, 16);
		return 0;
	}
	return -1;
}

/* Same IP address, whatever the ports. */
int
tt_same_ip(const struct tt_addr *a, const struct tt_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, 16) == 0;
}

/* "ip:port", "[v6]:port", or with port 0 the bare IP. */
size_t
tt_addr_text(const struct tt_addr *t, char *out, size_t max)
{
	struct sockaddr_storage ss;
	char			ip[ADDR_STRLEN]; /* "[v6]:port" at its longest */
	int			n;

	if (tt_addr_to_sa(t, &ss) == -1)
		return 0;
	if (t->port[0] == 0 && t->port[1] == 0) {
		inet_ntop(t->family == 4 ? AF_INET : AF_INET6, t->ip, ip,
		    sizeof(ip));
		n = snprintf(out, max, "%s", ip);
	} else {
		addr_format_sa((struct sockaddr *)&ss, ip, sizeof(ip));
		n = snprintf(out, max, "%s", ip);
	}
	return n > 0 && (size_t)n < max ? (size_t)n : 0;
}

/* Split off the next field up to sep; NULL at the end. */
static const char *
tt_field(const char **p, const char *end, char sep, size_t *len)
{
	const char *start = *p, *q;

	if (start > end)
		return NULL;
	for (q = start; q < end && *q != sep; q++)
		;
	*len = (size_t)(q - start);
	*p = q + 1;
	return start;
}

/* A list of ip:port separated by any of seps, at most max of them. */
static int
tt_addr_list(const char *s, size_t len, const char *seps, int port,
    struct tt_addr *out, int max, int *n, const char **why)
{
	const char *end = s + len;

	*n = 0;
	while (s <= end) {
		char	    buf[ADDR_STRLEN + 2];
		const char *q = s, *w;
		struct addr a;

		while (q < end && strchr(seps, *q) == NULL)
			q++;
		if (q == s || (size_t)(q - s) >= sizeof(buf)) {
			*why = "bad address";
			return -1;
		}
		if (*n == max) {
			*why = "too many addresses";
			return -1;
		}
		memcpy(buf, s, (size_t)(q - s));
		buf[q - s] = '\0';
		if ((port ? addr_parse(buf, 0, &a, &w)
			  : addr_parse_ip(buf, &a, &w)) == -1) {
			*why = "bad address";
			return -1;
		}
		tt_addr_from_sa(&out[*n], (struct sockaddr *)&a.ss);
		(*n)++;
		s = q + 1;
	}
	return 0;
}

/* "0", or entries "MAC-ip[,ip...]" separated by ';'. */
static int
tt_lan_list(const char *s, size_t len, struct tt_request *r, const char **why)
{
	const char *end = s + len;

	r->nlan = 0;
	if (len == 1 && s[0] == '0')
		return 0;
	while (s <= end) {
		const char *q = s, *dash;
		int	    hex = 0, n;

		while (q < end && *q != ';')
			q++;
		if ((dash = memchr(s, '-', (size_t)(q - s))) == NULL) {
			*why = "bad lan";
			return -1;
		}
		for (; s < dash; s++) {
			if ((*s >= '0' && *s <= '9') ||
			    (*s >= 'a' && *s <= 'f') ||
			    (*s >= 'A' && *s <= 'F'))
				hex++;
			else if (*s != ':') {
				*why = "bad mac";
				return -1;
			}
		}
		if (hex != 12) {
			*why = "bad mac";
			return -1;
		}
		if (tt_addr_list(dash + 1, (size_t)(q - dash - 1), ",", 0,
			r->lan + r->nlan, TT_LAN_MAX - r->nlan, &n, why) == -1)
			return -1;
		r->nlan += n;
		s = q + 1;
	}
	return 0;
}

/*
 * Parse one request (without its line end).  Returns 0, or -1 with the
 * error word in *why.
 */
int
tt_parse(const char *req, size_t len, struct tt_request *r, const char **why)
{
	const char *p = req + 2, *end = req + len, *f;
	size_t	    flen;

	memset(r, 0, sizeof(*r));
	*why = "unknown request";
	if (len < 2 || req[0] != '/' || req[1] != '/' ||
	    memchr(req, '\0', len) != NULL)
		return -1;
	if (len == 5 && memcmp(req, "//nat", 5) == 0) {
		r->kind = TT_NAT;
		return 0;
	}
	if (len == 8 && memcmp(req, "//tcksvr", 8) == 0) {
		r->kind = TT_TRACKERS;
		return 0;
	}
	if (len > 9 && memcmp(req, "//tcksvr/", 9) == 0) {
		r->kind = TT_TRACKERS_ADD;
		return tt_addr_list(req + 9, len - 9, ";", 1, r->trackers,
		    TT_TRACKERS_MAX, &r->ntrackers, why);
	}
	/* //<ns>/P2P&E2E/<group>/<public>/<lan> */
	r->kind = TT_REGISTER;
	f = tt_field(&p, end, '/', &flen);
	if (f == NULL || (flen > 0 && !tt_name_ok(f, flen, 1, TT_NS_MAX))) {
		*why = "bad namespace";
		return -1;
	}
	if (flen == 0)
		strcpy(r->ns, TT_NS_DEFAULT);
	else
		memcpy(r->ns, f, flen);
	f = tt_field(&p, end, '/', &flen);
	if (f == NULL || flen != 7 || memcmp(f, "P2P&E2E", 7) != 0)
		return -1;
	f = tt_field(&p, end, '/', &flen);
	if (f == NULL || !tt_name_ok(f, flen, TT_GROUP_MIN, TT_GROUP_MAX)) {
		*why = "bad group";
		return -1;
	}
	memcpy(r->group, f, flen);
	f = tt_field(&p, end, '/', &flen);
	if (f == NULL) {
		*why = "bad request";
		return -1;
	}
	if (!(flen == 1 && f[0] == '0') &&
	    tt_addr_list(f, flen, ",;", 1, r->public, TT_PUBLIC_MAX,
		&r->npublic, why) == -1)
		return -1;
	/* The last field runs to the end of the request. */
	if (p > end) {
		*why = "bad request";
		return -1;
	}
	return tt_lan_list(p, (size_t)(end - p), r, why);
}

/* The record for a registration that came from src. */
void
tt_member_make(const struct tt_request *r, const struct sockaddr *src,
    struct tt_member *m)
{
	int i;

	memset(m, 0, sizeof(*m));
	tt_addr_from_sa(&m->seen, src);
	if (r->npublic == 0)
		m->first = m->seen;
	else
		m->first = r->public[0];
	m->npublic = (uint8_t)(r->npublic > 0 ? r->npublic : 1);
	for (i = 1; i < r->npublic; i++)
		m->public[i - 1] = r->public[i];
	m->nlan = (uint8_t)r->nlan;
	memcpy(m->lan, r->lan, sizeof(m->lan[0]) * (size_t)r->nlan);
	memset(m->seen.port, 0, 2);
}

/* "<public>[,<public>...][;<lan-ip>,<lan-ip>...]"; LAN IPs if show_lan. */
size_t
tt_member_line(const struct tt_member *m, int show_lan, char *out, size_t max)
{
	size_t off = 0, n;
	int    i;

	for (i = 0; i < m->npublic && i < TT_PUBLIC_MAX; i++) {
		if (i > 0 && off + 1 < max)
			out[off++] = ',';
		n = tt_addr_text(i == 0 ? &m->first : &m->public[i - 1],
		    out + off, max - off);
		if (n == 0)
			return 0;
		off += n;
	}
	for (i = 0; show_lan && i < m->nlan && i < TT_LAN_MAX; i++) {
		if (off + 1 >= max)
			return 0;
		out[off++] = i == 0 ? ';' : ',';
		n = tt_addr_text(&m->lan[i], out + off, max - off);
		if (n == 0)
			return 0;
		off += n;
	}
	out[off] = '\0';
	return off;
}
