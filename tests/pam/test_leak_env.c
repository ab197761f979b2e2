/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * leakedCredentials' range API and the application's environment, through
 * the real libpam.  Run by tests/unit/leak/range_server.py (a local HTTPS
 * range server with a test CA that logs every request, and a would-be
 * proxy that logs every connection; RR_LEAK_* variables).
 *
 * The application's environment is hostile, as a set-user-ID su's is its
 * caller's: SSLKEYLOGFILE, https_proxy, HTTPS_PROXY, ALL_PROXY are set in
 * this process (after the harness started riskd, whose environment is
 * systemd's clean one in real life).
 *
 * Suite pam (riskd=off, the logic in this process): the range server gets
 * no request, no key log file appears, the proxy gets no connection, and
 * a notice says the range API check was skipped; a hash file is still
 * checked.  Suite pam-riskd: riskd asks the range server (directly, no
 * proxy, no key log) and finds the leaked password.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "rr_leak.h"

#ifndef RR_AUTHTOK_MODULE_PATH
#error "RR_AUTHTOK_MODULE_PATH must be defined"
#endif

#define SKIPPED "leaked-password range API check skipped"

static const char *const hostile[] = {
	"https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "http_proxy",
};

static char keylog[128];

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		fail_msg("%s is not set: run this through range_server.py",
			 name);
	return v;
}

static bool through_riskd(void)
{
	const char *riskd = getenv("RR_TEST_RISKD");

	return riskd && *riskd;
}

/* The leakedCredentials mapping: the test server's range API, and
 * `hash_file` when not NULL. */
static void write_policy(const char *hash_file)
{
	char extra[256] = "";

	if (hash_file)
		snprintf(extra, sizeof(extra), ", hash_file: %s", hash_file);
	write_fixture_policy(
		"detections:\n"
		"  leakedCredentials: { range_url: \"%srange/\", ca_file: %s,"
		" timeout: 3s%s }\n"
		"policies:\n"
		"  - name: High user risk is blocked\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { block: true }\n",
		env("RR_LEAK_BASE"), env("RR_LEAK_CA"), extra);
}

static int setup(void **state)
{
	char text[1024];
	size_t i;

	(void)state;
	fixture_setup("rr-leakenv");
	/* module_spec() starts riskd (suite pam-riskd) before the
	 * environment turns hostile: riskd's is systemd's, not the caller's */
	snprintf(text, sizeof(text),
		 "auth requisite %s\n"
		 "auth required %s policy=%s\n"
		 "account required %s policy=%s\n",
		 RR_AUTHTOK_MODULE_PATH, module_spec(), F.policy,
		 module_spec(), F.policy);
	write_raw_service("rrleakenv", text);
	write_policy(NULL);
	snprintf(keylog, sizeof(keylog), "%s/keylog", F.dir);
	assert_int_equal(setenv("SSLKEYLOGFILE", keylog, 1), 0);
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		assert_int_equal(setenv(hostile[i], env("RR_LEAK_PROXY"), 1),
				 0);
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
	return 0;
}

static int teardown(void **state)
{
	size_t i;

	unsetenv("SSLKEYLOGFILE");
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		unsetenv(hostile[i]);
	return fixture_teardown(state);
}

static long file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_size;
}

/* What the range server logged from byte `from` on (malloc'd). */
static char *server_log_since(long from)
{
	FILE *f = fopen(env("RR_LEAK_LOG"), "re");
	long size = file_size(env("RR_LEAK_LOG"));
	char *buf;

	assert_non_null(f);
	assert_true(size >= from);
	buf = calloc(1, (size_t)(size - from) + 1);
	assert_non_null(buf);
	assert_int_equal(fseek(f, from, SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, (size_t)(size - from), f),
			 (size_t)(size - from));
	fclose(f);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

/* Auth then account of rrleakenv from 192.0.2.10 with `password`. */
static void signin_ok(const char *user, const char *password)
{
	pam_result r;

	answers(0, 1, password);
	r = login("rrleakenv", user, "192.0.2.10", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
}

/* Nothing the hostile environment asked for happened. */
static void assert_environment_ignored(void)
{
	assert_int_equal(access(keylog, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(file_size(env("RR_LEAK_PROXY_LOG")), 0);
}

/* The range API: asked by riskd only, never from this process. */
static void test_range_only_in_riskd(void **state)
{
	const char *pw = env("RR_LEAK_PW_LEAKED");
	long from = file_size(env("RR_LEAK_LOG"));
	char hash[RR_LEAK_HASH_LEN + 1], req[64];
	char *log;

	(void)state;
	signin_ok("alice", pw);
	log = server_log_since(from);
	assert_int_equal(rr_leak_sha1_hex(pw, strlen(pw), hash), 0);
	snprintf(req, sizeof(req), "REQ GET /range/%.5s ", hash);
	if (through_riskd()) {
		assert_int_equal(count(log, "REQ "), 1);
		assert_non_null(strstr(log, req));
		assert_matches_line(g_log, "^<(4|84)>.*user \"alice\": password "
				    "found in a breach corpus "
				    "\\(leakedCredentials\\); source: range "
				    "API; user risk high");
		assert_null(strstr(g_log, SKIPPED));
		assert_int_equal(user_of("alice").level, RR_LEVEL_HIGH);
	} else {
		assert_int_equal(count(log, "REQ "), 0);
		assert_int_equal(count(g_log, SKIPPED), 1);
		assert_matches_line(g_log, "^<(5|85)>.*user \"alice\": "
				    SKIPPED ": it runs only in riskd, and "
				    "this call runs in the application's "
				    "process \\(leakedCredentials\\)$");
		assert_null(strstr(g_log, "breach corpus"));
		assert_null(strstr(g_log, "check failed"));
		assert_int_equal(user_of("alice").level, RR_LEVEL_NONE);
	}
	assert_null(strstr(g_log, hash + RR_LEAK_PREFIX_LEN));
	assert_null(strstr(g_log, pw));
	assert_environment_ignored();
	free(log);
}

/* With a hash file as well: in this process the file is still checked
 * (and finds the password); the range API is not asked. */
static void test_hash_file_still_checked(void **state)
{
	const char *pw = env("RR_LEAK_PW_LEAKED");
	long from = file_size(env("RR_LEAK_LOG"));
	char hash[RR_LEAK_HASH_LEN + 1], text[256], path[128];
	char *log;

	(void)state;
	assert_int_equal(rr_leak_sha1_hex(pw, strlen(pw), hash), 0);
	snprintf(path, sizeof(path), "%s/pwned.txt", F.dir);
	snprintf(text, sizeof(text), "%s:3\n", hash);
	write_file(path, text, 0644);
	write_policy(path);
	signin_ok("bob", pw);
	log = server_log_since(from);
	assert_int_equal(count(log, "REQ "), 0); /* the file found it */
	assert_matches_line(g_log, "^<(4|84)>.*user \"bob\": password found "
			    "in a breach corpus \\(leakedCredentials\\); "
			    "source: hash file; user risk high");
	if (through_riskd())
		assert_null(strstr(g_log, SKIPPED));
	else
		assert_matches_line(g_log, "^<(5|85)>.*user \"bob\": " SKIPPED
				    ": it runs only in riskd, and this call "
				    "runs in the application's process; hash "
				    "file checked \\(leakedCredentials\\)$");
	assert_int_equal(user_of("bob").level, RR_LEVEL_HIGH);
	assert_environment_ignored();
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_range_only_in_riskd),
		T(test_hash_file_still_checked),
#undef T
	};

	return cmocka_run_group_tests(tests, nss_setup, nss_teardown);
}
