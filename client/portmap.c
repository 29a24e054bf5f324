/*
 * Port mapping for the socket that punches: which protocol the default
 * gateway speaks (PCP, then NAT-PMP, then UPnP IGD, all within
 * PORTMAP_TIMEOUT_MS together), the mapping's renewal, and its removal
 * at exit.  A gateway without any of them costs at most that time: PCP
 * and NAT-PMP fail at once on a "port unreachable", UPnP when SSDP
 * finds nothing.
 *
 * Mappings made are kept in a small table so that they are deleted
 * whatever way natclient ends: exit() (atexit), or SIGINT, SIGTERM or
 * SIGHUP, which a thread of ours waits for while the rest of the
 * process has them blocked.
 */
#include "config.h"

#include <sys/socket.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portmap.h"

#define PORTMAP_MAX	   4   /* mappings one process holds */
#define PORTMAP_DELETE_MS  500 /* each delete at exit */
#define PORTMAP_PROBE_LIFE 30  /* survey: a mapping made to be deleted */

static const struct portmap_ops *const portmap_protos[PORTMAP_NPROTOS] = {
    [PORTMAP_PCP] = &portmap_pcp_ops,
    [PORTMAP_NATPMP] = &portmap_natpmp_ops,
    [PORTMAP_UPNP] = &portmap_upnp_ops,
};

static pthread_mutex_t pm_mu = PTHREAD_MUTEX_INITIALIZER;
static struct portmap  pm_live[PORTMAP_MAX];
static int	       pm_nlive, pm_guarded;

/*
 * The default IPv4 gateway: the kernel's routing table, read through
 * /proc/self/net, which stays visible under systemd's ProcSubset=pid
 * (natclient.service), where libnatpmp's /proc/net/route does not.
 */
int
portmap_gateway(struct portmap *pm)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	unsigned	   dst, gw, flags, mask;
	char		   line[256], ifname[64];
	FILE		  *f;
	int		   found = 0;

	if ((f = fopen("/proc/self/net/route", "re")) != NULL) {
		while (!found && fgets(line, sizeof(line), f) != NULL)
			/* RTF_UP | RTF_GATEWAY, to 0.0.0.0/0 */
			found = sscanf(line, "%63s %x %x %x %*d %*d %*d %x",
				    ifname, &dst, &gw, &flags, &mask) == 5 &&
			    dst == 0 && mask == 0 && (flags & 3) == 3;
		fclose(f);
	}
	if (!found) {
		snprintf(pm->why, sizeof(pm->why), "no default IPv4 gateway");
		return -1;
	}
	sin.sin_addr.s_addr = gw; /* the table's byte order is the wire's */
	sin.sin_port = htons(PORTMAP_PORT);
	return addr_from_sa(&pm->gateway, (struct sockaddr *)&sin,
	    sizeof(sin));
}

/*
 * portmap_protocols ("pcp nat-pmp upnp", by spaces or commas) into
 * order[], ended by -1; -1 with the bad word for one we do not know,
 * one named twice, or none at all.
 */
int
portmap_order(const char *list, int *order, char *bad, size_t badlen)
{
	char buf[64], *w, *save = NULL;
	int  n = 0, i, j;

	snprintf(buf, sizeof(buf), "%s", list);
	snprintf(bad, badlen, "%s", "");
	for (w = strtok_r(buf, " ,\t", &save); w != NULL;
	     w = strtok_r(NULL, " ,\t", &save)) {
		for (i = 0; i < PORTMAP_NPROTOS; i++)
			if (strcmp(w, portmap_protos[i]->name) == 0)
				break;
		for (j = 0; j < n && i < PORTMAP_NPROTOS; j++)
			if (order[j] == i)
				i = PORTMAP_NPROTOS;
		if (i == PORTMAP_NPROTOS || n == PORTMAP_NPROTOS) {
			snprintf(bad, badlen, "%s", w);
			client_sanitize(bad, 0);
			return -1;
		}
		order[n++] = i;
	}
	if (n < PORTMAP_NPROTOS)
		order[n] = -1;
	return n == 0 ? -1 : 0;
}

/*
 * Whether a mapping can matter for a path through this server: IPv4
 * (what PCP, NAT-PMP and UPnP map here), and not on this host, which
 * would see us from behind no gateway at all.
 */
int
portmap_useful(const struct addr *server)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&server->ss;

	return addr_family(server) == AF_INET &&
	    (ntohl(sin->sin_addr.s_addr) >> 24) != 127;
}

void
portmap_release(void)
{
	int i;

	pthread_mutex_lock(&pm_mu);
	for (i = 0; i < pm_nlive; i++)
		portmap_protos[pm_live[i].proto]->map(&pm_live[i], 0,
		    PORTMAP_DELETE_MS);
	pm_nlive = 0;
	pthread_mutex_unlock(&pm_mu);
}

static int (*volatile pm_hook)(int);

/*
 * While a bridge carries data, an ending signal is its to take (it says
 * goodbye to the peer, then sends the signal again): fn(sig) returns 1
 * when it took it.  NULL: signals end natclient here.
 */
void
portmap_on_signal(int (*fn)(int))
{
	pm_hook = fn;
}

static void *
portmap_sigthread(void *arg)
{
	sigset_t *set = arg;
	int	  sig = SIGTERM;
	int (*hook)(int);

	for (;;) {
		sigwait(set, &sig);
		portmap_release();
		if ((hook = pm_hook) == NULL || !hook(sig))
			_exit(128 + sig);
	}
	return NULL;
}

/* The signals that end natclient, which delete mappings first. */
static void
portmap_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/* A child of ours owns no mapping and must die of signals as usual. */
static void
portmap_atfork_child(void)
{
	sigset_t set;

	pm_nlive = 0;
	pm_guarded = 0;
	portmap_sigset(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void
portmap_guard(void)
{
	static sigset_t set;
	pthread_attr_t	attr;
	pthread_t	t;

	if (pm_guarded)
		return;
	pm_guarded = 1;
	portmap_sigset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, portmap_sigthread, &set) != 0)
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_attr_destroy(&attr);
	atexit(portmap_release);
	pthread_atfork(NULL, NULL, portmap_atfork_child);
}

static void
portmap_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr: what the gateway did for us. */
static void
portmap_say(const char *fmt, ...)
{
	char	line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	client_sanitize(line, 0); /* the gateway's words are untrusted */
	fprintf(stderr, "natclient: port mapping: %s\n", line);
}

/*
 * The mapped address must be our public one (seen, as the server sees
 * us, when known): a gateway behind another NAT maps a port that no
 * peer can reach.  One that does not say its address gets ours.
 */
static int
portmap_check(struct portmap *pm, const struct addr *seen)
{
	struct sockaddr_in	 *ext = (struct sockaddr_in *)&pm->external.ss;
	const struct sockaddr_in *pub = (const struct sockaddr_in *)&seen->ss;
	char			  a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (addr_family(seen) != AF_INET) {
		if (ext->sin_addr.s_addr != INADDR_ANY)
			return 0;
		snprintf(pm->why, sizeof(pm->why),
		    "the gateway did not say its external address");
		return -1;
	}
	if (ext->sin_addr.s_addr == INADDR_ANY)
		ext->sin_addr = pub->sin_addr;
	if (ext->sin_addr.s_addr == pub->sin_addr.s_addr)
		return 0;
	addr_format(&pm->external, a, sizeof(a));
	addr_format(seen, b, sizeof(b));
	snprintf(pm->why, sizeof(pm->why),
	    "mapped %s, but we are %s: another NAT is beyond the gateway", a,
	    b);
	return -1;
}

/*
 * Map our port (ipproto UDP or TCP) on the default gateway by the first
 * protocol it speaks: the mapping, kept until portmap_release(), or
 * NULL when none could be had (said in one line).  seen: our public
 * address as a server saw it, or one of family 0.
 */
struct portmap *
portmap_open(const struct client_opts *o, int ipproto, uint16_t port,
    const struct addr *seen)
{
	struct portmap pm, *live = NULL;
	int64_t	       deadline = client_now_ms() + PORTMAP_TIMEOUT_MS;
	char	       why[PORTMAP_NPROTOS * 270] = "", ext[ADDR_STRLEN];
	int	       order[PORTMAP_NPROTOS], i, k, n, left;

	memset(&pm, 0, sizeof(pm));
	pm.ipproto = ipproto;
	pm.internal = port;
	if (portmap_gateway(&pm) == -1) {
		portmap_say("none: %s", pm.why);
		return NULL;
	}
	if (portmap_order(o->portmap_protocols, order, why, sizeof(why)) == -1)
		return NULL; /* client_conf_load said so */
	for (n = 0; n < PORTMAP_NPROTOS && order[n] != -1; n++)
		;
	portmap_guard();
	pthread_mutex_lock(&pm_mu);
	for (k = 0; k < n; k++)
		if (portmap_protos[order[k]]->prefetch != NULL)
			portmap_protos[order[k]]->prefetch(&pm,
			    PORTMAP_TIMEOUT_MS);
	for (k = 0; k < n && pm_nlive < PORTMAP_MAX; k++) {
		/* Each protocol gets an equal share of the time left. */
		left = (int)(deadline - client_now_ms()) / (n - k);
		pm.proto = i = order[k];
		if (left > 0 &&
		    portmap_protos[i]->map(&pm, PORTMAP_LIFETIME, left) == 0) {
			if (portmap_check(&pm, seen) == 0) {
				live = &pm_live[pm_nlive++];
				*live = pm;
				break;
			}
			portmap_protos[i]->map(&pm, 0, PORTMAP_DELETE_MS);
		}
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    "%s%s: %s", k ? "; " : "", portmap_protos[i]->name,
		    left > 0 ? pm.why : "no time left");
	}
	portmap_upnp_drop();
	pthread_mutex_unlock(&pm_mu);
	if (live == NULL)
		portmap_say("none (%s)", why);
	else
		portmap_say("%s mapped %s port %u to %s",
		    portmap_protos[live->proto]->name,
		    ipproto == IPPROTO_TCP ? "TCP" : "UDP", port,
		    addr_format(&live->external, ext, sizeof(ext)));
	return live;
}

/* Ask again once half the lifetime has passed; keep it if refused. */
void
portmap_renew(struct portmap *pm)
{
	struct portmap next;

	if (pm == NULL || client_now_ms() < pm->renew_ms)
		return;
	pthread_mutex_lock(&pm_mu);
	next = *pm;
	if (portmap_protos[pm->proto]->map(&next, PORTMAP_LIFETIME,
		PORTMAP_TIMEOUT_MS) == 0)
		*pm = next;
	else {
		pm->renew_ms = client_now_ms() + 10000;
		portmap_say("renewal failed: %s", next.why);
	}
	pthread_mutex_unlock(&pm_mu);
}

/*
 * For nat-type and netcheck: which protocols the gateway answers, and
 * the address a mapping gets (made for a moment, then deleted).
 */
static json_t *
portmap_survey(void)
{
	struct portmap pm, made;
	json_t	      *j, *offered = json_array(), *why = json_object();
	char	       a[ADDR_STRLEN];
	int	       i, fd, via = -1;

	memset(&pm, 0, sizeof(pm));
	j = json_pack("{s:b}", "checked", 1);
	if (portmap_gateway(&pm) == -1) {
		json_object_set_new(j, "gateway", json_null());
		json_object_set_new(j, "offered", offered);
		json_object_set_new(j, "note", json_string(pm.why));
		json_decref(why);
		return j;
	}
	json_object_set_new(j, "gateway",
	    json_string(addr_format(&pm.gateway, a, sizeof(a))));
	for (i = 0; i < PORTMAP_NPROTOS; i++) {
		struct portmap p = pm;

		if (portmap_protos[i]->probe(&p, PORTMAP_TIMEOUT_MS) == 0) {
			json_array_append_new(offered,
			    json_string(portmap_protos[i]->name));
			if (via == -1) {
				via = i;
				pm = p; /* UPnP: the IGD found */
			}
		} else {
			client_sanitize(p.why, 0);
			json_object_set_new(why, portmap_protos[i]->name,
			    json_string(p.why));
		}
	}
	json_object_set_new(j, "offered", offered);
	json_object_set_new(j, "failures", why);
	if (via == -1)
		return j;
	/* A real mapping of a fresh port shows what a peer would reach. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_in sin = {.sin_family = AF_INET};
		socklen_t	   len = sizeof(sin);

		if (fd == -1 || bind(fd, (struct sockaddr *)&sin, len) == -1 ||
		    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
			if (fd != -1)
				close(fd);
			return j;
		}
		pm.internal = ntohs(sin.sin_port);
	}
	pm.ipproto = IPPROTO_UDP;
	pm.proto = via;
	made = pm;
	if (portmap_protos[via]->map(&made, PORTMAP_PROBE_LIFE,
		PORTMAP_TIMEOUT_MS) == 0) {
		json_object_set_new(j, "via",
		    json_string(portmap_protos[via]->name));
		json_object_set_new(j, "mapped",
		    json_string(addr_format(&made.external, a, sizeof(a))));
		portmap_protos[via]->map(&made, 0, PORTMAP_DELETE_MS);
	} else {
		client_sanitize(made.why, 0);
		json_object_set_new(j, "note", json_string(made.why));
	}
	close(fd);
	return j;
}

/*
 * nat-type's and netcheck's "portmap" object: the survey, or why none
 * was made, with a "note" for people.
 */
json_t *
portmap_report(const struct client_opts *o, const struct addr *server)
{
	json_t	   *j, *v;
	const char *via, *mapped, *gw;
	char	    note[512] = "";
	size_t	    i;

	if (!o->portmap)
		return json_pack("{s:b,s:s}", "checked", 0, "note",
		    "off (portmap = no, or --no-portmap)");
	if (!portmap_useful(server))
		return json_pack("{s:b,s:s}", "checked", 0, "note",
		    "not checked: the server is on this host, or not IPv4");
	j = portmap_survey();
	gw = json_string_value(json_object_get(j, "gateway"));
	json_array_foreach(json_object_get(j, "offered"), i, v)
	    snprintf(note + strlen(note), sizeof(note) - strlen(note), "%s%s",
		i ? ", " : "", json_string_value(v));
	via = json_string_value(json_object_get(j, "via"));
	mapped = json_string_value(json_object_get(j, "mapped"));
	if (gw == NULL)
		snprintf(note, sizeof(note), "%s",
		    json_string_value(json_object_get(j, "note")));
	else if (note[0] == '\0')
		snprintf(note, sizeof(note), "none offered by the gateway %s",
		    gw);
	else if (mapped != NULL)
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
		    " offered by the gateway %s; a mapping by %s gets %s", gw,
		    via, mapped);
	else
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
		    " offered by the gateway %s, but no mapping: %s", gw,
		    json_string_value(json_object_get(j, "note")));
	json_object_set_new(j, "note", json_string(note));
	return j;
}
