/*
 * The master process.  It binds every socket, creates the state segment,
 * forks the workers the config asks for and then only waits: it restarts a
 * worker that dies (with back-off when one keeps dying), replaces them all
 * on SIGHUP, stops them on SIGTERM, and never parses network input.
 *
 * Each worker owns one slot of the state segment; the master's view of a
 * slot is a struct master_slot with the same index.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <event2/event.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"

#define MASTER_QUICK_DEATH_MS 2000 /* died younger: back off */
#define MASTER_KILLED_MIN_MS  200 /* killed younger: back off too */
#define MASTER_BACKOFF_MIN_MS 250
#define MASTER_BACKOFF_MAX_MS 30000
#define MASTER_HEARTBEAT_MS   10000 /* silent longer: hung, kill it */

enum slot_status {
	SLOT_FREE,
	SLOT_RUNNING,
	SLOT_WAITING,  /* dead, respawn timer set */
	SLOT_RETIRING, /* replaced by reload or stop; not respawned */
	SLOT_FAILED,   /* exited with WORKER_EXIT_NORESPAWN */
};

struct master_slot {
	enum slot_status status;
	int		 kind;
	pid_t		 pid;
	int64_t		 started_ms;
	int		 quick_deaths;
	int		 ordinal;      /* 0..n-1 among its kind's workers */
	int64_t		 retire_by_ms; /* SIGKILL after this, when retiring */
	struct event	*timer;
};

static struct master {
	struct event_base *base;
	const char	  *conf_path;
	int		   conf_must_exist;
	struct server_conf conf;
	struct listeners   ls;
	struct state	  *state;
	struct master_slot slots[STATE_SLOTS_MAX];
	uid_t		   uid;
	gid_t		   gid;
	int		   pidfd;
	int		   stopping;
	int		   exitcode;
	uint32_t	   sweep_cursor;
} m;

static int
master_user(const struct server_conf *, uid_t *, gid_t *, char *, size_t);
static void master_nofile(void);
static void master_say_listening(void);
static void master_spawn(int);
static void master_fill(void);
static void master_child_cleanup(void *);
static int  master_alive(void);
static void master_stop(void);
static void master_reload(void);
static void master_reap(void);
static void master_signal_cb(evutil_socket_t, short, void *);
static void master_respawn_cb(evutil_socket_t, short, void *);
static void master_tick_cb(evutil_socket_t, short, void *);
static void master_retire(struct master_slot *);

/*
 * The uid and gid workers run as.  The default user may be missing (a
 * build not installed by a package): then nobody, with a warning.
 */
static int
master_user(const struct server_conf *c, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		*uid = geteuid();
		*gid = getegid();
		return 0;
	}
	if ((pw = getpwnam(c->user)) == NULL) {
		if (strcmp(c->user, "natserver") != 0 ||
		    (pw = getpwnam("nobody")) == NULL) {
			snprintf(err, errlen, "server.user: no user '%s'",
			    c->user);
			return -1;
		}
		log_warnx("user '%s' does not exist: workers run as nobody",
		    c->user);
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * Raise RLIMIT_NOFILE to what the connection limits need: the hard limit
 * too when root may (CAP_SYS_RESOURCE), else the soft one up to the hard.
 */
static void
master_nofile(void)
{
	rlim_t	      need = server_conf_nofile(&m.conf, m.ls.n);
	struct rlimit rl, want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	want.rlim_cur = need;
	want.rlim_max = need > rl.rlim_max ? need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &want) == -1) {
		want.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
		want.rlim_max = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == -1)
			want.rlim_cur = rl.rlim_cur;
	}
	if (want.rlim_cur < need)
		log_warnx(
		    "open files limited to %llu, the limits need %llu: "
		    "lower tracker.max_connections, "
		    "rendezvous.max_connections, rendezvous.n4_max_connections "
		    "or relay.max_connections, "
		    "or raise the limit (LimitNOFILE= in the systemd "
		    "unit, ulimit -n)",
		    (unsigned long long)want.rlim_cur,
		    (unsigned long long)need);
	else
		log_debug("open files limit raised to %llu",
		    (unsigned long long)need);
}

/*
 * Say what this server serves: each role's listening addresses, and a
 * relay that will refuse everyone for want of tokens.
 */
static void
master_say_listening(void)
{
	char line[1024], a[ADDR_STRLEN];
	int  kind, i;

	for (kind = 0; kind < WORKER_KINDS; kind++) {
		size_t off = 0;

		if (server_conf_workers(&m.conf, kind) == 0)
			continue;
		line[0] = '\0';
		for (i = 0; i < m.ls.n; i++) {
			const struct listener *l = &m.ls.v[i];
			int		       n;

			if (l->kind != kind || l->shard > 0)
				continue;
			/* The web doors by their protocol: an admin sees
			 * which address is port 80's and which 443's. */
			n = snprintf(line + off, sizeof(line) - off, " %s:%s",
			    l->use == LISTEN_HTTP	 ? "http"
				: l->use == LISTEN_HTTPS ? "https"
				: l->type == SOCK_DGRAM	 ? "udp"
							 : "tcp",
			    addr_format(&l->addr, a, sizeof(a)));
			if (n < 0 || (size_t)n >= sizeof(line) - off)
				break;
			off += (size_t)n;
		}
		log_info("%s listens on%s", roles[kind].name,
		    off > 0 ? line : " nothing");
	}
	if (m.conf.relay_workers > 0 && m.conf.relay_ntokens == 0)
		log_warnx("relay: no relay.token_file, so the relay refuses "
			  "every client; give it a file of tokens");
}

/* In a new worker: let go of what belongs to the master alone. */
static void
master_child_cleanup(void *arg)
{
	(void)arg;
	/* Reinit first: freeing the base must not touch the master's epoll. */
	event_reinit(m.base);
	event_base_free(m.base);
	logfile_close_in_worker();
	metrics_close_in_worker();
	if (m.pidfd >= 0)
		close(m.pidfd);
}

/* Slot i is no longer anyone's: keep its counts for the metrics. */
static void
master_free_slot(struct master_slot *s)
{
	metrics_retire_slot(&m.state->slots[s - m.slots]);
	s->status = SLOT_FREE;
}

/* Does slot i's counters count (metrics)? */
int
master_slot_live(int i)
{
	return m.slots[i].status != SLOT_FREE;
}

/* Running workers of each kind (metrics). */
void
master_worker_counts(int *n)
{
	int i;

	memset(n, 0, sizeof(int) * WORKER_KINDS);
	for (i = 0; i < STATE_SLOTS_MAX; i++)
		if (m.slots[i].status == SLOT_RUNNING)
			n[m.slots[i].kind]++;
}

/* Fork the worker for slot i. */
static void
master_spawn(int i)
{
	struct master_slot *s = &m.slots[i];
	struct timeval	    retry = {1, 0};
	struct worker	    w;
	sigset_t	    all, old;
	pid_t		    pid;

	memset(&w, 0, sizeof(w));
	w.kind = s->kind;
	w.index = i;
	w.ordinal = s->ordinal;
	w.conf = &m.conf;
	w.ls = &m.ls;
	w.state = m.state;
	w.slot = &m.state->slots[i];
	w.slot->kind = s->kind;
	w.slot->heartbeat_ms = table_now_ms();

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = proc_spawn(&roles[s->kind], &w, getpid(), m.uid, m.gid,
	    master_child_cleanup, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		log_warn("fork %s worker", roles[s->kind].name);
		s->status = SLOT_WAITING;
		evtimer_add(s->timer, &retry);
		return;
	}
	s->pid = pid;
	s->status = SLOT_RUNNING;
	s->started_ms = table_now_ms();
	w.slot->pid = pid;
	log_debug("started %s worker %d, pid %ld", roles[s->kind].name, i,
	    (long)pid);
}

/* Does the slot count as one of its kind's workers (running or due)? */
static int
master_slot_active(const struct master_slot *s)
{
	return s->status == SLOT_RUNNING || s->status == SLOT_WAITING ||
	    s->status == SLOT_FAILED;
}

/*
 * The lowest ordinal no active worker of kind holds.  Where the kind
 * drains, a retiring worker keeps its ordinal while others are free:
 * its mailbox still receives the data connections of the visitors it
 * announced.
 */
static int
master_free_ordinal(int kind)
{
	int i, o, pass;

	for (pass = roles[kind].drain != NULL ? 0 : 1; pass < 2; pass++)
		for (o = 0;
		     o < (pass == 0 ? mailbox_count(kind) : ORDINALS_MAX);
		     o++) {
			for (i = 0; i < STATE_SLOTS_MAX; i++)
				if (m.slots[i].kind == kind &&
				    m.slots[i].ordinal == o &&
				    (master_slot_active(&m.slots[i]) ||
					(pass == 0 &&
					    m.slots[i].status ==
						SLOT_RETIRING)))
					break;
			if (i == STATE_SLOTS_MAX)
				return o;
		}
	fatalx("no free worker ordinal"); /* at most WORKERS_MAX active */
}

/* Start workers until every kind has as many as the config asks for. */
static void
master_fill(void)
{
	int kind, i, have;

	if (m.stopping)
		return;
	for (kind = 0; kind < WORKER_KINDS; kind++) {
		have = 0;
		for (i = 0; i < STATE_SLOTS_MAX; i++)
			if (m.slots[i].kind == kind &&
			    master_slot_active(&m.slots[i]))
				have++;
		for (i = 0; i < STATE_SLOTS_MAX &&
		     have < server_conf_workers(&m.conf, kind);
		     i++) {
			if (m.slots[i].status != SLOT_FREE)
				continue;
			m.slots[i].kind = kind;
			m.slots[i].quick_deaths = 0;
			m.slots[i].ordinal = master_free_ordinal(kind);
			master_spawn(i);
			have++;
		}
	}
}

/* Workers running or about to be respawned. */
static int
master_alive(void)
{
	int i, n = 0;

	for (i = 0; i < STATE_SLOTS_MAX; i++)
		if (m.slots[i].status == SLOT_RUNNING ||
		    m.slots[i].status == SLOT_WAITING ||
		    m.slots[i].status == SLOT_RETIRING)
			n++;
	return n;
}

/* Ask a worker to finish; it is killed if it has not by the deadline. */
static void
master_retire(struct master_slot *s)
{
	if (s->status != SLOT_RETIRING) {
		kill(s->pid, SIGTERM);
		s->status = SLOT_RETIRING;
		s->retire_by_ms =
		    table_now_ms() + (int64_t)m.conf.shutdown_grace * 1000;
	}
}

/*
 * Stop accepting and ask every worker to finish; the tick kills those
 * still there when the grace period ends.  The loop ends once the last
 * worker is reaped.
 */
static void
master_stop(void)
{
	int i;

	if (m.stopping)
		return;
	m.stopping = 1;
	log_info("stopping");
	listeners_close(&m.ls);
	for (i = 0; i < STATE_SLOTS_MAX; i++) {
		struct master_slot *s = &m.slots[i];

		if (s->status == SLOT_RUNNING || s->status == SLOT_RETIRING)
			master_retire(s);
		else if (s->status != SLOT_FREE) {
			evtimer_del(s->timer);
			master_free_slot(s);
		}
	}
	if (master_alive() == 0)
		event_base_loopexit(m.base, NULL);
}

static void
master_refused(const char *err)
{
	log_warnx("reload refused: %s; still serving the old configuration",
	    err);
}

/*
 * SIGHUP: read the config again.  A broken config, or one whose sockets
 * cannot be bound, is refused and the running one keeps serving.
 */
static void
master_reload(void)
{
	struct server_conf nc;
	struct listeners   nls;
	char		   err[CONF_ERR_MAX];
	uid_t		   uid;
	gid_t		   gid;
	int		   i;

	log_info("reloading %s", m.conf_path ? m.conf_path : "defaults");
	if (server_conf_load(&nc, m.conf_path, m.conf_must_exist, err,
		sizeof(err)) == -1 ||
	    master_user(&nc, &uid, &gid, err, sizeof(err)) == -1) {
		master_refused(err);
		return;
	}
	/* These are set up once; changing them needs a restart. */
	if (nc.state_records != m.conf.state_records ||
	    strcmp(nc.pidfile, m.conf.pidfile) != 0 ||
	    strcmp(nc.log_file, m.conf.log_file) != 0 ||
	    memcmp(&nc.metrics_listen, &m.conf.metrics_listen,
		sizeof(nc.metrics_listen)) != 0)
		log_warnx("reload: server.state_records, server.pidfile, "
			  "server.log_file and server.metrics_listen change "
			  "only on restart");
	nc.metrics_listen = m.conf.metrics_listen;
	nc.state_records = m.conf.state_records;
	memcpy(nc.pidfile, m.conf.pidfile, sizeof(nc.pidfile));
	memcpy(nc.log_file, m.conf.log_file, sizeof(nc.log_file));
	if (listeners_open(&nc, &m.ls, &nls, err, sizeof(err)) == -1) {
		master_refused(err);
		return;
	}
	if (tls_setup(&nc, err, sizeof(err)) == -1) {
		listeners_close_unused(&nls, &m.ls);
		master_refused(err);
		return;
	}
	listeners_close_unused(&m.ls, &nls);
	m.ls = nls;
	m.conf = nc;
	mailbox_create(&m.conf);
	m.uid = uid;
	m.gid = gid;
	master_nofile();
	for (i = 0; i < STATE_SLOTS_MAX; i++) {
		struct master_slot *s = &m.slots[i];

		if (s->status == SLOT_RUNNING)
			master_retire(s);
		else if (s->status == SLOT_WAITING ||
		    s->status == SLOT_FAILED) {
			evtimer_del(s->timer);
			master_free_slot(s);
		}
	}
	master_fill();
	log_info("reloaded: %d tracker, %d rendezvous, %d relay workers",
	    m.conf.tracker_workers, m.conf.rendezvous_workers,
	    m.conf.relay_workers);
}

/*
 * Next respawn delay: none after a long life, doubling while they die
 * young of their own accord (a crash or an exit: a loop that waiting
 * may break).  A worker killed by SIGKILL from outside (an admin, the
 * OOM killer, a chaos test) after it got going did not fail by itself:
 * it comes back at once however young, so that its socket's queue is
 * served again within a moment.
 */
static int
master_backoff(struct master_slot *s, int64_t now, int status)
{
	int ms;

	if (now - s->started_ms >= MASTER_QUICK_DEATH_MS ||
	    (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
		now - s->started_ms >= MASTER_KILLED_MIN_MS)) {
		s->quick_deaths = 0;
		return 0;
	}
	if (s->quick_deaths < 16)
		s->quick_deaths++;
	ms = MASTER_BACKOFF_MIN_MS << (s->quick_deaths - 1);
	return ms > MASTER_BACKOFF_MAX_MS ? MASTER_BACKOFF_MAX_MS : ms;
}

/* Collect dead workers and decide what follows for each. */
static void
master_reap(void)
{
	char  how[64];
	int   status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct master_slot *s = NULL;
		struct timeval	    tv;
		int		    ms;

		for (i = 0; i < STATE_SLOTS_MAX && s == NULL; i++)
			if (m.slots[i].pid == pid &&
			    m.slots[i].status != SLOT_FREE)
				s = &m.slots[i];
		if (s == NULL)
			continue;
		i = (int)(s - m.slots);
		s->pid = 0;
		m.state->slots[i].pid = 0;
		if (WIFSIGNALED(status))
			snprintf(how, sizeof(how), "was killed by signal %d",
			    WTERMSIG(status));
		else
			snprintf(how, sizeof(how), "exited with code %d",
			    WEXITSTATUS(status));
		if (s->status == SLOT_RETIRING) {
			log_debug("%s worker %d (pid %ld) %s",
			    roles[s->kind].name, i, (long)pid, how);
			master_free_slot(s);
			continue;
		}
		if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == WORKER_EXIT_NORESPAWN) {
			log_warnx("%s worker %d (pid %ld) %s, the code for a "
				  "fatal error: not respawning it",
			    roles[s->kind].name, i, (long)pid, how);
			s->status = SLOT_FAILED;
			continue;
		}
		ms = master_backoff(s, table_now_ms(), status);
		log_warnx("%s worker %d (pid %ld) %s: respawning in %d ms",
		    roles[s->kind].name, i, (long)pid, how, ms);
		s->status = SLOT_WAITING;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(s->timer, &tv);
	}
	if (m.stopping) {
		if (master_alive() == 0)
			event_base_loopexit(m.base, NULL);
		return;
	}
	if (master_alive() == 0) {
		log_warnx("no worker is left running: exiting");
		m.exitcode = 1;
		master_stop();
		return;
	}
	master_fill();
}

static void
master_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	switch (sig) {
	case SIGCHLD:
		master_reap();
		break;
	case SIGHUP:
		if (!m.stopping)
			master_reload();
		break;
	case SIGTERM:
	case SIGINT:
		master_stop();
		break;
	case SIGUSR1:
		if (logfile_reopen() == -1)
			log_warn("reopen %s", m.conf.log_file);
		else if (m.conf.log_file[0] != '\0')
			log_info("log file reopened");
		break;
	}
}

static void
master_respawn_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct master_slot *s = arg;

	(void)fd;
	(void)ev;
	if (s->status == SLOT_WAITING && !m.stopping)
		master_spawn((int)(s - m.slots));
}

/*
 * Once a second: kill hung workers and those retiring past their grace
 * period, and sweep a slice of the table.
 */
static void
master_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	int64_t	 now = table_now_ms();
	uint32_t windows = table_slots(m.state->table) / TABLE_WINDOW;
	int	 i;

	(void)fd;
	(void)ev;
	(void)arg;
	for (i = 0; i < STATE_SLOTS_MAX; i++) {
		struct master_slot *s = &m.slots[i];

		if (s->status == SLOT_RUNNING &&
		    now - m.state->slots[i].heartbeat_ms >
			MASTER_HEARTBEAT_MS &&
		    now - s->started_ms > MASTER_HEARTBEAT_MS) {
			log_warnx("%s worker %d (pid %ld) is not responding: "
				  "killing it",
			    roles[s->kind].name, i, (long)s->pid);
			kill(s->pid, SIGKILL);
		}
		if (s->status == SLOT_RETIRING && s->pid > 0 &&
		    now > s->retire_by_ms) {
			log_warnx(
			    "%s worker %d (pid %ld) did not finish within "
			    "%d s: killing it",
			    roles[s->kind].name, i, (long)s->pid,
			    m.conf.shutdown_grace);
			kill(s->pid, SIGKILL);
			s->retire_by_ms = INT64_MAX;
		}
	}
	/* The whole table about once a minute. */
	table_sweep(m.state->table, &m.sweep_cursor, windows / 60 + 1, now);
}

/*
 * Set up and run until stopped.  Errors before the workers start go to
 * stderr and return 1; conf is the config already loaded from conf_path.
 */
int
master_run(const char *conf_path, int must_exist, struct server_conf *conf,
    int foreground)
{
	static const int sigs[] = {SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1};
	struct timeval	 second = {1, 0};
	struct table_config tc;
	char		    err[CONF_ERR_MAX];
	struct event	   *ev;
	size_t		    i;

	m.conf_path = conf_path;
	m.conf_must_exist = must_exist;
	m.conf = *conf;
	if (master_user(&m.conf, &m.uid, &m.gid, err, sizeof(err)) == -1 ||
	    (m.pidfd = pidfile_lock(m.conf.pidfile, err, sizeof(err))) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	if (listeners_open(&m.conf, NULL, &m.ls, err, sizeof(err)) == -1 ||
	    metrics_bind(&m.conf, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		pidfile_remove(m.conf.pidfile, m.pidfd);
		return 1;
	}
	if (tls_setup(&m.conf, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		pidfile_remove(m.conf.pidfile, m.pidfd);
		return 1;
	}
	server_table_config(&m.conf, &tc);
	if (getrandom(tc.seed, sizeof(tc.seed), 0) != sizeof(tc.seed))
		fatal("getrandom");
	m.state = state_create(&tc);
	mailbox_create(&m.conf);

	if (m.conf.log_file[0] != '\0') {
		if (logfile_open(m.conf.log_file, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			pidfile_remove(m.conf.pidfile, m.pidfd);
			return 1;
		}
	} else if (!foreground)
		log_init("natserver", LOG_DEST_SYSLOG, log_get_verbose());
	master_nofile();
	master_say_listening();
	if (!foreground && daemon(0, 0) == -1)
		fatal("daemon");
	if (pidfile_write(m.pidfd) == -1)
		fatal("pidfile %s", m.conf.pidfile);
	proctitle_set("master");
	log_info("started: %d tracker, %d rendezvous, %d relay workers",
	    m.conf.tracker_workers, m.conf.rendezvous_workers,
	    m.conf.relay_workers);

	if ((m.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev = evsignal_new(m.base, sigs[i], master_signal_cb, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("cannot watch signal %d", sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < STATE_SLOTS_MAX; i++)
		if ((m.slots[i].timer = evtimer_new(m.base, master_respawn_cb,
			 &m.slots[i])) == NULL)
			fatalx("evtimer_new failed");
	ev = event_new(m.base, -1, EV_PERSIST, master_tick_cb, NULL);
	if (ev == NULL || evtimer_add(ev, &second) == -1)
		fatalx("cannot set up the master's timers");
	logfile_pump(m.base);
	metrics_start(m.base, m.state);

	master_fill();
	event_base_dispatch(m.base);

	pidfile_remove(m.conf.pidfile, m.pidfd);
	log_info("stopped");
	return m.exitcode;
}
