/* Identity keys, allow-lists, known peers and secrets; see keys.c. */
#ifndef NATCLIENT_KEYS_H
#define NATCLIENT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "natclient.h"
#include "secure.h"

#define KEY_LINE_MAX 128 /* "natkit-ed25519 BASE64" and a comment */
#define KEY_PREFIX   "natkit-ed25519"

struct client_key {
	uint8_t pk[32], sk[64]; /* Ed25519 */
	char	path[PATH_MAX];
};

#include <stdio.h>

FILE *key_private_open(const struct client_opts *, const char *, const char *);
void key_config_path(const char *, const char *, char *, size_t);
void key_config_mkdir(const char *);
void key_format(const uint8_t *, char *, size_t);
int  key_parse(const char *, uint8_t *);
int  key_load(const struct client_opts *, struct client_key *, int);
void key_policy(const struct client_opts *, const struct client_key *,
    int, const char *, struct secure_policy *);
int  cmd_keygen(struct client_opts *, int, char **);
int  cmd_key(struct client_opts *, int, char **);

#endif
