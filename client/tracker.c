/*
 * natclient's tracker commands: register in a group and follow who comes
 * and goes, list a group's members, list the federated trackers.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "natclient.h"
#include "tracktext.h"

#define TRACKER_ANSWER_MAX (64 * 1024)
#define TRACKER_MEMBERS	   256

struct members {
	int  n;
	char line[TRACKER_MEMBERS][TT_LINE_MAX];
};

static struct members cur, prev;

/*
 * Split an answer into our own line (the first, when self is given) and
 * the members' lines.
 */
static void
tracker_split(char *ans, char *self, size_t selflen, struct members *m)
{
	char *line, *save = NULL;
	int   first = self != NULL;

	m->n = 0;
	if (self != NULL)
		self[0] = '\0';
	for (line = strtok_r(ans, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		if (strlen(line) >= TT_LINE_MAX || strcmp(line, "+more") == 0)
			continue;
		if (first)
			snprintf(self, selflen, "%s", line);
		else if (m->n < TRACKER_MEMBERS)
			strcpy(m->line[m->n++], line);
		first = 0;
	}
}

static int
tracker_has(const struct members *m, const char *line)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->line[i], line) == 0)
			return 1;
	return 0;
}

/*
 * Ask the tracker: over UDP, and again over TCP when the UDP answer was
 * cut short ("+more").  An error answer fails; so does no answer, unless
 * keep_going, when it is reported and -1 returned.
 */
static int
tracker_ask(struct client_opts *o, int fd, const struct addr *srv,
    const char *srvstr, const char *req, char *ans, size_t anslen, int tcp,
    int keep_going)
{
	int n;

	if (tcp)
		n = client_tcp_ask(o, srv, req, ans, anslen);
	else
		n = client_udp_ask(fd, req, strlen(req), ans, anslen,
		    o->timeout);
	if (n == -1 && keep_going) {
		fprintf(stderr,
		    "natclient: no answer from %s: %s; trying "
		    "again\n",
		    srvstr, errno == ETIMEDOUT ? "timed out" : strerror(errno));
		return -1;
	}
	if (n == -1)
		client_fail(o, "no answer from %s: %s", srvstr,
		    errno == ETIMEDOUT ? "timed out" : strerror(errno));
	client_sanitize(ans, 1);
	if (strncmp(ans, "error: ", 7) == 0) {
		ans[strcspn(ans, "\r\n")] = '\0';
		client_fail(o, "%s answered '%s'", srvstr, ans);
	}
	if (!tcp && n >= 5 && strcmp(ans + n - 5, "+more") == 0)
		return tracker_ask(o, fd, srv, srvstr, req, ans, anslen, 1,
		    keep_going);
	return 0;
}

static json_t *
tracker_json_list(const struct members *m)
{
	json_t *a = json_array();
	int	i;

	for (i = 0; i < m->n; i++)
		json_array_append_new(a, json_string(m->line[i]));
	return a;
}

/* The registration request for GROUP. */
static void
tracker_request(const struct client_opts *o, const char *group, char *req,
    size_t len)
{
	char lan[1024];

	client_lan_field(lan, sizeof(lan));
	snprintf(req, len, "//%s/P2P&E2E/%s/%s/%s", o->ns, group,
	    o->public_addrs[0] ? o->public_addrs : "0", lan);
}

static void
tracker_check_group(const struct client_opts *o, const char *group)
{
	size_t i, n = strlen(group);

	for (i = 0; i < n; i++)
		if (strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789_-",
			group[i]) == NULL)
			break;
	if (n < TT_GROUP_MIN || n > TT_GROUP_MAX || i < n)
		client_fail(o, "group '%s': 10 to 64 of A-Z a-z 0-9 _ -",
		    group);
}

/* Print who joined and who left since the last answer. */
static void
tracker_report(const struct client_opts *o, const char *self, int first)
{
	int i;

	if (first && !o->json)
		printf("registered as %s\n", self);
	if (first && o->json) {
		json_t *obj = json_pack("{s:s,s:s,s:o}", "event", "registered",
		    "self", self, "members", tracker_json_list(&cur));

		client_print_json(obj);
	}
	for (i = 0; i < cur.n; i++)
		if (first ? !o->json : !tracker_has(&prev, cur.line[i])) {
			if (o->json)
				client_print_json(json_pack("{s:s,s:s}",
				    "event", "join", "member", cur.line[i]));
			else
				printf("+ %s\n", cur.line[i]);
		}
	for (i = 0; i < prev.n && !first; i++)
		if (!tracker_has(&cur, prev.line[i])) {
			if (o->json)
				client_print_json(json_pack("{s:s,s:s}",
				    "event", "leave", "member", prev.line[i]));
			else
				printf("- %s\n", prev.line[i]);
		}
	fflush(stdout);
}

/* register GROUP: register, and again every interval; show changes. */
int
cmd_register(struct client_opts *o, int argc, char **argv)
{
	char	    req[2048], self[TT_LINE_MAX], srvstr[ADDR_STRLEN];
	char	   *ans;
	struct addr srv;
	int	    fd, first = 1;

	if (argc != 2)
		client_fail(o,
		    "usage: natclient register GROUP [--public "
		    "ADDR] [--interval S] [--once]");
	tracker_check_group(o, argv[1]);
	client_resolve(o, CLIENT_PORT_TRACKER, &srv);
	addr_format(&srv, srvstr, sizeof(srvstr));
	fd = client_udp_socket(o, &srv);
	if ((ans = malloc(TRACKER_ANSWER_MAX)) == NULL)
		client_fail(o, "out of memory");
	tracker_request(o, argv[1], req, sizeof(req));
	for (;;) {
		if (tracker_ask(o, fd, &srv, srvstr, req, ans,
			TRACKER_ANSWER_MAX, 0, !o->once) == 0) {
			prev = cur;
			tracker_split(ans, self, sizeof(self), &cur);
			tracker_report(o, self, first);
			first = 0;
		}
		if (o->once)
			break;
		/* The refresh also keeps the NAT mapping open. */
		poll(NULL, 0, o->interval * 1000);
	}
	free(ans);
	close(fd);
	return 0;
}

/*
 * peers GROUP: the other members.  The protocol has no read-only query,
 * so this registers once, over TCP to get the whole list.
 */
int
cmd_peers(struct client_opts *o, int argc, char **argv)
{
	char	    req[2048], self[TT_LINE_MAX], srvstr[ADDR_STRLEN];
	char	   *ans;
	struct addr srv;
	int	    i;

	if (argc != 2)
		client_fail(o, "usage: natclient peers GROUP");
	tracker_check_group(o, argv[1]);
	client_resolve(o, CLIENT_PORT_TRACKER, &srv);
	addr_format(&srv, srvstr, sizeof(srvstr));
	if ((ans = malloc(TRACKER_ANSWER_MAX)) == NULL)
		client_fail(o, "out of memory");
	tracker_request(o, argv[1], req, sizeof(req));
	tracker_ask(o, -1, &srv, srvstr, req, ans, TRACKER_ANSWER_MAX, 1, 0);
	tracker_split(ans, self, sizeof(self), &cur);
	if (o->json)
		client_print_json(json_pack("{s:s,s:s,s:o}", "group", argv[1],
		    "self", self, "members", tracker_json_list(&cur)));
	else
		for (i = 0; i < cur.n; i++)
			printf("%s\n", cur.line[i]);
	free(ans);
	return 0;
}

/* trackers: the federated tracker list. */
int
cmd_trackers(struct client_opts *o, int argc, char **argv)
{
	char	    srvstr[ADDR_STRLEN], *ans;
	struct addr srv;
	int	    i;

	(void)argv;
	if (argc != 1)
		client_fail(o, "usage: natclient trackers");
	client_resolve(o, CLIENT_PORT_TRACKER, &srv);
	addr_format(&srv, srvstr, sizeof(srvstr));
	if ((ans = malloc(TRACKER_ANSWER_MAX)) == NULL)
		client_fail(o, "out of memory");
	tracker_ask(o, -1, &srv, srvstr, "//tcksvr", ans, TRACKER_ANSWER_MAX, 1,
	    0);
	tracker_split(ans, NULL, 0, &cur);
	if (o->json)
		client_print_json(
		    json_pack("{s:o}", "trackers", tracker_json_list(&cur)));
	else
		for (i = 0; i < cur.n; i++)
			printf("%s\n", cur.line[i]);
	free(ans);
	return 0;
}
