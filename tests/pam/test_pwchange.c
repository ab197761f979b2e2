/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The secure password change, root's password reset, passwordless users
 * and SSH key devices: the built pam_riskremediate.so through the real
 * libpam (harness copied from test_module.c; pam_permit.so stands in for
 * the password module), users from nss_wrapper, shadow entries from a
 * getspnam_r defined here (the executable's definition wins over libc's),
 * syslog lines captured by interposing __syslog_chk.
 *
 * Originally: the built pam_riskremediate.so through the real libpam
 * (pam_start_confdir with a private service directory), users from
 * nss_wrapper, syslog lines captured by interposing __syslog_chk.
 * Asserts return codes, the exact messages the user sees, stored rows and
 * the structured log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <shadow.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <security/pam_appl.h>

#include "rr_mfa.h"
#include "rr_store.h"

#include <liboath/oath.h>

#ifndef RR_MODULE_PATH
#error "RR_MODULE_PATH must be defined"
#endif

/* ---- syslog capture ---------------------------------------------------- */

static char g_log[65536];
static size_t g_log_len;

static void capture(int pri, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = snprintf(g_log + g_log_len, sizeof(g_log) - g_log_len, "<%d>%s\n",
		     pri, line);
	if (n > 0 && (size_t)n < sizeof(g_log) - g_log_len)
		g_log_len += (size_t)n;
}

/* libpam calls the fortified variant; the executable's definition wins. */
void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	capture(pri, fmt, ap);
	va_end(ap);
}

/* ---- fixture ----------------------------------------------------------- */

typedef struct {
	char dir[64];
	char confdir[96];
	char policy[96];
	char store[96];
	char lists[96];
	char msgs[32768];
} fixture;

static fixture F;

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A service file: each line is "TYPE CONTROL MODULE [ARGS] policy=P". */
static void write_service(const char *name, const char *const *lines,
			  size_t n)
{
	char path[160], text[2048] = "";
	size_t i, used;

	snprintf(path, sizeof(path), "%s/%s", F.confdir, name);
	for (i = 0; i < n; i++) {
		used = strlen(text);
		snprintf(text + used, sizeof(text) - used, "%s %s %s policy=%s\n",
			 lines[2 * i], RR_MODULE_PATH, lines[2 * i + 1],
			 F.policy);
	}
	write_file(path, text, 0644);
}

#define SERVICE(name, ...)                                                   \
	do {                                                                 \
		static const char *const l_[] = { __VA_ARGS__ };             \
		write_service(name, l_, sizeof(l_) / sizeof(l_[0]) / 2);     \
	} while (0)

#define REG_ENABLED                                                          \
	"mfa_registration:\n"                                                \
	"  state: enabled\n"                                                 \
	"  grace_days: 14\n"                                                 \
	"  users: { include: [alice] }\n"

static void write_policy(void)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "version: 1\n"
		 "issuer: Test Corp\n"
		 "store: { backend: sqlite, path: %s }\n"
		 "mfa: { key_file: %s/mfa.key }\n"
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
		 "    grant: { require: [mfa] }\n",
		 F.store, F.dir);
	write_file(F.policy, text, 0600);
}

/* A raw service file (other modules than ours on some lines). */
static void write_raw_service(const char *name, const char *text)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", F.confdir, name);
	write_file(path, text, 0644);
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
		 RR_MODULE_PATH, F.policy, RR_MODULE_PATH, F.policy, pwmod,
		 RR_MODULE_PATH, F.policy);
	write_raw_service(name, text);
}

static int setup(void **state)
{
	char path[160];

	(void)state;
	memset(&F, 0, sizeof(F));
	snprintf(F.dir, sizeof(F.dir), "/tmp/rr-pw-XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.confdir, sizeof(F.confdir), "%s/pam.d", F.dir);
	assert_int_equal(mkdir(F.confdir, 0755), 0);
	snprintf(F.policy, sizeof(F.policy), "%s/policy.yaml", F.dir);
	snprintf(F.store, sizeof(F.store), "%s/store/risk.db", F.dir);
	snprintf(path, sizeof(path), "%s/other", F.confdir);
	write_file(path, "auth required pam_deny.so\n"
			 "account required pam_deny.so\n"
			 "password required pam_deny.so\n", 0644);
	write_pw_service("rrpw", "pam_permit.so");
	write_pw_service("rrpw-deny", "pam_deny.so");
	SERVICE("rrpw-account", "account required", "");
	write_policy();
	g_log_len = 0;
	g_log[0] = '\0';
	return 0;
}

static int remove_tree(const char *dir)
{
	static const char *names[] = {
		"pam.d/rrpw", "pam.d/rrpw-deny", "pam.d/rrpw-account",
		"pam.d/other",
		"pam.d",
		"store/risk.db-wal", "store/risk.db-shm", "store/risk.db",
		"store", "policy.yaml", "anon.list", "bad.list", "passwd",
		"mfa.key",
		"group",
	};
	char path[192];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) < 0)
			rmdir(path);
	}
	return rmdir(dir);
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(F.dir);
	return 0;
}

/* ---- driving libpam ---------------------------------------------------- */

/* Scripted answers.  "@code" is the TOTP code for now (step offset
 * F.code_offset) of the secret the module showed in its otpauth:// URI,
 * or, when none was shown in this conversation, of the secret in the
 * store (unsealed with the key file): codes are computed at test time. */
static const char *F_answers[8];
static size_t F_n_answers, F_next_answer;
static int F_code_offset;
static char F_last_code[16];

static void answers(int offset, size_t n, ...)
{
	va_list ap;
	size_t i;

	va_start(ap, n);
	for (i = 0; i < n && i < 8; i++)
		F_answers[i] = va_arg(ap, const char *);
	va_end(ap);
	F_n_answers = i;
	F_next_answer = 0;
	F_code_offset = offset;
}

static char *code_now(void);

static char *answer_for(const char *prompt)
{
	const char *a;

	(void)prompt;
	if (F_next_answer >= F_n_answers)
		return NULL;
	a = F_answers[F_next_answer++];
	if (!strcmp(a, "@code"))
		return code_now();
	if (!strcmp(a, "@same"))
		return strdup(F_last_code);
	return strdup(a);
}

static int conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	(void)data;
	if (!r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		size_t used = strlen(F.msgs);
		int style = msg[i]->msg_style;

		if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
			snprintf(F.msgs + used, sizeof(F.msgs) - used,
				 "[%s] %s\n", style == PAM_PROMPT_ECHO_ON ?
				 "ask" : "secret", msg[i]->msg);
			r[i].resp = answer_for(msg[i]->msg);
			if (!r[i].resp) {
				free(r);
				return PAM_CONV_ERR;
			}
			continue;
		}
		snprintf(F.msgs + used, sizeof(F.msgs) - used, "%s\n",
			 msg[i]->msg);
	}
	*resp = r;
	return PAM_SUCCESS;
}

typedef struct {
	int auth;
	int account;
	int chauthtok;
} pam_result;

static const char *F_auth_info; /* SSH_AUTH_INFO_0 for the next login */

/* Auth (unless !with_auth), then account if auth passed, then chauthtok
 * when `change` and account asked for a new password. */
static pam_result login_pw(const char *service, const char *user,
			   const char *rhost, bool with_auth, bool change)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *pamh = NULL;
	pam_result res = { -1, -1, -1 };
	char env[512];

	F.msgs[0] = '\0';
	assert_int_equal(pam_start_confdir(service, user, &c, F.confdir,
					   &pamh), PAM_SUCCESS);
	if (rhost)
		assert_int_equal(pam_set_item(pamh, PAM_RHOST, rhost),
				 PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_TTY, "ssh"), PAM_SUCCESS);
	if (F_auth_info) {
		snprintf(env, sizeof(env), "SSH_AUTH_INFO_0=%s", F_auth_info);
		assert_int_equal(pam_putenv(pamh, env), PAM_SUCCESS);
	}
	if (with_auth)
		res.auth = pam_authenticate(pamh, 0);
	if (!with_auth || res.auth == PAM_SUCCESS)
		res.account = pam_acct_mgmt(pamh, 0);
	if (change && res.account == PAM_NEW_AUTHTOK_REQD)
		res.chauthtok = pam_chauthtok(pamh, PAM_CHANGE_EXPIRED_AUTHTOK);
	pam_end(pamh, PAM_SUCCESS);
	return res;
}

/* pam_chauthtok alone, as `passwd USER` runs it. */
static int passwd_only(const char *service, const char *user)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *pamh = NULL;
	int r;

	F.msgs[0] = '\0';
	assert_int_equal(pam_start_confdir(service, user, &c, F.confdir,
					   &pamh), PAM_SUCCESS);
	r = pam_chauthtok(pamh, 0);
	pam_end(pamh, r);
	return r;
}

static rr_store *open_store(void)
{
	rr_store *s = NULL;

	assert_int_equal(rr_store_open(F.store, &s), 0);
	return s;
}

/* The secret in the last otpauth:// URI the module showed, if any. */
static bool secret_from_uri(uint8_t *secret, size_t *len)
{
	const char *uri = NULL, *p = F.msgs, *sec;
	char b32[128];
	char *raw = NULL;
	size_t n, rawlen = 0;

	while ((p = strstr(p, "otpauth://totp/")) != NULL)
		uri = p++;
	if (!uri || !(sec = strstr(uri, "secret=")))
		return false;
	sec += 7;
	n = strcspn(sec, "&\n");
	assert_true(n < sizeof(b32));
	memcpy(b32, sec, n);
	b32[n] = '\0';
	assert_int_equal(oath_base32_decode(b32, n, &raw, &rawlen), OATH_OK);
	assert_true(rawlen <= RR_TOTP_SECRET_MAX);
	memcpy(secret, raw, rawlen);
	*len = rawlen;
	free(raw);
	return true;
}

static void secret_from_store(const char *user, uint8_t *secret, size_t *len,
			      rr_totp_params *t)
{
	uint8_t key[RR_MFA_KEY_LEN];
	char path[160];
	rr_store_mfa m;
	rr_store *s = open_store();

	assert_int_equal(rr_store_mfa_get(s, user, time(NULL), 900, &m), 0);
	rr_store_close(s);
	assert_true(m.registered);
	snprintf(path, sizeof(path), "%s/mfa.key", F.dir);
	assert_int_equal(rr_mfa_key_load(path, false, key), 0);
	assert_int_equal(rr_mfa_unseal(key, user, m.sealed, m.sealed_len,
				       secret, RR_TOTP_SECRET_MAX, len), 0);
	t->alg = (rr_totp_alg)m.alg;
	t->digits = m.digits;
	t->period = m.period;
}

static const char *F_user = "alice";

static char *code_now(void)
{
	uint8_t secret[RR_TOTP_SECRET_MAX];
	char code[RR_TOTP_CODE_MAX + 1];
	rr_totp_params t;
	size_t len = 0;

	rr_totp_params_default(&t);
	if (!secret_from_uri(secret, &len))
		secret_from_store(F_user, secret, &len, &t);
	assert_int_equal(rr_totp_code(secret, len, &t,
				      time(NULL) / t.period + F_code_offset,
				      code), 0);
	snprintf(F_last_code, sizeof(F_last_code), "%s", code);
	return strdup(code);
}

static void admin(rr_admin_action a, const char *user)
{
	rr_store *s = open_store();

	assert_int_equal(rr_store_admin(s, a, user, "tester", time(NULL),
					NULL), 0);
	rr_store_close(s);
}

/* The newest sign-in of `user`. */
static rr_store_signin last_signin(const char *user)
{
	rr_store_signin_filter f = { .user = user, .limit = 1 };
	rr_store_signin *rows = NULL, out;
	rr_store *s = open_store();
	size_t n = 0;

	assert_int_equal(rr_store_signins_list(s, &f, &rows, &n), 0);
	assert_int_equal(n, 1);
	out = rows[0];
	free(rows);
	rr_store_close(s);
	return out;
}

static size_t count_signins(const char *user)
{
	rr_store_signin_filter f = { .user = user };
	rr_store_signin *rows = NULL;
	rr_store *s = open_store();
	size_t n = 0;

	assert_int_equal(rr_store_signins_list(s, &f, &rows, &n), 0);
	free(rows);
	rr_store_close(s);
	return n;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;
	int r;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	r = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	if (r != 0) {
		/* the text can be long (QR codes): print it whole */
		fprintf(stderr, "text:\n%s\n", text);
		fail_msg("the text above does not match /%s/", pattern);
	}
}

static void assert_logged(const char *pattern)
{
	assert_matches(g_log, pattern);
}

/* ---- shadow ------------------------------------------------------------- */

/* bob has no password ("!"); nobody else has a shadow entry here (the
 * module then treats the password as present: unknown never blocks). */
int getspnam_r(const char *name, struct spwd *sp, char *buf, size_t len,
	       struct spwd **res);
int getspnam_r(const char *name, struct spwd *sp, char *buf, size_t len,
	       struct spwd **res)
{
	*res = NULL;
	if (strcmp(name, "bob"))
		return ENOENT;
	if (len < 8)
		return ERANGE;
	memset(sp, 0, sizeof(*sp));
	snprintf(buf, len, "bob");
	sp->sp_namp = buf;
	snprintf(buf + 4, len - 4, "!");
	sp->sp_pwdp = buf + 4;
	*res = sp;
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void set_grace_start(const char *user, int64_t start)
{
	rr_store *s = open_store();
	int64_t got = 0;

	assert_int_equal(rr_store_mfa_grace_reset(s, user, "tester",
						  time(NULL)), 0);
	assert_int_equal(rr_store_mfa_grace_begin(s, user, start, &got), 0);
	rr_store_close(s);
}

/* Register alice through the forced registration (grace over). */
static void register_alice(void)
{
	set_grace_start("alice", time(NULL) - 30 * 86400);
	answers(-1, 1, "@code");
	assert_int_equal(login_pw("rrpw", "alice", "10.1.2.3", true,
				  false).auth, PAM_SUCCESS);
}

static void leak(const char *user)
{
	rr_store *s = open_store();

	assert_int_equal(rr_store_user_detection_add(s, user,
			 RR_EVENT_LEAKED_CREDENTIALS, RR_LEVEL_HIGH, NULL,
			 time(NULL)), 0);
	rr_store_close(s);
}

static rr_store_user user_of(const char *user)
{
	rr_store_user u;
	rr_store *s = open_store();

	assert_int_equal(rr_store_user_get(s, user, &u), 0);
	rr_store_close(s);
	return u;
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
	register_alice();
	leak("alice");
	r = risky_login("rrpw", 0, true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_NEW_AUTHTOK_REQD);
	assert_int_equal(r.chauthtok, PAM_SUCCESS);
	assert_matches(F.msgs, "Enter the code from your authenticator app: "
		       "\nYour account is at high risk\\. You passed "
		       "multifactor authentication; now choose a new "
		       "password\\.\n$");
	si = last_signin("alice");
	assert_string_equal(si.outcome, "password_change_required");
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
	register_alice();
	leak("alice");
	r = risky_login("rrpw", 0, false); /* disconnects before chauthtok */
	assert_int_equal(r.account, PAM_NEW_AUTHTOK_REQD);
	assert_int_equal(user_of("alice").level, RR_LEVEL_HIGH);
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
	register_alice();
	leak("alice");
	r = risky_login("rrpw-deny", 0, true);
	assert_int_equal(r.account, PAM_NEW_AUTHTOK_REQD);
	assert_int_not_equal(r.chauthtok, PAM_SUCCESS);
	assert_int_equal(user_of("alice").level, RR_LEVEL_HIGH);
	assert_int_equal(user_of("alice").state, RR_STATE_AT_RISK);
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
		if (setresgid(1001, 1001, 1001) || setresuid(1001, 1001, 1001))
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
	F_auth_info = KEY_INFO "\nkeyboard-interactive";
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
	F_auth_info = NULL;
	login_pw("rrpw", "carol", "203.0.113.77", true, false);
	si = last_signin("carol");
	assert_string_equal(si.detections, "unfamiliarFeatures:medium");
	assert_string_equal(si.device, "");
}

/* Users and groups come from nss_wrapper (LD_PRELOAD set by meson). */
static void setup_nss(char *dir)
{
	char passwd[128], group[128];
	FILE *f;

	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(group, sizeof(group), "%s/group", dir);
	f = fopen(passwd, "we");
	if (!f)
		abort();
	fputs("root:x:0:0:root:/root:/bin/sh\n"
	      "alice:x:1001:1001:Alice:/home/alice:/bin/sh\n"
	      "bob:x:1002:1002:Bob:/home/bob:/bin/sh\n"
	      "carol:x:1003:1003:Carol:/home/carol:/bin/sh\n", f);
	fclose(f);
	f = fopen(group, "we");
	if (!f)
		abort();
	fputs("root:x:0:\nalice:x:1001:\nbob:x:1002:\ncarol:x:1003:\n"
	      "breakglass:x:2000:carol\n", f);
	fclose(f);
	setenv("NSS_WRAPPER_PASSWD", passwd, 1);
	setenv("NSS_WRAPPER_GROUP", group, 1);
}

int main(void)
{
	char nssdir[] = "/tmp/rr-nss-XXXXXX";
	int rc;
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_secure_password_change_remediates),
		T(test_abandoned_change_keeps_risk),
		T(test_failed_change_records_nothing),
		T(test_plain_passwd_by_user_does_not_remediate),
		T(test_root_reset_forces_change),
		T(test_account_only_cannot_change_password),
		T(test_passwordless_user_blocked),
		T(test_familiar_device),
#undef T
	};

	if (!mkdtemp(nssdir))
		return 1;
	setup_nss(nssdir);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	remove_tree(nssdir);
	return rc;
}
