/* The server name in a TLS ClientHello; tlssni.c. */
#ifndef NATKIT_TLSSNI_H
#define NATKIT_TLSSNI_H

#include <stddef.h>
#include <stdint.h>

#include "hostname.h"

enum tlssni_result {
	TLSSNI_OK,	/* name holds the server_name */
	TLSSNI_MORE,	/* the ClientHello is not whole yet */
	TLSSNI_BAD,	/* not a TLS ClientHello, or a malformed one */
	TLSSNI_NO_NAME, /* a ClientHello without a usable host name */
};

/* A TLS alert (fatal) that a refused ClientHello is answered with. */
#define TLSSNI_ALERT_LEN 7
void tlssni_alert(uint8_t *, uint8_t);
#define TLSSNI_UNRECOGNIZED_NAME 112
#define TLSSNI_HANDSHAKE_FAILURE 40
#define TLSSNI_DECODE_ERROR	 50
#define TLSSNI_INTERNAL_ERROR	 80

enum tlssni_result tlssni_parse(const uint8_t *, size_t, char *,
    const char **);

#endif
