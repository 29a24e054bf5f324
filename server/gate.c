/*
 * Connection budgets, one per door (listener use), applied when a
 * connection is accepted: at most max at once in this worker, and at
 * most per_ip from one source IP, so that one host's slowloris cannot
 * take the worker's connections from everyone else.  A connection over
 * either bound is told why where its protocol can say it (a JSON error
 * line, a text error line; N4 has no error message and is closed), then
 * closed; it is counted in natkit_tcp_refused_total.
 *
 * Sources are counted in a fixed array of buckets by a keyed hash of
 * the IP (SipHash with a random key per worker): memory is bounded and
 * O(1); two IPs that share a bucket share its bound, which an attacker
 * cannot arrange without the key.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "jsonline.h"
#include "log.h"
#include "siphash.h"

#define GATE_BUCKETS 4096
#define GATE_USES    LISTEN_USES

struct gate {
	int	 max, per_ip, n;
	int	 refusal; /* enum gate_refusal */
	uint32_t src[GATE_BUCKETS]; /* max_connections_per_ip may pass 65535 */
};

static struct gate gates[GATE_USES];
static uint8_t	   gate_key[16];
static int	   gate_keyed;

void
gate_set(int use, int max, int per_ip, int refusal)
{
	if (!gate_keyed) {
		if (getrandom(gate_key, sizeof(gate_key), 0) !=
		    sizeof(gate_key))
			fatal("getrandom");
		gate_keyed = 1;
	}
	if (use < 0 || use >= GATE_USES)
		return;
	gates[use].max = max;
	gates[use].per_ip = per_ip;
	gates[use].refusal = refusal;
}

static uint32_t *
gate_bucket(struct gate *g, const struct sockaddr *peer)
{
	const void *ip;
	size_t	    len;

	if (peer->sa_family == AF_INET6) {
		ip = &((const struct sockaddr_in6 *)peer)->sin6_addr;
		len = 16;
	} else {
		ip = &((const struct sockaddr_in *)peer)->sin_addr;
		len = 4;
	}
	return &g->src[siphash24(gate_key, ip, len) % GATE_BUCKETS];
}

/* Say why, where the protocol can, and close. */
static void
gate_refuse(struct worker *w, struct gate *g, int fd, int per_ip)
{
	const char *text = per_ip ? "too many connections from your address"
				  : "the server is full";
	char	    said[256], *line = NULL;

	proc_count(w, STAT_TCP_REFUSED);
	if (g->refusal == GATE_SAY_JSON &&
	    (line = jsonline_error_line(per_ip ? "too_many_connections"
						: "server_full",
		 text)) != NULL) {
		snprintf(said, sizeof(said), "%s", line);
		free(line);
	} else if (g->refusal == GATE_SAY_HTTP)
		snprintf(said, sizeof(said),
		    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
		    "text/plain\r\nContent-Length: %zu\r\nConnection: "
		    "close\r\n\r\n%s\n",
		    strlen(text) + 1, text);
	else if (g->refusal == GATE_SAY_TEXT)
		snprintf(said, sizeof(said), "error: %s\n\n", text);
	else {
		close(fd);
		return;
	}
	send(fd, said, strlen(said), MSG_NOSIGNAL | MSG_DONTWAIT);
	worker_linger(w, fd);
}

/*
 * Admit a connection from peer through door use: 1, or 0 when it was
 * over a bound (then fd has been told and is closed).
 */
int
gate_enter(struct worker *w, int use, int fd, const struct sockaddr *peer)
{
	struct gate *g;
	uint32_t    *b;

	if (use < 0 || use >= GATE_USES || gates[use].max == 0)
		return 1; /* a door with no budget set */
	g = &gates[use];
	b = gate_bucket(g, peer);
	if (g->n >= g->max || *b >= (uint32_t)g->per_ip) {
		gate_refuse(w, g, fd, g->n < g->max);
		return 0;
	}
	g->n++;
	(*b)++;
	return 1;
}

/* A connection admitted through door use has ended (or moved on). */
void
gate_leave(int use, const struct sockaddr *peer)
{
	struct gate *g;
	uint32_t    *b;

	if (use < 0 || use >= GATE_USES || gates[use].max == 0)
		return;
	g = &gates[use];
	b = gate_bucket(g, peer);
	if (g->n > 0)
		g->n--;
	if (*b > 0)
		(*b)--;
}

/* How many connections door use holds now. */
int
gate_count(int use)
{
	return use >= 0 && use < GATE_USES ? gates[use].n : 0;
}
