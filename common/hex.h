/* Bytes as lower-case hex, as tokens, ids and MACs travel in JSON. */
#ifndef NATKIT_HEX_H
#define NATKIT_HEX_H

#include <stddef.h>
#include <stdint.h>

char *hex_encode(const uint8_t *, size_t, char *);
int   hex_decode(const char *, uint8_t *, size_t);

#endif
