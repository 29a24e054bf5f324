/*
 * Relay tokens: the master reads relay.token_file when it loads the
 * config, and refuses a file that others may read, as ssh refuses such
 * a key.  A line is a bare token (any client), or a client's own:
 *
 *   NAME TOKEN [ports=LOW-HIGH] [max_ports=N] [domains=PATTERN,...]
 *
 * NAME (1 to 32 of A-Z a-z 0-9 . _ -) is how logs and metrics call the
 * client, owns its exposures, and carries its limits; removing its line
 * and reloading ends its sessions (their re-login fails) and no other.
 * A client proves it holds a token by the HMAC-SHA256 of the server's
 * nonce keyed with it; the token itself never travels.
 */
#include "config.h"

#include <sys/stat.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "hostname.h"
#include "named.h"
#include "natserver.h"

/* One option of a named token: 0, or -1 with why. */
static int
relay_token_option(struct relay_token *t, const char *opt, const char **why)
{
	char *end;
	long  lo, hi;

	if (strncmp(opt, "ports=", 6) == 0) {
		lo = strtol(opt + 6, &end, 10);
		hi = *end == '-' ? strtol(end + 1, &end, 10) : -1;
		if (*end != '\0' || lo < 1 || hi > 65535 || lo > hi) {
			*why = "ports= is LOW-HIGH, from 1 to 65535";
			return -1;
		}
		t->port_low = (int)lo;
		t->port_high = (int)hi;
		return 0;
	}
	if (strncmp(opt, "max_ports=", 10) == 0) {
		lo = strtol(opt + 10, &end, 10);
		if (*end != '\0' || lo < 1 || lo > 1000) {
			*why = "max_ports= is 1 to 1000";
			return -1;
		}
		t->max_ports = (int)lo;
		return 0;
	}
	if (strncmp(opt, "domains=", 8) == 0) {
		char  copy[RELAY_DOMAINS_LEN], name[HOSTNAME_MAX + 1], *p, *s;

		if (strlen(opt + 8) >= sizeof(copy)) {
			*why = "domains= is too long";
			return -1;
		}
		snprintf(copy, sizeof(copy), "%s", opt + 8);
		for (p = strtok_r(copy, ",", &s); p != NULL;
		     p = strtok_r(NULL, ",", &s))
			if (hostname_norm(name, p, strlen(p), 1) == -1) {
				*why = "domains= is names or *.names, apart "
				       "by commas";
				return -1;
			}
		snprintf(t->domains, sizeof(t->domains), "%s", opt + 8);
		return 0;
	}
	*why = "unknown option (ports=LOW-HIGH, max_ports=N, "
	       "domains=PATTERN,...)";
	return -1;
}

/* A line's words into t: 0, or -1 with why. */
static int
relay_token_parse(struct relay_token *t, char *line, const char **why)
{
	char *word[8], *save = NULL, *p;
	int   n = 0, i;

	memset(t, 0, sizeof(*t));
	for (p = strtok_r(line, " \t", &save); p != NULL && n < 8;
	     p = strtok_r(NULL, " \t", &save))
		word[n++] = p;
	if (n == 0 || n == 8) {
		*why = n == 0 ? "an empty line" : "too many words";
		return -1;
	}
	if (n > 1 && !named_name_ok(word[0])) {
		*why = "a client name is 1 to 32 of A-Z a-z 0-9 . _ -";
		return -1;
	}
	if (n > 1)
		snprintf(t->name, sizeof(t->name), "%s", word[0]);
	p = word[n > 1 ? 1 : 0];
	if (strlen(p) < 16 || strlen(p) > RELAY_TOKEN_MAX) {
		*why = "a token has 16 to 128 bytes";
		return -1;
	}
	memcpy(t->secret, p, strlen(p) + 1);
	for (i = 2; i < n; i++)
		if (relay_token_option(t, word[i], why) == -1)
			return -1;
	return 0;
}

int
relay_tokens_load(struct server_conf *c, char *err, size_t errlen)
{
	char	    line[RELAY_TOKEN_MAX + 256];
	const char *why;
	FILE	   *fp;
	int	    lineno = 0, i;

	c->relay_ntokens = 0;
	if (c->relay_token_file[0] == '\0')
		return 0; /* no token, no relay */
	if ((fp = conf_open_private("relay.token_file", c->relay_token_file,
		 err, errlen)) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct relay_token *t = &c->relay_tokens[c->relay_ntokens];
		size_t		    n = strcspn(line, "\r\n");

		lineno++;
		why = NULL;
		if (line[n] == '\0' && !feof(fp))
			why = "a line is at most 384 bytes";
		line[n] = '\0';
		if (why == NULL && (strspn(line, " \t") == n || line[0] == '#'))
			continue;
		if (why == NULL && c->relay_ntokens == RELAY_TOKENS_MAX)
			why = "too many tokens";
		if (why == NULL && relay_token_parse(t, line, &why) == 0)
			for (i = 0; i < c->relay_ntokens; i++)
				if (t->name[0] != '\0' &&
				    strcmp(c->relay_tokens[i].name, t->name) ==
					0)
					why = "this client name is on an "
					      "earlier line";
		if (why != NULL) {
			snprintf(err, errlen, "%s:%d: %s", c->relay_token_file,
			    lineno, why);
			fclose(fp);
			return -1;
		}
		c->relay_ntokens++;
	}
	fclose(fp);
	return 0;
}

/*
 * The token whose HMAC of nonce hex (lower case) is: its index, or -1.
 * Every token is tried, so that the time taken tells nothing.
 */
int
relay_auth_find(const struct server_conf *c, const uint8_t *nonce, size_t len,
    const char *hex)
{
	uint8_t	     want[EVP_MAX_MD_SIZE], got[32];
	unsigned int wlen;
	int	     i, found = -1;

	if (hex_decode(hex, got, sizeof(got)) == -1)
		return -1;
	for (i = 0; i < c->relay_ntokens; i++) {
		const char *s = c->relay_tokens[i].secret;

		if (HMAC(EVP_sha256(), s, (int)strlen(s), nonce, len, want,
			&wlen) == NULL ||
		    wlen != sizeof(got))
			continue;
		if (CRYPTO_memcmp(want, got, sizeof(got)) == 0 && found == -1)
			found = i;
	}
	return found;
}
