/* PCP (RFC 6887) MAP and ANNOUNCE messages; see pcp.c. */
#ifndef NATCLIENT_PCP_H
#define NATCLIENT_PCP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define PCP_VERSION	2
#define PCP_OP_ANNOUNCE 0
#define PCP_OP_MAP	1
#define PCP_HEADER_LEN	24
#define PCP_MAP_LEN	60 /* header and MAP payload, no options */
#define PCP_MAX_LEN	1100
#define PCP_NONCE_LEN	12
#define PCP_OK		0
#define PCP_NOT_OURS	-1
#define PCP_OLD_VERSION -2

size_t pcp_map_request(uint8_t *, const struct addr *, const uint8_t *, int,
    uint16_t, uint32_t);
size_t pcp_announce_request(uint8_t *, const struct addr *);
int    pcp_parse_response(const uint8_t *, size_t, int, const uint8_t *, int,
       uint16_t, uint32_t *, struct addr *);
const char *pcp_result_name(int);

#endif
