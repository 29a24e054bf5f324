/* natclient nat: the public address the server sees us from (//nat). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "natclient.h"

/* Make an answer safe to print: no control bytes, bounded. */
static void
nat_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if (!isprint((unsigned char)*s))
			*s = '?';
}

int
cmd_nat(struct client_opts *o, int argc, char **argv)
{
	char	    ans[512], srvstr[ADDR_STRLEN];
	struct addr srv, pub;
	const char *why;
	int	    fd;

	(void)argv;
	if (argc != 1)
		client_fail(o, "usage: natclient nat [-s HOST[:PORT]]");
	client_resolve(o, CLIENT_PORT_TRACKER, &srv);
	addr_format(&srv, srvstr, sizeof(srvstr));
	fd = client_udp_socket(o, &srv);
	if (client_udp_ask(fd, "//nat", 5, ans, sizeof(ans), o->timeout) == -1)
		client_fail(o, "no answer from %s: %s", srvstr,
		    errno == ETIMEDOUT ? "timed out" : strerror(errno));
	close(fd);
	nat_sanitize(ans);
	if (strncmp(ans, "error: ", 7) == 0)
		client_fail(o, "%s answered '%s'", srvstr, ans);
	if (addr_parse(ans, 0, &pub, &why) == -1)
		client_fail(o, "%s sent a bad answer '%s': %s", srvstr, ans,
		    why);
	client_print(o, "public", "server", srvstr, "public", ans, NULL);
	return 0;
}
