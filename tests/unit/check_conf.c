/* Unit tests for common/conf.c: good files and broken ones. */
#include "config.h"

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "unit.h"

struct tconf {
	char		   name[16];
	int		   workers;
	int		   flag;
	struct conf_listen listen;
	struct conf_range  range;
};

#define OFF(f) offsetof(struct tconf, f)

static const struct conf_key keys[] = {{"server", "name", CONF_STR, OFF(name),
					   16, 0, 0, 0, "natkit"},
    {"server", "flag", CONF_BOOL, OFF(flag), 0, 0, 0, 0, "no"},
    {"tracker", "workers", CONF_INT, OFF(workers), 0, 1, 64, 0, "2"},
    {"tracker", "listen", CONF_LISTEN, OFF(listen), 0, 0, 0,
	CONF_PROTO_UDP | CONF_PROTO_TCP, "0.0.0.0:3478 [::]:3478"},
    {"relay", "port_range", CONF_RANGE, OFF(range), 0, 1, 65535, 0,
	"10000-20000"},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL}};

static char path[64];

/* Write text to a fresh file; returns its path. */
static const char *
write_conf(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/check_conf.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	return path;
}

/* Load text and expect failure with err starting "path:line: tail". */
static void
expect_error(const char *text, int line, const char *tail)
{
	char	     err[CONF_ERR_MAX], want[CONF_ERR_MAX];
	struct tconf c;
	const char  *p = write_conf(text);

	ck_assert_int_eq(conf_load(keys, &c, p, 1, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:%d: %s", p, line, tail);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "got '%s', wanted '%s...'", err, want);
	unlink(p);
}

START_TEST(test_defaults)
{
	struct tconf c;
	char	     err[CONF_ERR_MAX];

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(conf_load(keys, &c, "/nonexistent/x.conf", 0, err,
			     sizeof(err)),
	    0);
	ck_assert_str_eq(c.name, "natkit");
	ck_assert_int_eq(c.workers, 2);
	ck_assert_int_eq(c.listen.n, 2);
	ck_assert_int_eq(c.listen.v[1].addr.ss.ss_family, AF_INET6);
	ck_assert_int_eq(c.range.low, 10000);
	ck_assert_int_eq(c.range.high, 20000);
	/* A named file that is missing is an error. */
	ck_assert_int_eq(conf_load(keys, &c, "/nonexistent/x.conf", 1, err,
			     sizeof(err)),
	    -1);
	ck_assert(strstr(err, "/nonexistent/x.conf") != NULL);
}
END_TEST

START_TEST(test_good)
{
	struct tconf c;
	char	     err[CONF_ERR_MAX];
	const char  *p = write_conf(
	     "# a comment\n"
	      "\n"
	      "[server]\n"
	      "  name = alpha   # trailing comment\n"
	      "flag=yes\n"
	      "[ tracker ]\n"
	      "workers = 7\n"
	      "listen = udp:127.0.0.1:3478, tcp:[::1]:43283 127.0.0.2:5\n"
	      "[relay]\n"
	      "port_range = 20000 - 20010\n");

	ck_assert_int_eq(conf_load(keys, &c, p, 1, err, sizeof(err)), 0);
	ck_assert_str_eq(c.name, "alpha");
	ck_assert_int_eq(c.flag, 1);
	ck_assert_int_eq(c.workers, 7);
	ck_assert_int_eq(c.listen.n, 3);
	ck_assert_int_eq(c.listen.v[0].protos, CONF_PROTO_UDP);
	ck_assert_int_eq(c.listen.v[1].protos, CONF_PROTO_TCP);
	ck_assert_int_eq(addr_port(&c.listen.v[1].addr), 43283);
	ck_assert_int_eq(c.listen.v[2].protos, CONF_PROTO_UDP | CONF_PROTO_TCP);
	ck_assert_int_eq(c.range.low, 20000);
	ck_assert_int_eq(c.range.high, 20010);
	unlink(p);
}
END_TEST

START_TEST(test_errors)
{
	expect_error("[server]\nname = x\n[bogus]\n", 3,
	    "unknown section [bogus]");
	expect_error("[server]\n\n\nnope = 1\n", 4, "server.nope: unknown key");
	expect_error("workers = 3\n", 1, "workers: key outside any [section]");
	expect_error("[tracker]\nworkers = 0\n", 2,
	    "tracker.workers: must be a whole number from 1 to 64");
	expect_error("[tracker]\nworkers = 3x\n", 2, "tracker.workers: must");
	expect_error("[tracker]\nworkers = 99999999999999999999\n", 2,
	    "tracker.workers: must");
	expect_error("[tracker]\nworkers = 3\nworkers = 4\n", 3,
	    "tracker.workers: set again (first at line 2)");
	expect_error("[tracker]\nlisten = 1.2.3.4\n", 2,
	    "tracker.listen: missing port");
	expect_error("[tracker]\nlisten = sctp:1.2.3.4:5\n", 2,
	    "tracker.listen:");
	expect_error("[relay]\nport_range = 20000-10000\n", 2,
	    "relay.port_range: must be LOW-HIGH");
	expect_error("[relay]\nport_range = 1-70000\n", 2,
	    "relay.port_range: must be LOW-HIGH");
	expect_error("[server]\nflag = maybe\n", 2,
	    "server.flag: must be yes or no");
	expect_error("[server]\nname = 0123456789abcdefX\n", 2,
	    "server.name: longer than 15 bytes");
	expect_error("[server\n", 1, "bad section header");
	expect_error("[server]\njust words\n", 2, "expected 'key = value'");
}
END_TEST

START_TEST(test_long_line)
{
	char *text = malloc(5000);

	strcpy(text, "[server]\nname = ");
	memset(text + strlen(text), 'a', 3000);
	strcpy(text + 16 + 3000, "\n");
	expect_error(text, 2, "line longer than 1024 bytes");
	free(text);
}
END_TEST

START_TEST(test_binary_junk)
{
	static const char junk[] = "[server]\n\x01\x02\xff = \x7f\n";
	struct tconf	  c;
	char		  err[CONF_ERR_MAX];
	const char	 *p = write_conf(junk);

	ck_assert_int_eq(conf_load(keys, &c, p, 1, err, sizeof(err)), -1);
	unlink(p);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_binary_junk);
}

int
main(void)
{
	return unit_run("conf", 0, add_tests);
}
