/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * leakedCredentials through the real libpam: a password module stand-in
 * (pam_test_authtok.so, which sets PAM_AUTHTOK like pam_unix) above the
 * built pam_riskremediate.so, a local hash file or an unreachable range
 * API, users from nss_wrapper, syslog captured by interposing
 * __syslog_chk.  Asserts the stored user risk, the log lines, and that
 * neither the password nor its hash appears in any log or message.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <security/pam_appl.h>
#include <time.h>

#include "rr_leak.h"
#include "rr_store.h"

#ifndef RR_MODULE_PATH
#error "RR_MODULE_PATH must be defined"
#endif
#ifndef RR_AUTHTOK_MODULE_PATH
#error "RR_AUTHTOK_MODULE_PATH must be defined"
#endif

#define LEAKED_PW "Winter2024!leak"
#define CLEAN_PW "clean-and-unique-7"

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
	char hashes[96];
	char msgs[8192];
	const char *answer; /* the password typed */
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

/* `detection` is the leakedCredentials mapping, NULL for none. */
static void write_policy(const char *detection)
{
	char text[4096], det[1024] = "";

	if (detection)
		snprintf(det, sizeof(det), "detections:\n"
			 "  leakedCredentials: %s\n", detection);
	snprintf(text, sizeof(text),
		 "version: 1\n"
		 "issuer: Test Corp\n"
		 "store: { backend: sqlite, path: %s }\n"
		 "mfa: { key_file: %s/mfa.key }\n"
		 "%s"
		 "policies:\n"
		 "  - name: High user risk is blocked\n"
		 "    conditions: { user_risk: [high] }\n"
		 "    grant: { block: true }\n",
		 F.store, F.dir, det);
	write_file(F.policy, text, 0600);
}

static void policy_hash_file(void)
{
	char det[256];

	snprintf(det, sizeof(det), "{ hash_file: %s }", F.hashes);
	write_policy(det);
}

/* Sorted: two neighbours around the leaked password's SHA-1. */
static void write_hashes(mode_t mode)
{
	char hash[RR_LEAK_HASH_LEN + 1], text[512];

	assert_int_equal(rr_leak_sha1_hex(LEAKED_PW, strlen(LEAKED_PW), hash),
			 0);
	snprintf(text, sizeof(text),
		 "0000000000000000000000000000000000000001:12\n"
		 "%s:4711\n"
		 "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:3\n", hash);
	write_file(F.hashes, text, mode);
}

static int setup(void **state)
{
	char path[160], text[512];

	(void)state;
	memset(&F, 0, sizeof(F));
	snprintf(F.dir, sizeof(F.dir), "/tmp/rr-leakpam-XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.confdir, sizeof(F.confdir), "%s/pam.d", F.dir);
	assert_int_equal(mkdir(F.confdir, 0755), 0);
	snprintf(F.policy, sizeof(F.policy), "%s/policy.yaml", F.dir);
	snprintf(F.store, sizeof(F.store), "%s/store/risk.db", F.dir);
	snprintf(F.hashes, sizeof(F.hashes), "%s/pwned.txt", F.dir);
	snprintf(path, sizeof(path), "%s/rrleak", F.confdir);
	snprintf(text, sizeof(text),
		 "auth requisite %s\n"
		 "auth required %s policy=%s\n"
		 "account required %s policy=%s\n",
		 RR_AUTHTOK_MODULE_PATH, RR_MODULE_PATH, F.policy,
		 RR_MODULE_PATH, F.policy);
	write_file(path, text, 0644);
	snprintf(path, sizeof(path), "%s/other", F.confdir);
	write_file(path, "auth required pam_deny.so\n"
			 "account required pam_deny.so\n", 0644);
	write_hashes(0644);
	policy_hash_file();
	g_log_len = 0;
	g_log[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	static const char *names[] = {
		"pam.d/rrleak", "pam.d/other", "pam.d",
		"store/risk.db-wal", "store/risk.db-shm", "store/risk.db",
		"store/leak-cache", "store", "policy.yaml", "pwned.txt",
	};
	char path[192];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", F.dir, names[i]);
		if (unlink(path) < 0)
			rmdir(path);
	}
	rmdir(F.dir);
	return 0;
}

/* ---- driving libpam ---------------------------------------------------- */

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

		snprintf(F.msgs + used, sizeof(F.msgs) - used, "%s%s\n",
			 style == PAM_PROMPT_ECHO_OFF ? "[secret] " : "",
			 msg[i]->msg);
		if (style == PAM_PROMPT_ECHO_OFF && F.answer) {
			r[i].resp = strdup(F.answer);
		} else if (style == PAM_PROMPT_ECHO_OFF ||
			   style == PAM_PROMPT_ECHO_ON) {
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

typedef struct {
	int auth;
	int account;
} pam_result;

static pam_result login(const char *user, const char *password)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *pamh = NULL;
	pam_result res = { -1, -1 };

	F.msgs[0] = '\0';
	F.answer = password;
	assert_int_equal(pam_start_confdir("rrleak", user, &c, F.confdir,
					   &pamh), PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_RHOST, "192.0.2.10"),
			 PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_TTY, "ssh"), PAM_SUCCESS);
	res.auth = pam_authenticate(pamh, 0);
	if (res.auth == PAM_SUCCESS)
		res.account = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, PAM_SUCCESS);
	return res;
}

static rr_store_user user_risk(const char *user)
{
	rr_store *s = NULL;
	rr_store_user u;

	assert_int_equal(rr_store_open(F.store, &s), 0);
	assert_int_equal(rr_store_user_get(s, user, &u), 0);
	rr_store_close(s);
	return u;
}

/* Active leakedCredentials detections of `user`; the first into *out. */
static size_t leaked_detections(const char *user, rr_store_detection *out)
{
	rr_store_detection_filter f = {
		.user = user, .active_only = true, .by_type = true,
		.type = RR_EVENT_LEAKED_CREDENTIALS,
	};
	rr_store_detection *rows = NULL;
	rr_store *s = NULL;
	size_t n = 0;

	assert_int_equal(rr_store_open(F.store, &s), 0);
	assert_int_equal(rr_store_detections_list(s, &f, &rows, &n), 0);
	if (n && out)
		*out = rows[0];
	free(rows);
	rr_store_close(s);
	return n;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;
	int r;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB |
				 REG_NEWLINE), 0);
	r = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	if (r != 0)
		fail_msg("\"%s\" not found in:\n%s", pattern, text);
}

/* Neither the password, its hash nor the hash's tail anywhere. */
static void assert_secret_absent(const char *pw)
{
	char hash[RR_LEAK_HASH_LEN + 1];

	assert_int_equal(rr_leak_sha1_hex(pw, strlen(pw), hash), 0);
	assert_null(strstr(g_log, pw));
	assert_null(strstr(F.msgs, pw));
	assert_null(strstr(g_log, hash + RR_LEAK_PREFIX_LEN));
	assert_null(strstr(F.msgs, hash + RR_LEAK_PREFIX_LEN));
}

#define LOG_WARNING_LINE(text) "^<(4|84)>.*" text

/* ---- tests ------------------------------------------------------------- */

/* The sign-in that used the leaked password goes through; the user's
 * stored risk becomes high, so the NEXT sign-in meets the policy. */
static void test_leaked_password_raises_user_risk(void **state)
{
	rr_store_detection d;
	rr_store_user u;
	pam_result r;

	(void)state;
	r = login("alice", LEAKED_PW);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_string_equal(F.msgs, "[secret] Password: \n");
	assert_matches(g_log, LOG_WARNING_LINE(
		"user \"alice\": password found in a breach corpus "
		"\\(leakedCredentials\\); source: hash file; user risk high"));
	u = user_risk("alice");
	assert_int_equal(u.level, RR_LEVEL_HIGH);
	assert_int_equal(u.state, RR_STATE_AT_RISK);
	assert_int_equal(leaked_detections("alice", &d), 1);
	assert_int_equal(d.level, RR_LEVEL_HIGH);
	assert_true(d.user_scope);
	assert_string_equal(d.source, "192.0.2.10");
	assert_secret_absent(LEAKED_PW);
	/* the next sign-in is blocked by the high user risk */
	r = login("alice", LEAKED_PW);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_matches(F.msgs, "^Sign-in blocked: your account is at high "
			       "risk");
	assert_int_equal(leaked_detections("alice", NULL), 1);
	assert_secret_absent(LEAKED_PW);
}

static void test_level_from_policy(void **state)
{
	char det[256];

	(void)state;
	snprintf(det, sizeof(det), "{ level: medium, hash_file: %s }",
		 F.hashes);
	write_policy(det);
	assert_int_equal(login("alice", LEAKED_PW).auth, PAM_SUCCESS);
	assert_int_equal(user_risk("alice").level, RR_LEVEL_MEDIUM);
}

static void test_clean_password_no_detection(void **state)
{
	pam_result r;

	(void)state;
	r = login("bob", CLEAN_PW);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_int_equal(user_risk("bob").level, RR_LEVEL_NONE);
	assert_int_equal(leaked_detections("bob", NULL), 0);
	assert_null(strstr(g_log, "breach corpus"));
	assert_null(strstr(g_log, "leaked-password check failed"));
	assert_secret_absent(CLEAN_PW);
}

/* Off (no mapping, or enabled: false): the password is never checked. */
static void test_disabled_not_checked(void **state)
{
	char det[256];

	(void)state;
	write_policy(NULL);
	assert_int_equal(login("alice", LEAKED_PW).auth, PAM_SUCCESS);
	snprintf(det, sizeof(det), "{ enabled: false, hash_file: %s }",
		 F.hashes);
	write_policy(det);
	assert_int_equal(login("alice", LEAKED_PW).auth, PAM_SUCCESS);
	assert_int_equal(user_risk("alice").level, RR_LEVEL_NONE);
	assert_null(strstr(g_log, "breach corpus"));
}

/* A sign-in the decision denies is not checked (nor recorded as leaked). */
static void test_denied_signin_not_checked(void **state)
{
	rr_store *s = NULL;

	(void)state;
	assert_int_equal(rr_store_open(F.store, &s), 0);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED,
					"alice", "tester", time(NULL), NULL),
			 0);
	rr_store_close(s);
	assert_int_equal(login("alice", LEAKED_PW).auth, PAM_AUTH_ERR);
	assert_int_equal(leaked_detections("alice", NULL), 0);
	assert_null(strstr(g_log, "breach corpus"));
}

/* The range API cannot be reached: the sign-in succeeds, a warning is
 * logged, no risk is raised. */
static void test_network_failure_does_not_block(void **state)
{
	pam_result r;

	(void)state;
	write_policy("{ range_url: \"https://127.0.0.1:1/range/\", "
		     "timeout: 1s }");
	r = login("alice", LEAKED_PW);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_matches(g_log, LOG_WARNING_LINE(
		"user \"alice\": leaked-password check failed: connection "
		"refused; sign-in goes on without it \\(leakedCredentials\\)"));
	assert_int_equal(user_risk("alice").level, RR_LEVEL_NONE);
	assert_secret_absent(LEAKED_PW);
}

/* A hash file that is not trusted (group-writable) is not used: warning,
 * the sign-in goes on. */
static void test_untrusted_hash_file(void **state)
{
	(void)state;
	write_hashes(0664);
	assert_int_equal(login("alice", LEAKED_PW).auth, PAM_SUCCESS);
	assert_matches(g_log, LOG_WARNING_LINE(
		"user \"alice\": leaked-password check failed: the hash file "
		"is a symlink, not owned by root or group/other-writable"));
	assert_int_equal(user_risk("alice").level, RR_LEVEL_NONE);
	assert_secret_absent(LEAKED_PW);
}

/* Users and groups come from nss_wrapper (LD_PRELOAD set by meson). */
static void setup_nss(const char *dir)
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
	      "bob:x:1002:1002:Bob:/home/bob:/bin/sh\n", f);
	fclose(f);
	f = fopen(group, "we");
	if (!f)
		abort();
	fputs("root:x:0:\nalice:x:1001:\nbob:x:1002:\n", f);
	fclose(f);
	setenv("NSS_WRAPPER_PASSWD", passwd, 1);
	setenv("NSS_WRAPPER_GROUP", group, 1);
}

int main(void)
{
	char nssdir[] = "/tmp/rr-leaknss-XXXXXX";
	char path[160];
	int rc;
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_leaked_password_raises_user_risk),
		T(test_level_from_policy),
		T(test_clean_password_no_detection),
		T(test_disabled_not_checked),
		T(test_denied_signin_not_checked),
		T(test_network_failure_does_not_block),
		T(test_untrusted_hash_file),
#undef T
	};

	if (!mkdtemp(nssdir))
		return 1;
	setup_nss(nssdir);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(path, sizeof(path), "%s/passwd", nssdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/group", nssdir);
	unlink(path);
	rmdir(nssdir);
	return rc;
}
