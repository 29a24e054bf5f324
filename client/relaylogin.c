/*
 * Logging in to natserver's relay (TCP 8888): hello with a client id,
 * the server's nonce, our HMAC-SHA256 of it keyed with the token.  The
 * token never travels, and comes from a file only its owner can read,
 * natclient.conf's token_file, or $NATKIT_TOKEN: never from the command
 * line, where ps would show it.
 */
#include "config.h"

#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "keys.h"
#include "relaylogin.h"

/* The token into tok; 0, or -1 when there is none. */
int
relay_token(const struct client_opts *o, char *tok, size_t n)
{
	const char *env = getenv("NATKIT_TOKEN");
	FILE	   *fp;

	if (o->token_file[0] == '\0') {
		if (env == NULL || env[0] == '\0')
			return -1;
		if (strlen(env) >= n)
			client_fail(o, "NATKIT_TOKEN: longer than %zu bytes",
			    n - 1);
		snprintf(tok, n, "%s", env);
		return 0;
	}
	fp = key_private_open(o, o->token_file, "token file");
	if (fgets(tok, (int)n, fp) == NULL)
		tok[0] = '\0';
	fclose(fp);
	tok[strcspn(tok, "\r\n")] = '\0';
	if (tok[0] == '\0')
		client_fail(o, "token file %s: empty", o->token_file);
	return 0;
}

/*
 * The auth line's hmac for the server's challenge nonce (hex): the
 * HMAC-SHA256 of the nonce's bytes, keyed with the token, in hex (out:
 * 2 * EVP_MAX_MD_SIZE + 1).  0, or -1 for a nonce that is not hex.
 */
int
relay_login_answer(const char *token, const char *nonce, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE], raw[64];
	unsigned int  maclen;
	size_t	      n = strlen(nonce) / 2;

	if (n > sizeof(raw) || hex_decode(nonce, raw, n) == -1)
		return -1;
	HMAC(EVP_sha256(), token, (int)strlen(token), raw, n, mac, &maclen);
	hex_encode(mac, maclen, out);
	return 0;
}

/*
 * Log in on fd (lines buffered in buf).  0, or -1 with *err the server's
 * answer (NULL when the connection was lost), for the caller to free.
 */
int
relay_login(const struct client_opts *o, int fd, char *buf, size_t size,
    size_t *have, const char *token, const char *client_id, json_t **err)
{
	const char *nonce = NULL;
	char	    hex[2 * EVP_MAX_MD_SIZE + 1];
	json_t	   *msg;

	*err = NULL;
	client_send_json(fd,
	    json_pack("{s:s,s:i,s:s}", "type", "hello", "version", 1,
		"client_id", client_id));
	msg = client_json_read(fd, buf, size, have, o->timeout * 1000);
	if (msg == NULL || strcmp(client_json_type(msg), "challenge") != 0 ||
	    json_unpack(msg, "{s:s}", "nonce", &nonce) == -1 ||
	    relay_login_answer(token, nonce, hex) == -1) {
		*err = msg;
		return -1;
	}
	json_decref(msg);
	client_send_json(fd,
	    json_pack("{s:s,s:s}", "type", "auth", "hmac", hex));
	msg = client_json_read(fd, buf, size, have, o->timeout * 1000);
	if (msg == NULL || strcmp(client_json_type(msg), "ok") != 0) {
		*err = msg;
		return -1;
	}
	json_decref(msg);
	return 0;
}
