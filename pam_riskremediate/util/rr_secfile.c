/* SPDX-License-Identifier: BSD-3-Clause */
#include "rr_secfile.h"
#include "rr_errno.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int check_stat(const struct stat *st, mode_t type)
{
	if ((st->st_mode & S_IFMT) != type)
		return -EINVAL;
	if (st->st_uid != 0)
		return -EPERM;
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return -EPERM;
	return 0;
}

int rr_secfile_check_fd(int fd, mode_t type)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return rr_negerrno();
	return check_stat(&st, type);
}

int rr_secfile_check_dir(const char *path)
{
	struct stat st;

	if (!path || !*path)
		return -EINVAL;
	if (lstat(path, &st) < 0)
		return rr_negerrno();
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	return check_stat(&st, S_IFDIR);
}

static int open_nofollow(const char *path)
{
	int fd;

	if (!path || !*path)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO planted at the path must not hang the open */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
			      O_NONBLOCK);
	if (fd < 0)
		return errno == EMLINK ? -ELOOP : rr_negerrno();
	return fd;
}

int rr_secfile_stat(const char *path, struct stat *st)
{
	struct stat s;
	int fd = open_nofollow(path), r = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &s) < 0)
		r = rr_negerrno();
	close(fd);
	if (r == 0)
		*st = s;
	return r;
}

int rr_secfile_open(const char *path)
{
	int fd = open_nofollow(path), r;

	if (fd < 0)
		return fd;
	r = rr_secfile_check_fd(fd, S_IFREG);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int read_all(int fd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t cap, n = 0;
	char *b;

	if (fstat(fd, &st) < 0)
		return rr_negerrno();
	if (st.st_size < 0 || (unsigned long long)st.st_size > max)
		return -EFBIG;
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r = read(fd, b + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = rr_negerrno();

			free(b);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			/* grew while we read: refuse rather than chase it */
			free(b);
			return -EFBIG;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int rr_secfile_read(const char *path, size_t max, char **buf, size_t *len)
{
	int fd, r;

	if (!buf || !len)
		return -EINVAL;
	fd = rr_secfile_open(path);
	if (fd < 0)
		return fd;
	r = read_all(fd, max, buf, len);
	close(fd);
	return r;
}

/* ---- stable reads ------------------------------------------------------ */

static long long real_now_ns(void *ud)
{
	struct timespec ts;

	(void)ud;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void real_sleep_ns(void *ud, long long ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000LL),
			       .tv_nsec = (long)(ns % 1000000000LL) };

	(void)ud;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const rr_secfile_clock real_clock = {
	.now_ns = real_now_ns,
	.sleep_ns = real_sleep_ns,
};

void rr_secfile_stable_init(rr_secfile_stable *o)
{
	o->settle_ns = RR_SECFILE_SETTLE_NS;
	o->wait_ns = RR_SECFILE_WAIT_NS;
	o->tries = RR_SECFILE_TRIES;
	o->clock = &real_clock;
}

static bool same_ts(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

bool rr_secfile_same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size && same_ts(&a->st_mtim, &b->st_mtim) &&
	       same_ts(&a->st_ctim, &b->st_ctim);
}

static long long mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL +
	       st->st_mtim.tv_nsec;
}

bool rr_secfile_settled(const struct stat *st, long long now_ns,
			long long settle_ns)
{
	long long age = now_ns - mtime_ns(st);

	return age >= settle_ns || age < -settle_ns;
}

/* One read of the open file; -EAGAIN when it changed meanwhile.  *st: the
 * version read. */
static int read_version(int fd, size_t max, const rr_secfile_clock *clk,
			char **buf, size_t *len, struct stat *st)
{
	struct stat before, after;
	char *b = NULL;
	size_t n = 0;
	int r;

	if (fstat(fd, &before) < 0)
		return rr_negerrno();
	r = read_all(fd, max, &b, &n);
	if (clk->after_read)
		clk->after_read(clk->ud);
	if (fstat(fd, &after) < 0)
		r = rr_negerrno();
	else if (!rr_secfile_same_version(&before, &after))
		r = -EAGAIN; /* -EFBIG included: it grew while read */
	if (r < 0) {
		free(b);
		return r;
	}
	*buf = b;
	*len = n;
	*st = after;
	return 0;
}

/* Wait until the version read has been unchanged for settle_ns: 0, -EAGAIN
 * when it changed (read it again), -ETIME when the wait is used up. */
static int settle(int fd, const struct stat *st, const rr_secfile_stable *o,
		  long long *waited)
{
	const rr_secfile_clock *clk = o->clock;
	struct stat cur;

	for (;;) {
		long long now = clk->now_ns(clk->ud), d;

		if (rr_secfile_settled(st, now, o->settle_ns))
			return 0;
		if (*waited >= o->wait_ns)
			return -ETIME;
		d = o->settle_ns - (now - mtime_ns(st));
		if (d > RR_SECFILE_POLL_NS)
			d = RR_SECFILE_POLL_NS;
		if (d > o->wait_ns - *waited)
			d = o->wait_ns - *waited;
		clk->sleep_ns(clk->ud, d);
		*waited += d;
		if (fstat(fd, &cur) < 0)
			return rr_negerrno();
		if (!rr_secfile_same_version(st, &cur))
			return -EAGAIN;
	}
}

/* Open, read a version, let it settle: 0, -EAGAIN to try again, -ETIME,
 * or an error of the file. */
static int read_try(const char *path, size_t max, const rr_secfile_stable *o,
		    long long *waited, char **buf, size_t *len)
{
	struct stat st;
	int fd = rr_secfile_open(path), r;

	if (fd < 0)
		return fd;
	r = read_version(fd, max, o->clock, buf, len, &st);
	if (r == 0) {
		r = settle(fd, &st, o, waited);
		if (r < 0)
			free(*buf);
	}
	close(fd);
	return r;
}

int rr_secfile_read_stable(const char *path, size_t max,
			   const rr_secfile_stable *o, char **buf, size_t *len)
{
	rr_secfile_stable def;
	long long waited = 0;
	char *b = NULL;
	size_t n = 0;
	unsigned i;
	int r = -EAGAIN;

	if (!buf || !len)
		return -EINVAL;
	if (!o || !o->clock) {
		rr_secfile_stable_init(&def);
		if (o)
			def = (rr_secfile_stable){ o->settle_ns, o->wait_ns,
						   o->tries, &real_clock };
		o = &def;
	}
	for (i = 0; i < o->tries && r == -EAGAIN; i++)
		r = read_try(path, max, o, &waited, &b, &n);
	if (r == -ETIME)
		r = -EAGAIN;
	if (r < 0)
		return r;
	*buf = b;
	*len = n;
	return 0;
}

const char *rr_secfile_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case ELOOP:
		return "is a symbolic link (refused)";
	case EPERM:
		return "is not owned by root or is group/other-writable (refused)";
	case EINVAL:
		return "is not a regular file (refused)";
	case EFBIG:
		return "is larger than the size limit (refused)";
	case ENOENT:
		return "does not exist";
	case EACCES:
		return "permission denied";
	case ENOMEM:
		return "out of memory";
	case EAGAIN:
		return "changed while it was read";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
