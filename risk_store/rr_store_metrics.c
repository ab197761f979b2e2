/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counts for riskctl metrics: sign-ins, detections and users grouped by
 * the values that become metric labels, and MFA registrations.  Read only;
 * each one statement (rr_store_sql.c).
 */
#include "rr_store_int.h"

#include <errno.h>
#include <stdlib.h>

static uint64_t col_count(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);

	return v > 0 ? (uint64_t)v : 0;
}

/* q bound with `limit` after `since` (when with_since) and fetched. */
static int counts(rr_store *s, enum rrs_query q, bool with_since, int64_t since,
		  size_t limit, size_t size, rrs_fill_fn fill, void **rows,
		  size_t *n)
{
	sqlite3_stmt *st = NULL;
	int err;

	if (!s || !rows || !n)
		return -EINVAL;
	err = rrs_stmt(s, q, &st);
	if (!err)
		err = with_since
			  ? rrs_bind(s, st, "ii", since, rrs_limit(limit))
			  : rrs_bind(s, st, "i", rrs_limit(limit));
	if (!err)
		err = rrs_fetch(s, st, size, fill, rows, n);
	rrs_release(st);
	return err;
}

static int signin_fill(sqlite3_stmt *st, void *row)
{
	rr_store_signin_count *c = row;

	rrs_col_text(st, 0, c->service, sizeof(c->service));
	rrs_col_text(st, 2, c->outcome, sizeof(c->outcome));
	c->count = col_count(st, 3);
	c->recent = col_count(st, 4);
	return rrs_col_action(st, 1, &c->action);
}

int rr_store_signin_counts(rr_store *s, int64_t since, size_t limit,
			   rr_store_signin_count **rows, size_t *n)
{
	return counts(s, RRS_Q_COUNT_SIGNINS, true, since, limit,
		      sizeof(**rows), signin_fill, (void **)rows, n);
}

static int detection_fill(sqlite3_stmt *st, void *row)
{
	rr_store_detection_count *c = row;
	int err;

	c->count = col_count(st, 3);
	err = rrs_col_event(st, 0, &c->type);
	if (!err)
		err = rrs_col_level(st, 1, &c->level);
	if (!err)
		err = rrs_col_state(st, 2, &c->state);
	return err;
}

int rr_store_detection_counts(rr_store *s, size_t limit,
			      rr_store_detection_count **rows, size_t *n)
{
	return counts(s, RRS_Q_COUNT_DETECTIONS, false, 0, limit,
		      sizeof(**rows), detection_fill, (void **)rows, n);
}

static int user_fill(sqlite3_stmt *st, void *row)
{
	rr_store_user_count *c = row;
	int err;

	c->count = col_count(st, 2);
	err = rrs_col_level(st, 0, &c->level);
	if (!err)
		err = rrs_col_state(st, 1, &c->state);
	return err;
}

int rr_store_user_counts(rr_store *s, size_t limit, rr_store_user_count **rows,
			 size_t *n)
{
	return counts(s, RRS_Q_COUNT_USERS, false, 0, limit, sizeof(**rows),
		      user_fill, (void **)rows, n);
}

int rr_store_mfa_count(rr_store *s, int64_t now, unsigned grace_s,
		       rr_store_mfa_counts *out)
{
	sqlite3_stmt *st = NULL;
	int err;

	if (!s || !out)
		return -EINVAL;
	err = rrs_stmt(s, RRS_Q_COUNT_MFA, &st);
	if (!err)
		err = rrs_bind(s, st, "ii", now, now - (int64_t)grace_s);
	if (!err)
		err = rrs_step_row(s, st);
	if (err == 1) {
		out->registered = col_count(st, 0);
		out->in_grace = col_count(st, 1);
		out->grace_over = col_count(st, 2);
		out->tap_pending = col_count(st, 3);
		err = 0;
	} else if (err == 0) {
		err = rrs_fail(s, -EPROTO, "no row from a count");
	}
	rrs_release(st);
	return err;
}
