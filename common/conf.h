/* Config files: [section] and key = value lines, read against a schema. */
#ifndef NATKIT_CONF_H
#define NATKIT_CONF_H

#include <stddef.h>
#include <stdio.h>

#include "addr.h"

#define CONF_LINE_MAX	1024
#define CONF_ERR_MAX	(CONF_LINE_MAX + 256)
#define CONF_LISTEN_MAX 16

enum conf_type {
	CONF_INT,    /* decimal, within [min, max] */
	CONF_BOOL,   /* yes/no, true/false, on/off, 1/0 */
	CONF_STR,    /* any text up to size - 1 bytes */
	CONF_LISTEN, /* [udp:|tcp:]ip:port, separated by blanks or commas */
	CONF_RANGE,  /* LOW-HIGH within [min, max] */
};

#define CONF_PROTO_UDP 0x1
#define CONF_PROTO_TCP 0x2

struct conf_listen_addr {
	struct addr addr;
	int	    protos; /* CONF_PROTO_* */
};

struct conf_listen {
	int			n;
	struct conf_listen_addr v[CONF_LISTEN_MAX];
};

struct conf_range {
	int low;
	int high;
};

struct conf_key {
	const char    *section;
	const char    *name;
	enum conf_type type;
	size_t	       offset;	 /* of the value in the caller's struct */
	size_t	       size;	 /* CONF_STR: buffer size */
	long	       min, max; /* CONF_INT, CONF_RANGE */
	int	       protos;	 /* CONF_LISTEN: for entries with none */
	const char    *def;	 /* default, written as in a file */
};

#define CONF_NAME_MAX 32 /* of a [KIND NAME] section's name */

/*
 * A kind of [KIND NAME] section (natclient's [expose web]): its keys
 * (their section is the kind), a new record for each section (given
 * its name and header line), a check
 * at each section's end.  open and close say why in why when they fail.
 */
struct conf_named {
	const char	      *kind;
	const struct conf_key *keys;
	void *(*open)(void *, const struct conf_named *, const char *,
	    unsigned int, char *, size_t);
	int (*close)(void *, void *, char *, size_t);
};

int
conf_load(const struct conf_key *, void *, const char *, int, char *, size_t);
int conf_load_named(const struct conf_key *, void *, const struct conf_named *,
    void *, const char *, int, char *, size_t);
const struct conf_key *
conf_find(const struct conf_key *, const char *, const char *);
FILE *conf_open_private(const char *, const char *, char *, size_t);

#endif
