/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Opening files we trust: config, store, lists.  Never follows symlinks,
 * always close-on-exec, checks owner and mode before reading.
 */
#ifndef RR_SECFILE_H
#define RR_SECFILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Open `path` read-only with O_NOFOLLOW|O_CLOEXEC and check it is a regular
 * file owned by uid 0 and not group/other-writable.  Returns an fd or a
 * negative errno: -ELOOP (symlink), -EPERM (owner/mode), -EINVAL (not a
 * regular file), -ENOENT, ...
 */
int rr_secfile_open(const char *path);

/* Read a whole trusted file (rr_secfile_open rules) of at most `max` bytes
 * (-EFBIG when larger).  *buf is NUL-terminated and must be freed. */
int rr_secfile_read(const char *path, size_t max, char **buf, size_t *len);

/* Check an already-open fd or a directory path by the same rules. */
int rr_secfile_check_fd(int fd, mode_t type);
/* lstat-based check of a directory: not a symlink, root-owned, not
 * group/other-writable.  0 or negative errno. */
int rr_secfile_check_dir(const char *path);

/* What the module's open would see at `path`: open(O_NOFOLLOW|O_NONBLOCK),
 * fstat, close; no owner or mode check (the caller applies its rules).
 * 0 and *st, or -ELOOP (symlink), -ENOENT, ... */
int rr_secfile_stat(const char *path, struct stat *st);

/* Short text for the errnos above, in admin words
 * ("is a symlink", "is not owned by root", "is group/other-writable"). */
const char *rr_secfile_strerror(int err);

#endif
