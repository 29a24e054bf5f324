/*
 * The head of an HTTP/1.x request (RFC 9112), read by the relay's
 * virtual hosts to find the host a visitor asks for.  The syntax is
 * checked by libhttp-parser (request line, header names and values,
 * Content-Length and Transfer-Encoding rules); on top of it:
 *
 *   - a head ends at its first empty line, and every line ends in CRLF
 *     (a bare LF is refused: two parsers must not disagree on where a
 *     head ends);
 *   - the host is the absolute-form target's, else the one Host header
 *     (RFC 9112 3.2.2); two Host headers, or HTTP/1.1 without one, are
 *     refused; CONNECT is refused (the relay is no forward proxy);
 *   - a header name is a token (Debian's library is built lenient and
 *     takes a space in one, which two parsers could read apart).
 *
 * Only the head is given to the parser: the body is the service's.
 */
#include "config.h"

#include <http_parser.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "httphead.h"
#include "tlssni.h"

struct httphead_state {
	struct httphead *h;
	int		 in_host; /* the header being read is Host */
	int		 hosts;	  /* Host headers seen */
	int		 done;	  /* the head's end reached */
	int		 bad_host;
	int		 bad_name; /* a header name that is no token */
	int		 url_host; /* the target named the host */
	char		 host[HOSTNAME_MAX + 1];
};

static int
httphead_url_cb(http_parser *p, const char *at, size_t len)
{
	struct httphead_state  *s = p->data;
	struct http_parser_url	u;

	if (len == 0 || at[0] == '/' || (len == 1 && at[0] == '*'))
		return 0; /* origin-form or asterisk-form: Host names it */
	http_parser_url_init(&u);
	if (http_parser_parse_url(at, len, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_HOST)))
		return 0; /* the parser judges the target itself */
	s->url_host = 1;
	if (hostname_norm(s->host, at + u.field_data[UF_HOST].off,
		u.field_data[UF_HOST].len, 0) == -1)
		s->bad_host = 1;
	return 0;
}

/* RFC 9110 5.6.2 tchar (the library, built lenient, takes spaces too). */
static int
httphead_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static int
httphead_field_cb(http_parser *p, const char *at, size_t len)
{
	struct httphead_state *s = p->data;
	size_t		       i;

	for (i = 0; i < len; i++)
		if (!httphead_tchar(at[i]))
			s->bad_name = 1;
	s->in_host = len == 4 && strncasecmp(at, "host", 4) == 0;
	if (s->in_host)
		s->hosts++;
	return 0;
}

static int
httphead_value_cb(http_parser *p, const char *at, size_t len)
{
	struct httphead_state *s = p->data;

	if (s->in_host && !s->url_host &&
	    hostname_from_host(s->host, at, len) == -1)
		s->bad_host = 1;
	s->in_host = 0;
	return 0;
}

static int
httphead_done_cb(http_parser *p)
{
	struct httphead_state *s = p->data;

	s->done = 1;
	s->h->upgrade = p->upgrade;
	http_parser_pause(p, 1); /* what follows is the service's */
	return 0;
}

/* The end of the head in b[0..n): its length, 0 (not yet), or -1. */
static long
httphead_end(const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] != '\n')
			continue;
		if (i == 0 || b[i - 1] != '\r')
			return -1; /* a bare LF */
		if (i >= 3 && b[i - 2] == '\n')
			return (long)i + 1;
		if (i == 1)
			return -1; /* an empty first line */
	}
	return 0;
}

enum httphead_result
httphead_parse(const char *b, size_t n, struct httphead *h)
{
	static http_parser_settings settings = {
	    .on_url = httphead_url_cb,
	    .on_header_field = httphead_field_cb,
	    .on_header_value = httphead_value_cb,
	    .on_headers_complete = httphead_done_cb,
	};
	struct httphead_state s;
	http_parser	      p;
	enum http_errno	      e;
	long		      end;
	size_t		      m;

	memset(h, 0, sizeof(*h));
	memset(&s, 0, sizeof(s));
	s.h = h;
	if ((end = httphead_end(b, n)) == 0)
		return HTTPHEAD_MORE;
	if (end == -1) {
		h->why = "a line does not end in CRLF";
		return HTTPHEAD_BAD;
	}
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &s;
	m = http_parser_execute(&p, &settings, b, (size_t)end);
	e = HTTP_PARSER_ERRNO(&p);
	if (e != HPE_OK && e != HPE_PAUSED) {
		h->why = http_errno_description(e);
		return HTTPHEAD_BAD;
	}
	/* Paused at the head's end, on its last LF; the library, built
	 * lenient, may find an end elsewhere (a CR with another byte). */
	if (!s.done || m + 1 != (size_t)end) {
		h->why = "the head does not end where its empty line is";
		return HTTPHEAD_BAD;
	}
	if (p.http_major != 1) {
		h->why = "not an HTTP/1.x request line";
		return HTTPHEAD_BAD;
	}
	if (s.bad_name) {
		h->why = "a header name that is not a token";
		return HTTPHEAD_BAD;
	}
	if (p.method == HTTP_CONNECT) {
		h->why = "CONNECT: this is no forward proxy";
		return HTTPHEAD_BAD;
	}
	h->len = (size_t)end;
	if (s.hosts > 1)
		h->why = "more than one Host header";
	else if (s.bad_host)
		h->why = "the host is not a name";
	else if (!s.url_host && s.hosts == 0)
		h->why = "no Host header";
	else {
		memcpy(h->host, s.host, sizeof(h->host));
		return HTTPHEAD_OK;
	}
	return HTTPHEAD_NO_HOST;
}

/* What a visitor that will not be served is told, by HTTP status. */
static const struct {
	int	    status;
	const char *reason, *body;
	uint8_t	    alert; /* said instead over TLS */
} httphead_answers[] = {
    {400, "Bad Request", "The request could not be read.",
	TLSSNI_DECODE_ERROR},
    {404, "Not Found", "No service is exposed under this host name.",
	TLSSNI_UNRECOGNIZED_NAME},
    {408, "Request Timeout", "The request did not come in time.",
	TLSSNI_DECODE_ERROR},
    {431, "Request Header Fields Too Large", "The request head is too large.",
	TLSSNI_DECODE_ERROR},
    {502, "Bad Gateway",
	"The service behind this host name cannot be reached now.",
	TLSSNI_INTERNAL_ERROR},
    {503, "Service Unavailable", "The service is too busy now.",
	TLSSNI_INTERNAL_ERROR},
};

/*
 * The answer with status (an HTTP response that closes the connection,
 * or with tls the TLS alert for it) into out, HTTPHEAD_ANSWER_MAX
 * bytes; its length.  Fixed texts: no byte of the request is repeated.
 */
size_t
httphead_answer(char *out, int tls, int status)
{
	size_t i, n = sizeof(httphead_answers) / sizeof(httphead_answers[0]);
	int    len;

	for (i = 0; i < n - 1 && httphead_answers[i].status != status; i++)
		;
	if (tls) {
		tlssni_alert((uint8_t *)out, httphead_answers[i].alert);
		return TLSSNI_ALERT_LEN;
	}
	len = snprintf(out, HTTPHEAD_ANSWER_MAX,
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
	    httphead_answers[i].status, httphead_answers[i].reason,
	    strlen(httphead_answers[i].body) + 1, httphead_answers[i].body);
	return len > 0 ? (size_t)len : 0;
}
