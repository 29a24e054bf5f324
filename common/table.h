/*
 * The shared state table: fixed-size records in one memory region that
 * several processes map.  See table.c for the locking rules.
 */
#ifndef NATKIT_TABLE_H
#define NATKIT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define TABLE_KEY_MAX 40
#define TABLE_VAL_MAX 176
#define TABLE_WINDOW  16 /* slots probed for one key */

/* Record kinds; each has its own quota of the table. */
enum table_kind {
	TABLE_KIND_NONE = 0,
	TABLE_KIND_GROUP,      /* tracker group and its members */
	TABLE_KIND_TRACKER,    /* federated tracker */
	TABLE_KIND_NAMED,      /* named rendezvous peer */
	TABLE_KIND_N4,	       /* N4 waiting session */
	TABLE_KIND_RELAY_PORT, /* relay port ownership */
	TABLE_KIND_BUCKET,     /* rate-limit token bucket */
	TABLE_KIND_RELAY_VISITOR, /* a visitor (or pool ask) awaiting data */
	TABLE_KIND_RELAY_MEET,	  /* a relay-fallback meeting */
	TABLE_KIND_RELAY_DOMAIN,  /* a virtual host's domain and its owner */
	TABLE_KIND_TURN_PORT,	  /* a TURN relay port held for a token */
	TABLE_KIND_TURN_USER,	  /* a TURN user's allocations, per worker */
	TABLE_KIND_MAX
};

/* What table_update_fn() asks for. */
enum table_action {
	TABLE_KEEP,   /* leave the record as it was */
	TABLE_STORE,  /* store the new value */
	TABLE_DELETE, /* remove the record */
};

/* Edits a value in place; found says whether the record existed. */
typedef enum table_action (*table_update_fn)(void *, size_t *, int, void *);

struct table_stats {
	uint64_t count[TABLE_KIND_MAX];
	uint64_t evicted;   /* live records pushed out */
	uint64_t refused;   /* inserts refused: window or quota full */
	uint64_t torn;	    /* half-written records discarded */
	uint64_t recovered; /* stripes recovered from a dead owner */
	uint64_t expired;   /* expired records reclaimed */
};

struct table_config {
	uint32_t capacity; /* records */
	uint32_t stripes;  /* locks; rounded down to a power of 2 */
	uint8_t	 quota_pct[TABLE_KIND_MAX];
	/* Kinds whose live records are never evicted: a new one is refused. */
	uint8_t no_evict[TABLE_KIND_MAX];
	uint8_t seed[16]; /* hash key; random in production */
};

struct table;

size_t	      table_size(const struct table_config *);
struct table *table_init(void *, size_t, const struct table_config *);
struct table *table_attach(void *);
void	      table_detach(struct table *);
uint32_t      table_slots(const struct table *);
int64_t	      table_now_ms(void);

int
table_get(struct table *, int, const void *, size_t, void *, size_t, int64_t);
int table_put(struct table *, int, const void *, size_t, const void *, size_t,
    int64_t, int64_t);
int table_del(struct table *, int, const void *, size_t);
int table_update(struct table *, int, const void *, size_t, table_update_fn,
    void *, int64_t, int64_t);
uint32_t table_sweep(struct table *, uint32_t *, uint32_t, int64_t);
void	 table_stats(struct table *, struct table_stats *);

/* Test hook: called between the two halves of a record write. */
extern void (*table_midwrite_hook)(void);

#endif
