/*
 * natclient nat: the public address the server sees us from, asked with
 * the tracker's "//nat" or, with --stun, a STUN Binding request.
 */
#include "config.h"

#include <sys/random.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "natclient.h"
#include "stun.h"

/* Ask with //nat; the answer is the address as text. */
static void
nat_text(struct client_opts *o, int fd, const char *srvstr, char *pub,
    size_t publen)
{
	char	    ans[512];
	struct addr a;
	const char *why;

	if (client_udp_ask(fd, "//nat", 5, ans, sizeof(ans), o->timeout) == -1)
		client_fail(o, "no answer from %s: %s", srvstr,
		    errno == ETIMEDOUT ? "timed out" : strerror(errno));
	client_sanitize(ans, 0);
	if (strncmp(ans, "error: ", 7) == 0)
		client_fail(o, "%s answered '%s'", srvstr, ans);
	if (addr_parse(ans, 0, &a, &why) == -1)
		client_fail(o, "%s sent a bad answer '%s': %s", srvstr, ans,
		    why);
	addr_format(&a, pub, publen);
}

/* Ask with a STUN Binding request; answers to other ids are ignored. */
static void
nat_stun(struct client_opts *o, int fd, const char *srvstr, char *pub,
    size_t publen)
{
	uint8_t			req[64], tid[12];
	char			ans[1024];
	struct sockaddr_storage ss;
	size_t			len;
	int			n;

	if (getrandom(tid, sizeof(tid), 0) != sizeof(tid))
		client_fail(o, "getrandom: %s", strerror(errno));
	len = stun_binding_request(tid, 0, 1, req, sizeof(req));
	n = client_udp_ask(fd, req, len, ans, sizeof(ans), o->timeout);
	if (n == -1)
		client_fail(o, "no answer from %s: %s", srvstr,
		    errno == ETIMEDOUT ? "timed out" : strerror(errno));
	if (stun_response_mapped((uint8_t *)ans, (size_t)n, tid, &ss) == -1)
		client_fail(o, "%s sent a bad STUN answer", srvstr);
	addr_format_sa((struct sockaddr *)&ss, pub, publen);
}

int
cmd_nat(struct client_opts *o, int argc, char **argv)
{
	char	    srvstr[ADDR_STRLEN], pub[ADDR_STRLEN];
	struct addr srv;
	int	    fd;

	(void)argv;
	if (argc != 1)
		client_fail(o,
		    "usage: natclient nat [--stun] "
		    "[-s HOST[:PORT]]");
	client_resolve(o, CLIENT_PORT_TRACKER, &srv);
	addr_format(&srv, srvstr, sizeof(srvstr));
	fd = client_udp_socket(o, &srv);
	if (o->stun)
		nat_stun(o, fd, srvstr, pub, sizeof(pub));
	else
		nat_text(o, fd, srvstr, pub, sizeof(pub));
	close(fd);
	client_print(o, "public", "server", srvstr, "public", pub, "method",
	    o->stun ? "stun" : "text", NULL);
	return 0;
}
