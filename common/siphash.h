/* SipHash-2-4: a keyed hash, so attackers cannot aim keys at one bucket. */
#ifndef NATKIT_SIPHASH_H
#define NATKIT_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const void *, size_t);

#endif
