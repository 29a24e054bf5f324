/* Lines out on a bufferevent, at once where they can be; lineout.c. */
#ifndef NATKIT_LINEOUT_H
#define NATKIT_LINEOUT_H

#include <event2/bufferevent.h>
#include <jansson.h>
#include <stddef.h>

void line_write(struct bufferevent *, const char *, size_t);
void line_send_json(struct bufferevent *, json_t *);

#endif
