/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shipped fail2ban filter (conf/fail2ban/filter.d) against the lines
 * the module really writes: sign-ins through the built module and the real
 * libpam (harness.h) that are allowed, denied (wrong codes), blocked (no
 * authenticator during a risky sign-in, an account confirmed compromised,
 * over IPv6 too) and blocked without an address (su).  Their captured
 * syslog lines are written as rsyslog writes auth.log, in Debian 12's
 * RFC 3339 format and in the traditional one, and fail2ban-regex (the
 * program $RR_FAIL2BAN_REGEX) must find exactly the denied and blocked
 * sign-ins that have an address, with their addresses and users.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

static void write_policy(void)
{
	write_fixture_policy(
		"mfa_registration:\n"
		"  state: enabled\n"
		"  grace_days: 14\n"
		"  users: { include: [all], exclude: [root] }\n"
		"detections:\n"
		"  unfamiliarFeatures: { level: medium, learning_days: 0,"
		" learning_signins: 2 }\n"
		"  anonymizedIPAddress: { level: medium, lists: [%s/anon.list] }\n"
		"policies:\n"
		"  - name: High user risk is blocked\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { block: true }\n"
		"  - name: Sign-in risk requires MFA\n"
		"    conditions: { signin_risk: [medium, high] }\n"
		"    grant: { require: [mfa] }\n",
		F.dir);
}

static int setup(void **state)
{
	char path[160];

	(void)state;
	fixture_setup("rr-f2b");
	snprintf(path, sizeof(path), "%s/anon.list", F.dir);
	write_file(path, "198.51.100.0/24\n", 0644);
	SERVICE("sshd", "auth required", "", "account required", "");
	write_policy();
	return 0;
}

/* g_log's lines as rsyslog writes them to auth.log: the time (RFC 3339,
 * Debian 12's default, or the traditional format), host, program[pid]:
 * and the message without its <PRI>. */
static void write_auth_log(const char *path, bool rfc3339)
{
	char head[96], ts[64];
	const char *p = g_log;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	gmtime_r(&now, &tm);
	if (rfc3339)
		assert_true(strftime(ts, sizeof(ts),
				     "%Y-%m-%dT%H:%M:%S.000000+00:00", &tm));
	else
		assert_true(strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm));
	snprintf(head, sizeof(head), "%s testhost sshd[4242]: ", ts);
	f = fopen(path, "w");
	assert_non_null(f);
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *msg = p;
		size_t len;

		assert_non_null(nl);
		if (*msg == '<')
			msg = strchr(msg, '>') + 1;
		len = (size_t)(nl - msg);
		fprintf(f, "%s%.*s\n", head, (int)len, msg);
		p = nl + 1;
	}
	assert_int_equal(fclose(f), 0);
}

/* The filter as installed: in a filter.d next to fail2ban's common.conf
 * (its [INCLUDES]).  Returns its path in F.dir. */
static const char *install_filter(void)
{
	static char path[192];
	/* F.dir is fresh for each test: this runs once in it */
	const char *src = getenv("RR_FAIL2BAN_FILTER");
	char dir[160], common[192];

	assert_non_null(src);
	snprintf(dir, sizeof(dir), "%s/filter.d", F.dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(common, sizeof(common), "%s/common.conf", dir);
	copy_file("/etc/fail2ban/filter.d/common.conf", common);
	snprintf(path, sizeof(path), "%s/pam_riskremediate.conf", dir);
	copy_file(src, path);
	return path;
}

/* fail2ban-regex -o TOKEN LOG FILTER: what it printed. */
static void fail2ban_regex(const char *filter, const char *token,
			   const char *log, char *out, size_t len)
{
	const char *prog = getenv("RR_FAIL2BAN_REGEX");
	char *argv[] = { (char *)"fail2ban-regex", (char *)"-o",
			 (char *)token, (char *)log, (char *)filter, NULL };
	posix_spawn_file_actions_t fa;
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int fds[2], status;

	if (!prog || !*prog)
		fail_msg("fail2ban-regex not found: apt-get install fail2ban");
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], 1), 0);
	assert_int_equal(posix_spawn_file_actions_addclose(&fa, fds[0]), 0);
	assert_int_equal(posix_spawn(&pid, prog, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while ((n = read(fds[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	out[got] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("fail2ban-regex failed (status %d):\n%s", status, out);
}

static void check_log(const char *filter, bool rfc3339)
{
	char log[160], out[4096];

	snprintf(log, sizeof(log), "%s/auth.log", F.dir);
	write_auth_log(log, rfc3339);
	/* each denied or blocked sign-in with an address, once, in order */
	fail2ban_regex(filter, "ip", log, out, sizeof(out));
	assert_string_equal(out, "198.51.100.7\n198.51.100.8\n192.0.2.10\n"
				 "2001:db9::5\n");
	fail2ban_regex(filter, "user", log, out, sizeof(out));
	assert_string_equal(out, "alice\nbob\nalice\nalice\n");
}

static void test_filter_matches_denied_and_blocked(void **state)
{
	const char *filter;
	pam_result r;

	(void)state;
	/* alice registers, then signs in from her usual network: allowed */
	register_alice("sshd", 0);
	assert_int_equal(login("sshd", "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	/* an anonymizer: a code is asked and three wrong ones are denied */
	answers(0, 3, "111111", "222222", "333333");
	assert_int_equal(login("sshd", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	assert_string_equal(last_signin("alice").outcome, "denied");
	/* bob has no authenticator: a risky sign-in is blocked */
	r = login("sshd", "bob", "198.51.100.8", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_string_equal(last_signin("bob").outcome, "blocked");
	/* alice confirmed compromised: blocked over IPv4 and IPv6, and
	 * without an address (su) */
	admin(RR_ADMIN_CONFIRM_COMPROMISED, "alice");
	assert_int_equal(login("sshd", "alice", "192.0.2.10", true).auth,
			 PAM_AUTH_ERR);
	assert_int_equal(login("sshd", "alice", "2001:db9::5", true).auth,
			 PAM_AUTH_ERR);
	assert_int_equal(login_as(0, "sshd", "alice", NULL).auth,
			 PAM_AUTH_ERR);
	assert_string_equal(last_signin("alice").outcome, "blocked");
	assert_logged("outcome=blocked user=\"alice\" service=\"sshd\" "
		      "rhost=\"-\"");
	/* carol, allowed (she declines the registration offered) */
	answers(0, 1, "n");
	assert_int_equal(login("sshd", "carol", "10.1.2.4", true).auth,
			 PAM_SUCCESS);
	/* Debian 12's rsyslog (RFC 3339) and the traditional format */
	filter = install_filter();
	check_log(filter, true);
	check_log(filter, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_filter_matches_denied_and_blocked, setup,
		fixture_teardown),
	};

	return cmocka_run_group_tests(tests, nss_setup, nss_teardown);
}
