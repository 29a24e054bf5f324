/*
 * Process titles, as ps(1) shows them ("natserver: tracker worker").
 * Linux has no setproctitle(3): the title is written over the argv area,
 * extended over the environment strings that follow it, which are first
 * copied elsewhere (the way nginx and OpenSSH do it).
 */
#include "config.h"

#include <sys/prctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natserver.h"

extern char **environ;

static char  *title_start;
static size_t title_len;

/* Claim the argv and environment area; copies the environment. */
void
proctitle_init(int argc, char **argv)
{
	char *end, **env;
	int   i, n;

	if (argc == 0 || argv[0] == NULL)
		return;
	end = argv[0] + strlen(argv[0]) + 1;
	for (i = 1; i < argc; i++)
		if (argv[i] == end)
			end = argv[i] + strlen(argv[i]) + 1;
	for (n = 0; environ[n] != NULL; n++)
		;
	if ((env = calloc((size_t)n + 1, sizeof(*env))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (environ[i] == end)
			end = environ[i] + strlen(environ[i]) + 1;
		if ((env[i] = strdup(environ[i])) == NULL)
			return;
	}
	environ = env;
	title_start = argv[0];
	title_len = (size_t)(end - argv[0]);
	argv[1] = NULL;
}

/* Set the title to "natserver: <fmt>", and the thread name too. */
void
proctitle_set(const char *fmt, ...)
{
	char	buf[256], comm[16];
	va_list ap;
	int	n;

	va_start(ap, fmt);
	n = snprintf(buf, sizeof(buf), "natserver: ");
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(comm, sizeof(comm), "%s", buf + n);
	prctl(PR_SET_NAME, comm);
	if (title_start == NULL)
		return;
	memset(title_start, 0, title_len);
	snprintf(title_start, title_len, "%s", buf);
}
