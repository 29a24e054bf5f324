/*
 * Logging in the OpenBSD daemon style: log_warn() appends strerror(errno),
 * log_warnx() does not; fatal()/fatalx() log and exit.  Every line names
 * the process role ("master", "tracker", ...), so the lines of many workers
 * can be told apart in one log.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* A log line is written with one write(2), so lines never interleave. */
#define LOG_LINE_MAX 1024

static const char   *log_ident = "natkit";
static const char   *log_role = "main";
static enum log_dest log_dest = LOG_DEST_STDERR;
static int	     log_fd = -1;
static int	     log_verbose;

static void log_vwrite(int, const char *, const char *, va_list);

/* Choose the destination; verbose > 0 enables debug lines. */
void
log_init(const char *ident, enum log_dest dest, int verbose)
{
	log_ident = ident;
	log_dest = dest;
	log_verbose = verbose;
	if (dest == LOG_DEST_SYSLOG)
		/* Until the daemon detaches, a terminal sees the lines too. */
		openlog(ident, LOG_PID | LOG_NDELAY | LOG_PERROR, LOG_DAEMON);
}

/* Send lines to an already open file or pipe. */
void
log_set_fd(int fd)
{
	log_fd = fd;
	log_dest = LOG_DEST_FD;
}

void
log_set_role(const char *role)
{
	log_role = role;
}

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

int
log_get_verbose(void)
{
	return log_verbose;
}

/* Format one line with time, role and pid, and write it in one call. */
static void
log_vwrite(int pri, const char *errstr, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 128];
	int  n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_dest == LOG_DEST_SYSLOG) {
		if (errstr != NULL)
			syslog(pri, "%s: %s: %s", log_role, msg, errstr);
		else
			syslog(pri, "%s: %s", log_role, msg);
		return;
	}
	if (log_dest == LOG_DEST_FD) {
		char	  stamp[32];
		struct tm tm;
		time_t	  now = time(NULL);

		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S",
		    localtime_r(&now, &tm));
		n = snprintf(line, sizeof(line), "%s %s[%ld]: %s: %s%s%s\n",
		    stamp, log_ident, (long)getpid(), log_role, msg,
		    errstr ? ": " : "", errstr ? errstr : "");
	} else
		n = snprintf(line, sizeof(line), "%s[%ld]: %s: %s%s%s\n",
		    log_ident, (long)getpid(), log_role, msg,
		    errstr ? ": " : "", errstr ? errstr : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(log_dest == LOG_DEST_FD ? log_fd : STDERR_FILENO, line, n) ==
	    -1) {
		/* Nowhere left to report it. */
	}
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose <= 0)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * Make a string a peer sent safe to log: every byte outside printable
 * ASCII (controls, DEL, bytes of other encodings) becomes '?', so no
 * newline forges a log line and no escape reaches a terminal.
 */
char *
log_sanitize(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return s;
}
