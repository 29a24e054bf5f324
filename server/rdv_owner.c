/*
 * Owned names.  A client that registers a name with its Ed25519 key
 * signs, with that key, a nonce this connection was given (challenge)
 * and the name; the name is then bound to the key for
 * rendezvous.owner_ttl after its last use, and no other key, nor a
 * client without one, may register it.  Each nonce serves once, so a
 * register line seen on the wire cannot be replayed on another
 * connection; refreshes are keepalives on the connection that proved
 * the key.  The owner records share the named sessions' table quota.
 */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "hex.h"
#include "rdv_named.h"

#define OWNER_LABEL "natkit-register-1" /* and a NUL, signed first */

struct named_owner {
	uint8_t pk[32];
};

static int64_t
owner_ttl(const struct worker *w)
{
	return (int64_t)w->conf->owner_ttl * 1000;
}

/* challenge: a fresh nonce for this connection's next register. */
void
named_challenge(struct named_conn *c, json_t *msg)
{
	static const char *const keys[] = {"type", NULL};
	const char		*bad;
	char			 hex[2 * NAMED_NONCE_LEN + 1];

	if ((bad = named_unknown_key(msg, keys)) != NULL)
		return named_error(c, "unknown_field", bad);
	randombytes_buf(c->nonce, sizeof(c->nonce));
	c->has_nonce = 1;
	named_send(c,
	    json_pack("{s:s,s:s}", "type", "challenge", "nonce",
		hex_encode(c->nonce, sizeof(c->nonce), hex)));
}

/* The signature over this connection's nonce and name: 0, or -1. */
static int
owner_verify(struct named_conn *c, const char *name, const char *key,
    const char *sig)
{
	uint8_t	  m[sizeof(OWNER_LABEL) + NAMED_NONCE_LEN + NAMED_NAME_MAX];
	uint8_t	  s[crypto_sign_BYTES];
	size_t	  n = strlen(name);

	if (strlen(key) != 64 || hex_decode(key, c->owner, 32) == -1 ||
	    strlen(sig) != 2 * sizeof(s) || hex_decode(sig, s, sizeof(s)) == -1)
		return -1;
	memcpy(m, OWNER_LABEL, sizeof(OWNER_LABEL));
	memcpy(m + sizeof(OWNER_LABEL), c->nonce, NAMED_NONCE_LEN);
	memcpy(m + sizeof(OWNER_LABEL) + NAMED_NONCE_LEN, name, n);
	return crypto_sign_verify_detached(s, m,
		   sizeof(OWNER_LABEL) + NAMED_NONCE_LEN + n, c->owner) == 0
	    ? 0
	    : -1;
}

/*
 * May this registration take name?  With key and sig it must prove the
 * key and match the name's owner, if any; without, the name must have
 * none.  0, or -1 with the error sent.
 */
int
named_owner_check(struct named_conn *c, const char *name, json_t *msg)
{
	struct named_owner own;
	const char	  *key = NULL, *sig = NULL;
	uint8_t		   k[TABLE_KEY_MAX];
	int		   has_owner;

	if (json_unpack(msg, "{s?s,s?s}", "key", &key, "sig", &sig) == -1 ||
	    (key == NULL) != (sig == NULL)) {
		named_error(c, "bad_key", "key and sig are hex strings, both");
		return -1;
	}
	if (key != NULL) {
		if (!c->has_nonce) {
			named_error(c, "no_challenge",
			    "ask for a challenge before a signed register");
			return -1;
		}
		c->has_nonce = 0; /* one use */
		if (owner_verify(c, name, key, sig) == -1) {
			proc_count(c->w, STAT_BAD_SIG);
			named_error(c, "bad_signature",
			    "the signature does not prove the key");
			return -1;
		}
	}
	has_owner = table_get(c->w->state->table, TABLE_KIND_NAMED, k,
			named_key(k, 'O', name, strlen(name)), &own,
			sizeof(own), table_now_ms()) == (int)sizeof(own);
	if (has_owner &&
	    (key == NULL || sodium_memcmp(own.pk, c->owner, 32) != 0)) {
		named_error(c, "name_owned",
		    "this name belongs to another key");
		return -1;
	}
	c->owned = key != NULL;
	return 0;
}

/* Bind (or keep bound) the connection's name to its key. */
void
named_owner_keep(struct named_conn *c)
{
	struct named_owner own;
	uint8_t		   k[TABLE_KEY_MAX];

	if (!c->owned || c->name[0] == '\0')
		return;
	memcpy(own.pk, c->owner, sizeof(own.pk));
	table_put(c->w->state->table, TABLE_KIND_NAMED, k,
	    named_key(k, 'O', c->name, strlen(c->name)), &own, sizeof(own),
	    owner_ttl(c->w), table_now_ms());
}
