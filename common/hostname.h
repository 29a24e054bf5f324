/* Host names of the relay's virtual hosts; see hostname.c. */
#ifndef NATKIT_HOSTNAME_H
#define NATKIT_HOSTNAME_H

#include <stddef.h>

#define HOSTNAME_MAX 253 /* bytes of a name, without a trailing dot */

int hostname_norm(char *, const char *, size_t, int);
int hostname_from_host(char *, const char *, size_t);
int hostname_match(const char *, const char *);
int hostname_wildcard(char *, const char *, int);

#endif
