/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Opening files we trust: config, store, lists.  Never follows symlinks,
 * always close-on-exec, checks owner and mode before reading.
 */
#ifndef RR_SECFILE_H
#define RR_SECFILE_H

#include <stdbool.h>
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

/* ---- reading a file that may be rewritten in place -------------------- */

#define RR_SECFILE_SETTLE_NS 1000000000LL /* changed less ago: mid-write? */
#define RR_SECFILE_WAIT_NS 2000000000LL   /* longest wait for it to settle */
#define RR_SECFILE_POLL_NS 50000000LL     /* fstat every 50 ms meanwhile */
#define RR_SECFILE_TRIES 5                /* reads of one call at most */

/* Time for rr_secfile_read_stable; tests give their own (no sleeps). */
typedef struct {
	/* CLOCK_REALTIME in ns: the clock of st_ctim */
	long long (*now_ns)(void *ud);
	void (*sleep_ns)(void *ud, long long ns);
	/* tests only (NULL otherwise): after each read, before its fstat */
	void (*after_read)(void *ud);
	void *ud;
} rr_secfile_clock;

typedef struct {
	long long settle_ns; /* RR_SECFILE_SETTLE_NS */
	long long wait_ns;   /* RR_SECFILE_WAIT_NS; 0: never wait */
	unsigned tries;      /* RR_SECFILE_TRIES */
	const rr_secfile_clock *clock; /* NULL: the real clock, nanosleep */
} rr_secfile_stable;

/* The defaults above and the real clock. */
void rr_secfile_stable_init(rr_secfile_stable *o);

/* Same file, same version: device, inode, size, mtime and ctime (ns). */
bool rr_secfile_same_version(const struct stat *a, const struct stat *b);
/* Has the file been unchanged for settle_ns at now_ns?  Its mtime counts:
 * every write(2) and truncate sets it, so a file being written has a recent
 * one; only an explicit utimes (cp -p, touch -d, once the copy is whole)
 * sets it back.  An mtime more than settle_ns in the future (the clock was
 * stepped back, touch -d tomorrow) counts as settled, or such a file could
 * never be read. */
bool rr_secfile_settled(const struct stat *st, long long now_ns,
			long long settle_ns);

/*
 * rr_secfile_read, for a file an admin may rewrite in place while it is
 * read (an editor, cat >): fstat before and after the read, read again when
 * anything changed; and when the file changed less than settle_ns ago, keep
 * the text only once the file has stayed unchanged until then (fstat every
 * RR_SECFILE_POLL_NS, read again when it changed), waiting wait_ns at most
 * in all.  -EAGAIN when no stable version could be read within o->tries
 * reads and o->wait_ns; the errors of rr_secfile_read otherwise.  `o` NULL:
 * rr_secfile_stable_init's.
 */
int rr_secfile_read_stable(const char *path, size_t max,
			   const rr_secfile_stable *o, char **buf, size_t *len);

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
 * ("is a symlink", "is not owned by root", "is group/other-writable";
 * -EAGAIN: "changed while it was read"). */
const char *rr_secfile_strerror(int err);

#endif
