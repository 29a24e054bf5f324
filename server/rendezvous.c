/*
 * The rendezvous worker: N4 pairing on 1721 (rdv_n4.c) and named sessions
 * on 8848 (rdv_named.c).  Two clients of one pair may be held by two
 * workers; they meet through the shared table and the workers' mail.
 */
#include "config.h"

#include "gate.h"
#include "rendezvous.h"

static void
rendezvous_dgram(struct worker *w, struct listener *l)
{
	if (l->use == LISTEN_N4)
		rdv_n4_dgram(w, l);
	else
		rdv_named_dgram(w, l);
}

static void
rendezvous_accept(struct worker *w, struct listener *l, int fd,
    const struct addr *peer)
{
	if (l->use == LISTEN_N4)
		rdv_n4_accept(w, l, fd, peer);
	else
		rdv_named_accept(w, l, fd, peer);
}

void
rendezvous_main(struct worker *w)
{
	/* Separate budgets: N4 churn cannot starve named sessions. */
	gate_set(LISTEN_NAMED, w->conf->rendezvous_max_connections,
	    w->conf->rendezvous_per_ip, GATE_SAY_JSON);
	gate_set(LISTEN_N4, w->conf->n4_max_connections,
	    w->conf->rendezvous_per_ip, GATE_SAY_NOTHING);
	wconn_init(w, w->conf->rendezvous_max_connections +
		w->conf->n4_max_connections);
	wmail_start(w);
	worker_listen(w, rendezvous_dgram, rendezvous_accept);
}
