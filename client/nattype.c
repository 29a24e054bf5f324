/*
 * natclient nat-type: NAT behaviour discovery (RFC 5780) against a
 * natserver with an alternate address, plus the port-allocation pattern
 * and hairpinning, which RFC 5780 leaves out.
 *
 * Mapping: Binding requests from one socket to the primary address, to
 * the alternate IP and to the alternate IP and port; the same mapped
 * address each time means endpoint-independent mapping.  Filtering: from
 * a fresh socket, ask the server to answer from the other IP and port
 * (EIF if it arrives), else from the other port only (ADF), else APDF.
 * Allocation: fresh sockets, one after another, each asks the primary;
 * mapped ports equal to the local ones are "preserving", ports stepping
 * by a constant are "incrementing" by that step, anything else "random".
 */
#include "config.h"

#include <sys/random.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "natclient.h"
#include "portmap.h"
#include "stun.h"

#define NT_TRIES       3
#define NT_WAIT_MS     700
#define NT_ALLOC_SOCKS 5

/*
 * One Binding request to `to` (with CHANGE-REQUEST flags), answered from
 * anywhere: 0 with the mapped address (and OTHER-ADDRESS when asked and
 * present), -1 when no answer came.
 */
int
nattype_ask(int fd, const struct addr *to, int change, struct addr *mapped,
    struct addr *other)
{
	uint8_t			req[64], ans[1024], tid[12];
	struct sockaddr_storage ss;
	struct pollfd		pfd = {fd, POLLIN, 0};
	size_t			len;
	ssize_t			n;
	int			try;

	if (getrandom(tid, sizeof(tid), 0) != sizeof(tid))
		return -1;
	len = stun_binding_request(tid, change, 1, req, sizeof(req));
	for (try = 0; try < NT_TRIES; try++) {
		if (sendto(fd, req, len, 0, (const struct sockaddr *)&to->ss,
			to->len) == -1)
			return -1;
		while (poll(&pfd, 1, NT_WAIT_MS) == 1) {
			n = recv(fd, ans, sizeof(ans), 0);
			if (n <= 0 ||
			    stun_response_mapped(ans, (size_t)n, tid, &ss) ==
				-1)
				continue;
			addr_from_sa(mapped, (struct sockaddr *)&ss,
			    ss.ss_family == AF_INET
				? sizeof(struct sockaddr_in)
				: sizeof(struct sockaddr_in6));
			if (other != NULL &&
			    stun_response_addr(ans, (size_t)n, tid,
				STUN_ATTR_OTHER_ADDRESS, &ss) == 0)
				addr_from_sa(other, (struct sockaddr *)&ss,
				    ss.ss_family == AF_INET
					? sizeof(struct sockaddr_in)
					: sizeof(struct sockaddr_in6));
			return 0;
		}
	}
	return -1;
}

/* An address with another port. */
static struct addr
nt_with_port(const struct addr *a, uint16_t port)
{
	struct addr r = *a;

	addr_set_port(&r, port);
	return r;
}

/* The local address a socket talks to the server from. */
static void
nt_local(const struct client_opts *o, const struct addr *srv, int fd,
    struct addr *local)
{
	struct sockaddr_storage ss;
	socklen_t		len = sizeof(ss);
	int			probe = client_udp_new(o, addr_family(srv));
	uint16_t		port;

	/* The route's source address, from a connected probe socket. */
	if (connect(probe, (const struct sockaddr *)&srv->ss, srv->len) == -1 ||
	    getsockname(probe, (struct sockaddr *)&ss, &len) == -1)
		client_fail(o, "no route to the server: %s", strerror(errno));
	close(probe);
	addr_from_sa(local, (struct sockaddr *)&ss, len);
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	port = ntohs(ss.ss_family == AF_INET
		? ((struct sockaddr_in *)&ss)->sin_port
		: ((struct sockaddr_in6 *)&ss)->sin6_port);
	*local = nt_with_port(local, port);
}

/* Port allocation over fresh sockets: preserving, incrementing, random. */
static const char *
nt_allocation(const struct client_opts *o, const struct addr *srv, int *delta)
{
	int	    ports[NT_ALLOC_SOCKS], preserved = 1, i, n = 0;
	struct addr mapped, local;

	for (i = 0; i < NT_ALLOC_SOCKS; i++) {
		int fd = client_udp_new(o, addr_family(srv));

		if (nattype_ask(fd, srv, 0, &mapped, NULL) == 0) {
			nt_local(o, srv, fd, &local);
			if (addr_port(&mapped) != addr_port(&local))
				preserved = 0;
			ports[n++] = addr_port(&mapped);
		}
		close(fd);
	}
	if (n < 3)
		return "unknown";
	if (preserved)
		return "preserving";
	*delta = ports[1] - ports[0];
	for (i = 2; i < n; i++)
		if (ports[i] - ports[i - 1] != *delta)
			break;
	if (i == n && *delta != 0 && abs(*delta) <= 64)
		return "incrementing";
	*delta = 0;
	return "random";
}

/* Hairpinning: does a packet to our own public address come back to us? */
static int
nt_hairpin(const struct client_opts *o, int fd, const struct addr *mapped)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	char	      buf[64];
	int other = client_udp_new(o, addr_family(mapped)), got = 0, try;

	for (try = 0; try < NT_TRIES && !got; try++) {
		sendto(other, "natkit-hairpin", 14, 0,
		    (const struct sockaddr *)&mapped->ss, mapped->len);
		while (!got && poll(&pfd, 1, NT_WAIT_MS) == 1) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			got = n == 14 && memcmp(buf, "natkit-hairpin", 14) == 0;
		}
	}
	close(other);
	return got;
}

/*
 * Probe the NAT in front of us through the tracker at srv.  Without full,
 * only what punching needs: mapping and allocation, not filtering and
 * hairpinning, whose tests wait for answers that may never come.
 */
void
nattype_probe(const struct client_opts *o, const struct addr *srv,
    struct nat_result *r, int full)
{
	struct addr mapped, m2, m3, other, local, alt_ip, alt_both;
	char	    srvstr[ADDR_STRLEN];
	int	    fd, fd2;

	memset(r, 0, sizeof(*r));
	r->mapping = r->filtering = "unknown";
	addr_format(srv, srvstr, sizeof(srvstr));
	fd = client_udp_new(o, addr_family(srv));
	memset(&other, 0, sizeof(other));
	if (nattype_ask(fd, srv, 0, &mapped, &other) == -1)
		client_fail(o, "no answer from %s: timed out", srvstr);
	r->public_addr = mapped;
	nt_local(o, srv, fd, &local);
	r->nat = !addr_equal(&mapped, &local);

	if (other.len == 0)
		r->why = "the server has no alternate address (RFC 5780, "
			 "tracker.alternate_address): mapping and filtering "
			 "were not tested";
	else {
		alt_both = other;
		alt_ip = nt_with_port(&other, addr_port(srv));
		if (nattype_ask(fd, &alt_ip, 0, &m2, NULL) == -1)
			r->why = "no answer from the alternate address";
		else if (addr_equal(&m2, &mapped))
			r->mapping = "EIM";
		else if (nattype_ask(fd, &alt_both, 0, &m3, NULL) == -1)
			r->why =
			    "no answer from the alternate address and port";
		else
			r->mapping = addr_equal(&m3, &m2) ? "ADM" : "APDM";
		/* A fresh socket: the tests above opened filters. */
		fd2 = client_udp_new(o, addr_family(srv));
		if (full && nattype_ask(fd2, srv, 0, &m2, NULL) == 0)
			r->filtering =
			    nattype_ask(fd2, srv, STUN_CHANGE_IP | STUN_CHANGE_PORT,
				&m2, NULL) == 0
			    ? "EIF"
			    : nattype_ask(fd2, srv, STUN_CHANGE_PORT, &m2, NULL) == 0
			    ? "ADF"
			    : "APDF";
		close(fd2);
	}
	r->allocation = nt_allocation(o, srv, &r->delta);
	r->hairpin = !r->nat || (full && nt_hairpin(o, fd, &mapped));
	close(fd);

	if (!r->nat)
		r->name = "no NAT";
	else if (strcmp(r->mapping, "EIM") != 0)
		r->name = strcmp(r->mapping, "unknown") == 0 ? "unknown"
							     : "symmetric";
	else
		r->name = strcmp(r->filtering, "EIF") == 0 ? "full cone"
		    : strcmp(r->filtering, "ADF") == 0	   ? "restricted cone"
		    : strcmp(r->filtering, "APDF") == 0 ? "port-restricted cone"
							: "unknown";
}

int
cmd_nat_type(struct client_opts *o, int argc, char **argv)
{
	struct nat_result r;
	struct addr	  srv;
	json_t		 *pm;
	char		  srvstr[ADDR_STRLEN], pub[ADDR_STRLEN], line[160];

	(void)argv;
	if (argc != 1)
		client_fail(o, "usage: natclient nat-type [-s HOST[:PORT]]");
	client_resolve(o, CLIENT_PORT_TRACKER, &srv);
	addr_format(&srv, srvstr, sizeof(srvstr));
	nattype_probe(o, &srv, &r, 1);
	addr_format(&r.public_addr, pub, sizeof(pub));
	pm = portmap_report(o, &srv);
	if (o->json) {
		json_t *obj = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:i,s:b}",
		    "server", srvstr, "public", pub, "type", r.name, "nat",
		    r.nat, "mapping", r.mapping, "filtering", r.filtering,
		    "allocation", r.allocation, "delta", r.delta, "hairpin",
		    r.hairpin);

		if (r.why != NULL)
			json_object_set_new(obj, "note", json_string(r.why));
		json_object_set_new(obj, "portmap", pm);
		client_print_json(obj);
		return 0;
	}
	printf("NAT type: %s\npublic address: %s\nmapping: %s\nfiltering: %s\n",
	    r.name, pub, r.mapping, r.filtering);
	if (strcmp(r.allocation, "incrementing") == 0)
		snprintf(line, sizeof(line), "incrementing by %d", r.delta);
	else
		snprintf(line, sizeof(line), "%s", r.allocation);
	printf("port allocation: %s\nhairpinning: %s\n", line,
	    r.hairpin ? "yes" : "no");
	printf("port mapping: %s\n",
	    json_string_value(json_object_get(pm, "note")));
	json_decref(pm);
	if (r.why != NULL)
		printf("note: %s\n", r.why);
	return 0;
}
