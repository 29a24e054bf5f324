/*
 * The LAN field of a tracker registration: "MAC-ip[,ip...]" for each
 * interface that is up and not loopback, joined by ';', as the
 * NatTrackerServer clients send it; "0" when there is none.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "natclient.h"
#include "tracktext.h"

/* Fill out with the LAN field; at most TT_LAN_MAX addresses in all. */
size_t
client_lan_field(char *out, size_t max)
{
	struct ifaddrs *ifs, *i, *j;
	size_t		off = 0;
	int		total = 0;

	out[0] = '\0';
	if (getifaddrs(&ifs) == -1)
		return (size_t)snprintf(out, max, "0");
	for (i = ifs; i != NULL; i = i->ifa_next) {
		const struct sockaddr_ll *ll;
		int			  n = 0;

		if (i->ifa_addr == NULL ||
		    i->ifa_addr->sa_family != AF_PACKET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		ll = (const struct sockaddr_ll *)i->ifa_addr;
		if (ll->sll_halen != 6)
			continue;
		for (j = ifs; j != NULL && total < TT_LAN_MAX;
		     j = j->ifa_next) {
			char ip[INET6_ADDRSTRLEN];
			int  fam;

			if (j->ifa_addr == NULL ||
			    strcmp(j->ifa_name, i->ifa_name) != 0)
				continue;
			fam = j->ifa_addr->sa_family;
			if (fam == AF_INET)
				inet_ntop(AF_INET,
				    &((struct sockaddr_in *)j->ifa_addr)
					 ->sin_addr,
				    ip, sizeof(ip));
			else if (fam == AF_INET6)
				inet_ntop(AF_INET6,
				    &((struct sockaddr_in6 *)j->ifa_addr)
					 ->sin6_addr,
				    ip, sizeof(ip));
			else
				continue;
			if (n == 0)
				off += (size_t)snprintf(out + off, max - off,
				    "%s%02x%02x%02x%02x%02x%02x-%s",
				    off > 0 ? ";" : "", ll->sll_addr[0],
				    ll->sll_addr[1], ll->sll_addr[2],
				    ll->sll_addr[3], ll->sll_addr[4],
				    ll->sll_addr[5], ip);
			else
				off += (size_t)snprintf(out + off, max - off,
				    ",%s", ip);
			if (off >= max) {
				freeifaddrs(ifs);
				return (size_t)snprintf(out, max, "0");
			}
			n++;
			total++;
		}
	}
	freeifaddrs(ifs);
	if (off == 0)
		off = (size_t)snprintf(out, max, "0");
	return off;
}
