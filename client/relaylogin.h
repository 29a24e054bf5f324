/* Logging in to natserver's relay; see relaylogin.c. */
#ifndef NATCLIENT_RELAYLOGIN_H
#define NATCLIENT_RELAYLOGIN_H

#include <jansson.h>
#include <stddef.h>

#include "natclient.h"

#define RELAY_TOKEN_MAX 128

int relay_token(const struct client_opts *, char *, size_t);
int relay_login_answer(const char *, const char *, char *);
int relay_login(const struct client_opts *, int, char *, size_t, size_t *,
    const char *, const char *, json_t **);

#endif
