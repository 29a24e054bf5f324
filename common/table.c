/*
 * The shared state table.
 *
 * Layout, laid out once by table_init() in memory that every process maps:
 *
 *	header | stripes[nstripes] | tags[nslots] | records[nslots]
 *
 * Slots are grouped in windows of TABLE_WINDOW.  A key hashes (SipHash with
 * a per-segment random key) to two windows of the same stripe and lives in
 * one of their slots; a new key goes to the emptier window ("two choices"),
 * which lets the table fill to about 97% before it must evict.  A lookup
 * reads one or two 64-byte lines of tags and then only the records whose
 * tag matches.  When both windows are full the oldest record of the same
 * kind in them is evicted: memory never grows with input.
 *
 * Locking: window w is guarded by stripe w & (nstripes - 1), a robust
 * process-shared mutex.  Every read and write of a window's tags and
 * records happens under its stripe, and the per-kind counts in a stripe
 * cover exactly the windows it guards.  A process killed while holding a
 * stripe leaves it to the next locker (EOWNERDEAD), which repairs the
 * stripe's windows before marking the mutex consistent.
 *
 * Torn writes: a record's seq is odd while it is being written.  A record
 * found with an odd seq was left half-written by a dead process; it is
 * discarded and counted.
 *
 * Quotas: each kind may hold at most quota_pct of every stripe's slots, and
 * an insert only ever evicts a record of its own kind, so a flood of one
 * kind cannot push out another.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "siphash.h"
#include "table.h"

#define TABLE_MAGIC   0x4e4b5442u /* "NKTB" */
#define TABLE_VERSION 4
#define TABLE_ALIGN   128

struct table_rec {
	uint32_t seq;  /* odd while being written */
	uint8_t	 kind; /* TABLE_KIND_NONE when free */
	uint8_t	 keylen;
	uint16_t vallen;
	int64_t	 last_seen; /* ms, CLOCK_MONOTONIC */
	int64_t	 expires;   /* ms; 0 = never */
	uint8_t	 key[TABLE_KEY_MAX];
	uint8_t	 val[TABLE_VAL_MAX];
};

struct table_stripe {
	pthread_mutex_t mtx;
	uint32_t	count[TABLE_KIND_MAX];
	uint32_t	evicted, refused, torn, recovered, expired;
} __attribute__((aligned(TABLE_ALIGN)));

struct table_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t nwindows;
	uint32_t nstripes;
	uint32_t quota[TABLE_KIND_MAX]; /* records per stripe */
	uint8_t	 no_evict[TABLE_KIND_MAX];
	uint8_t	 seed[16];
} __attribute__((aligned(TABLE_ALIGN)));

struct table {
	struct table_hdr    *hdr;
	struct table_stripe *stripes;
	uint32_t	    *tags;
	struct table_rec    *recs;
	uint32_t	     nwindows;
	uint32_t	     stripe_mask;
};

/* Where a key may live: two windows of one stripe (they may be one). */
struct table_pos {
	uint32_t window[2];
	uint32_t tag;
	uint32_t stripe;
};

void (*table_midwrite_hook)(void);

static uint32_t table_nwindows(const struct table_config *);
static uint32_t table_nstripes(const struct table_config *, uint32_t);
static void	table_locate(const struct table *, int, const void *, size_t,
	struct table_pos *);
static void	table_lock(struct table *, uint32_t);
static void	table_unlock(struct table *, uint32_t);
static void	table_repair(struct table *, uint32_t);
static long	table_find(struct table *, const struct table_pos *, int,
	const void *, size_t, int64_t);
static long
table_slot_for(struct table *, const struct table_pos *, int, int64_t);
static void table_clear(struct table *, uint32_t, uint32_t);
static int  table_dead(struct table *, uint32_t, uint32_t, int64_t);
static void table_write(struct table *, uint32_t, const struct table_pos *, int,
    const void *, size_t, const void *, size_t, int64_t, int64_t);

int64_t
table_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Enough windows for the capacity; at least one. */
static uint32_t
table_nwindows(const struct table_config *c)
{
	uint32_t n = (c->capacity + TABLE_WINDOW - 1) / TABLE_WINDOW;

	return n == 0 ? 1 : n;
}

/* A power of two, leaving at least 16 windows to every stripe. */
static uint32_t
table_nstripes(const struct table_config *c, uint32_t nwindows)
{
	uint32_t n = 1;

	while (n * 2 <= c->stripes && n * 2 * 16 <= nwindows)
		n *= 2;
	return n;
}

size_t
table_size(const struct table_config *c)
{
	uint32_t nw = table_nwindows(c);
	size_t	 nslots = (size_t)nw * TABLE_WINDOW;

	return sizeof(struct table_hdr) +
	    table_nstripes(c, nw) * sizeof(struct table_stripe) +
	    nslots * sizeof(uint32_t) + nslots * sizeof(struct table_rec);
}

/* Lay the table out in mem (zeroed, shared) and return a handle to it. */
struct table *
table_init(void *mem, size_t len, const struct table_config *c)
{
	struct table_hdr   *h = mem;
	pthread_mutexattr_t attr;
	struct table	   *t;
	uint32_t	    i, per_stripe;
	int		    k;

	if (len < table_size(c))
		return NULL;
	memset(mem, 0, table_size(c));
	h->magic = TABLE_MAGIC;
	h->version = TABLE_VERSION;
	h->nwindows = table_nwindows(c);
	h->nstripes = table_nstripes(c, h->nwindows);
	memcpy(h->seed, c->seed, sizeof(h->seed));
	/* Stripes hold whole windows; the fullest one sets the quota. */
	per_stripe =
	    (h->nwindows + h->nstripes - 1) / h->nstripes * TABLE_WINDOW;
	for (k = 1; k < TABLE_KIND_MAX; k++) {
		h->quota[k] = per_stripe * c->quota_pct[k] / 100;
		if (h->quota[k] == 0 && c->quota_pct[k] > 0)
			h->quota[k] = 1;
		h->no_evict[k] = c->no_evict[k];
	}
	if ((t = table_attach(mem)) == NULL)
		return NULL;
	if (pthread_mutexattr_init(&attr) != 0 ||
	    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0)
		fatalx("table: cannot make robust shared mutexes");
	for (i = 0; i < h->nstripes; i++)
		if (pthread_mutex_init(&t->stripes[i].mtx, &attr) != 0)
			fatalx("table: pthread_mutex_init failed");
	pthread_mutexattr_destroy(&attr);
	return t;
}

/* A handle to a table that table_init() laid out. */
struct table *
table_attach(void *mem)
{
	struct table_hdr *h = mem;
	struct table	 *t;
	size_t		  nslots;

	if (h->magic != TABLE_MAGIC || h->version != TABLE_VERSION)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	nslots = (size_t)h->nwindows * TABLE_WINDOW;
	t->hdr = h;
	t->stripes = (struct table_stripe *)(h + 1);
	t->tags = (uint32_t *)(t->stripes + h->nstripes);
	t->recs = (struct table_rec *)(t->tags + nslots);
	t->nwindows = h->nwindows;
	t->stripe_mask = h->nstripes - 1;
	return t;
}

void
table_detach(struct table *t)
{
	free(t);
}

uint32_t
table_slots(const struct table *t)
{
	return t->nwindows * TABLE_WINDOW;
}

/*
 * Hash (kind, key) to its tag, stripe and two windows.  The stripe's
 * windows are stripe, stripe + S, stripe + 2S, ... (S stripes); the second
 * window is another of them, so one lock covers both.
 */
static void
table_locate(const struct table *t, int kind, const void *key, size_t keylen,
    struct table_pos *p)
{
	uint8_t	 buf[1 + TABLE_KEY_MAX];
	uint32_t nstripes = t->stripe_mask + 1, count, j1, j2;
	uint64_t h;

	buf[0] = (uint8_t)kind;
	memcpy(buf + 1, key, keylen);
	h = siphash24(t->hdr->seed, buf, keylen + 1);
	p->window[0] = (uint32_t)(((h & 0xffffffffu) * t->nwindows) >> 32);
	p->tag = (uint32_t)(h >> 32);
	if (p->tag == 0)
		p->tag = 1;
	p->stripe = p->window[0] & t->stripe_mask;
	count = (t->nwindows - p->stripe + nstripes - 1) / nstripes;
	j1 = p->window[0] / nstripes;
	j2 = j1;
	if (count > 1)
		j2 = (j1 + 1 + (p->tag * 0x9e3779b1u >> 8) % (count - 1)) %
		    count;
	p->window[1] = p->stripe + j2 * nstripes;
	/* Start the cache misses now; the lock is taken meanwhile. */
	__builtin_prefetch(&t->tags[p->window[0] * TABLE_WINDOW]);
	__builtin_prefetch(&t->tags[p->window[1] * TABLE_WINDOW]);
	__builtin_prefetch(&t->stripes[p->stripe]);
}

static void
table_lock(struct table *t, uint32_t s)
{
	int r = pthread_mutex_lock(&t->stripes[s].mtx);

	if (r == EOWNERDEAD) {
		table_repair(t, s);
		t->stripes[s].recovered++;
		if (pthread_mutex_consistent(&t->stripes[s].mtx) != 0)
			fatalx("table: cannot recover stripe %u", s);
	} else if (r != 0)
		fatalx("table: lock stripe %u: %s", s, strerror(r));
}

static void
table_unlock(struct table *t, uint32_t s)
{
	pthread_mutex_unlock(&t->stripes[s].mtx);
}

/*
 * Make a stripe consistent after its owner died: drop half-written
 * records, rebuild every tag from its record, and recount the kinds.
 */
static void
table_repair(struct table *t, uint32_t s)
{
	struct table_stripe *st = &t->stripes[s];
	struct table_pos     p;
	uint32_t	     w, i;

	memset(st->count, 0, sizeof(st->count));
	for (w = s; w < t->nwindows; w += t->stripe_mask + 1) {
		for (i = w * TABLE_WINDOW; i < (w + 1) * TABLE_WINDOW; i++) {
			struct table_rec *r = &t->recs[i];

			if (r->seq & 1) {
				memset(r, 0, sizeof(*r));
				st->torn++;
			}
			if (r->kind == TABLE_KIND_NONE ||
			    r->kind >= TABLE_KIND_MAX ||
			    r->keylen > TABLE_KEY_MAX ||
			    r->vallen > TABLE_VAL_MAX) {
				memset(r, 0, sizeof(*r));
				t->tags[i] = 0;
				continue;
			}
			table_locate(t, r->kind, r->key, r->keylen, &p);
			t->tags[i] = p.tag;
			st->count[r->kind]++;
		}
	}
}

/* Free slot i of stripe s (caller holds the lock). */
static void
table_clear(struct table *t, uint32_t s, uint32_t i)
{
	struct table_rec *r = &t->recs[i];

	if (r->kind != TABLE_KIND_NONE && r->kind < TABLE_KIND_MAX)
		t->stripes[s].count[r->kind]--;
	t->tags[i] = 0;
	r->kind = TABLE_KIND_NONE;
}

/* Is slot i expired or torn?  If so, reclaim it. */
static int
table_dead(struct table *t, uint32_t s, uint32_t i, int64_t now)
{
	struct table_rec *r = &t->recs[i];

	if (r->seq & 1) {
		t->stripes[s].torn++;
		table_clear(t, s, i);
		r->seq++;
		return 1;
	}
	if (r->expires != 0 && r->expires <= now) {
		t->stripes[s].expired++;
		table_clear(t, s, i);
		return 1;
	}
	return 0;
}

/* First slot of the key's window w (0 or 1); -1 when 1 is the same as 0. */
static long
table_window(const struct table_pos *p, int w)
{
	if (w == 1 && p->window[1] == p->window[0])
		return -1;
	return (long)p->window[w] * TABLE_WINDOW;
}

/* The slot holding (kind, key), or -1; expired records do not count. */
static long
table_find(struct table *t, const struct table_pos *p, int kind,
    const void *key, size_t keylen, int64_t now)
{
	long base, i;
	int  w;

	for (w = 0; w < 2 && (base = table_window(p, w)) != -1; w++) {
		for (i = base; i < base + TABLE_WINDOW; i++) {
			struct table_rec *r = &t->recs[i];

			if (t->tags[i] != p->tag || r->kind != kind ||
			    r->keylen != keylen ||
			    memcmp(r->key, key, keylen) != 0)
				continue;
			if (table_dead(t, p->stripe, (uint32_t)i, now))
				return -1;
			return i;
		}
	}
	return -1;
}

/*
 * A slot for a new record of this kind: a free (or dead) one in the
 * emptier window while the kind is under its quota, else the oldest record
 * of the same kind in the two windows.  -1 when neither exists.
 */
static long
table_slot_for(struct table *t, const struct table_pos *p, int kind,
    int64_t now)
{
	struct table_stripe *st = &t->stripes[p->stripe];
	long		     freeslot[2] = {-1, -1}, oldest = -1;
	int		     nfree[2] = {0, 0}, w;
	long		     base, i;

	for (w = 0; w < 2 && (base = table_window(p, w)) != -1; w++) {
		for (i = base; i < base + TABLE_WINDOW; i++) {
			struct table_rec *r = &t->recs[i];

			if (t->tags[i] == 0 ||
			    table_dead(t, p->stripe, (uint32_t)i, now)) {
				if (freeslot[w] == -1)
					freeslot[w] = i;
				nfree[w]++;
			} else if (r->kind == kind &&
			    (oldest == -1 ||
				r->last_seen < t->recs[oldest].last_seen))
				oldest = i;
		}
	}
	w = nfree[1] > nfree[0];
	if (freeslot[w] != -1 && st->count[kind] < t->hdr->quota[kind])
		return freeslot[w];
	/* A kind that must not lose live records (names) is refused. */
	if (oldest != -1 && !t->hdr->no_evict[kind]) {
		st->evicted++;
		table_clear(t, p->stripe, (uint32_t)oldest);
		return oldest;
	}
	st->refused++;
	return -1;
}

/* Write a whole record into slot i; seq is odd while it is incomplete. */
static void
table_write(struct table *t, uint32_t i, const struct table_pos *p, int kind,
    const void *key, size_t keylen, const void *val, size_t vallen, int64_t ttl,
    int64_t now)
{
	struct table_rec *r = &t->recs[i];
	int		  fresh = t->tags[i] == 0;

	r->seq |= 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	r->kind = (uint8_t)kind;
	r->keylen = (uint8_t)keylen;
	memcpy(r->key, key, keylen);
	if (table_midwrite_hook != NULL)
		table_midwrite_hook();
	memmove(r->val, val, vallen);
	r->vallen = (uint16_t)vallen;
	r->last_seen = now;
	r->expires = ttl > 0 ? now + ttl : 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	r->seq++;
	if (fresh) {
		t->tags[i] = p->tag;
		t->stripes[p->stripe].count[kind]++;
	}
}

static int
table_key_ok(int kind, size_t keylen)
{
	if (kind <= TABLE_KIND_NONE || kind >= TABLE_KIND_MAX || keylen == 0 ||
	    keylen > TABLE_KEY_MAX) {
		errno = EINVAL;
		return 0;
	}
	return 1;
}

/* Copy the value of (kind, key) out; its length, or -1 (ENOENT). */
int
table_get(struct table *t, int kind, const void *key, size_t keylen, void *val,
    size_t valmax, int64_t now)
{
	struct table_pos p;
	long		 i;
	int		 n = -1;

	if (!table_key_ok(kind, keylen))
		return -1;
	table_locate(t, kind, key, keylen, &p);
	table_lock(t, p.stripe);
	if ((i = table_find(t, &p, kind, key, keylen, now)) != -1) {
		n = t->recs[i].vallen;
		memcpy(val, t->recs[i].val,
		    (size_t)n < valmax ? (size_t)n : valmax);
	}
	table_unlock(t, p.stripe);
	if (n == -1)
		errno = ENOENT;
	return n;
}

/* Insert or replace; ttl 0 never expires.  -1 with ENOSPC when full. */
int
table_put(struct table *t, int kind, const void *key, size_t keylen,
    const void *val, size_t vallen, int64_t ttl, int64_t now)
{
	struct table_pos p;
	long		 i;

	if (!table_key_ok(kind, keylen) || vallen > TABLE_VAL_MAX) {
		errno = EINVAL;
		return -1;
	}
	table_locate(t, kind, key, keylen, &p);
	table_lock(t, p.stripe);
	if ((i = table_find(t, &p, kind, key, keylen, now)) == -1)
		i = table_slot_for(t, &p, kind, now);
	if (i != -1)
		table_write(t, (uint32_t)i, &p, kind, key, keylen, val, vallen,
		    ttl, now);
	table_unlock(t, p.stripe);
	if (i == -1) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

/* Remove (kind, key); -1 (ENOENT) if it was not there. */
int
table_del(struct table *t, int kind, const void *key, size_t keylen)
{
	struct table_pos p;
	long		 i;

	if (!table_key_ok(kind, keylen))
		return -1;
	table_locate(t, kind, key, keylen, &p);
	table_lock(t, p.stripe);
	if ((i = table_find(t, &p, kind, key, keylen, INT64_MIN)) != -1)
		table_clear(t, p.stripe, (uint32_t)i);
	table_unlock(t, p.stripe);
	if (i == -1) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/*
 * Read-modify-write under the stripe lock: fn edits a copy of the value
 * (empty when the record is new) and says what to do with it.  Returns 0,
 * or -1 with ENOSPC when a new record found no room.
 */
int
table_update(struct table *t, int kind, const void *key, size_t keylen,
    table_update_fn fn, void *arg, int64_t ttl, int64_t now)
{
	uint8_t		  val[TABLE_VAL_MAX];
	size_t		  vallen = 0;
	struct table_pos  p;
	enum table_action a;
	long		  i;
	int		  rv = 0;

	if (!table_key_ok(kind, keylen))
		return -1;
	table_locate(t, kind, key, keylen, &p);
	table_lock(t, p.stripe);
	i = table_find(t, &p, kind, key, keylen, now);
	if (i != -1) {
		vallen = t->recs[i].vallen;
		memcpy(val, t->recs[i].val, vallen);
	} else
		memset(val, 0, sizeof(val));
	a = fn(val, &vallen, i != -1, arg);
	if (vallen > TABLE_VAL_MAX)
		fatalx("table: update wrote %zu bytes", vallen);
	if (a == TABLE_DELETE && i != -1)
		table_clear(t, p.stripe, (uint32_t)i);
	else if (a == TABLE_STORE) {
		if (i == -1)
			i = table_slot_for(t, &p, kind, now);
		if (i != -1)
			table_write(t, (uint32_t)i, &p, kind, key, keylen, val,
			    vallen, ttl, now);
		else {
			errno = ENOSPC;
			rv = -1;
		}
	}
	table_unlock(t, p.stripe);
	return rv;
}

/*
 * Reclaim expired records in up to n windows from *cursor on, one stripe
 * lock at a time; returns how many were reclaimed.
 */
uint32_t
table_sweep(struct table *t, uint32_t *cursor, uint32_t n, int64_t now)
{
	uint32_t done = 0, w, i;

	for (; n > 0; n--) {
		w = *cursor % t->nwindows;
		*cursor = w + 1;
		table_lock(t, w & t->stripe_mask);
		for (i = w * TABLE_WINDOW; i < (w + 1) * TABLE_WINDOW; i++)
			if (t->tags[i] != 0 &&
			    table_dead(t, w & t->stripe_mask, i, now))
				done++;
		table_unlock(t, w & t->stripe_mask);
	}
	return done;
}

/* Totals over all stripes; counts are read without locks. */
void
table_stats(struct table *t, struct table_stats *s)
{
	uint32_t i;
	int	 k;

	memset(s, 0, sizeof(*s));
	for (i = 0; i <= t->stripe_mask; i++) {
		struct table_stripe *st = &t->stripes[i];

		for (k = 0; k < TABLE_KIND_MAX; k++)
			s->count[k] += st->count[k];
		s->evicted += st->evicted;
		s->refused += st->refused;
		s->torn += st->torn;
		s->recovered += st->recovered;
		s->expired += st->expired;
	}
}
