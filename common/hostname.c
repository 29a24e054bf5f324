/*
 * Host names as the relay's virtual hosts route by them (RFC 1123
 * labels): lower-cased, one trailing dot dropped, labels of 1 to 63 of
 * a-z 0-9 - (not starting or ending with -), 253 bytes at most.  A
 * claimed name may start with the label "*" (a wildcard: any name
 * below it).  IP literals are names of no host and are refused.
 */
#include "config.h"

#include <string.h>

#include "hostname.h"

static int
hostname_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/*
 * in[0..len) into out (HOSTNAME_MAX + 1 bytes), checked and lower-cased;
 * with wildcard, a first label "*" is allowed.  0, or -1.
 */
int
hostname_norm(char *out, const char *in, size_t len, int wildcard)
{
	size_t i, label = 0;
	int    digits_only = 1;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > HOSTNAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-')
				return -1;
			label = 0;
		} else if (c == '*' && wildcard && i == 0 && len > 2 &&
		    in[1] == '.') {
			label = 1;
			digits_only = 0;
		} else if (!hostname_label_char(c) ||
		    (c == '-' && label == 0) || ++label > 63)
			return -1;
		if (c != '.' && !(c >= '0' && c <= '9'))
			digits_only = 0;
		out[i] = c;
	}
	if (label == 0 || out[len - 1] == '-' || digits_only)
		return -1; /* an empty or bad last label, or an IPv4 literal */
	out[len] = '\0';
	return 0;
}

/*
 * A Host header's value (RFC 9110 7.2: host[:port]) into a name; the
 * port is dropped.  0, or -1 (an IP literal, a bad name or port).
 */
int
hostname_from_host(char *out, const char *v, size_t len)
{
	size_t i;

	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	while (len > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		len--;
	}
	for (i = 0; i < len && v[i] != ':'; i++)
		;
	if (i < len) { /* a port: digits, up to five */
		size_t p;

		if (len - i - 1 > 5)
			return -1;
		for (p = i + 1; p < len; p++)
			if (v[p] < '0' || v[p] > '9')
				return -1;
	}
	return hostname_norm(out, v, i, 0);
}

/*
 * Does name fall under pattern?  "example.com" is that name alone;
 * "*.example.com" any name below example.com, at any depth.
 */
int
hostname_match(const char *pattern, const char *name)
{
	size_t pl = strlen(pattern), nl = strlen(name);

	if (pattern[0] == '*' && pattern[1] == '.')
		return nl > pl - 1 &&
		    strcmp(name + nl - (pl - 1), pattern + 1) == 0;
	return strcmp(pattern, name) == 0;
}

/*
 * The wildcard that covers name at level (1: "*." and name less its
 * first label, 2: less two, ...) into out; 0, or -1 when fewer than
 * two labels would stay under the "*" (no "*.com").
 */
int
hostname_wildcard(char *out, const char *name, int level)
{
	const char *p = name;
	int	    i;

	for (i = 0; i < level; i++)
		if ((p = strchr(p, '.')) == NULL)
			return -1;
		else
			p++;
	if (strchr(p, '.') == NULL)
		return -1;
	out[0] = '*';
	out[1] = '.';
	memmove(out + 2, p, strlen(p) + 1);
	return 0;
}
