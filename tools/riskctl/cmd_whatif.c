/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * whatif --user U [--rhost IP] [--service S]: evaluate the policy for a
 * sign-in that does not happen.  Reads the store; never records.
 */
#include "json.h"
#include "riskctl.h"
#include "table.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define KV_WIDTH 15
#define REASON_MAX 512

/* "mfa, password_change" from RR_REQUIRE_* bits. */
static void require_text(unsigned req, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", (req & RR_REQUIRE_MFA) ? "mfa" : "",
		 (req & RR_REQUIRE_MFA) && (req & RR_REQUIRE_PASSWORD_CHANGE)
		     ? ", "
		     : "",
		 (req & RR_REQUIRE_PASSWORD_CHANGE) ? "password_change" : "");
}

static void json_require(struct json *j, unsigned req)
{
	json_arr_begin(j);
	if (req & RR_REQUIRE_MFA)
		json_str(j, "mfa");
	if (req & RR_REQUIRE_PASSWORD_CHANGE)
		json_str(j, "password_change");
	json_arr_end(j);
}

static void json_dets(struct json *j, const rr_assessment *a)
{
	size_t i;

	json_arr_begin(j);
	for (i = 0; i < a->n_dets; i++) {
		json_obj_begin(j);
		json_kstr(j, "riskEventType", rr_event_name(a->dets[i].type));
		json_kstr(j, "riskLevel", rr_level_name(a->dets[i].level));
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_policies(struct json *j, const rr_policy *p,
			  const rr_assessment *a)
{
	char reason[REASON_MAX];
	size_t i;

	json_arr_begin(j);
	for (i = 0; i < p->n_policies; i++) {
		rr_assess_explain(p, a, i, reason, sizeof(reason));
		json_obj_begin(j);
		json_kstr(j, "name", p->policies[i].name);
		json_kstr(j, "state", rr_pstate_name(p->policies[i].state));
		json_kbool(j, "applies", a->results[i].applies);
		json_kbool(j, "enforced", a->results[i].enforced);
		json_kstr(j, "reason", reason);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static const char *block_policy(const rr_policy *p, const rr_decision *d)
{
	if (d->action != RR_ACTION_BLOCK || d->block_policy >= p->n_policies)
		return NULL;
	return p->policies[d->block_policy].name;
}

static int whatif_json(const rr_policy *p, const rr_assessment *a)
{
	const rr_decision *d = &a->decision;
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "user", a->user);
	json_kstr(&j, "service", a->service);
	json_kstr(&j, "rhost", a->rhost[0] ? a->rhost : NULL);
	json_kstr(&j, "signInRiskLevel", rr_level_name(d->signin_risk));
	json_kstr(&j, "userRiskLevel", rr_level_name(d->user_risk));
	json_kstr(&j, "riskState", rr_state_name(a->stored.state));
	json_key(&j, "detections");
	json_dets(&j, a);
	json_kstr(&j, "decision", rr_action_name(d->action));
	json_key(&j, "require");
	json_require(&j, d->action == RR_ACTION_REQUIRE ? d->require : 0);
	json_kstr(&j, "blockedBy", block_policy(p, d));
	json_key(&j, "reportOnly");
	json_obj_begin(&j);
	json_kbool(&j, "block", d->would_block);
	json_key(&j, "require");
	json_require(&j, d->would_require);
	json_obj_end(&j);
	json_key(&j, "policies");
	json_policies(&j, p, a);
	json_obj_end(&j);
	return fail_output(json_finish(&j));
}

static void decision_text(const rr_policy *p, const rr_decision *d, char *buf,
			  size_t len)
{
	char req[64];

	switch (d->action) {
	case RR_ACTION_BLOCK:
		snprintf(buf, len, "block (by \"%s\")",
			 block_policy(p, d) ? block_policy(p, d) : "?");
		break;
	case RR_ACTION_REQUIRE:
		require_text(d->require, req, sizeof(req));
		snprintf(buf, len, "require %s", req);
		break;
	case RR_ACTION_ALLOW:
	default:
		snprintf(buf, len, "allow");
		break;
	}
}

static void would_text(const rr_decision *d, char *buf, size_t len)
{
	char req[64];

	require_text(d->would_require, req, sizeof(req));
	if (d->would_block)
		snprintf(buf, len, "would block");
	else if (d->would_require)
		snprintf(buf, len, "would require %s", req);
	else
		snprintf(buf, len, "nothing");
}

static int policies_table(const rr_policy *p, const rr_assessment *a)
{
	static const char *const head[] = {"POLICY", "STATE", "APPLIES",
					   "ENFORCED", "REASON"};
	char reason[REASON_MAX];
	struct table t;
	size_t i;
	int r;

	table_init(&t, 5, head);
	for (i = 0; i < p->n_policies; i++) {
		const char *row[5];

		rr_assess_explain(p, a, i, reason, sizeof(reason));
		row[0] = p->policies[i].name;
		row[1] = rr_pstate_name(p->policies[i].state);
		row[2] = a->results[i].applies ? "yes" : "no";
		row[3] = a->results[i].enforced ? "yes" : "no";
		row[4] = reason;
		table_add(&t, row);
	}
	r = table_print(&t, stdout);
	table_clear(&t);
	return r;
}

static int whatif_text(const rr_policy *p, const rr_assessment *a)
{
	const rr_decision *d = &a->decision;
	char buf[RR_TEXT_MAX], urisk[64];
	int r = 0;

	snprintf(urisk, sizeof(urisk), "%s (%s)", rr_level_name(d->user_risk),
		 rr_state_name(a->stored.state));
	rr_assess_detections_text(a->dets, a->n_dets, buf, sizeof(buf));
	kv_print(stdout, KV_WIDTH, "user:", a->user);
	kv_print(stdout, KV_WIDTH, "service:", a->service);
	kv_print(stdout, KV_WIDTH,
		 "rhost:", a->rhost[0] ? a->rhost : "- (local)");
	kv_print(stdout, KV_WIDTH, "user risk:", urisk);
	kv_print(stdout, KV_WIDTH,
		 "sign-in risk:", rr_level_name(d->signin_risk));
	kv_print(stdout, KV_WIDTH, "detections:", buf[0] ? buf : "none");
	if (p->n_policies) {
		fputc('\n', stdout);
		r = policies_table(p, a);
		fputc('\n', stdout);
	}
	decision_text(p, d, buf, sizeof(buf));
	kv_print(stdout, KV_WIDTH, "decision:", buf);
	would_text(d, buf, sizeof(buf));
	kv_print(stdout, KV_WIDTH, "report-only:", buf);
	return fail_output(r);
}

static int user_exists(const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int r;

	r = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (r == 0 && res)
		return RC_OK;
	ctl_err("no such user '%s'%s%s", user, r ? ": " : "",
		r ? strerror(r) : "");
	return RC_NOT_FOUND;
}

static int assess_fail(struct ctl *c, int r)
{
	if (r == -EINVAL) {
		ctl_err("whatif: invalid --rhost or --service (printable "
			"characters, no spaces or quotes)");
		return RC_USAGE;
	}
	if (r == -E2BIG) {
		ctl_err("whatif: user %s is in more than %d groups", c->user,
			RR_GROUPS_MAX);
		return RC_STORE;
	}
	return ctl_store_fail(c, "whatif: cannot assess the sign-in", r);
}

int cmd_whatif(struct ctl *c)
{
	rr_signin_input in = {
	    .user = c->user,
	    .service = c->service ? c->service : "sshd",
	    .rhost = c->rhost,
	    /* without --rhost: as at the console (root's login) */
	    .ruid_known = true,
	    .ruid = 0,
	};
	rr_assessment a;
	int r;

	if (!c->user) {
		ctl_err("whatif needs --user USER");
		return RC_USAGE;
	}
	r = user_exists(c->user);
	if (r == RC_OK)
		r = ctl_open(c);
	if (r != RC_OK)
		return r;
	r = rr_assess(c->policy, c->store, &in, (int64_t)time(NULL), &a);
	if (r < 0)
		return assess_fail(c, r);
	if (c->json)
		r = whatif_json(c->policy, &a);
	else
		r = whatif_text(c->policy, &a);
	rr_assessment_clear(&a);
	return r;
}
