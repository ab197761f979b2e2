/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MFA registration interrupt, as a pure rule (DESIGN §3.5): who is
 * interrupted, who may skip, and when registration is refused because the
 * sign-in is risky.
 */
#include "rr_engine.h"

#include <string.h>

#define SECONDS_PER_DAY 86400

const char *rr_reg_action_name(rr_reg_action a)
{
	switch (a) {
	case RR_REG_NONE:
		return "none";
	case RR_REG_OFFER:
		return "offer";
	case RR_REG_REQUIRED:
		return "required";
	case RR_REG_REFUSED:
		return "refused";
	default:
		return NULL;
	}
}

/* Registration needs a sign-in nobody can doubt: no risk, and not from
 * another user's session (whoever knows the password could enrol there). */
static bool risky(const rr_decision *d, const rr_facts *f)
{
	return d->signin_risk > RR_LEVEL_NONE ||
	       d->user_risk > RR_LEVEL_NONE ||
	       f->origin == RR_ORIGIN_OTHER_USER;
}

/* Grace period: OFFER with whole days left (rounded up), or REQUIRED once
 * it is over.  A first interrupt starts the clock now. */
static void grace(const rr_policy *p, int64_t grace_start, int64_t now,
		  rr_registration *out)
{
	int64_t len = (int64_t)p->mfa_registration.grace_days * SECONDS_PER_DAY;
	int64_t start = grace_start > 0 ? grace_start : now;
	int64_t left;

	out->start_grace = grace_start <= 0;
	left = (now >= start) ? len - (now - start) : len;
	if (left <= 0) {
		out->action = RR_REG_REQUIRED;
		return;
	}
	out->action = RR_REG_OFFER;
	out->days_left = (unsigned)((left + SECONDS_PER_DAY - 1) /
				    SECONDS_PER_DAY);
}

void rr_engine_registration(const rr_policy *p, const rr_facts *facts,
			    bool registered, int64_t grace_start,
			    const rr_decision *d, int64_t now,
			    rr_registration *out)
{
	const rr_mfa_registration *reg;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!p || !facts || !d || registered)
		return;
	reg = &p->mfa_registration;
	if (d->action != RR_ACTION_BLOCK && (d->require & RR_REQUIRE_MFA)) {
		/* a policy needs MFA now: enrol only when nothing is risky */
		out->action = risky(d, facts) ? RR_REG_REFUSED :
						RR_REG_REQUIRED;
		return;
	}
	if (reg->state == RR_PSTATE_DISABLED ||
	    !rr_engine_in_scope(&reg->users, &reg->groups, facts))
		return;
	if (reg->state == RR_PSTATE_REPORT_ONLY) {
		out->report_only = true;
		return;
	}
	grace(p, grace_start, now, out);
	if (risky(d, facts)) {
		/* never enrol during risk: no offer; required means refused */
		if (out->action == RR_REG_OFFER) {
			out->action = RR_REG_NONE;
			out->start_grace = false;
			out->days_left = 0;
		} else {
			out->action = RR_REG_REFUSED;
		}
	}
}
