/* Connection budgets per door and per source IP; see gate.c. */
#ifndef NATKIT_GATE_H
#define NATKIT_GATE_H

#include <sys/socket.h>

#include "natserver.h"

/* How a connection over a bound is told. */
enum gate_refusal {
	GATE_SAY_NOTHING, /* closed (N4 has no error message) */
	GATE_SAY_TEXT,	  /* "error: …" and an empty line (tracker text) */
	GATE_SAY_JSON,	  /* {"type":"error",…} (named, relay) */
	GATE_SAY_HTTP,	  /* 503 (the relay's HTTP virtual hosts) */
};

void gate_set(int, int, int, int);
int  gate_enter(struct worker *, int, int, const struct sockaddr *);
void gate_leave(int, const struct sockaddr *);
int  gate_count(int);

#endif
