/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * leakedCredentials through the real libpam: a password module stand-in
 * (pam_test_authtok.so, which sets PAM_AUTHTOK like pam_unix) above the
 * built pam_riskremediate.so, a local hash file or an unreachable range
 * API (the harness of harness.h: users from nss_wrapper, syslog captured
 * by interposing __syslog_chk).  Asserts the stored user risk, the log
 * lines, and that neither the password nor its hash appears in any log or
 * message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rr_leak.h"

#ifndef RR_AUTHTOK_MODULE_PATH
#error "RR_AUTHTOK_MODULE_PATH must be defined"
#endif

#define LEAKED_PW "Winter2024!leak"
#define CLEAN_PW "clean-and-unique-7"

/* ---- fixture ----------------------------------------------------------- */

static char hashes[96]; /* the local hash file */

/* `detection` is the leakedCredentials mapping, NULL for none. */
static void write_policy(const char *detection)
{
	char det[1024] = "";

	if (detection)
		snprintf(det, sizeof(det), "detections:\n"
			 "  leakedCredentials: %s\n", detection);
	write_fixture_policy(
		"%s"
		"policies:\n"
		"  - name: High user risk is blocked\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { block: true }\n",
		det);
}

static void policy_hash_file(void)
{
	char det[256];

	snprintf(det, sizeof(det), "{ hash_file: %s }", hashes);
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
	write_file(hashes, text, mode);
}

static int setup(void **state)
{
	char text[512];

	(void)state;
	fixture_setup("rr-leakpam");
	snprintf(hashes, sizeof(hashes), "%s/pwned.txt", F.dir);
	snprintf(text, sizeof(text),
		 "auth requisite %s\n"
		 "auth required %s policy=%s\n"
		 "account required %s policy=%s\n",
		 RR_AUTHTOK_MODULE_PATH, module_spec(), F.policy,
		 module_spec(), F.policy);
	write_raw_service("rrleak", text);
	write_hashes(0644);
	policy_hash_file();
	return 0;
}

/* ---- driving libpam ---------------------------------------------------- */

/* Auth then (if auth passed) account of the rrleak stack from 192.0.2.10,
 * typing `password` at the password module's prompt. */
static pam_result signin(const char *user, const char *password)
{
	answers(0, 1, password);
	return login("rrleak", user, "192.0.2.10", true);
}

/* Active leakedCredentials detections of `user`; the first into *out. */
static size_t leaked_detections(const char *user, rr_store_detection *out)
{
	rr_store_detection_filter f = {
		.user = user, .active_only = true, .by_type = true,
		.type = RR_EVENT_LEAKED_CREDENTIALS,
	};
	rr_store_detection *rows = NULL;
	rr_store *s = open_store();
	size_t n = 0;

	assert_int_equal(rr_store_detections_list(s, &f, &rows, &n), 0);
	if (n && out)
		*out = rows[0];
	free(rows);
	rr_store_close(s);
	return n;
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
#define LOG_NOTICE_LINE(text) "^<(5|85)>.*" text

/* Suite pam-riskd: every call served by riskd (harness.h, module_spec). */
static bool through_riskd(void)
{
	const char *riskd = getenv("RR_TEST_RISKD");

	return riskd && *riskd;
}

/* ---- tests ------------------------------------------------------------- */

/* The sign-in that used the leaked password goes through; the user's
 * stored risk becomes high, so the NEXT sign-in meets the policy. */
static void test_leaked_password_raises_user_risk(void **state)
{
	rr_store_detection d;
	rr_store_user u;
	pam_result r;

	(void)state;
	r = signin("alice", LEAKED_PW);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_string_equal(F.msgs, "[secret] Password: \n");
	assert_matches_line(g_log, LOG_WARNING_LINE(
		"user \"alice\": password found in a breach corpus "
		"\\(leakedCredentials\\); source: hash file; user risk high"));
	u = user_of("alice");
	assert_int_equal(u.level, RR_LEVEL_HIGH);
	assert_int_equal(u.state, RR_STATE_AT_RISK);
	assert_int_equal(leaked_detections("alice", &d), 1);
	assert_int_equal(d.level, RR_LEVEL_HIGH);
	assert_true(d.user_scope);
	assert_string_equal(d.source, "192.0.2.10");
	assert_secret_absent(LEAKED_PW);
	/* the next sign-in is blocked by the high user risk */
	r = signin("alice", LEAKED_PW);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_matches_line(F.msgs, "^Sign-in blocked: your account is at high "
			       "risk");
	assert_int_equal(leaked_detections("alice", NULL), 1);
	assert_secret_absent(LEAKED_PW);
}

static void test_level_from_policy(void **state)
{
	char det[256];

	(void)state;
	snprintf(det, sizeof(det), "{ level: medium, hash_file: %s }",
		 hashes);
	write_policy(det);
	assert_int_equal(signin("alice", LEAKED_PW).auth, PAM_SUCCESS);
	assert_int_equal(user_of("alice").level, RR_LEVEL_MEDIUM);
}

static void test_clean_password_no_detection(void **state)
{
	pam_result r;

	(void)state;
	r = signin("bob", CLEAN_PW);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_int_equal(user_of("bob").level, RR_LEVEL_NONE);
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
	assert_int_equal(signin("alice", LEAKED_PW).auth, PAM_SUCCESS);
	snprintf(det, sizeof(det), "{ enabled: false, hash_file: %s }",
		 hashes);
	write_policy(det);
	assert_int_equal(signin("alice", LEAKED_PW).auth, PAM_SUCCESS);
	assert_int_equal(user_of("alice").level, RR_LEVEL_NONE);
	assert_null(strstr(g_log, "breach corpus"));
}

/* A sign-in the decision denies is not checked (nor recorded as leaked). */
static void test_denied_signin_not_checked(void **state)
{
	(void)state;
	admin(RR_ADMIN_CONFIRM_COMPROMISED, "alice");
	assert_int_equal(signin("alice", LEAKED_PW).auth, PAM_AUTH_ERR);
	assert_int_equal(leaked_detections("alice", NULL), 0);
	assert_null(strstr(g_log, "breach corpus"));
}

/* The range API cannot be reached (riskd): the sign-in succeeds, a
 * warning is logged, no risk is raised.  In the application's process
 * the range API is not asked at all: a notice says so. */
static void test_network_failure_does_not_block(void **state)
{
	pam_result r;

	(void)state;
	write_policy("{ range_url: \"https://127.0.0.1:1/range/\", "
		     "timeout: 1s }");
	r = signin("alice", LEAKED_PW);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	if (through_riskd()) {
		assert_matches_line(g_log, LOG_WARNING_LINE(
			"user \"alice\": leaked-password check failed: "
			"connection refused; sign-in goes on without it "
			"\\(leakedCredentials\\)"));
	} else {
		assert_matches_line(g_log, LOG_NOTICE_LINE(
			"user \"alice\": leaked-password range API check "
			"skipped: it runs only in riskd, and this call runs "
			"in the application's process "
			"\\(leakedCredentials\\)$"));
		assert_null(strstr(g_log, "leaked-password check failed"));
	}
	assert_int_equal(user_of("alice").level, RR_LEVEL_NONE);
	assert_secret_absent(LEAKED_PW);
}

/* A hash file that is not trusted (group-writable) is not used: warning,
 * the sign-in goes on. */
static void test_untrusted_hash_file(void **state)
{
	(void)state;
	write_hashes(0664);
	assert_int_equal(signin("alice", LEAKED_PW).auth, PAM_SUCCESS);
	assert_matches_line(g_log, LOG_WARNING_LINE(
		"user \"alice\": leaked-password check failed: hash file "
		"/tmp/[^ ]+/pwned\\.txt is not owned by root or is "
		"group/other-writable \\(refused\\); sign-in goes on "
		"without it \\(leakedCredentials\\)"));
	assert_int_equal(user_of("alice").level, RR_LEVEL_NONE);
	assert_secret_absent(LEAKED_PW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fixture_teardown)
		T(test_leaked_password_raises_user_risk),
		T(test_level_from_policy),
		T(test_clean_password_no_detection),
		T(test_disabled_not_checked),
		T(test_denied_signin_not_checked),
		T(test_network_failure_does_not_block),
		T(test_untrusted_hash_file),
#undef T
	};

	return cmocka_run_group_tests(tests, nss_setup, nss_teardown);
}
