/* natclient's internal interface. */
#ifndef NATCLIENT_H
#define NATCLIENT_H

#include <limits.h>

#include "addr.h"

#define CLIENT_PORT_TRACKER 3478

struct client_opts {
	char server[ADDR_HOSTLEN + 8]; /* HOST[:PORT] */
	char interface[32];
	int  timeout; /* seconds */
	int  json;
	int  stun;   /* nat: ask with STUN instead of //nat */
	int  family; /* AF_UNSPEC, AF_INET, AF_INET6 */
};

/* clientconf.c */
int client_conf_load(struct client_opts *, const char *, int, char *, size_t);

/* net.c */
int client_resolve(const struct client_opts *, uint16_t, struct addr *);
int client_udp_socket(const struct client_opts *, const struct addr *);
int client_udp_ask(int, const void *, size_t, char *, size_t, int);

/* output.c */
void client_print(const struct client_opts *, const char *, ...)
    __attribute__((sentinel));
void client_fail(const struct client_opts *, const char *, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* nat.c */
int cmd_nat(struct client_opts *, int, char **);

#endif
