/*
 * The pidfile is locked with flock(2) while natserver runs, so a second
 * natserver refuses to start instead of overwriting it, and a stale file
 * left by a crash is taken over.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "natserver.h"

/*
 * The default pidfile lives in a directory of its own (/run/natserver,
 * which systemd's RuntimeDirectory= also makes): make it when missing,
 * one level only; open() then says what is wrong if this did not help.
 */
static void
pidfile_mkdir(const char *path)
{
	char  dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return;
}

/* Open and lock path: the fd, or -1 with err set.  "" means no pidfile. */
int
pidfile_lock(const char *path, char *err, size_t errlen)
{
	char	buf[32];
	ssize_t n;
	int	fd;

	if (path[0] == '\0')
		return -2;
	pidfile_mkdir(path);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen,
		    "natserver is already running (pid %s, "
		    "pidfile %s)",
		    buf[0] ? buf : "?", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Write our pid into the locked file. */
int
pidfile_write(int fd)
{
	char buf[32];
	int  n;

	if (fd < 0)
		return 0;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

void
pidfile_remove(const char *path, int fd)
{
	if (fd < 0)
		return;
	unlink(path);
	close(fd);
}
