/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pam_riskremediate: risk-based sign-in protection.
 *
 * Each entry point is a short script: facts -> policy -> store -> decide ->
 * run controls -> record -> one to_pam() mapping.  Every error path denies
 * unless the admin wrote `on_error: allow`, and every such allow is logged.
 */
#include "module.h"
#include "rr_iplist.h"
#include "rr_secfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_modules.h>


static int parse_args(rr_ctx *c, int argc, const char **argv)
{
	rr_args a;
	int bad = rr_args_parse(c->type, argc, argv, &a);

	if (bad >= 0) {
		rr_log(c, LOG_ERR, "unknown or misplaced argument \"%.64s\"; "
		       "denying", argv[bad]);
		return -EINVAL;
	}
	c->policy_path = a.policy_path ? a.policy_path : RR_POLICY_DEFAULT_PATH;
	c->debug = a.debug;
	c->mode = a.mode;
	return 0;
}

void rr_log(rr_ctx *c, int priority, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	c->host->ops->log(c->host, priority, msg);
	free(msg);
}

int rr_data_set(rr_ctx *c, const char *name, const char *value)
{
	return c->host->ops->set_data(c->host, name, value) == PAM_SUCCESS ?
	       0 : -ENOMEM;
}

const char *rr_data_get(rr_ctx *c, const char *name)
{
	return c->host->ops->get_data(c->host, name);
}

/* Messages can be long (a QR code) and can hold a secret (the key shown
 * at registration): built on the heap and zeroed after use. */
void rr_say(rr_ctx *c, int style, const char *fmt, ...)
{
	char *msg = NULL, *none = NULL;
	va_list ap;
	int n;

	if (c->silent)
		return;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	c->host->ops->conv(c->host, style, msg, &none);
	rr_answer_free(none);
	explicit_bzero(msg, (size_t)n);
	free(msg);
}

static int record_interrupted(rr_ctx *c);

int rr_ask(rr_ctx *c, bool echo, const char *prompt, char **answer)
{
	char *resp = NULL;
	int r;

	*answer = NULL;
	/* a sign-in is on record before anything is asked: a probe that
	 * hangs up (or is killed) at the prompt leaves its trace */
	r = record_interrupted(c);
	if (r < 0)
		return r;
	r = c->host->ops->conv(c->host, echo ? PAM_PROMPT_ECHO_ON :
			       PAM_PROMPT_ECHO_OFF, prompt, &resp);
	if (r != PAM_SUCCESS) {
		rr_answer_free(resp);
		return r == PAM_BUF_ERR ? -ENOMEM : -ECONNABORTED;
	}
	if (!resp)
		return -ECONNABORTED;
	*answer = resp;
	return 0;
}

/* ---- loading ---------------------------------------------------------- */

static int load_policy(rr_ctx *c)
{
	rr_policy_errors errs = {0};
	char line[512];
	size_t i;
	int r;

	r = c->loader->policy_get(c->loader, c->policy_path, &c->policy, &errs);
	if (r > 0)
		r = -EPROTO; /* 0 or -errno: anything else fails closed */
	if (r < 0) {
		for (i = 0; i < errs.n; i++) {
			rr_policy_error_format(&errs, i, line, sizeof(line));
			rr_log(c, LOG_ERR, "policy: %s", line);
		}
		if (errs.n == 0)
			rr_log(c, LOG_ERR, "policy %s: %s",
				   c->policy_path, strerror(-r));
	}
	rr_policy_errors_clear(&errs);
	return r;
}

static int open_store(rr_ctx *c)
{
	const rr_policy *p = c->policy;
	const char *path = p->store_path ? p->store_path : RR_STORE_DEFAULT_PATH;
	int r;

	r = c->loader->store_get(c->loader, p, path, &c->store);
	if (r == -ENOTSUP) {
		rr_log(c, LOG_ERR, "policy %s: a fleet store (store.backend "
		       "etcd) is used through riskd only, and riskd did not "
		       "take this call; denying", c->policy_path);
		return r;
	}
	if (r < 0) {
		rr_log(c, LOG_ERR, "risk store %s: %s", path,
			   strerror(-r));
		return r;
	}
	rr_store_set_retention(c->store, p->signin_retention_days,
			       p->detection_retention_days);
	return 0;
}

int rr_open(rr_ctx *c)
{
	int r = load_policy(c);

	return r < 0 ? r : open_store(c);
}

/* The SSH key of an sshd sign-in (ExposeAuthInfo yes), if any: a key that
 * cannot be read is no device, never an error. */
void rr_gather_device(rr_ctx *c)
{
	const char *info = c->host->ops->get_env(c->host, "SSH_AUTH_INFO_0");
	int r;

	c->device[0] = '\0';
	if (!info)
		return;
	r = rr_device_from_auth_info(info, c->device, sizeof(c->device));
	if (r < 0) {
		c->device[0] = '\0';
		if (r != -ENOENT)
			rr_log(c, LOG_WARNING, "SSH_AUTH_INFO_0: "
				   "unreadable key (%s); no device",
				   strerror(-r));
	}
}

static int get_item_str(rr_ctx *c, int item, const char **out)
{
	const char *v = NULL;
	int r = c->host->ops->get_item(c->host, item, &v);

	*out = r == PAM_SUCCESS ? v : NULL;
	return r == PAM_SUCCESS || r == PAM_BAD_ITEM ? 0 : -EIO;
}

static int gather_input(rr_ctx *c, rr_signin_input *in)
{
	const char *user = NULL;

	memset(in, 0, sizeof(*in));
	if (c->host->ops->get_user(c->host, &user) != PAM_SUCCESS || !user)
		return -EINVAL;
	in->user = user;
	c->user = user;
	if (get_item_str(c, PAM_SERVICE, &in->service) < 0 ||
	    get_item_str(c, PAM_RHOST, &in->rhost) < 0 ||
	    get_item_str(c, PAM_TTY, &in->tty) < 0)
		return -EIO;
	rr_gather_device(c);
	in->device = c->device;
	in->ruid = c->host->ops->uid(c->host);
	in->ruid_known = true;
	/* before the password: a name that is no user is told and returned
	 * what a user with no record is (no enumeration) */
	in->unknown_user_ok = c->mode == MODE_PREAUTH;
	if (!rr_valid_user(user)) {
		rr_log(c, LOG_WARNING, "refusing an invalid user "
			   "name (length %zu)", strnlen(user, 4096));
		return -EINVAL;
	}
	return 0;
}

static int assess(rr_ctx *c)
{
	rr_signin_input in;
	int r;

	r = load_policy(c);
	if (r < 0)
		return r;
	r = gather_input(c, &in);
	if (r < 0)
		return r;
	r = open_store(c);
	if (r < 0)
		return r;
	r = rr_assess(c->policy, c->store, &in, c->now, &c->a);
	if (r < 0) {
		/* a fleet record that arrived malformed: the store says
		 * which (never a value) */
		const char *why = r == -EBADMSG ? rr_store_last_error(c->store)
						: NULL;

		if (c->a.failed_list)
			/* which list, and why in an admin's words */
			rr_log(c, LOG_ERR, "assessing sign-in of %s: %s; IP "
				   "list %s %s", in.user, strerror(-r),
			       c->a.failed_list, rr_secfile_strerror(r));
		else
			rr_log(c, LOG_ERR, "assessing sign-in of %s: %s%s%s",
			       in.user, strerror(-r), why && *why ? ": " : "",
			       why && *why ? why : "");
		return r;
	}
	c->assessed = true;
	if (c->a.unindexed_list)
		rr_log(c, LOG_WARNING, "list %s has no current index "
			   "(%s); lookups read the whole file: run riskctl "
			   "feeds update", c->a.unindexed_list,
			   (c->a.list_index_flags & RR_IPLIST_IDX_STALE) ?
				   "stale" :
			   (c->a.list_index_flags & RR_IPLIST_IDX_BAD) ?
				   "damaged or untrusted" : "missing");
	return 0;
}

/* ---- messages --------------------------------------------------------- */

const char *rr_event_words(rr_event e)
{
	switch (e) {
	case RR_EVENT_UNFAMILIAR_FEATURES:
		return "new location for this account";
	case RR_EVENT_ANONYMIZED_IP:
		return "anonymizing network";
	case RR_EVENT_MALICIOUS_IP:
		return "address known for attacks";
	case RR_EVENT_BRUTE_FORCE:
		return "many failed attempts";
	case RR_EVENT_PASSWORD_SPRAY:
		return "password spray";
	case RR_EVENT_LEAKED_CREDENTIALS:
		return "leaked password";
	case RR_EVENT_ADMIN_CONFIRMED_COMPROMISED:
		return "confirmed compromised";
	case RR_EVENT_REPEATED_MFA_FAILURES:
		return "too many wrong codes";
	case RR_EVENT_HOME_TENANT_USER_RISK:
	case RR_EVENT__COUNT:
	default:
		return "risk detected";
	}
}

/* "this sign-in is at high risk (new location for this account)" or
 * "your account is at high risk". */
void rr_risk_words(const rr_ctx *c, bool user_side, char *buf, size_t len)
{
	const rr_decision *d = &c->a.decision;
	size_t i, used;

	if (user_side) {
		snprintf(buf, len, "your account is at %s risk",
			 rr_level_name(d->user_risk));
		return;
	}
	snprintf(buf, len, "this sign-in is at %s risk",
		 rr_level_name(d->signin_risk));
	for (i = 0; i < c->a.n_dets; i++) {
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", i ? ", " : " (",
			 rr_event_words(c->a.dets[i].type));
	}
	used = strlen(buf);
	if (c->a.n_dets)
		snprintf(buf + used, len - used, ")");
}

static void decision_reason(const rr_ctx *c, char *buf, size_t len)
{
	const rr_decision *d = &c->a.decision;
	const rr_policy *p = c->policy;

	if (d->action == RR_ACTION_BLOCK) {
		const rr_ca_policy *bp = &p->policies[d->block_policy];
		bool user_side = bp->user_risk && d->user_risk;

		if (bp->user_risk || bp->signin_risk)
			rr_risk_words(c, user_side, buf, len);
		else
			snprintf(buf, len, "sign-in policy \"%s\" blocks it",
				 bp->name);
		return;
	}
	if (d->action == RR_ACTION_REQUIRE && (d->user_risk || d->signin_risk)) {
		rr_risk_words(c, d->user_risk > RR_LEVEL_NONE, buf, len);
		return;
	}
	if (d->action == RR_ACTION_REQUIRE) {
		snprintf(buf, len, "sign-in policy requires it for %s",
			 c->a.service);
		return;
	}
	buf[0] = '\0';
}

/* The denial message decided by the controls, with the reference. */
static void tell_user(rr_ctx *c)
{
	const char *ref = c->ref[0] ? c->ref : "(none: not recorded)";

	rr_say(c, PAM_ERROR_MSG, "%s Contact your IT help desk and quote "
	       "reference %s.", c->deny_msg, ref);
}

static void deny_block(rr_ctx *c, const char *reason)
{
	c->denied_blocked = true;
	snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in blocked: %s.",
		 reason);
}

/* ---- recording -------------------------------------------------------- */

static void log_quoted(char *dst, size_t len, const char *src)
{
	size_t i, o = 0;

	for (i = 0; src && src[i] && o + 2 < len; i++) {
		char ch = src[i];

		dst[o++] = (ch == '"' || ch == '\\') ? '\'' :
			   (ch == '\n') ? ';' : ch;
	}
	dst[o] = '\0';
	if (o == 0 && len > 1)
		snprintf(dst, len, "-");
}

static void log_decision(rr_ctx *c, const char *outcome, const char *applied,
			 const char *report_only)
{
	const rr_decision *d = &c->a.decision;
	char dets[256], ap[512], ro[512];

	rr_assess_detections_text(c->a.dets, c->a.n_dets, dets, sizeof(dets));
	log_quoted(ap, sizeof(ap), applied);
	log_quoted(ro, sizeof(ro), report_only);
	rr_log(c, LOG_NOTICE,
		   "decision=%s outcome=%s user=\"%s\" service=\"%s\" "
		   "rhost=\"%s\" user_risk=%s signin_risk=%s detections=\"%s\" "
		   "applied=\"%s\" report_only=\"%s\" mfa=%s ref=%s",
		   rr_action_name(d->action), outcome, c->a.user, c->a.service,
		   c->a.rhost[0] ? c->a.rhost : "-",
		   rr_level_name(d->user_risk), rr_level_name(d->signin_risk),
		   dets[0] ? dets : "-", ap, ro,
		   (c->mfa_note && *c->mfa_note) ? c->mfa_note : "-",
		   c->ref[0] ? c->ref : "-");
}

static void log_debug(rr_ctx *c)
{
	char why[256];
	size_t i;

	if (!c->debug)
		return;
	rr_log(c, LOG_DEBUG, "policy %s: %zu policies, store %s",
		   c->policy_path, c->policy->n_policies,
		   c->policy->store_path ? c->policy->store_path : "-");
	for (i = 0; i < c->policy->n_policies; i++) {
		rr_assess_explain(c->policy, &c->a, i, why, sizeof(why));
		rr_log(c, LOG_DEBUG, "policy \"%s\" (%s): %s",
			   c->policy->policies[i].name,
			   rr_pstate_name(c->policy->policies[i].state), why);
	}
}

/* The sign-in's row: a new one, or the one recorded at its first prompt
 * rewritten with its end. */
static int record_row(rr_ctx *c, const char *outcome, const char *reason,
		      rr_signin_rec *rec, char *applied, char *report_only)
{
	int r;

	rr_assess_to_record(c->policy, &c->a, outcome, c->now, applied,
			    RR_TEXT_MAX, report_only, RR_TEXT_MAX, rec);
	rec->reason = reason;
	rec->mfa = c->mfa_note ? c->mfa_note : "";
	rec->mfa_passed = c->mfa_passed;
	rec->ref = c->interrupted ? c->ref : NULL;
	r = rr_store_signin_record(c->store, rec, c->ref);
	c->interrupted = false;
	if (r < 0) {
		c->ref[0] = '\0';
		rr_log(c, LOG_ERR, "recording sign-in of %s: %s",
			   c->a.user, strerror(-r));
	}
	return r;
}

/* Before the first prompt of an assessed sign-in: on record as
 * interrupted until it ends.  0, or a negative errno (then nothing may be
 * asked: a sign-in that cannot be recorded is not prompted for). */
static int record_interrupted(rr_ctx *c)
{
	char applied[RR_TEXT_MAX], report_only[RR_TEXT_MAX];
	const char *note = c->mfa_note;
	rr_signin_rec rec;
	int r;

	if (!c->assessed || c->interrupted || c->ref[0] ||
	    (c->type != TYPE_AUTH && c->type != TYPE_ACCOUNT))
		return 0;
	c->mfa_note = "prompted";
	r = record_row(c, RR_OUTCOME_INTERRUPTED, "interrupted at a prompt: "
		       "the sign-in never ended", &rec, applied, report_only);
	c->mfa_note = note;
	c->interrupted = r == 0;
	return r;
}

/* Store and log the sign-in.  Returns the store's result. */
static int record(rr_ctx *c, const char *outcome, const char *reason)
{
	char applied[RR_TEXT_MAX], report_only[RR_TEXT_MAX];
	rr_signin_rec rec;
	bool raised = false;
	int r, e;

	r = record_row(c, outcome, reason, &rec, applied, report_only);
	log_decision(c, outcome, applied, report_only);
	/* unremediated risky sign-ins may raise user risk; never fails the
	 * sign-in */
	if (r < 0 || rec.n_dets == 0 || c->mfa_passed)
		return r;
	e = rr_store_aggregate(c->store, c->a.user, &c->policy->aggregation,
			       c->now, &raised);
	if (e < 0)
		rr_log(c, LOG_ERR, "aggregating risky sign-ins of "
			   "%s: %s", c->a.user, strerror(-e));
	else if (raised)
		rr_log(c, LOG_NOTICE, "user \"%s\": risky sign-ins "
			   "raised user risk", c->a.user);
	return r;
}

/* ---- controls --------------------------------------------------------- */

/* on_error: allow covers exactly what riskremediate.yaml(5) says: a risk
 * store that cannot be opened, read or written (also when recording a
 * sign-in the decision allowed).  A missing list file, a failed user
 * lookup or any other failure of the assessment denies: what is known (a
 * block, a locked MFA, user risk) must not be skipped. */
static bool on_error_covers(const rr_ctx *c)
{
	return !c->store || c->assessed ||
	       c->a.failed == RR_ASSESS_FAIL_STORE;
}

static rr_end on_error(rr_ctx *c, int err)
{
	if (err == -ENOMEM)
		return END_NOMEM;
	if (err == -EINVAL && c->policy) {
		/* the policy is fine: the sign-in's own data is not valid
		 * (user name, rhost, tty); never subject to on_error */
		rr_say(c, PAM_ERROR_MSG, "Sign-in denied: the sign-in data is "
		    "invalid.");
		return END_DENY;
	}
	if (c->policy && c->policy->on_error_allow && !on_error_covers(c)) {
		rr_log(c, LOG_ERR, "on_error: allow does not apply: the %s "
		       "failed, not the store; denying",
		       c->a.failed == RR_ASSESS_FAIL_CHECK ?
			       "detections' files (lists)" :
		       c->a.failed == RR_ASSESS_FAIL_USER ?
			       "user lookup" : "assessment");
	} else if (c->policy && c->policy->on_error_allow) {
		rr_log(c, LOG_ALERT,
			   "on_error: allow is set: ALLOWING sign-in of %s "
			   "despite an error (%s)",
			   (c->user && rr_valid_user(c->user)) ? c->user : "?",
			   strerror(-err));
		return END_ERROR_ALLOWED;
	}
	if (err == -ESRCH && c->policy && c->store)
		return END_USER_UNKNOWN;
	rr_say(c, PAM_ERROR_MSG, "Sign-in denied: the sign-in risk check is "
	    "unavailable. Contact your IT help desk.");
	return END_ERROR;
}

/* preauth blocked a name that is no user: it is told what a user is,
 * with a reference id of the same form, and the decision is logged; the
 * store keeps no sign-in of a name that is no user (as authfail). */
static void block_unknown(rr_ctx *c)
{
	char applied[RR_TEXT_MAX], report_only[RR_TEXT_MAX];
	rr_signin_rec rec;

	if (rr_store_ref_new(c->ref) < 0)
		c->ref[0] = '\0';
	rr_assess_to_record(c->policy, &c->a, "blocked", c->now, applied,
			    sizeof(applied), report_only, sizeof(report_only),
			    &rec);
	log_decision(c, "blocked", applied, report_only);
}

/* preauth: refuse a blocked user before the password; everything else
 * waits for the full check after it. */
static rr_end enforce_preauth(rr_ctx *c, const char *reason)
{
	if (c->a.decision.action != RR_ACTION_BLOCK)
		return END_ALLOW;
	deny_block(c, reason);
	if (c->a.unknown_user)
		block_unknown(c);
	else
		record(c, "blocked", reason);
	tell_user(c);
	return END_DENY;
}

/* A password change is required but the user has no password to change:
 * no self-remediation is possible, so this is a block an admin lifts. */
static bool deny_passwordless(rr_ctx *c, const char *reason)
{
	if (!(c->a.decision.require & RR_REQUIRE_PASSWORD_CHANGE) ||
	    rr_passwordless(c->a.user) != 1)
		return false;
	c->denied_blocked = true;
	snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in blocked: %s, and "
		 "policy requires a password change, but your account has no "
		 "password to change.", reason);
	rr_log(c, LOG_WARNING, "user \"%s\" has no password to "
		   "change: the secure password change cannot remediate; an "
		   "admin runs `riskctl dismiss %s` (or unblock) after "
		   "checking", c->a.user, c->a.user);
	return true;
}

/* Which control denies before any prompt: block, or a password change
 * that cannot happen.  Returns true when denied. */
static bool deny_early(rr_ctx *c, const char *reason)
{
	const rr_decision *d = &c->a.decision;

	if (d->action == RR_ACTION_BLOCK) {
		deny_block(c, reason);
		return true;
	}
	return deny_passwordless(c, reason);
}

/* Account phase without this module's auth (sshd publickey): nothing can
 * be asked, so any required control denies with what to do. */
static bool deny_account_only(rr_ctx *c, const char *reason)
{
	unsigned req = c->a.decision.require;

	if (c->type != TYPE_ACCOUNT || !(req & RR_REQUIRE_MFA))
		return false;
	snprintf(c->deny_msg, sizeof(c->deny_msg),
		 "Sign-in denied: %s, and policy requires multifactor "
		 "authentication%s, which this login method cannot ask for. "
		 "Sign in with a password or keyboard-interactive method.",
		 reason, (req & RR_REQUIRE_PASSWORD_CHANGE) ?
			 " and a password change" : "");
	return true;
}

/* MFA passed and the policy requires a secure password change: the login
 * goes on only to change the password (account: PAM_NEW_AUTHTOK_REQD).
 * The pending change is set before recording, so that no error (nor
 * on_error: allow) can skip it. */
static rr_end require_pwchange(rr_ctx *c, const char *reason)
{
	int r = rr_pwchange_set(c, PWCHANGE_RISK);

	if (r < 0)
		return END_NOMEM;
	r = record(c, RR_OUTCOME_PWCHANGE, reason);
	if (r < 0)
		return on_error(c, r);
	/* without its reference the change could not complete this
	 * sign-in's row: denied (the next sign-in asks again) */
	if (rr_pwchange_ref(c) < 0)
		return END_NOMEM;
	return END_PWCHANGE;
}

/* An allowed sign-in whose password root reset must change it now. */
static rr_end allowed(rr_ctx *c, const char *reason)
{
	int r;

	if (c->a.stored.must_change && rr_pwchange_set(c, PWCHANGE_ADMIN) < 0)
		return END_NOMEM;
	r = record(c, "success", reason);
	if (r < 0)
		return on_error(c, r);
	rr_device_pending_set(c);
	return c->a.stored.must_change ? END_PWCHANGE : END_ALLOW;
}

/* The user's risk rose while the user was being asked (an admin confirmed
 * the account compromised at the MFA prompt, another sign-in raised it):
 * the decision this sign-in ran on is stale.  True when it rose (the
 * sign-in is then denied; the next one follows the new risk).  A failed
 * read counts as risen: fail closed. */
static bool risk_rose(rr_ctx *c)
{
	rr_store_user now;

	if (rr_store_user_get(c->store, c->a.user, &now) < 0)
		return true;
	return now.level > c->a.stored.level ||
	       (now.state == RR_STATE_CONFIRMED_COMPROMISED &&
		c->a.stored.state != RR_STATE_CONFIRMED_COMPROMISED);
}

static bool deny_risk_rose(rr_ctx *c)
{
	if (!c->interrupted || !risk_rose(c))
		return false;
	rr_log(c, LOG_WARNING, "user \"%s\": user risk rose during the "
	       "sign-in; denying it", c->a.user);
	snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in denied: the risk "
		 "of your account changed while you were signing in.");
	return true;
}

static rr_end enforce(rr_ctx *c)
{
	char reason[MSG_MAX];
	int r = 0;

	log_debug(c);
	decision_reason(c, reason, sizeof(reason));
	if (c->mode == MODE_PREAUTH)
		return enforce_preauth(c, reason);
	if (deny_early(c, reason) || deny_account_only(c, reason))
		r = 1;
	else
		r = rr_mfa_controls(c);
	/* a sign-in that asked something decides again on what the store
	 * says now: an admin action during the prompt takes effect */
	if (r == 0 && deny_risk_rose(c))
		r = 1;
	if (r < 0) {
		/* A failure inside the controls (conversation aborted, store
		 * or key error mid-MFA) never falls back to on_error: allow,
		 * which would let a sign-in through without its MFA.  A
		 * conversation that ended (the client hung up) leaves the
		 * sign-in as recorded at its first prompt, interrupted: the
		 * same as when the process is killed there. */
		if (r == -ECONNABORTED && c->interrupted) {
			rr_log(c, LOG_NOTICE, "sign-in of %s interrupted at a "
			       "prompt (ref %s)", c->a.user, c->ref);
		} else {
			c->mfa_note = "error";
			record(c, "error", "MFA controls failed");
		}
		rr_log(c, LOG_ERR, "MFA controls for %s failed: %s; "
			   "denying", c->a.user, strerror(-r));
		if (r == -ENOMEM)
			return END_NOMEM;
		rr_say(c, PAM_ERROR_MSG, "Sign-in denied: multifactor "
		       "authentication could not be completed.");
		return END_DENY;
	}
	if (r == 1) {
		record(c, c->denied_blocked ? "blocked" : "denied", reason);
		tell_user(c);
		return END_DENY;
	}
	if (c->a.decision.require & RR_REQUIRE_PASSWORD_CHANGE)
		return require_pwchange(c, reason);
	return allowed(c, reason);
}

static rr_end run(rr_ctx *c)
{
	int r = assess(c);

	if (r < 0)
		return on_error(c, r);
	return enforce(c);
}

/* A failed password, per user and source.  A name that is no user counts
 * for its source only (passwordSpray), never stored as such. */
static int record_failure(rr_ctx *c, const rr_signin_input *in)
{
	char netkey[RR_NETKEY_MAX];
	rr_store_failure f = {.service = in->service, .rhost = in->rhost,
			      .netkey = netkey, .time = c->now};
	uid_t uid = (uid_t)-1;
	int r = rr_user_uid(in->user, &uid);

	if (r < 0 && r != -ESRCH)
		return r;
	if (r == 0)
		f.user = in->user;
	else
		f.name = in->user;
	rr_assess_origin(in, uid, netkey, sizeof(netkey));
	return rr_store_failure_record(c->store, &f);
}

static rr_end run_authfail(rr_ctx *c)
{
	rr_signin_input in;
	int r;

	r = gather_input(c, &in);
	if (r == 0)
		r = load_policy(c);
	if (r == 0)
		r = open_store(c);
	if (r == 0)
		r = record_failure(c, &in);
	if (r < 0)
		rr_log(c, LOG_ERR, "recording failed attempt: %s",
			   strerror(-r));
	return END_FAILURE;
}

/* ---- PAM glue --------------------------------------------------------- */

static int to_pam(rr_type type, rr_end e)
{
	if (type == TYPE_PASSWORD)
		return e == END_ALLOW ? PAM_SUCCESS :
		       e == END_NOMEM ? PAM_BUF_ERR : PAM_AUTHTOK_ERR;
	switch (e) {
	case END_PWCHANGE:
		return type == TYPE_AUTH ? PAM_SUCCESS : PAM_NEW_AUTHTOK_REQD;
	case END_ALLOW:
	case END_ERROR_ALLOWED:
		return PAM_SUCCESS;
	case END_NOMEM:
		return PAM_BUF_ERR;
	case END_USER_UNKNOWN:
		return PAM_USER_UNKNOWN;
	case END_DENY:
		return type == TYPE_AUTH ? PAM_AUTH_ERR : PAM_PERM_DENIED;
	case END_ERROR:
		return rr_error_code(type);
	case END_FAILURE:
	default:
		return PAM_AUTH_ERR;
	}
}

/* ---- the loader of the PAM module: fresh at every call ------------------ */

static int fresh_policy_get(rr_loader *l, const char *path, rr_policy **out,
			    rr_policy_errors *errs)
{
	(void)l;
	return rr_policy_load(path, out, errs);
}

static void fresh_policy_put(rr_loader *l, rr_policy *p)
{
	(void)l;
	rr_policy_free(p);
}

static int fresh_store_get(rr_loader *l, const rr_policy *p, const char *path,
			   rr_store **out)
{
	(void)l;
	/* never etcd from the application's process: riskd keeps the
	 * replica and is the fleet's only client on the host */
	if (p->backend != RR_BACKEND_SQLITE)
		return -ENOTSUP;
	return rr_store_open(path, out);
}

static void fresh_store_put(rr_loader *l, rr_store *s)
{
	(void)l;
	rr_store_close(s);
}

static rr_loader fresh_loader = {
	.policy_get = fresh_policy_get,
	.policy_put = fresh_policy_put,
	.store_get = fresh_store_get,
	.store_put = fresh_store_put,
};

static void ctx_init(rr_ctx *c, rr_host *h, rr_loader *l, rr_type type,
		     int flags)
{
	memset(c, 0, sizeof(*c));
	c->host = h;
	c->loader = l ? l : &fresh_loader;
	c->type = type;
	c->silent = flags & PAM_SILENT;
	c->now = h->ops->now(h);
}

static void ctx_clear(rr_ctx *c)
{
	rr_assessment_clear(&c->a);
	if (c->store)
		c->loader->store_put(c->loader, c->store);
	if (c->policy)
		c->loader->policy_put(c->loader, c->policy);
	memset(c, 0, sizeof(*c));
}

/* Account in this handle trusts the mark (rr_settled): without it, it
 * would decide and record the sign-in a second time.  0 or -ENOMEM. */
static int mark_auth_ok(rr_ctx *c)
{
	return rr_data_set(c, DATA_AUTH_OK, "1");
}

static int call_auth(rr_ctx *c)
{
	rr_end e;

	rr_flow_mark(c);
	if (c->mode == MODE_AUTHFAIL)
		e = run_authfail(c);
	else
		e = run(c);
	if ((e == END_ALLOW || e == END_PWCHANGE) && c->mode == MODE_DEFAULT) {
		if (mark_auth_ok(c) < 0)
			e = END_NOMEM; /* denied: not recorded twice */
		else
			rr_leak_after_signin(c); /* raises risk for the next
						  * sign-in */
	}
	return to_pam(TYPE_AUTH, e);
}

static int call_account(rr_ctx *c)
{
	rr_end e;

	rr_flow_mark(c);
	if (rr_pwchange_pending_tell(c))
		e = END_PWCHANGE; /* auth asked for it */
	else if ((e = run(c)) == END_PWCHANGE)
		rr_pwchange_pending_tell(c); /* root reset the password */
	return to_pam(TYPE_ACCOUNT, e);
}

/* Only for sshd public-key logins: record the key that sshd exposes at
 * session open, not yet at account (see session.c).  Nothing else. */
static int call_session(rr_ctx *c)
{
	int r = rr_open_session(c);

	return r == 0 ? PAM_SUCCESS : r == -ENOMEM ? PAM_BUF_ERR :
	       rr_error_code(TYPE_SESSION);
}

/* Stacked after the password module with `requisite`: runs only when the
 * new password was set.  Errors never return PAM_SUCCESS: the change is
 * then not recorded and the next login asks again. */
static int call_password(rr_ctx *c, int flags)
{
	int r = rr_chauthtok(c, flags);

	return to_pam(TYPE_PASSWORD, r == 0 ? END_ALLOW :
		      r == -ENOMEM ? END_NOMEM : END_ERROR);
}

int rr_module_call(rr_host *h, rr_loader *l, rr_type type, int flags,
		   int argc, const char **argv)
{
	rr_ctx c;
	int rc;

	ctx_init(&c, h, l, type, flags);
	if (parse_args(&c, argc, argv) < 0) {
		if (type == TYPE_AUTH || type == TYPE_ACCOUNT)
			rr_flow_mark(&c);
		rc = rr_error_code(type);
	} else if (rr_settled(type, flags, rr_data_get(&c, DATA_AUTH_OK),
			      rr_data_get(&c, DATA_PWCHANGE),
			      rr_data_get(&c, DATA_DEVICE_REF), &rc)) {
		/* nothing to decide (host.h) */
	} else if (type == TYPE_AUTH) {
		rc = call_auth(&c);
	} else if (type == TYPE_ACCOUNT) {
		rc = call_account(&c);
	} else if (type == TYPE_SESSION) {
		rc = call_session(&c);
	} else {
		rc = call_password(&c, flags);
	}
	ctx_clear(&c);
	return rc;
}
