/* Named sessions, shared by rdv_named.c, rdv_names.c and rdv_punch.c. */
#ifndef NATSERVER_RDV_NAMED_H
#define NATSERVER_RDV_NAMED_H

#include <sys/socket.h>
#include <jansson.h>
#include <stdint.h>

#include "jsonline.h"
#include "named.h"
#include "rendezvous.h"
#include "state.h"

#define NAMED_OUTPUT_MAX (64 * 1024)
#define NAMED_LIST_MAX	 255 /* names `list` can show */
#define NAMED_MARGIN_MS	 100 /* added to the later side's half RTT */
#define NAMED_NONCE_LEN	 32

struct named_conn {
	struct wconn		base;
	struct worker	       *w;
	struct jsonline		jl; /* the JSON-line connection */
	struct sockaddr_storage peer;
	char			name[NAMED_NAME_MAX + 1];
	uint8_t			token[NAMED_TOKEN_LEN];
	int			registered;
	int			list_slot; /* where its name is listed */
	struct event	       *deadline;  /* to register, not renewed */
	uint8_t			nonce[NAMED_NONCE_LEN]; /* challenge */
	int			has_nonce;
	uint8_t			owner[32]; /* the key that proved the name */
	int			owned;
	json_t		       *lan, *nat;
};

/*
 * A name's record: the connection holding it, and enough to tell that
 * it died with its worker (the worker's state slot and pid) and where
 * it came from (family and address), so that its owner may take the
 * name back at once.
 */
struct named_holder {
	uint64_t conn;
	uint16_t ordinal;
	uint8_t	 token[NAMED_TOKEN_LEN];
	uint16_t slot;
	int32_t	 pid;
	uint8_t	 source[17];
};

struct named_obs {
	uint64_t		conn;
	uint16_t		ordinal;
	uint16_t		has_addr;
	struct sockaddr_storage addr;
};

/* rdv_named.c */
size_t	    named_key(uint8_t *, char, const void *, size_t);
int64_t	    named_ttl(const struct worker *);
void	    named_send(struct named_conn *, json_t *);
void	    named_error(struct named_conn *, const char *, const char *);
const char *named_unknown_key(json_t *, const char *const *);

/* rdv_names.c */
void named_register(struct named_conn *, json_t *);
void named_keepalive(struct named_conn *, json_t *);
void named_lookup(struct named_conn *, json_t *);
void named_list(struct named_conn *, json_t *);
int  named_alive(const struct state *, const struct named_holder *);
int  named_observed(struct worker *, const uint8_t *, struct named_obs *);
int  named_holder(struct worker *, const char *, struct named_holder *);

/* rdv_owner.c */
void named_challenge(struct named_conn *, json_t *);
int  named_owner_check(struct named_conn *, const char *, json_t *);
void named_owner_keep(struct named_conn *);

/* rdv_punch.c */
void named_connect(struct named_conn *, json_t *);
void named_mail(struct wconn *, const struct wmail *, int);

#endif
