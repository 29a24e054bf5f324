/*
 * Benchmark of the shared table: lookups/s and a 90/10 lookup/insert mix
 * per process, with 1 or more processes on one table.
 *	table_bench RECORDS PROCS SECONDS
 * Prints one line of key=value figures.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table.h"

#define KEYLEN 24 /* about a tracker member key: ns, group, address */

struct result {
	double lookups_per_s;
	double mix_per_s;
};

static struct table *t;
static uint32_t	     nkeys;

static void
make_key(uint8_t *k, uint32_t i)
{
	memset(k, 'k', KEYLEN);
	memcpy(k, &i, sizeof(i));
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Run one kind of load for secs; returns operations per second. */
static double
run(int mix, double secs, uint64_t seed)
{
	uint8_t	 key[KEYLEN], val[TABLE_VAL_MAX];
	int64_t	 start = table_now_ms(), now;
	uint64_t ops = 0, r;
	int	 i;

	memset(val, 'v', sizeof(val));
	for (;;) {
		for (i = 0; i < 4096; i++) {
			r = xorshift(&seed);
			make_key(key, (uint32_t)(r % nkeys));
			if (mix && (r >> 40) % 10 == 0)
				table_put(t, TABLE_KIND_GROUP, key, KEYLEN, val,
				    64, 0, start);
			else
				table_get(t, TABLE_KIND_GROUP, key, KEYLEN, val,
				    sizeof(val), start);
		}
		ops += 4096;
		now = table_now_ms();
		if (now - start >= secs * 1000)
			return (double)ops * 1000.0 / (double)(now - start);
	}
}

/*
 * The peer, measured in the same run: glibc's hsearch_r(3), a table in
 * one process's private memory with no locks, no expiry and no quotas.
 * Keys are the same 24 bytes, as hex text since hsearch wants strings.
 */
static double
peer_lookups(double secs)
{
	struct hsearch_data h;
	ENTRY		    e, *found;
	char		   *keys;
	uint64_t	    seed = 88172645463325252ull, ops = 0, r;
	int64_t		    start, now;
	uint32_t	    i;
	int		    j;

	memset(&h, 0, sizeof(h));
	keys = malloc((size_t)nkeys * 16);
	if (keys == NULL || hcreate_r((size_t)nkeys * 5 / 4, &h) == 0)
		return 0;
	for (i = 0; i < nkeys; i++) {
		snprintf(keys + (size_t)i * 16, 16, "%08x-kkkkkk", i);
		e.key = keys + (size_t)i * 16;
		e.data = NULL;
		hsearch_r(e, ENTER, &found, &h);
	}
	start = table_now_ms();
	for (;;) {
		for (j = 0; j < 4096; j++) {
			r = xorshift(&seed);
			e.key = keys + (size_t)(r % nkeys) * 16;
			if (hsearch_r(e, FIND, &found, &h) == 0)
				abort();
		}
		ops += 4096;
		now = table_now_ms();
		if (now - start >= secs * 1000)
			break;
	}
	hdestroy_r(&h);
	free(keys);
	return (double)ops * 1000.0 / (double)(now - start);
}

int
main(int argc, char *argv[])
{
	struct table_config tc;
	struct table_stats  st;
	struct result	   *res;
	uint8_t		    key[KEYLEN], val[64];
	double		    secs, lk = 0, mx = 0, peer;
	size_t		    len;
	void		   *mem;
	int		    procs, p;
	uint32_t	    i;

	if (argc != 4) {
		fprintf(stderr, "usage: table_bench records procs seconds\n");
		return 2;
	}
	nkeys = (uint32_t)atol(argv[1]);
	procs = atoi(argv[2]);
	secs = atof(argv[3]);
	memset(&tc, 0, sizeof(tc));
	tc.capacity = nkeys;
	tc.stripes = 1024;
	tc.quota_pct[TABLE_KIND_GROUP] = 100;
	memcpy(tc.seed, "benchmark-seed!!", 16);
	len = table_size(&tc);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	res = mmap(NULL, sizeof(*res) * (size_t)procs, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || res == MAP_FAILED ||
	    (t = table_init(mem, len, &tc)) == NULL) {
		perror("table");
		return 1;
	}
	memset(val, 'v', sizeof(val));
	for (i = 0; i < nkeys; i++) {
		make_key(key, i);
		table_put(t, TABLE_KIND_GROUP, key, KEYLEN, val, sizeof(val), 0,
		    0);
	}
	table_stats(t, &st);

	for (p = 0; p < procs; p++) {
		if (fork() == 0) {
			res[p].lookups_per_s =
			    run(0, secs, 88172645463325252ull + (uint64_t)p);
			res[p].mix_per_s =
			    run(1, secs, 1234567ull + (uint64_t)p);
			_exit(0);
		}
	}
	for (p = 0; p < procs; p++)
		wait(NULL);
	for (p = 0; p < procs; p++) {
		lk += res[p].lookups_per_s;
		mx += res[p].mix_per_s;
	}
	peer = procs == 1 ? peer_lookups(secs) : 0;
	printf("records=%u procs=%d slots=%u live=%llu fill=%.1f%% "
	       "segment_mb=%.1f bytes_per_slot=%.0f bytes_per_live=%.0f "
	       "lookups_per_s_per_proc=%.0f mix_per_s_per_proc=%.0f "
	       "lookups_per_s_total=%.0f mix_per_s_total=%.0f "
	       "peer_hsearch_lookups_per_s=%.0f\n",
	    nkeys, procs, table_slots(t),
	    (unsigned long long)st.count[TABLE_KIND_GROUP],
	    100.0 * (double)st.count[TABLE_KIND_GROUP] / table_slots(t),
	    (double)len / 1048576.0, (double)len / table_slots(t),
	    (double)len / (double)st.count[TABLE_KIND_GROUP], lk / procs,
	    mx / procs, lk, mx, peer);
	return 0;
}
