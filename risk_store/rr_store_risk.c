/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * User risk from detections: passwordSpray counts, user-scope detections
 * (leakedCredentials, ...), the aggregation of unremediated risky sign-ins,
 * and confirm-safe.
 *
 * Each change recomputes the user's row the same way: the highest level of
 * the user's active user-scope detections and of the aggregation that
 * raised it; a user confirmed compromised stays high.
 */
#include "rr_store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* LEVEL_RANK in rr_store_sql.c ranks levels as their enum values. */
_Static_assert(RR_LEVEL_NONE == 0 && RR_LEVEL_LOW == 1 &&
		   RR_LEVEL_MEDIUM == 2 && RR_LEVEL_HIGH == 3 &&
		   RR_LEVEL__COUNT == 4,
	       "level ranks");

static rr_level rank_level(int64_t rank)
{
	if (rank < 0)
		return RR_LEVEL_NONE;
	return rank < RR_LEVEL__COUNT ? (rr_level)rank : RR_LEVEL_HIGH;
}

static rr_level level_max(rr_level a, rr_level b)
{
	return a > b ? a : b;
}

/* Step a statement that returns one row of one or two integers. */
static int step_ints(rr_store *s, sqlite3_stmt *st, int64_t *a, int64_t *b)
{
	int r = rrs_step_row(s, st);

	if (r == 0)
		return rrs_fail(s, -EIO, "query returned no row");
	if (r < 0)
		return r;
	*a = sqlite3_column_int64(st, 0);
	if (b)
		*b = sqlite3_column_int64(st, 1);
	return 0;
}

/* ---- passwordSpray ---------------------------------------------------- */

int rr_store_spray_count(rr_store *s, const char *rhost, int64_t now,
			 unsigned window_s, uint64_t *users)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int err;

	if (!s || !users || !rrs_str_ok(rhost, RR_RHOST_MAX))
		return -EINVAL;
	if (!rhost || !*rhost) {
		*users = 0; /* a local sign-in has no source */
		return 0;
	}
	err = rrs_stmt(s, RRS_Q_SPRAY_COUNT, &st);
	if (!err)
		err =
		    rrs_bind(s, st, "sii", rhost, now - (int64_t)window_s, now);
	if (!err)
		err = step_ints(s, st, &n, NULL);
	rrs_release(st);
	if (!err)
		*users = (uint64_t)n;
	return err;
}

/* ---- aggregation rows ------------------------------------------------- */

typedef struct {
	bool found;
	rr_level level;   /* user risk it raised */
	unsigned signins; /* the rule it was met with */
	rr_level min_level;
	int64_t from; /* the window it was met in */
	int64_t to;
} agg_row;

static int agg_get(rr_store *s, const char *user, agg_row *a)
{
	sqlite3_stmt *st = NULL;
	int r;

	memset(a, 0, sizeof(*a));
	r = rrs_stmt(s, RRS_Q_AGG_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		a->found = true;
		a->signins = (unsigned)sqlite3_column_int64(st, 1);
		a->from = sqlite3_column_int64(st, 3);
		a->to = sqlite3_column_int64(st, 4);
		r = rrs_col_level(st, 0, &a->level);
		if (!r)
			r = rrs_col_level(st, 2, &a->min_level);
		if (r)
			rrs_fail(s, r, "unknown value in the store");
	}
	rrs_release(st);
	return r;
}

static int agg_put(rr_store *s, const char *user, const agg_row *a)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_AGG_UPSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "ssisii", user, rr_level_name(a->level),
			       (int64_t)a->signins, rr_level_name(a->min_level),
			       a->from, a->to);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

int rrs_aggregation_clear(rr_store *s, const char *user)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_AGG_DELETE, &st);
	if (!err)
		err = rrs_bind(s, st, "s", user);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

/* The user's sign-ins in [from, to] at or above `min` whose detections
 * are still at risk: how many, and the highest sign-in risk among them. */
static int agg_count(rr_store *s, const char *user, int64_t from, int64_t to,
		     rr_level min, uint64_t *count, rr_level *max)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0, rank = 0;
	int err;

	err = rrs_stmt(s, RRS_Q_AGG_COUNT, &st);
	if (!err)
		err = rrs_bind(s, st, "siiissss", user, from, to, (int64_t)min,
			       rr_state_name(RR_STATE_AT_RISK),
			       rr_level_name(RR_LEVEL_LOW),
			       rr_level_name(RR_LEVEL_MEDIUM),
			       rr_level_name(RR_LEVEL_HIGH));
	if (!err)
		err = step_ints(s, st, &n, &rank);
	rrs_release(st);
	if (err)
		return err;
	*count = (uint64_t)n;
	*max = rank_level(rank);
	return 0;
}

/*
 * The level the user's aggregation holds.  With `recheck` its sign-ins are
 * counted again (confirm-safe may have closed one): an aggregation no
 * longer met is forgotten, one still met keeps the highest level left.
 */
static int agg_level(rr_store *s, const char *user, bool recheck, rr_level *out)
{
	rr_level max = RR_LEVEL_NONE;
	uint64_t n = 0;
	agg_row a;
	int err;

	*out = RR_LEVEL_NONE;
	err = agg_get(s, user, &a);
	if (err || !a.found)
		return err;
	if (!recheck) {
		*out = a.level;
		return 0;
	}
	err = agg_count(s, user, a.from, a.to, a.min_level, &n, &max);
	if (err)
		return err;
	if (n < a.signins)
		return rrs_aggregation_clear(s, user);
	*out = max;
	if (max == a.level)
		return 0;
	a.level = max;
	return agg_put(s, user, &a);
}

/* ---- recomputing user risk ------------------------------------------- */

static int user_det_max(rr_store *s, const char *user, rr_level *out)
{
	sqlite3_stmt *st = NULL;
	int64_t rank = 0;
	int err;

	err = rrs_stmt(s, RRS_Q_USER_DET_MAX, &st);
	if (!err)
		err = rrs_bind(
		    s, st, "sssss", user, rr_state_name(RR_STATE_AT_RISK),
		    rr_level_name(RR_LEVEL_LOW), rr_level_name(RR_LEVEL_MEDIUM),
		    rr_level_name(RR_LEVEL_HIGH));
	if (!err)
		err = step_ints(s, st, &rank, NULL);
	rrs_release(st);
	if (!err)
		*out = rank_level(rank);
	return err;
}

struct recompute {
	bool recheck;           /* count the aggregation's sign-ins again */
	bool touch;             /* write even when unchanged (new evidence
				   restarts the low-risk clock) */
	bool raise_only;        /* never lower the stored level */
	rr_state cleared_state; /* an at-risk user with nothing active */
	rr_detail cleared_detail;
};

/*
 * Recompute the user's row; 1 when it changed, 0 when not, or a negative
 * errno.  A user confirmed compromised stays high; an at-risk user with
 * nothing active left gets the cleared state and detail; other users
 * without risk keep their row.
 */
static int user_recompute(rr_store *s, const char *user, int64_t now,
			  const struct recompute *rc)
{
	rr_store_user u = {.level = RR_LEVEL_NONE,
			   .state = RR_STATE_NONE,
			   .detail = RR_DETAIL_NONE};
	rr_level det = RR_LEVEL_NONE, agg = RR_LEVEL_NONE, level;
	rr_state state;
	rr_detail detail;
	bool changed;
	int err;

	err = rrs_user_row(s, user, &u);
	if (!err)
		err = user_det_max(s, user, &det);
	if (!err)
		err = agg_level(s, user, rc->recheck, &agg);
	if (err)
		return err;
	level = level_max(det, agg);
	state = u.state;
	detail = u.detail;
	if (u.state == RR_STATE_CONFIRMED_COMPROMISED) {
		level = RR_LEVEL_HIGH;
	} else if (level > RR_LEVEL_NONE) {
		state = RR_STATE_AT_RISK;
		detail = RR_DETAIL_NONE;
	} else if (u.state == RR_STATE_AT_RISK) {
		state = rc->cleared_state;
		detail = rc->cleared_detail;
	} else {
		level = u.level;
	}
	if (rc->raise_only && level < u.level)
		return 0;
	changed = level != u.level || state != u.state || detail != u.detail;
	if (!changed && !rc->touch)
		return 0;
	err = rrs_user_set(s, user, level, state, detail, now);
	return err ? err : changed;
}

/* ---- user-scope detections -------------------------------------------- */

/* Refresh the active detection of that type, or add one. */
static int user_det_put(rr_store *s, const char *user, rr_event type,
			rr_level level, const char *source, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_USER_DET_REFRESH, &st);
	if (!err)
		err = rrs_bind(s, st, "ssssis", user, rr_event_name(type),
			       rr_level_name(level), source, now,
			       rr_state_name(RR_STATE_AT_RISK));
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	if (err || sqlite3_changes(s->db) > 0)
		return err;
	err = rrs_stmt(s, RRS_Q_DET_INSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "ssssssssi", user, rr_event_name(type),
			       rr_level_name(level),
			       rr_state_name(RR_STATE_AT_RISK),
			       rr_detail_name(RR_DETAIL_NONE), RRS_SCOPE_USER,
			       "", source, now);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

static int user_det_try(rr_store *s, const char *user, rr_event type,
			rr_level level, const char *source, int64_t now)
{
	static const struct recompute rc = {.touch = true};
	int err;

	err = rrs_begin(s, true);
	if (err)
		return err;
	err = user_det_put(s, user, type, level, source, now);
	if (!err)
		err = user_recompute(s, user, now, &rc);
	if (err >= 0)
		err = rrs_shared_touch(s, user, RR_SHARED_BIT(RR_SHARED_RISK),
				       RRS_OFFLINE_QUEUE);
	return rrs_end(s, err < 0 ? err : 0);
}

int rr_store_user_detection_add(rr_store *s, const char *user, rr_event type,
				rr_level level, const char *source, int64_t now)
{
	int err;

	if (!s || !rrs_user_ok(user) || !rr_event_name(type) ||
	    !rr_level_name(level) || level == RR_LEVEL_NONE ||
	    !rrs_str_ok(source, RR_RHOST_MAX))
		return -EINVAL;
	RRS_RETRY(err, user_det_try(s, user, type, level, source, now));
	return err;
}

/* ---- aggregation ------------------------------------------------------ */

/* 1 when the user's row changed. */
static int aggregate_apply(rr_store *s, const char *user,
			   const rr_aggregation *agg, int64_t now)
{
	static const struct recompute rc = {.raise_only = true};
	agg_row cand = {.found = true,
			.signins = agg->signins,
			.min_level = agg->min_level,
			.from = now - (int64_t)agg->window_s,
			.to = now};
	agg_row cur;
	uint64_t n = 0;
	int err;

	err = agg_count(s, user, cand.from, cand.to, cand.min_level, &n,
			&cand.level);
	if (err || n < agg->signins)
		return err;
	err = agg_get(s, user, &cur);
	/* an earlier aggregation at a higher level stays until closed */
	if (!err && (!cur.found || cand.level >= cur.level))
		err = agg_put(s, user, &cand);
	if (!err)
		err = user_recompute(s, user, now, &rc);
	if (err == 1) {
		int t = rrs_shared_touch(s, user,
					 RR_SHARED_BIT(RR_SHARED_RISK),
					 RRS_OFFLINE_QUEUE);

		if (t)
			return t;
	}
	return err;
}

static int aggregate_try(rr_store *s, const char *user,
			 const rr_aggregation *agg, int64_t now, int *res)
{
	int r = rrs_begin(s, true);

	if (r)
		return r;
	*res = aggregate_apply(s, user, agg, now);
	return rrs_end(s, *res < 0 ? *res : 0);
}

int rr_store_aggregate(rr_store *s, const char *user, const rr_aggregation *agg,
		       int64_t now, bool *raised)
{
	int r, err;

	if (!s || !agg || !rrs_user_ok(user) || !rr_level_name(agg->min_level))
		return -EINVAL;
	if (!agg->enabled || !agg->signins) {
		if (raised)
			*raised = false;
		return 0;
	}
	r = 0;
	RRS_RETRY(err, aggregate_try(s, user, agg, now, &r));
	if (err)
		return err;
	if (raised)
		*raised = r == 1;
	return 0;
}

/* ---- confirm-safe ----------------------------------------------------- */

static int ref_user(rr_store *s, const char *ref, char user[RR_USER_MAX + 1])
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_REF_USER, &st);
	if (!r)
		r = rrs_bind(s, st, "s", ref);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		rrs_col_text(st, 0, user, RR_USER_MAX + 1);
		r = user[0] ? 0 : rrs_fail(s, -EPROTO, "sign-in without user");
	} else if (r == 0) {
		r = rrs_fail(s, -ENOENT, "no sign-in with that reference");
	}
	rrs_release(st);
	return r;
}

/* The user's row, none if there was none: the record that carries the
 * user's sign-ins confirmed safe (rr_fleet_risk.safe). */
static int user_row_ensure(rr_store *s, const char *user, int64_t now)
{
	rr_store_user u = {.updated = -1}; /* untouched: no row */
	int r = rrs_user_row(s, user, &u);

	if (!r && u.updated < 0)
		r = rrs_user_set(s, user, RR_LEVEL_NONE, RR_STATE_NONE,
				 RR_DETAIL_NONE, now);
	return r;
}

/* given: the sign-in's user when the caller knows it (a fleet's tenant
 * copy holds no sign-ins; NULL: this store's log must have it). */
static int confirm_apply(rr_store *s, const char *ref, const char *given,
			 const char *actor, int64_t now,
			 char user[RR_USER_MAX + 1])
{
	static const struct recompute rc = {
	    .recheck = true,
	    .cleared_state = RR_STATE_CONFIRMED_SAFE,
	    .cleared_detail = RR_DETAIL_ADMIN_SIGNIN_SAFE};
	sqlite3_stmt *st = NULL;
	char detail[32];
	int err;

	err = ref_user(s, ref, user);
	if (err == -ENOENT && given) {
		/* another host's sign-in: its host applies the safe ref */
		snprintf(user, RR_USER_MAX + 1, "%s", given);
		err = 0;
	} else if (!err && given && strcmp(user, given) != 0) {
		err = rrs_fail(s, -ENOENT, "that sign-in is not the user's");
	}
	if (err)
		return err;
	err = rrs_stmt(s, RRS_Q_DETS_CONFIRM_SAFE, &st);
	if (!err)
		err = rrs_bind(
		    s, st, "sssi", ref, rr_state_name(RR_STATE_CONFIRMED_SAFE),
		    rr_detail_name(RR_DETAIL_ADMIN_SIGNIN_SAFE), now);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	/* kept with the user's risk (a fleet carries it to the sign-in's
	 * host) */
	if (!err)
		err = rrs_exec_q(s, RRS_Q_SAFE_PUT, "ssi", user, ref, now);
	if (!err)
		err = rrs_exec_q(s, RRS_Q_SAFE_TRIM, "si", user,
				 (int64_t)RR_FLEET_MAX_SAFE_REFS);
	if (!err)
		err = user_recompute(s, user, now, &rc);
	if (err >= 0)
		err = user_row_ensure(s, user, now);
	if (err >= 0)
		err = rrs_shared_touch(s, user, RR_SHARED_BIT(RR_SHARED_RISK),
				       RRS_OFFLINE_STRICT);
	if (err < 0)
		return err;
	snprintf(detail, sizeof(detail), "ref %s", ref);
	return rrs_audit(s, now, actor, "confirm-safe", user, detail);
}

static int confirm_try(rr_store *s, const char *ref, const char *given,
		       const char *actor, int64_t now,
		       char user[RR_USER_MAX + 1])
{
	int err = rrs_begin(s, true);

	return err ? err
		   : rrs_end(s, confirm_apply(s, ref, given, actor, now,
					      user));
}

static int confirm(rr_store *s, const char *ref, const char *given,
		   const char *actor, int64_t now,
		   char user_out[RR_USER_MAX + 1])
{
	char user[RR_USER_MAX + 1];
	int err;

	if (!s || !ref || !*ref || !rrs_str_ok(ref, RR_REF_LEN) ||
	    (given && !rrs_user_ok(given)) || !rrs_user_ok(actor) ||
	    !user_out)
		return -EINVAL;
	RRS_RETRY(err, confirm_try(s, ref, given, actor, now, user));
	if (!err)
		memcpy(user_out, user, strlen(user) + 1);
	return err;
}

int rr_store_confirm_safe(rr_store *s, const char *ref, const char *actor,
			  int64_t now, char user_out[RR_USER_MAX + 1])
{
	return confirm(s, ref, NULL, actor, now, user_out);
}

int rr_store_confirm_safe_of(rr_store *s, const char *ref, const char *user,
			     const char *actor, int64_t now)
{
	char out[RR_USER_MAX + 1];

	return user ? confirm(s, ref, user, actor, now, out) : -EINVAL;
}
