/* SPDX-License-Identifier: BSD-3-Clause */
#include "rr_errno.h"
#include "rr_writefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rr_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? rr_negerrno() : -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The directory part of `path` ("." when none, "/" for "/name"). */
static int dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		n = (size_t)snprintf(dir, len, ".");
	else if (slash == path)
		n = (size_t)snprintf(dir, len, "/");
	else
		n = (size_t)snprintf(dir, len, "%.*s", (int)(slash - path),
				     path);
	return n < len ? 0 : -ENAMETOOLONG;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return rr_negerrno();
	if (fsync(fd) < 0)
		r = rr_negerrno();
	close(fd);
	return r;
}

int rr_replace_file(const char *path, const struct iovec *parts, size_t n,
		    mode_t mode, unsigned flags)
{
	const char *base = strrchr(path, '/');
	char dir[PATH_MAX], tmp[PATH_MAX];
	size_t i;
	int fd, r;

	base = base ? base + 1 : path;
	if (!*base)
		return -EINVAL;
	r = dir_of(path, dir, sizeof(dir));
	if (r < 0)
		return r;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return rr_negerrno();
	r = fchmod(fd, mode) < 0 ? rr_negerrno() : 0;
	for (i = 0; r == 0 && i < n; i++)
		r = rr_write_all(fd, parts[i].iov_base, parts[i].iov_len);
	if (r == 0 && (flags & RR_REPLACE_DURABLE) && fsync(fd) < 0)
		r = rr_negerrno();
	if (close(fd) < 0 && r == 0)
		r = rr_negerrno();
	if (r == 0 && rename(tmp, path) < 0)
		r = rr_negerrno();
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return (flags & RR_REPLACE_DURABLE) ? fsync_dir(dir) : 0;
}
