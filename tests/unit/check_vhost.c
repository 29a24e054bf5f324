/*
 * Unit tests for what the relay's virtual hosts read: host names
 * (common/hostname.c), HTTP request heads (common/httphead.c) and the
 * server_name of a TLS ClientHello (common/tlssni.c).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "httphead.h"
#include "tlssni.h"
#include "unit.h"

static int
norm(const char *in, int wild, char *out)
{
	return hostname_norm(out, in, strlen(in), wild);
}

START_TEST(test_hostname)
{
	char out[HOSTNAME_MAX + 1], big[300];

	ck_assert_int_eq(norm("WWW.Example.COM.", 0, out), 0);
	ck_assert_str_eq(out, "www.example.com");
	ck_assert_int_eq(norm("a-b.example", 0, out), 0);
	ck_assert_int_eq(norm("-a.example", 0, out), -1);
	ck_assert_int_eq(norm("a..example", 0, out), -1);
	ck_assert_int_eq(norm("a.example..", 0, out), -1); /* fuzz_vhost */
	ck_assert_int_eq(norm("a..example", 0, out), -1);
	ck_assert_int_eq(norm("a.example..", 0, out), -1); /* fuzz_vhost */
	ck_assert_int_eq(norm("a_b.example", 0, out), -1);
	ck_assert_int_eq(norm("1.2.3.4", 0, out), -1);
	ck_assert_int_eq(norm("", 0, out), -1);
	ck_assert_int_eq(norm("*.example.com", 0, out), -1);
	ck_assert_int_eq(norm("*.example.com", 1, out), 0);
	ck_assert_int_eq(norm("a.*.com", 1, out), -1);
	memset(big, 'a', 64);
	strcpy(big + 64, ".com");
	ck_assert_int_eq(norm(big, 0, out), -1); /* a label of 64 */
	memset(big, 'a', 260);
	big[260] = '\0';
	for (int i = 50; i < 260; i += 50)
		big[i] = '.';
	ck_assert_int_eq(norm(big, 0, out), -1); /* over 253 */

	ck_assert_int_eq(hostname_from_host(out, " a.Example:8080 ", 16), 0);
	ck_assert_str_eq(out, "a.example");
	ck_assert_int_eq(hostname_from_host(out, "a.example:80x", 13), -1);
	ck_assert_int_eq(hostname_from_host(out, "[::1]:80", 8), -1);
	ck_assert_int_eq(hostname_from_host(out, "a:123456", 8), -1);

	ck_assert(hostname_match("*.example.com", "a.example.com"));
	ck_assert(hostname_match("*.example.com", "a.b.example.com"));
	ck_assert(!hostname_match("*.example.com", "example.com"));
	ck_assert(!hostname_match("*.example.com", "aexample.com"));
	ck_assert(hostname_match("example.com", "example.com"));
	ck_assert(!hostname_match("example.com", "a.example.com"));

	ck_assert_int_eq(hostname_wildcard(out, "a.b.example.com", 1), 0);
	ck_assert_str_eq(out, "*.b.example.com");
	ck_assert_int_eq(hostname_wildcard(out, "a.b.example.com", 2), 0);
	ck_assert_str_eq(out, "*.example.com");
	ck_assert_int_eq(hostname_wildcard(out, "a.b.example.com", 3), -1);
}
END_TEST

static enum httphead_result
head(const char *s, struct httphead *h)
{
	return httphead_parse(s, strlen(s), h);
}

START_TEST(test_httphead)
{
	struct httphead h;
	const char     *ok = "GET /x HTTP/1.1\r\nHost: A.Example:81\r\n"
			     "Accept: */*\r\n\r\nBODY";

	ck_assert_int_eq(head(ok, &h), HTTPHEAD_OK);
	ck_assert_str_eq(h.host, "a.example");
	ck_assert_uint_eq(h.len, strlen(ok) - 4);
	ck_assert_int_eq(h.upgrade, 0);
	/* Every prefix of the head is not yet a head. */
	for (size_t i = 0; i < h.len; i++)
		ck_assert_int_eq(httphead_parse(ok, i, &h), HTTPHEAD_MORE);
	ck_assert_int_eq(head("GET http://b.example/ HTTP/1.1\r\n"
			      "Host: a.example\r\n\r\n",
			     &h),
	    HTTPHEAD_OK);
	ck_assert_str_eq(h.host, "b.example");
	ck_assert_int_eq(head("GET /chat HTTP/1.1\r\nHost: w.example\r\n"
			      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			      "\r\n",
			     &h),
	    HTTPHEAD_OK);
	ck_assert_int_eq(h.upgrade, 1);
	ck_assert_int_eq(head("GET / HTTP/1.1\nHost: a\n\n", &h), HTTPHEAD_BAD);
	ck_assert_int_eq(head("SSH-2.0-OpenSSH\r\n\r\n", &h), HTTPHEAD_BAD);
	ck_assert_int_eq(head("\r\nGET / HTTP/1.1\r\n\r\n", &h), HTTPHEAD_BAD);
	/* HTTP/0.9's request line; a CR before another byte, which the
	 * library (built lenient) takes for a head's end before ours. */
	ck_assert_int_eq(head("GET /\r\nHost: a.example\r\n\r\n", &h),
	    HTTPHEAD_BAD);
	ck_assert_int_eq(head("GET / HTTP/1.1\r\nHost: a.example\r\n\r\x8a"
			      "3 b\r\n\r\n",
			     &h),
	    HTTPHEAD_BAD);
	ck_assert_int_eq(head("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &h),
	    HTTPHEAD_BAD);
	ck_assert_int_eq(head("CONNECT a.example:443 HTTP/1.1\r\n"
			      "Host: a.example:443\r\n\r\n",
			     &h),
	    HTTPHEAD_BAD);
	ck_assert_int_eq(head("GET / HTTP/1.1\r\n\r\n", &h), HTTPHEAD_NO_HOST);
	ck_assert_int_eq(head("GET / HTTP/1.1\r\nHost: a.example\r\nHost: "
			      "b.example\r\n\r\n",
			     &h),
	    HTTPHEAD_NO_HOST);
	ck_assert_int_eq(head("GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n", &h),
	    HTTPHEAD_NO_HOST);
	ck_assert_int_eq(head("GET / HTTP/1.1\r\nHost: <script>\r\n\r\n", &h),
	    HTTPHEAD_NO_HOST);
	ck_assert_int_eq(head("GET / HTTP/1.1\r\nHost: a.example\r\n"
			      "Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
			     &h),
	    HTTPHEAD_BAD);
}
END_TEST

/* A ClientHello record with the given server_name (NULL: none). */
static size_t
hello(uint8_t *b, const char *name, size_t namelen)
{
	size_t n = 0, ext = 0, hs, rec;

	b[n++] = 22;
	b[n++] = 3;
	b[n++] = 1;
	rec = n;
	n += 2;
	b[n++] = 1;
	hs = n;
	n += 3;
	b[n++] = 3;
	b[n++] = 3;
	memset(b + n, 7, 32);
	n += 32;
	b[n++] = 0;			/* session id */
	b[n++] = 0, b[n++] = 2;		/* ciphers */
	b[n++] = 0x13, b[n++] = 0x01;
	b[n++] = 1, b[n++] = 0;		/* compression */
	ext = n;
	n += 2;
	b[n++] = 0, b[n++] = 10, b[n++] = 0, b[n++] = 2, b[n++] = 0,
	b[n++] = 29; /* supported_groups, before it */
	if (name != NULL) {
		b[n++] = 0, b[n++] = 0;
		b[n++] = (uint8_t)((namelen + 5) >> 8);
		b[n++] = (uint8_t)(namelen + 5);
		b[n++] = (uint8_t)((namelen + 3) >> 8);
		b[n++] = (uint8_t)(namelen + 3);
		b[n++] = 0;
		b[n++] = (uint8_t)(namelen >> 8);
		b[n++] = (uint8_t)namelen;
		memcpy(b + n, name, namelen);
		n += namelen;
	}
	b[ext] = (uint8_t)((n - ext - 2) >> 8);
	b[ext + 1] = (uint8_t)(n - ext - 2);
	b[hs] = 0;
	b[hs + 1] = (uint8_t)((n - hs - 3) >> 8);
	b[hs + 2] = (uint8_t)(n - hs - 3);
	b[rec] = (uint8_t)((n - rec - 2) >> 8);
	b[rec + 1] = (uint8_t)(n - rec - 2);
	return n;
}

START_TEST(test_tlssni)
{
	uint8_t	    b[2048], alert[TLSSNI_ALERT_LEN];
	char	    name[HOSTNAME_MAX + 1], big[300];
	const char *why;
	size_t	    n = hello(b, "Secure.Example", 14), i;

	ck_assert_int_eq(tlssni_parse(b, n, name, &why), TLSSNI_OK);
	ck_assert_str_eq(name, "secure.example");
	for (i = 0; i < n; i++) /* each prefix: more, never a verdict */
		ck_assert_int_eq(tlssni_parse(b, i, name, &why), TLSSNI_MORE);
	for (i = 9; i < n; i++) { /* each shorter record: refused */
		uint8_t c[2048];

		memcpy(c, b, i);
		c[3] = (uint8_t)((i - 5) >> 8);
		c[4] = (uint8_t)(i - 5);
		ck_assert_int_ne(tlssni_parse(c, i, name, &why), TLSSNI_OK);
	}
	n = hello(b, NULL, 0);
	ck_assert_int_eq(tlssni_parse(b, n, name, &why), TLSSNI_NO_NAME);
	memset(big, 'a', 300);
	for (i = 60; i < 300; i += 60)
		big[i] = '.';
	n = hello(b, big, 300); /* over 255 */
	ck_assert_int_eq(tlssni_parse(b, n, name, &why), TLSSNI_NO_NAME);
	ck_assert_int_eq(tlssni_parse((const uint8_t *)"GET / HTTP/1.1\r\n",
			     16, name, &why),
	    TLSSNI_BAD);
	tlssni_alert(alert, TLSSNI_UNRECOGNIZED_NAME);
	ck_assert_int_eq(alert[0], 21);
	ck_assert_int_eq(alert[6], 112);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_hostname);
	tcase_add_test(tc, test_httphead);
	tcase_add_test(tc, test_tlssni);
}

int
main(void)
{
	return unit_run("vhost", 0, add_tests);
}
