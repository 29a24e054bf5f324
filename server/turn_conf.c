/*
 * TURN's config beyond plain keys: the relay addresses, the peer address
 * ranges, turn.users_file and turn.secret_file, read by the master when
 * it loads the config (workers never open them: they may not read them
 * once privileges are dropped).  And the peer check that keeps TURN from
 * being a way into the server's own networks: loopback, private,
 * link-local, multicast and unspecified peers are refused unless
 * turn.allowed_peer names them (coturn's CVE-2020-26262 was a bypass of
 * such a check through 0.0.0.0 and IPv4-mapped IPv6; both are covered).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "natserver.h"
#include "turn.h"

/* Refused peers unless allowed (IPv4 as IPv4-mapped: ::ffff:a.b.c.d). */
static const struct {
	const char *net;
	int	    bits;
} turn_denied_builtin[] = {
    {"::ffff:0.0.0.0", 104},	 /* 0.0.0.0/8: "this" network */
    {"::ffff:10.0.0.0", 104},	 /* private */
    {"::ffff:100.64.0.0", 106},	 /* carrier-grade NAT */
    {"::ffff:127.0.0.0", 104},	 /* loopback */
    {"::ffff:169.254.0.0", 112}, /* link-local */
    {"::ffff:172.16.0.0", 108},	 /* private */
    {"::ffff:192.0.0.0", 120},	 /* protocol assignments */
    {"::ffff:192.168.0.0", 112}, /* private */
    {"::ffff:198.18.0.0", 111},	 /* benchmarking */
    {"::ffff:224.0.0.0", 100},	 /* multicast, reserved, broadcast */
    {"::ffff:240.0.0.0", 100},
    {"::", 96},		 /* unspecified, loopback, IPv4-compatible */
    {"64:ff9b:1::", 48}, /* local-use NAT64 */
    {"100::", 64},	 /* discard */
    {"fc00::", 7},	 /* unique local */
    {"fe80::", 10},	 /* link-local */
    {"fec0::", 10},	 /* site-local */
    {"ff00::", 8},	 /* multicast */
};

/* An address as 16 bytes, IPv4 mapped; NAT64's well-known prefix too. */
static void
turn_ip16(const struct sockaddr *sa, uint8_t ip[16])
{
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};

	memset(ip, 0, 16);
	if (sa->sa_family == AF_INET) {
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return;
	}
	memcpy(ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	/* 64:ff9b::a.b.c.d reaches a.b.c.d through a NAT64: judge that. */
	if (memcmp(ip, nat64, 12) == 0) {
		memset(ip, 0, 10);
		ip[10] = ip[11] = 0xff;
	}
}

static int
turn_in_range(const uint8_t ip[16], const uint8_t net[16], int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(ip, net, (size_t)full) != 0)
		return 0;
	return rest == 0 ||
	    ((ip[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* Parse "IP[/BITS]" into r; -1 when it is no such thing. */
static int
turn_range_parse(const char *s, struct turn_range *r)
{
	char	    buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	struct addr a;
	const char *why;
	long	    bits;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	if (addr_parse_ip(buf, &a, &why) == -1)
		return -1;
	turn_ip16((struct sockaddr *)&a.ss, r->ip);
	bits = addr_family(&a) == AF_INET ? 32 : 128;
	if (slash != NULL) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == slash + 1 ||
		    bits < 0 || bits > (addr_family(&a) == AF_INET ? 32 : 128))
			return -1;
	}
	r->bits = (int)bits + (addr_family(&a) == AF_INET ? 96 : 0);
	return 0;
}

/* A list of ranges separated by blanks or commas. */
static int
turn_ranges_parse(const char *s, struct turn_range *v, int *n, const char *key,
    char *err, size_t errlen)
{
	char buf[1024], *tok, *save;

	*n = 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		if (*n == TURN_RANGES_MAX) {
			snprintf(err, errlen, "turn.%s: more than %d ranges",
			    key, TURN_RANGES_MAX);
			return -1;
		}
		if (turn_range_parse(tok, &v[*n]) == -1) {
			snprintf(err, errlen,
			    "turn.%s: not an address or IP/BITS: '%s'", key,
			    tok);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

/* Is the peer address one TURN may relay to? */
int
turn_peer_allowed(const struct server_conf *c, const struct sockaddr *sa)
{
	uint8_t ip[16], net[16];
	size_t	i;
	int	k;

	turn_ip16(sa, ip);
	for (k = 0; k < c->turn_nallowed; k++)
		if (turn_in_range(ip, c->turn_allowed[k].ip,
			c->turn_allowed[k].bits))
			return 1;
	for (k = 0; k < c->turn_ndenied; k++)
		if (turn_in_range(ip, c->turn_denied[k].ip,
			c->turn_denied[k].bits))
			return 0;
	for (i = 0;
	     i < sizeof(turn_denied_builtin) / sizeof(turn_denied_builtin[0]);
	     i++) {
		inet_pton(AF_INET6, turn_denied_builtin[i].net, net);
		if (turn_in_range(ip, net, turn_denied_builtin[i].bits))
			return 0;
	}
	return 1;
}

/* The long-term key of RFC 8489 section 9.2.2: MD5(user:realm:pass). */
void
turn_user_key(const char *user, const char *realm, const char *pass,
    uint8_t key[16])
{
	char	     buf[TURN_USER_MAX + TURN_REALM_MAX + 1024];
	unsigned int n = 16;
	int	     len;

	len = snprintf(buf, sizeof(buf), "%s:%s:%s", user, realm, pass);
	EVP_Digest(buf, (size_t)len, key, &n, EVP_md5(), NULL);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* One line "name:password" or "name:0xKEY" (32 hex digits, as coturn). */
static const char *
turn_user_parse(const struct server_conf *c, char *line, struct turn_user *u)
{
	char *colon = strchr(line, ':');
	int   i;

	if (colon == NULL || colon == line)
		return "expected name:password or name:0xKEY";
	*colon = '\0';
	if (strlen(line) > TURN_USER_MAX)
		return "a name has at most 128 bytes";
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x21 || line[i] == 0x7f)
			return "a name has no blanks or control bytes";
	if (colon[1] == '\0')
		return "empty password";
	snprintf(u->name, sizeof(u->name), "%s", line);
	if (strncmp(colon + 1, "0x", 2) == 0 && strlen(colon + 3) == 32) {
		for (i = 3; colon[i] != '\0'; i++)
			colon[i] = (char)tolower((unsigned char)colon[i]);
		if (hex_decode(colon + 3, u->key, sizeof(u->key)) == -1)
			return "a key is 0x and 32 hex digits";
	} else
		turn_user_key(line, c->turn_realm, colon + 1, u->key);
	return NULL;
}

static int
turn_users_load(struct server_conf *c, char *err, size_t errlen)
{
	char	    line[TURN_USER_MAX + 512];
	const char *why;
	FILE	   *fp;
	int	    lineno = 0, i;

	if (c->turn_users_file[0] == '\0')
		return 0;
	if ((fp = conf_open_private("turn.users_file", c->turn_users_file, err,
		 errlen)) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct turn_user *u = &c->turn_users[c->turn_nusers];
		size_t		  n = strcspn(line, "\r\n");

		lineno++;
		why = NULL;
		if (line[n] == '\0' && !feof(fp))
			why = "a line is at most 640 bytes";
		line[n] = '\0';
		if (why == NULL && (strspn(line, " \t") == n || line[0] == '#'))
			continue;
		if (why == NULL && c->turn_nusers == TURN_USERS_MAX)
			why = "more than 256 users (use turn.secret_file)";
		if (why == NULL)
			why = turn_user_parse(c, line, u);
		for (i = 0; why == NULL && i < c->turn_nusers; i++)
			if (strcmp(c->turn_users[i].name, u->name) == 0)
				why = "this name is on an earlier line";
		OPENSSL_cleanse(line, sizeof(line));
		if (why != NULL) {
			snprintf(err, errlen, "%s:%d: %s", c->turn_users_file,
			    lineno, why);
			fclose(fp);
			return -1;
		}
		c->turn_nusers++;
	}
	fclose(fp);
	return 0;
}

/* turn.secret_file: the TURN REST API's shared secret, its first line. */
static int
turn_secret_load(struct server_conf *c, char *err, size_t errlen)
{
	FILE  *fp;
	size_t n;

	if (c->turn_secret_file[0] == '\0')
		return 0;
	if ((fp = conf_open_private("turn.secret_file", c->turn_secret_file,
		 err, errlen)) == NULL)
		return -1;
	if (fgets(c->turn_secret, sizeof(c->turn_secret), fp) == NULL)
		c->turn_secret[0] = '\0';
	fclose(fp);
	n = strcspn(c->turn_secret, "\r\n");
	if (c->turn_secret[n] == '\0' && n == TURN_SECRET_MAX) {
		snprintf(err, errlen,
		    "turn.secret_file %s: longer than %d "
		    "bytes",
		    c->turn_secret_file, TURN_SECRET_MAX);
		return -1;
	}
	c->turn_secret[n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "turn.secret_file %s: empty",
		    c->turn_secret_file);
		return -1;
	}
	return 0;
}

/* turn.relay_address: at most one address of each family. */
static int
turn_relay_parse(struct server_conf *c, char *err, size_t errlen)
{
	char	    buf[sizeof(c->turn_relay_address_s)], *tok, *save;
	const char *why;

	c->turn_nrelay = 0;
	snprintf(buf, sizeof(buf), "%s", c->turn_relay_address_s);
	for (tok = strtok_r(buf, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		struct addr *a = &c->turn_relay[c->turn_nrelay];

		if (c->turn_nrelay == 2 || addr_parse_ip(tok, a, &why) == -1 ||
		    (c->turn_nrelay == 1 &&
			addr_family(a) == addr_family(&c->turn_relay[0]))) {
			snprintf(err, errlen,
			    "turn.relay_address: '%s': one IPv4 and one IPv6 "
			    "address at most",
			    tok);
			return -1;
		}
		c->turn_nrelay++;
	}
	return 0;
}

/* After the keys are read: everything TURN makes of them. */
int
turn_conf_load(struct server_conf *c, const char *path, char *err,
    size_t errlen)
{
	c->turn_nusers = 0;
	c->turn_secret[0] = '\0';
	if (c->turn_realm[0] == '\0') {
		snprintf(err, errlen, "%s: turn.realm: empty",
		    path ? path : "(defaults)");
		return -1;
	}
	if (turn_relay_parse(c, err, errlen) == -1 ||
	    turn_ranges_parse(c->turn_allowed_peer_s, c->turn_allowed,
		&c->turn_nallowed, "allowed_peer", err, errlen) == -1 ||
	    turn_ranges_parse(c->turn_denied_peer_s, c->turn_denied,
		&c->turn_ndenied, "denied_peer", err, errlen) == -1 ||
	    turn_users_load(c, err, errlen) == -1 ||
	    turn_secret_load(c, err, errlen) == -1)
		return -1;
	return 0;
}

/* No credentials, no TURN: then only STUN is served. */
int
turn_enabled(const struct server_conf *c)
{
	return c->turn_nusers > 0 || c->turn_secret[0] != '\0';
}

void
turn_addr_set(struct turn_addr *t, const struct sockaddr *sa)
{
	memset(t, 0, sizeof(*t));
	t->family = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		t->port = sin->sin_port;
		memcpy(t->ip, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		t->port = sin6->sin6_port;
		memcpy(t->ip, &sin6->sin6_addr, 16);
	}
}

socklen_t
turn_addr_get(const struct turn_addr *t, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = t->family;
	if (t->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_port = t->port;
		memcpy(&sin->sin_addr, t->ip, 4);
		return sizeof(*sin);
	}
	((struct sockaddr_in6 *)ss)->sin6_port = t->port;
	memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, t->ip, 16);
	return sizeof(struct sockaddr_in6);
}

/* Permissions are by IP address alone (RFC 8656 section 9). */
int
turn_addr_same_ip(const struct turn_addr *a, const struct turn_addr *b)
{
	return a->family == b->family &&
	    memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0;
}
