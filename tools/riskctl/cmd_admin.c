/* SPDX-License-Identifier: BSD-3-Clause */
/* Admin verbs: unblock, dismiss, confirm-compromised, confirm-safe
 * (audited). */
#include "json.h"
#include "riskctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *plural(unsigned n)
{
	return n == 1 ? "" : "s";
}

static void confirm(rr_admin_action a, const char *user, unsigned n)
{
	switch (a) {
	case RR_ADMIN_DISMISS:
		printf("%s: risk dismissed (%u detection%s closed)\n", user, n,
		       plural(n));
		break;
	case RR_ADMIN_UNBLOCK:
		printf("%s: unblocked (risk dismissed, %u detection%s "
		       "closed)\n",
		       user, n, plural(n));
		break;
	case RR_ADMIN_CONFIRM_COMPROMISED:
		printf("%s: confirmed compromised (user risk high)\n", user);
		break;
	default:
		break;
	}
}

/* --json: the action and the user's risk after it. */
static int confirm_json(struct ctl *c, rr_admin_action a, const char *user,
			unsigned n)
{
	rr_store_user u;
	struct json j;
	int r;

	r = rr_store_user_get(c->store, user, &u);
	if (r < 0)
		return ctl_store_fail(c, "cannot read the user's risk", r);
	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "user", user);
	json_kstr(&j, "action", rr_admin_action_name(a));
	json_kint(&j, "detectionsChanged", n);
	json_kstr(&j, "riskLevel", rr_level_name(u.level));
	json_kstr(&j, "riskState", rr_state_name(u.state));
	json_kstr(&j, "riskDetail", rr_detail_name(u.detail));
	json_obj_end(&j);
	return fail_output(json_finish(&j));
}

static int admin(struct ctl *c, rr_admin_action a)
{
	char actor[RR_USER_MAX + 16];
	const char *user = c->args[0];
	unsigned changed = 0;
	int r;

	r = ctl_check_user(user);
	if (r == RC_OK)
		r = ctl_open(c);
	if (r != RC_OK)
		return r;
	ctl_actor(actor, sizeof(actor));
	r = rr_store_admin(c->store, a, user, actor, (int64_t)time(NULL),
			   &changed);
	if (r < 0)
		return ctl_store_fail(c, "cannot update the risk store", r);
	if (c->json)
		return confirm_json(c, a, user, changed);
	confirm(a, user, changed);
	return RC_OK;
}

int cmd_unblock(struct ctl *c)
{
	return admin(c, RR_ADMIN_UNBLOCK);
}

int cmd_dismiss(struct ctl *c)
{
	return admin(c, RR_ADMIN_DISMISS);
}

int cmd_confirm_compromised(struct ctl *c)
{
	return admin(c, RR_ADMIN_CONFIRM_COMPROMISED);
}

/* ---- confirm-safe --ref ID -------------------------------------------- */

static int confirm_safe_print(struct ctl *c, const char *user, int64_t now)
{
	rr_store_user u;
	rr_user_risk ur;
	rr_level effective;
	struct json j;
	int r;

	r = rr_store_user_get(c->store, user, &u);
	if (r < 0)
		return ctl_store_fail(c, "cannot read the user's risk", r);
	ur = (rr_user_risk){u.level, u.state, u.detail, u.updated};
	effective = rr_engine_user_risk(c->policy, &ur, now);
	if (!c->json) {
		printf("%s: sign-in confirmed safe; %s risk now %s\n", c->ref,
		       user, rr_level_name(effective));
		return RC_OK;
	}
	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "ref", c->ref);
	json_kstr(&j, "user", user);
	json_kstr(&j, "action", "confirm-safe");
	json_kstr(&j, "riskLevel", rr_level_name(u.level));
	json_kstr(&j, "effectiveRiskLevel", rr_level_name(effective));
	json_kstr(&j, "riskState", rr_state_name(u.state));
	json_kstr(&j, "riskDetail", rr_detail_name(u.detail));
	json_obj_end(&j);
	return fail_output(json_finish(&j));
}

/*
 * On a fleet: the sign-in found on this host or in etcd (its user), then
 * one transaction on the tenant -- the user's risk recomputed, the
 * reference carried in the user's risk record to the host that logged
 * the sign-in, whose riskd marks its detections confirmedSafe when the
 * record arrives.
 */
static int confirm_safe_fleet(struct ctl *c, int64_t now)
{
	char actor[RR_USER_MAX + 16], user[RR_USER_MAX + 1];
	rr_fleet_signin *v = NULL;
	int r;

	r = ctl_fleet_signin(c, &v);
	if (r != RC_OK)
		return r;
	snprintf(user, sizeof(user), "%s", v->s.user);
	free(v);
	r = ctl_open(c);
	if (r != RC_OK)
		return r;
	ctl_actor(actor, sizeof(actor));
	r = rr_store_confirm_safe_of(c->store, c->ref, user, actor, now);
	if (r < 0)
		return ctl_store_fail(c, "cannot update the risk store", r);
	return confirm_safe_print(c, user, now);
}

int cmd_confirm_safe(struct ctl *c)
{
	char actor[RR_USER_MAX + 16], user[RR_USER_MAX + 1];
	int64_t now = (int64_t)time(NULL);
	int r;

	if (!(c->given & OPT_REF)) {
		ctl_err("confirm-safe needs --ref ID (the reference the user "
			"was shown, e.g. 7F3A-91C2)");
		return RC_USAGE;
	}
	r = ctl_load_policy(c, NULL);
	if (r == RC_OK && c->policy->backend == RR_BACKEND_ETCD)
		return confirm_safe_fleet(c, now);
	if (r == RC_OK)
		r = ctl_open(c);
	if (r != RC_OK)
		return r;
	ctl_actor(actor, sizeof(actor));
	r = rr_store_confirm_safe(c->store, c->ref, actor, now, user);
	if (r == -ENOENT) {
		ctl_err("no sign-in with reference %s", c->ref);
		return RC_NOT_FOUND;
	}
	if (r < 0)
		return ctl_store_fail(c, "cannot update the risk store", r);
	return confirm_safe_print(c, user, now);
}
