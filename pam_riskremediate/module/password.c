/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The password part and what leads to it: the pending password change a
 * login carries from auth to account to chauthtok (PAM data), the shadow
 * check for users without a password, and pam_sm_chauthtok's work:
 *
 *   - a login with a secure password change pending (MFA passed, user at
 *     risk): the completed change remediates the user risk;
 *   - a login whose password root reset: the change clears the flag;
 *   - root running `passwd USER` outside any login: the reset remediates
 *     as adminGeneratedTemporaryPassword and forces a change at the next
 *     login;
 *   - anything else (a user's own `passwd`): nothing is recorded.
 */
#include "module.h"

#include <errno.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>


#define SHADOW_BUF_MAX 65536

typedef struct {
	rr_pwchange_kind kind;
	rr_level level;
	char user[RR_USER_MAX + 1];
	char ref[RR_REF_LEN + 1]; /* the sign-in recorded, "" if none */
} rr_pwchange;

/*
 * The pending change travels as PAM data text "KIND LEVEL REF USER" (REF
 * "-" when no sign-in was recorded).  Text that does not decode is still
 * a pending change, of nobody: the login cannot end without changing the
 * password, and the change records nothing.
 */
static void pwchange_encode(const rr_pwchange *p, char *buf, size_t len)
{
	snprintf(buf, len, "%d %d %s %s", (int)p->kind, (int)p->level,
		 p->ref[0] ? p->ref : "-", p->user);
}

static bool pwchange_get(rr_ctx *c, rr_pwchange *p)
{
	const char *v = rr_data_get(c, DATA_PWCHANGE);
	int kind, level, n = 0;
	char ref[RR_REF_LEN + 2];

	memset(p, 0, sizeof(*p));
	if (!v)
		return false;
	p->kind = PWCHANGE_RISK;
	p->level = RR_LEVEL_HIGH;
	_Static_assert(sizeof(ref) == 11, "the %10s below");
	if (sscanf(v, "%d %d %10s %n", &kind, &level, ref, &n) != 3 || n == 0 ||
	    (kind != PWCHANGE_RISK && kind != PWCHANGE_ADMIN) ||
	    level < RR_LEVEL_NONE || level > RR_LEVEL_HIGH ||
	    strlen(ref) > RR_REF_LEN || !rr_valid_user(v + n))
		return true;
	p->kind = (rr_pwchange_kind)kind;
	p->level = (rr_level)level;
	if (strcmp(ref, "-"))
		memcpy(p->ref, ref, strlen(ref) + 1);
	snprintf(p->user, sizeof(p->user), "%s", v + n);
	return true;
}

static int pwchange_put(rr_ctx *c, const rr_pwchange *p)
{
	char buf[64 + RR_REF_LEN + RR_USER_MAX];

	pwchange_encode(p, buf, sizeof(buf));
	return rr_data_set(c, DATA_PWCHANGE, buf);
}

void rr_flow_mark(rr_ctx *c)
{
	rr_data_set(c, DATA_FLOW, "1");
}

static bool flow_marked(rr_ctx *c)
{
	return rr_data_get(c, DATA_FLOW) != NULL;
}

int rr_pwchange_set(rr_ctx *c, rr_pwchange_kind kind)
{
	rr_pwchange p = {.kind = kind, .level = c->a.decision.user_risk};

	snprintf(p.user, sizeof(p.user), "%s", c->a.user);
	return pwchange_put(c, &p);
}

int rr_pwchange_ref(rr_ctx *c)
{
	rr_pwchange p;

	if (!pwchange_get(c, &p))
		return -ENOENT;
	snprintf(p.ref, sizeof(p.ref), "%s", c->ref);
	return pwchange_put(c, &p);
}

static void pwchange_clear(rr_ctx *c)
{
	rr_data_set(c, DATA_PWCHANGE, NULL);
}

bool rr_pwchange_pending_tell(rr_ctx *c)
{
	rr_pwchange p;

	if (!pwchange_get(c, &p))
		return false;
	if (p.kind == PWCHANGE_ADMIN)
		rr_say(c, PAM_TEXT_INFO, "Your administrator reset your "
		       "password. Choose a new password now.");
	else
		rr_say(c, PAM_TEXT_INFO, "Your account is at %s risk. You "
		       "passed multifactor authentication; now choose a new "
		       "password.", rr_level_name(p.level));
	return true;
}

/* ---- users without a password ----------------------------------------- */

static bool hash_is_none(const char *h)
{
	return !h || strspn(h, "!*") == strlen(h);
}

int rr_passwordless(const char *user)
{
	struct spwd sp, *res = NULL;
	size_t len = 4096;
	char *buf = NULL;
	int r;

	for (;;) {
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		/* the entry lands in buf: the lock covers the call only */
		rr_nss_lock();
		r = getspnam_r(user, &sp, buf, len, &res);
		rr_nss_unlock();
		if (r != ERANGE || len >= SHADOW_BUF_MAX)
			break;
		free(buf);
		len *= 2;
	}
	if (r == 0 && res)
		r = hash_is_none(res->sp_pwdp) ? 1 : 0;
	else
		r = r ? -r : -ENOENT;
	if (res && res->sp_pwdp)
		explicit_bzero(res->sp_pwdp, strlen(res->sp_pwdp));
	free(buf);
	return r;
}

/* ---- chauthtok -------------------------------------------------------- */

static int user_of_handle(rr_ctx *c)
{
	const char *user = NULL;

	if (c->host->ops->get_user(c->host, &user) != PAM_SUCCESS || !user ||
	    !rr_valid_user(user))
		return -EINVAL;
	c->user = user;
	return 0;
}

static int finish_login_change(rr_ctx *c, const rr_pwchange *p)
{
	unsigned closed = 0;
	int r;

	if (strcmp(p->user, c->user)) {
		rr_log(c, LOG_ERR, "password change for \"%s\" in a "
			   "login of \"%s\": not recorded", c->user, p->user);
		return -EPERM;
	}
	r = rr_open(c);
	if (r == 0 && p->kind == PWCHANGE_RISK)
		r = rr_store_remediate_user(c->store, c->user,
					    RR_DETAIL_USER_SECURED_PASSWORD,
					    NULL, p->ref[0] ? p->ref : NULL,
					    c->now, &closed);
	else if (r == 0)
		r = rr_store_must_change_clear(c->store, c->user, c->now);
	if (r < 0) {
		rr_log(c, LOG_ERR, "recording the password change of "
			   "%s: %s; user risk unchanged", c->user,
			   strerror(-r));
		return r;
	}
	rr_log(c, LOG_NOTICE, p->kind == PWCHANGE_RISK ?
		   "password=changed user=\"%s\" outcome=remediated "
		   "detail=userPerformedSecuredPasswordChange detections=%u" :
		   "password=changed user=\"%s\" outcome=temporary-replaced "
		   "detections=%u", c->user, closed);
	pwchange_clear(c);
	return 0;
}

static int admin_reset(rr_ctx *c)
{
	unsigned closed = 0;
	int r;

	r = rr_open(c);
	if (r == 0)
		r = rr_store_remediate_user(c->store, c->user,
					    RR_DETAIL_ADMIN_TEMP_PASSWORD,
					    "root", NULL, c->now, &closed);
	if (r < 0) {
		rr_log(c, LOG_ERR, "recording root's password reset "
			   "of %s: %s", c->user, strerror(-r));
		return r;
	}
	rr_log(c, LOG_NOTICE, "password=reset user=\"%s\" "
		   "actor=root outcome=remediated "
		   "detail=adminGeneratedTemporaryPassword detections=%u "
		   "must_change=yes", c->user, closed);
	return 0;
}

int rr_chauthtok(rr_ctx *c, int flags)
{
	rr_pwchange p;
	int r;

	/* PAM_PRELIM_CHECK is settled before (rr_settled) */
	if (!(flags & PAM_UPDATE_AUTHTOK))
		return -EINVAL;
	r = user_of_handle(c);
	if (r < 0)
		return r;
	if (pwchange_get(c, &p))
		return finish_login_change(c, &p);
	if (flow_marked(c) || c->host->ops->uid(c->host) != 0 ||
	    !strcmp(c->user, "root"))
		return 0; /* not a remediation: nothing to record */
	return admin_reset(c);
}
