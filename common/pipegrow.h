/* Pipes for splice(2) that grow with the stream and are reused; see
 * pipegrow.c. */
#ifndef NATKIT_PIPEGROW_H
#define NATKIT_PIPEGROW_H

#include <stddef.h>

#define PIPE_CHUNK     (1024 * 1024) /* what one splice may ask to move */
#define PIPE_SPARE_MAX 32	     /* empty pipes kept for the next pair */

void pipe_note(int, size_t *, size_t);
int  pipe_get(int[2]);
void pipe_put(int[2], size_t, size_t);
int  pipe_spare_count(void);

#endif
