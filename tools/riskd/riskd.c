/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskd: runs pam_riskremediate's logic for the PAM module with the policy
 * parsed and the store open between sign-ins (riskd(8)).  Worker threads
 * accept and serve the calls, kept between calls; root clients only;
 * SIGTERM ends the calls in flight (their modules deny) and exits.
 */
#include "rr_errno.h"
#include "riskd.h"
#include "riskd_proto.h"
#include "rr_secfile.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#ifdef RR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define MAX_CLIENTS_DEFAULT 64
#define MAX_CLIENTS_LIMIT 4096

typedef struct {
	rr_loader *cache;
	int lfd, busy_fd;       /* listening socket; eventfd: all busy */
	pthread_mutex_t lock;
	pthread_cond_t idle;    /* workers == 0 */
	unsigned max;           /* --max-clients: workers at most */
	unsigned workers;       /* started, not ended */
	unsigned accepting;     /* workers waiting in accept() */
	unsigned serving;       /* calls in service (fds in use) */
	bool stopping;
	int *fds;               /* per slot: a call's socket, -1 free */
	const char *path;       /* --socket */
	bool passed;            /* lfd is systemd's (riskd.socket) */
	unsigned wakes;         /* stopping: wake-up calls not accepted yet */
} server;

static void usage(FILE *f)
{
	fprintf(f, "usage: riskd [--socket PATH] [--max-clients N] "
		   "[--policy PATH]\n"
		   "       riskd --version | --help\n"
		   "Serves pam_riskremediate's calls with the policy and the "
		   "risk store kept open.\n"
		   "  --socket PATH      listen here (default %s)\n"
		   "  --max-clients N    calls served at once, more run in "
		   "their process (default %d)\n"
		   "  --policy PATH      load this policy at start: a fleet "
		   "policy starts its\n"
		   "                     replica at once (default %s)\n"
		   "See riskd(8).\n", RR_RISKD_SOCKET, MAX_CLIENTS_DEFAULT,
		   RR_POLICY_DEFAULT_PATH);
}

static bool peer_is_root(int fd)
{
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    cred.uid == 0)
		return true;
	syslog(LOG_WARNING, "refusing a client of uid %u (pid %d): only root "
	       "may call", (unsigned)cred.uid, (int)cred.pid);
	return false;
}

static void *worker(void *arg);

/* lock held: one more worker waiting in accept(), if allowed */
static void spawn_worker(server *s)
{
	pthread_attr_t attr;
	pthread_t t;

	if (s->workers >= s->max)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, worker, s) == 0)
		s->workers++;
	pthread_attr_destroy(&attr);
}

/*
 * Workers wait in accept() themselves (a call wakes one thread, not a
 * dispatcher and then a worker) and are kept between calls.  The one that
 * takes a call starts another when none is left waiting, up to
 * --max-clients; when all are busy the main thread sends new calls back
 * (serve_until_signal).
 */
static void *worker(void *arg)
{
	server *s = arg;
	uint64_t one = 1;
	unsigned slot;
	int fd;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		s->accepting++;
		pthread_mutex_unlock(&s->lock);
		fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_mutex_lock(&s->lock);
		s->accepting--;
		if (s->stopping && fd >= 0 && s->wakes > 0)
			s->wakes--;
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* do not spin: calls run in process meanwhile */
				pthread_mutex_unlock(&s->lock);
				usleep(10000);
				pthread_mutex_lock(&s->lock);
			}
			continue;
		}
		if (s->stopping || !peer_is_root(fd)) {
			close(fd);
			continue;
		}
		for (slot = 0; s->fds[slot] >= 0; slot++)
			;
		s->fds[slot] = fd;
		s->serving++;
		if (s->accepting == 0) {
			spawn_worker(s);
			/* busy: --max-clients calls in service, not a moment
			 * with no worker in accept() (one that ended its call
			 * is on its way back; a starved machine saw every
			 * worker so and sent calls back) */
			if (s->serving >= s->max &&
			    write(s->busy_fd, &one, sizeof(one)) < 0)
				syslog(LOG_WARNING, "cannot signal busy: %s",
				       strerror(errno));
		}
		pthread_mutex_unlock(&s->lock);
		rd_serve(fd, s->cache);
		pthread_mutex_lock(&s->lock);
		close(fd);
		s->fds[slot] = -1;
		s->serving--;
	}
	s->workers--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void send_back(int fd, const char *why)
{
	const char *f[1] = {why};

	rr_wire_send(fd, RR_W_FALLBACK, f, 1, 1000);
}

/* While --max-clients calls are in service: accept and send calls back to
 * their process, until one ends.  The call's HELLO is
 * read first: closing with it unread could reset the connection before
 * the module reads the answer. */
static void overflow(server *s)
{
	struct pollfd p = {.fd = s->lfd, .events = POLLIN};
	bool busy;
	int fd;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		busy = s->serving >= s->max && !s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (!busy || poll(&p, 1, 10) < 0)
			return;
		if (!(p.revents & POLLIN))
			continue;
		fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		if (peer_is_root(fd)) {
			rr_wire_msg m = {0};

			/* riskctl metrics is answered, busy or not */
			if (rr_wire_recv(fd, &m, RR_RISKD_HELLO_MS) != 0)
				;
			else if (m.type == RR_W_STATS)
				rd_stats_answer(fd, &m);
			else
				send_back(fd, "riskd is busy");
			rr_wire_msg_clear(&m);
		}
		close(fd);
	}
}

/*
 * Lock held, stopping: wake the workers waiting in accept() on systemd's
 * socket.  shutdown() would end the socket for systemd too, which keeps
 * it to start riskd again at the next call; so a connection each, closed
 * at once, which they drop (a real call that takes one's place is
 * dropped too, and the wake-up it leaves starts riskd again for nothing).
 * A socket that cannot be reached by its path is shut down.
 */
static void wake_accepting(server *s)
{
	unsigned n = s->accepting > s->wakes ? s->accepting - s->wakes : 0;
	int fd;

	s->wakes += n;
	pthread_mutex_unlock(&s->lock);
	while (n-- > 0) {
		fd = rr_wire_connect(s->path, true);
		if (fd >= 0)
			close(fd);
		else if (fd != -EAGAIN)
			shutdown(s->lfd, SHUT_RDWR);
	}
	pthread_mutex_lock(&s->lock);
}

/* End the calls in flight (their reads fail: the modules deny) and wait
 * for the workers. */
static void stop_calls(server *s)
{
	struct timespec t;
	unsigned i;

	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	/* wakes the workers in accept() (EINVAL) */
	if (!s->passed)
		shutdown(s->lfd, SHUT_RDWR);
	for (i = 0; i < s->max; i++)
		if (s->fds[i] >= 0)
			shutdown(s->fds[i], SHUT_RDWR);
	while (s->workers > 0) {
		if (!s->passed) {
			pthread_cond_wait(&s->idle, &s->lock);
			continue;
		}
		wake_accepting(s);
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 20 * 1000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->idle, &s->lock, &t);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Another riskd answering on path? */
static bool in_use(const char *path)
{
	int fd = rr_wire_connect(path, false);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* The directory of the socket at path, into dir (sun_path's size). */
static void socket_dir(const char *path, char *dir)
{
	char *slash;

	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

#ifdef RR_HAVE_SYSTEMD
/*
 * The socket systemd passed (riskd.socket): exactly one, a listening Unix
 * stream socket bound to path, whose file is root's with no access for
 * group or others, in a root directory not group/other-writable -- what
 * riskd would have made itself.  Anything else is refused: riskd serves
 * passwords and codes on it.  The fd, -1 when none was passed, -2 refused
 * (printed).
 */
static int listen_passed(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n, fd = SD_LISTEN_FDS_START, r;
	struct stat st;

	n = sd_listen_fds(1);
	if (n == 0)
		return -1;
	if (n < 0) {
		fprintf(stderr, "riskd: the sockets systemd passed "
			"(LISTEN_FDS): %s\n", strerror(-n));
		return -2;
	}
	if (n > 1) {
		fprintf(stderr, "riskd: systemd passed %d sockets; riskd "
			"listens on one (one ListenStream= in riskd.socket)\n",
			n);
		return -2;
	}
	r = sd_is_socket_unix(fd, SOCK_STREAM, 1, path, 0);
	if (r <= 0) {
		fprintf(stderr, "riskd: the socket systemd passed is not a "
			"listening Unix stream socket on %s%s%s\n", path,
			r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
		return -2;
	}
	socket_dir(path, dir);
	r = rr_secfile_check_dir(dir);
	if (r < 0) {
		fprintf(stderr, "riskd: %s: %s (must be a root directory, "
			"not group/other-writable)\n", dir, strerror(-r));
		return -2;
	}
	if (lstat(path, &st) < 0) {
		fprintf(stderr, "riskd: %s: %s\n", path, strerror(errno));
		return -2;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077)) {
		fprintf(stderr, "riskd: %s: the socket systemd passed is mode "
			"%04o, owner uid %u; it must be a socket of root's "
			"with no access for group or others (SocketUser=root, "
			"SocketMode=0600)\n", path,
			(unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		return -2;
	}
	/* workers wait in a blocking accept(); calls must not leak into
	 * anything riskd runs */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		fprintf(stderr, "riskd: the socket systemd passed: %s\n",
			strerror(errno));
		return -2;
	}
	return fd;
}
#else
/* Built without systemd (-Dsystemd=disabled): a socket passed to this
 * process is refused, not ignored (binding another would fail on it, or
 * leave riskd.socket's callers unserved).  -1, or -2 refused. */
static int listen_passed(const char *path)
{
	const char *pid = getenv("LISTEN_PID");
	char *end;
	long n;

	(void)path;
	if (!pid || !getenv("LISTEN_FDS"))
		return -1;
	errno = 0;
	n = strtol(pid, &end, 10);
	if (errno || *end || n != (long)getpid())
		return -1;
	fprintf(stderr, "riskd: systemd passed a socket (LISTEN_FDS), but "
		"this riskd was built without systemd support "
		"(meson -Dsystemd=disabled); run it without riskd.socket\n");
	return -2;
}
#endif

static int listen_on(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	int fd, r;

	socket_dir(path, dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "riskd: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	r = rr_secfile_check_dir(dir);
	if (r < 0) {
		fprintf(stderr, "riskd: %s: %s (must be a root directory, "
			"not group/other-writable)\n", dir, strerror(-r));
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "riskd: %s exists and is not a "
				"socket\n", path);
			return -1;
		}
		if (in_use(path)) {
			fprintf(stderr, "riskd: another riskd answers on "
				"%s\n", path);
			return -1;
		}
		unlink(path);
	}
	fd = rr_wire_listen(path, 0600, SOMAXCONN);
	if (fd < 0) {
		fprintf(stderr, "riskd: %s: %s\n", path, strerror(-fd));
		return -1;
	}
	return fd;
}

static int serve_until_signal(server *s, int sfd)
{
	struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
			      {.fd = s->busy_fd, .events = POLLIN}};
	struct signalfd_siginfo si;
	bool started;
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	spawn_worker(s);
	started = s->workers > 0;
	pthread_mutex_unlock(&s->lock);
	if (!started)
		return -EAGAIN;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return rr_negerrno();
		}
		if ((p[0].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
		    (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT))
			return 0;
		if ((p[1].revents & POLLIN) &&
		    read(s->busy_fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
			overflow(s);
	}
}

static int parse_args(int argc, char **argv, const char **path,
		      unsigned *max, const char **policy)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"policy", required_argument, NULL, 'p'},
		{"max-clients", required_argument, NULL, 'm'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	long n;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			*path = optarg;
			break;
		case 'p':
			*policy = optarg;
			break;
		case 'm':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || n < 1 || n > MAX_CLIENTS_LIMIT) {
				fprintf(stderr, "riskd: --max-clients takes "
					"1..%d\n", MAX_CLIENTS_LIMIT);
				return 2;
			}
			*max = (unsigned)n;
			break;
		case 'V':
			printf("riskd %s\n", RR_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if ((*path)[0] != '/' ||
	    strlen(*path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    strlen(*path) < 2) {
		fprintf(stderr, "riskd: --socket takes an absolute path of at "
			"most %zu bytes\n",
			sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *path = RR_RISKD_SOCKET, *policy = RR_POLICY_DEFAULT_PATH;
	server s = {.max = MAX_CLIENTS_DEFAULT};
	sigset_t sigs;
	unsigned i;
	int r, sfd;

	r = parse_args(argc, argv, &path, &s.max, &policy);
	if (r >= 0)
		return r;
	if (geteuid() != 0) {
		fprintf(stderr, "riskd: must run as root\n");
		return 2;
	}
	umask(077);
	rd_stats_start();
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGPIPE);
	/* before any thread: they all inherit the mask */
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0)
		return 1;
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	openlog("riskd", LOG_PID, LOG_AUTHPRIV);
	s.fds = malloc(s.max * sizeof(*s.fds));
	s.busy_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s.cache = rd_cache_new();
	s.lfd = -1;
	if (sfd < 0 || s.busy_fd < 0 || !s.fds || !s.cache) {
		fprintf(stderr, "riskd: cannot start: %s\n", strerror(errno));
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s.max; i++)
		s.fds[i] = -1;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.idle, NULL);
	/* systemd's socket (riskd.socket), else one of its own */
	s.lfd = listen_passed(path);
	s.passed = s.lfd >= 0;
	s.path = path;
	if (s.lfd == -1)
		s.lfd = listen_on(path);
	if (s.lfd < 0) {
		s.lfd = -1;
		r = -EADDRINUSE;
		goto out;
	}
	/* a policy that cannot be read now is reported by the first call */
	r = rd_cache_preload(s.cache, policy);
	if (r < 0 && r != -ENOENT)
		syslog(LOG_WARNING, "policy %s not loaded at start: %s", policy,
		       strerror(-r));
	syslog(LOG_INFO, "listening on %s (%s, at most %u calls at once; "
	       "socket %s)", path, RR_RISKD_PROTO, s.max,
	       s.passed ? "passed by systemd" : "bound by riskd");
#ifdef RR_HAVE_SYSTEMD
	/* Type=notify: started once the policy is loaded; nothing to do
	 * without NOTIFY_SOCKET */
	sd_notify(0, "READY=1");
#endif
	r = serve_until_signal(&s, sfd);
#ifdef RR_HAVE_SYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
	/* systemd's socket stays: it starts riskd again at the next call */
	if (!s.passed)
		unlink(path);
	stop_calls(&s);
	syslog(r < 0 ? LOG_ERR : LOG_INFO, "stopped%s%s", r < 0 ? ": " : "",
	       r < 0 ? strerror(-r) : "");
out:
	if (s.lfd >= 0)
		close(s.lfd);
	if (s.busy_fd >= 0)
		close(s.busy_fd);
	rd_cache_free(s.cache);
	free(s.fds);
	if (sfd >= 0)
		close(sfd);
	closelog();
	return r < 0 ? 1 : 0;
}
