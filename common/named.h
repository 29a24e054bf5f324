/*
 * Named rendezvous sessions: what server and client agree on besides the
 * JSON itself.  Names, NAT classes, and the punch strategy chosen for a
 * pair of NATs.
 */
#ifndef NATKIT_NAMED_H
#define NATKIT_NAMED_H

#include <stddef.h>

#define NAMED_NAME_MAX	  32
#define NAMED_LINE_MAX	  4096 /* one JSON message, newline included */
#define NAMED_TOKEN_LEN	  16   /* bytes; 32 hex digits on the wire */
#define NAMED_LAN_MAX	  8    /* LAN candidates one side may give */
#define NAMED_WORD_MAX	  32   /* a NAT behaviour word (filtering) */
#define NAMED_PROBE_MAGIC "NKP1"

/* How a NAT maps, as far as punching cares. */
enum named_class {
	NAMED_OPEN,	    /* no NAT, or endpoint-independent mapping */
	NAMED_INCREMENTING, /* symmetric, ports step by a known delta */
	NAMED_RANDOM,	    /* symmetric, ports unpredictable */
	NAMED_MAPPED,	    /* a router mapped its port: a full cone */
};

enum named_strategy {
	NAMED_LAN,	    /* same public address: LAN candidates first */
	NAMED_SIMULTANEOUS, /* both endpoint-independent: send at once */
	NAMED_PREDICT,	    /* an incrementing side: predict its ports */
	NAMED_BIRTHDAY,	    /* random side facing an open one */
	NAMED_NONE,	    /* no direct path can be made */
	NAMED_TCP,	    /* --tcp: simultaneous open, chosen by clients */
	NAMED_RELAY,	    /* no direct path: through the relay */
	NAMED_PORTMAP,	    /* a mapped side waits, the other sends to it */
};

int	    named_name_ok(const char *);
int	    named_class(const char *, const char *);
const char *named_class_name(int);
int	    named_strategy(int, int, int);
const char *named_strategy_name(int);
int	    named_strategy_parse(const char *);

#endif
