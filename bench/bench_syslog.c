/* SPDX-License-Identifier: BSD-3-Clause */
#include "bench_syslog.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *prog, const char *msg)
	__attribute__((noreturn));
static void die(const char *prog, const char *msg)
{
	fprintf(stderr, "%s: %s\n", prog, msg);
	exit(1);
}

/* ---- a syslog sink ---------------------------------------------------- */

static char g_devdir[64];
static unsigned long g_syslog_lines;

static void *drain(void *arg)
{
	int fd = *(int *)arg;
	char buf[2048];

	for (;;)
		if (recv(fd, buf, sizeof(buf), 0) >= 0)
			__atomic_add_fetch(&g_syslog_lines, 1,
					   __ATOMIC_RELAXED);
	return NULL;
}

/* In a private mount namespace: a tmpfs on /dev holding links to the real
 * entries (bind-mounted at g_devdir) and our own /dev/log socket. */
void bench_syslog_begin(const char *prog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static int fd;
	pthread_t th;
	struct dirent *e;
	char target[320];
	DIR *d;

	if (access("/dev/log", F_OK) == 0) {
		printf("syslog: /dev/log (the machine's syslog daemon)\n");
		return;
	}
	if (getenv("RR_BENCH_CONSOLE")) {
		printf("syslog: no /dev/log, lines go to /dev/console\n");
		return;
	}
	snprintf(g_devdir, sizeof(g_devdir), "/tmp/rr-bench-dev-XXXXXX");
	if (!mkdtemp(g_devdir) || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("/dev", g_devdir, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755") < 0) {
		fprintf(stderr, "%s: private /dev: %s (or set "
			"RR_BENCH_CONSOLE=1)\n", prog, strerror(errno));
		exit(1);
	}
	d = opendir(g_devdir);
	if (!d)
		die(prog, "cannot read the real /dev");
	while ((e = readdir(d))) {
		char link[280];

		if (e->d_name[0] == '.')
			continue;
		snprintf(target, sizeof(target), "%s/%s", g_devdir, e->d_name);
		snprintf(link, sizeof(link), "/dev/%s", e->d_name);
		if (symlink(target, link) < 0)
			die(prog, "cannot populate the private /dev");
	}
	closedir(d);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/dev/log");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    pthread_create(&th, NULL, drain, &fd) != 0)
		die(prog, "cannot start the syslog sink");
	pthread_detach(th);
	printf("syslog: no /dev/log on this machine (glibc would write to "
	       "/dev/console); using a private /dev/log sink\n");
}

void bench_syslog_end(void)
{
	if (!g_devdir[0])
		return;
	printf("syslog: %lu lines received\n",
	       __atomic_load_n(&g_syslog_lines, __ATOMIC_RELAXED));
	/* the real /dev is mounted there: never remove entries below it */
	if (umount2(g_devdir, MNT_DETACH) == 0)
		rmdir(g_devdir);
}

