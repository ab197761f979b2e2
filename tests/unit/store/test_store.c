/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the SQLite risk store.  Each test gets a fresh directory
 * under /tmp; times are explicit.  Must run as root (the store refuses files
 * that are not root-owned).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rr_store.h"
#include "rr_store_schema.h"
#include "rr_store_int.h" /* the connection (test_temp_store_memory) */
#include "rr_store_replica.h" /* rr_store_signins_changed */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW INT64_C(1700000000)
#define DAY INT64_C(86400)

struct fx {
	char base[64];
	char dir[128];
	char path[192];
	rr_store *s;
};

/* ---- fixture and helpers ---------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->base, sizeof(f->base), "/tmp/rr-store-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->dir, sizeof(f->dir), "%s/store", f->base);
	snprintf(f->path, sizeof(f->path), "%s/risk.db", f->dir);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	rr_store_close(f->s);
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static rr_store *fx_open(struct fx *f)
{
	assert_int_equal(rr_store_open(f->path, &f->s), 0);
	return f->s;
}

static void fx_reopen(struct fx *f)
{
	rr_store_close(f->s);
	f->s = NULL;
	fx_open(f);
}

/* One integer from a raw SQLite query on the store file. */
static int64_t db_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* One text value (group_concat) from a raw query; caller frees. */
static char *db_text(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = strdup((const char *)sqlite3_column_text(st, 0));
	assert_non_null(v);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void db_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(
	    sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void mode_is(const char *path, mode_t mode)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & S_IFMT, mode & S_IFMT);
	assert_int_equal(st.st_mode & 07777, mode & 07777);
	assert_int_equal(st.st_uid, 0);
}

static rr_signin_rec rec_make(int64_t time, const char *user,
			      const char *outcome, const char *netkey)
{
	rr_signin_rec r = {
	    .time = time,
	    .user = user,
	    .service = "sshd",
	    .rhost = "192.0.2.10",
	    .tty = "ssh",
	    .netkey = netkey,
	    .action = RR_ACTION_ALLOW,
	    .outcome = outcome,
	};

	return r;
}

static void record(rr_store *s, const rr_signin_rec *r, char *ref)
{
	char tmp[RR_REF_LEN + 1];

	assert_int_equal(rr_store_signin_record(s, r, ref ? ref : tmp), 0);
}

static size_t signins_count(rr_store *s, const char *user, const char *ref)
{
	rr_store_signin_filter f = {.user = user, .ref = ref};
	rr_store_signin *rows = NULL;
	size_t n = 0;

	assert_int_equal(rr_store_signins_list(s, &f, &rows, &n), 0);
	free(rows);
	return n;
}

static bool ref_format_ok(const char *ref)
{
	size_t i;

	if (strlen(ref) != RR_REF_LEN || ref[4] != '-')
		return false;
	for (i = 0; i < RR_REF_LEN; i++)
		if (i != 4 && !strchr("0123456789ABCDEF", ref[i]))
			return false;
	return true;
}

/* ---- opening: modes and refusals -------------------------------------- */

static void test_create_modes(void **state)
{
	struct fx *f = *state;
	char p[256];

	fx_open(f);
	mode_is(f->dir, 040700);
	mode_is(f->path, 0100600);
	/* WAL: SQLite's side files are private too. */
	snprintf(p, sizeof(p), "%s-wal", f->path);
	mode_is(p, 0100600);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	mode_is(p, 0100600);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"),
			 RR_STORE_SCHEMA_VERSION);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM "
					 "pragma_journal_mode() "
					 "WHERE journal_mode = 'wal'"),
			 1);
	fx_reopen(f);
}

enum bad_setup {
	BAD_FILE_SYMLINK,
	BAD_DIR_SYMLINK,
	BAD_DIR_GROUP_WRITABLE,
	BAD_DIR_OTHER_OWNER,
	BAD_FILE_OTHER_OWNER,
	BAD_FILE_0644,
	BAD_FILE_0640,
	BAD_FILE_NOT_SQLITE,
	BAD_FILE_IS_DIR,
	BAD_NO_PARENT,
};

static const struct {
	enum bad_setup setup;
	int err;
} refusals[] = {
    {BAD_FILE_SYMLINK, -ELOOP},       {BAD_DIR_SYMLINK, -ELOOP},
    {BAD_DIR_GROUP_WRITABLE, -EPERM}, {BAD_DIR_OTHER_OWNER, -EPERM},
    {BAD_FILE_OTHER_OWNER, -EPERM},   {BAD_FILE_0644, -EPERM},
    {BAD_FILE_0640, -EPERM},          {BAD_FILE_NOT_SQLITE, -EPROTO},
    {BAD_FILE_IS_DIR, -EISDIR},       {BAD_NO_PARENT, -ENOENT},
};

static void make_file(const char *path, mode_t mode, uid_t uid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a database, really not at all\n", 34),
			 34);
	assert_int_equal(fchown(fd, uid, 0), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Prepare f->path for one refusal case. */
static void bad_prepare(struct fx *f, enum bad_setup b)
{
	char real[160];

	if (b == BAD_DIR_SYMLINK || b == BAD_NO_PARENT) {
		snprintf(real, sizeof(real), "%s/real", f->base);
		assert_int_equal(mkdir(real, 0700), 0);
		if (b == BAD_DIR_SYMLINK)
			assert_int_equal(symlink(real, f->dir), 0);
		else
			snprintf(f->path, sizeof(f->path), "%s/a/b/risk.db",
				 f->base);
		return;
	}
	assert_int_equal(mkdir(f->dir, 0700), 0);
	switch (b) {
	case BAD_FILE_SYMLINK:
		snprintf(real, sizeof(real), "%s/target.db", f->dir);
		assert_int_equal(close(open(real, O_CREAT | O_WRONLY, 0600)),
				 0);
		assert_int_equal(symlink(real, f->path), 0);
		break;
	case BAD_DIR_GROUP_WRITABLE:
		assert_int_equal(chmod(f->dir, 0770), 0);
		break;
	case BAD_DIR_OTHER_OWNER:
		assert_int_equal(chown(f->dir, 65534, 0), 0);
		break;
	case BAD_FILE_OTHER_OWNER:
		make_file(f->path, 0600, 65534);
		break;
	case BAD_FILE_0644:
		make_file(f->path, 0644, 0);
		break;
	case BAD_FILE_0640:
		make_file(f->path, 0640, 0);
		break;
	case BAD_FILE_NOT_SQLITE:
		make_file(f->path, 0600, 0);
		break;
	case BAD_FILE_IS_DIR:
		assert_int_equal(mkdir(f->path, 0700), 0);
		break;
	case BAD_DIR_SYMLINK:
	case BAD_NO_PARENT:
		break;
	}
}

static void test_refusals(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct fx *f = NULL;
		rr_store *s = NULL;
		int err;

		fx_setup((void **)&f);
		bad_prepare(f, refusals[i].setup);
		err = rr_store_open(f->path, &s);
		if (err != refusals[i].err)
			fail_msg("case %zu: got %d, want %d", i, err,
				 refusals[i].err);
		assert_null(s);
		fx_teardown((void **)&f);
	}
	(void)state;
}

/* A failure with no source key ('' : what rr_store_history with a NULL
 * or "" netkey counts). */
static int fail_rec(rr_store *s, const char *user, const char *service,
		    const char *rhost, int64_t t)
{
	rr_store_failure f = {.user = user, .service = service,
			      .rhost = rhost, .time = t};

	return rr_store_failure_record(s, &f);
}

static void test_bad_args(void **state)
{
	struct fx *f = *state;
	rr_store_user u;
	rr_history h;
	char longname[RR_USER_MAX + 2];
	rr_store *s;

	assert_int_equal(rr_store_open(NULL, &s), -EINVAL);
	assert_int_equal(rr_store_open("", &s), -EINVAL);
	s = fx_open(f);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(rr_store_user_get(s, "", &u), -EINVAL);
	assert_int_equal(rr_store_user_get(s, NULL, &u), -EINVAL);
	assert_int_equal(rr_store_user_get(s, longname, &u), -EINVAL);
	assert_int_equal(rr_store_history(s, longname, NULL, NOW, 60, &h),
			 -EINVAL);
	assert_int_equal(fail_rec(s, longname, "sshd", "", NOW),
			 -EINVAL);
	assert_int_equal(
	    rr_store_admin(s, RR_ADMIN_DISMISS, "bob", "", NOW, NULL), -EINVAL);
	assert_int_equal(
	    rr_store_admin(s, (rr_admin_action)7, "bob", "root", NOW, NULL),
	    -EINVAL);
	longname[RR_USER_MAX] = '\0';
	assert_int_equal(rr_store_user_get(s, longname, &u), 0);
	assert_string_equal(u.user, longname);
	rr_store_close(NULL);
	assert_non_null(rr_store_last_error(NULL));
}

static void test_bad_signin(void **state)
{
	struct fx *f = *state;
	rr_detection dets[RR_TEXT_MAX];
	char reason[RR_TEXT_MAX + 1];
	char ref[RR_REF_LEN + 1] = "unchanged";
	rr_signin_rec r;
	rr_store *s = fx_open(f);

	memset(dets, 0, sizeof(dets));
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	r = rec_make(NOW, "alice", "success", NULL);
	r.reason = reason;
	assert_int_equal(rr_store_signin_record(s, &r, ref), -EINVAL);
	r = rec_make(NOW, "alice", NULL, NULL);
	assert_int_equal(rr_store_signin_record(s, &r, ref), -EINVAL);
	r = rec_make(NOW, "", "success", NULL);
	assert_int_equal(rr_store_signin_record(s, &r, ref), -EINVAL);
	r = rec_make(NOW, "alice", "success", NULL);
	r.action = (rr_action)9;
	assert_int_equal(rr_store_signin_record(s, &r, ref), -EINVAL);
	r = rec_make(NOW, "alice", "success", NULL);
	r.dets = dets;
	r.n_dets = sizeof(dets) / sizeof(dets[0]);
	assert_int_equal(rr_store_signin_record(s, &r, ref), -EINVAL);
	r.n_dets = 1;
	dets[0].type = RR_EVENT__COUNT;
	assert_int_equal(rr_store_signin_record(s, &r, ref), -EINVAL);
	assert_string_equal(ref, "unchanged");
	assert_int_equal(signins_count(s, NULL, NULL), 0);
}

/* ---- users and sign-ins ----------------------------------------------- */

static void test_user_default(void **state)
{
	struct fx *f = *state;
	rr_store_user u;

	memset(&u, 0x5a, sizeof(u));
	assert_int_equal(rr_store_user_get(fx_open(f), "nobody", &u), 0);
	assert_string_equal(u.user, "nobody");
	assert_int_equal(u.level, RR_LEVEL_NONE);
	assert_int_equal(u.state, RR_STATE_NONE);
	assert_int_equal(u.detail, RR_DETAIL_NONE);
	assert_int_equal(u.updated, 0);
	assert_int_equal(u.active_detections, 0);
}

static void test_signin_roundtrip(void **state)
{
	static const rr_detection dets[] = {
	    {RR_EVENT_UNFAMILIAR_FEATURES, RR_LEVEL_MEDIUM},
	    {RR_EVENT_MALICIOUS_IP, RR_LEVEL_HIGH},
	};
	struct fx *f = *state;
	rr_store_signin_filter sf = {.ref = NULL};
	rr_store_detection_filter df = {.user = "alice"};
	rr_store_detection *d = NULL;
	rr_store_signin *rows = NULL;
	char ref1[RR_REF_LEN + 1], ref2[RR_REF_LEN + 1];
	rr_signin_rec r = rec_make(NOW, "alice", "blocked", "192.0.2.0/24");
	rr_store *s = fx_open(f);
	size_t n;

	r.action = RR_ACTION_BLOCK;
	r.signin_risk = RR_LEVEL_HIGH;
	r.user_risk = RR_LEVEL_LOW;
	r.dets = dets;
	r.n_dets = 2;
	r.tty = "pts/3";
	r.applied = "Block high sign-in risk\nOther";
	r.report_only = "Would MFA";
	r.reason = "blocked by policy";
	record(s, &r, ref1);
	assert_true(ref_format_ok(ref1));
	r = rec_make(NOW + 5, "alice", "success", NULL);
	r.rhost = NULL;
	record(s, &r, ref2);
	assert_true(ref_format_ok(ref2));
	assert_string_not_equal(ref1, ref2);

	sf.ref = ref1;
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].ref, ref1);
	assert_int_equal(rows[0].time, NOW);
	assert_string_equal(rows[0].user, "alice");
	assert_string_equal(rows[0].service, "sshd");
	assert_string_equal(rows[0].rhost, "192.0.2.10");
	assert_string_equal(rows[0].tty, "pts/3");
	assert_int_equal(rows[0].action, RR_ACTION_BLOCK);
	assert_string_equal(rows[0].outcome, "blocked");
	assert_int_equal(rows[0].signin_risk, RR_LEVEL_HIGH);
	assert_int_equal(rows[0].user_risk, RR_LEVEL_LOW);
	assert_string_equal(rows[0].detections, "unfamiliarFeatures:medium,"
						"maliciousIPAddress:high");
	assert_string_equal(rows[0].applied, "Block high sign-in risk\nOther");
	assert_string_equal(rows[0].report_only, "Would MFA");
	assert_string_equal(rows[0].reason, "blocked by policy");
	free(rows);

	/* Newest first; ref and user filters combine. */
	sf.ref = NULL;
	sf.user = "alice";
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].ref, ref2);
	assert_string_equal(rows[0].rhost, "");
	assert_string_equal(rows[0].detections, "");
	free(rows);
	assert_int_equal(signins_count(s, "bob", ref1), 0);
	assert_int_equal(signins_count(s, "bob", NULL), 0);
	sf.user = NULL;
	sf.limit = 1;
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	free(rows);

	assert_int_equal(rr_store_detections_list(s, &df, &d, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].type, RR_EVENT_MALICIOUS_IP);
	assert_int_equal(d[1].type, RR_EVENT_UNFAMILIAR_FEATURES);
	assert_int_equal(d[1].level, RR_LEVEL_MEDIUM);
	assert_int_equal(d[0].state, RR_STATE_AT_RISK);
	assert_int_equal(d[0].detail, RR_DETAIL_NONE);
	assert_false(d[0].user_scope);
	assert_string_equal(d[0].ref, ref1);
	assert_string_equal(d[0].source, "192.0.2.10");
	assert_int_equal(d[0].detected, NOW);
	free(d);
}

static void test_history_networks(void **state)
{
	struct fx *f = *state;
	rr_signin_rec r;
	rr_history h;
	rr_store *s = fx_open(f);

	assert_int_equal(
	    rr_store_history(s, "alice", "192.0.2.0/24", NOW, 600, &h), 0);
	assert_int_equal(h.successes, 0);
	assert_int_equal(h.first_success, 0);
	assert_false(h.network_seen);

	r = rec_make(NOW - 100, "alice", "success", "192.0.2.0/24");
	record(s, &r, NULL);
	r = rec_make(NOW - 50, "alice", "blocked", "198.51.100.0/24");
	record(s, &r, NULL);
	r = rec_make(NOW - 10, "alice", "success", "192.0.2.0/24");
	record(s, &r, NULL);

	assert_int_equal(
	    rr_store_history(s, "alice", "192.0.2.0/24", NOW, 600, &h), 0);
	assert_int_equal(h.successes, 2);
	assert_int_equal(h.first_success, NOW - 100);
	assert_true(h.network_seen);
	assert_int_equal(
	    rr_store_history(s, "alice", "198.51.100.0/24", NOW, 600, &h), 0);
	assert_false(h.network_seen);
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 600, &h), 0);
	assert_false(h.network_seen);
	assert_int_equal(rr_store_history(s, "alice", "", NOW, 600, &h), 0);
	assert_false(h.network_seen);
	/* Networks are per user. */
	assert_int_equal(
	    rr_store_history(s, "bob", "192.0.2.0/24", NOW, 600, &h), 0);
	assert_false(h.network_seen);
	assert_int_equal(h.successes, 0);
}

static void fail_at(rr_store *s, const char *user, const int64_t *at,
		    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(fail_rec(s, user, "sshd",
							 "192.0.2.9",
							 NOW + at[i]),
				 0);
}

/* Failures count when they are inside [now - window, now] and were
 * recorded after the user's last success (in recording order, so a
 * success and failures within one second are told apart). */
static void test_history_failures(void **state)
{
	static const int64_t before[] = { -700, -601, -600, -400, -300 };
	static const int64_t after[] = { -299, -1, 0, 1, 50 };
	static const int64_t same_second[] = { 0 };
	struct fx *f = *state;
	rr_signin_rec r;
	rr_history h;
	rr_store *s = fx_open(f);

	fail_at(s, "alice", before, 5);
	assert_int_equal(fail_rec(s, "bob", "sshd", NULL, NOW),
			 0);
	/* [now - 600, now]: -600 -400 -300 */
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 600, &h), 0);
	assert_int_equal(h.recent_failures, 3);
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW - 300, 0, &h),
			 0);
	assert_int_equal(h.recent_failures, 1);

	/* A success resets the count. */
	r = rec_make(NOW - 300, "alice", "success", NULL);
	record(s, &r, NULL);
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 600, &h), 0);
	assert_int_equal(h.recent_failures, 0);
	/* later failures count again; those after `now` do not */
	fail_at(s, "alice", after, 5);
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 600, &h), 0);
	assert_int_equal(h.recent_failures, 3);
	/* A blocked sign-in does not reset. */
	r = rec_make(NOW - 2, "alice", "blocked", NULL);
	record(s, &r, NULL);
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 600, &h), 0);
	assert_int_equal(h.recent_failures, 3);
	/* a success and a failure in the same second: the failure counts */
	r = rec_make(NOW, "alice", "success", NULL);
	record(s, &r, NULL);
	fail_at(s, "alice", same_second, 1);
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 600, &h), 0);
	assert_int_equal(h.recent_failures, 1);
	assert_int_equal(rr_store_history(s, "bob", NULL, NOW, 600, &h), 0);
	assert_int_equal(h.recent_failures, 1);

}

/* ---- admin actions ---------------------------------------------------- */

static void test_admin_dismiss(void **state)
{
	static const rr_detection dets[] = {
	    {RR_EVENT_BRUTE_FORCE, RR_LEVEL_HIGH},
	    {RR_EVENT_ANONYMIZED_IP, RR_LEVEL_LOW},
	};
	struct fx *f = *state;
	rr_store_detection_filter df = {.user = "alice"};
	rr_store_detection *d = NULL;
	rr_store_audit *a = NULL;
	rr_store_user u;
	rr_signin_rec r = rec_make(NOW, "alice", "denied", NULL);
	rr_store *s = fx_open(f);
	unsigned changed = 99;
	size_t n, i;

	r.dets = dets;
	r.n_dets = 2;
	record(s, &r, NULL);
	r.user = "bob";
	record(s, &r, NULL);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED,
					"alice", "root", NOW + 1, NULL),
			 0);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_DISMISS, "alice", "admin1",
					NOW + 10, &changed),
			 0);
	assert_int_equal(changed, 3);

	assert_int_equal(rr_store_user_get(s, "alice", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_NONE);
	assert_int_equal(u.state, RR_STATE_DISMISSED);
	assert_int_equal(u.detail, RR_DETAIL_ADMIN_DISMISSED_ALL);
	assert_int_equal(u.updated, NOW + 10);
	assert_int_equal(u.active_detections, 0);
	assert_int_equal(rr_store_detections_list(s, &df, &d, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_int_equal(d[i].state, RR_STATE_DISMISSED);
		assert_int_equal(d[i].detail, RR_DETAIL_ADMIN_DISMISSED_ALL);
		assert_int_equal(d[i].updated, NOW + 10);
	}
	free(d);
	/* Bob's detections are untouched. */
	df.user = "bob";
	df.active_only = true;
	assert_int_equal(rr_store_detections_list(s, &df, &d, &n), 0);
	assert_int_equal(n, 2);
	free(d);

	/* Unblocking a user without risk succeeds and is audited. */
	assert_int_equal(rr_store_admin(s, RR_ADMIN_UNBLOCK, "carol", "admin2",
					NOW + 20, &changed),
			 0);
	assert_int_equal(changed, 0);
	assert_int_equal(rr_store_audit_list(s, 0, &a, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(a[0].action, "unblock");
	assert_string_equal(a[0].actor, "admin2");
	assert_string_equal(a[0].target, "carol");
	assert_string_equal(a[0].detail, "closed 0 detections");
	assert_int_equal(a[0].time, NOW + 20);
	assert_string_equal(a[1].action, "dismiss");
	assert_string_equal(a[1].actor, "admin1");
	assert_string_equal(a[1].target, "alice");
	assert_string_equal(a[1].detail, "closed 3 detections");
	assert_string_equal(a[2].action, "confirm-compromised");
	assert_true(a[0].id > a[1].id);
	free(a);
	assert_int_equal(rr_store_audit_list(s, 1, &a, &n), 0);
	assert_int_equal(n, 1);
	free(a);
}

static void test_admin_confirm(void **state)
{
	struct fx *f = *state;
	rr_store_detection_filter df = {.active_only = true};
	rr_store_detection *d = NULL;
	rr_store_user u;
	rr_store *s = fx_open(f);
	unsigned changed = 0;
	size_t n;

	assert_string_equal(rr_admin_action_name(RR_ADMIN_DISMISS), "dismiss");
	assert_string_equal(rr_admin_action_name(RR_ADMIN_UNBLOCK), "unblock");
	assert_string_equal(rr_admin_action_name(RR_ADMIN_CONFIRM_COMPROMISED),
			    "confirm-compromised");
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED, "dave",
					"root", NOW, &changed),
			 0);
	assert_int_equal(changed, 1);
	assert_int_equal(rr_store_user_get(s, "dave", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_HIGH);
	assert_int_equal(u.state, RR_STATE_CONFIRMED_COMPROMISED);
	assert_int_equal(u.detail, RR_DETAIL_ADMIN_CONFIRMED_COMPROMISED);
	assert_int_equal(u.active_detections, 1);
	assert_int_equal(rr_store_detections_list(s, &df, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].type, RR_EVENT_ADMIN_CONFIRMED_COMPROMISED);
	assert_int_equal(d[0].level, RR_LEVEL_HIGH);
	assert_int_equal(d[0].state, RR_STATE_AT_RISK);
	assert_int_equal(d[0].detail, RR_DETAIL_ADMIN_CONFIRMED_COMPROMISED);
	assert_true(d[0].user_scope);
	assert_string_equal(d[0].ref, "");
	assert_string_equal(d[0].source, "");
	free(d);
	assert_int_equal(db_int(f->path,
				"SELECT count(*) FROM detections "
				"WHERE type = 'adminConfirmedUserCompromised' "
				"AND level = 'high' AND state = 'atRisk' "
				"AND scope = 'user'"),
			 1);
}

static void test_users_list(void **state)
{
	struct fx *f = *state;
	rr_store_user_filter uf = {.level = -1, .state = -1};
	rr_store_user *u = NULL;
	rr_store *s = fx_open(f);
	size_t n;

	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED, "a",
					"root", NOW, NULL),
			 0);
	assert_int_equal(
	    rr_store_admin(s, RR_ADMIN_DISMISS, "b", "root", NOW + 1, NULL), 0);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED, "c",
					"root", NOW + 2, NULL),
			 0);

	assert_int_equal(rr_store_users_list(s, &uf, &u, &n), 0);
	assert_int_equal(n, 3);
	/* Level desc, then most recently updated first. */
	assert_string_equal(u[0].user, "c");
	assert_string_equal(u[1].user, "a");
	assert_string_equal(u[2].user, "b");
	assert_int_equal(u[0].active_detections, 1);
	free(u);
	uf.risky_only = true;
	assert_int_equal(rr_store_users_list(s, &uf, &u, &n), 0);
	assert_int_equal(n, 2);
	free(u);
	uf.risky_only = false;
	uf.state = RR_STATE_DISMISSED;
	assert_int_equal(rr_store_users_list(s, &uf, &u, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(u[0].user, "b");
	assert_int_equal(u[0].level, RR_LEVEL_NONE);
	free(u);
	uf.state = -1;
	uf.level = RR_LEVEL_HIGH;
	assert_int_equal(rr_store_users_list(s, &uf, &u, &n), 0);
	assert_int_equal(n, 2);
	free(u);
	uf.level = RR_LEVEL_MEDIUM;
	assert_int_equal(rr_store_users_list(s, &uf, &u, &n), 0);
	assert_int_equal(n, 0);
	free(u);
	uf.level = 7;
	assert_int_equal(rr_store_users_list(s, &uf, &u, &n), -EINVAL);
	uf.level = -1;
	uf.state = -2;
	assert_int_equal(rr_store_users_list(s, &uf, &u, &n), -EINVAL);
	assert_int_equal(rr_store_users_list(s, NULL, &u, &n), 0);
	assert_int_equal(n, 3);
	free(u);
}

/* ---- retention -------------------------------------------------------- */

static void signin_with_det(rr_store *s, int64_t t, char *ref)
{
	static const rr_detection det = {RR_EVENT_PASSWORD_SPRAY,
					 RR_LEVEL_MEDIUM};
	rr_signin_rec r = rec_make(t, "alice", "denied", NULL);

	r.dets = &det;
	r.n_dets = 1;
	record(s, &r, ref);
}

static size_t dets_count(rr_store *s, const char *user, bool active)
{
	rr_store_detection_filter df = {.user = user, .active_only = active};
	rr_store_detection *d = NULL;
	size_t n;

	assert_int_equal(rr_store_detections_list(s, &df, &d, &n), 0);
	free(d);
	return n;
}

static void test_retention(void **state)
{
	struct fx *f = *state;
	char r91[RR_REF_LEN + 1], r31[RR_REF_LEN + 1], r29[RR_REF_LEN + 1];
	rr_history h;
	rr_store *s = fx_open(f);
	int i;

	/* Detections kept 90 days; a closed user-scope risk goes with them,
	 * an active one never does. */
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED,
					"active", "root", NOW - 100 * DAY,
					NULL),
			 0);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED,
					"closed", "root", NOW - 100 * DAY,
					NULL),
			 0);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_DISMISS, "closed", "root",
					NOW - 95 * DAY, NULL),
			 0);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED,
					"recent", "root", NOW - 100 * DAY,
					NULL),
			 0);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_DISMISS, "recent", "root",
					NOW - 10 * DAY, NULL),
			 0);
	signin_with_det(s, NOW - 91 * DAY, r91);
	/* More than one batch of old failures. */
	for (i = 0; i < 2500; i++)
		assert_int_equal(fail_rec(s, "alice", "sshd", "",
							 NOW - 31 * DAY),
				 0);
	signin_with_det(s, NOW - 31 * DAY, r31);
	signin_with_det(s, NOW - 29 * DAY, r29);
	assert_int_equal(
	    fail_rec(s, "alice", "sshd", "", NOW - 29 * DAY), 0);
	/* The writes at -31 days pruned the 91-day-old sign-in already, but
	 * not its detection (kept 90 days). */
	assert_int_equal(signins_count(s, NULL, r91), 0);
	assert_int_equal(signins_count(s, NULL, NULL), 2);
	assert_int_equal(dets_count(s, "alice", false), 3);

	signin_with_det(s, NOW, NULL); /* the prune runs now */
	assert_int_equal(signins_count(s, NULL, r91), 0);
	assert_int_equal(signins_count(s, NULL, r31), 0);
	assert_int_equal(signins_count(s, NULL, r29), 1);
	assert_int_equal(signins_count(s, NULL, NULL), 2);
	/* Sign-in detections: 91 days gone, 31 and 29 kept, plus now's. */
	assert_int_equal(dets_count(s, "alice", false), 3);
	assert_int_equal(dets_count(s, "active", true), 1);
	assert_int_equal(dets_count(s, "closed", false), 0);
	assert_int_equal(dets_count(s, "recent", false), 1);
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 40 * DAY, &h),
			 0);
	assert_int_equal(h.recent_failures, 1);
	/* Audit rows are never pruned. */
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM audit"), 5);

	/* At most once an hour; shorter retention applies at the next one. */
	rr_store_set_retention(s, 7, 0);
	signin_with_det(s, NOW + 60, NULL);
	assert_int_equal(signins_count(s, NULL, r29), 1);
	signin_with_det(s, NOW + 3601, NULL);
	assert_int_equal(signins_count(s, NULL, r29), 0);
	assert_int_equal(signins_count(s, NULL, NULL), 3);
	assert_int_equal(dets_count(s, "alice", false), 5);
}

/* ---- cursors (riskctl --format graph --since) --------------------------- */

static size_t dets_after(rr_store *s, int64_t after, size_t limit,
			 int64_t *ids, size_t max)
{
	rr_store_detection *d = NULL;
	size_t n = 0, i;

	assert_int_equal(rr_store_detections_after(s, after, limit, &d, &n), 0);
	for (i = 0; i < n && i < max; i++)
		ids[i] = d[i].id;
	free(d);
	return n;
}

/* The newest sign-in change sequence, 0 with none. */
static int64_t newest_seq(rr_store *s)
{
	rr_store_signin out[8];
	rr_store_signin_change ch[8];
	int64_t after = 0;
	size_t n;

	do {
		assert_int_equal(
		    rr_store_signins_changed(s, after, 8, out, ch, &n), 0);
		if (n)
			after = ch[n - 1].seq;
	} while (n == 8);
	return after;
}

/* Detections by id, oldest first, after a cursor; and the cursor never
 * sees an id (or a sign-in sequence) given again after pruning took
 * every old row. */
static void test_cursors(void **state)
{
	struct fx *f = *state;
	rr_store_detection *d = NULL;
	int64_t ids[8] = {0}, mark, seq;
	size_t n;
	rr_store *s = fx_open(f);

	assert_int_equal(dets_after(s, 0, 10, ids, 8), 0);
	assert_int_equal(rr_store_detections_after(s, -1, 10, &d, &n),
			 -EINVAL);
	assert_int_equal(rr_store_detections_after(s, 0, 0, &d, &n), -EINVAL);
	assert_int_equal(rr_store_detections_after(NULL, 0, 1, &d, &n),
			 -EINVAL);
	assert_int_equal(rr_store_detections_after(s, 0, RR_STORE_MAX_ROWS + 1,
						   &d, &n),
			 -EINVAL);

	/* Long ago: all of it expires. */
	signin_with_det(s, NOW - 200 * DAY, NULL);
	signin_with_det(s, NOW - 200 * DAY, NULL);
	signin_with_det(s, NOW - 200 * DAY, NULL);
	assert_int_equal(dets_after(s, 0, 10, ids, 8), 3);
	assert_true(ids[0] < ids[1] && ids[1] < ids[2]);
	/* the limit, and after a cursor: only what follows it */
	assert_int_equal(dets_after(s, 0, 2, ids, 8), 2);
	assert_int_equal(dets_after(s, ids[0], 10, ids + 4, 4), 2);
	assert_int_equal(ids[4], ids[1]);
	mark = ids[2];
	assert_int_equal(dets_after(s, mark, 10, ids, 8), 0);
	/* a cursor past the newest (another store's): from the start */
	assert_int_equal(dets_after(s, mark + 1000, 10, ids, 8), 3);
	seq = newest_seq(s);
	assert_true(seq > 0);

	/* A write now prunes every expired row but the newest detection and
	 * the sign-in of the newest change. */
	assert_int_equal(fail_rec(s, "bob", "sshd", "", NOW), 0);
	assert_int_equal(signins_count(s, NULL, NULL), 1);
	assert_int_equal(dets_after(s, 0, 10, ids, 8), 1);
	assert_int_equal(ids[0], mark);
	assert_int_equal(newest_seq(s), seq);

	/* What comes next is after both cursors: nothing is missed. */
	signin_with_det(s, NOW + 1, NULL);
	assert_int_equal(dets_after(s, mark, 10, ids, 8), 1);
	assert_true(ids[0] > mark);
	assert_true(newest_seq(s) > seq);
	/* and the next prune takes the old rows kept so far */
	signin_with_det(s, NOW + 2 * 3600, NULL);
	assert_int_equal(signins_count(s, NULL, NULL), 2);
	assert_int_equal(dets_after(s, 0, 10, ids, 8), 2);
	assert_true(ids[0] > mark);
}

/* ---- one read snapshot -------------------------------------------------- */

/* rr_store_read_begin: the reads that follow (history's own transaction
 * nested in it) see one snapshot; a write in it is refused; after
 * rr_store_read_end writes work and see the other connection's rows. */
static void test_read_snapshot(void **state)
{
	struct fx *f = *state;
	rr_signin_rec r = rec_make(NOW, "alice", "success", "192.0.2.0/24");
	char ref[RR_REF_LEN + 1];
	rr_store *other = NULL;
	rr_store_user u;
	rr_history h;
	rr_store *s = fx_open(f);

	record(s, &r, NULL);
	assert_int_equal(rr_store_open(f->path, &other), 0);
	assert_int_equal(rr_store_read_begin(s), 0);
	assert_int_equal(rr_store_read_begin(s), -EINVAL); /* not nested */
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 60, &h), 0);
	assert_int_equal(h.successes, 1);
	/* another connection writes; this snapshot does not see it */
	record(other, &r, NULL);
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 60, &h), 0);
	assert_int_equal(h.successes, 1);
	assert_int_equal(rr_store_user_get(s, "alice", &u), 0);
	assert_int_equal(rr_store_signin_record(s, &r, ref), -EBUSY);
	rr_store_read_end(s);
	assert_true(rr_store_park(s)); /* no transaction left open */
	assert_int_equal(rr_store_history(s, "alice", NULL, NOW, 60, &h), 0);
	assert_int_equal(h.successes, 2);
	record(s, &r, NULL);
	assert_int_equal(signins_count(s, "alice", NULL), 3);
	rr_store_read_end(s); /* harmless when none is open */
	rr_store_close(other);
}

/* ---- parallel writers ------------------------------------------------- */

#define WRITERS 8
#define WRITER_SIGNINS 200
#define WRITER_FAILURES 50

static int writer(const char *path, int id)
{
	rr_store *s = NULL;
	char user[16], ref[RR_REF_LEN + 1];
	rr_signin_rec r;
	int i, err;

	snprintf(user, sizeof(user), "user%d", id);
	err = rr_store_open(path, &s);
	for (i = 0; !err && i < WRITER_SIGNINS; i++) {
		r = rec_make(NOW + i, user, i % 2 ? "blocked" : "success",
			     "192.0.2.0/24");
		err = rr_store_signin_record(s, &r, ref);
		if (!err && i < WRITER_FAILURES)
			err = fail_rec(s, user, "sshd", "",
						      NOW + i);
	}
	rr_store_close(s);
	return err ? 1 : 0;
}

/* Open, record one sign-in, close: 0, or the step that failed. */
static int writer_once(const char *path, int id)
{
	rr_store *s = NULL;
	char user[16], ref[RR_REF_LEN + 1];
	rr_signin_rec r;
	int err;

	snprintf(user, sizeof(user), "user%d", id);
	err = rr_store_open(path, &s);
	if (err) {
		fprintf(stderr, "open: %s\n", strerror(-err));
		return 1;
	}
	r = rec_make(NOW, user, "success", "192.0.2.0/24");
	err = rr_store_signin_record(s, &r, ref);
	if (err)
		fprintf(stderr, "record: %s (%s)\n", strerror(-err),
			rr_store_last_error(s));
	rr_store_close(s);
	return err ? 2 : 0;
}

static void unlink_store_files(const char *path)
{
	char p[4096];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const rr_store_signin *)a)->ref,
		      ((const rr_store_signin *)b)->ref);
}

static void test_parallel_writers(void **state)
{
	struct fx *f = *state;
	rr_store_signin *rows = NULL;
	rr_history h;
	pid_t pids[WRITERS];
	size_t n, i;
	int st;

	fx_open(f);
	rr_store_close(f->s);
	f->s = NULL;
	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(writer(f->path, (int)i));
	}
	for (i = 0; i < WRITERS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	fx_open(f);
	assert_int_equal(rr_store_signins_list(f->s, NULL, &rows, &n), 0);
	assert_int_equal(n, WRITERS * WRITER_SIGNINS);
	qsort(rows, n, sizeof(*rows), ref_cmp);
	for (i = 0; i < n; i++) {
		assert_true(ref_format_ok(rows[i].ref));
		if (i)
			assert_string_not_equal(rows[i - 1].ref, rows[i].ref);
	}
	free(rows);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM failures"),
			 WRITERS * WRITER_FAILURES);
	assert_int_equal(rr_store_history(f->s, "user3", "192.0.2.0/24",
					  NOW + 1000, 2000, &h),
			 0);
	assert_int_equal(h.successes, WRITER_SIGNINS / 2);
	assert_true(h.network_seen);
	/* Failures since the last success (NOW + 198): none. */
	assert_int_equal(h.recent_failures, 0);
}

/* Many processes (or riskd's workers) opening a store that does not exist
 * yet, all at once: every one opens it and records, none gets SQLITE_BUSY
 * from the creation, the switch to WAL or the schema. */
#define OPENERS 12

static void test_parallel_first_open(void **state)
{
	struct fx *f = *state;
	pid_t pids[OPENERS];
	int go[2], st, round;
	size_t i;
	char c = 0;

	for (round = 0; round < 5; round++) {
		unlink(f->path);
		assert_int_equal(pipe(go), 0);
		for (i = 0; i < OPENERS; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				close(go[1]);
				/* all wait, then all open at once */
				if (read(go[0], &c, 1) != 0)
					_exit(3);
				_exit(writer_once(f->path, (int)i));
			}
		}
		close(go[0]);
		close(go[1]);
		for (i = 0; i < OPENERS; i++) {
			assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
			assert_true(WIFEXITED(st));
			assert_int_equal(WEXITSTATUS(st), 0);
		}
		assert_int_equal(db_int(f->path, "SELECT count(*) FROM signins"),
				 OPENERS);
		unlink_store_files(f->path);
	}
}

/* ---- schema versions -------------------------------------------------- */

static void make_v1(struct fx *f, const char *extra)
{
	char sql[4096];

	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(sql, sizeof(sql),
		 "BEGIN;" RRS_SCHEMA_V1
		 "INSERT INTO users VALUES ('alice', 'high', 'atRisk',"
		 " 'none', 100);"
		 "INSERT INTO signins VALUES ('AAAA-0001', 1000, 'alice',"
		 " 'sshd', '192.0.2.10', 'allow', 'success', 'none', 'none',"
		 " '', '', '', 'ok');"
		 "INSERT INTO signins VALUES ('AAAA-0002', 2000, 'alice',"
		 " 'sshd', '198.51.100.7', 'block', 'blocked', 'high', 'high',"
		 " 'maliciousIPAddress:high', 'Block', '', 'blocked');"
		 "INSERT INTO signins VALUES ('AAAA-0003', 3000, 'alice',"
		 " 'login', '', 'allow', 'success', 'none', 'none',"
		 " '', '', '', '');"
		 "INSERT INTO detections(user, type, level, state, detail,"
		 " scope, ref, source, detected, updated) VALUES ('alice',"
		 " 'leakedCredentials', 'high', 'atRisk', 'none', 'user', '',"
		 " '', 900, 900);"
		 "INSERT INTO audit(time, actor, action, target, detail)"
		 " VALUES (950, 'root', 'dismiss', 'bob', 'closed 0');"
		 "%s COMMIT;",
		 extra);
	db_exec(f->path, sql);
	assert_int_equal(chmod(f->path, 0600), 0);
}

static void netkey_of(const char *ip, char *buf)
{
	rr_addr a;

	assert_int_equal(rr_addr_parse(ip, &a), 0);
	rr_addr_netkey(&a, buf, RR_NETKEY_MAX);
	assert_true(buf[0] != '\0');
}

/* Every table, with its sorted column names, of a store file. */
#define SCHEMA_SQL                                                             \
	"SELECT group_concat(t.name || '(' || (SELECT group_concat(name)"      \
	" FROM (SELECT name FROM pragma_table_info(t.name) ORDER BY name))"    \
	" || ')', ' ') FROM (SELECT name FROM sqlite_master"                   \
	" WHERE type IN ('table', 'index') ORDER BY name) t"

static void same_schema_as_fresh(struct fx *f)
{
	char fresh[256];
	rr_store *s = NULL;
	char *a, *b;

	snprintf(fresh, sizeof(fresh), "%s/fresh.db", f->dir);
	assert_int_equal(rr_store_open(fresh, &s), 0);
	rr_store_close(s);
	a = db_text(f->path, SCHEMA_SQL);
	b = db_text(fresh, SCHEMA_SQL);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "familiar_networks("));
	free(a);
	free(b);
}

static void test_migrate_v1(void **state)
{
	struct fx *f = *state;
	rr_store_signin_filter sf = {.ref = "AAAA-0002"};
	rr_store_signin *rows = NULL;
	char nk_ok[RR_NETKEY_MAX], nk_blocked[RR_NETKEY_MAX];
	rr_signin_rec r = rec_make(4000, "alice", "success", "x");
	rr_store_audit *a = NULL;
	rr_store_user u;
	rr_history h;
	size_t n;

	make_v1(f, "");
	fx_open(f);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"),
			 RR_STORE_SCHEMA_VERSION);
	mode_is(f->path, 0100600);

	/* Old rows are preserved. */
	assert_int_equal(rr_store_signins_list(f->s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].time, 2000);
	assert_string_equal(rows[0].tty, "");
	assert_int_equal(rows[0].action, RR_ACTION_BLOCK);
	assert_string_equal(rows[0].detections, "maliciousIPAddress:high");
	assert_string_equal(rows[0].mfa, "");
	free(rows);
	assert_int_equal(signins_count(f->s, "alice", NULL), 3);
	assert_int_equal(rr_store_user_get(f->s, "alice", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_HIGH);
	assert_int_equal(u.state, RR_STATE_AT_RISK);
	assert_int_equal(u.active_detections, 1);
	assert_int_equal(rr_store_audit_list(f->s, 0, &a, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].target, "bob");
	free(a);

	/* History was backfilled from the old successful sign-ins. */
	netkey_of("192.0.2.10", nk_ok);
	netkey_of("198.51.100.7", nk_blocked);
	assert_int_equal(rr_store_history(f->s, "alice", nk_ok, 4000, 600, &h),
			 0);
	assert_int_equal(h.successes, 2);
	assert_int_equal(h.first_success, 1000);
	assert_true(h.network_seen);
	assert_int_equal(
	    rr_store_history(f->s, "alice", nk_blocked, 4000, 600, &h), 0);
	assert_false(h.network_seen);

	/* New columns and tables work. */
	r.tty = "tty1";
	r.netkey = nk_blocked;
	record(f->s, &r, NULL);
	assert_int_equal(rr_store_failure_record(f->s, &(rr_store_failure){
				 .user = "alice", .service = "sshd",
				 .rhost = "198.51.100.7", .netkey = nk_blocked,
				 .time = 4001}), 0);
	assert_int_equal(
	    rr_store_history(f->s, "alice", nk_blocked, 4002, 600, &h), 0);
	assert_true(h.network_seen);
	assert_int_equal(h.recent_failures, 1);
	assert_int_equal(h.successes, 3);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM signins "
					 "WHERE tty = 'tty1'"),
			 1);
	fx_reopen(f);
	same_schema_as_fresh(f);
}

static void test_migrate_atomic(void **state)
{
	struct fx *f = *state;
	rr_store *s = NULL;

	/* A v1 file with a stray table the migration wants to create. */
	make_v1(f, "CREATE TABLE user_stats(x);");
	assert_true(rr_store_open(f->path, &s) < 0);
	assert_null(s);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"), 1);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM "
					 "pragma_table_info('signins') "
					 "WHERE name = 'tty'"),
			 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM sqlite_master "
					 "WHERE name = 'familiar_networks'"),
			 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM signins"), 3);
}

static void test_future_version(void **state)
{
	struct fx *f = *state;
	rr_store *s = NULL;

	fx_open(f);
	rr_store_close(f->s);
	f->s = NULL;
	db_exec(f->path, "PRAGMA user_version = 99");
	assert_int_equal(rr_store_open(f->path, &s), -EPROTO);
	assert_null(s);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"), 99);
}

static void test_foreign_database(void **state)
{
	struct fx *f = *state;
	rr_store *s = NULL;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	db_exec(f->path, "CREATE TABLE unrelated(x)");
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(rr_store_open(f->path, &s), -EPROTO);
	assert_null(s);
}

/* A writer waiting longer than the busy timeout gets -EBUSY, and nothing
 * of its transaction is left behind. */
static void test_busy(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = NULL;
	rr_store *s = fx_open(f);

	assert_int_equal(
	    sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(fail_rec(s, "alice", "sshd", "", NOW),
			 -EBUSY);
	assert_true(strlen(rr_store_last_error(s)) > 0);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(fail_rec(s, "alice", "sshd", "", NOW),
			 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM failures"), 1);
}

/* Another connection's write lock, held for 50 ms: the writer waits for
 * it (in short steps, rr_store.c busy_wait) and then writes. */
static void *hold_lock(void *arg)
{
	sqlite3 *db = arg;
	struct timespec ts = {0, 50 * 1000000L};

	nanosleep(&ts, NULL);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return NULL;
}

static void test_busy_waits(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = NULL;
	rr_store *s = fx_open(f);
	pthread_t t;

	assert_int_equal(
	    sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(pthread_create(&t, NULL, hold_lock, db), 0);
	assert_int_equal(fail_rec(s, "alice", "sshd", "", NOW), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	sqlite3_close(db);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM failures"), 1);
}

/* The connection keeps temporary tables, indices and sorts in memory:
 * SQLite never creates a file in TMPDIR, which in the application's
 * process may be a set-user-ID program's caller's. */
static void test_temp_store_memory(void **state)
{
	struct fx *f = *state;
	rr_store *s = fx_open(f);
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(s->db, "PRAGMA temp_store", -1,
					    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2); /* MEMORY */
	sqlite3_finalize(st);
}

/* ---- schema v3 -------------------------------------------------------- */

static int64_t col_count(const char *path, const char *table, const char *col)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM pragma_table_info('%s')"
		 " WHERE name = '%s'",
		 table, col);
	return db_int(path, sql);
}

static int64_t object_count(const char *path, const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM sqlite_master WHERE name = '%s'", name);
	return db_int(path, sql);
}

static void test_schema_v3(void **state)
{
	static const char *const cols[][2] = {
	    {"mfa_methods", "sealed"},
	    {"mfa_methods", "last_step"},
	    {"mfa_grace", "grace_start"},
	    {"mfa_failures", "time"},
	    {"tap", "hash"},
	    {"tap", "used"},
	    {"signins", "mfa"},
	    {"signins", "device"},
	    {"familiar_devices", "device"},
	    {"must_change", "since"},
	    {"aggregations", "min_level"},
	    {"aggregations", "to_time"},
	    {"failures", "netkey"},
	    {"failures", "tag"},
	    {"signins", "seq"},
	};
	static const char *const objects[] = {
	    "mfa_methods",
	    "mfa_grace",
	    "mfa_failures",
	    "tap",
	    "mfa_failures_user_time",
	    "tap_user",
	    "failures_rhost_time",
	    "failures_user_netkey_time",
	    "detections_ref",
	    "aggregations",
	    "shared_revs",
	    "shared_bad",
	    "shared_queue",
	    "fleet_failures",
	    "fleet_failures_batch",
	    "fleet_failures_user",
	    "fleet_failures_rhost",
	    "signins_seq",
	    "safe_refs",
	    "fleet_signins",
	    "fleet_signins_user",
	    "fleet_signins_time",
	};
	struct fx *f = *state;
	size_t i;

	fx_open(f);
	assert_int_equal(RR_STORE_SCHEMA_VERSION, 10);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"), 10);
	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		assert_int_equal(col_count(f->path, cols[i][0], cols[i][1]), 1);
	for (i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		assert_int_equal(object_count(f->path, objects[i]), 1);
	/* Reopening a current store changes nothing. */
	fx_reopen(f);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"), 10);
}

static void make_v2(struct fx *f, const char *extra)
{
	char sql[4096];

	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(sql, sizeof(sql),
		 "BEGIN;" RRS_SCHEMA_V2
		 "INSERT INTO users VALUES ('bob', 'medium', 'atRisk',"
		 " 'none', 100);"
		 "INSERT INTO signins VALUES ('BBBB-0001', 1000, 'bob',"
		 " 'sshd', '192.0.2.10', 'pts/1', 'nk-office', 'allow',"
		 " 'success', 'none', 'none', '', '', '', 'ok');"
		 "INSERT INTO signins VALUES ('BBBB-0002', 2000, 'bob',"
		 " 'sshd', '198.51.100.7', 'pts/2', 'nk-away', 'block',"
		 " 'blocked', 'high', 'medium', 'maliciousIPAddress:high',"
		 " 'Block', '', 'blocked');"
		 "INSERT INTO detections(user, type, level, state, detail,"
		 " scope, ref, source, detected, updated) VALUES ('bob',"
		 " 'maliciousIPAddress', 'high', 'atRisk', 'none', 'signin',"
		 " 'BBBB-0002', '198.51.100.7', 2000, 2000);"
		 "INSERT INTO familiar_networks VALUES ('bob', 'nk-office',"
		 " 1000, 1000, 1);"
		 "INSERT INTO failures(user, service, rhost, time)"
		 " VALUES ('bob', 'sshd', '198.51.100.7', 1500);"
		 "INSERT INTO user_stats VALUES ('bob', 1, 1000, 1000, 0);"
		 "INSERT INTO audit(time, actor, action, target, detail)"
		 " VALUES (950, 'root', 'dismiss', 'carol', 'closed 0');"
		 "%s COMMIT;",
		 extra);
	db_exec(f->path, sql);
	assert_int_equal(chmod(f->path, 0600), 0);
}

static void test_migrate_v2(void **state)
{
	static const uint8_t sealed[] = {1, 2, 3, 4, 5};
	struct fx *f = *state;
	rr_store_signin_filter sf = {.ref = "BBBB-0002"};
	rr_store_signin *rows = NULL;
	rr_store_audit *a = NULL;
	rr_store_mfa m;
	rr_store_user u;
	rr_history h;
	size_t n;

	make_v2(f, "");
	fx_open(f);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"),
			 RR_STORE_SCHEMA_VERSION);
	mode_is(f->path, 0100600);

	assert_int_equal(rr_store_signins_list(f->s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].time, 2000);
	assert_string_equal(rows[0].tty, "pts/2");
	assert_string_equal(rows[0].outcome, "blocked");
	assert_string_equal(rows[0].reason, "blocked");
	assert_string_equal(rows[0].mfa, "");
	free(rows);
	assert_int_equal(signins_count(f->s, "bob", NULL), 2);
	assert_int_equal(rr_store_user_get(f->s, "bob", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_MEDIUM);
	assert_int_equal(u.active_detections, 1);
	assert_int_equal(
	    rr_store_history(f->s, "bob", "nk-office", 1600, 600, &h), 0);
	assert_int_equal(h.successes, 1);
	assert_true(h.network_seen);
	/* a failure from before version 6 has no source: it counts toward
	 * no network's bruteForce (it expires with the window) */
	assert_int_equal(h.recent_failures, 0);
	assert_int_equal(rr_store_history(f->s, "bob", NULL, 1600, 600, &h), 0);
	assert_int_equal(h.recent_failures, 1);
	assert_int_equal(rr_store_audit_list(f->s, 0, &a, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].target, "carol");
	free(a);

	/* The MFA tables work. */
	assert_int_equal(rr_store_mfa_register(f->s, "bob", sealed,
					       sizeof(sealed), 0, 6, 30, 7,
					       3000),
			 0);
	assert_int_equal(rr_store_mfa_get(f->s, "bob", 3000, 900, &m), 0);
	assert_true(m.registered);
	assert_int_equal(m.last_step, 7);
	fx_reopen(f);
	same_schema_as_fresh(f);
}

/* A failing step leaves the store at its old version, untouched: v1 -> 3
 * runs in one transaction, like 2 -> 3. */
static void test_migrate_v3_atomic(void **state)
{
	struct fx *f = *state;
	rr_store *s = NULL;

	make_v2(f, "CREATE TABLE tap(x);");
	assert_true(rr_store_open(f->path, &s) < 0);
	assert_null(s);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"), 2);
	assert_int_equal(col_count(f->path, "signins", "mfa"), 0);
	assert_int_equal(object_count(f->path, "mfa_methods"), 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM signins"), 2);
	fx_teardown(state);
	fx_setup(state);
	f = *state;

	make_v1(f, "CREATE TABLE mfa_grace(x);");
	assert_true(rr_store_open(f->path, &s) < 0);
	assert_null(s);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"), 1);
	assert_int_equal(col_count(f->path, "signins", "tty"), 0);
	assert_int_equal(object_count(f->path, "familiar_networks"), 0);
	assert_int_equal(object_count(f->path, "mfa_methods"), 0);
}

/* ---- sign-ins with MFA ------------------------------------------------ */

static void test_signin_mfa(void **state)
{
	static const rr_detection dets[] = {
	    {RR_EVENT_UNFAMILIAR_FEATURES, RR_LEVEL_MEDIUM},
	    {RR_EVENT_ANONYMIZED_IP, RR_LEVEL_LOW},
	};
	struct fx *f = *state;
	rr_store_detection_filter df = {.user = "alice"};
	rr_store_signin_filter sf = {.ref = NULL};
	rr_store_detection *d = NULL;
	rr_store_signin *rows = NULL;
	char ref[RR_REF_LEN + 1], ref2[RR_REF_LEN + 1];
	char longmfa[RR_OUTCOME_MAX + 1];
	rr_signin_rec r = rec_make(NOW, "alice", "success", NULL);
	rr_store_user u;
	rr_store *s = fx_open(f);
	size_t n, i;

	r.dets = dets;
	r.n_dets = 2;
	r.signin_risk = RR_LEVEL_MEDIUM;
	r.mfa_passed = true;
	r.mfa = "passed";
	record(s, &r, ref);
	r = rec_make(NOW + 1, "alice", "denied", NULL);
	r.mfa = NULL;
	record(s, &r, ref2);

	sf.ref = ref;
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].mfa, "passed");
	assert_string_equal(
	    rows[0].detections,
	    "unfamiliarFeatures:medium,anonymizedIPAddress:low");
	free(rows);
	sf.ref = ref2;
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].mfa, "");
	free(rows);

	assert_int_equal(rr_store_detections_list(s, &df, &d, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(d[i].state, RR_STATE_REMEDIATED);
		assert_int_equal(d[i].detail, RR_DETAIL_USER_PASSED_MFA);
		assert_string_equal(d[i].ref, ref);
	}
	free(d);
	assert_int_equal(db_int(f->path,
				"SELECT count(*) FROM detections WHERE"
				" state = 'remediated' AND detail ="
				" 'userPassedMFADrivenByRiskBasedPolicy'"),
			 2);
	assert_int_equal(rr_store_user_get(s, "alice", &u), 0);
	assert_int_equal(u.active_detections, 0);

	/* Without mfa_passed they stay at risk. */
	r = rec_make(NOW + 2, "alice", "success", NULL);
	r.dets = dets;
	r.n_dets = 1;
	r.mfa = "failed";
	record(s, &r, NULL);
	assert_int_equal(dets_count(s, "alice", true), 1);

	memset(longmfa, 'm', sizeof(longmfa) - 1);
	longmfa[sizeof(longmfa) - 1] = '\0';
	r.mfa = longmfa;
	assert_int_equal(rr_store_signin_record(s, &r, ref), -EINVAL);
	longmfa[RR_OUTCOME_MAX - 1] = '\0';
	record(s, &r, ref);
	sf.ref = ref;
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_string_equal(rows[0].mfa, longmfa);
	free(rows);
}

/* ---- MFA -------------------------------------------------------------- */

static const uint8_t sealed1[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
static const uint8_t sealed2[] = {0x42, 0x43};

static void audit_is(rr_store *s, size_t idx, const char *action,
		     const char *actor, const char *target, const char *detail,
		     int64_t time)
{
	rr_store_audit *a = NULL;
	size_t n;

	assert_int_equal(rr_store_audit_list(s, 0, &a, &n), 0);
	assert_true(idx < n);
	assert_string_equal(a[idx].action, action);
	assert_string_equal(a[idx].actor, actor);
	assert_string_equal(a[idx].target, target);
	assert_string_equal(a[idx].detail, detail);
	assert_int_equal(a[idx].time, time);
	free(a);
}

/* The store's one verb for a typed code (rr_store_mfa_attempt) with a
 * check that matches `step` exactly: what the replay guard stores. */
static int check_fixed(void *ctx, int64_t last_step, int64_t *step)
{
	int64_t want = *(const int64_t *)ctx;

	if (want == -1)
		return -EACCES; /* a wrong code */
	if (want <= last_step)
		return -EALREADY;
	*step = want;
	return 0;
}

static int step_use(rr_store *s, const char *user, int64_t step)
{
	rr_store_attempt a = {.window_s = 900, .max_failures = UINT_MAX,
			      .check = check_fixed, .ctx = &step};

	return rr_store_mfa_attempt(s, user, NOW, &a, NULL);
}

/* A wrong code at t: 0 and the failures in the window, like the module's
 * count. */
static int code_wrong(rr_store *s, const char *user, int64_t t,
		      unsigned window_s, unsigned *count)
{
	int64_t wrong = -1;
	rr_store_attempt a = {.window_s = window_s, .max_failures = UINT_MAX,
			      .check = check_fixed, .ctx = &wrong};
	int r = rr_store_mfa_attempt(s, user, t, &a, count);

	return r == -EACCES ? 0 : r;
}

static void test_mfa_empty(void **state)
{
	struct fx *f = *state;
	rr_store_mfa m, zero;
	rr_store *s = fx_open(f);

	memset(&m, 0x5a, sizeof(m));
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(rr_store_mfa_get(s, "nobody", NOW, 900, &m), 0);
	assert_memory_equal(&m, &zero, sizeof(m));
}

static void test_mfa_bad_args(void **state)
{
	struct fx *f = *state;
	uint8_t big[RR_STORE_SEALED_MAX + 1] = {0};
	uint8_t hash[RR_STORE_TAP_HASH_LEN] = {0};
	char longname[RR_USER_MAX + 2];
	rr_store_mfa m;
	int64_t start = 0;
	rr_store *s = fx_open(f);

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(rr_store_mfa_get(s, longname, NOW, 9, &m), -EINVAL);
	assert_int_equal(rr_store_mfa_get(s, "", NOW, 9, &m), -EINVAL);
	assert_int_equal(rr_store_mfa_get(s, "a", NOW, 9, NULL), -EINVAL);
	assert_int_equal(rr_store_mfa_grace_begin(s, NULL, NOW, &start),
			 -EINVAL);
	assert_int_equal(rr_store_mfa_grace_begin(s, "a", NOW, NULL), -EINVAL);
	assert_int_equal(
	    rr_store_mfa_register(s, "a", big, 0, 0, 6, 30, 1, NOW), -EINVAL);
	assert_int_equal(
	    rr_store_mfa_register(s, "a", big, sizeof(big), 0, 6, 30, 1, NOW),
	    -EINVAL);
	assert_int_equal(
	    rr_store_mfa_register(s, "a", NULL, 4, 0, 6, 30, 1, NOW), -EINVAL);
	assert_int_equal(
	    rr_store_mfa_register(s, "a", big, 4, 0, 0, 30, 1, NOW), -EINVAL);
	assert_int_equal(rr_store_mfa_register(s, "a", big, 4, 0, 6, 0, 1, NOW),
			 -EINVAL);
	assert_int_equal(
	    rr_store_mfa_register(s, longname, big, 4, 0, 6, 30, 1, NOW),
	    -EINVAL);
	assert_int_equal(step_use(s, longname, 5), -EINVAL);
	assert_int_equal(code_wrong(s, "", NOW, 9, NULL), -EINVAL);
	assert_int_equal(rr_store_mfa_reset(s, "a", "", NOW), -EINVAL);
	assert_int_equal(rr_store_mfa_reset(s, "a", NULL, NOW), -EINVAL);
	assert_int_equal(rr_store_mfa_grace_reset(s, longname, "root", NOW),
			 -EINVAL);
	assert_int_equal(rr_store_tap_issue(s, "a", hash, NOW, "root", NOW),
			 -EINVAL);
	assert_int_equal(
	    rr_store_tap_issue(s, "a", NULL, NOW + 60, "root", NOW), -EINVAL);
	assert_int_equal(rr_store_tap_issue(s, "a", hash, NOW + 60, "", NOW),
			 -EINVAL);
	assert_int_equal(rr_store_tap_consume(s, "a", NULL, NOW), -EINVAL);
	assert_int_equal(rr_store_tap_consume(s, longname, hash, NOW), -EINVAL);
	/* Nothing was written. */
	assert_int_equal(db_int(f->path, "SELECT (SELECT count(*) FROM"
					 " mfa_methods) + (SELECT count(*)"
					 " FROM tap) + (SELECT count(*) FROM"
					 " audit) + (SELECT count(*) FROM"
					 " mfa_grace)"),
			 0);
	/* The longest valid name works. */
	longname[RR_USER_MAX] = '\0';
	assert_int_equal(
	    rr_store_mfa_register(s, longname, big, 4, 0, 6, 30, 1, NOW), 0);
}

static void test_mfa_grace(void **state)
{
	struct fx *f = *state;
	rr_store_mfa m;
	int64_t start = 0;
	rr_store *s = fx_open(f);

	assert_int_equal(rr_store_mfa_grace_begin(s, "alice", NOW, &start), 0);
	assert_int_equal(start, NOW);
	/* Later interrupts keep the first start. */
	assert_int_equal(
	    rr_store_mfa_grace_begin(s, "alice", NOW + 5 * DAY, &start), 0);
	assert_int_equal(start, NOW);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 5 * DAY, 900, &m),
			 0);
	assert_int_equal(m.grace_start, NOW);
	assert_false(m.registered);
	/* Per user. */
	assert_int_equal(rr_store_mfa_grace_begin(s, "bob", NOW + DAY, &start),
			 0);
	assert_int_equal(start, NOW + DAY);

	assert_int_equal(
	    rr_store_mfa_grace_reset(s, "alice", "admin1", NOW + 6 * DAY), 0);
	audit_is(s, 0, "mfa-grace-reset", "admin1", "alice",
		 "grace period restarts at the next sign-in", NOW + 6 * DAY);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 6 * DAY, 900, &m),
			 0);
	assert_int_equal(m.grace_start, 0);
	assert_int_equal(
	    rr_store_mfa_grace_begin(s, "alice", NOW + 7 * DAY, &start), 0);
	assert_int_equal(start, NOW + 7 * DAY);
	assert_int_equal(rr_store_mfa_get(s, "bob", NOW, 900, &m), 0);
	assert_int_equal(m.grace_start, NOW + DAY);

	assert_int_equal(
	    rr_store_mfa_grace_reset(s, "carol", "root", NOW + 8 * DAY), 0);
	audit_is(s, 0, "mfa-grace-reset", "root", "carol",
		 "no grace period had started", NOW + 8 * DAY);
}

static void test_mfa_register_reset(void **state)
{
	struct fx *f = *state;
	uint8_t hash[RR_STORE_TAP_HASH_LEN];
	rr_store_mfa m;
	unsigned count = 0;
	rr_store *s = fx_open(f);

	/* no authenticator: no code to count */
	assert_int_equal(code_wrong(s, "alice", NOW - 10, 900, &count),
			 -ENOENT);
	assert_int_equal(rr_store_mfa_register(s, "alice", sealed1,
					       sizeof(sealed1), 2, 8, 60,
					       NOW / 60, NOW),
			 0);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW, 900, &m), 0);
	assert_true(m.registered);
	assert_int_equal(m.sealed_len, sizeof(sealed1));
	assert_memory_equal(m.sealed, sealed1, sizeof(sealed1));
	assert_int_equal(m.alg, 2);
	assert_int_equal(m.digits, 8);
	assert_int_equal(m.period, 60);
	assert_int_equal(m.registered_at, NOW);
	assert_int_equal(m.last_step, NOW / 60);
	assert_int_equal(m.recent_failures, 0);

	/* One authenticator per user; the first one stays. */
	assert_int_equal(rr_store_mfa_register(s, "alice", sealed2,
					       sizeof(sealed2), 0, 6, 30, 1,
					       NOW + 1),
			 -EEXIST);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW, 900, &m), 0);
	assert_memory_equal(m.sealed, sealed1, sizeof(sealed1));
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM mfa_methods"),
			 1);

	/* Reset removes the authenticator, failures and passes. */
	assert_int_equal(code_wrong(s, "alice", NOW + 5, 900, NULL),
			 0);
	memset(hash, 7, sizeof(hash));
	assert_int_equal(
	    rr_store_tap_issue(s, "alice", hash, NOW + 3600, "root", NOW + 6),
	    0);
	assert_int_equal(rr_store_mfa_reset(s, "alice", "admin1", NOW + 10), 0);
	audit_is(s, 0, "mfa-reset", "admin1", "alice",
		 "authenticator removed, unused access pass revoked", NOW + 10);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 10, 900, &m), 0);
	assert_false(m.registered);
	assert_int_equal(m.sealed_len, 0);
	assert_int_equal(m.recent_failures, 0);
	assert_false(m.tap_pending);
	assert_int_equal(rr_store_tap_consume(s, "alice", hash, NOW + 11),
			 -EACCES);
	assert_int_equal(step_use(s, "alice", NOW), -ENOENT);

	/* And the user registers again, with a new secret. */
	assert_int_equal(rr_store_mfa_register(s, "alice", sealed2,
					       sizeof(sealed2), 0, 6, 30, 100,
					       NOW + 20),
			 0);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 20, 900, &m), 0);
	assert_true(m.registered);
	assert_int_equal(m.sealed_len, sizeof(sealed2));
	assert_memory_equal(m.sealed, sealed2, sizeof(sealed2));
	assert_int_equal(m.last_step, 100);

	assert_int_equal(rr_store_mfa_reset(s, "bob", "root", NOW + 30), 0);
	audit_is(s, 0, "mfa-reset", "root", "bob",
		 "no authenticator was registered", NOW + 30);
	/* Alice is untouched by bob's reset. */
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 30, 900, &m), 0);
	assert_true(m.registered);
}

static void test_mfa_use_step(void **state)
{
	static const struct {
		const char *user;
		int64_t step;
		int err;
		int64_t last; /* stored afterwards */
	} steps[] = {
	    {"alice", 101, 0, 101},         /* newer */
	    {"alice", 101, -EALREADY, 101}, /* replay */
	    {"alice", 100, -EALREADY, 101}, /* older, the registration's */
	    {"alice", 50, -EALREADY, 101},  /* much older */
	    {"alice", 103, 0, 103},         /* skipping one is fine */
	    {"alice", 102, -EALREADY, 103}, /* the skipped one is not */
	    {"bob", 5, -ENOENT, 0},         /* no authenticator */
	    {"alice", INT64_MAX, 0, INT64_MAX},
	    {"alice", INT64_MAX, -EALREADY, INT64_MAX},
	};
	struct fx *f = *state;
	rr_store_mfa m;
	rr_store *s = fx_open(f);
	size_t i;

	assert_int_equal(rr_store_mfa_register(s, "alice", sealed1,
					       sizeof(sealed1), 0, 6, 30, 100,
					       NOW),
			 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int err =
		    step_use(s, steps[i].user, steps[i].step);

		if (err != steps[i].err)
			fail_msg("case %zu: got %d, want %d", i, err,
				 steps[i].err);
		assert_int_equal(
		    rr_store_mfa_get(s, steps[i].user, NOW, 900, &m), 0);
		assert_int_equal(m.last_step, steps[i].last);
	}
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM mfa_methods"),
			 1);
}

/* ---- parallel replay -------------------------------------------------- */

#define REPLAYERS 8
#define REPLAY_ROUNDS 5

/* Open the store, say so on `ready`, wait for `go` to close, then try the
 * step: exit 0 accepted, 1 replay, 2 anything else. */
static int replayer(const char *path, int ready, int go, int64_t step)
{
	rr_store *s = NULL;
	char c = 'r';
	int err;

	err = rr_store_open(path, &s);
	if (write(ready, &c, 1) != 1 || err)
		return 2;
	close(ready);
	if (read(go, &c, 1) != 0)
		return 2;
	err = step_use(s, "alice", step);
	rr_store_close(s);
	if (err == 0)
		return 0;
	return err == -EALREADY ? 1 : 2;
}

static void replay_round(struct fx *f, int64_t step)
{
	int ready[2], go[2], st, accepted = 0, refused = 0;
	pid_t pids[REPLAYERS];
	char c;
	size_t i;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	for (i = 0; i < REPLAYERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(ready[0]);
			close(go[1]);
			_exit(replayer(f->path, ready[1], go[0], step));
		}
	}
	close(ready[1]);
	close(go[0]);
	/* Everyone has the store open: release them together. */
	for (i = 0; i < REPLAYERS; i++)
		assert_int_equal(read(ready[0], &c, 1), 1);
	close(go[1]);
	close(ready[0]);
	for (i = 0; i < REPLAYERS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		accepted += WEXITSTATUS(st) == 0;
		refused += WEXITSTATUS(st) == 1;
	}
	assert_int_equal(accepted, 1);
	assert_int_equal(refused, REPLAYERS - 1);
}

static void test_mfa_parallel_replay(void **state)
{
	struct fx *f = *state;
	rr_store_mfa m;
	int64_t round;

	assert_int_equal(rr_store_mfa_register(fx_open(f), "alice", sealed1,
					       sizeof(sealed1), 0, 6, 30, 100,
					       NOW),
			 0);
	rr_store_close(f->s);
	f->s = NULL;
	for (round = 1; round <= REPLAY_ROUNDS; round++)
		replay_round(f, 100 + round);
	assert_int_equal(rr_store_mfa_get(fx_open(f), "alice", NOW, 900, &m),
			 0);
	assert_int_equal(m.last_step, 100 + REPLAY_ROUNDS);
}

/* ---- failures --------------------------------------------------------- */

static void test_mfa_failures(void **state)
{
	static const struct {
		const char *user;
		int64_t at;
		unsigned count; /* in [at - 900, at] after recording */
	} fails[] = {
	    {"alice", NOW - 1000, 1}, {"alice", NOW - 901, 2},
	    {"alice", NOW - 900, 3},  {"alice", NOW - 100, 4},
	    {"bob", NOW - 100, 1},    {"alice", NOW, 3},
	    {"alice", NOW, 4},        {"alice", NOW + 10, 4},
	};
	struct fx *f = *state;
	rr_store_mfa m;
	unsigned count;
	rr_store *s = fx_open(f);
	size_t i;

	assert_int_equal(rr_store_mfa_register(s, "alice", sealed1,
					       sizeof(sealed1), 0, 6, 30, 1,
					       NOW - 2000), 0);
	assert_int_equal(rr_store_mfa_register(s, "bob", sealed1,
					       sizeof(sealed1), 0, 6, 30, 1,
					       NOW - 2000), 0);
	for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		count = 99;
		assert_int_equal(code_wrong(s, fails[i].user,
						      fails[i].at, 900, &count),
				 0);
		if (count != fails[i].count)
			fail_msg("case %zu: got %u, want %u", i, count,
				 fails[i].count);
	}
	/* since now - 900: -900 -100 0 0 and +10 (a failure recorded by a
	 * sign-in whose clock was ahead still counts); -901 is out */
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW, 900, &m), 0);
	assert_int_equal(m.recent_failures, 5);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW, 0, &m), 0);
	assert_int_equal(m.recent_failures, 3);
	/* The start is inclusive. */
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 10, 1009, &m), 0);
	assert_int_equal(m.recent_failures, 6);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 10, 1010, &m), 0);
	assert_int_equal(m.recent_failures, 7);
	assert_int_equal(rr_store_mfa_get(s, "bob", NOW, 900, &m), 0);
	assert_int_equal(m.recent_failures, 1);
	assert_int_equal(rr_store_mfa_get(s, "carol", NOW, 900, &m), 0);
	assert_int_equal(m.recent_failures, 0);
}

/* ---- temporary access passes ------------------------------------------ */

static void tap_hash(uint8_t h[RR_STORE_TAP_HASH_LEN], uint8_t seed)
{
	size_t i;

	for (i = 0; i < RR_STORE_TAP_HASH_LEN; i++)
		h[i] = (uint8_t)(seed + i * 7);
}

static void test_tap(void **state)
{
	struct fx *f = *state;
	uint8_t h1[RR_STORE_TAP_HASH_LEN], h2[RR_STORE_TAP_HASH_LEN];
	uint8_t near[RR_STORE_TAP_HASH_LEN];
	rr_store_mfa m;
	rr_store *s = fx_open(f);

	tap_hash(h1, 1);
	tap_hash(h2, 2);
	memcpy(near, h1, sizeof(near));
	near[RR_STORE_TAP_HASH_LEN - 1] ^= 1;

	assert_int_equal(
	    rr_store_tap_issue(s, "alice", h1, NOW + 3600, "admin1", NOW), 0);
	/* 1700000000 + 3600 */
	audit_is(s, 0, "tap-issue", "admin1", "alice",
		 "expires 2023-11-14T23:13:20Z", NOW);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 1, 900, &m), 0);
	assert_true(m.tap_pending);
	assert_int_equal(m.tap_expires, NOW + 3600);
	assert_false(m.registered);

	/* Wrong hash (even by one bit), wrong user, expired: refused. */
	assert_int_equal(rr_store_tap_consume(s, "alice", h2, NOW + 1),
			 -EACCES);
	assert_int_equal(rr_store_tap_consume(s, "alice", near, NOW + 1),
			 -EACCES);
	assert_int_equal(rr_store_tap_consume(s, "bob", h1, NOW + 1), -EACCES);
	assert_int_equal(rr_store_tap_consume(s, "alice", h1, NOW + 3600),
			 -EACCES);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 3600, 900, &m), 0);
	assert_false(m.tap_pending);
	assert_int_equal(m.tap_expires, 0);
	/* Once, just before it expires; never again. */
	assert_int_equal(rr_store_tap_consume(s, "alice", h1, NOW + 3599), 0);
	assert_int_equal(rr_store_tap_consume(s, "alice", h1, NOW + 3599),
			 -EACCES);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 2, 900, &m), 0);
	assert_false(m.tap_pending);

	/* A new pass revokes the unused one. */
	assert_int_equal(rr_store_tap_issue(s, "alice", h1, NOW + 2 * 3600,
					    "root", NOW + 10),
			 0);
	assert_int_equal(rr_store_tap_issue(s, "alice", h2, NOW + 3 * 3600,
					    "root", NOW + 20),
			 0);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW + 30, 900, &m), 0);
	assert_true(m.tap_pending);
	assert_int_equal(m.tap_expires, NOW + 3 * 3600);
	assert_int_equal(rr_store_tap_consume(s, "alice", h1, NOW + 30),
			 -EACCES);
	assert_int_equal(rr_store_tap_consume(s, "alice", h2, NOW + 30), 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM tap"
					 " WHERE used = 0"),
			 0);
	audit_is(s, 0, "tap-issue", "root", "alice",
		 "expires 2023-11-15T01:13:20Z", NOW + 20);
	audit_is(s, 1, "tap-issue", "root", "alice",
		 "expires 2023-11-15T00:13:20Z", NOW + 10);
	/* A pass issued at time 0 is still marked used once consumed. */
	assert_int_equal(rr_store_tap_issue(s, "zed", h1, 100, "root", 0), 0);
	assert_int_equal(rr_store_tap_consume(s, "zed", h1, 0), 0);
	assert_int_equal(rr_store_tap_consume(s, "zed", h1, 0), -EACCES);
}

/* ---- pruning ---------------------------------------------------------- */

static void test_mfa_prune(void **state)
{
	struct fx *f = *state;
	uint8_t h[RR_STORE_TAP_HASH_LEN];
	rr_store_mfa m;
	rr_store *s = fx_open(f);
	int i;

	assert_int_equal(rr_store_mfa_register(s, "alice", sealed1,
					       sizeof(sealed1), 0, 6, 30, 1,
					       NOW - 40 * DAY), 0);
	/* More than one batch of old failures, and one recent. */
	for (i = 0; i < 1100; i++)
		assert_int_equal(
		    code_wrong(s, "alice", NOW - 31 * DAY, 900, NULL),
		    0);
	assert_int_equal(
	    code_wrong(s, "alice", NOW - 29 * DAY, 900, NULL), 0);
	/* Passes: used 100 days ago, expired unused 95 days ago, used 10
	 * days ago, still usable. */
	tap_hash(h, 1);
	assert_int_equal(rr_store_tap_issue(s, "t1", h, NOW - 100 * DAY + 60,
					    "root", NOW - 100 * DAY),
			 0);
	assert_int_equal(rr_store_tap_consume(s, "t1", h, NOW - 100 * DAY), 0);
	assert_int_equal(rr_store_tap_issue(s, "t2", h, NOW - 95 * DAY, "root",
					    NOW - 96 * DAY),
			 0);
	assert_int_equal(rr_store_tap_issue(s, "t3", h, NOW - 10 * DAY + 60,
					    "root", NOW - 10 * DAY),
			 0);
	assert_int_equal(rr_store_tap_consume(s, "t3", h, NOW - 10 * DAY), 0);
	assert_int_equal(
	    rr_store_tap_issue(s, "t4", h, NOW + 3600, "root", NOW - 60), 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM mfa_failures"),
			 1101);

	signin_with_det(s, NOW, NULL); /* the prune runs now */
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM mfa_failures"),
			 1);
	assert_int_equal(rr_store_mfa_get(s, "alice", NOW, 40 * DAY, &m), 0);
	assert_int_equal(m.recent_failures, 1);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM tap"), 2);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM tap"
					 " WHERE user IN ('t3', 't4')"),
			 2);
	assert_int_equal(rr_store_mfa_get(s, "t4", NOW, 900, &m), 0);
	assert_true(m.tap_pending);
	/* Audit rows are never pruned. */
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM audit"), 4);
}

/* ---- detections: spray, user risk, aggregation, confirm-safe ------------ */

#define SPRAY_IP "192.0.2.50"
#define HOUR INT64_C(3600)

static void spray_fail(rr_store *s, const char *user, const char *rhost,
		    int64_t t)
{
	assert_int_equal(fail_rec(s, user, "sshd", rhost, t), 0);
}

static uint64_t spray(rr_store *s, const char *rhost, int64_t now,
		      unsigned window)
{
	uint64_t n = 999;

	assert_int_equal(rr_store_spray_count(s, rhost, now, window, &n), 0);
	return n;
}

/* The detail column of EXPLAIN QUERY PLAN, all rows joined. */
static bool plan_uses(const char *path, const char *sql, const char *index)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char q[512];
	bool hit = false;

	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strstr((const char *)sqlite3_column_text(st, 3), index))
			hit = true;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return hit;
}

static void test_spray_count(void **state)
{
	struct fx *f = *state;
	rr_store *s = fx_open(f);
	uint64_t n = 7;

	/* u1 twice, u2, u3 inside the hour; u4 exactly at its start */
	spray_fail(s, "u1", SPRAY_IP, NOW - 100);
	spray_fail(s, "u1", SPRAY_IP, NOW - 90);
	spray_fail(s, "u2", SPRAY_IP, NOW - 50);
	spray_fail(s, "u3", SPRAY_IP, NOW);
	spray_fail(s, "u4", SPRAY_IP, NOW - HOUR);
	/* outside: one second too old, one second in the future */
	spray_fail(s, "u5", SPRAY_IP, NOW - HOUR - 1);
	spray_fail(s, "u6", SPRAY_IP, NOW + 1);
	/* another source, and local failures (no source) */
	spray_fail(s, "u7", "192.0.2.51", NOW - 10);
	spray_fail(s, "u8", "", NOW - 10);
	spray_fail(s, "u9", NULL, NOW - 10);

	assert_int_equal(spray(s, SPRAY_IP, NOW, 3600), 4);
	assert_int_equal(spray(s, SPRAY_IP, NOW, 3599), 3);
	assert_int_equal(spray(s, SPRAY_IP, NOW + 1, 3600), 4); /* u4 out, u6 in */
	assert_int_equal(spray(s, SPRAY_IP, NOW, 0), 1);
	assert_int_equal(spray(s, "192.0.2.51", NOW, 3600), 1);
	assert_int_equal(spray(s, "192.0.2.5", NOW, 3600), 0);
	/* a local sign-in has no source: never a spray */
	assert_int_equal(spray(s, "", NOW, 3600), 0);
	assert_int_equal(spray(s, NULL, NOW, 3600), 0);

	assert_int_equal(rr_store_spray_count(NULL, SPRAY_IP, NOW, 1, &n),
			 -EINVAL);
	assert_int_equal(rr_store_spray_count(s, SPRAY_IP, NOW, 1, NULL),
			 -EINVAL);
	{
		char longhost[RR_RHOST_MAX + 2];

		memset(longhost, 'a', sizeof(longhost) - 1);
		longhost[sizeof(longhost) - 1] = '\0';
		assert_int_equal(
		    rr_store_spray_count(s, longhost, NOW, 1, &n), -EINVAL);
	}
	assert_int_equal(n, 7);
	/* logarithmic: the count reads the (rhost, time) index */
	assert_true(plan_uses(f->path,
			      "SELECT count(DISTINCT user) FROM failures WHERE"
			      " rhost = 'x' AND time >= 1 AND time <= 2",
			      "failures_rhost_time"));
}

#define SPRAYERS 8
#define SPRAYER_FAILURES 20

/* Each process fails for two users of its own from the same source. */
static int sprayer(const char *path, int id)
{
	rr_store *s = NULL;
	char user[16];
	int i, err;

	err = rr_store_open(path, &s);
	for (i = 0; !err && i < SPRAYER_FAILURES; i++) {
		snprintf(user, sizeof(user), "spray%d%s", id, i % 2 ? "b" : "");
		err = fail_rec(s, user, "sshd", SPRAY_IP,
					      NOW - i);
	}
	rr_store_close(s);
	return err ? 1 : 0;
}

static void test_spray_parallel(void **state)
{
	struct fx *f = *state;
	pid_t pids[SPRAYERS];
	size_t i;
	int st;

	fx_open(f);
	rr_store_close(f->s);
	f->s = NULL;
	for (i = 0; i < SPRAYERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(sprayer(f->path, (int)i));
	}
	for (i = 0; i < SPRAYERS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	fx_open(f);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM failures"),
			 SPRAYERS * SPRAYER_FAILURES);
	assert_int_equal(spray(f->s, SPRAY_IP, NOW, 3600), 2 * SPRAYERS);
	/* the newest failure of each process only: its "b" user is at
	 * NOW - 1, its first user at NOW */
	assert_int_equal(spray(f->s, SPRAY_IP, NOW, 0), SPRAYERS);
}

static rr_store_user user_of(rr_store *s, const char *user)
{
	rr_store_user u;

	assert_int_equal(rr_store_user_get(s, user, &u), 0);
	return u;
}

static void user_is(rr_store *s, const char *user, rr_level level,
		    rr_state state, rr_detail detail, int64_t updated)
{
	rr_store_user u = user_of(s, user);

	assert_int_equal(u.level, level);
	assert_int_equal(u.state, state);
	assert_int_equal(u.detail, detail);
	if (updated >= 0)
		assert_int_equal(u.updated, updated);
}

static void test_user_detection_add(void **state)
{
	struct fx *f = *state;
	rr_store_detection_filter df = {.user = "alice"};
	rr_store_detection *d = NULL;
	rr_store *s = fx_open(f);
	char longsrc[RR_RHOST_MAX + 2];
	size_t n;

	assert_int_equal(rr_store_user_detection_add(
			     s, "alice", RR_EVENT_LEAKED_CREDENTIALS,
			     RR_LEVEL_MEDIUM, NULL, NOW),
			 0);
	user_is(s, "alice", RR_LEVEL_MEDIUM, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW);
	assert_int_equal(user_of(s, "alice").active_detections, 1);
	/* the same type again: refreshed, not duplicated */
	assert_int_equal(rr_store_user_detection_add(
			     s, "alice", RR_EVENT_LEAKED_CREDENTIALS,
			     RR_LEVEL_HIGH, "hash-file", NOW + 10),
			 0);
	assert_int_equal(rr_store_detections_list(s, &df, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].type, RR_EVENT_LEAKED_CREDENTIALS);
	assert_int_equal(d[0].level, RR_LEVEL_HIGH);
	assert_int_equal(d[0].state, RR_STATE_AT_RISK);
	assert_true(d[0].user_scope);
	assert_string_equal(d[0].source, "hash-file");
	assert_int_equal(d[0].detected, NOW);
	assert_int_equal(d[0].updated, NOW + 10);
	free(d);
	user_is(s, "alice", RR_LEVEL_HIGH, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW + 10);
	/* another type at a lower level: two detections, level the highest */
	assert_int_equal(rr_store_user_detection_add(
			     s, "alice", RR_EVENT_HOME_TENANT_USER_RISK,
			     RR_LEVEL_LOW, NULL, NOW + 20),
			 0);
	assert_int_equal(dets_count(s, "alice", true), 2);
	user_is(s, "alice", RR_LEVEL_HIGH, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW + 20);
	/* dismissed: closed; a new detection is a new row */
	assert_int_equal(rr_store_admin(s, RR_ADMIN_DISMISS, "alice", "root",
					NOW + 30, NULL),
			 0);
	assert_int_equal(rr_store_user_detection_add(
			     s, "alice", RR_EVENT_LEAKED_CREDENTIALS,
			     RR_LEVEL_LOW, NULL, NOW + 40),
			 0);
	assert_int_equal(dets_count(s, "alice", false), 3);
	assert_int_equal(dets_count(s, "alice", true), 1);
	user_is(s, "alice", RR_LEVEL_LOW, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW + 40);
	/* a user confirmed compromised stays so, high */
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED, "bob",
					"root", NOW, NULL),
			 0);
	assert_int_equal(rr_store_user_detection_add(
			     s, "bob", RR_EVENT_LEAKED_CREDENTIALS,
			     RR_LEVEL_LOW, NULL, NOW + 1),
			 0);
	user_is(s, "bob", RR_LEVEL_HIGH, RR_STATE_CONFIRMED_COMPROMISED,
		RR_DETAIL_ADMIN_CONFIRMED_COMPROMISED, NOW + 1);

	memset(longsrc, 'a', sizeof(longsrc) - 1);
	longsrc[sizeof(longsrc) - 1] = '\0';
	assert_int_equal(rr_store_user_detection_add(
			     s, "alice", RR_EVENT_LEAKED_CREDENTIALS,
			     RR_LEVEL_NONE, NULL, NOW),
			 -EINVAL);
	assert_int_equal(rr_store_user_detection_add(s, "alice",
						     (rr_event)99,
						     RR_LEVEL_LOW, NULL, NOW),
			 -EINVAL);
	assert_int_equal(rr_store_user_detection_add(
			     s, "alice", RR_EVENT_LEAKED_CREDENTIALS,
			     (rr_level)9, NULL, NOW),
			 -EINVAL);
	assert_int_equal(rr_store_user_detection_add(
			     s, "", RR_EVENT_LEAKED_CREDENTIALS, RR_LEVEL_LOW,
			     NULL, NOW),
			 -EINVAL);
	assert_int_equal(rr_store_user_detection_add(
			     s, "alice", RR_EVENT_LEAKED_CREDENTIALS,
			     RR_LEVEL_LOW, longsrc, NOW),
			 -EINVAL);
	assert_int_equal(dets_count(s, "alice", false), 3);
}

/* Low user risk ages out in the decision (engine), medium persists; the
 * store keeps the time it was set. */
static void test_low_risk_ageing(void **state)
{
	struct fx *f = *state;
	rr_policy p = {.low_risk_expiry_days = 180};
	rr_store *s = fx_open(f);
	static const struct {
		const char *user;
		rr_level level;
		int64_t age;
		rr_level effective;
	} cases[] = {
	    {"low-old", RR_LEVEL_LOW, 181 * DAY, RR_LEVEL_NONE},
	    {"low-edge", RR_LEVEL_LOW, 180 * DAY, RR_LEVEL_LOW},
	    {"low-new", RR_LEVEL_LOW, 179 * DAY, RR_LEVEL_LOW},
	    {"medium-old", RR_LEVEL_MEDIUM, 400 * DAY, RR_LEVEL_MEDIUM},
	    {"high-old", RR_LEVEL_HIGH, 400 * DAY, RR_LEVEL_HIGH},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rr_store_user u;
		rr_user_risk ur;

		assert_int_equal(rr_store_user_detection_add(
				     s, cases[i].user,
				     RR_EVENT_LEAKED_CREDENTIALS,
				     cases[i].level, NULL, NOW - cases[i].age),
				 0);
		u = user_of(s, cases[i].user);
		assert_int_equal(u.updated, NOW - cases[i].age);
		ur = (rr_user_risk){u.level, u.state, u.detail, u.updated};
		assert_int_equal(rr_engine_user_risk(&p, &ur, NOW),
				 cases[i].effective);
	}
}

static const rr_detection det_medium = {RR_EVENT_UNFAMILIAR_FEATURES,
					RR_LEVEL_MEDIUM};
static const rr_detection det_high = {RR_EVENT_MALICIOUS_IP, RR_LEVEL_HIGH};
static const rr_detection det_low = {RR_EVENT_ANONYMIZED_IP, RR_LEVEL_LOW};

/* A risky sign-in of `user` at t with one detection. */
static void risky(rr_store *s, const char *user, int64_t t,
		  const rr_detection *det, bool mfa_passed, char *ref)
{
	rr_signin_rec r = rec_make(t, user, "denied", NULL);

	r.action = RR_ACTION_REQUIRE;
	r.signin_risk = det ? det->level : RR_LEVEL_MEDIUM;
	r.dets = det;
	r.n_dets = det ? 1 : 0;
	r.mfa_passed = mfa_passed;
	record(s, &r, ref);
}

static bool aggregate(rr_store *s, const char *user, int64_t now)
{
	static const rr_aggregation agg = {.enabled = true,
					   .signins = 3,
					   .min_level = RR_LEVEL_MEDIUM,
					   .window_s = 7 * 86400};
	bool raised = true;

	assert_int_equal(rr_store_aggregate(s, user, &agg, now, &raised), 0);
	return raised;
}

/*
 * On a fleet the other hosts' risky sign-ins that count (fleet_signins)
 * add to this host's own: two here and one from host b are three; one
 * outside the window, one of another user, or one dropped again (its
 * detections remediated on its host) do not count; clear empties them.
 */
static void test_aggregate_fleet(void **state)
{
	struct fx *f = *state;
	rr_store *s = fx_open(f);

	risky(s, "alice", NOW - DAY, &det_medium, false, NULL);
	risky(s, "alice", NOW, &det_medium, false, NULL);
	assert_int_equal(rr_store_fleet_signin_put(s, "BBBB-0001", "hostb",
						   "alice", NOW - 8 * DAY,
						   RR_LEVEL_HIGH), 0);
	assert_int_equal(rr_store_fleet_signin_put(s, "BBBB-0002", "hostb",
						   "bob", NOW, RR_LEVEL_HIGH),
			 0);
	assert_int_equal(rr_store_fleet_signin_put(s, "BBBB-0003", "hostb",
						   "alice", NOW, RR_LEVEL_LOW),
			 0);
	assert_false(aggregate(s, "alice", NOW));
	/* counted, then gone again before the aggregation runs */
	assert_int_equal(rr_store_fleet_signin_put(s, "BBBB-0004", "hostb",
						   "alice", NOW - 1,
						   RR_LEVEL_HIGH), 0);
	assert_int_equal(rr_store_fleet_signin_drop(s, "BBBB-0004"), 0);
	assert_false(aggregate(s, "alice", NOW));
	/* the same reference again replaces it */
	assert_int_equal(rr_store_fleet_signin_put(s, "BBBB-0004", "hostb",
						   "alice", NOW - 1,
						   RR_LEVEL_LOW), 0);
	assert_int_equal(rr_store_fleet_signin_put(s, "BBBB-0004", "hostb",
						   "alice", NOW - 1,
						   RR_LEVEL_HIGH), 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM fleet_signins"
					 " WHERE ref = 'BBBB-0004'"),
			 1);
	assert_true(aggregate(s, "alice", NOW));
	user_is(s, "alice", RR_LEVEL_HIGH, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW);
	assert_int_equal(rr_store_fleet_signins_clear(s), 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM fleet_signins"),
			 0);
	/* refused: no level, a bad reference or user */
	assert_int_equal(rr_store_fleet_signin_put(s, "BBBB-0005", "hostb",
						   "alice", NOW,
						   RR_LEVEL_NONE), -EINVAL);
	assert_int_equal(rr_store_fleet_signin_put(s, "", "hostb", "alice",
						   NOW, RR_LEVEL_LOW), -EINVAL);
	assert_int_equal(rr_store_fleet_signin_put(s, "BBBB-0005", "hostb", "",
						   NOW, RR_LEVEL_LOW), -EINVAL);
}

/* 9 -> 10: the other hosts' risky sign-ins, an empty table. */
static void test_migrate_v9(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	db_exec(f->path, "BEGIN;" RRS_SCHEMA_V7 "COMMIT;");
	db_exec(f->path, "BEGIN;" RRS_MIGRATE_7_8 RRS_MIGRATE_8_9 "COMMIT;");
	assert_int_equal(db_int(f->path, "PRAGMA user_version"), 9);
	assert_int_equal(chmod(f->path, 0600), 0);
	fx_open(f);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"),
			 RR_STORE_SCHEMA_VERSION);
	assert_int_equal(object_count(f->path, "fleet_signins"), 1);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM fleet_signins"),
			 0);
	fx_reopen(f);
	same_schema_as_fresh(f);
}

static void test_aggregate_threshold(void **state)
{
	struct fx *f = *state;
	rr_aggregation off = {.enabled = false, .signins = 1};
	rr_store *s = fx_open(f);
	bool raised = true;

	/* N - 1 = 2 medium sign-ins, a low one and a medium one without
	 * detections: not enough */
	risky(s, "alice", NOW - 2 * DAY, &det_medium, false, NULL);
	risky(s, "alice", NOW - DAY, &det_medium, false, NULL);
	risky(s, "alice", NOW - DAY, &det_low, false, NULL);
	risky(s, "alice", NOW - DAY, NULL, false, NULL);
	assert_false(aggregate(s, "alice", NOW - DAY));
	user_is(s, "alice", RR_LEVEL_NONE, RR_STATE_NONE, RR_DETAIL_NONE, -1);
	/* N = 3: user risk medium */
	risky(s, "alice", NOW, &det_medium, false, NULL);
	assert_true(aggregate(s, "alice", NOW));
	user_is(s, "alice", RR_LEVEL_MEDIUM, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW);
	/* idempotent */
	assert_false(aggregate(s, "alice", NOW + 1));
	user_is(s, "alice", RR_LEVEL_MEDIUM, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW);
	/* a high one raises it to high */
	risky(s, "alice", NOW + 2, &det_high, false, NULL);
	assert_true(aggregate(s, "alice", NOW + 2));
	user_is(s, "alice", RR_LEVEL_HIGH, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW + 2);
	/* later medium ones never lower it */
	risky(s, "alice", NOW + 20 * DAY, &det_medium, false, NULL);
	risky(s, "alice", NOW + 20 * DAY, &det_medium, false, NULL);
	risky(s, "alice", NOW + 20 * DAY, &det_medium, false, NULL);
	assert_false(aggregate(s, "alice", NOW + 20 * DAY));
	user_is(s, "alice", RR_LEVEL_HIGH, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW + 2);

	/* window edges: exactly 7 days old counts, one second more not */
	risky(s, "bob", NOW - 7 * DAY, &det_medium, false, NULL);
	risky(s, "bob", NOW - 1, &det_medium, false, NULL);
	risky(s, "bob", NOW, &det_medium, false, NULL);
	assert_true(aggregate(s, "bob", NOW));
	risky(s, "carol", NOW - 7 * DAY - 1, &det_medium, false, NULL);
	risky(s, "carol", NOW - 1, &det_medium, false, NULL);
	risky(s, "carol", NOW, &det_medium, false, NULL);
	assert_false(aggregate(s, "carol", NOW));
	/* sign-ins after `now` are not counted either */
	assert_false(aggregate(s, "bob", NOW - 2));

	/* remediated by MFA: not counted */
	risky(s, "dave", NOW - 3, &det_medium, true, NULL);
	risky(s, "dave", NOW - 2, &det_medium, true, NULL);
	risky(s, "dave", NOW - 1, &det_medium, false, NULL);
	risky(s, "dave", NOW, &det_medium, false, NULL);
	assert_false(aggregate(s, "dave", NOW));
	risky(s, "dave", NOW + 1, &det_high, false, NULL);
	assert_true(aggregate(s, "dave", NOW + 1));
	user_is(s, "dave", RR_LEVEL_HIGH, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW + 1);

	/* disabled: nothing */
	assert_int_equal(rr_store_aggregate(s, "carol", &off, NOW, &raised), 0);
	assert_false(raised);
	off.enabled = true;
	off.signins = 0;
	assert_int_equal(rr_store_aggregate(s, "carol", &off, NOW, NULL), 0);
	user_is(s, "carol", RR_LEVEL_NONE, RR_STATE_NONE, RR_DETAIL_NONE, -1);
	off.signins = 1;
	off.min_level = (rr_level)7;
	assert_int_equal(rr_store_aggregate(s, "carol", &off, NOW, NULL),
			 -EINVAL);
	assert_int_equal(rr_store_aggregate(s, "", &off, NOW, NULL), -EINVAL);
	assert_int_equal(rr_store_aggregate(s, "carol", NULL, NOW, NULL),
			 -EINVAL);
}

static void test_confirm_safe(void **state)
{
	struct fx *f = *state;
	char r1[RR_REF_LEN + 1], r2[RR_REF_LEN + 1], r3[RR_REF_LEN + 1];
	char r4[RR_REF_LEN + 1], who[RR_USER_MAX + 1] = "unchanged";
	rr_store_detection_filter df = {.user = "alice"};
	rr_store_detection *d = NULL;
	rr_store_audit *a = NULL;
	rr_store *s = fx_open(f);
	size_t n, i;

	risky(s, "alice", NOW - 3, &det_medium, false, r1);
	risky(s, "alice", NOW - 2, &det_medium, false, r2);
	risky(s, "alice", NOW - 1, &det_medium, false, r3);
	assert_true(aggregate(s, "alice", NOW - 1));
	user_is(s, "alice", RR_LEVEL_MEDIUM, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW - 1);
	/* one sign-in confirmed safe: aggregation no longer met */
	assert_int_equal(rr_store_confirm_safe(s, r2, "admin1", NOW, who), 0);
	assert_string_equal(who, "alice");
	user_is(s, "alice", RR_LEVEL_NONE, RR_STATE_CONFIRMED_SAFE,
		RR_DETAIL_ADMIN_SIGNIN_SAFE, NOW);
	assert_int_equal(rr_store_detections_list(s, &df, &d, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		bool mine = !strcmp(d[i].ref, r2);

		assert_int_equal(d[i].state, mine ? RR_STATE_CONFIRMED_SAFE
						  : RR_STATE_AT_RISK);
		assert_int_equal(d[i].detail, mine ? RR_DETAIL_ADMIN_SIGNIN_SAFE
						   : RR_DETAIL_NONE);
	}
	free(d);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM aggregations"),
			 0);
	/* and it stays so: two unremediated sign-ins are not enough */
	assert_false(aggregate(s, "alice", NOW + 1));
	assert_int_equal(rr_store_audit_list(s, 0, &a, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].action, "confirm-safe");
	assert_string_equal(a[0].actor, "admin1");
	assert_string_equal(a[0].target, "alice");
	assert_int_equal(a[0].time, NOW);
	assert_true(!strncmp(a[0].detail, "ref ", 4));
	assert_string_equal(a[0].detail + 4, r2);
	free(a);

	/* four sign-ins, the high one confirmed safe: still met, medium */
	risky(s, "bob", NOW - 4, &det_medium, false, NULL);
	risky(s, "bob", NOW - 3, &det_medium, false, NULL);
	risky(s, "bob", NOW - 2, &det_medium, false, NULL);
	risky(s, "bob", NOW - 1, &det_high, false, r4);
	assert_true(aggregate(s, "bob", NOW - 1));
	user_is(s, "bob", RR_LEVEL_HIGH, RR_STATE_AT_RISK, RR_DETAIL_NONE, -1);
	assert_int_equal(rr_store_confirm_safe(s, r4, "admin1", NOW, who), 0);
	assert_string_equal(who, "bob");
	user_is(s, "bob", RR_LEVEL_MEDIUM, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW);
	/* a user-scope detection stays: confirm-safe is about the sign-in */
	assert_int_equal(rr_store_user_detection_add(
			     s, "carol", RR_EVENT_LEAKED_CREDENTIALS,
			     RR_LEVEL_LOW, NULL, NOW),
			 0);
	risky(s, "carol", NOW, &det_high, false, r4);
	assert_int_equal(rr_store_confirm_safe(s, r4, "admin1", NOW, who), 0);
	user_is(s, "carol", RR_LEVEL_LOW, RR_STATE_AT_RISK, RR_DETAIL_NONE,
		NOW);
	/* a sign-in without detections: nothing changes, still audited */
	risky(s, "erin", NOW, NULL, false, r4);
	assert_int_equal(rr_store_confirm_safe(s, r4, "admin2", NOW, who), 0);
	assert_string_equal(who, "erin");
	user_is(s, "erin", RR_LEVEL_NONE, RR_STATE_NONE, RR_DETAIL_NONE, -1);
	/* again: idempotent */
	assert_int_equal(rr_store_confirm_safe(s, r2, "admin1", NOW + 5, who),
			 0);
	user_is(s, "alice", RR_LEVEL_NONE, RR_STATE_CONFIRMED_SAFE,
		RR_DETAIL_ADMIN_SIGNIN_SAFE, NOW);

	snprintf(who, sizeof(who), "unchanged");
	assert_int_equal(rr_store_confirm_safe(s, "0000-0000", "admin1", NOW,
					       who),
			 -ENOENT);
	assert_string_equal(who, "unchanged");
	assert_int_equal(rr_store_confirm_safe(s, "", "admin1", NOW, who),
			 -EINVAL);
	assert_int_equal(rr_store_confirm_safe(s, "0000-00000", "admin1", NOW,
					       who),
			 -EINVAL);
	assert_int_equal(rr_store_confirm_safe(s, r1, "", NOW, who), -EINVAL);
	assert_int_equal(rr_store_confirm_safe(s, r1, "admin1", NOW, NULL),
			 -EINVAL);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM audit"), 5);
}

/* dismiss and unblock close everything, aggregation included. */
static void test_dismiss_closes_aggregation(void **state)
{
	struct fx *f = *state;
	rr_store *s = fx_open(f);
	rr_admin_action act[] = {RR_ADMIN_DISMISS, RR_ADMIN_UNBLOCK};
	size_t i;

	for (i = 0; i < 2; i++) {
		int64_t t = NOW + (int64_t)i * 100;

		risky(s, "alice", t, &det_medium, false, NULL);
		risky(s, "alice", t, &det_medium, false, NULL);
		risky(s, "alice", t, &det_medium, false, NULL);
		assert_int_equal(rr_store_user_detection_add(
				     s, "alice", RR_EVENT_LEAKED_CREDENTIALS,
				     RR_LEVEL_LOW, NULL, t),
				 0);
		assert_true(aggregate(s, "alice", t));
		user_is(s, "alice", RR_LEVEL_MEDIUM, RR_STATE_AT_RISK,
			RR_DETAIL_NONE, t);
		assert_int_equal(rr_store_admin(s, act[i], "alice", "root",
						t + 1, NULL),
				 0);
		user_is(s, "alice", RR_LEVEL_NONE, RR_STATE_DISMISSED,
			RR_DETAIL_ADMIN_DISMISSED_ALL, t + 1);
		assert_int_equal(dets_count(s, "alice", true), 0);
		assert_int_equal(
		    db_int(f->path, "SELECT count(*) FROM aggregations"), 0);
		assert_false(aggregate(s, "alice", t + 2));
		user_is(s, "alice", RR_LEVEL_NONE, RR_STATE_DISMISSED,
			RR_DETAIL_ADMIN_DISMISSED_ALL, t + 1);
	}
}

static size_t dets_filtered(rr_store *s, rr_store_detection_filter *df)
{
	rr_store_detection *d = NULL;
	size_t n = 99;

	assert_int_equal(rr_store_detections_list(s, df, &d, &n), 0);
	free(d);
	return n;
}

static void test_detections_filter(void **state)
{
	struct fx *f = *state;
	rr_store_detection_filter df;
	char ref[RR_REF_LEN + 1], who[RR_USER_MAX + 1];
	rr_store *s = fx_open(f);

	risky(s, "alice", NOW - 10 * DAY, &det_medium, false, NULL);
	risky(s, "alice", NOW - DAY, &det_high, false, ref);
	risky(s, "bob", NOW - DAY, &det_medium, true, NULL);
	assert_int_equal(rr_store_user_detection_add(
			     s, "bob", RR_EVENT_LEAKED_CREDENTIALS,
			     RR_LEVEL_HIGH, NULL, NOW),
			 0);
	assert_int_equal(rr_store_confirm_safe(s, ref, "root", NOW, who), 0);

	memset(&df, 0, sizeof(df));
	assert_int_equal(dets_filtered(s, &df), 4);
	df.by_type = true;
	df.type = RR_EVENT_UNFAMILIAR_FEATURES;
	assert_int_equal(dets_filtered(s, &df), 2);
	df.user = "bob";
	assert_int_equal(dets_filtered(s, &df), 1);
	memset(&df, 0, sizeof(df));
	df.by_level = true;
	df.level = RR_LEVEL_HIGH;
	assert_int_equal(dets_filtered(s, &df), 2);
	df.level = RR_LEVEL_LOW;
	assert_int_equal(dets_filtered(s, &df), 0);
	memset(&df, 0, sizeof(df));
	df.by_state = true;
	df.state = RR_STATE_REMEDIATED;
	assert_int_equal(dets_filtered(s, &df), 1);
	df.state = RR_STATE_CONFIRMED_SAFE;
	assert_int_equal(dets_filtered(s, &df), 1);
	df.state = RR_STATE_AT_RISK;
	assert_int_equal(dets_filtered(s, &df), 2);
	df.active_only = true;
	assert_int_equal(dets_filtered(s, &df), 2);
	/* active and another state: nothing can match */
	df.state = RR_STATE_REMEDIATED;
	assert_int_equal(dets_filtered(s, &df), 0);
	memset(&df, 0, sizeof(df));
	df.since = NOW - DAY;
	assert_int_equal(dets_filtered(s, &df), 3);
	df.since = NOW - DAY + 1;
	assert_int_equal(dets_filtered(s, &df), 1);
	df.user = "alice";
	df.since = NOW - 11 * DAY;
	df.active_only = true;
	assert_int_equal(dets_filtered(s, &df), 1);
	df.limit = 1;
	df.active_only = false;
	assert_int_equal(dets_filtered(s, &df), 1);

	memset(&df, 0, sizeof(df));
	df.by_type = true;
	df.type = (rr_event)99;
	{
		rr_store_detection *d = NULL;
		size_t n = 0;

		assert_int_equal(rr_store_detections_list(s, &df, &d, &n),
				 -EINVAL);
		df.type = RR_EVENT_BRUTE_FORCE;
		df.by_level = true;
		df.level = (rr_level)8;
		assert_int_equal(rr_store_detections_list(s, &df, &d, &n),
				 -EINVAL);
		df.by_level = false;
		df.by_state = true;
		df.state = (rr_state)-1;
		assert_int_equal(rr_store_detections_list(s, &df, &d, &n),
				 -EINVAL);
	}
}

static void test_migrate_v3(void **state)
{
	struct fx *f = *state;
	rr_store_user u;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	db_exec(f->path,
		"BEGIN;" RRS_SCHEMA_V3
		"INSERT INTO users VALUES ('bob', 'medium', 'atRisk',"
		" 'none', 100);"
		"INSERT INTO failures(user, service, rhost, time)"
		" VALUES ('bob', 'sshd', '192.0.2.50', 1500);"
		"INSERT INTO failures(user, service, rhost, time)"
		" VALUES ('eve', 'sshd', '192.0.2.50', 1501);"
		"COMMIT;");
	assert_int_equal(chmod(f->path, 0600), 0);
	fx_open(f);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"),
			 RR_STORE_SCHEMA_VERSION);
	assert_int_equal(object_count(f->path, "failures_rhost_time"), 1);
	assert_int_equal(object_count(f->path, "aggregations"), 1);
	assert_int_equal(spray(f->s, SPRAY_IP, 1600, 600), 2);
	assert_int_equal(rr_store_user_get(f->s, "bob", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_MEDIUM);
	fx_reopen(f);
	same_schema_as_fresh(f);
}

/* 7 -> 8: other hosts' failures (a fleet's), empty; what a version-7
 * store held is kept and counts as before. */
static void test_migrate_v7(void **state)
{
	struct fx *f = *state;
	rr_history h;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	db_exec(f->path, "BEGIN;" RRS_SCHEMA_V7 "COMMIT;");
	db_exec(f->path,
		"BEGIN;"
		"INSERT INTO failures(user, service, rhost, time, netkey, tag)"
		" VALUES ('bob', 'sshd', '192.0.2.50', 1500, '192.0.2.0/24',"
		" '');"
		"INSERT INTO shared_queue(user, kinds, time)"
		" VALUES ('bob', 1, 1400);"
		"COMMIT;");
	assert_int_equal(chmod(f->path, 0600), 0);
	fx_open(f);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"),
			 RR_STORE_SCHEMA_VERSION);
	assert_int_equal(object_count(f->path, "fleet_failures"), 1);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM fleet_failures"),
			 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM shared_queue"),
			 1);
	assert_int_equal(rr_store_history(f->s, "bob", "192.0.2.0/24", 1600,
					  600, &h),
			 0);
	assert_int_equal(h.recent_failures, 1);
	fx_reopen(f);
	same_schema_as_fresh(f);
}

/* 8 -> 9: each sign-in's change sequence; the old rows get theirs in the
 * order they were written, and a new sign-in comes after them. */
static void test_migrate_v8(void **state)
{
	struct fx *f = *state;
	rr_signin_rec r = rec_make(1700, "carol", "success", "192.0.2.0/24");

	assert_int_equal(mkdir(f->dir, 0700), 0);
	db_exec(f->path, "BEGIN;" RRS_SCHEMA_V7 "COMMIT;");
	db_exec(f->path, "BEGIN;" RRS_MIGRATE_7_8 "COMMIT;");
	db_exec(f->path,
		"BEGIN;"
		"INSERT INTO signins(ref, time, user, service, rhost, tty,"
		" netkey, action, outcome, signin_risk, user_risk, detections,"
		" applied, report_only, reason, mfa, device) VALUES"
		" ('AAAA-0001', 1500, 'bob', 'sshd', '192.0.2.50', 'ssh',"
		" '192.0.2.0/24', 'block', 'blocked', 'high', 'none',"
		" 'unfamiliarFeatures:high', '', '', 'x', '', ''),"
		" ('AAAA-0002', 1600, 'alice', 'sshd', '192.0.2.51', 'ssh',"
		" '192.0.2.0/24', 'allow', 'success', 'none', 'none', '', '',"
		" '', 'ok', '', '');"
		"COMMIT;");
	assert_int_equal(chmod(f->path, 0600), 0);
	fx_open(f);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"),
			 RR_STORE_SCHEMA_VERSION);
	assert_int_equal(object_count(f->path, "signins_seq"), 1);
	assert_int_equal(db_int(f->path, "SELECT seq FROM signins"
					 " WHERE ref = 'AAAA-0001'"),
			 1);
	assert_int_equal(db_int(f->path, "SELECT seq FROM signins"
					 " WHERE ref = 'AAAA-0002'"),
			 2);
	record(f->s, &r, NULL);
	assert_int_equal(db_int(f->path, "SELECT seq FROM signins"
					 " WHERE user = 'carol'"),
			 3);
	assert_int_equal(signins_count(f->s, "bob", "AAAA-0001"), 1);
	assert_int_equal(object_count(f->path, "safe_refs"), 1);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM safe_refs"), 0);
	fx_reopen(f);
	same_schema_as_fresh(f);
}

/* 4 -> 5: the device column, familiar devices and the must-change flag;
 * old sign-ins keep their data with no device. */
static void test_migrate_v4(void **state)
{
	struct fx *f = *state;
	rr_store_signin_filter sf = {.user = "bob"};
	rr_store_signin *rows = NULL;
	rr_store_user u;
	bool seen = true;
	size_t n = 0;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	db_exec(f->path,
		"BEGIN;" RRS_SCHEMA_V4
		"INSERT INTO users VALUES ('bob', 'high', 'atRisk',"
		" 'none', 100);"
		"INSERT INTO detections(user, type, level, state, detail,"
		" scope, ref, source, detected, updated) VALUES ('bob',"
		" 'leakedCredentials', 'high', 'atRisk', 'none', 'user',"
		" '', '', 90, 90);"
		"INSERT INTO signins VALUES ('CCCC-0001', 1000, 'bob',"
		" 'sshd', '192.0.2.10', 'pts/1', 'nk', 'allow',"
		" 'success', 'none', 'none', '', '', '', 'ok', '');"
		"COMMIT;");
	assert_int_equal(chmod(f->path, 0600), 0);
	fx_open(f);
	assert_int_equal(db_int(f->path, "PRAGMA user_version"),
			 RR_STORE_SCHEMA_VERSION);
	assert_int_equal(rr_store_signins_list(f->s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].reason, "ok");
	assert_string_equal(rows[0].device, "");
	free(rows);
	assert_int_equal(rr_store_device_seen(f->s, "bob", "SHA256:x", &seen),
			 0);
	assert_false(seen);
	/* root's reset: remediated, audited, must change at next login */
	assert_int_equal(rr_store_remediate_user(f->s, "bob",
						 RR_DETAIL_ADMIN_TEMP_PASSWORD,
						 "root", NULL, 2000, NULL), 0);
	assert_int_equal(rr_store_user_get(f->s, "bob", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_NONE);
	assert_int_equal(u.state, RR_STATE_REMEDIATED);
	assert_int_equal(u.detail, RR_DETAIL_ADMIN_TEMP_PASSWORD);
	assert_int_equal(u.active_detections, 0);
	assert_true(u.must_change);
	assert_int_equal(rr_store_must_change_clear(f->s, "bob", 2100), 0);
	assert_int_equal(rr_store_user_get(f->s, "bob", &u), 0);
	assert_false(u.must_change);
	fx_reopen(f);
	same_schema_as_fresh(f);
}

/* The secure password change completes the sign-in that asked for it, in
 * the remediation's transaction; a reference that awaits no change (wrong
 * user, already completed, unknown) changes nothing at all. */
static void test_secured_change_completes_signin(void **state)
{
	struct fx *f = *state;
	rr_store_signin_filter sf = {.ref = NULL};
	rr_store_signin *rows = NULL;
	rr_store_user u;
	char ref[RR_REF_LEN + 1], other[RR_REF_LEN + 1];
	rr_signin_rec r = rec_make(NOW, "alice", RR_OUTCOME_PWCHANGE, NULL);
	rr_store *s = fx_open(f);
	unsigned closed = 9;
	size_t n;

	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED,
					"alice", "root", NOW - 10, NULL),
			 0);
	r.action = RR_ACTION_REQUIRE;
	r.user_risk = RR_LEVEL_HIGH;
	record(s, &r, ref);
	r = rec_make(NOW + 1, "bob", RR_OUTCOME_PWCHANGE, NULL);
	record(s, &r, other);

	/* bob's sign-in is not alice's: refused, alice still at risk */
	assert_int_equal(rr_store_remediate_user(
			     s, "alice", RR_DETAIL_USER_SECURED_PASSWORD,
			     NULL, other, NOW + 2, &closed),
			 -ENOENT);
	assert_int_equal(rr_store_user_get(s, "alice", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_HIGH);
	assert_int_equal(u.state, RR_STATE_CONFIRMED_COMPROMISED);
	/* a reference with root's reset is a misuse */
	assert_int_equal(rr_store_remediate_user(
			     s, "alice", RR_DETAIL_ADMIN_TEMP_PASSWORD, "root",
			     ref, NOW + 2, NULL),
			 -EINVAL);

	assert_int_equal(rr_store_remediate_user(
			     s, "alice", RR_DETAIL_USER_SECURED_PASSWORD,
			     NULL, ref, NOW + 3, &closed),
			 0);
	assert_int_equal(closed, 1);
	assert_int_equal(rr_store_user_get(s, "alice", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_NONE);
	assert_int_equal(u.state, RR_STATE_REMEDIATED);
	assert_int_equal(u.detail, RR_DETAIL_USER_SECURED_PASSWORD);
	sf.ref = ref;
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].outcome, "success");
	free(rows);
	sf.ref = other;
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].outcome, RR_OUTCOME_PWCHANGE);
	free(rows);
	/* completed once: the same reference again is refused */
	assert_int_equal(rr_store_remediate_user(
			     s, "alice", RR_DETAIL_USER_SECURED_PASSWORD,
			     NULL, ref, NOW + 4, NULL),
			 -ENOENT);
}

/* The key of a public-key-only login, known only at session open, goes to
 * that successful sign-in, once, and becomes familiar; nothing else can be
 * changed this way. */
static void test_device_set_at_session(void **state)
{
	struct fx *f = *state;
	rr_store_signin_filter sf = {.ref = NULL};
	rr_store_signin *rows = NULL;
	char ok[RR_REF_LEN + 1], blocked[RR_REF_LEN + 1];
	rr_signin_rec r = rec_make(NOW, "alice", "success", "192.0.2.0/24");
	rr_store *s = fx_open(f);
	bool seen = true;
	size_t n;

	record(s, &r, ok);
	r = rec_make(NOW + 1, "alice", "blocked", NULL);
	r.action = RR_ACTION_BLOCK;
	record(s, &r, blocked);
	assert_int_equal(rr_store_device_seen(s, "alice", "SHA256:k", &seen), 0);
	assert_false(seen);

	/* not a success, another user's, unknown: refused, nothing changed */
	assert_int_equal(rr_store_signin_device_set(s, "alice", blocked,
						    "SHA256:k", NOW + 2),
			 -ENOENT);
	assert_int_equal(rr_store_signin_device_set(s, "bob", ok, "SHA256:k",
						    NOW + 2),
			 -ENOENT);
	assert_int_equal(rr_store_signin_device_set(s, "alice", "0000-0000",
						    "SHA256:k", NOW + 2),
			 -ENOENT);
	assert_int_equal(rr_store_device_seen(s, "alice", "SHA256:k", &seen), 0);
	assert_false(seen);
	/* bad arguments */
	assert_int_equal(rr_store_signin_device_set(s, "alice", ok, "", NOW),
			 -EINVAL);
	assert_int_equal(rr_store_signin_device_set(s, "alice", "ABC", "SHA256:k",
						    NOW),
			 -EINVAL);

	assert_int_equal(rr_store_signin_device_set(s, "alice", ok, "SHA256:k",
						    NOW + 3),
			 0);
	sf.ref = ok;
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].device, "SHA256:k");
	free(rows);
	assert_int_equal(rr_store_device_seen(s, "alice", "SHA256:k", &seen), 0);
	assert_true(seen);
	/* once: a sign-in with a device keeps it */
	assert_int_equal(rr_store_signin_device_set(s, "alice", ok, "SHA256:x",
						    NOW + 4),
			 -ENOENT);
	assert_int_equal(rr_store_device_seen(s, "alice", "SHA256:x", &seen), 0);
	assert_false(seen);
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "store tests need root\n");
		return -1;
	}
	return 0;
}

/* ---- one transaction per typed code (rr_store_mfa_attempt) ----------- */

/* The code check the module passes: accepts step `want` when it is newer
 * than last_step, -EALREADY when not, -EACCES for want < 0. */
static int check_step(void *ctx, int64_t last_step, int64_t *step)
{
	int64_t want = *(const int64_t *)ctx;

	if (want < 0)
		return -EACCES;
	if (want <= last_step)
		return -EALREADY;
	*step = want;
	return 0;
}

static int attempt(rr_store *s, const char *user, int64_t now, int64_t want,
		   unsigned *failures)
{
	rr_store_attempt a = {.window_s = 900, .max_failures = 3,
			      .check = check_step, .ctx = &want};

	return rr_store_mfa_attempt(s, user, now, &a, failures);
}

static void test_mfa_attempt(void **state)
{
	static const uint8_t sealed[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct fx *f = *state;
	rr_store *s = fx_open(f);
	unsigned n = 99;

	assert_int_equal(attempt(s, "alice", NOW, 10, &n), -ENOENT);
	assert_int_equal(rr_store_mfa_register(s, "alice", sealed,
					       sizeof(sealed), 0, 6, 30, 7,
					       NOW), 0);
	/* a new step: accepted and stored; not counted */
	assert_int_equal(attempt(s, "alice", NOW, 8, &n), 0);
	assert_int_equal(n, 0);
	/* the same step again: a replay, counted */
	assert_int_equal(attempt(s, "alice", NOW, 8, &n), -EALREADY);
	assert_int_equal(n, 1);
	assert_int_equal(attempt(s, "alice", NOW + 1, -1, &n), -EACCES);
	assert_int_equal(n, 2);
	assert_int_equal(attempt(s, "alice", NOW + 2, -1, &n), -EACCES);
	assert_int_equal(n, 3);
	/* at the limit: locked, the code not even looked at, nothing
	 * counted, the step not used */
	assert_int_equal(attempt(s, "alice", NOW + 3, 9, &n), -ENOLCK);
	assert_int_equal(n, 3);
	assert_int_equal(attempt(s, "alice", NOW + 3, -1, &n), -ENOLCK);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM mfa_failures"),
			 3);
	assert_int_equal(db_int(f->path, "SELECT last_step FROM mfa_methods"),
			 8);
	/* the window passes: step 9 is accepted */
	assert_int_equal(attempt(s, "alice", NOW + 1000, 9, &n), 0);
	assert_int_equal(db_int(f->path, "SELECT last_step FROM mfa_methods"),
			 9);
	/* bad arguments */
	assert_int_equal(rr_store_mfa_attempt(s, "alice", NOW, NULL, NULL),
			 -EINVAL);
	assert_int_equal(rr_store_mfa_attempt(s, "alice", NOW,
			 &(rr_store_attempt){.max_failures = 0,
					     .check = check_step}, NULL),
			 -EINVAL);
}

/* Processes racing wrong codes: never more than the limit counted. */
static void test_mfa_attempt_parallel(void **state)
{
	static const uint8_t sealed[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct fx *f = *state;
	pid_t pids[12];
	size_t i;
	int st;

	fx_open(f);
	assert_int_equal(rr_store_mfa_register(f->s, "alice", sealed,
					       sizeof(sealed), 0, 6, 30, 7,
					       NOW), 0);
	rr_store_close(f->s);
	f->s = NULL;
	for (i = 0; i < 12; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			rr_store *s = NULL;
			int r, j, bad = 0;

			if (rr_store_open(f->path, &s) != 0)
				_exit(2);
			for (j = 0; j < 3; j++) {
				r = attempt(s, "alice", NOW, -1, NULL);
				bad |= r != -EACCES && r != -ENOLCK;
			}
			rr_store_close(s);
			_exit(bad);
		}
	}
	for (i = 0; i < 12; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM mfa_failures"),
			 3);
}

/* ---- failures by source; names that are no user ---------------------- */

static int fail_from(rr_store *s, const char *user, const char *name,
		     const char *rhost, const char *netkey, int64_t t)
{
	rr_store_failure fl = {.user = user, .name = name, .service = "sshd",
			       .rhost = rhost, .netkey = netkey, .time = t};

	return rr_store_failure_record(s, &fl);
}

static void test_failures_per_source(void **state)
{
	struct fx *f = *state;
	rr_store *s = fx_open(f);
	rr_signin_rec r;
	rr_history h;
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(fail_from(s, "alice", NULL, "203.0.113.66",
					   "203.0.113.0/24", NOW - 10 + i), 0);
	assert_int_equal(fail_from(s, "alice", NULL, "10.1.2.3",
				   "10.1.2.0/24", NOW - 5), 0);
	assert_int_equal(rr_store_history(s, "alice", "203.0.113.0/24", NOW,
					  600, &h), 0);
	assert_int_equal(h.recent_failures, 4);
	assert_int_equal(rr_store_history(s, "alice", "10.1.2.0/24", NOW, 600,
					  &h), 0);
	assert_int_equal(h.recent_failures, 1);
	/* her success at home forgives her own typo, not the attacker's */
	r = rec_make(NOW - 1, "alice", "success", "10.1.2.0/24");
	record(s, &r, NULL);
	assert_int_equal(rr_store_history(s, "alice", "10.1.2.0/24", NOW, 600,
					  &h), 0);
	assert_int_equal(h.recent_failures, 0);
	assert_int_equal(rr_store_history(s, "alice", "203.0.113.0/24", NOW,
					  600, &h), 0);
	assert_int_equal(h.recent_failures, 4);
}

static void test_failures_unknown_names(void **state)
{
	struct fx *f = *state;
	rr_store *s = fx_open(f);
	uint64_t n = 0;
	char name[32];
	int i;

	/* a name is required; a user and a name are not both needed */
	assert_int_equal(fail_from(s, NULL, NULL, "192.0.2.7", "", NOW),
			 -EINVAL);
	assert_int_equal(fail_from(s, NULL, "hunter2!", "192.0.2.7",
				   "192.0.2.0/24", NOW), 0);
	assert_int_equal(fail_from(s, NULL, "hunter2!", "192.0.2.7",
				   "192.0.2.0/24", NOW), 0);
	assert_int_equal(fail_from(s, NULL, "x-nobody", "192.0.2.7",
				   "192.0.2.0/24", NOW), 0);
	assert_int_equal(fail_from(s, "bob", NULL, "192.0.2.7",
				   "192.0.2.0/24", NOW), 0);
	/* distinct names: hunter2!, x-nobody, bob */
	assert_int_equal(rr_store_spray_count(s, "192.0.2.7", NOW, 60, &n), 0);
	assert_int_equal(n, 3);
	/* the names are not stored: user '' and a 16-hex-digit tag */
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM failures WHERE"
					 " user = '' AND length(tag) = 16"),
			 3);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM failures WHERE"
					 " user = 'hunter2!' OR tag ="
					 " 'hunter2!'"), 0);
	/* bounded per source and hour: the count saturates */
	for (i = 0; i < 1100; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(fail_from(s, NULL, name, "198.51.100.9", "",
					   NOW + 1), 0);
	}
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM failures WHERE"
					 " rhost = '198.51.100.9'"), 1000);
}

/* Sign-ins marked by failure-derived detections only do not aggregate:
 * anyone can make failures. */
static void test_aggregation_ignores_failure_detections(void **state)
{
	static const rr_detection bf[] = {{RR_EVENT_BRUTE_FORCE,
					   RR_LEVEL_HIGH}};
	static const rr_detection anon[] = {{RR_EVENT_ANONYMIZED_IP,
					     RR_LEVEL_HIGH}};
	rr_aggregation agg = {.enabled = true, .signins = 2,
			      .min_level = RR_LEVEL_MEDIUM,
			      .window_s = 86400};
	struct fx *f = *state;
	rr_store *s = fx_open(f);
	rr_signin_rec r;
	bool raised = true;
	int i;

	for (i = 0; i < 3; i++) {
		r = rec_make(NOW - 100 + i, "alice", "blocked", NULL);
		r.signin_risk = RR_LEVEL_HIGH;
		r.dets = bf;
		r.n_dets = 1;
		record(s, &r, NULL);
	}
	assert_int_equal(rr_store_aggregate(s, "alice", &agg, NOW, &raised), 0);
	assert_false(raised);
	for (i = 0; i < 2; i++) {
		r = rec_make(NOW - 50 + i, "alice", "blocked", NULL);
		r.signin_risk = RR_LEVEL_HIGH;
		r.dets = anon;
		r.n_dets = 1;
		record(s, &r, NULL);
	}
	assert_int_equal(rr_store_aggregate(s, "alice", &agg, NOW, &raised), 0);
	assert_true(raised);
}

/* A sign-in on record at its first prompt is rewritten with its end. */
static void test_signin_rewrite(void **state)
{
	static const rr_detection anon[] = {{RR_EVENT_ANONYMIZED_IP,
					     RR_LEVEL_MEDIUM}};
	struct fx *f = *state;
	rr_store *s = fx_open(f);
	char ref[RR_REF_LEN + 1], ref2[RR_REF_LEN + 1];
	rr_store_signin_filter sf = {.user = "alice"};
	rr_store_signin *rows = NULL;
	rr_signin_rec r;
	rr_history h;
	size_t n = 0;

	r = rec_make(NOW, "alice", RR_OUTCOME_INTERRUPTED, "192.0.2.0/24");
	r.dets = anon;
	r.n_dets = 1;
	r.mfa = "prompted";
	record(s, &r, ref);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM detections"
					 " WHERE state = 'atRisk'"), 1);
	/* MFA passed: the same row, its detection remediated, familiar */
	r.outcome = "success";
	r.mfa = "passed";
	r.mfa_passed = true;
	r.ref = ref;
	assert_int_equal(rr_store_signin_record(s, &r, ref2), 0);
	assert_string_equal(ref2, ref);
	assert_int_equal(rr_store_signins_list(s, &sf, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].outcome, "success");
	assert_string_equal(rows[0].mfa, "passed");
	free(rows);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM detections"),
			 1);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM detections"
					 " WHERE state = 'remediated'"), 1);
	assert_int_equal(rr_store_history(s, "alice", "192.0.2.0/24", NOW, 0,
					  &h), 0);
	assert_true(h.network_seen);
	/* only once, only for an interrupted sign-in of that user */
	assert_int_equal(rr_store_signin_record(s, &r, ref2), -ENOENT);
	r.user = "bob";
	assert_int_equal(rr_store_signin_record(s, &r, ref2), -ENOENT);
}

/* ---- counts (riskctl metrics) ----------------------------------------- */

/* The row of that label set (which must be there, once). */
static rr_store_signin_count
signin_count_of(const rr_store_signin_count *c, size_t n, const char *service,
		rr_action action, const char *outcome)
{
	rr_store_signin_count found = {.count = 0};
	size_t i, hits = 0;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].service, service) && c[i].action == action &&
		    !strcmp(c[i].outcome, outcome)) {
			found = c[i];
			hits++;
		}
	assert_int_equal(hits, 1);
	return found;
}

static void test_counts(void **state)
{
	static const rr_detection det = {RR_EVENT_PASSWORD_SPRAY,
					 RR_LEVEL_MEDIUM};
	static const uint8_t sealed[4] = {1, 2, 3, 4};
	uint8_t hash[RR_STORE_TAP_HASH_LEN] = {7};
	struct fx *f = *state;
	rr_store_signin_count *sc = NULL;
	rr_store_signin_count one;
	rr_store_detection_count *dc = NULL;
	rr_store_user_count *uc = NULL;
	rr_store_mfa_counts mc = {99, 99, 99, 99};
	rr_store *s = fx_open(f);
	rr_signin_rec r;
	int64_t start;
	size_t n = 0, i;

	/* empty: no rows, zero counts */
	assert_int_equal(rr_store_signin_counts(s, NOW, 0, &sc, &n), 0);
	assert_int_equal(n, 0);
	free(sc);
	assert_int_equal(rr_store_mfa_count(s, NOW, 14 * DAY, &mc), 0);
	assert_int_equal(mc.registered + mc.in_grace + mc.grace_over +
			     mc.tap_pending, 0);

	/* sshd: two allowed (one 2 h ago), one blocked with a detection;
	 * su: one allowed */
	r = rec_make(NOW - 7200, "alice", "success", NULL);
	record(s, &r, NULL);
	r.time = NOW - 10;
	record(s, &r, NULL);
	r = rec_make(NOW - 5, "bob", "blocked", NULL);
	r.action = RR_ACTION_BLOCK;
	r.dets = &det;
	r.n_dets = 1;
	record(s, &r, NULL);
	r = rec_make(NOW - 1, "carol", "success", NULL);
	r.service = "s\\u\"\n";
	record(s, &r, NULL);

	assert_int_equal(rr_store_signin_counts(s, NOW - 3600, 0, &sc, &n), 0);
	assert_int_equal(n, 3);
	one = signin_count_of(sc, n, "sshd", RR_ACTION_ALLOW, "success");
	assert_int_equal(one.count, 2);
	assert_int_equal(one.recent, 1);
	/* the largest first */
	assert_string_equal(sc[0].service, "sshd");
	assert_int_equal(sc[0].count, 2);
	one = signin_count_of(sc, n, "sshd", RR_ACTION_BLOCK, "blocked");
	assert_int_equal(one.count, 1);
	assert_int_equal(one.recent, 1);
	/* a service name is returned as stored, bytes and all */
	one = signin_count_of(sc, n, "s\\u\"\n", RR_ACTION_ALLOW, "success");
	assert_int_equal(one.count, 1);
	assert_int_equal(one.recent, 1);
	free(sc);
	/* the limit keeps the largest */
	assert_int_equal(rr_store_signin_counts(s, NOW, 1, &sc, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sc[0].count, 2);
	assert_int_equal(sc[0].recent, 0);
	free(sc);

	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED, "dave",
					"root", NOW, NULL),
			 0);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED, "erin",
					"root", NOW, NULL),
			 0);
	assert_int_equal(
	    rr_store_admin(s, RR_ADMIN_DISMISS, "erin", "root", NOW + 1, NULL),
	    0);
	assert_int_equal(rr_store_detection_counts(s, 0, &dc, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_int_equal(dc[i].count, 1);
		if (dc[i].type == RR_EVENT_PASSWORD_SPRAY) {
			assert_int_equal(dc[i].level, RR_LEVEL_MEDIUM);
			assert_int_equal(dc[i].state, RR_STATE_AT_RISK);
		} else {
			assert_int_equal(dc[i].type,
					 RR_EVENT_ADMIN_CONFIRMED_COMPROMISED);
			assert_int_equal(dc[i].level, RR_LEVEL_HIGH);
			assert_true(dc[i].state == RR_STATE_AT_RISK ||
				    dc[i].state == RR_STATE_DISMISSED);
		}
	}
	free(dc);
	assert_int_equal(rr_store_user_counts(s, 0, &uc, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(uc[i].count, 1);
		if (uc[i].level == RR_LEVEL_HIGH)
			assert_int_equal(uc[i].state,
					 RR_STATE_CONFIRMED_COMPROMISED);
		else
			assert_int_equal(uc[i].state, RR_STATE_DISMISSED);
	}
	free(uc);

	/* a registered (with a grace start before), one in grace, one past
	 * it, a pass for a fourth (and an expired one for a fifth) */
	assert_int_equal(rr_store_mfa_grace_begin(s, "alice", NOW - 20 * DAY,
						  &start), 0);
	assert_int_equal(rr_store_mfa_register(s, "alice", sealed,
					       sizeof(sealed), 0, 6, 30, 1,
					       NOW - DAY), 0);
	assert_int_equal(rr_store_mfa_grace_begin(s, "bob", NOW - DAY, &start),
			 0);
	assert_int_equal(rr_store_mfa_grace_begin(s, "carol", NOW - 15 * DAY,
						  &start), 0);
	assert_int_equal(rr_store_tap_issue(s, "dave", hash, NOW + 3600,
					    "root", NOW), 0);
	assert_int_equal(rr_store_tap_issue(s, "erin", hash, NOW - 1,
					    "root", NOW - 3600), 0);
	assert_int_equal(rr_store_mfa_count(s, NOW, 14 * DAY, &mc), 0);
	assert_int_equal(mc.registered, 1);
	assert_int_equal(mc.in_grace, 1);
	assert_int_equal(mc.grace_over, 1);
	assert_int_equal(mc.tap_pending, 1);

	assert_int_equal(rr_store_signin_counts(NULL, NOW, 0, &sc, &n),
			 -EINVAL);
	assert_int_equal(rr_store_user_counts(s, 0, NULL, &n), -EINVAL);
	assert_int_equal(rr_store_mfa_count(s, NOW, 0, NULL), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_create_modes),     T(test_refusals),
	    T(test_bad_args),         T(test_bad_signin),
	    T(test_user_default),     T(test_signin_roundtrip),
	    T(test_history_networks), T(test_history_failures),
	    T(test_mfa_attempt),      T(test_mfa_attempt_parallel),
	    T(test_failures_per_source), T(test_failures_unknown_names),
	    T(test_aggregation_ignores_failure_detections),
	    T(test_signin_rewrite),
	    T(test_admin_dismiss),    T(test_admin_confirm),
	    T(test_secured_change_completes_signin),
	    T(test_device_set_at_session),
	    T(test_users_list),       T(test_retention), T(test_cursors),
	    T(test_read_snapshot),
	    T(test_parallel_writers), T(test_parallel_first_open),
	    T(test_migrate_v1),
	    T(test_migrate_atomic),   T(test_future_version),
	    T(test_foreign_database), T(test_busy), T(test_busy_waits),
	    T(test_temp_store_memory),
	    T(test_schema_v3),        T(test_migrate_v2),
	    T(test_migrate_v3_atomic), T(test_signin_mfa),
	    T(test_mfa_empty),        T(test_mfa_bad_args),
	    T(test_mfa_grace),        T(test_mfa_register_reset),
	    T(test_mfa_use_step),     T(test_mfa_parallel_replay),
	    T(test_mfa_failures),     T(test_tap),
	    T(test_mfa_prune),        T(test_spray_count),
	    T(test_spray_parallel),   T(test_user_detection_add),
	    T(test_low_risk_ageing),  T(test_aggregate_threshold),
	    T(test_confirm_safe),     T(test_dismiss_closes_aggregation),
	    T(test_detections_filter), T(test_migrate_v3),
	    T(test_migrate_v4), T(test_migrate_v7), T(test_migrate_v8),
	    T(test_migrate_v9), T(test_aggregate_fleet),
	    T(test_counts),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
