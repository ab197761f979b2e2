/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Opening the SQLite store: the directory and the file are checked (root,
 * no symlinks, private) before SQLite sees them, then the connection is
 * configured (WAL, busy timeout, secure delete) and the schema migrated.
 *
 * SQLite opens the store, its -wal and its -shm by name, after the checks.
 * A directory swapped for a symbolic link in between (a rename) would make
 * it open and write another directory's store.  So the checked directory
 * is kept open and SQLite is given "/proc/self/fd/N/risk.db": the kernel
 * resolves that through the open directory, whatever its path names now.
 * SQLite's own unix VFS would resolve the /proc link back into the path
 * (xFullPathname reads every symbolic link), so the connection is opened
 * with a copy of it whose xFullPathname keeps the name as given.
 */
#include "rr_errno.h"
#include "rr_store_int.h"
#include "rr_secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Create the store's directory (one level, 0700) and check it; dir gets
 * its path. */
static int dir_prepare(const char *path, char dir[PATH_MAX])
{
	char *slash;

	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return rr_negerrno();
	return rr_secfile_check_dir(dir);
}

/* A private root file: regular, owned by root, nothing for group/other,
 * and one name only: a hard link planted at the path would send the
 * store's writes into a file elsewhere (-EMLINK). */
static int private_file(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_uid != 0 || (st->st_mode & 077))
		return -EPERM;
	if (st->st_nlink != 1)
		return -EMLINK;
	return 0;
}

/* The identity of the private root file at path (not a symlink); with
 * dfd >= 0, path is a name in that directory. */
static int file_id(int dfd, const char *path, dev_t *dev, ino_t *ino)
{
	struct stat st;
	int err;

	if (fstatat(dfd >= 0 ? dfd : AT_FDCWD, path, &st,
		    AT_SYMLINK_NOFOLLOW) < 0)
		return rr_negerrno();
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	err = private_file(&st);
	if (err)
		return err;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/*
 * SQLite opens the store's -wal and -shm by itself (O_NOFOLLOW, but no
 * owner, mode or link check): when they exist they must be private root
 * files of one name, as the store is, or SQLite would read another
 * user's WAL or write into a hard-linked file elsewhere.
 */
static int companions_check(int dfd, const char *name)
{
	static const char *const suffix[] = { "-wal", "-shm" };
	char p[PATH_MAX];
	dev_t dev;
	ino_t ino;
	size_t i;
	int n, err;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		n = snprintf(p, sizeof(p), "%s%s", name, suffix[i]);
		if (n < 0 || (size_t)n >= sizeof(p))
			return -ENAMETOOLONG;
		err = file_id(dfd, p, &dev, &ino);
		if (err && err != -ENOENT)
			return err;
	}
	return 0;
}

/* Create the file `name` in the directory dfd, 0600, when absent; it must
 * be a private root file. */
static int file_prepare(int dfd, const char *name)
{
	struct stat st;
	int fd, err = 0;

	fd = openat(dfd, name,
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
			O_NONBLOCK,
		    0600);
	if (fd < 0)
		return errno == EMLINK ? -ELOOP : rr_negerrno();
	err = fstat(fd, &st) < 0 ? rr_negerrno() : private_file(&st);
	close(fd);
	return err;
}

static int journal_wal(rr_store *s)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	bool wal = false;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		mode = sqlite3_column_text(st, 0);
		wal = mode && !strcmp((const char *)mode, "wal");
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return rrs_error(s, rc);
	return wal ? 0 : rrs_exec(s, "PRAGMA journal_mode = WAL");
}

/*
 * Checkpoints.  Every login is a new process that opens, writes one
 * transaction and closes.  SQLite's default checkpoints on the last close:
 * two or three fsyncs and an unlink/re-create of the WAL per login.  Its
 * automatic checkpoints do not work across processes either (the next
 * opener rebuilds the WAL index and forgets what was copied back), so the
 * WAL would only grow.  Instead: no checkpoint on close, and a TRUNCATE
 * checkpoint (fsync, WAL emptied) once the WAL holds RRS_WAL_CKPT_FRAMES
 * frames.  The threshold balances the fsyncs saved against the WAL each
 * opener must read; bench/bench_login measured 128 best.  Durability is
 * SQLite's WAL with synchronous=NORMAL: consistent after a crash, the last
 * transactions may be lost on power failure.
 */
#define RRS_WAL_CKPT_FRAMES 128
/* A connection kept open (riskd) keeps its WAL index: SQLite's own default
 * checkpoint interval then serves (fewer fsyncs per sign-in), and a
 * PASSIVE checkpoint: a TRUNCATE holds the write lock while it copies the
 * WAL back and syncs, and the sign-ins behind it waited (bench_fleet's
 * storm: the legitimate sign-in's p99 5-7 ms instead of 6-14 ms on
 * SQLite).  The WAL is reused from its start once a checkpoint finished;
 * the other openers read a WAL of up to this many frames. */
#define RRS_WAL_CKPT_FRAMES_KEPT 1000

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	const rr_store *s = arg;

	/* riskd's (kept): PASSIVE, which never takes the write lock from the
	 * sign-ins behind it; TRUNCATE only if the WAL still grew past ten
	 * times that (readers kept the checkpoints from finishing) */
	bool kept = s->ckpt_frames == RRS_WAL_CKPT_FRAMES_KEPT;

	if (frames >= (int)s->ckpt_frames)
		/* SQLITE_BUSY (a reader in the way) is fine: the next
		 * writer tries again */
		sqlite3_wal_checkpoint_v2(
		    db, name,
		    kept && frames < 10 * RRS_WAL_CKPT_FRAMES_KEPT
			? SQLITE_CHECKPOINT_PASSIVE
			: SQLITE_CHECKPOINT_TRUNCATE,
		    NULL, NULL);
	return SQLITE_OK;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Waiting for another connection's write lock.  SQLite's own handler
 * (sqlite3_busy_timeout) sleeps 1 ms at first, then longer; riskd's
 * connections to one store (a sign-in, the fleet's replicator and
 * publisher) hold the lock for tens of microseconds, so that first
 * millisecond was most of a sign-in's wait.  Here: 20 us, doubling up to
 * 1 ms, for RR_STORE_BUSY_TIMEOUT_MS in all; then SQLITE_BUSY.
 */
static int busy_wait(void *arg, int n)
{
	rr_store *s = arg;
	int64_t now = mono_ns();
	long us = 20L << (n < 6 ? n : 6);
	struct timespec ts;

	if (n == 0)
		s->busy_since_ns = now;
	if (now - s->busy_since_ns >=
	    (int64_t)RR_STORE_BUSY_TIMEOUT_MS * 1000000)
		return 0;
	if (us > 1000)
		us = 1000;
	ts.tv_sec = 0;
	ts.tv_nsec = us * 1000;
	nanosleep(&ts, NULL);
	return 1;
}

static int configure(rr_store *s, bool memory)
{
	int rc, err;

	sqlite3_extended_result_codes(s->db, 1);
	rc = sqlite3_busy_handler(s->db, busy_wait, s);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1,
				       NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
				       1, NULL);
	if (rc == SQLITE_OK)
		sqlite3_wal_hook(s->db, wal_hook, s);
	if (rc != SQLITE_OK)
		return rrs_error(s, rc);
	err = memory ? 0 : journal_wal(s);
	if (err)
		return err;
	/* temp_store: temporary data in memory, never a file in TMPDIR (the
	 * application may be set-user-ID, its environment the caller's) */
	return rrs_exec(s, "PRAGMA synchronous = NORMAL;"
			   "PRAGMA foreign_keys = ON;"
			   "PRAGMA secure_delete = ON;"
			   "PRAGMA trusted_schema = OFF;"
			   "PRAGMA temp_store = MEMORY;");
}

/* ---- names through the open directory -------------------------------- */

#define RRS_DIRFD_VFS "rr-dirfd"

static sqlite3_vfs dirfd_vfs;
static pthread_mutex_t dirfd_vfs_lock = PTHREAD_MUTEX_INITIALIZER;

/* "/proc/self/fd/N/NAME" as given: no symbolic link resolved (the unix
 * VFS's would turn /proc/self/fd/N back into the directory's path). */
static int dirfd_full_pathname(sqlite3_vfs *vfs, const char *name, int n,
			       char *out)
{
	size_t len = strlen(name);

	(void)vfs;
	if (name[0] != '/' || n <= 0 || len >= (size_t)n)
		return SQLITE_CANTOPEN;
	memcpy(out, name, len + 1);
	return SQLITE_OK;
}

/*
 * sqlite3_open_v2 of `name` with the unix VFS but for xFullPathname.  The
 * VFS is registered only for the open (a connection keeps a pointer to
 * it, not its name), so that SQLite never lists a VFS of this library
 * after the library is unloaded; the lock keeps concurrent openers from
 * unregistering it under each other.
 */
static int open_dirfd(const char *name, sqlite3 **db)
{
	sqlite3_vfs *unix_vfs;
	int rc;

	pthread_mutex_lock(&dirfd_vfs_lock);
	/* made once: open connections read it while later ones open */
	if (!dirfd_vfs.zName) {
		unix_vfs = sqlite3_vfs_find("unix");
		if (!unix_vfs) {
			rc = SQLITE_ERROR;
			goto out;
		}
		dirfd_vfs = *unix_vfs;
		dirfd_vfs.pNext = NULL;
		dirfd_vfs.xFullPathname = dirfd_full_pathname;
		dirfd_vfs.zName = RRS_DIRFD_VFS;
	}
	rc = sqlite3_vfs_register(&dirfd_vfs, 0);
	if (rc == SQLITE_OK) {
		rc = sqlite3_open_v2(name, db,
				     SQLITE_OPEN_READWRITE |
					 SQLITE_OPEN_NOFOLLOW |
					 SQLITE_OPEN_NOMUTEX,
				     RRS_DIRFD_VFS);
		sqlite3_vfs_unregister(&dirfd_vfs);
	}
out:
	pthread_mutex_unlock(&dirfd_vfs_lock);
	return rc;
}

/* The store `name` in the open, checked directory dfd (kept by the
 * store from now on, closed by rr_store_close, also on failure). */
static int store_new(int dfd, const char *name, rr_store **out)
{
	char fdpath[PATH_MAX];
	rr_store *s;
	int rc, err, n;

	s = calloc(1, sizeof(*s));
	if (!s) {
		close(dfd);
		return -ENOMEM;
	}
	s->dir_fd = dfd;
	s->signin_days = RRS_DEFAULT_SIGNIN_DAYS;
	s->detection_days = RRS_DEFAULT_DETECTION_DAYS;
	s->ckpt_frames = RRS_WAL_CKPT_FRAMES;
	n = snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d/%s", dfd, name);
	if (n < 0 || (size_t)n >= sizeof(fdpath)) {
		err = -ENAMETOOLONG;
		goto out;
	}
	rc = open_dirfd(fdpath, &s->db);
	if (rc != SQLITE_OK) {
		err = rrs_error(s, rc);
		goto out;
	}
	err = configure(s, false);
	if (!err)
		err = rrs_schema_init(s);
	if (!err)
		err = file_id(dfd, name, &s->dev, &s->ino);
out:
	if (err)
		rr_store_close(s);
	else
		*out = s;
	return err;
}

int rr_store_open(const char *path, rr_store **out)
{
	const char *name;
	char dir[PATH_MAX];
	mode_t old;
	int err, dfd = -1;

	if (!path || !*path || !out)
		return -EINVAL;
	if (strnlen(path, PATH_MAX) >= PATH_MAX)
		return -ENAMETOOLONG;
	/* The -wal and -shm files SQLite creates must be private too. */
	old = umask(077);
	err = dir_prepare(path, dir);
	/*
	 * Openers take turns while they create the file, switch it to WAL
	 * and migrate the schema: processes (or riskd's workers) opening a
	 * new store at once otherwise get SQLITE_BUSY (two connections
	 * upgrading their locks: SQLite does not wait) or I/O errors from
	 * the switch.  flock() on the directory: SQLite's own POSIX locks on
	 * the store's files are not touched by it.
	 */
	if (!err) {
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			err = errno == ENOTDIR ? -ELOOP : rr_negerrno();
	}
	/* what was opened is what was checked (not swapped in between) */
	if (!err)
		err = rr_secfile_check_fd(dfd, S_IFDIR);
	if (!err && flock(dfd, LOCK_EX) < 0)
		err = rr_negerrno();
	name = strrchr(path, '/');
	name = name ? name + 1 : path;
	if (!err && !*name)
		err = -EINVAL;
	if (!err)
		err = file_prepare(dfd, name);
	if (!err)
		err = companions_check(dfd, name);
	if (!err) {
		err = store_new(dfd, name, out); /* keeps dfd */
		if (!err)
			flock(dfd, LOCK_UN);
		dfd = -1;
	}
	if (dfd >= 0)
		close(dfd); /* releases the flock */
	umask(old);
	return err;
}

void rr_store_close(rr_store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < RRS_Q__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s);
}

void rr_store_keep_open(rr_store *s)
{
	if (s)
		s->ckpt_frames = RRS_WAL_CKPT_FRAMES_KEPT;
}

bool rr_store_park(rr_store *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < RRS_Q__COUNT; i++)
		if (s->stmt[i])
			sqlite3_reset(s->stmt[i]);
	return sqlite3_get_autocommit(s->db);
}

bool rr_store_still(const rr_store *s, const char *path)
{
	dev_t dev = 0;
	ino_t ino = 0;

	return s && file_id(-1, path, &dev, &ino) == 0 && dev == s->dev &&
	       ino == s->ino;
}

void rr_store_set_retention(rr_store *s, unsigned signin_days,
			    unsigned detection_days)
{
	if (!s)
		return;
	s->signin_days = signin_days ? signin_days : RRS_DEFAULT_SIGNIN_DAYS;
	s->detection_days =
	    detection_days ? detection_days : RRS_DEFAULT_DETECTION_DAYS;
}

const char *rr_store_last_error(const rr_store *s)
{
	if (!s)
		return "no store";
	return s->err[0] ? s->err : "no error";
}

const char *rr_admin_action_name(rr_admin_action a)
{
	switch (a) {
	case RR_ADMIN_DISMISS:
		return "dismiss";
	case RR_ADMIN_UNBLOCK:
		return "unblock";
	case RR_ADMIN_CONFIRM_COMPROMISED:
		return "confirm-compromised";
	}
	return NULL;
}

int rr_store_open_memory(rr_store **out)
{
	rr_store *s;
	int rc, err;

	if (!out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dir_fd = -1;
	s->signin_days = RRS_DEFAULT_SIGNIN_DAYS;
	s->detection_days = RRS_DEFAULT_DETECTION_DAYS;
	rc = sqlite3_open_v2(":memory:", &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_MEMORY | SQLITE_OPEN_NOMUTEX,
			     NULL);
	err = rc == SQLITE_OK ? configure(s, true) : rrs_error(s, rc);
	if (!err)
		err = rrs_schema_init(s);
	if (err)
		rr_store_close(s);
	else
		*out = s;
	return err;
}
