/* Logging: stderr in the foreground, syslog or a file as a daemon. */
#ifndef NATKIT_LOG_H
#define NATKIT_LOG_H

#include <stdarg.h>

/* Where log lines go. */
enum log_dest {
	LOG_DEST_STDERR,
	LOG_DEST_SYSLOG,
	LOG_DEST_FD,
};

void log_init(const char *ident, enum log_dest, int verbose);
void log_set_fd(int fd);
void log_set_role(const char *role);
void log_set_verbose(int verbose);
int  log_get_verbose(void);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
char *log_sanitize(char *);
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
