/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Users' stored risk, detections, and admin actions with their audit trail.
 */
#include "rr_store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- users ------------------------------------------------------------ */

int rrs_user_row(rr_store *s, const char *user, rr_store_user *u)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_USER_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		r = rrs_col_level(st, 0, &u->level);
		if (!r)
			r = rrs_col_state(st, 1, &u->state);
		if (!r)
			r = rrs_col_detail(st, 2, &u->detail);
		u->updated = sqlite3_column_int64(st, 3);
		if (r)
			rrs_fail(s, r, "unknown value in the store");
	}
	rrs_release(st);
	return r;
}

static int user_active(rr_store *s, const char *user, rr_store_user *u)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_USER_ACTIVE, &st);
	if (!r)
		r = rrs_bind(s, st, "ss", user,
			     rr_state_name(RR_STATE_AT_RISK));
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		u->active_detections = (unsigned)sqlite3_column_int64(st, 0);
		r = 0;
	} else if (r == 0) {
		r = rrs_fail(s, -EIO, "count returned no row");
	}
	rrs_release(st);
	return r;
}

static int user_must_change(rr_store *s, const char *user, rr_store_user *u)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_MUST_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		u->must_change = true;
		u->must_change_since = sqlite3_column_int64(st, 0);
	}
	rrs_release(st);
	return r < 0 ? r : 0;
}

int rr_store_user_get(rr_store *s, const char *user, rr_store_user *out)
{
	rr_store_user u = {.level = RR_LEVEL_NONE,
			   .state = RR_STATE_NONE,
			   .detail = RR_DETAIL_NONE};
	int err;

	if (!s || !out || !rrs_user_ok(user))
		return -EINVAL;
	memcpy(u.user, user, strlen(user) + 1);
	err = rrs_begin(s, false);
	if (err)
		return err;
	err = rrs_shared_check(s, user);
	if (!err)
		err = rrs_user_row(s, user, &u);
	if (err >= 0)
		err = user_active(s, user, &u);
	if (!err)
		err = user_must_change(s, user, &u);
	err = rrs_end(s, err);
	if (!err)
		*out = u;
	return err;
}

static int user_fill(sqlite3_stmt *st, void *row)
{
	rr_store_user *u = row;
	int err;

	rrs_col_text(st, 0, u->user, sizeof(u->user));
	u->updated = sqlite3_column_int64(st, 4);
	u->active_detections = (unsigned)sqlite3_column_int64(st, 5);
	err = rrs_col_level(st, 1, &u->level);
	if (!err)
		err = rrs_col_state(st, 2, &u->state);
	if (!err)
		err = rrs_col_detail(st, 3, &u->detail);
	return err;
}

static bool user_filter_ok(const rr_store_user_filter *f)
{
	return !f || ((f->level == -1 ||
		       (f->level >= 0 && f->level < RR_LEVEL__COUNT)) &&
		      (f->state == -1 ||
		       (f->state >= 0 && f->state < RR_STATE__COUNT)));
}

int rr_store_users_list(rr_store *s, const rr_store_user_filter *f,
			rr_store_user **rows, size_t *n)
{
	const char *level = NULL, *state = NULL;
	sqlite3_stmt *st = NULL;
	int err;

	if (!s || !rows || !n || !user_filter_ok(f))
		return -EINVAL;
	if (f && f->level >= 0)
		level = rr_level_name((rr_level)f->level);
	if (f && f->state >= 0)
		state = rr_state_name((rr_state)f->state);
	err = rrs_stmt(s, RRS_Q_USERS_LIST, &st);
	if (!err)
		err = rrs_bind(s, st, "ttisssssi", level, state,
			       (int64_t)(f && f->risky_only),
			       rr_level_name(RR_LEVEL_NONE),
			       rr_state_name(RR_STATE_AT_RISK),
			       rr_level_name(RR_LEVEL_HIGH),
			       rr_level_name(RR_LEVEL_MEDIUM),
			       rr_level_name(RR_LEVEL_LOW), rrs_limit(0));
	if (!err)
		err = rrs_fetch(s, st, sizeof(**rows), user_fill, (void **)rows,
				n);
	rrs_release(st);
	return err;
}

/* ---- detections ------------------------------------------------------- */

static int detection_fill(sqlite3_stmt *st, void *row)
{
	rr_store_detection *d = row;
	const unsigned char *scope;
	int err;

	d->id = sqlite3_column_int64(st, 0);
	rrs_col_text(st, 1, d->user, sizeof(d->user));
	scope = sqlite3_column_text(st, 6);
	d->user_scope = scope && !strcmp((const char *)scope, RRS_SCOPE_USER);
	rrs_col_text(st, 7, d->ref, sizeof(d->ref));
	rrs_col_text(st, 8, d->source, sizeof(d->source));
	d->detected = sqlite3_column_int64(st, 9);
	d->updated = sqlite3_column_int64(st, 10);
	err = rrs_col_event(st, 2, &d->type);
	if (!err)
		err = rrs_col_level(st, 3, &d->level);
	if (!err)
		err = rrs_col_state(st, 4, &d->state);
	if (!err)
		err = rrs_col_detail(st, 5, &d->detail);
	return err;
}

static bool detection_filter_ok(const rr_store_detection_filter *f)
{
	return !f || (rrs_str_ok(f->user, RR_USER_MAX) &&
		      (!f->by_type || rr_event_name(f->type)) &&
		      (!f->by_level || rr_level_name(f->level)) &&
		      (!f->by_state || rr_state_name(f->state)));
}

/* The state to match, NULL for any; false when nothing can match. */
static bool detection_state(const rr_store_detection_filter *f,
			    const char **state)
{
	*state = NULL;
	if (f && f->active_only) {
		*state = rr_state_name(RR_STATE_AT_RISK);
		return !f->by_state || f->state == RR_STATE_AT_RISK;
	}
	if (f && f->by_state)
		*state = rr_state_name(f->state);
	return true;
}

int rr_store_detections_list(rr_store *s, const rr_store_detection_filter *f,
			     rr_store_detection **rows, size_t *n)
{
	const char *state, *type = NULL, *level = NULL;
	sqlite3_stmt *st = NULL;
	bool by_user = f && f->user;
	int err;

	if (!s || !rows || !n || !detection_filter_ok(f))
		return -EINVAL;
	if (!detection_state(f, &state)) {
		*rows = NULL;
		*n = 0;
		return 0;
	}
	if (f && f->by_type)
		type = rr_event_name(f->type);
	if (f && f->by_level)
		level = rr_level_name(f->level);
	err = rrs_stmt(s, by_user ? RRS_Q_DETS_USER : RRS_Q_DETS_ALL, &st);
	if (!err)
		err = rrs_bind(s, st, by_user ? "tttiis" : "tttii", state, type,
			       level, f ? f->since : (int64_t)0,
			       rrs_limit(f ? f->limit : 0),
			       by_user ? f->user : NULL);
	if (!err)
		err = rrs_fetch(s, st, sizeof(**rows), detection_fill,
				(void **)rows, n);
	rrs_release(st);
	return err;
}

int rr_store_detections_after(rr_store *s, int64_t after, size_t limit,
			      rr_store_detection **rows, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int err;

	if (!s || !rows || !n || after < 0 || !limit ||
	    limit > RR_STORE_MAX_ROWS)
		return -EINVAL;
	err = rrs_stmt(s, RRS_Q_DETS_AFTER, &st);
	if (!err)
		err = rrs_bind(s, st, "ii", after, (int64_t)limit);
	if (!err)
		err = rrs_fetch(s, st, sizeof(**rows), detection_fill,
				(void **)rows, n);
	rrs_release(st);
	return err;
}

/* ---- admin actions ---------------------------------------------------- */

int rrs_user_set(rr_store *s, const char *user, rr_level level, rr_state state,
		 rr_detail detail, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_USER_UPSERT, &st);
	if (!err)
		err =
		    rrs_bind(s, st, "ssssi", user, rr_level_name(level),
			     rr_state_name(state), rr_detail_name(detail), now);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

int rrs_audit(rr_store *s, int64_t now, const char *actor, const char *action,
	      const char *target, const char *detail)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_AUDIT_INSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "issss", now, actor, action, target,
			       detail);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	if (!err && s->link) {
		/* published with the write (rrs_shared_publish) */
		snprintf(s->audit_text[0], sizeof(s->audit_text[0]), "%s",
			 actor ? actor : "");
		snprintf(s->audit_text[1], sizeof(s->audit_text[1]), "%s",
			 action ? action : "");
		snprintf(s->audit_text[2], sizeof(s->audit_text[2]), "%s",
			 target ? target : "");
		snprintf(s->audit_text[3], sizeof(s->audit_text[3]), "%s",
			 detail ? detail : "");
		s->audit = (rr_store_audit_rec){.time = now,
						.actor = s->audit_text[0],
						.action = s->audit_text[1],
						.target = s->audit_text[2],
						.detail = s->audit_text[3]};
		s->audited = true;
	}
	return err;
}

static int admin_dismiss(rr_store *s, const char *user, int64_t now,
			 unsigned *changed)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_DETS_DISMISS, &st);
	if (!err)
		err = rrs_bind(s, st, "sssis", user,
			       rr_state_name(RR_STATE_DISMISSED),
			       rr_detail_name(RR_DETAIL_ADMIN_DISMISSED_ALL),
			       now, rr_state_name(RR_STATE_AT_RISK));
	if (!err)
		err = rrs_step_done(s, st);
	if (!err)
		*changed = (unsigned)sqlite3_changes(s->db);
	rrs_release(st);
	/* its sign-ins' detections are closed: the aggregation goes too */
	if (!err)
		err = rrs_aggregation_clear(s, user);
	if (err)
		return err;
	return rrs_user_set(s, user, RR_LEVEL_NONE, RR_STATE_DISMISSED,
			    RR_DETAIL_ADMIN_DISMISSED_ALL, now);
}

static int admin_confirm(rr_store *s, const char *user, int64_t now,
			 unsigned *changed)
{
	rr_detail why = RR_DETAIL_ADMIN_CONFIRMED_COMPROMISED;
	rr_event type = RR_EVENT_ADMIN_CONFIRMED_COMPROMISED;
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_DET_INSERT, &st);
	if (!err)
		err =
		    rrs_bind(s, st, "ssssssssi", user, rr_event_name(type),
			     rr_level_name(RR_LEVEL_HIGH),
			     rr_state_name(RR_STATE_AT_RISK),
			     rr_detail_name(why), RRS_SCOPE_USER, "", "", now);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	if (err)
		return err;
	*changed = 1;
	return rrs_user_set(s, user, RR_LEVEL_HIGH,
			    RR_STATE_CONFIRMED_COMPROMISED, why, now);
}

static int admin_apply(rr_store *s, rr_admin_action a, const char *user,
		       const char *actor, int64_t now, unsigned *changed)
{
	char detail[64];
	int err;

	if (a == RR_ADMIN_CONFIRM_COMPROMISED) {
		err = admin_confirm(s, user, now, changed);
		snprintf(detail, sizeof(detail),
			 "user risk high, confirmedCompromised");
	} else {
		err = admin_dismiss(s, user, now, changed);
		snprintf(detail, sizeof(detail), "closed %u detection%s",
			 *changed, *changed == 1 ? "" : "s");
	}
	if (!err)
		err = rrs_shared_touch(s, user, RR_SHARED_BIT(RR_SHARED_RISK),
				       RRS_OFFLINE_STRICT);
	if (err)
		return err;
	return rrs_audit(s, now, actor, rr_admin_action_name(a), user, detail);
}

static int admin_try(rr_store *s, rr_admin_action a, const char *user,
		     const char *actor, int64_t now, unsigned *changed)
{
	int err = rrs_begin(s, true);

	*changed = 0;
	return err ? err
		   : rrs_end(s, admin_apply(s, a, user, actor, now, changed));
}

int rr_store_admin(rr_store *s, rr_admin_action a, const char *user,
		   const char *actor, int64_t now, unsigned *changed)
{
	unsigned n = 0;
	int err;

	if (!s || !rr_admin_action_name(a) || !rrs_user_ok(user) ||
	    !rrs_user_ok(actor))
		return -EINVAL;
	RRS_RETRY(err, admin_try(s, a, user, actor, now, &n));
	if (!err && changed)
		*changed = n;
	return err;
}

/* ---- audit ------------------------------------------------------------ */

static int audit_fill(sqlite3_stmt *st, void *row)
{
	rr_store_audit *r = row;

	r->id = sqlite3_column_int64(st, 0);
	r->time = sqlite3_column_int64(st, 1);
	rrs_col_text(st, 2, r->actor, sizeof(r->actor));
	rrs_col_text(st, 3, r->action, sizeof(r->action));
	rrs_col_text(st, 4, r->target, sizeof(r->target));
	rrs_col_text(st, 5, r->detail, sizeof(r->detail));
	return 0;
}

int rr_store_audit_list(rr_store *s, size_t limit, rr_store_audit **rows,
			size_t *n)
{
	sqlite3_stmt *st = NULL;
	int err;

	if (!s || !rows || !n)
		return -EINVAL;
	err = rrs_stmt(s, RRS_Q_AUDIT_LIST, &st);
	if (!err)
		err = rrs_bind(s, st, "i", rrs_limit(limit));
	if (!err)
		err = rrs_fetch(s, st, sizeof(**rows), audit_fill,
				(void **)rows, n);
	rrs_release(st);
	return err;
}
