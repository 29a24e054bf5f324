/*
 * server.log_file.  Workers run unprivileged and could not reopen a file
 * that root owns, so they write their lines into a pipe and the master
 * copies what arrives to the file; SIGUSR1 then only has to reopen the
 * master's one descriptor.  Each line is one write(2) of less than
 * PIPE_BUF bytes, so the lines of different workers never mix.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"

static char logfile_path[PATH_MAX];
static int  logfile_fd = -1;
static int  logfile_pipe[2] = {-1, -1};

static void logfile_read_cb(evutil_socket_t, short, void *);

/* Open path for appending and send this process's lines there. */
int
logfile_open(const char *path, char *err, size_t errlen)
{
	snprintf(logfile_path, sizeof(logfile_path), "%s", path);
	logfile_fd =
	    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (logfile_fd == -1 || pipe2(logfile_pipe, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "log file %s: %s", path, strerror(errno));
		return -1;
	}
	fcntl(logfile_pipe[0], F_SETFL, O_NONBLOCK);
	log_set_fd(logfile_fd);
	return 0;
}

/* SIGUSR1: the file was rotated; open it anew under the same fd. */
int
logfile_reopen(void)
{
	int fd;

	if (logfile_fd == -1)
		return 0;
	fd =
	    open(logfile_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	dup2(fd, logfile_fd);
	close(fd);
	return 0;
}

/* In a new worker: log into the pipe, drop the master's ends. */
void
logfile_close_in_worker(void)
{
	if (logfile_fd == -1)
		return;
	close(logfile_fd);
	close(logfile_pipe[0]);
	logfile_fd = -1;
	log_set_fd(logfile_pipe[1]);
}

/* Copy whatever the workers wrote to the file. */
static void
logfile_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	char	buf[65536];
	ssize_t n;

	(void)ev;
	(void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(logfile_fd, buf, (size_t)n) == -1)
			break;
}

/* In the master: start copying worker lines to the file. */
void
logfile_pump(struct event_base *base)
{
	struct event *ev;

	if (logfile_fd == -1)
		return;
	ev = event_new(base, logfile_pipe[0], EV_READ | EV_PERSIST,
	    logfile_read_cb, NULL);
	if (ev == NULL || event_add(ev, NULL) == -1)
		fatalx("cannot watch the log pipe");
}
