/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writing files whole: every byte or an error, and replacing a file so
 * that a reader sees the old content or the new, never a part.
 */
#ifndef RR_WRITEFILE_H
#define RR_WRITEFILE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Write all `len` bytes (retrying short writes and EINTR).  0 or a
 * negative errno (-EIO when write(2) returns 0). */
int rr_write_all(int fd, const void *buf, size_t len);

enum {
	/* fsync the file before the rename and its directory after: the new
	 * content survives a crash once this returns.  Without it, a crash
	 * may leave the old content (never a mix): for caches. */
	RR_REPLACE_DURABLE = 1 << 0,
};

/*
 * Replace `path` with the concatenation of parts[0..n): written to a
 * temporary file ".NAME.XXXXXX" in the same directory (close-on-exec,
 * `mode`, owned by the caller), then renamed over `path`.  On failure the
 * temporary file is removed and `path` is untouched.  0 or a negative
 * errno (-ENAMETOOLONG when the temporary name does not fit PATH_MAX).
 */
int rr_replace_file(const char *path, const struct iovec *parts, size_t n,
		    mode_t mode, unsigned flags);

#endif
