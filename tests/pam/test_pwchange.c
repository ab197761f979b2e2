/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The secure password change, root's password reset, passwordless users
 * and SSH key devices: the built pam_riskremediate.so through the real
 * libpam (the harness of harness.h; pam_permit.so stands in for the
 * password module), users from nss_wrapper, shadow entries from the
 * getspnam_r of test_shadow.c (linked in: the executable's definition wins
 * over libc's; preloaded into riskd in suite pam-riskd),
 * syslog lines captured by interposing __syslog_chk.  Asserts return
 * codes, the exact messages the user sees, stored rows and the structured
 * log line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"


/* ---- fixture ----------------------------------------------------------- */

#define REG_ENABLED                                                          \
	"mfa_registration:\n"                                                \
	"  state: enabled\n"                                                 \
	"  grace_days: 14\n"                                                 \
	"  users: { include: [alice] }\n"

static void write_policy(void)
{
	write_fixture_policy(
		REG_ENABLED
		"detections:\n"
		"  unfamiliarFeatures: { level: medium, learning_days: 0,"
		" learning_signins: 2 }\n"
		"policies:\n"
		"  - name: High user risk requires secure password change\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { require: [mfa, password_change] }\n"
		"  - name: Sign-in risk requires MFA\n"
		"    conditions: { signin_risk: [medium, high] }\n"
		"    grant: { require: [mfa] }\n");
}

/* auth + account + password (pam_permit, then us requisite); `pwmod` is
 * the password module. */
static void write_pw_service(const char *name, const char *pwmod)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "auth required %s policy=%s\n"
		 "account required %s policy=%s\n"
		 "password required %s\n"
		 "password requisite %s policy=%s\n",
		 module_spec(), F.policy, module_spec(), F.policy, pwmod,
		 module_spec(), F.policy);
	write_raw_service(name, text);
}

static int setup(void **state)
{
	(void)state;
	fixture_setup("rr-pw");
	write_pw_service("rrpw", "pam_permit.so");
	write_pw_service("rrpw-deny", "pam_deny.so");
	SERVICE("rrpw-account", "account required", "");
	/* sshd with keys: account, and the session part for the key */
	SERVICE("rrpw-key", "account required", "", "session required", "");
	write_policy();
	return 0;
}

/* ---- driving libpam ---------------------------------------------------- */

/* pam_chauthtok alone, as `passwd USER` runs it. */
static int passwd_only(const char *service, const char *user)
{
	pam_handle_t *pamh = NULL;
	int r;

	assert_int_equal(fixture_pam_start(service, user, &pamh), PAM_SUCCESS);
	r = pam_chauthtok(pamh, 0);
	pam_end(pamh, r);
	return r;
}

/* ---- helpers ------------------------------------------------------------ */

/* A leaked password now: high user risk. */
static void leak(const char *user)
{
	set_user_risk(user, RR_LEVEL_HIGH, 0);
}

/* High user risk: MFA, then account asks for a new password. */
static pam_result risky_login(const char *service, int offset, bool change)
{
	answers(offset, 1, "@code");
	return login_pw(service, "alice", "10.1.2.3", true, change);
}

/* ---- tests -------------------------------------------------------------- */

static void test_secure_password_change_remediates(void **state)
{
	rr_store_detection_filter df = { .user = "alice" };
	rr_store_detection *dets = NULL;
	rr_store_signin si;
	rr_store_user u;
	pam_result r;
	rr_store *s;
	size_t n = 0;

	(void)state;
	register_alice("rrpw", -1);
	leak("alice");
	r = risky_login("rrpw", 0, true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_NEW_AUTHTOK_REQD);
	assert_int_equal(r.chauthtok, PAM_SUCCESS);
	assert_matches(F.msgs, "Enter the code from your authenticator app: "
		       "\nYour account is at high risk\\. You passed "
		       "multifactor authentication; now choose a new "
		       "password\\.\n$");
	/* the sign-in awaited the change; completed, it is a success */
	si = last_signin("alice");
	assert_string_equal(si.outcome, "success");
	assert_string_equal(si.mfa, "passed");
	u = user_of("alice");
	assert_int_equal(u.level, RR_LEVEL_NONE);
	assert_int_equal(u.state, RR_STATE_REMEDIATED);
	assert_int_equal(u.detail, RR_DETAIL_USER_SECURED_PASSWORD);
	assert_int_equal(u.active_detections, 0);
	s = open_store();
	assert_int_equal(rr_store_detections_list(s, &df, &dets, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dets[0].state, RR_STATE_REMEDIATED);
	assert_int_equal(dets[0].detail, RR_DETAIL_USER_SECURED_PASSWORD);
	free(dets);
	rr_store_close(s);
	assert_logged("password=changed user=\"alice\" outcome=remediated "
		      "detail=userPerformedSecuredPasswordChange detections=1");
	/* the next login is clean: no prompt */
	r = login_pw("rrpw", "alice", "10.1.2.3", true, true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_string_equal(F.msgs, "");
}

static void test_abandoned_change_keeps_risk(void **state)
{
	pam_result r;

	(void)state;
	register_alice("rrpw", -1);
	leak("alice");
	r = risky_login("rrpw", 0, false); /* disconnects before chauthtok */
	assert_int_equal(r.account, PAM_NEW_AUTHTOK_REQD);
	assert_int_equal(user_of("alice").level, RR_LEVEL_HIGH);
	assert_string_equal(last_signin("alice").outcome,
			    RR_OUTCOME_PWCHANGE);
	/* the next login repeats the flow */
	r = risky_login("rrpw", 1, false);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_NEW_AUTHTOK_REQD);
	assert_int_equal(user_of("alice").level, RR_LEVEL_HIGH);
}

/* A rejected new password (the password module fails): nothing. */
static void test_failed_change_records_nothing(void **state)
{
	pam_result r;

	(void)state;
	register_alice("rrpw", -1);
	leak("alice");
	r = risky_login("rrpw-deny", 0, true);
	assert_int_equal(r.account, PAM_NEW_AUTHTOK_REQD);
	assert_int_not_equal(r.chauthtok, PAM_SUCCESS);
	assert_int_equal(user_of("alice").level, RR_LEVEL_HIGH);
	assert_int_equal(user_of("alice").state, RR_STATE_AT_RISK);
	assert_string_equal(last_signin("alice").outcome,
			    RR_OUTCOME_PWCHANGE);
}

static void test_plain_passwd_by_user_does_not_remediate(void **state)
{
	pid_t pid;
	int st = 0;

	(void)state;
	leak("alice");
	assert_int_equal(chmod(F.dir, 0711), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* as the set-user-ID passwd runs: real uid alice, effective
		 * root (riskd is reached; the real uid is what counts) */
		if (setresgid(1001, 0, 0) || setresuid(1001, 0, 0))
			_exit(100);
		_exit(passwd_only("rrpw", "alice"));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), PAM_SUCCESS);
	assert_int_equal(count_signins("alice"), 0);
	assert_int_equal(user_of("alice").level, RR_LEVEL_HIGH);
	assert_int_equal(user_of("alice").state, RR_STATE_AT_RISK);
}

static void test_root_reset_forces_change(void **state)
{
	rr_store_audit *a = NULL;
	rr_store_user u;
	pam_result r;
	rr_store *s;
	size_t n = 0;

	(void)state;
	leak("carol");
	assert_int_equal(passwd_only("rrpw", "carol"), PAM_SUCCESS);
	u = user_of("carol");
	assert_int_equal(u.level, RR_LEVEL_NONE);
	assert_int_equal(u.state, RR_STATE_REMEDIATED);
	assert_int_equal(u.detail, RR_DETAIL_ADMIN_TEMP_PASSWORD);
	assert_true(u.must_change);
	assert_logged("password=reset user=\"carol\" actor=root "
		      "outcome=remediated detail=adminGeneratedTemporaryPassword");
	s = open_store();
	assert_int_equal(rr_store_audit_list(s, 1, &a, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].action, "password-reset");
	assert_string_equal(a[0].actor, "root");
	free(a);
	rr_store_close(s);
	/* the next login must change it (abandoned: asked again) */
	r = login_pw("rrpw", "carol", "10.1.2.3", true, false);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_NEW_AUTHTOK_REQD);
	assert_string_equal(F.msgs, "Your administrator reset your password. "
				    "Choose a new password now.\n");
	r = login_pw("rrpw", "carol", "10.1.2.3", true, true);
	assert_int_equal(r.account, PAM_NEW_AUTHTOK_REQD);
	assert_int_equal(r.chauthtok, PAM_SUCCESS);
	assert_false(user_of("carol").must_change);
	r = login_pw("rrpw", "carol", "10.1.2.3", true, true);
	assert_int_equal(r.account, PAM_SUCCESS);
	/* root's own password is not a reset of a user's */
	assert_int_equal(passwd_only("rrpw", "root"), PAM_SUCCESS);
	assert_false(user_of("root").must_change);
}

static void test_account_only_cannot_change_password(void **state)
{
	pam_result r;

	(void)state;
	leak("alice");
	r = login_pw("rrpw-account", "alice", "10.1.2.3", false, true);
	assert_int_equal(r.account, PAM_PERM_DENIED);
	assert_matches(F.msgs, "^Sign-in denied: your account is at high "
		       "risk, and policy requires multifactor authentication "
		       "and a password change, which this login method cannot "
		       "ask for\\. Sign in with a password or "
		       "keyboard-interactive method\\. Contact your IT help "
		       "desk and quote reference [0-9A-F]{4}-[0-9A-F]{4}\\.\n$");
	assert_int_equal(user_of("alice").level, RR_LEVEL_HIGH);
}

static void test_passwordless_user_blocked(void **state)
{
	char expect[512];
	rr_store_signin si;
	pam_result r;

	(void)state;
	leak("bob");
	r = login_pw("rrpw", "bob", "10.1.2.3", true, true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	si = last_signin("bob");
	assert_string_equal(si.outcome, "blocked");
	snprintf(expect, sizeof(expect), "Sign-in blocked: your account is at "
		 "high risk, and policy requires a password change, but your "
		 "account has no password to change. Contact your IT help "
		 "desk and quote reference %s.\n", si.ref);
	assert_string_equal(F.msgs, expect);
	assert_logged("user \"bob\" has no password to change.*riskctl "
		      "dismiss bob");
	/* the admin path lifts it: no loop */
	admin(RR_ADMIN_DISMISS, "bob");
	r = login_pw("rrpw", "bob", "10.1.2.3", true, true);
	assert_int_equal(r.auth, PAM_SUCCESS);
}

#define KEY_INFO "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILLPNYkdzT" \
		 "yOMGzQeQEuuYXsdcji8r01jiCWMtdv5Jr2"
#define KEY_FP "SHA256:YTfNOuKEnxhf3FI/iRQnLTtooIh18z/fyLhICodcLLc"

static void test_familiar_device(void **state)
{
	rr_store_signin si;
	pam_result r;

	(void)state;
	F.auth_info = KEY_INFO "\nkeyboard-interactive";
	/* learning: two successful sign-ins with the key */
	assert_int_equal(login_pw("rrpw", "carol", "10.1.2.3", true,
				  false).auth, PAM_SUCCESS);
	assert_string_equal(last_signin("carol").device, KEY_FP);
	assert_int_equal(login_pw("rrpw", "carol", "10.1.2.3", true,
				  false).auth, PAM_SUCCESS);
	/* a new network with the familiar key: not unfamiliar */
	r = login_pw("rrpw", "carol", "192.0.2.99", true, false);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_string_equal(F.msgs, "");
	si = last_signin("carol");
	assert_string_equal(si.detections, "");
	assert_string_equal(si.device, KEY_FP);
	/* ... without it: unfamiliarFeatures */
	F.auth_info = NULL;
	login_pw("rrpw", "carol", "203.0.113.77", true, false);
	si = last_signin("carol");
	assert_string_equal(si.detections, "unfamiliarFeatures:medium");
	assert_string_equal(si.device, "");
}

/* sshd exposes a public-key-only login's key at session open, not at
 * account: the session part gives the sign-in account recorded its
 * device, and the key becomes familiar. */
static void test_key_only_device_at_session(void **state)
{
	rr_store_signin si;
	pam_result r;
	rr_store *s;
	bool seen = false;

	(void)state;
	F.session_auth_info = KEY_INFO;
	assert_int_equal(pam_run("rrpw-key", "carol", "10.1.2.3",
				 RUN_ACCOUNT | RUN_SESSION, &r),
			 PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_int_equal(r.session, PAM_SUCCESS);
	assert_int_equal(count_signins("carol"), 1);
	si = last_signin("carol");
	assert_string_equal(si.outcome, "success");
	assert_string_equal(si.device, KEY_FP);
	assert_logged("device=SHA256:[A-Za-z0-9+/]{43} user=\"carol\" "
		      "ref=[0-9A-F]{4}-[0-9A-F]{4} recorded at session open");
	s = open_store();
	assert_int_equal(rr_store_device_seen(s, "carol", KEY_FP, &seen), 0);
	assert_true(seen);
	rr_store_close(s);

	/* a session without a key (a password login): nothing recorded */
	log_reset();
	F.session_auth_info = "keyboard-interactive";
	assert_int_equal(pam_run("rrpw-key", "carol", "10.1.2.3",
				 RUN_ACCOUNT | RUN_SESSION, &r),
			 PAM_SUCCESS);
	assert_int_equal(r.session, PAM_SUCCESS);
	assert_int_equal(count_signins("carol"), 2);
	assert_string_equal(last_signin("carol").device, "");
	assert_null(strstr(g_log, "recorded at session open"));

	/* the key known at account already: recorded there, the session
	 * changes nothing */
	log_reset();
	F.auth_info = KEY_INFO;
	F.session_auth_info = NULL;
	assert_int_equal(pam_run("rrpw-key", "carol", "10.1.2.3",
				 RUN_ACCOUNT | RUN_SESSION, &r),
			 PAM_SUCCESS);
	assert_int_equal(r.session, PAM_SUCCESS);
	assert_string_equal(last_signin("carol").device, KEY_FP);
	assert_null(strstr(g_log, "recorded at session open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fixture_teardown)
		T(test_secure_password_change_remediates),
		T(test_abandoned_change_keeps_risk),
		T(test_failed_change_records_nothing),
		T(test_plain_passwd_by_user_does_not_remediate),
		T(test_root_reset_forces_change),
		T(test_account_only_cannot_change_password),
		T(test_passwordless_user_blocked),
		T(test_familiar_device),
		T(test_key_only_device_at_session),
#undef T
	};

	return cmocka_run_group_tests(tests, nss_setup, nss_teardown);
}
