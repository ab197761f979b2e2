/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Risk detections through the built pam_riskremediate.so and the real
 * libpam (the harness of harness.h: pam_start_confdir, nss_wrapper users,
 * syslog captured by interposing __syslog_chk).
 *
 * bruteForce and passwordSpray fire exactly at their thresholds and not one
 * below, with the failed attempts made by concurrent processes, each its own
 * libpam transaction through the `authfail` stack; aggregation of
 * unremediated risky sign-ins raises user risk and confirm-safe lowers it;
 * low user risk ages out and medium does not (time moved by writing old
 * timestamps through the store API, never by sleeping).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define DAY INT64_C(86400)
#define BRUTE_FAILURES 6 /* bruteForce threshold in the test policy */
#define SPRAY_USERS 5    /* passwordSpray threshold */
#define AGG_SIGNINS 3    /* aggregation threshold */
#define SPRAY_IP "192.0.2.50"
#define REF_RE "[0-9A-F]{4}-[0-9A-F]{4}"

/* ---- fixture ----------------------------------------------------------- */

/*
 * Risky sign-ins are blocked (so MFA never remediates them), and so are
 * users at any risk: aggregation and expiry show as the user's next,
 * otherwise clean, sign-in being blocked or not.
 */
static void write_policy(void)
{
	write_policy_fmt(
		"version: 1\n"
		"store: { backend: sqlite, path: %s }\n"
		"detections:\n"
		"  unfamiliarFeatures: { enabled: false }\n"
		"  anonymizedIPAddress: { level: medium,"
		" lists: [%s/anon.list] }\n"
		"  bruteForce: { level: high, failures: %d, window: 10m }\n"
		"  passwordSpray: { enabled: true, level: medium, users: %d,"
		" window: 1h }\n"
		"aggregation: { enabled: true, signins: %d,"
		" min_level: medium, window: 7d }\n"
		"policies:\n"
		"  - name: Risky sign-ins are blocked\n"
		"    conditions: { signin_risk: [medium, high] }\n"
		"    grant: { block: true }\n"
		"  - name: Risky users are blocked\n"
		"    conditions: { user_risk: [low, medium, high] }\n"
		"    grant: { block: true }\n",
		F.store, F.dir, BRUTE_FAILURES, SPRAY_USERS, AGG_SIGNINS);
}

static int setup(void **state)
{
	char path[160];

	(void)state;
	fixture_setup("rr-det");
	snprintf(path, sizeof(path), "%s/anon.list", F.dir);
	write_file(path, "198.51.100.0/24\n", 0644);
	SERVICE("rrtest", "auth required", "");
	SERVICE("rrtest-fail", "auth [default=die]", "authfail");
	write_policy();
	/* created once here, so that the concurrent failures below race on
	 * writes, not on creating the file */
	rr_store_close(open_store());
	return 0;
}

/* ---- driving libpam ---------------------------------------------------- */

/* One auth transaction; no cmocka calls (children run it too). */
static int pam_auth(const char *service, const char *user, const char *rhost)
{
	pam_result res;

	if (pam_run(service, user, rhost, RUN_AUTH, &res) != PAM_SUCCESS)
		return -1;
	return res.auth;
}

static int signin(const char *user, const char *rhost)
{
	return pam_auth("rrtest", user, rhost);
}

/*
 * Failed primary attempts, each in its own process and libpam
 * transaction, all started before any is waited for.  users[i] fails from
 * `rhost`; every child must see PAM_AUTH_ERR (the authfail stack).
 */
static void fail_concurrently(const char *const *users, size_t n,
			      const char *rhost)
{
	pid_t pids[32];
	size_t i;
	int st;

	assert_true(n <= sizeof(pids) / sizeof(pids[0]));
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(pam_auth("rrtest-fail", users[i], rhost) ==
				      PAM_AUTH_ERR
				  ? 0
				  : 1);
	}
	for (i = 0; i < n; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

static uint64_t failures_from(const char *rhost)
{
	rr_store *s = open_store();
	uint64_t n = 0;

	assert_int_equal(rr_store_spray_count(s, rhost, time(NULL), 3600, &n),
			 0);
	rr_store_close(s);
	return n;
}

/* An allowed sign-in with no detection. */
static void assert_clean(const char *user, const char *rhost)
{
	rr_store_signin si;

	assert_int_equal(signin(user, rhost), PAM_SUCCESS);
	assert_string_equal(F.msgs, "");
	si = last_signin(user);
	assert_string_equal(si.outcome, "success");
	assert_string_equal(si.detections, "");
	assert_int_equal(si.signin_risk, RR_LEVEL_NONE);
}

/* ---- bruteForce -------------------------------------------------------- */

static void test_brute_force_threshold(void **state)
{
	static const char *const alice[BRUTE_FAILURES] = {
	    "alice", "alice", "alice", "alice", "alice", "alice"};
	/* N - 1 for alice, and bob's do not count for her */
	static const char *const mixed[BRUTE_FAILURES + 1] = {
	    "alice", "bob", "alice", "alice", "bob", "alice", "alice"};
	rr_store_signin si;

	(void)state;
	/* N - 1 concurrent failures, then the right password: allowed */
	fail_concurrently(alice, BRUTE_FAILURES - 1, "10.9.9.9");
	assert_clean("alice", "10.9.9.9");
	/* the success reset the count: N - 1 more are still below */
	fail_concurrently(mixed, BRUTE_FAILURES + 1, "10.9.9.9");
	assert_clean("alice", "10.9.9.9");
	/* N concurrent failures, then the right password: risky, blocked */
	fail_concurrently(alice, BRUTE_FAILURES, "10.9.9.9");
	assert_int_equal(signin("alice", "10.9.9.9"), PAM_AUTH_ERR);
	si = last_signin("alice");
	assert_string_equal(si.detections, "bruteForce:high");
	assert_int_equal(si.signin_risk, RR_LEVEL_HIGH);
	assert_string_equal(si.outcome, "blocked");
	assert_matches(
	    F.msgs, "^Sign-in blocked: this sign-in is at high risk "
		    "\\(many failed attempts\\)\\. Contact your IT help desk "
		    "and quote reference " REF_RE "\\.\n$");
	assert_matches(g_log, "decision=block outcome=blocked user=\"alice\" "
			      ".*detections=\"bruteForce:high\"");
	/* bob had 2: his sign-in is clean */
	assert_clean("bob", "10.9.9.9");
}

/* ---- passwordSpray ----------------------------------------------------- */

static void test_password_spray_threshold(void **state)
{
	/* M - 1 distinct users, one of them twice */
	static const char *const below[] = {"u1", "u2", "u3", "u4", "u1"};
	static const char *const last[] = {"u5"};
	rr_store_signin si;

	(void)state;
	/* (u1..u5 are no users: they count for the source all the same) */
	fail_concurrently(below, sizeof(below) / sizeof(below[0]), SPRAY_IP);
	assert_int_equal(failures_from(SPRAY_IP), SPRAY_USERS - 1);
	assert_clean("alice", SPRAY_IP);
	/* the M-th distinct name: a success from that source is risky for
	 * a user who never signed in from it */
	fail_concurrently(last, 1, SPRAY_IP);
	assert_int_equal(failures_from(SPRAY_IP), SPRAY_USERS);
	assert_int_equal(signin("carol", SPRAY_IP), PAM_AUTH_ERR);
	si = last_signin("carol");
	assert_string_equal(si.detections, "passwordSpray:medium");
	assert_int_equal(si.signin_risk, RR_LEVEL_MEDIUM);
	assert_string_equal(si.rhost, SPRAY_IP);
	assert_matches(F.msgs,
		       "^Sign-in blocked: this sign-in is at medium "
		       "risk \\(password spray\\)\\. Contact your IT help desk "
		       "and quote reference " REF_RE "\\.\n$");
	/* alice signs in from there every day (a NAT, an office): the
	 * spray is the attacker's, not hers */
	assert_clean("alice", SPRAY_IP);
	/* a user from another source, and from the console: clean */
	assert_clean("bob", "192.0.2.51");
	assert_int_equal(pam_auth("rrtest", "bob", ""), PAM_SUCCESS);
	assert_string_equal(last_signin("bob").detections, "");
}

/* Every process of a large concurrent spray is counted. */
static void test_password_spray_concurrent_count(void **state)
{
	static const char *const users[] = {
	    "s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08",
	    "s09", "s10", "s11", "s12", "s13", "s14", "s15", "s16"};

	(void)state;
	fail_concurrently(users, sizeof(users) / sizeof(users[0]), SPRAY_IP);
	assert_int_equal(failures_from(SPRAY_IP),
			 sizeof(users) / sizeof(users[0]));
	assert_int_equal(failures_from("192.0.2.51"), 0);
	assert_int_equal(signin("carol", SPRAY_IP), PAM_AUTH_ERR);
	assert_string_equal(last_signin("carol").detections,
			    "passwordSpray:medium");
}

/* ---- strangers cannot lock a user out -------------------------------- */

/* The finding: ten wrong passwords for alice from an attacker's address
 * made her right password from her usual network a bruteForce block, and
 * three such blocks raised her user risk to high.  Failures count per user
 * and source: hers stay clean; the attacker's sign-ins are blocked; their
 * blocks do not aggregate into her user risk. */
static void test_strangers_failures_do_not_block_user(void **state)
{
	static const char *const alice[BRUTE_FAILURES] = {
	    "alice", "alice", "alice", "alice", "alice", "alice"};
	rr_store_signin si;
	int i;

	(void)state;
	assert_clean("alice", "10.1.2.3"); /* her usual network */
	fail_concurrently(alice, BRUTE_FAILURES, "203.0.113.66");
	fail_concurrently(alice, BRUTE_FAILURES, "203.0.113.66");
	/* her right password from her network: clean */
	assert_clean("alice", "10.1.2.3");
	/* and from a network she never used, but nobody failed from */
	assert_clean("alice", "10.77.0.1");
	/* the attacker's source: each sign-in there is bruteForce, more of
	 * them than the aggregation needs */
	for (i = 0; i < AGG_SIGNINS + 1; i++) {
		assert_int_equal(signin("alice", "203.0.113.66"), PAM_AUTH_ERR);
		si = last_signin("alice");
		assert_string_equal(si.detections, "bruteForce:high");
		assert_string_equal(si.outcome, "blocked");
	}
	/* failures anyone can make never raise her user risk */
	assert_int_equal(user_of("alice").level, RR_LEVEL_NONE);
	assert_null(strstr(g_log, "raised user risk"));
	assert_clean("alice", "10.1.2.3");
}

/* True when `needle` is in the file's bytes. */
static bool file_has(const char *path, const char *needle)
{
	char buf[1 << 16];
	size_t n, len = strlen(needle);
	bool hit = false;
	FILE *f = fopen(path, "rb");

	if (!f)
		return false;
	/* overlapping reads, so that no match is cut in two */
	while (!hit && (n = fread(buf, 1, sizeof(buf), f)) >= len) {
		hit = memmem(buf, n, needle, len) != NULL;
		if (n == sizeof(buf))
			fseek(f, -(long)len, SEEK_CUR);
	}
	fclose(f);
	return hit;
}

/* Names that are no user count toward their source only, and are never
 * stored (a password typed at the user prompt must not land on disk). */
static void test_unknown_names_count_for_source_only(void **state)
{
	static const char *const names[] = {
	    "Winter2026!", "x-unknown1", "x-unknown2", "x-unknown3",
	    "x-unknown4", "Winter2026!"};
	char wal[200];

	(void)state;
	fail_concurrently(names, sizeof(names) / sizeof(names[0]), SPRAY_IP);
	/* five distinct names (one twice): the source is spraying */
	assert_int_equal(failures_from(SPRAY_IP), SPRAY_USERS);
	snprintf(wal, sizeof(wal), "%s-wal", F.store);
	assert_false(file_has(F.store, "Winter2026!"));
	assert_false(file_has(wal, "Winter2026!"));
	assert_false(file_has(F.store, "x-unknown1"));
	assert_false(file_has(wal, "x-unknown1"));
	/* a new user from there is marked; nobody's user risk moved */
	assert_int_equal(signin("bob", SPRAY_IP), PAM_AUTH_ERR);
	assert_string_equal(last_signin("bob").detections,
			    "passwordSpray:medium");
	assert_int_equal(user_of("bob").level, RR_LEVEL_NONE);
	assert_clean("alice", "10.1.2.3");
}

/* ---- aggregation ------------------------------------------------------- */

static const char raised_re[] =
    "<[0-9]+>pam_riskremediate\\(rrtest:auth\\): user \"alice\": risky "
    "sign-ins raised user risk\n";

static void test_aggregation_raises_user_risk(void **state)
{
	char refs[AGG_SIGNINS][RR_REF_LEN + 1], who[RR_USER_MAX + 1];
	rr_store_user u;
	rr_store *s;
	int i;

	(void)state;
	/* N - 1 unremediated risky sign-ins: user risk stays none */
	for (i = 0; i < AGG_SIGNINS - 1; i++) {
		assert_int_equal(signin("alice", "198.51.100.7"), PAM_AUTH_ERR);
		assert_string_equal(last_signin("alice").detections,
				    "anonymizedIPAddress:medium");
		memcpy(refs[i], last_signin("alice").ref, sizeof(refs[i]));
	}
	assert_int_equal(user_of("alice").level, RR_LEVEL_NONE);
	assert_null(strstr(g_log, "raised user risk"));
	assert_clean("alice", "10.1.2.3");
	/* the N-th: user risk medium, logged once */
	log_reset();
	assert_int_equal(signin("alice", "198.51.100.7"), PAM_AUTH_ERR);
	memcpy(refs[AGG_SIGNINS - 1], last_signin("alice").ref,
	       sizeof(refs[0]));
	assert_matches(g_log, raised_re);
	u = user_of("alice");
	assert_int_equal(u.level, RR_LEVEL_MEDIUM);
	assert_int_equal(u.state, RR_STATE_AT_RISK);
	/* now the user-risk policy applies to a clean sign-in */
	log_reset();
	assert_int_equal(signin("alice", "10.1.2.3"), PAM_AUTH_ERR);
	assert_matches(
	    F.msgs,
	    "^Sign-in blocked: your account is at medium "
	    "risk\\. Contact your IT help desk and quote reference " REF_RE
	    "\\.\n$");
	assert_matches(g_log,
		       "decision=block outcome=blocked user=\"alice\" "
		       ".*user_risk=medium signin_risk=none detections=\"-\" "
		       "applied=\"Risky users are blocked\"");
	assert_null(strstr(g_log, "raised user risk"));
	/* other users are not affected */
	assert_clean("bob", "10.1.2.3");

	/* confirm-safe of one of them: no longer N, risk lowered */
	s = open_store();
	assert_int_equal(
	    rr_store_confirm_safe(s, refs[1], "tester", time(NULL), who), 0);
	rr_store_close(s);
	assert_string_equal(who, "alice");
	u = user_of("alice");
	assert_int_equal(u.level, RR_LEVEL_NONE);
	assert_int_equal(u.state, RR_STATE_CONFIRMED_SAFE);
	assert_int_equal(u.detail, RR_DETAIL_ADMIN_SIGNIN_SAFE);
	assert_clean("alice", "10.1.2.3");
	/* one more risky sign-in makes N again */
	log_reset();
	assert_int_equal(signin("alice", "198.51.100.8"), PAM_AUTH_ERR);
	assert_matches(g_log, raised_re);
	assert_int_equal(signin("alice", "10.1.2.3"), PAM_AUTH_ERR);
}

/* ---- expiry ------------------------------------------------------------ */

static void test_low_risk_expires_medium_persists(void **state)
{
	rr_store_signin si;

	(void)state;
	/* low, set 181 days ago: aged out (default 180 days) */
	set_user_risk("alice", RR_LEVEL_LOW, 181 * DAY);
	assert_int_equal(signin("alice", "10.1.2.3"), PAM_SUCCESS);
	si = last_signin("alice");
	assert_int_equal(si.user_risk, RR_LEVEL_NONE);
	assert_string_equal(si.outcome, "success");
	/* ... while the store still has it */
	assert_int_equal(user_of("alice").level, RR_LEVEL_LOW);
	/* low, 179 days ago: still applies */
	set_user_risk("bob", RR_LEVEL_LOW, 179 * DAY);
	assert_int_equal(signin("bob", "10.1.2.3"), PAM_AUTH_ERR);
	si = last_signin("bob");
	assert_int_equal(si.user_risk, RR_LEVEL_LOW);
	assert_matches(F.msgs, "^Sign-in blocked: your account is at low "
			       "risk\\.");
	/* medium, 400 days ago: persists until remediated or dismissed */
	set_user_risk("carol", RR_LEVEL_MEDIUM, 400 * DAY);
	assert_int_equal(signin("carol", "10.1.2.3"), PAM_AUTH_ERR);
	assert_int_equal(last_signin("carol").user_risk, RR_LEVEL_MEDIUM);
	/* fresh evidence restarts alice's clock */
	set_user_risk("alice", RR_LEVEL_LOW, 0);
	assert_int_equal(signin("alice", "10.1.2.3"), PAM_AUTH_ERR);
	assert_int_equal(last_signin("alice").user_risk, RR_LEVEL_LOW);
}

/* ---- main -------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fixture_teardown)
	    T(test_brute_force_threshold),
	    T(test_password_spray_threshold),
	    T(test_password_spray_concurrent_count),
	    T(test_strangers_failures_do_not_block_user),
	    T(test_unknown_names_count_for_source_only),
	    T(test_aggregation_raises_user_risk),
	    T(test_low_risk_expires_medium_persists),
#undef T
	};

	return cmocka_run_group_tests(tests, nss_setup, nss_teardown);
}
