/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MFA controls: the registration interrupt (grace period, then forced;
 * never during risk unless the help desk issued a temporary access pass)
 * and the TOTP prompt for sign-ins a policy wants MFA for.  Secrets, codes
 * and passes are zeroed after use and never logged.
 */
#include "module.h"
#include "rr_store_replica.h"
#include "rr_mfa.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>


#define REG_TRIES 3
#define CODE_TRIES 3

static void totp_params(const rr_policy *p, rr_totp_params *t)
{
	rr_totp_params_default(t);
	t->alg = (rr_totp_alg)p->mfa.totp_alg;
	t->digits = p->mfa.digits ? p->mfa.digits : t->digits;
	t->period = p->mfa.period ? p->mfa.period : t->period;
	t->window = p->mfa.window;
}

static const char *issuer(const rr_ctx *c)
{
	return c->policy->issuer ? c->policy->issuer : "pam_riskremediate";
}

static const char *key_file(const rr_ctx *c)
{
	return c->policy->mfa.key_file ? c->policy->mfa.key_file :
					 "/etc/security/riskremediate.key";
}

/* ---- registration ----------------------------------------------------- */

typedef struct {
	uint8_t secret[RR_TOTP_SECRET_LEN];
	char *b32;
	char *grouped;
	char *uri;
	char *qr;     /* encodes the secret too */
} enrolment;

static void enrol_clear(enrolment *e)
{
	explicit_bzero(e->secret, sizeof(e->secret));
	rr_mfa_free_secret_string(e->b32);
	rr_mfa_free_secret_string(e->grouped);
	rr_mfa_free_secret_string(e->uri);
	rr_mfa_free_secret_string(e->qr);
	memset(e, 0, sizeof(*e));
}

static int enrol_prepare(rr_ctx *c, const rr_totp_params *t, enrolment *e)
{
	int r;

	r = rr_totp_secret_new(e->secret);
	if (r == 0)
		r = rr_base32_encode(e->secret, sizeof(e->secret), &e->b32);
	if (r == 0)
		r = rr_base32_grouped(e->b32, &e->grouped);
	if (r == 0)
		r = rr_otpauth_uri(issuer(c), c->a.user, e->b32, t, &e->uri);
	if (r == 0)
		r = rr_qr_render(e->uri, &e->qr);
	return r;
}

static void enrol_show(rr_ctx *c, const rr_totp_params *t,
		       const enrolment *e)
{
	rr_say(c, PAM_TEXT_INFO,
	       "Set up multifactor authentication for %s.\n"
	       "Scan this QR code with your authenticator app:\n%s"
	       "or enter this key by hand: %s\n"
	       "(%s, %u digits, every %u seconds)\n%s",
	       issuer(c), e->qr, e->grouped, rr_totp_alg_name(t->alg),
	       t->digits, t->period, e->uri);
}

/* Ask for a code until one matches.  0 with *step, 1 when every try
 * failed, negative errno. */
static int enrol_confirm(rr_ctx *c, const rr_totp_params *t,
			 const enrolment *e, int64_t *step)
{
	char prompt[128];
	int i, r;

	snprintf(prompt, sizeof(prompt), "Enter the %u-digit code from your "
		 "authenticator app to confirm: ", t->digits);
	for (i = 0; i < REG_TRIES; i++) {
		char *answer = NULL;

		r = rr_ask(c, false, prompt, &answer);
		if (r < 0)
			return r;
		/* the time the code was typed, not the sign-in's start */
		r = rr_totp_verify(e->secret, sizeof(e->secret), t,
				   c->host->ops->now(c->host), -1,
				   answer, step);
		rr_answer_free(answer);
		if (r == 0)
			return 0;
		if (r != -EACCES && r != -EALREADY)
			return r;
		rr_say(c, PAM_ERROR_MSG, "That code is not right.%s",
		       i + 1 < REG_TRIES ? " Try again." : "");
	}
	return 1;
}

static int enrol_store(rr_ctx *c, const rr_totp_params *t,
		       const enrolment *e, int64_t step)
{
	uint8_t key[RR_MFA_KEY_LEN], sealed[RR_SEALED_MAX];
	size_t sealed_len = 0;
	int r;

	r = rr_mfa_key_load(key_file(c), true, key);
	if (r < 0) {
		rr_log(c, LOG_ERR, "MFA key file %s: %s",
			   key_file(c), strerror(-r));
		return r;
	}
	r = rr_mfa_seal(key, c->a.user, e->secret, sizeof(e->secret), sealed,
			&sealed_len);
	explicit_bzero(key, sizeof(key));
	if (r == 0)
		r = rr_store_mfa_register(c->store, c->a.user, sealed,
					  sealed_len, (unsigned)t->alg,
					  t->digits, t->period, step, c->now);
	explicit_bzero(sealed, sizeof(sealed));
	return r;
}

/* The whole registration: 0 registered, 1 not completed, < 0 error. */
static int run_registration(rr_ctx *c)
{
	rr_totp_params t;
	enrolment e;
	int64_t step = 0;
	int r;

	if (c->silent)
		return 1; /* PAM_SILENT: nothing to show the key with */
	memset(&e, 0, sizeof(e));
	totp_params(c->policy, &t);
	r = enrol_prepare(c, &t, &e);
	if (r == 0) {
		enrol_show(c, &t, &e);
		r = enrol_confirm(c, &t, &e, &step);
	}
	if (r == 0)
		r = enrol_store(c, &t, &e, step);
	enrol_clear(&e);
	if (r == 0) {
		c->mfa_note = "registered";
		rr_say(c, PAM_TEXT_INFO, "Your authenticator app is "
		       "registered.");
		rr_log(c, LOG_NOTICE, "user \"%s\" registered an "
			   "authenticator", c->a.user);
	}
	return r;
}

/* ---- temporary access pass ------------------------------------------- */

/* 0 when the user types a valid pass (consumed), 1 when not. */
static int check_tap(rr_ctx *c)
{
	uint8_t hash[RR_TAP_HASH_LEN];
	char *answer = NULL;
	int r;

	r = rr_ask(c, false, "Enter the temporary access pass from your IT "
		   "help desk: ", &answer);
	if (r < 0)
		return r;
	r = rr_tap_hash(answer, hash);
	rr_answer_free(answer);
	if (r == 0)
		r = rr_store_tap_consume(c->store, c->a.user, hash, c->now);
	explicit_bzero(hash, sizeof(hash));
	if (r == -EACCES || r == -EINVAL) {
		rr_log(c, LOG_WARNING, "user \"%s\": temporary "
			   "access pass refused", c->a.user);
		return 1;
	}
	return r;
}

/* ---- verification ----------------------------------------------------- */

static void mfa_reason(const rr_ctx *c, char *buf, size_t len)
{
	const rr_decision *d = &c->a.decision;
	size_t i, used;

	if (d->signin_risk > RR_LEVEL_NONE && c->a.n_dets) {
		snprintf(buf, len, "Unusual sign-in from %s: ",
			 c->a.rhost[0] ? c->a.rhost : "this console");
		for (i = 0; i < c->a.n_dets; i++) {
			used = strlen(buf);
			snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 rr_event_words(c->a.dets[i].type));
		}
		used = strlen(buf);
		snprintf(buf + used, len - used, ".");
	} else if (d->user_risk > RR_LEVEL_NONE) {
		snprintf(buf, len, "Your account is at %s risk.",
			 rr_level_name(d->user_risk));
	} else {
		snprintf(buf, len, "Sign-in policy requires multifactor "
			 "authentication for %s.", c->a.service);
	}
}

static void add_detection(rr_ctx *c, rr_event type, rr_level level)
{
	if (c->a.n_dets >= RR_EVENT__COUNT)
		return;
	c->a.dets[c->a.n_dets].type = type;
	c->a.dets[c->a.n_dets].level = level;
	c->a.n_dets++;
}

static int deny_locked(rr_ctx *c, bool now_locked)
{
	unsigned minutes = (c->policy->mfa.failure_window_s + 59) / 60;

	c->mfa_note = "locked";
	if (now_locked) {
		add_detection(c, RR_EVENT_REPEATED_MFA_FAILURES,
			      RR_LEVEL_HIGH);
		rr_log(c, LOG_WARNING, "user \"%s\": MFA locked "
			   "after %u wrong codes", c->a.user,
			   c->policy->mfa.max_failures);
	}
	snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in denied: "
		 "multifactor authentication is locked after too many wrong "
		 "codes. Try again in %u minutes.", minutes);
	return 1;
}

static int unseal_secret(rr_ctx *c, const rr_store_mfa *m, uint8_t *secret,
			 size_t *len)
{
	uint8_t key[RR_MFA_KEY_LEN];
	int r;

	r = rr_mfa_key_load(key_file(c), false, key);
	if (r == 0)
		r = rr_mfa_unseal(key, c->a.user, m->sealed, m->sealed_len,
				  secret, RR_TOTP_SECRET_MAX, len);
	explicit_bzero(key, sizeof(key));
	if (r < 0)
		rr_log(c, LOG_ERR, "user \"%s\": cannot open the "
			   "authenticator secret (key %s): %s", c->a.user,
			   key_file(c), strerror(-r));
	return r;
}

/* What the store's attempt checks the typed code with, inside its
 * transaction (rr_store_mfa_attempt). */
typedef struct {
	rr_ctx *c;
	const uint8_t *secret;
	size_t len;
	const rr_totp_params *t;
	const char *answer;
} code_check;

static int check_code(void *ctx, int64_t last_step, int64_t *step)
{
	const code_check *k = ctx;

	/* the time the code was typed, not the sign-in's start */
	return rr_totp_verify(k->secret, k->len, k->t,
			      k->c->host->ops->now(k->c->host), last_step,
			      k->answer, step);
}

/* One prompt: 0 passed, 1 wrong, 2 replayed, 3 locked, negative errno.
 * The lock, the replay guard and the failure count are decided in one
 * store transaction, so parallel sign-ins cannot race past the limit. */
static int one_code(rr_ctx *c, const rr_store_mfa *m, const uint8_t *secret,
		    size_t len, const char *prompt, unsigned *failures)
{
	rr_totp_params t;
	rr_store_attempt at;
	code_check k = {c, secret, len, &t, NULL};
	char *answer = NULL;
	int r;

	totp_params(c->policy, &t);
	t.alg = (rr_totp_alg)m->alg;
	t.digits = m->digits;
	t.period = m->period;
	r = rr_ask(c, false, prompt, &answer);
	if (r < 0)
		return r;
	k.answer = answer;
	at = (rr_store_attempt){.window_s = c->policy->mfa.failure_window_s,
				.max_failures = c->policy->mfa.max_failures,
				.check = check_code, .ctx = &k};
	/* counted at the time the code was typed: parallel sign-ins that
	 * started seconds apart count in one window */
	r = rr_store_mfa_attempt(c->store, c->a.user,
				 c->host->ops->now(c->host), &at, failures);
	rr_answer_free(answer);
	return r == -EACCES ? 1 : r == -EALREADY ? 2 : r == -ENOLCK ? 3 : r;
}

static int verify_loop(rr_ctx *c, const rr_store_mfa *m,
		       const uint8_t *secret, size_t len)
{
	char reason[MSG_MAX - 64], prompt[MSG_MAX];
	unsigned failures = 0;
	int i, r;

	mfa_reason(c, reason, sizeof(reason));
	snprintf(prompt, sizeof(prompt), "%s Enter the code from your "
		 "authenticator app: ", reason);
	for (i = 0; i < CODE_TRIES; i++) {
		r = one_code(c, m, secret, len, prompt, &failures);
		if (r <= 0)
			return r;
		/* locked by parallel sign-ins before this code was looked
		 * at, or by this wrong code */
		if (r == 3)
			return deny_locked(c, false);
		if (failures >= c->policy->mfa.max_failures)
			return deny_locked(c, true);
		rr_say(c, PAM_ERROR_MSG, "%s", r == 2 ?
		       "That code was already used. Wait for the next one." :
		       "That code is not right.");
		/* later prompts need not repeat the reason */
		snprintf(prompt, sizeof(prompt), "Enter the code from your "
			 "authenticator app: ");
	}
	c->mfa_note = "failed";
	snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in denied: the "
		 "code from your authenticator app was not accepted.");
	return 1;
}

/* MFA for a registered user: 0 passed, 1 denied, negative errno. */
static int run_mfa(rr_ctx *c, const rr_store_mfa *m)
{
	uint8_t secret[RR_TOTP_SECRET_MAX];
	size_t len = 0;
	int r;

	r = unseal_secret(c, m, secret, &len);
	if (r == 0)
		r = verify_loop(c, m, secret, len);
	explicit_bzero(secret, sizeof(secret));
	if (r == 0) {
		c->mfa_note = "passed";
		c->mfa_passed = true;
	}
	return r;
}

/* ---- the registration interrupt -------------------------------------- */

static int refuse_registration(rr_ctx *c)
{
	const rr_decision *d = &c->a.decision;
	char words[MSG_MAX / 2];

	if (c->a.facts.origin == RR_ORIGIN_OTHER_USER &&
	    d->signin_risk == RR_LEVEL_NONE && d->user_risk == RR_LEVEL_NONE) {
		/* nothing risky but where it comes from: not a block an
		 * admin lifts; the user signs in directly */
		c->mfa_note = "refused";
		snprintf(c->deny_msg, sizeof(c->deny_msg),
			 "Sign-in denied: you must register an authenticator "
			 "app, and it cannot be registered from another user's "
			 "session. Sign in directly (at the console or over "
			 "SSH) to set it up.");
		return 1;
	}

	rr_risk_words(c, c->a.decision.user_risk > RR_LEVEL_NONE &&
			      c->a.decision.signin_risk == RR_LEVEL_NONE,
		      words, sizeof(words));
	c->mfa_note = "refused";
	c->denied_blocked = true;
	snprintf(c->deny_msg, sizeof(c->deny_msg),
		 "Sign-in blocked: %s and no authenticator app is registered "
		 "for your account; one cannot be registered during a risky "
		 "sign-in.", words);
	return 1;
}

/* Registration refused because of risk: only a temporary access pass from
 * the help desk lets the user enrol.  0 registered, 1 denied. */
static int registration_refused(rr_ctx *c, const rr_store_mfa *m)
{
	int r;

	if (!m->tap_pending)
		return refuse_registration(c);
	r = check_tap(c);
	if (r == 1)
		return refuse_registration(c);
	if (r == 0)
		r = run_registration(c);
	if (r == 1) {
		c->mfa_note = "registration-failed";
		snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in denied: "
			 "the authenticator app was not registered.");
	}
	return r;
}

static int registration_required(rr_ctx *c)
{
	int r;

	if (c->silent) {
		/* PAM_SILENT: the key and QR code could not be shown */
		c->mfa_note = "registration-needed";
		snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in denied: "
			 "you must register an authenticator app.");
		return 1;
	}
	r = run_registration(c);

	if (r == 1) {
		c->mfa_note = "registration-failed";
		snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in denied: "
			 "registering an authenticator app is required and "
			 "was not completed.");
	}
	return r;
}

/* Grace period: the user may skip.  Always 0 (go on) or negative. */
static int registration_offer(rr_ctx *c, const rr_registration *reg)
{
	char prompt[256], *answer = NULL;
	int64_t start = 0;
	bool yes;
	int r;

	if (c->silent) {
		/* PAM_SILENT: the key and QR code could not be shown */
		c->mfa_note = "skipped";
		return 0;
	}
	if (reg->start_grace) {
		r = rr_store_mfa_grace_begin(c->store, c->a.user, c->now,
					     &start);
		if (r < 0)
			return r;
	}
	snprintf(prompt, sizeof(prompt), "Multifactor authentication is "
		 "required by %s. You have %u day%s left to set it up. Set up "
		 "now? [y/N] ", issuer(c), reg->days_left,
		 reg->days_left == 1 ? "" : "s");
	r = rr_ask(c, true, prompt, &answer);
	if (r < 0)
		return r;
	yes = !strcasecmp(answer, "y") || !strcasecmp(answer, "yes");
	rr_answer_free(answer);
	c->mfa_note = "skipped";
	if (!yes)
		return 0;
	r = run_registration(c);
	if (r == 1)
		rr_say(c, PAM_TEXT_INFO, "The authenticator app was not "
		       "registered; you can set it up at your next sign-in.");
	return r < 0 ? r : 0;
}

/* Account phase (sshd publickey): nothing can be asked. */
static int account_registration(rr_ctx *c, const rr_registration *reg)
{
	if (reg->action != RR_REG_REQUIRED && reg->action != RR_REG_REFUSED)
		return 0;
	c->mfa_note = "registration-needed";
	snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in denied: you must "
		 "register an authenticator app, which this login method "
		 "cannot do. Sign in once with a password or "
		 "keyboard-interactive method to set it up.");
	return 1;
}

static int interrupt(rr_ctx *c, const rr_store_mfa *m,
		     const rr_registration *reg)
{
	if (reg->report_only)
		rr_log(c, LOG_NOTICE, "mfa_registration reportOnly: "
			   "would interrupt \"%s\" to register", c->a.user);
	if (c->type == TYPE_ACCOUNT)
		return account_registration(c, reg);
	switch (reg->action) {
	case RR_REG_REFUSED:
		return registration_refused(c, m);
	case RR_REG_REQUIRED:
		return registration_required(c);
	case RR_REG_OFFER:
		return registration_offer(c, reg);
	case RR_REG_NONE:
	default:
		return 0;
	}
}

/*
 * A fleet replica that has not heard from etcd for longer than
 * store.offline.max_staleness (DESIGN 7.1): blocks and user risk are
 * decided from it as always; a sign-in that needs MFA is denied unless the
 * admin chose offline.mfa local (then the code is checked against the
 * replica and the writes are published when etcd is back); registering an
 * authenticator needs etcd (one authenticator fleet-wide) and is not
 * offered.  1: denied, 0: go on (*stale tells whether the replica is).
 */
static int offline_gate(rr_ctx *c, bool needs_mfa, bool *stale)
{
	const rr_offline_cfg *o = &c->policy->offline;
	int64_t ms = -1;

	*stale = false;
	if (rr_store_link_staleness(c->store, &ms) < 0)
		return 0; /* not a fleet replica */
	if (ms >= 0 && ms <= (int64_t)o->max_staleness_s * 1000)
		return 0;
	*stale = true;
	if (!needs_mfa)
		return 0;
	if (ms < 0)
		rr_log(c, LOG_WARNING, "fleet replica has not heard from etcd "
		       "since riskd started (offline.mfa %s)",
		       o->mfa == RR_OFFLINE_MFA_LOCAL ? "local" : "deny");
	else
		rr_log(c, LOG_WARNING, "fleet replica stale: nothing heard "
		       "from etcd for %lld s, over max_staleness %u s "
		       "(offline.mfa %s)", (long long)(ms / 1000),
		       o->max_staleness_s,
		       o->mfa == RR_OFFLINE_MFA_LOCAL ? "local" : "deny");
	if (o->mfa == RR_OFFLINE_MFA_LOCAL)
		return 0;
	c->mfa_note = "offline";
	snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in denied: "
		 "multifactor authentication is needed and the risk service "
		 "is unreachable. Try again later.");
	return 1;
}

int rr_mfa_controls(rr_ctx *c)
{
	const rr_decision *d = &c->a.decision;
	rr_registration reg;
	rr_store_mfa m;
	bool stale = false;
	int r;

	r = rr_store_mfa_get(c->store, c->a.user, c->now,
			     c->policy->mfa.failure_window_s, &m);
	if (r < 0)
		return r;
	/* a locked MFA denies every sign-in of the user, on every service,
	 * whether or not this one needs a code: the lock means someone who
	 * knows the password is guessing codes */
	if (m.registered && m.recent_failures >= c->policy->mfa.max_failures) {
		r = deny_locked(c, false);
		goto out;
	}
	rr_engine_registration(c->policy, &c->a.facts, m.registered,
			       m.grace_start, d, c->now, &reg);
	r = offline_gate(c, (d->require & RR_REQUIRE_MFA) ||
				    reg.action == RR_REG_REQUIRED ||
				    reg.action == RR_REG_REFUSED,
			 &stale);
	if (r)
		goto out;
	if (stale && reg.action == RR_REG_OFFER) {
		rr_log(c, LOG_NOTICE, "fleet replica stale: not offering "
		       "\"%s\" to register now", c->a.user);
		reg.action = RR_REG_NONE;
	}
	if (stale && (reg.action == RR_REG_REQUIRED ||
		      reg.action == RR_REG_REFUSED)) {
		c->mfa_note = "offline";
		snprintf(c->deny_msg, sizeof(c->deny_msg), "Sign-in denied: "
			 "you must register an authenticator app, which needs "
			 "the risk service; it is unreachable. Try again "
			 "later.");
		r = 1;
		goto out;
	}
	r = interrupt(c, &m, &reg);
	if (r != 0 || !(d->require & RR_REQUIRE_MFA))
		goto out;
	if (reg.action == RR_REG_REQUIRED || reg.action == RR_REG_REFUSED) {
		/* the code that confirmed the new authenticator is the MFA */
		c->mfa_passed = true;
		goto out;
	}
	r = m.registered ? run_mfa(c, &m) : refuse_registration(c);
out:
	explicit_bzero(&m, sizeof(m));
	return r;
}
