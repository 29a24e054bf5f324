/*
 * TURN credentials (RFC 8489 long-term, section 9.2) and nonces.
 *
 * A user is a line of turn.users_file, or, with turn.secret_file, a
 * name of the TURN REST API ("EXPIRY[:USER]", EXPIRY in Unix seconds)
 * whose password is base64(HMAC-SHA1(secret, name)): what Synapse,
 * Nextcloud Talk and Jitsi hand their clients, as coturn's
 * use-auth-secret expects.
 *
 * A nonce needs no state: the time it was made and a MAC of that time
 * and the client's address under a key the master drew at start, so
 * that every tracker worker takes every nonce (a client's ports may be
 * spread over them).  A nonce older than turn.nonce_lifetime, or made
 * by an earlier natserver, is stale (438) and the answer has a new one.
 */
#include "config.h"

#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "natserver.h"
#include "turn.h"

#define TURN_NONCE_LEN 24 /* 8 hex digits of time, 16 of MAC */

static uint8_t turn_nonce_key[crypto_auth_hmacsha256_KEYBYTES];

/* The nonces' key, drawn by the master before it forks workers. */
void
turn_auth_init(void)
{
	if (sodium_init() == -1)
		fatalx("sodium_init");
	randombytes_buf(turn_nonce_key, sizeof(turn_nonce_key));
}

/* The MAC part of a nonce made at t for the client's IP. */
static void
turn_nonce_mac(const struct sockaddr *from, uint32_t t, char out[17])
{
	uint8_t		  msg[20], mac[crypto_auth_hmacsha256_BYTES];
	static const char digits[] = "0123456789abcdef";
	size_t		  n = 4;
	int		  i;

	msg[0] = (uint8_t)(t >> 24), msg[1] = (uint8_t)(t >> 16);
	msg[2] = (uint8_t)(t >> 8), msg[3] = (uint8_t)t;
	if (from->sa_family == AF_INET) {
		memcpy(msg + 4, &((const struct sockaddr_in *)from)->sin_addr,
		    4);
		n += 4;
	} else {
		memcpy(msg + 4, &((const struct sockaddr_in6 *)from)->sin6_addr,
		    16);
		n += 16;
	}
	crypto_auth_hmacsha256(mac, msg, n, turn_nonce_key);
	for (i = 0; i < 8; i++) {
		out[2 * i] = digits[mac[i] >> 4];
		out[2 * i + 1] = digits[mac[i] & 15];
	}
	out[16] = '\0';
}

/* A nonce for a client at from, now (seconds). */
void
turn_nonce_make(const struct sockaddr *from, int64_t now, char out[25])
{
	char mac[17];

	turn_nonce_mac(from, (uint32_t)now, mac);
	snprintf(out, 25, "%08x%s", (uint32_t)now, mac);
}

/* Is this nonce ours, for this client, and younger than lifetime? */
int
turn_nonce_ok(const uint8_t *n, size_t len, const struct sockaddr *from,
    int64_t now, int lifetime)
{
	char	 t[9], mac[17], *end;
	uint32_t made;

	if (len != TURN_NONCE_LEN)
		return 0;
	memcpy(t, n, 8);
	t[8] = '\0';
	made = (uint32_t)strtoul(t, &end, 16);
	if (*end != '\0')
		return 0;
	turn_nonce_mac(from, made, mac);
	if (CRYPTO_memcmp(mac, n + 8, 16) != 0)
		return 0;
	/* Times are compared modulo 2^32, as they travel. */
	return (uint32_t)now - made <= (uint32_t)lifetime;
}

/* A REST API name: its expiry, or -1 when the name is not of that form. */
static int64_t
turn_rest_expiry(const char *user)
{
	int64_t t = 0;
	size_t	i;

	for (i = 0; user[i] >= '0' && user[i] <= '9'; i++) {
		if (i == 12)
			return -1;
		t = t * 10 + (user[i] - '0');
	}
	return i > 0 && (user[i] == '\0' || user[i] == ':') ? t : -1;
}

/* The REST API password of a name: base64(HMAC-SHA1(secret, name)). */
static void
turn_rest_password(const char *secret, const char *user, char out[64])
{
	uint8_t	     mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	HMAC(EVP_sha1(), secret, (int)strlen(secret), (const uint8_t *)user,
	    strlen(user), mac, &n);
	EVP_EncodeBlock((unsigned char *)out, mac, (int)n);
	OPENSSL_cleanse(mac, sizeof(mac));
}

/*
 * The key of the user a request names, at now (seconds): 0, or -1 with
 * why (unknown, expired, malformed name).
 */
int
turn_auth_key(const struct server_conf *c, const uint8_t *user, size_t len,
    int64_t now, struct turn_cred *cr, const char **why)
{
	char	pass[64];
	int64_t expiry;
	int	i;

	if (len == 0 || len > TURN_USER_MAX) {
		*why = "a user name of 1 to 128 bytes";
		return -1;
	}
	for (i = 0; i < (int)len; i++)
		if (user[i] < 0x20 || user[i] == 0x7f) {
			*why = "control bytes in the user name";
			return -1;
		}
	memcpy(cr->user, user, len);
	cr->user[len] = '\0';
	if (c->turn_secret[0] != '\0' &&
	    (expiry = turn_rest_expiry(cr->user)) != -1) {
		if (expiry < now) {
			*why = "expired REST API user name";
			return -1;
		}
		turn_rest_password(c->turn_secret, cr->user, pass);
		turn_user_key(cr->user, c->turn_realm, pass, cr->key);
		OPENSSL_cleanse(pass, sizeof(pass));
		return 0;
	}
	for (i = 0; i < c->turn_nusers; i++)
		if (strcmp(c->turn_users[i].name, cr->user) == 0) {
			memcpy(cr->key, c->turn_users[i].key, sizeof(cr->key));
			return 0;
		}
	*why = "unknown user";
	return -1;
}
