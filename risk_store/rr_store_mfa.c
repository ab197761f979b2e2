/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MFA state: the TOTP authenticator (sealed by the caller) and its replay
 * guard, the grace clock of the registration interrupt, wrong codes for the
 * rate limit, and temporary access passes.  Admin changes are audited in
 * the same transaction.
 */
#include "rr_store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---------------------------------------------------------- */

/* Run q bound to (user) or (user, *v): the number of rows changed, or a
 * negative errno. */
static int run(rr_store *s, enum rrs_query q, const char *user,
	       const int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, q, &st);
	if (!err)
		err = v ? rrs_bind(s, st, "si", user, *v)
			: rrs_bind(s, st, "s", user);
	if (!err)
		err = rrs_step_done(s, st);
	if (!err)
		err = sqlite3_changes(s->db);
	rrs_release(st);
	return err;
}

/* First column of the first row of a bound statement: 1 with a non-NULL
 * value in *out, 0 without one, or a negative errno. */
static int one_int(rr_store *s, sqlite3_stmt *st, int64_t *out)
{
	int r = rrs_step_row(s, st);

	if (r != 1)
		return r;
	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		return 0;
	*out = sqlite3_column_int64(st, 0);
	return 1;
}

static int user_int(rr_store *s, enum rrs_query q, const char *user,
		    int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, q, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = one_int(s, st, out);
	rrs_release(st);
	return r;
}

static int fail_count(rr_store *s, const char *user, int64_t now,
		      unsigned window_s, unsigned *out)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int r;

	r = rrs_stmt(s, RRS_Q_MFA_FAIL_COUNT, &st);
	if (!r)
		r = rrs_bind(s, st, "si", user, now - (int64_t)window_s);
	if (!r)
		r = one_int(s, st, &n);
	rrs_release(st);
	if (r == 0)
		return rrs_fail(s, -EIO, "count returned no row");
	if (r < 0)
		return r;
	*out = (unsigned)n;
	return 0;
}

/* ---- reading ---------------------------------------------------------- */

static int method_fill(rr_store *s, sqlite3_stmt *st, rr_store_mfa *m)
{
	int len = sqlite3_column_bytes(st, 0);
	const void *sealed = sqlite3_column_blob(st, 0);

	if (len <= 0 || len > RR_STORE_SEALED_MAX || !sealed)
		return rrs_fail(s, -EPROTO, "stored secret has a wrong size");
	memcpy(m->sealed, sealed, (size_t)len);
	m->sealed_len = (size_t)len;
	m->alg = (unsigned)sqlite3_column_int64(st, 1);
	m->digits = (unsigned)sqlite3_column_int64(st, 2);
	m->period = (unsigned)sqlite3_column_int64(st, 3);
	m->registered_at = sqlite3_column_int64(st, 4);
	m->last_step = sqlite3_column_int64(st, 5);
	m->registered = true;
	return 0;
}

static int method_read(rr_store *s, const char *user, rr_store_mfa *m)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_MFA_METHOD_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1)
		r = method_fill(s, st, m);
	rrs_release(st);
	return r;
}

static int tap_pending(rr_store *s, const char *user, int64_t now,
		       rr_store_mfa *m)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_TAP_PENDING, &st);
	if (!r)
		r = rrs_bind(s, st, "si", user, now);
	if (!r)
		r = one_int(s, st, &m->tap_expires);
	rrs_release(st);
	if (r < 0)
		return r;
	m->tap_pending = r == 1;
	return 0;
}

static int mfa_read(rr_store *s, const char *user, int64_t now,
		    unsigned window_s, rr_store_mfa *m)
{
	int err;

	err = method_read(s, user, m);
	if (!err)
		err = user_int(s, RRS_Q_MFA_GRACE_GET, user, &m->grace_start);
	if (err >= 0)
		err = fail_count(s, user, now, window_s, &m->recent_failures);
	if (!err)
		err = tap_pending(s, user, now, m);
	return err;
}

int rr_store_mfa_get(rr_store *s, const char *user, int64_t now,
		     unsigned fail_window_s, rr_store_mfa *out)
{
	rr_store_mfa m = {0};
	int err;

	if (!s || !out || !rrs_user_ok(user))
		return -EINVAL;
	err = rrs_begin(s, false);
	if (err)
		return err;
	err = rrs_shared_check(s, user);
	err = rrs_end(s, err ? err : mfa_read(s, user, now, fail_window_s, &m));
	if (!err)
		*out = m;
	explicit_bzero(&m, sizeof(m));
	return err;
}

/* ---- registration ----------------------------------------------------- */

static int grace_begin(rr_store *s, const char *user, int64_t now,
		       int64_t *start)
{
	int r;

	r = run(s, RRS_Q_MFA_GRACE_INSERT, user, &now);
	if (r > 0)
		r = rrs_shared_touch(s, user, RR_SHARED_BIT(RR_SHARED_MFA),
				     RRS_OFFLINE_QUEUE);
	if (r >= 0)
		r = user_int(s, RRS_Q_MFA_GRACE_GET, user, start);
	if (r == 0)
		return rrs_fail(s, -EIO, "grace start not stored");
	return r < 0 ? r : 0;
}

static int grace_begin_try(rr_store *s, const char *user, int64_t now,
			   int64_t *start)
{
	int err = rrs_begin(s, true);

	return err ? err : rrs_end(s, grace_begin(s, user, now, start));
}

int rr_store_mfa_grace_begin(rr_store *s, const char *user, int64_t now,
			     int64_t *start)
{
	int64_t v = 0;
	int err;

	if (!s || !start || !rrs_user_ok(user))
		return -EINVAL;
	RRS_RETRY(err, grace_begin_try(s, user, now, &v));
	if (!err)
		*start = v;
	return err;
}

struct method {
	const uint8_t *sealed;
	size_t sealed_len;
	unsigned alg, digits, period;
	int64_t step, now;
};

static int method_insert(rr_store *s, const char *user, const struct method *m)
{
	sqlite3_stmt *st = NULL;
	int rc, err;

	err = rrs_stmt(s, RRS_Q_MFA_METHOD_INSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "sbiiiii", user, m->sealed, m->sealed_len,
			       (int64_t)m->alg, (int64_t)m->digits,
			       (int64_t)m->period, m->now, m->step);
	if (err)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		err = rrs_fail(s, -EEXIST, "an authenticator is registered");
	else if (rc != SQLITE_DONE)
		err = rrs_error(s, rc);
out:
	rrs_release(st);
	return err;
}

static int mfa_register(rr_store *s, const char *user, const struct method *m)
{
	int err;

	err = method_insert(s, user, m);
	if (!err)
		err = run(s, RRS_Q_MFA_FAIL_DELETE, user, NULL);
	if (err >= 0)
		err = rrs_shared_touch(s, user, RR_SHARED_BIT(RR_SHARED_MFA),
				       RRS_OFFLINE_STRICT);
	return err < 0 ? err : 0;
}

static int register_try(rr_store *s, const char *user, const struct method *m)
{
	int err = rrs_begin(s, true);

	return err ? err : rrs_end(s, mfa_register(s, user, m));
}

int rr_store_mfa_register(rr_store *s, const char *user, const uint8_t *sealed,
			  size_t sealed_len, unsigned alg, unsigned digits,
			  unsigned period, int64_t step, int64_t now)
{
	const struct method m = {.sealed = sealed,
				 .sealed_len = sealed_len,
				 .alg = alg,
				 .digits = digits,
				 .period = period,
				 .step = step,
				 .now = now};
	int err;

	if (!s || !rrs_user_ok(user) || !sealed || !sealed_len ||
	    sealed_len > RR_STORE_SEALED_MAX || !digits || !period || step < 0)
		return -EINVAL;
	RRS_RETRY(err, register_try(s, user, &m));
	return err;
}

/* ---- verification ----------------------------------------------------- */

static int use_step(rr_store *s, const char *user, int64_t step)
{
	int64_t one = 0;
	int r;

	r = run(s, RRS_Q_MFA_USE_STEP, user, &step);
	if (r == 1)
		return 0;
	if (r < 0)
		return r;
	r = user_int(s, RRS_Q_MFA_METHOD_EXISTS, user, &one);
	if (r < 0)
		return r;
	if (r == 0)
		return rrs_fail(s, -ENOENT, "no authenticator registered");
	return rrs_fail(s, -EALREADY, "code already used");
}

static int mfa_failure(rr_store *s, const char *user, int64_t now,
		       unsigned window_s, unsigned *count)
{
	int r = run(s, RRS_Q_MFA_FAIL_INSERT, user, &now);

	if (r < 0)
		return r;
	return fail_count(s, user, now, window_s, count);
}

/* One attempt, inside the write transaction: 1 counted (wrong or
 * replayed; *res the check's -EACCES / -EALREADY), 0 accepted, or a
 * negative errno (rolled back). */
static int attempt(rr_store *s, const char *user, int64_t now,
		   const rr_store_attempt *a, int *res, unsigned *failures)
{
	rr_store_mfa m = {0};
	int64_t step = 0;
	int r;

	r = fail_count(s, user, now, a->window_s, failures);
	if (r < 0)
		return r;
	if (*failures >= a->max_failures) {
		*res = -ENOLCK;
		return 1; /* locked: the code is not even looked at */
	}
	r = method_read(s, user, &m);
	if (r == 0 && !m.registered)
		r = rrs_fail(s, -ENOENT, "no authenticator registered");
	else if (r == 0)
		r = a->check(a->ctx, m.last_step, &step);
	explicit_bzero(&m, sizeof(m));
	if (r == 0)
		r = use_step(s, user, step);
	if (r == 0 || r == -EACCES || r == -EALREADY) {
		int t = rrs_shared_touch(s, user, RR_SHARED_BIT(RR_SHARED_MFA),
					 RRS_OFFLINE_MFA);

		if (t)
			return t;
	}
	if (r == 0)
		return 0;
	if (r != -EACCES && r != -EALREADY)
		return r;
	*res = r;
	r = mfa_failure(s, user, now, a->window_s, failures);
	return r < 0 ? r : 1;
}

static int attempt_try(rr_store *s, const char *user, int64_t now,
		       const rr_store_attempt *a, int *res, unsigned *n)
{
	int err;

	*res = 0;
	*n = 0;
	err = rrs_begin(s, true);
	if (err)
		return err;
	err = attempt(s, user, now, a, res, n);
	return rrs_end_pruning(s, err < 0 ? err : 0, now);
}

int rr_store_mfa_attempt(rr_store *s, const char *user, int64_t now,
			 const rr_store_attempt *a, unsigned *failures)
{
	unsigned n = 0;
	int err, res = 0;

	if (!s || !a || !a->check || !rrs_user_ok(user) || !a->max_failures)
		return -EINVAL;
	RRS_RETRY(err, attempt_try(s, user, now, a, &res, &n));
	if (err)
		return err;
	if (failures)
		*failures = n;
	return res;
}

/* ---- admin: reset, grace reset ---------------------------------------- */

static int mfa_reset(rr_store *s, const char *user, const char *actor,
		     int64_t now)
{
	char detail[128];
	int had, taps, r;

	had = run(s, RRS_Q_MFA_METHOD_DELETE, user, NULL);
	if (had < 0)
		return had;
	r = run(s, RRS_Q_MFA_FAIL_DELETE, user, NULL);
	if (r < 0)
		return r;
	taps = run(s, RRS_Q_TAP_REVOKE, user, &now);
	if (taps < 0)
		return taps;
	r = rrs_shared_touch(s, user,
			     RR_SHARED_BIT(RR_SHARED_MFA) |
				 RR_SHARED_BIT(RR_SHARED_TAP),
			     RRS_OFFLINE_STRICT);
	if (r)
		return r;
	snprintf(detail, sizeof(detail), "%s%s",
		 had ? "authenticator removed"
		     : "no authenticator was registered",
		 taps ? ", unused access pass revoked" : "");
	return rrs_audit(s, now, actor, "mfa-reset", user, detail);
}

typedef int (*admin_fn)(rr_store *s, const char *user, const char *actor,
			int64_t now);

static int reset_try(rr_store *s, const char *user, const char *actor,
		     int64_t now, admin_fn fn)
{
	int err = rrs_begin(s, true);

	return err ? err : rrs_end(s, fn(s, user, actor, now));
}

int rr_store_mfa_reset(rr_store *s, const char *user, const char *actor,
		       int64_t now)
{
	int err;

	if (!s || !rrs_user_ok(user) || !rrs_user_ok(actor))
		return -EINVAL;
	RRS_RETRY(err, reset_try(s, user, actor, now, mfa_reset));
	return err;
}

static int grace_reset(rr_store *s, const char *user, const char *actor,
		       int64_t now)
{
	int had = run(s, RRS_Q_MFA_GRACE_DELETE, user, NULL);
	int r;

	if (had < 0)
		return had;
	r = rrs_shared_touch(s, user, RR_SHARED_BIT(RR_SHARED_MFA),
			     RRS_OFFLINE_STRICT);
	if (r)
		return r;
	return rrs_audit(s, now, actor, "mfa-grace-reset", user,
			 had ? "grace period restarts at the next sign-in"
			     : "no grace period had started");
}

int rr_store_mfa_grace_reset(rr_store *s, const char *user, const char *actor,
			     int64_t now)
{
	int err;

	if (!s || !rrs_user_ok(user) || !rrs_user_ok(actor))
		return -EINVAL;
	RRS_RETRY(err, reset_try(s, user, actor, now, grace_reset));
	return err;
}

/* ---- temporary access passes ------------------------------------------ */

/* "expires 2023-11-14T22:13:20Z" */
static int expiry_text(int64_t expires, char *buf, size_t len)
{
	time_t t = (time_t)expires;
	struct tm tm;

	if ((int64_t)t != expires || !gmtime_r(&t, &tm) ||
	    !strftime(buf, len, "expires %Y-%m-%dT%H:%M:%SZ", &tm))
		return -EINVAL;
	return 0;
}

static int tap_insert(rr_store *s, const char *user, const uint8_t *hash,
		      int64_t expires, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_TAP_INSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "sbii", user, hash,
			       (size_t)RR_STORE_TAP_HASH_LEN, now, expires);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

static int tap_issue(rr_store *s, const char *user, const uint8_t *hash,
		     int64_t expires, const char *actor, int64_t now,
		     const char *detail)
{
	int r;

	r = run(s, RRS_Q_TAP_REVOKE, user, &now);
	if (r < 0)
		return r;
	r = tap_insert(s, user, hash, expires, now);
	if (!r)
		r = rrs_shared_touch(s, user, RR_SHARED_BIT(RR_SHARED_TAP),
				     RRS_OFFLINE_STRICT);
	if (r)
		return r;
	return rrs_audit(s, now, actor, "tap-issue", user, detail);
}

static int tap_issue_try(rr_store *s, const char *user, const uint8_t *hash,
			 int64_t expires, const char *actor, int64_t now,
			 const char *detail)
{
	int err = rrs_begin(s, true);

	return err ? err
		   : rrs_end(s, tap_issue(s, user, hash, expires, actor, now,
					  detail));
}

int rr_store_tap_issue(rr_store *s, const char *user,
		       const uint8_t hash[RR_STORE_TAP_HASH_LEN],
		       int64_t expires, const char *actor, int64_t now)
{
	char detail[64];
	int err;

	if (!s || !rrs_user_ok(user) || !hash || !rrs_user_ok(actor) ||
	    expires <= now || expiry_text(expires, detail, sizeof(detail)))
		return -EINVAL;
	RRS_RETRY(err, tap_issue_try(s, user, hash, expires, actor, now,
				     detail));
	return err;
}

/* Constant time in the contents: every byte is compared. */
static bool hash_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	volatile uint8_t diff = 0;
	size_t i;

	for (i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* The id of the usable pass whose hash matches, 0 if none.  Every
 * candidate is compared, matching or not. */
static int tap_find(rr_store *s, const char *user, const uint8_t *hash,
		    int64_t now, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	const void *h;
	int r;

	r = rrs_stmt(s, RRS_Q_TAP_CANDIDATES, &st);
	if (!r)
		r = rrs_bind(s, st, "sii", user, now,
			     (int64_t)RRS_TAP_CANDIDATES);
	while (!r && (r = rrs_step_row(s, st)) == 1) {
		h = sqlite3_column_blob(st, 1);
		if (h && sqlite3_column_bytes(st, 1) == RR_STORE_TAP_HASH_LEN &&
		    hash_equal(h, hash, RR_STORE_TAP_HASH_LEN) && !*id)
			*id = sqlite3_column_int64(st, 0);
		r = 0;
	}
	rrs_release(st);
	return r;
}

static int tap_consume(rr_store *s, const char *user, const uint8_t *hash,
		       int64_t now)
{
	sqlite3_stmt *st = NULL;
	int64_t id = 0;
	int err;

	err = tap_find(s, user, hash, now, &id);
	if (err)
		return err;
	if (!id)
		return rrs_fail(s, -EACCES, "no matching access pass");
	err = rrs_stmt(s, RRS_Q_TAP_USE, &st);
	if (!err)
		err = rrs_bind(s, st, "ii", id, now);
	if (!err)
		err = rrs_step_done(s, st);
	if (!err && sqlite3_changes(s->db) != 1)
		err = rrs_fail(s, -EACCES, "access pass already used");
	rrs_release(st);
	if (!err)
		err = rrs_shared_touch(s, user, RR_SHARED_BIT(RR_SHARED_TAP),
				       RRS_OFFLINE_STRICT);
	return err;
}

static int tap_consume_try(rr_store *s, const char *user, const uint8_t *hash,
			   int64_t now)
{
	int err = rrs_begin(s, true);

	return err ? err : rrs_end(s, tap_consume(s, user, hash, now));
}

int rr_store_tap_consume(rr_store *s, const char *user,
			 const uint8_t hash[RR_STORE_TAP_HASH_LEN], int64_t now)
{
	int err;

	if (!s || !rrs_user_ok(user) || !hash)
		return -EINVAL;
	RRS_RETRY(err, tap_consume_try(s, user, hash, now));
	return err;
}
