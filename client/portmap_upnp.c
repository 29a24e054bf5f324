/*
 * UPnP IGD through miniupnpc.  Its calls block on SSDP and HTTP with
 * timeouts of their own (seconds), longer than discovery may take, so
 * each call runs in a detached thread and we wait for it no longer than
 * our deadline.  A thread that finishes after we stopped waiting and
 * made a mapping deletes it at once: nothing is left on the router.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portmap.h"

#define UPNP_SSDP_MS 1200 /* the most one SSDP search waits: MX is 1 s */

/* Find the IGD: its control URL, our LAN address, its external IP. */
static int
upnp_find(struct portmap *pm, int timeout_ms)
{
	struct UPNPDev *devs;
	struct UPNPUrls urls;
	struct IGDdatas data;
	char		lan[64] = "", ext[64] = "";
	const char     *why;
	int		err = 0, rv, wait;

	/* miniupnpc searches for up to UPNP_SSDP_TYPES kinds of device in
	   turn, waiting this long for each; the first is the gateway, whose
	   answer may take a second (MX), and the rest of the time is for
	   its description and the SOAP calls. */
	wait = timeout_ms * 3 / 5;
	devs = upnpDiscover(wait < UPNP_SSDP_MS ? wait : UPNP_SSDP_MS, NULL,
	    NULL, 0, 0, 2, &err);
	if (devs == NULL) {
		snprintf(pm->why, sizeof(pm->why), "no UPnP device answered");
		return -1;
	}
	rv = UPNP_GetValidIGD(devs, &urls, &data, lan, sizeof(lan));
	freeUPNPDevlist(devs);
	if (rv != 1 && rv != 2) {
		if (rv != 0)
			FreeUPNPUrls(&urls);
		snprintf(pm->why, sizeof(pm->why),
		    "UPnP devices answered, none an internet gateway");
		return -1;
	}
	snprintf(pm->ctl_url, sizeof(pm->ctl_url), "%s", urls.controlURL);
	snprintf(pm->service, sizeof(pm->service), "%s",
	    data.first.servicetype);
	FreeUPNPUrls(&urls);
	if (addr_parse_ip(lan, &pm->lan, &why) == -1) {
		snprintf(pm->why, sizeof(pm->why),
		    "the UPnP gateway gave no LAN address for us");
		pm->ctl_url[0] = '\0';
		return -1;
	}
	/* Some gateways keep their WAN address to themselves (miniupnpd
	   does when it is not a public one): portmap.c fills it in. */
	if (UPNP_GetExternalIPAddress(pm->ctl_url, pm->service, ext) !=
		UPNPCOMMAND_SUCCESS ||
	    addr_parse_ip(ext, &pm->external, &why) == -1)
		addr_parse_ip("0.0.0.0", &pm->external, &why);
	return 0;
}

static int
upnp_do(struct portmap *pm, int lifetime, int probe_only, int timeout_ms)
{
	char	    port[8], lease[16], lan[ADDR_STRLEN], got[8] = "";
	const char *proto = pm->ipproto == IPPROTO_TCP ? "TCP" : "UDP";
	int	    rv;

	if (pm->ctl_url[0] == '\0' && upnp_find(pm, timeout_ms) == -1)
		return -1;
	if (probe_only)
		return 0;
	snprintf(port, sizeof(port), "%u", pm->internal);
	if (lifetime == 0)
		return UPNP_DeletePortMapping(pm->ctl_url, pm->service, port,
			   proto, NULL) == UPNPCOMMAND_SUCCESS
		    ? 0
		    : -1;
	snprintf(lease, sizeof(lease), "%d", lifetime);
	addr_format(&pm->lan, lan, sizeof(lan));
	if (strrchr(lan, ':') != NULL)
		*strrchr(lan, ':') = '\0'; /* the IP alone */
	rv = UPNP_AddPortMapping(pm->ctl_url, pm->service, port, port, lan,
	    "natkit", proto, NULL, lease);
	if (rv == UPNPCOMMAND_SUCCESS)
		snprintf(got, sizeof(got), "%s", port);
	else /* the port is taken outside: IGDv2 picks another */
		rv = UPNP_AddAnyPortMapping(pm->ctl_url, pm->service, port,
		    port, lan, "natkit", proto, NULL, lease, got);
	if (rv != UPNPCOMMAND_SUCCESS || atoi(got) <= 0 || atoi(got) > 65535) {
		snprintf(pm->why, sizeof(pm->why),
		    "UPnP refused the mapping: %s",
		    strupnperror(rv) != NULL ? strupnperror(rv) : "error");
		return -1;
	}
	addr_set_port(&pm->external, (uint16_t)atoi(got));
	pm->renew_ms = client_now_ms() + (int64_t)lifetime * 500;
	return 0;
}

struct upnp_job {
	pthread_mutex_t mu;
	pthread_cond_t	cv;
	int		refs, done, abandoned, rv;
	int		lifetime, probe_only, timeout_ms;
	struct portmap	pm;
};

static void
upnp_unref(struct upnp_job *j)
{
	int last;

	pthread_mutex_lock(&j->mu);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (last) {
		pthread_mutex_destroy(&j->mu);
		pthread_cond_destroy(&j->cv);
		free(j);
	}
}

static void *
upnp_thread(void *arg)
{
	struct upnp_job *j = arg;
	int		 rv, late;

	rv = upnp_do(&j->pm, j->lifetime, j->probe_only, j->timeout_ms);
	pthread_mutex_lock(&j->mu);
	j->rv = rv;
	j->done = 1;
	late = j->abandoned;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	if (late && rv == 0 && !j->probe_only && j->lifetime > 0)
		upnp_do(&j->pm, 0, 0, j->timeout_ms); /* nobody uses it */
	upnp_unref(j);
	return NULL;
}

/* Start one UPnP call in its own thread; NULL with pm->why said. */
static struct upnp_job *
upnp_start(struct portmap *pm, int lifetime, int probe_only, int timeout_ms)
{
	struct upnp_job *j;
	pthread_attr_t	 attr;
	pthread_t	 t;
	int		 rv;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->refs = 2;
	j->pm = *pm;
	j->lifetime = lifetime;
	j->probe_only = probe_only;
	j->timeout_ms = timeout_ms;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rv = pthread_create(&t, &attr, upnp_thread, j);
	pthread_attr_destroy(&attr);
	if (rv != 0) {
		snprintf(pm->why, sizeof(pm->why), "no thread for UPnP");
		j->refs = 1;
		upnp_unref(j);
		return NULL;
	}
	return j;
}

/*
 * The call's result if it ends by the deadline (CLOCK_MONOTONIC ms, as
 * client_now_ms), else -1: the thread goes on alone and undoes what it
 * makes.  j is ours no more either way.
 */
static int
upnp_finish(struct upnp_job *j, struct portmap *pm, int64_t deadline)
{
	struct timespec until;
	int64_t		left = deadline - client_now_ms();
	int		rv = -1;

	if (left < 0)
		left = 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(left / 1000);
	until.tv_nsec += (long)(left % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&j->mu);
	while (!j->done &&
	    pthread_cond_timedwait(&j->cv, &j->mu, &until) != ETIMEDOUT)
		;
	if (j->done) {
		*pm = j->pm;
		rv = j->rv;
	} else {
		j->abandoned = 1;
		snprintf(pm->why, sizeof(pm->why), "no UPnP answer in %d ms",
		    j->timeout_ms);
	}
	pthread_mutex_unlock(&j->mu);
	upnp_unref(j);
	return rv;
}

/* Run one UPnP call for at most timeout_ms. */
static int
upnp_run(struct portmap *pm, int lifetime, int probe_only, int timeout_ms)
{
	struct upnp_job *j;

	if ((j = upnp_start(pm, lifetime, probe_only, timeout_ms)) == NULL)
		return -1;
	return upnp_finish(j, pm, client_now_ms() + timeout_ms);
}

/*
 * SSDP answers may come up to a second late (a device waits a random
 * part of MX before it answers), longer than discovery gives each
 * protocol: portmap_open starts the search first, and upnp_map takes
 * its result when the other protocols have had their turn.
 */
static struct upnp_job *upnp_early;

static void
upnp_prefetch(const struct portmap *pm, int timeout_ms)
{
	struct portmap p = *pm;

	if (upnp_early == NULL)
		upnp_early = upnp_start(&p, 0, 1, timeout_ms);
}

/* Drop a search nobody needs any more (another protocol mapped). */
void
portmap_upnp_drop(void)
{
	struct portmap p;

	if (upnp_early != NULL)
		upnp_finish(upnp_early, &p, 0);
	upnp_early = NULL;
}

static int
upnp_probe(struct portmap *pm, int timeout_ms)
{
	return upnp_run(pm, 0, 1, timeout_ms);
}

static int
upnp_map(struct portmap *pm, int lifetime, int timeout_ms)
{
	int64_t	       deadline = client_now_ms() + timeout_ms;
	struct portmap found = *pm;

	if (upnp_early != NULL && lifetime > 0 && pm->ctl_url[0] == '\0') {
		if (upnp_finish(upnp_early, &found, deadline) == -1) {
			upnp_early = NULL;
			snprintf(pm->why, sizeof(pm->why), "%s", found.why);
			return -1;
		}
		upnp_early = NULL;
		memcpy(pm->ctl_url, found.ctl_url, sizeof(pm->ctl_url));
		memcpy(pm->service, found.service, sizeof(pm->service));
		pm->lan = found.lan;
		pm->external = found.external;
	}
	timeout_ms = (int)(deadline - client_now_ms());
	return upnp_run(pm, lifetime, 0, timeout_ms > 1 ? timeout_ms : 1);
}

const struct portmap_ops portmap_upnp_ops = {.name = "upnp",
    .probe = upnp_probe,
    .map = upnp_map,
    .prefetch = upnp_prefetch};
