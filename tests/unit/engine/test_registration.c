/* SPDX-License-Identifier: BSD-3-Clause */
/* rr_engine_registration: the MFA registration interrupt, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rr_engine.h"

#define DAY 86400
#define NOW ((int64_t)1800000000)

static char n_root[] = "root";
static char *root_list[] = { n_root };

struct row {
	const char *desc;
	rr_pstate state;     /* mfa_registration.state */
	unsigned grace_days;
	const char *user;
	bool registered;
	int64_t grace_start; /* relative to NOW; 1 = never (stored 0) */
	rr_action action;
	unsigned require;
	rr_level signin_risk;
	rr_level user_risk;
	/* expected */
	rr_reg_action want;
	unsigned days_left;
	bool start_grace;
	bool report_only;
	rr_origin origin; /* RR_ORIGIN_REMOTE when not given */
};

#define NEVER 1

static const struct row rows[] = {
	{ "registered: nothing", RR_PSTATE_ENABLED, 14, "alice", true, NEVER,
	  RR_ACTION_ALLOW, 0, RR_LEVEL_NONE, RR_LEVEL_NONE, RR_REG_NONE, 0,
	  false, false,
	  RR_ORIGIN_REMOTE },
	{ "first interrupt starts grace, 14 days left", RR_PSTATE_ENABLED, 14,
	  "alice", false, NEVER, RR_ACTION_ALLOW, 0, RR_LEVEL_NONE,
	  RR_LEVEL_NONE, RR_REG_OFFER, 14, true, false,
	  RR_ORIGIN_REMOTE },
	{ "5 days in: 9 days left", RR_PSTATE_ENABLED, 14, "alice", false,
	  -5 * DAY, RR_ACTION_ALLOW, 0, RR_LEVEL_NONE, RR_LEVEL_NONE,
	  RR_REG_OFFER, 9, false, false,
	  RR_ORIGIN_REMOTE },
	{ "one second into the grace: still 14 days (rounded up)",
	  RR_PSTATE_ENABLED, 14, "alice", false, -1, RR_ACTION_ALLOW, 0,
	  RR_LEVEL_NONE, RR_LEVEL_NONE, RR_REG_OFFER, 14, false, false,
	  RR_ORIGIN_REMOTE },
	{ "last second of grace: 1 day left", RR_PSTATE_ENABLED, 14, "alice",
	  false, -14 * DAY + 1, RR_ACTION_ALLOW, 0, RR_LEVEL_NONE,
	  RR_LEVEL_NONE, RR_REG_OFFER, 1, false, false,
	  RR_ORIGIN_REMOTE },
	{ "grace over exactly: required", RR_PSTATE_ENABLED, 14, "alice",
	  false, -14 * DAY, RR_ACTION_ALLOW, 0, RR_LEVEL_NONE, RR_LEVEL_NONE,
	  RR_REG_REQUIRED, 0, false, false,
	  RR_ORIGIN_REMOTE },
	{ "grace_days 0: required at once", RR_PSTATE_ENABLED, 0, "alice",
	  false, NEVER, RR_ACTION_ALLOW, 0, RR_LEVEL_NONE, RR_LEVEL_NONE,
	  RR_REG_REQUIRED, 0, true, false,
	  RR_ORIGIN_REMOTE },
	{ "excluded user: nothing", RR_PSTATE_ENABLED, 14, "root", false,
	  NEVER, RR_ACTION_ALLOW, 0, RR_LEVEL_NONE, RR_LEVEL_NONE, RR_REG_NONE,
	  0, false, false,
	  RR_ORIGIN_REMOTE },
	{ "disabled: nothing", RR_PSTATE_DISABLED, 14, "alice", false, NEVER,
	  RR_ACTION_ALLOW, 0, RR_LEVEL_NONE, RR_LEVEL_NONE, RR_REG_NONE, 0,
	  false, false,
	  RR_ORIGIN_REMOTE },
	{ "reportOnly: would interrupt, never does", RR_PSTATE_REPORT_ONLY, 14,
	  "alice", false, -20 * DAY, RR_ACTION_ALLOW, 0, RR_LEVEL_NONE,
	  RR_LEVEL_NONE, RR_REG_NONE, 0, false, true,
	  RR_ORIGIN_REMOTE },
	{ "policy needs MFA, not risky: required now (no skip)",
	  RR_PSTATE_ENABLED, 14, "alice", false, NEVER, RR_ACTION_REQUIRE,
	  RR_REQUIRE_MFA, RR_LEVEL_NONE, RR_LEVEL_NONE, RR_REG_REQUIRED, 0,
	  false, false,
	  RR_ORIGIN_REMOTE },
	{ "policy needs MFA, registration disabled: still required",
	  RR_PSTATE_DISABLED, 14, "alice", false, NEVER, RR_ACTION_REQUIRE,
	  RR_REQUIRE_MFA, RR_LEVEL_NONE, RR_LEVEL_NONE, RR_REG_REQUIRED, 0,
	  false, false,
	  RR_ORIGIN_REMOTE },
	{ "risky sign-in needs MFA: refused", RR_PSTATE_ENABLED, 14, "alice",
	  false, NEVER, RR_ACTION_REQUIRE, RR_REQUIRE_MFA, RR_LEVEL_MEDIUM,
	  RR_LEVEL_NONE, RR_REG_REFUSED, 0, false, false,
	  RR_ORIGIN_REMOTE },
	{ "risky user needs MFA: refused", RR_PSTATE_ENABLED, 14, "alice",
	  false, NEVER, RR_ACTION_REQUIRE,
	  RR_REQUIRE_MFA | RR_REQUIRE_PASSWORD_CHANGE, RR_LEVEL_NONE,
	  RR_LEVEL_HIGH, RR_REG_REFUSED, 0, false, false,
	  RR_ORIGIN_REMOTE },
	{ "risky but no policy needs MFA, in grace: no offer",
	  RR_PSTATE_ENABLED, 14, "alice", false, -2 * DAY, RR_ACTION_ALLOW, 0,
	  RR_LEVEL_LOW, RR_LEVEL_NONE, RR_REG_NONE, 0, false, false,
	  RR_ORIGIN_REMOTE },
	{ "risky, grace over: refused", RR_PSTATE_ENABLED, 14, "alice", false,
	  -30 * DAY, RR_ACTION_ALLOW, 0, RR_LEVEL_LOW, RR_LEVEL_NONE,
	  RR_REG_REFUSED, 0, false, false,
	  RR_ORIGIN_REMOTE },
	{ "blocked sign-in: block handles it", RR_PSTATE_ENABLED, 14, "alice",
	  false, -30 * DAY, RR_ACTION_BLOCK, RR_REQUIRE_MFA, RR_LEVEL_HIGH,
	  RR_LEVEL_NONE, RR_REG_REFUSED, 0, false, false,
	  RR_ORIGIN_REMOTE },
	/* another user's session (bob's `su alice`): treated as risky */
	{ "another user's session, in grace: no offer", RR_PSTATE_ENABLED, 14,
	  "alice", false, -2 * DAY, RR_ACTION_ALLOW, 0, RR_LEVEL_NONE,
	  RR_LEVEL_NONE, RR_REG_NONE, 0, false, false, RR_ORIGIN_OTHER_USER },
	{ "another user's session, first interrupt: no offer, no grace start",
	  RR_PSTATE_ENABLED, 14, "alice", false, NEVER, RR_ACTION_ALLOW, 0,
	  RR_LEVEL_NONE, RR_LEVEL_NONE, RR_REG_NONE, 0, false, false,
	  RR_ORIGIN_OTHER_USER },
	{ "another user's session, grace over: refused", RR_PSTATE_ENABLED,
	  14, "alice", false, -30 * DAY, RR_ACTION_ALLOW, 0, RR_LEVEL_NONE,
	  RR_LEVEL_NONE, RR_REG_REFUSED, 0, false, false,
	  RR_ORIGIN_OTHER_USER },
	{ "another user's session, policy needs MFA: refused",
	  RR_PSTATE_ENABLED, 14, "alice", false, NEVER, RR_ACTION_REQUIRE,
	  RR_REQUIRE_MFA, RR_LEVEL_NONE, RR_LEVEL_NONE, RR_REG_REFUSED, 0,
	  false, false, RR_ORIGIN_OTHER_USER },
	{ "local (root's or own session), grace over: required",
	  RR_PSTATE_ENABLED, 14, "alice", false, -30 * DAY, RR_ACTION_ALLOW, 0,
	  RR_LEVEL_NONE, RR_LEVEL_NONE, RR_REG_REQUIRED, 0, false, false,
	  RR_ORIGIN_LOCAL },
};

static void test_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		rr_policy p;
		rr_facts f = { .user = r->user, .service = "sshd",
			       .origin = r->origin };
		rr_decision d = { .action = r->action, .require = r->require,
				  .signin_risk = r->signin_risk,
				  .user_risk = r->user_risk };
		rr_registration out;

		memset(&p, 0, sizeof(p));
		p.mfa_registration.state = r->state;
		p.mfa_registration.grace_days = r->grace_days;
		p.mfa_registration.users.given = true;
		p.mfa_registration.users.include.all = true;
		p.mfa_registration.users.exclude.names = root_list;
		p.mfa_registration.users.exclude.n = 1;
		print_message("registration: %s\n", r->desc);
		rr_engine_registration(&p, &f, r->registered,
				       r->grace_start == NEVER ?
					       0 : NOW + r->grace_start,
				       &d, NOW, &out);
		assert_string_equal(rr_reg_action_name(out.action),
				    rr_reg_action_name(r->want));
		assert_int_equal(out.days_left, r->days_left);
		assert_int_equal(out.start_grace, r->start_grace);
		assert_int_equal(out.report_only, r->report_only);
	}
}

static void test_null_args(void **state)
{
	rr_registration out = { .action = RR_REG_REQUIRED };

	(void)state;
	rr_engine_registration(NULL, NULL, false, 0, NULL, NOW, &out);
	assert_int_equal(out.action, RR_REG_NONE);
	rr_engine_registration(NULL, NULL, false, 0, NULL, NOW, NULL);
	assert_null(rr_reg_action_name((rr_reg_action)99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_null_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
