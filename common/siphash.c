/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012).  OpenSSL has it only behind
 * EVP_MAC, which allocates a context per call; the table hashes every
 * lookup, so this small version is kept here instead.
 */
#include "config.h"

#include <string.h>

#include "siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3)                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

static uint64_t
siphash_load64(const uint8_t *p)
{
	uint64_t v = 0;
	int	 i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data, *end = in + (len & ~(size_t)7);
	uint64_t       k0 = siphash_load64(key), k1 = siphash_load64(key + 8);
	uint64_t       v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t       v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t       v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t       v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t       m, b = (uint64_t)len << 56;
	uint8_t	       tail[8] = {0};

	for (; in != end; in += 8) {
		m = siphash_load64(in);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	memcpy(tail, in, len & 7);
	b |= siphash_load64(tail);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}
