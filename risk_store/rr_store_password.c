/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Password changes that remediate user risk (the secure password change,
 * root's reset) and the must-change flag root's reset leaves behind.
 */
#include "rr_store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int must_change_set(rr_store *s, const char *user, const char *actor,
			   int64_t now)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_MUST_SET, &st);
	if (!err)
		err = rrs_bind(s, st, "sis", user, now, actor);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

/* 1 when a flag was removed. */
static int must_change_delete(rr_store *s, const char *user)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_MUST_DELETE, &st);
	if (!err)
		err = rrs_bind(s, st, "s", user);
	if (!err)
		err = rrs_step_done(s, st);
	if (!err)
		err = sqlite3_changes(s->db) > 0;
	rrs_release(st);
	return err;
}

/* Every active detection of the user becomes remediated with `detail`. */
static int dets_remediate(rr_store *s, const char *user, rr_detail detail,
			  int64_t now, unsigned *closed)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_DETS_DISMISS, &st);
	if (!err)
		err = rrs_bind(s, st, "sssis", user,
			       rr_state_name(RR_STATE_REMEDIATED),
			       rr_detail_name(detail), now,
			       rr_state_name(RR_STATE_AT_RISK));
	if (!err)
		err = rrs_step_done(s, st);
	if (!err)
		*closed = (unsigned)sqlite3_changes(s->db);
	rrs_release(st);
	return err;
}

static bool user_was_risky(const rr_store_user *u, unsigned closed)
{
	return closed > 0 || u->level > RR_LEVEL_NONE ||
	       u->state == RR_STATE_AT_RISK ||
	       u->state == RR_STATE_CONFIRMED_COMPROMISED;
}

static int remediate_apply(rr_store *s, const char *user, rr_detail detail,
			   const char *actor, const char *ref, int64_t now,
			   unsigned *closed)
{
	rr_store_user u = {.level = RR_LEVEL_NONE,
			   .state = RR_STATE_NONE,
			   .detail = RR_DETAIL_NONE};
	bool admin = detail == RR_DETAIL_ADMIN_TEMP_PASSWORD;
	char text[96];
	int err;

	err = rrs_user_row(s, user, &u);
	if (err >= 0 && ref) /* the sign-in awaiting the change completed it */
		err = rrs_signin_update(s, RRS_Q_SIGNIN_OUTCOME_SET,
					RRS_OUTCOME_SUCCESS, ref, user,
					RRS_OUTCOME_PWCHANGE);
	if (err >= 0)
		err = dets_remediate(s, user, detail, now, closed);
	if (!err)
		err = rrs_aggregation_clear(s, user);
	if (!err && user_was_risky(&u, *closed))
		err = rrs_user_set(s, user, RR_LEVEL_NONE, RR_STATE_REMEDIATED,
				   detail, now);
	if (!err)
		err = admin ? must_change_set(s, user, actor, now) :
			      must_change_delete(s, user);
	if (err >= 0)
		err = rrs_shared_touch(s, user,
				       RR_SHARED_BIT(RR_SHARED_RISK) |
					   RR_SHARED_BIT(RR_SHARED_PWCHANGE),
				       RRS_OFFLINE_STRICT);
	if (err < 0)
		return err;
	snprintf(text, sizeof(text), "%s; remediated %u detection%s%s",
		 rr_detail_name(detail), *closed, *closed == 1 ? "" : "s",
		 admin ? "; must change at next login" : "");
	return rrs_audit(s, now, actor, admin ? "password-reset" :
			 "secured-password-change", user, text);
}

static int remediate_try(rr_store *s, const char *user, rr_detail detail,
			 const char *actor, const char *ref, int64_t now,
			 unsigned *closed)
{
	int err = rrs_begin(s, true);

	*closed = 0;
	return err ? err
		   : rrs_end(s, remediate_apply(s, user, detail, actor, ref,
						now, closed));
}

int rr_store_remediate_user(rr_store *s, const char *user, rr_detail detail,
			    const char *actor, const char *ref, int64_t now,
			    unsigned *closed)
{
	unsigned n = 0;
	int err;

	if (!s || !rrs_user_ok(user) || (actor && !rrs_user_ok(actor)) ||
	    (ref && strlen(ref) != RR_REF_LEN) ||
	    (detail != RR_DETAIL_USER_SECURED_PASSWORD &&
	     detail != RR_DETAIL_ADMIN_TEMP_PASSWORD) ||
	    (ref && detail != RR_DETAIL_USER_SECURED_PASSWORD))
		return -EINVAL;
	RRS_RETRY(err, remediate_try(s, user, detail, actor ? actor : user,
				     ref, now, &n));
	if (!err && closed)
		*closed = n;
	return err;
}

static int must_change_clear_try(rr_store *s, const char *user, int64_t now)
{
	int err = rrs_begin(s, true);

	if (err)
		return err;
	err = must_change_delete(s, user);
	if (err == 1)
		err = rrs_shared_touch(s, user,
				       RR_SHARED_BIT(RR_SHARED_PWCHANGE),
				       RRS_OFFLINE_STRICT);
	else if (err == 0)
		return rrs_end(s, 0); /* no flag: nothing to audit */
	if (err == 0)
		err = rrs_audit(s, now, user, "password-changed", user,
				"temporary password replaced");
	return rrs_end(s, err);
}

int rr_store_must_change_clear(rr_store *s, const char *user, int64_t now)
{
	int err;

	if (!s || !rrs_user_ok(user))
		return -EINVAL;
	RRS_RETRY(err, must_change_clear_try(s, user, now));
	return err;
}
