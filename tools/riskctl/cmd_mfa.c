/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Authenticator verbs: mfa status (read), mfa reset, mfa grace-reset and
 * tap issue (audited).  The temporary access pass is the only secret
 * riskctl handles: it is printed once with write(2), never through stdio,
 * and zeroed; only its hash reaches the store.
 */
#include "rr_errno.h"
#include "json.h"
#include "riskctl.h"
#include "rr_mfa.h"
#include "rr_writefile.h"
#include "table.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KV_WIDTH 16
#define SECONDS_PER_DAY 86400
#define TAP_OUT_MAX 1024

_Static_assert(RR_TAP_HASH_LEN == RR_STORE_TAP_HASH_LEN,
	       "pass hash sizes of the mfa library and the store differ");

/* ---- mfa status USER --------------------------------------------------- */

struct mfa_view {
	const char *user;
	rr_store_mfa m;
	const rr_mfa_cfg *cfg;
	const rr_mfa_registration *reg;
	bool grace_started;
	unsigned days_left; /* whole days, rounded up; 0 when over */
	bool locked;
};

static const char *alg_name(unsigned a)
{
	const char *n = rr_totp_alg_name((rr_totp_alg)a);

	return n ? n : "?";
}

/* Days left of the grace period, as the module counts them. */
static unsigned grace_days_left(unsigned grace_days, int64_t start,
				int64_t now)
{
	int64_t len = (int64_t)grace_days * SECONDS_PER_DAY;
	int64_t left = now >= start ? len - (now - start) : len;

	if (left <= 0)
		return 0;
	return (unsigned)((left + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY);
}

static void view_init(struct mfa_view *v, const struct ctl *c, int64_t now)
{
	v->cfg = &c->policy->mfa;
	v->reg = &c->policy->mfa_registration;
	v->grace_started = v->m.grace_start > 0;
	if (v->grace_started)
		v->days_left = grace_days_left(v->reg->grace_days,
					       v->m.grace_start, now);
	v->locked = v->m.recent_failures >= v->cfg->max_failures;
}

/* A duration in the policy's own units: "15m", "1h", "90s". */
static void duration_text(unsigned s, char *buf, size_t len)
{
	if (s && s % SECONDS_PER_DAY == 0)
		snprintf(buf, len, "%ud", s / SECONDS_PER_DAY);
	else if (s && s % 3600 == 0)
		snprintf(buf, len, "%uh", s / 3600);
	else if (s && s % 60 == 0)
		snprintf(buf, len, "%um", s / 60);
	else
		snprintf(buf, len, "%us", s);
}

static int status_json(const struct mfa_view *v)
{
	const rr_store_mfa *m = &v->m;
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "user", v->user);
	json_kbool(&j, "registered", m->registered);
	json_key(&j, "algorithm");
	json_str(&j, m->registered ? alg_name(m->alg) : NULL);
	json_key(&j, "digits");
	if (m->registered)
		json_int(&j, m->digits);
	else
		json_null(&j);
	json_key(&j, "period");
	if (m->registered)
		json_int(&j, m->period);
	else
		json_null(&j);
	json_ktime(&j, "registeredDateTime",
		   m->registered ? m->registered_at : 0);
	json_kstr(&j, "registrationState", rr_pstate_name(v->reg->state));
	json_kint(&j, "graceDays", v->reg->grace_days);
	json_ktime(&j, "graceStartDateTime", m->grace_start);
	json_key(&j, "graceDaysLeft");
	if (v->grace_started && !m->registered)
		json_int(&j, v->days_left);
	else
		json_null(&j);
	json_kint(&j, "failures", m->recent_failures);
	json_kint(&j, "maxFailures", v->cfg->max_failures);
	json_kint(&j, "failureWindowSeconds", v->cfg->failure_window_s);
	json_kbool(&j, "locked", v->locked);
	json_kbool(&j, "temporaryAccessPassPending", m->tap_pending);
	json_ktime(&j, "temporaryAccessPassExpiresDateTime",
		   m->tap_pending ? m->tap_expires : 0);
	json_obj_end(&j);
	return fail_output(json_finish(&j));
}

static void print_grace(const struct mfa_view *v)
{
	char when[32], line[128];

	if (!v->grace_started) {
		snprintf(line, sizeof(line), "not started (%u days from the "
			 "first registration interrupt)", v->reg->grace_days);
		kv_print(stdout, KV_WIDTH, "grace period:", line);
		return;
	}
	ctl_time_local(v->m.grace_start, when, sizeof(when));
	if (v->m.registered)
		snprintf(line, sizeof(line), "started %s", when);
	else if (v->days_left)
		snprintf(line, sizeof(line), "started %s, %u day%s left", when,
			 v->days_left, v->days_left == 1 ? "" : "s");
	else
		snprintf(line, sizeof(line), "started %s, over (registration "
			 "required)", when);
	kv_print(stdout, KV_WIDTH, "grace period:", line);
}

static int status_text(const struct mfa_view *v)
{
	const rr_store_mfa *m = &v->m;
	char line[160], when[32], win[16];

	kv_print(stdout, KV_WIDTH, "user:", v->user);
	kv_print(stdout, KV_WIDTH, "registered:", m->registered ? "yes" : "no");
	if (m->registered) {
		snprintf(line, sizeof(line), "%s, %u digits, %u s period",
			 alg_name(m->alg), m->digits, m->period);
		kv_print(stdout, KV_WIDTH, "authenticator:", line);
		ctl_time_local(m->registered_at, when, sizeof(when));
		kv_print(stdout, KV_WIDTH, "registered at:", when);
	}
	print_grace(v);
	duration_text(v->cfg->failure_window_s, win, sizeof(win));
	snprintf(line, sizeof(line), "%u wrong code%s in the last %s "
		 "(lock at %u)", m->recent_failures,
		 m->recent_failures == 1 ? "" : "s", win, v->cfg->max_failures);
	kv_print(stdout, KV_WIDTH, "failures:", line);
	kv_print(stdout, KV_WIDTH, "mfa locked:",
		 v->locked ? "yes (until the failure window passes, or "
			     "riskctl mfa reset)" : "no");
	if (m->tap_pending) {
		ctl_time_local(m->tap_expires, when, sizeof(when));
		snprintf(line, sizeof(line), "pending, expires %s", when);
		kv_print(stdout, KV_WIDTH, "access pass:", line);
	} else {
		kv_print(stdout, KV_WIDTH, "access pass:", "none");
	}
	return RC_OK;
}

int cmd_mfa_status(struct ctl *c)
{
	struct mfa_view v = {.user = c->args[0]};
	int64_t now = (int64_t)time(NULL);
	int r;

	r = ctl_check_user(v.user);
	if (r == RC_OK)
		r = ctl_open(c);
	if (r != RC_OK)
		return r;
	r = rr_store_mfa_get(c->store, v.user, now,
			     c->policy->mfa.failure_window_s, &v.m);
	if (r < 0)
		return ctl_store_fail(c, "cannot read the user's MFA record",
				      r);
	/* the sealed secret is not ours to keep around */
	explicit_bzero(v.m.sealed, sizeof(v.m.sealed));
	view_init(&v, c, now);
	return c->json ? status_json(&v) : status_text(&v);
}

/* ---- mfa reset USER, mfa grace-reset USER ------------------------------ */

static int admin_json(const char *user, const char *action)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "user", user);
	json_kstr(&j, "action", action);
	json_obj_end(&j);
	return fail_output(json_finish(&j));
}

int cmd_mfa_reset(struct ctl *c)
{
	char actor[RR_USER_MAX + 16];
	const char *user = c->args[0];
	int r;

	r = ctl_check_user(user);
	if (r == RC_OK)
		r = ctl_open(c);
	if (r != RC_OK)
		return r;
	ctl_actor(actor, sizeof(actor));
	r = rr_store_mfa_reset(c->store, user, actor, (int64_t)time(NULL));
	if (r < 0)
		return ctl_store_fail(c, "cannot reset the user's MFA", r);
	if (c->json)
		return admin_json(user, "mfa-reset");
	printf("%s: authenticator removed; they register again at next "
	       "sign-in\n", user);
	return RC_OK;
}

int cmd_mfa_grace_reset(struct ctl *c)
{
	char actor[RR_USER_MAX + 16];
	const char *user = c->args[0];
	unsigned days;
	int r;

	r = ctl_check_user(user);
	if (r == RC_OK)
		r = ctl_open(c);
	if (r != RC_OK)
		return r;
	ctl_actor(actor, sizeof(actor));
	r = rr_store_mfa_grace_reset(c->store, user, actor,
				     (int64_t)time(NULL));
	if (r < 0)
		return ctl_store_fail(c, "cannot reset the grace period", r);
	days = c->policy->mfa_registration.grace_days;
	if (c->json)
		return admin_json(user, "mfa-grace-reset");
	printf("%s: registration grace period restarts at next sign-in (%u "
	       "day%s)\n", user, days, days == 1 ? "" : "s");
	return RC_OK;
}

/* ---- tap issue USER [--ttl D] ------------------------------------------ */

/* The pass as text or JSON into buf (no stdio buffer keeps a copy). */
static int tap_format_json(char *buf, size_t len, const char *user,
			   const char *pass, int64_t expires)
{
	struct json j;
	FILE *f;
	int r;

	f = fmemopen(buf, len, "w");
	if (!f)
		return rr_negerrno();
	setvbuf(f, NULL, _IONBF, 0);
	json_init(&j, f);
	json_obj_begin(&j);
	json_kstr(&j, "user", user);
	json_kstr(&j, "pass", pass);
	json_ktime(&j, "expiresDateTime", expires);
	json_obj_end(&j);
	r = json_finish(&j);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r == 0 && strnlen(buf, len) >= len - 1)
		r = -ENOSPC;
	return r;
}

static int tap_format_text(char *buf, size_t len, const char *user,
			   const char *pass, int64_t expires)
{
	char when[32];
	int n;

	ctl_time_local(expires, when, sizeof(when));
	n = snprintf(buf, len, "Temporary access pass for %s: %s (single "
		     "use, expires %s). It lets %s register a new "
		     "authenticator at the next sign-in.\n", user, pass, when,
		     user);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

static int tap_print(const struct ctl *c, const char *user, const char *pass,
		     int64_t expires)
{
	char buf[TAP_OUT_MAX] = {0};
	int r;

	if (fflush(stdout) != 0)
		return fail_output(-EIO);
	if (c->json)
		r = tap_format_json(buf, sizeof(buf), user, pass, expires);
	else
		r = tap_format_text(buf, sizeof(buf), user, pass, expires);
	if (r == 0)
		/* write(2), not stdio: no copy of the pass left in its
		 * buffer */
		r = rr_write_all(STDOUT_FILENO, buf,
				 strnlen(buf, sizeof(buf)));
	explicit_bzero(buf, sizeof(buf));
	return fail_output(r);
}

int cmd_tap_issue(struct ctl *c)
{
	char actor[RR_USER_MAX + 16], pass[RR_TAP_LEN + 1];
	uint8_t hash[RR_TAP_HASH_LEN];
	const char *user = c->args[0];
	int64_t now, expires;
	unsigned ttl;
	int r;

	r = ctl_check_user(user);
	if (r == RC_OK)
		r = ctl_check_account(user);
	if (r == RC_OK)
		r = ctl_open(c);
	if (r != RC_OK)
		return r;
	ttl = (c->given & OPT_TTL) ? c->ttl_s : c->policy->mfa.tap_ttl_s;
	r = rr_tap_new(pass, hash);
	if (r < 0) {
		ctl_err("cannot generate a temporary access pass: %s",
			strerror(-r));
		return RC_STORE;
	}
	ctl_actor(actor, sizeof(actor));
	now = (int64_t)time(NULL);
	expires = now + (int64_t)ttl;
	r = rr_store_tap_issue(c->store, user, hash, expires, actor, now);
	explicit_bzero(hash, sizeof(hash));
	if (r < 0)
		r = ctl_store_fail(c, "cannot store the temporary access pass",
				   r);
	else
		r = tap_print(c, user, pass, expires);
	explicit_bzero(pass, sizeof(pass));
	return r;
}

/* ---- mfa key-init [FILE] ----------------------------------------------- */

/*
 * The MFA key file made before the first registration: riskd, sandboxed
 * by its unit, cannot create it (DESIGN 7; riskd(8), SANDBOX).  FILE, or
 * the policy's mfa.key_file.  A key that exists is checked and kept: a
 * new one would make every registered authenticator unusable.
 */
int cmd_mfa_key_init(struct ctl *c)
{
	uint8_t key[RR_MFA_KEY_LEN];
	const char *path;
	bool created = false;
	int r;

	if (c->n_args == 1) {
		path = c->args[0];
		if (path[0] != '/' || strnlen(path, CTL_PATH_MAX) >=
					      CTL_PATH_MAX - 8) {
			ctl_err("mfa key-init: FILE must be an absolute path "
				"of at most %d bytes", CTL_PATH_MAX - 9);
			return RC_USAGE;
		}
	} else {
		r = ctl_load_policy(c, c->policy_path);
		if (r != RC_OK)
			return r;
		path = c->policy->mfa.key_file;
	}
	r = rr_mfa_key_load(path, false, key);
	if (r == -ENOENT) {
		r = rr_mfa_key_load(path, true, key);
		created = r == 0;
	}
	explicit_bzero(key, sizeof(key));
	if (r < 0) {
		ctl_err("MFA key file %s: %s%s", path, strerror(-r),
			r == -EPERM ? " (it must be owned by root, mode 0600)" :
			r == -EINVAL ? " (not a regular file of 32 bytes)" :
				       "");
		return RC_POLICY;
	}
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "keyFile", path);
		json_kbool(&j, "created", created);
		json_obj_end(&j);
		return fail_output(json_finish(&j));
	}
	printf("%s: %s\n", path, created ? "created (0600 root)" :
					  "exists, kept");
	return fail_output(fflush(stdout) == 0 ? 0 : -EIO);
}
