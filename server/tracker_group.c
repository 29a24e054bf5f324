/*
 * Tracker groups and the federated tracker list, kept in the shared
 * table as bounded slot sets (common/slotset.c), so that every tracker
 * worker sees every registration.
 *
 * A group's set id is SHA-256("<ns>/<group>") cut to 128 bits; member i
 * is the record (id, i).  A member is known by its first public address
 * and expires after tracker.member_ttl unless it registers again.
 */
#include "config.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "natserver.h"
#include "ratelimit.h"
#include "slotset.h"
#include "tracktext.h"

_Static_assert(sizeof(struct tt_member) <= TABLE_VAL_MAX,
    "a group member must fit one table record");

/* The tracker list is one set with a fixed id. */
static const uint8_t tracker_set_id[SLOTSET_ID_LEN] = "natkit/trackers";

/* The rule of the original NatTrackerServer: 10 a minute, 10 at once. */
static const struct ratelimit_rule tracker_fed_rule = {10, 10};

/* An answer being built: lines, cut to fit with "+more". */
struct tracker_out {
	char  *buf;
	size_t cap;
	size_t len;
	int    cut;
};

/* Add a line; once one does not fit, the rest are dropped for "+more". */
static void
tracker_out_line(struct tracker_out *o, const char *line, size_t n)
{
	size_t need = (o->len > 0 ? 1 : 0) + n;

	/* Keep room for "\n+more". */
	if (o->cut || o->len + need + 6 > o->cap) {
		o->cut = 1;
		return;
	}
	if (o->len > 0)
		o->buf[o->len++] = '\n';
	memcpy(o->buf + o->len, line, n);
	o->len += n;
}

static size_t
tracker_out_end(struct tracker_out *o)
{
	if (o->cut) {
		memcpy(o->buf + o->len, o->len > 0 ? "\n+more" : "+more", 6);
		o->len += o->len > 0 ? 6 : 5;
	}
	return o->len;
}

/* The slot set of kind with this id, nslots big. */
static void
tracker_set(struct worker *w, int kind, const uint8_t *id, int nslots,
    struct slotset *set)
{
	memset(set, 0, sizeof(*set));
	set->table = w->state->table;
	set->kind = kind;
	memcpy(set->id, id, SLOTSET_ID_LEN);
	set->nslots = nslots;
}

struct group_list {
	struct tracker_out     *out;
	const struct tt_member *me;
	int			myslot;
};

/* Each other member: LAN addresses only to those behind the same IP. */
static void
tracker_group_line_cb(void *arg, int slot, const void *val, size_t len)
{
	struct group_list *gl = arg;
	struct tt_member   m;
	char		   line[TT_LINE_MAX];
	size_t		   n;

	if (slot == gl->myslot || len != sizeof(m))
		return;
	memcpy(&m, val, sizeof(m));
	if (memcmp(&m.first, &gl->me->first, sizeof(m.first)) == 0)
		return;
	n = tt_member_line(&m, tt_same_ip(&m.seen, &gl->me->seen), line,
	    sizeof(line));
	if (n > 0)
		tracker_out_line(gl->out, line, n);
}

/* //<ns>/P2P&E2E/<group>/<public>/<lan>: store, then list the group. */
static const char *
tracker_register(struct worker *w, const struct tt_request *r,
    const struct sockaddr *from, struct tracker_out *out)
{
	const struct server_conf *c = w->conf;
	struct ratelimit_rule	  rule = {(uint32_t)c->register_burst,
		(uint32_t)c->register_per_minute};
	int64_t			  now = table_now_ms();
	uint8_t			  digest[SHA256_DIGEST_LENGTH];
	char			  name[TT_NS_MAX + TT_GROUP_MAX + 2];
	char			  line[TT_LINE_MAX];
	struct tt_member	  me;
	struct slotset		  set;
	struct group_list	  gl;
	size_t			  n;
	int			  slot;

	if (!ratelimit_take(w->state->table, RL_REGISTER, from, &rule, now)) {
		proc_count(w, STAT_DROP_RATELIMIT);
		return "rate limited";
	}
	n = (size_t)snprintf(name, sizeof(name), "%s/%s", r->ns, r->group);
	SHA256((const unsigned char *)name, n, digest);
	tracker_set(w, TABLE_KIND_GROUP, digest, c->max_group_members, &set);
	tt_member_make(r, from, &me);
	slot = slotset_put(&set, &me, sizeof(me), sizeof(me.first),
	    (int64_t)c->member_ttl * 1000, now);
	if (slot == -1)
		return errno == ENOSPC ? "group full" : "server full";
	/* The caller as stored comes first, with its own LAN addresses. */
	n = tt_member_line(&me, 1, line, sizeof(line));
	log_debug("registered %s in %s/%s", line, r->ns, r->group);
	tracker_out_line(out, line, n);
	gl.out = out;
	gl.me = &me;
	gl.myslot = slot;
	slotset_list(&set, tracker_group_line_cb, &gl, now);
	return NULL;
}

static void
tracker_list_line_cb(void *arg, int slot, const void *val, size_t len)
{
	struct tracker_out *out = arg;
	struct tt_addr	    a;
	char		    line[ADDR_STRLEN];
	size_t		    n;

	(void)slot;
	if (len != sizeof(a))
		return;
	memcpy(&a, val, sizeof(a));
	if ((n = tt_addr_text(&a, line, sizeof(line))) > 0)
		tracker_out_line(out, line, n);
}

/* //tcksvr[/<ip:port>;...]: register trackers, then list them all. */
static const char *
tracker_trackers(struct worker *w, const struct tt_request *r,
    const struct sockaddr *from, struct tracker_out *out)
{
	int64_t	       now = table_now_ms();
	struct slotset set;
	int	       i;

	tracker_set(w, TABLE_KIND_TRACKER, tracker_set_id,
	    w->conf->max_trackers, &set);
	if (r->kind == TT_TRACKERS_ADD) {
		if (!ratelimit_take(w->state->table, RL_FEDERATION, from,
			&tracker_fed_rule, now)) {
			proc_count(w, STAT_DROP_RATELIMIT);
			return "rate limited";
		}
		for (i = 0; i < r->ntrackers; i++)
			if (slotset_put(&set, &r->trackers[i],
				sizeof(r->trackers[i]), sizeof(r->trackers[i]),
				(int64_t)w->conf->peer_ttl * 1000, now) == -1)
				log_debug("tracker list full");
	}
	slotset_list(&set, tracker_list_line_cb, out, now);
	return NULL;
}

/*
 * The text protocol's group and tracker requests.  Returns the answer's
 * length; on a refusal, "error: <why>".
 */
size_t
tracker_text_group(struct worker *w, const struct tt_request *r,
    const struct sockaddr *from, char *buf, size_t cap)
{
	struct tracker_out out = {buf, cap, 0, 0};
	const char	  *why;
	int		   n;

	why = r->kind == TT_REGISTER ? tracker_register(w, r, from, &out)
				     : tracker_trackers(w, r, from, &out);
	if (why == NULL)
		return tracker_out_end(&out);
	if (strcmp(why, "rate limited") != 0)
		proc_count(w, STAT_ERRORS);
	n = snprintf(buf, cap, "error: %s", why);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
