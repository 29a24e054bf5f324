/* The head of an HTTP/1.x request, as the relay routes it; httphead.c. */
#ifndef NATKIT_HTTPHEAD_H
#define NATKIT_HTTPHEAD_H

#include <stddef.h>

#include "hostname.h"

enum httphead_result {
	HTTPHEAD_OK,	   /* a whole head, with its host */
	HTTPHEAD_MORE,	   /* no blank line yet */
	HTTPHEAD_BAD,	   /* not an HTTP/1.x request head: 400 */
	HTTPHEAD_NO_HOST,  /* no usable host name: 400 */
};

struct httphead {
	size_t len;	/* of the head, its blank line included */
	char   host[HOSTNAME_MAX + 1];
	int    upgrade; /* Upgrade (WebSocket) asked */
	const char *why; /* with BAD or NO_HOST: what was wrong */
};

#define HTTPHEAD_ANSWER_MAX 512

enum httphead_result httphead_parse(const char *, size_t, struct httphead *);
size_t httphead_answer(char *, int, int);

#endif
