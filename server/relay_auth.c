/*
 * Relay tokens: the master reads relay.token_file (one token per line,
 * # comments) when it loads the config, and refuses a file that others
 * may read, as ssh refuses such a key.  A client proves it holds a token
 * by the HMAC-SHA256 of the server's nonce keyed with it; the token
 * itself never travels.
 */
#include "config.h"

#include <sys/stat.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "natserver.h"

int
relay_tokens_load(struct server_conf *c, char *err, size_t errlen)
{
	char	    line[RELAY_TOKEN_MAX + 8];
	struct stat st;
	FILE	   *fp;
	int	    lineno = 0;

	c->relay_ntokens = 0;
	if (c->relay_token_file[0] == '\0')
		return 0; /* no token, no relay */
	if ((fp = fopen(c->relay_token_file, "r")) == NULL) {
		snprintf(err, errlen, "relay.token_file %s: %s",
		    c->relay_token_file, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == -1 || (st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "relay.token_file %s: readable by others (chmod 600 it)",
		    c->relay_token_file);
		fclose(fp);
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t n = strcspn(line, "\r\n");

		lineno++;
		if (line[n] == '\0' && !feof(fp)) {
			snprintf(err, errlen,
			    "%s:%d: a token is at most %d bytes",
			    c->relay_token_file, lineno, RELAY_TOKEN_MAX);
			fclose(fp);
			return -1;
		}
		line[n] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (n < 16 || c->relay_ntokens == RELAY_TOKENS_MAX) {
			snprintf(err, errlen, "%s:%d: %s", c->relay_token_file,
			    lineno,
			    n < 16 ? "a token has at least 16 bytes"
				   : "too many tokens");
			fclose(fp);
			return -1;
		}
		memcpy(c->relay_tokens[c->relay_ntokens++], line, n + 1);
	}
	fclose(fp);
	return 0;
}

/* Does hex (lower case) match the HMAC of nonce under any token? */
int
relay_auth_ok(const struct server_conf *c, const uint8_t *nonce, size_t len,
    const char *hex)
{
	uint8_t	     want[EVP_MAX_MD_SIZE], got[32];
	unsigned int wlen;
	int	     i, ok = 0;

	if (hex_decode(hex, got, sizeof(got)) == -1)
		return 0;
	for (i = 0; i < c->relay_ntokens; i++) {
		if (HMAC(EVP_sha256(), c->relay_tokens[i],
			(int)strlen(c->relay_tokens[i]), nonce, len, want,
			&wlen) == NULL ||
		    wlen != sizeof(got))
			continue;
		ok |= CRYPTO_memcmp(want, got, sizeof(got)) == 0;
	}
	return ok;
}
