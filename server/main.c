/*
 * natserver: the NAT-traversal daemon.  main() reads the options and the
 * config, then hands over to the master.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "natserver.h"
#include "turn.h"

#ifndef NATSERVER_CONF
#define NATSERVER_CONF "/etc/natserver.conf"
#endif

static void usage(FILE *, int) __attribute__((noreturn));

static const struct option longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

static void
usage(FILE *fp, int code)
{
	fprintf(fp,
	    "usage: natserver [-dfhtv] [-c file]\n"
	    "  -c file    config file (default %s)\n"
	    "  -d         debug: log more, stay in the foreground\n"
	    "  -f         stay in the foreground, log to stderr\n"
	    "  -h, --help this help\n"
	    "  -t         check the config (and server.user, log_file) "
	    "and exit\n"
	    "  -v, --version  print the version and exit\n"
	    "example: natserver -t && natserver -f\n"
	    "exit: 0 ok, 1 config or start-up error, 2 bad command line; "
	    "see natserver(8)\n",
	    NATSERVER_CONF);
	exit(code);
}

int
main(int argc, char *argv[])
{
	struct server_conf conf;
	char		   err[CONF_ERR_MAX], *path = NULL;
	int ch, foreground = 0, test = 0, verbose = 0, must_exist = 1;

	log_init("natserver", LOG_DEST_STDERR, 0);
	log_set_role("master");
	while (
	    (ch = getopt_long(argc, argv, "c:dfhtv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			free(path);
			if ((path = strdup(optarg)) == NULL)
				fatal("strdup");
			break;
		case 'd':
			verbose++;
			foreground = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'h':
			usage(stdout, 0);
		case 't':
			test = 1;
			break;
		case 'v':
			printf("natserver %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "natserver: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr, 2);
	}
	/* The default file may be absent: then the built-in defaults. */
	if (path == NULL) {
		if ((path = strdup(NATSERVER_CONF)) == NULL)
			fatal("strdup");
		must_exist = 0;
	}
	log_set_verbose(verbose);
	if (server_conf_load(&conf, path, must_exist, err, sizeof(err)) == -1) {
		fprintf(stderr, "natserver: %s\n", err);
		return 1;
	}
	if (test) {
		if (server_conf_check_host(&conf) == -1)
			return 1;
		printf("natserver: configuration %s OK\n", path);
		return 0;
	}
	/* Before any fork: every tracker worker, respawned ones too, makes
	 * and checks TURN nonces with this key. */
	turn_auth_init();
	/* After this, argv's memory holds the process title. */
	proctitle_init(argc, argv);
	return master_run(path, must_exist, &conf, foreground);
}
