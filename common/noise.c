/*
 * The Noise XX handshake (Noise Protocol Framework, revision 34), as
 * Noise_XX_25519_ChaChaPoly_SHA256, or Noise_XXpsk3_... when the two
 * sides share a secret, on libsodium's primitives:
 *
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se (psk)
 *
 * Both static keys travel encrypted, so neither side needs the other's
 * key beforehand (natclient checks it afterwards against an allow-list
 * or its known peers), and the session keys come from ephemeral keys
 * alone: forward secrecy.  The prologue binds the handshake to the
 * rendezvous session it runs in.  noise_split gives one cipher per
 * direction: ChaCha20-Poly1305 (IETF) with a 64-bit counter nonce.
 */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "noise.h"

#define NOISE_NAME     "Noise_XX_25519_ChaChaPoly_SHA256"
#define NOISE_NAME_PSK "Noise_XXpsk3_25519_ChaChaPoly_SHA256"

void
noise_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

static void
noise_hmac(const uint8_t *key, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, uint8_t *out)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, a, alen);
	if (blen > 0)
		crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* HKDF(ck, ikm) into up to three 32-byte outputs. */
static void
noise_hkdf(const uint8_t *ck, const uint8_t *ikm, size_t ikmlen,
    uint8_t *o1, uint8_t *o2, uint8_t *o3)
{
	uint8_t temp[32], one = 1, two[33], three[33];

	noise_hmac(ck, ikm, ikmlen, NULL, 0, temp);
	noise_hmac(temp, &one, 1, NULL, 0, o1);
	memcpy(two, o1, 32);
	two[32] = 2;
	noise_hmac(temp, two, 33, NULL, 0, o2);
	if (o3 != NULL) {
		memcpy(three, o2, 32);
		three[32] = 3;
		noise_hmac(temp, three, 33, NULL, 0, o3);
	}
	sodium_memzero(temp, sizeof(temp));
}

static void
noise_mix_hash(struct noise_hs *hs, const uint8_t *d, size_t n)
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, hs->h, 32);
	crypto_hash_sha256_update(&st, d, n);
	crypto_hash_sha256_final(&st, hs->h);
}

static void
noise_mix_key(struct noise_hs *hs, const uint8_t *ikm, size_t n)
{
	noise_hkdf(hs->ck, ikm, n, hs->ck, hs->k, NULL);
	hs->has_k = 1;
	hs->n = 0;
}

static void
noise_mix_key_and_hash(struct noise_hs *hs, const uint8_t *ikm)
{
	uint8_t th[32];

	noise_hkdf(hs->ck, ikm, 32, hs->ck, th, hs->k);
	noise_mix_hash(hs, th, 32);
	hs->has_k = 1;
	hs->n = 0;
}

/* DH into MixKey; -1 on a low-order point (an all-zero secret). */
static int
noise_mix_dh(struct noise_hs *hs, const uint8_t *sk, const uint8_t *pk)
{
	uint8_t shared[32];
	int	rv = crypto_scalarmult(shared, sk, pk);

	if (rv == 0)
		noise_mix_key(hs, shared, 32);
	sodium_memzero(shared, sizeof(shared));
	return rv == 0 ? 0 : -1;
}

static void
noise_nonce(uint64_t n, uint8_t *nonce)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* pt (n bytes) to out (n + NOISE_TAG bytes) under key k, nonce nn. */
int
noise_seal(const struct noise_cipher *c, uint64_t nn, const uint8_t *ad,
    size_t adlen, const uint8_t *pt, size_t n, uint8_t *out)
{
	uint8_t nonce[12];

	noise_nonce(nn, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, n, ad, adlen,
	    NULL, nonce, c->k);
	return (int)(n + NOISE_TAG);
}

/* ct (n bytes, tag included) to out: its length, or -1 if forged. */
int
noise_open(const struct noise_cipher *c, uint64_t nn, const uint8_t *ad,
    size_t adlen, const uint8_t *ct, size_t n, uint8_t *out)
{
	uint8_t nonce[12];

	if (n < NOISE_TAG)
		return -1;
	noise_nonce(nn, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, n,
		ad, adlen, nonce, c->k) != 0)
		return -1;
	return (int)(n - NOISE_TAG);
}

/* EncryptAndHash: d (n bytes) to out; the bytes written. */
static size_t
noise_encrypt_hash(struct noise_hs *hs, const uint8_t *d, size_t n,
    uint8_t *out)
{
	struct noise_cipher c;

	if (!hs->has_k) {
		memmove(out, d, n);
	} else {
		memcpy(c.k, hs->k, NOISE_KEY);
		noise_seal(&c, hs->n++, hs->h, 32, d, n, out);
		n += NOISE_TAG;
		sodium_memzero(&c, sizeof(c));
	}
	noise_mix_hash(hs, out, n);
	return n;
}

/* DecryptAndHash: ct (n bytes) to out; its length, or -1. */
static int
noise_decrypt_hash(struct noise_hs *hs, const uint8_t *ct, size_t n,
    uint8_t *out)
{
	struct noise_cipher c;
	uint8_t		    h[32];
	int		    len = (int)n;

	memcpy(h, hs->h, 32);
	noise_mix_hash(hs, ct, n);
	if (!hs->has_k) {
		memmove(out, ct, n);
		return len;
	}
	memcpy(c.k, hs->k, NOISE_KEY);
	len = noise_open(&c, hs->n++, h, 32, ct, n, out);
	sodium_memzero(&c, sizeof(c));
	return len;
}

/*
 * A handshake as initiator (1) or responder (0) with our static X25519
 * secret key, a 32-byte pre-shared key or NULL, and the prologue both
 * sides must agree on.  0, or -1 when libsodium cannot start.
 */
int
noise_init(struct noise_hs *hs, int initiator, const uint8_t *s_sk,
    const uint8_t *psk, const uint8_t *prologue, size_t plen)
{
	const char *name = psk != NULL ? NOISE_NAME_PSK : NOISE_NAME;

	if (sodium_init() == -1)
		return -1;
	memset(hs, 0, sizeof(*hs));
	if (strlen(name) <= 32)
		memcpy(hs->h, name, strlen(name));
	else
		crypto_hash_sha256(hs->h, (const uint8_t *)name, strlen(name));
	memcpy(hs->ck, hs->h, 32);
	noise_mix_hash(hs, prologue, plen);
	hs->initiator = initiator;
	memcpy(hs->s_sk, s_sk, 32);
	crypto_scalarmult_base(hs->s_pk, hs->s_sk);
	if (psk != NULL) {
		memcpy(hs->psk, psk, 32);
		hs->has_psk = 1;
	}
	randombytes_buf(hs->e_sk, 32);
	crypto_scalarmult_base(hs->e_pk, hs->e_sk);
	return 0;
}

/* A fixed ephemeral key, for the test vectors only. */
void
noise_set_ephemeral(struct noise_hs *hs, const uint8_t *e_sk)
{
	memcpy(hs->e_sk, e_sk, 32);
	crypto_scalarmult_base(hs->e_pk, hs->e_sk);
}

/* The tokens of message step (0, 1, 2), writing (w) or reading. */
static int
noise_tokens(struct noise_hs *hs, int w, const uint8_t **in, size_t *inlen,
    uint8_t **out)
{
	int sent_e = hs->step < 2;

	if (sent_e) { /* e */
		if (w) {
			memcpy(*out, hs->e_pk, 32);
			*out += 32;
			noise_mix_hash(hs, hs->e_pk, 32);
			if (hs->has_psk)
				noise_mix_key(hs, hs->e_pk, 32);
		} else {
			if (*inlen < 32)
				return -1;
			memcpy(hs->re, *in, 32);
			*in += 32;
			*inlen -= 32;
			noise_mix_hash(hs, hs->re, 32);
			if (hs->has_psk)
				noise_mix_key(hs, hs->re, 32);
		}
	}
	if (hs->step == 0)
		return 0;
	if (hs->step == 1 && noise_mix_dh(hs, hs->e_sk, hs->re) == -1) /* ee */
		return -1;
	/* s: ours when writing, the peer's when reading. */
	if (w) {
		*out += noise_encrypt_hash(hs, hs->s_pk, 32, *out);
	} else {
		size_t n = hs->has_k ? 32 + NOISE_TAG : 32;

		if (*inlen < n || noise_decrypt_hash(hs, *in, n, hs->rs) != 32)
			return -1;
		*in += n;
		*inlen -= n;
	}
	/* es (message 2), se (message 3): which keys are ours by role. */
	if ((hs->step == 1) == !hs->initiator) {
		if (noise_mix_dh(hs, hs->s_sk, hs->re) == -1)
			return -1;
	} else if (noise_mix_dh(hs, hs->e_sk, hs->rs) == -1)
		return -1;
	if (hs->step == 2 && hs->has_psk)
		noise_mix_key_and_hash(hs, hs->psk);
	return 0;
}

/*
 * The next handshake message with payload (n bytes) into out: its
 * length, or -1 (out of turn, no room, or a bad key).
 */
int
noise_write(struct noise_hs *hs, const uint8_t *payload, size_t n,
    uint8_t *out, size_t size)
{
	uint8_t *p = out;

	if (hs->step > 2 || (hs->step % 2 == 0) != hs->initiator ||
	    size < NOISE_HS_MAX || n > 32)
		return -1;
	if (noise_tokens(hs, 1, NULL, NULL, &p) == -1)
		return -1;
	p += noise_encrypt_hash(hs, payload, n, p);
	hs->step++;
	return (int)(p - out);
}

/* The peer's next handshake message: its payload's length, or -1. */
int
noise_read(struct noise_hs *hs, const uint8_t *msg, size_t n,
    uint8_t *payload, size_t size)
{
	int len;

	if (hs->step > 2 || (hs->step % 2 == 0) == hs->initiator ||
	    n > NOISE_HS_MAX || size < NOISE_HS_MAX)
		return -1;
	if (noise_tokens(hs, 0, &msg, &n, NULL) == -1)
		return -1;
	if ((len = noise_decrypt_hash(hs, msg, n, payload)) == -1)
		return -1;
	hs->step++;
	return len;
}

/* After message 3: the ciphers to send and to receive with. */
void
noise_split(struct noise_hs *hs, struct noise_cipher *send,
    struct noise_cipher *recv)
{
	uint8_t k1[32], k2[32];

	noise_hkdf(hs->ck, NULL, 0, k1, k2, NULL);
	memcpy(send->k, hs->initiator ? k1 : k2, NOISE_KEY);
	memcpy(recv->k, hs->initiator ? k2 : k1, NOISE_KEY);
	send->n = recv->n = 0;
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	sodium_memzero(hs->e_sk, sizeof(hs->e_sk));
	sodium_memzero(hs->s_sk, sizeof(hs->s_sk));
	sodium_memzero(hs->k, sizeof(hs->k));
	sodium_memzero(hs->psk, sizeof(hs->psk));
}
