/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The decision engine: policy + user risk + sign-in facts + detections + now
 * -> decision.  Pure: libc only, no I/O, no clock, no allocation (except the
 * defaults' store path, which the policy layer frees).
 */
#include "rr_engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SECONDS_PER_DAY INT64_C(86400)

#define RR_DEFAULT_ISSUER "pam_riskremediate"
#define RR_DEFAULT_STORE_PATH "/var/lib/riskremediate/risk.db"

/* ---- names --------------------------------------------------------------- */

const char *rr_pstate_name(rr_pstate s)
{
	switch (s) {
	case RR_PSTATE_ENABLED:
		return "enabled";
	case RR_PSTATE_REPORT_ONLY:
		return "reportOnly";
	case RR_PSTATE_DISABLED:
		return "disabled";
	}
	return NULL;
}

const char *rr_action_name(rr_action a)
{
	switch (a) {
	case RR_ACTION_ALLOW:
		return "allow";
	case RR_ACTION_REQUIRE:
		return "require";
	case RR_ACTION_BLOCK:
		return "block";
	}
	return NULL;
}

int rr_action_parse(const char *s, rr_action *out)
{
	int a;

	for (a = RR_ACTION_ALLOW; s && a <= RR_ACTION_BLOCK; a++)
		if (!strcmp(rr_action_name((rr_action)a), s)) {
			*out = (rr_action)a;
			return 0;
		}
	return -EINVAL;
}

static const char *const why_texts[] = {
    [RR_WHY_APPLIES] = "applies",
    [RR_WHY_DISABLED] = "policy disabled",
    [RR_WHY_USER_NOT_INCLUDED] = "user not included",
    [RR_WHY_USER_EXCLUDED] = "user excluded",
    [RR_WHY_GROUP_EXCLUDED] = "group excluded",
    [RR_WHY_SERVICE_NOT_INCLUDED] = "service not included",
    [RR_WHY_SERVICE_EXCLUDED] = "service excluded",
    [RR_WHY_USER_RISK_NOT_MATCHED] = "user risk not matched",
    [RR_WHY_SIGNIN_RISK_NOT_MATCHED] = "sign-in risk not matched",
    [RR_WHY_LOCATION_NOT_INCLUDED] = "location not included",
    [RR_WHY_LOCATION_EXCLUDED] = "location excluded",
};

_Static_assert(ARRAY_SIZE(why_texts) == RR_WHY__COUNT, "why texts");

const char *rr_why_text(rr_why w)
{
	return (unsigned)w < ARRAY_SIZE(why_texts) ? why_texts[w] : NULL;
}

/* ---- defaults ------------------------------------------------------------ */

static void detection_defaults(rr_detection_cfg *d)
{
	for (size_t i = 0; i < RR_EVENT__COUNT; i++)
		d[i].level = RR_LEVEL_HIGH;

	d[RR_EVENT_UNFAMILIAR_FEATURES].enabled = true;
	d[RR_EVENT_UNFAMILIAR_FEATURES].level = RR_LEVEL_MEDIUM;
	d[RR_EVENT_UNFAMILIAR_FEATURES].learning_days = 5;
	d[RR_EVENT_UNFAMILIAR_FEATURES].learning_signins = 10;

	d[RR_EVENT_ANONYMIZED_IP].enabled = true;
	d[RR_EVENT_ANONYMIZED_IP].level = RR_LEVEL_MEDIUM;

	d[RR_EVENT_MALICIOUS_IP].enabled = true;
	d[RR_EVENT_MALICIOUS_IP].level = RR_LEVEL_HIGH;

	d[RR_EVENT_BRUTE_FORCE].enabled = true;
	d[RR_EVENT_BRUTE_FORCE].level = RR_LEVEL_HIGH;
	d[RR_EVENT_BRUTE_FORCE].failures = 10;
	d[RR_EVENT_BRUTE_FORCE].window_s = 600;
}

void rr_policy_init_defaults(rr_policy *p)
{
	if (!p)
		return;
	memset(p, 0, sizeof(*p));
	p->version = 1;
	/* Heap strings: rr_policy_free() frees every char * member.  On
	 * allocation failure they stay NULL, which callers read as default. */
	p->issuer = strdup(RR_DEFAULT_ISSUER);
	p->backend = RR_BACKEND_SQLITE;
	p->store_path = strdup(RR_DEFAULT_STORE_PATH);
	p->offline.max_staleness_s = 30;
	p->offline.mfa = RR_OFFLINE_MFA_DENY;
	p->on_error_allow = false;
	p->mfa_registration.state = RR_PSTATE_DISABLED;
	p->mfa_registration.grace_days = 14;
	p->mfa.totp_alg = 0; /* SHA1 */
	p->mfa.digits = 6;
	p->mfa.period = 30;
	p->mfa.window = 1;
	p->mfa.max_failures = 5;
	p->mfa.failure_window_s = 900;
	p->mfa.tap_ttl_s = 3600;
	p->mfa.key_file = strdup("/etc/security/riskremediate.key");
	detection_defaults(p->detections);
	/* passwordSpray: on, like bruteForce; leakedCredentials: off until
	 * the policy names a range_url or hash_file. */
	p->detections[RR_EVENT_PASSWORD_SPRAY].enabled = true;
	p->detections[RR_EVENT_PASSWORD_SPRAY].level = RR_LEVEL_MEDIUM;
	p->detections[RR_EVENT_PASSWORD_SPRAY].spray_users = 10;
	p->detections[RR_EVENT_PASSWORD_SPRAY].window_s = 3600;
	p->detections[RR_EVENT_LEAKED_CREDENTIALS].enabled = false;
	p->detections[RR_EVENT_LEAKED_CREDENTIALS].level = RR_LEVEL_HIGH;
	p->detections[RR_EVENT_LEAKED_CREDENTIALS].timeout_ms = 3000;
	p->detections[RR_EVENT_LEAKED_CREDENTIALS].cache_s = 86400;
	p->aggregation.enabled = true;
	p->aggregation.signins = 3;
	p->aggregation.min_level = RR_LEVEL_MEDIUM;
	p->aggregation.window_s = 7 * 86400;
	p->signin_retention_days = 30;
	p->detection_retention_days = 90;
	p->low_risk_expiry_days = 180;
}

/* ---- helpers ------------------------------------------------------------- */

/* Out-of-range levels fail closed, as high. */
static rr_level level_clamp(rr_level l)
{
	return (unsigned)l < RR_LEVEL__COUNT ? l : RR_LEVEL_HIGH;
}

static bool names_has(const rr_names *n, const char *s)
{
	if (!s || !n->names)
		return false;
	for (size_t i = 0; i < n->n; i++)
		if (n->names[i] && strcmp(n->names[i], s) == 0)
			return true;
	return false;
}

static bool names_has_any(const rr_names *n, const rr_facts *f)
{
	if (!f->groups)
		return false;
	for (size_t i = 0; i < f->n_groups; i++)
		if (names_has(n, f->groups[i]))
			return true;
	return false;
}

static bool mask_matches(rr_level_mask mask, rr_level l)
{
	return mask == 0 || (mask & (1u << l)) != 0;
}

/* ---- user risk ----------------------------------------------------------- */

rr_level rr_engine_user_risk(const rr_policy *policy, const rr_user_risk *user,
			     int64_t now)
{
	int64_t expiry;
	rr_level l;

	if (!policy || !user)
		return RR_LEVEL_NONE;
	switch (user->state) {
	case RR_STATE_REMEDIATED:
	case RR_STATE_DISMISSED:
	case RR_STATE_CONFIRMED_SAFE:
		return RR_LEVEL_NONE;
	case RR_STATE_CONFIRMED_COMPROMISED:
		return RR_LEVEL_HIGH;
	case RR_STATE_NONE:
	case RR_STATE_AT_RISK:
	case RR_STATE__COUNT:
	default:
		break;
	}
	l = level_clamp(user->level);
	if (l != RR_LEVEL_LOW)
		return l;
	expiry = (int64_t)policy->low_risk_expiry_days * SECONDS_PER_DAY;
	/* "older than": updated < now - expiry, without overflow */
	if (now >= INT64_MIN + expiry && user->updated < now - expiry)
		return RR_LEVEL_NONE;
	return l;
}

/* ---- assignments --------------------------------------------------------- */

static bool includes_nothing(const rr_assign *a)
{
	return !a || !a->given || (!a->include.all && a->include.n == 0);
}

/* Exclusions first; then, when neither users nor groups name anyone to
 * include (keys absent, or only exclusions given), the policy targets all
 * users; otherwise the user or one of their groups must be included. */
static rr_why scope_why(const rr_assign *users, const rr_assign *groups,
			const rr_facts *f)
{
	bool users_given = users && users->given;
	bool groups_given = groups && groups->given;

	if (users_given &&
	    (users->exclude.all || names_has(&users->exclude, f->user)))
		return RR_WHY_USER_EXCLUDED;
	if (groups_given &&
	    (groups->exclude.all || names_has_any(&groups->exclude, f)))
		return RR_WHY_GROUP_EXCLUDED;
	if (includes_nothing(users) && includes_nothing(groups))
		return RR_WHY_APPLIES;
	if (users_given &&
	    (users->include.all || names_has(&users->include, f->user)))
		return RR_WHY_APPLIES;
	if (groups_given &&
	    (groups->include.all || names_has_any(&groups->include, f)))
		return RR_WHY_APPLIES;
	return RR_WHY_USER_NOT_INCLUDED;
}

bool rr_engine_in_scope(const rr_assign *users, const rr_assign *groups,
			const rr_facts *facts)
{
	if (!facts)
		return false;
	return scope_why(users, groups, facts) == RR_WHY_APPLIES;
}

static rr_why service_why(const rr_assign *s, const char *service)
{
	if (!s->given)
		return RR_WHY_APPLIES;
	if (s->exclude.all || names_has(&s->exclude, service))
		return RR_WHY_SERVICE_EXCLUDED;
	if (s->include.all || s->include.n == 0)
		return RR_WHY_APPLIES;
	if (names_has(&s->include, service))
		return RR_WHY_APPLIES;
	return RR_WHY_SERVICE_NOT_INCLUDED;
}

/* ---- locations ----------------------------------------------------------- */

static bool location_has(const rr_location *loc, const rr_addr *a)
{
	if (!loc->cidrs)
		return false;
	for (size_t i = 0; i < loc->n; i++)
		if (rr_cidr_contains(&loc->cidrs[i], a))
			return true;
	return false;
}

/* True when the address is in any of the locations indexed by idx. */
static bool locations_have(const rr_policy *p, const size_t *idx, size_t n,
			   const rr_facts *f)
{
	if (!f->has_addr || !idx || !p->locations)
		return false;
	for (size_t i = 0; i < n; i++)
		if (idx[i] < p->n_locations &&
		    location_has(&p->locations[idx[i]], &f->addr))
			return true;
	return false;
}

static rr_why location_why(const rr_policy *p, const rr_ca_policy *c,
			   const rr_facts *f)
{
	if (!c->loc_given)
		return RR_WHY_APPLIES;
	if (locations_have(p, c->loc_exclude, c->n_loc_exclude, f))
		return RR_WHY_LOCATION_EXCLUDED;
	if (c->loc_any ||
	    locations_have(p, c->loc_include, c->n_loc_include, f))
		return RR_WHY_APPLIES;
	return RR_WHY_LOCATION_NOT_INCLUDED;
}

/* ---- decision ------------------------------------------------------------ */

/* The first reason policy c does not apply, or RR_WHY_APPLIES. */
static rr_why policy_why(const rr_policy *p, const rr_ca_policy *c,
			 const rr_facts *f, const rr_decision *d)
{
	rr_why w;

	/* An unknown state is enforced like `enabled`: fail closed. */
	if (c->state == RR_PSTATE_DISABLED)
		return RR_WHY_DISABLED;
	w = scope_why(&c->users, &c->groups, f);
	if (w != RR_WHY_APPLIES)
		return w;
	w = service_why(&c->services, f->service);
	if (w != RR_WHY_APPLIES)
		return w;
	if (!mask_matches(c->user_risk, d->user_risk))
		return RR_WHY_USER_RISK_NOT_MATCHED;
	if (!mask_matches(c->signin_risk, d->signin_risk))
		return RR_WHY_SIGNIN_RISK_NOT_MATCHED;
	return location_why(p, c, f);
}

static rr_level signin_risk(const rr_detection *dets, size_t n)
{
	rr_level max = RR_LEVEL_NONE;

	if (!dets)
		return max;
	for (size_t i = 0; i < n; i++) {
		rr_level l = level_clamp(dets[i].level);

		if (l > max)
			max = l;
	}
	return max;
}

/* Fold one applicable policy into the decision. */
static void apply(const rr_ca_policy *c, size_t i, rr_policy_result *r,
		  rr_decision *d)
{
	if (c->state == RR_PSTATE_REPORT_ONLY) {
		if (c->block)
			d->would_block = true;
		else
			d->would_require |= c->require;
		return;
	}
	r->enforced = true;
	if (c->block) {
		if (d->action != RR_ACTION_BLOCK)
			d->block_policy = i;
		d->action = RR_ACTION_BLOCK;
	} else {
		d->require |= c->require;
	}
}

int rr_engine_decide(const rr_policy *policy, const rr_user_risk *user,
		     const rr_facts *facts, const rr_detection *dets,
		     size_t n_dets, int64_t now, rr_policy_result *results,
		     rr_decision *out)
{
	rr_decision d = {0};

	if (!policy || !user || !facts || !out)
		return -EINVAL;
	if (policy->n_policies > 0 && (!results || !policy->policies))
		return -EINVAL;

	d.signin_risk = signin_risk(dets, n_dets);
	d.user_risk = rr_engine_user_risk(policy, user, now);
	d.results = results;
	d.n_results = policy->n_policies;
	for (size_t i = 0; i < policy->n_policies; i++) {
		const rr_ca_policy *c = &policy->policies[i];
		rr_policy_result *r = &results[i];

		r->why = policy_why(policy, c, facts, &d);
		r->applies = r->why == RR_WHY_APPLIES;
		r->enforced = false;
		if (r->applies)
			apply(c, i, r, &d);
	}
	if (d.action != RR_ACTION_BLOCK)
		d.action = d.require ? RR_ACTION_REQUIRE : RR_ACTION_ALLOW;
	*out = d;
	return 0;
}

/* ---- detection rules ----------------------------------------------------- */

static bool learning(const rr_detection_cfg *cfg, const rr_history *h,
		     int64_t now)
{
	int64_t period = (int64_t)cfg->learning_days * SECONDS_PER_DAY;

	if (h->successes < cfg->learning_signins || h->first_success == 0)
		return true;
	/* now - first_success < period, without overflow */
	if (now < INT64_MIN + period)
		return true;
	return h->first_success > now - period;
}

bool rr_detect_unfamiliar(const rr_detection_cfg *cfg, const rr_facts *facts,
			  const rr_history *h, int64_t now)
{
	if (!cfg || !cfg->enabled || !facts || !h)
		return false;
	if (facts->origin == RR_ORIGIN_LOCAL)
		return false;
	if (facts->origin == RR_ORIGIN_REMOTE &&
	    (!facts->rhost || facts->rhost[0] == '\0'))
		return false;
	if (learning(cfg, h, now))
		return false;
	return !h->network_seen && !h->device_seen;
}

bool rr_detect_brute_force(const rr_detection_cfg *cfg, const rr_history *h)
{
	if (!cfg || !cfg->enabled || !h || cfg->failures == 0)
		return false;
	return h->recent_failures >= cfg->failures;
}

bool rr_detect_password_spray(const rr_detection_cfg *cfg,
			      const rr_history *h)
{
	if (!cfg || !cfg->enabled || !h || cfg->spray_users == 0)
		return false;
	return !h->network_seen && h->spray_users >= cfg->spray_users;
}
