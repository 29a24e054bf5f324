/* The PROXY protocol header (haproxy's, v1 text and v2 binary); see
 * proxyproto.c. */
#ifndef NATKIT_PROXYPROTO_H
#define NATKIT_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define PROXY_NONE	 0
#define PROXY_V1	 1
#define PROXY_V2	 2
#define PROXY_HEADER_MAX 108 /* v1's longest line; v2 with IPv6 is 52 */

int    proxy_version(const char *);
size_t proxy_header(int, const struct addr *, const struct addr *,
    uint8_t *);

#endif
