/* The Noise XX handshake and its transport cipher; see noise.c. */
#ifndef NATKIT_NOISE_H
#define NATKIT_NOISE_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_KEY	32
#define NOISE_TAG	16
#define NOISE_MSG_MAX	65535
/* The three messages of XX with a 32-byte payload each, at most. */
#define NOISE_HS_MAX	(32 + 32 + NOISE_TAG + 32 + NOISE_TAG)

struct noise_cipher {
	uint8_t	 k[NOISE_KEY];
	uint64_t n; /* the next nonce (implicit on reliable carriers) */
};

struct noise_hs {
	uint8_t ck[32], h[32], k[NOISE_KEY];
	int	has_k;
	uint64_t n;
	uint8_t s_sk[32], s_pk[32], e_sk[32], e_pk[32], rs[32], re[32];
	uint8_t psk[32];
	int	has_psk;
	int	initiator;
	int	step; /* messages done: 0 to 3 */
};

int noise_init(struct noise_hs *, int, const uint8_t *, const uint8_t *,
    const uint8_t *, size_t);
void noise_set_ephemeral(struct noise_hs *, const uint8_t *);
int  noise_write(struct noise_hs *, const uint8_t *, size_t, uint8_t *,
     size_t);
int  noise_read(struct noise_hs *, const uint8_t *, size_t, uint8_t *,
     size_t);
void noise_split(struct noise_hs *, struct noise_cipher *,
    struct noise_cipher *);
void noise_wipe(void *, size_t);

int noise_seal(const struct noise_cipher *, uint64_t, const uint8_t *, size_t,
    const uint8_t *, size_t, uint8_t *);
int noise_open(const struct noise_cipher *, uint64_t, const uint8_t *, size_t,
    const uint8_t *, size_t, uint8_t *);

#endif
