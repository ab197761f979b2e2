/* SPDX-License-Identifier: BSD-3-Clause */
#include "rr_secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
		return -errno;
	return check_stat(&st, type);
}

int rr_secfile_check_dir(const char *path)
{
	struct stat st;

	if (!path || !*path)
		return -EINVAL;
	if (lstat(path, &st) < 0)
		return -errno;
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
		return errno == EMLINK ? -ELOOP : -errno;
	return fd;
}

int rr_secfile_stat(const char *path, struct stat *st)
{
	struct stat s;
	int fd = open_nofollow(path), r = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &s) < 0)
		r = -errno;
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
		return -errno;
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
			int e = -errno;

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
	default:
		return strerror(err < 0 ? -err : err);
	}
}
