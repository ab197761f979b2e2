/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built pam_riskremediate.so through the real libpam (the harness of
 * harness.h: pam_start_confdir with a private service directory, users
 * from nss_wrapper, syslog lines captured by interposing __syslog_chk).
 * Asserts return codes, the exact messages the user sees, stored rows and
 * the structured log line.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rr_mfa.h"

/* ---- fixture ----------------------------------------------------------- */

/* The baseline policy the tests run against; `extra` is appended under
 * policies:. */
static void write_policy(const char *extra, const char *top)
{
	write_fixture_policy(
		"%s"
		"named_locations:\n"
		"  office: [10.0.0.0/8, \"2001:db8::/32\"]\n"
		"detections:\n"
		"  unfamiliarFeatures: { level: medium, learning_days: 0,"
		" learning_signins: 2 }\n"
		"  anonymizedIPAddress: { level: medium, lists: [%s/anon.list] }\n"
		"  maliciousIPAddress: { level: high, lists: [%s/bad.list] }\n"
		"  bruteForce: { level: high, failures: 3, window: 10m }\n"
		"policies:\n"
		"  - name: High user risk is blocked\n"
		"    users: { include: [all], exclude: [] }\n"
		"    groups: { exclude: [breakglass] }\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { block: true }\n"
		"  - name: Sign-in risk requires MFA\n"
		"    groups: { exclude: [breakglass] }\n"
		"    conditions: { signin_risk: [medium] }\n"
		"    grant: { require: [mfa] }\n"
		"  - name: High sign-in risk outside the office is blocked\n"
		"    groups: { exclude: [breakglass] }\n"
		"    conditions:\n"
		"      signin_risk: [high]\n"
		"      locations: { include: [any], exclude: [office] }\n"
		"    grant: { block: true }\n"
		"%s",
		top ? top : "", F.dir, F.dir,
		extra ? extra : "");
}

static int setup(void **state)
{
	char path[160];

	(void)state;
	fixture_setup("rr-pam");
	snprintf(path, sizeof(path), "%s/anon.list", F.dir);
	write_file(path, "# anonymizers\n198.51.100.0/24\n", 0644);
	snprintf(path, sizeof(path), "%s/bad.list", F.dir);
	write_file(path, "203.0.113.66\n2001:db8:bad::/48\n", 0644);
	SERVICE("rrtest", "auth required", "", "account required", "");
	SERVICE("rrtest-account", "account required", "");
	SERVICE("rrtest-fail", "auth [default=die]", "authfail");
	SERVICE("rrtest-badarg", "auth required", "bogus");
	SERVICE("rrtest-preauth", "auth required", "preauth");
	write_policy(NULL, NULL);
	return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_allow_records_and_logs(void **state)
{
	pam_result r;
	rr_store_signin si;

	(void)state;
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_string_equal(F.msgs, "");
	si = last_signin("alice");
	assert_int_equal(si.action, RR_ACTION_ALLOW);
	assert_string_equal(si.outcome, "success");
	assert_string_equal(si.service, "rrtest");
	assert_string_equal(si.rhost, "10.1.2.3");
	assert_matches(si.ref, "^[0-9A-F]{4}-[0-9A-F]{4}$");
	/* auth decided; account in the same handle does not record again */
	assert_int_equal(count_signins("alice"), 1);
	assert_logged("<85>pam_riskremediate\\(rrtest:auth\\): "
		      "decision=allow outcome=success user=\"alice\" "
		      "service=\"rrtest\" rhost=\"10.1.2.3\" user_risk=none "
		      "signin_risk=none detections=\"-\" applied=\"-\" "
		      "report_only=\"-\" mfa=- ref=[0-9A-F]{4}-[0-9A-F]{4}\n");
}

static void test_block_high_user_risk(void **state)
{
	pam_result r;
	rr_store_signin si;
	char expect[256];

	(void)state;
	admin(RR_ADMIN_CONFIRM_COMPROMISED, "alice");
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_int_equal(r.account, -1);
	si = last_signin("alice");
	assert_int_equal(si.action, RR_ACTION_BLOCK);
	assert_string_equal(si.outcome, "blocked");
	assert_int_equal(si.user_risk, RR_LEVEL_HIGH);
	assert_string_equal(si.applied, "High user risk is blocked");
	snprintf(expect, sizeof(expect),
		 "Sign-in blocked: your account is at high risk. Contact "
		 "your IT help desk and quote reference %s.\n", si.ref);
	assert_string_equal(F.msgs, expect);
	assert_logged("decision=block outcome=blocked user=\"alice\" .* "
		      "user_risk=high signin_risk=none .*"
		      "applied=\"High user risk is blocked\" .*ref=");
	/* unblock: the next login is allowed again */
	admin(RR_ADMIN_UNBLOCK, "alice");
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
}

static void test_account_only_enforces_block(void **state)
{
	pam_result r;
	rr_store_signin si;

	(void)state;
	r = login("rrtest-account", "bob", "10.1.2.3", false);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_string_equal(last_signin("bob").outcome, "success");
	admin(RR_ADMIN_CONFIRM_COMPROMISED, "bob");
	r = login("rrtest-account", "bob", "10.1.2.3", false);
	assert_int_equal(r.account, PAM_PERM_DENIED);
	si = last_signin("bob");
	assert_string_equal(si.outcome, "blocked");
	assert_matches(F.msgs, "^Sign-in blocked: your account is at high "
		       "risk\\. Contact your IT help desk and quote reference "
		       "[0-9A-F]{4}-[0-9A-F]{4}\\.\n$");
	assert_logged("pam_riskremediate\\(rrtest-account:account\\): "
		      "decision=block outcome=blocked user=\"bob\"");
}

static void test_breakglass_group_excluded(void **state)
{
	pam_result r;

	(void)state;
	admin(RR_ADMIN_CONFIRM_COMPROMISED, "carol");
	r = login("rrtest", "carol", "203.0.113.66", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_logged("decision=allow outcome=success user=\"carol\" .*"
		      "user_risk=high signin_risk=high "
		      "detections=\"maliciousIPAddress:high\"");
}

static void test_malicious_ip_blocked_outside_office(void **state)
{
	pam_result r;
	rr_store_signin si;

	(void)state;
	r = login("rrtest", "alice", "203.0.113.66", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	si = last_signin("alice");
	assert_string_equal(si.detections, "maliciousIPAddress:high");
	assert_int_equal(si.signin_risk, RR_LEVEL_HIGH);
	assert_string_equal(si.applied,
			    "High sign-in risk outside the office is blocked");
	assert_matches(F.msgs, "^Sign-in blocked: this sign-in is at high risk "
		       "\\(address known for attacks\\)\\. Contact your IT "
		       "help desk and quote reference [0-9A-F-]{9}\\.\n$");
	/* IPv6 range in the list too */
	r = login("rrtest", "alice", "2001:db8:bad::5", true);
	assert_int_equal(r.auth, PAM_SUCCESS); /* 2001:db8::/32 is office */
	assert_logged("user=\"alice\" service=\"rrtest\" "
		      "rhost=\"2001:db8:bad::5\" user_risk=none "
		      "signin_risk=high");
}

/* Risky sign-in, policy requires MFA, no authenticator: blocked, and no
 * registration is offered to someone who may only have the password. */
static void test_mfa_required_unregistered_is_refused(void **state)
{
	pam_result r;
	rr_store_signin si;

	(void)state;
	r = login("rrtest", "alice", "198.51.100.7", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	si = last_signin("alice");
	assert_int_equal(si.action, RR_ACTION_REQUIRE);
	assert_string_equal(si.outcome, "blocked");
	assert_string_equal(si.mfa, "refused");
	assert_string_equal(si.detections, "anonymizedIPAddress:medium");
	assert_matches(F.msgs, "^Sign-in blocked: this sign-in is at medium risk "
		       "\\(anonymizing network\\) and no authenticator app is "
		       "registered for your account; one cannot be registered "
		       "during a risky sign-in\\. Contact your IT help desk "
		       "and quote reference [0-9A-F-]{9}\\.\n$");
}

#define REG_ENABLED(days)                                                    \
	"mfa_registration:\n"                                                \
	"  state: enabled\n"                                                 \
	"  grace_days: " #days "\n"                                          \
	"  users: { include: [all], exclude: [root] }\n"                     \
	"  groups: { exclude: [breakglass] }\n"

static void test_registration_offer_skip_in_grace(void **state)
{
	pam_result r;

	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	answers(0, 1, "n");
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_string_equal(F.msgs, "[ask] Multifactor authentication is "
				    "required by Test Corp. You have 14 days "
				    "left to set it up. Set up now? [y/N] \n");
	assert_true(mfa_of("alice").grace_start > 0);
	assert_string_equal(last_signin("alice").mfa, "skipped");
	/* five days into the grace period */
	set_grace_start("alice", time(NULL) - 5 * 86400);
	answers(0, 1, "");
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	assert_matches(F.msgs, "You have 9 days left to set it up\\.");
	/* excluded users are never interrupted */
	answers(0, 0);
	assert_int_equal(login("rrtest", "carol", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	assert_string_equal(F.msgs, "");
}

static void test_registration_forced_after_grace(void **state)
{
	pam_result r;
	rr_store_mfa m;

	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	set_grace_start("alice", time(NULL) - 14 * 86400 - 1);
	/* a wrong code first, then the right one */
	answers(0, 2, "000000", "@code");
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_matches(F.msgs, "^Set up multifactor authentication for Test "
		       "Corp\\.\nScan this QR code with your authenticator "
		       "app:\n");
	assert_matches(F.msgs, "or enter this key by hand: ([A-Z2-7]{4} ){7}"
		       "[A-Z2-7]{4}\n\\(SHA1, 6 digits, every 30 seconds\\)\n"
		       "otpauth://totp/Test%20Corp:alice\\?secret=[A-Z2-7]{32}"
		       "&issuer=Test%20Corp&algorithm=SHA1&digits=6&period=30"
		       "\n");
	assert_matches(F.msgs, "\\[secret\\] Enter the 6-digit code from your "
		       "authenticator app to confirm: \nThat code is not "
		       "right\\. Try again\\.\n\\[secret\\] Enter the 6-digit");
	assert_matches(F.msgs, "Your authenticator app is registered\\.\n$");
	assert_false(strstr(F.msgs, "Set up now?"));
	m = mfa_of("alice");
	assert_true(m.registered);
	assert_int_equal(m.digits, 6);
	assert_string_equal(last_signin("alice").mfa, "registered");
	assert_logged("user \"alice\" registered an authenticator");
	/* the secret is not in the log */
	assert_null(strstr(g_log, "secret="));
	/* three wrong codes: not registered, sign-in denied */
	write_policy(NULL, REG_ENABLED(0));
	answers(0, 3, "1", "2", "3");
	r = login("rrtest", "bob", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_false(mfa_of("bob").registered);
	assert_matches(F.msgs, "Sign-in denied: registering an authenticator "
		       "app is required and was not completed\\.");
}

/* A policy requires MFA for every sign-in to this service; the sign-in is
 * not risky: registration now, no skip, and it counts as the MFA. */
static void test_registration_required_when_policy_requires_mfa(void **s)
{
	pam_result r;

	(void)s;
	write_policy("  - name: MFA for rrtest\n"
		     "    services: { include: [rrtest] }\n"
		     "    grant: { require: [mfa] }\n", REG_ENABLED(14));
	answers(0, 1, "@code");
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_false(strstr(F.msgs, "Set up now?"));
	assert_string_equal(last_signin("alice").mfa, "registered");
	/* next sign-in: a code is asked; the next step's code passes */
	answers(1, 1, "@code");
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_string_equal(F.msgs, "[secret] Sign-in policy requires "
				    "multifactor authentication for rrtest. "
				    "Enter the code from your authenticator "
				    "app: \n");
	assert_string_equal(last_signin("alice").mfa, "passed");
}

static void test_mfa_passes_and_remediates(void **state)
{
	rr_store_detection_filter df = { .user = "alice" };
	rr_store_detection *dets = NULL;
	rr_store_signin si;
	rr_history h;
	rr_store *s;
	size_t n = 0;

	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	register_alice("rrtest", 0);
	/* the registration used this step: the next one is accepted */
	answers(1, 1, "@code");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_SUCCESS);
	assert_string_equal(F.msgs, "[secret] Unusual sign-in from "
				    "198.51.100.7: anonymizing network. Enter "
				    "the code from your authenticator app: \n");
	si = last_signin("alice");
	assert_string_equal(si.outcome, "success");
	assert_string_equal(si.mfa, "passed");
	s = open_store();
	assert_int_equal(rr_store_detections_list(s, &df, &dets, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dets[0].type, RR_EVENT_ANONYMIZED_IP);
	assert_int_equal(dets[0].state, RR_STATE_REMEDIATED);
	assert_int_equal(dets[0].detail, RR_DETAIL_USER_PASSED_MFA);
	free(dets);
	/* the network is now familiar */
	assert_int_equal(rr_store_history(s, "alice", "198.51.100.0/24",
					  time(NULL), 0, &h), 0);
	assert_true(h.network_seen);
	rr_store_close(s);
	assert_logged("decision=require outcome=success user=\"alice\" .* "
		      "mfa=passed ref=");
}

static void test_mfa_replay_refused(void **state)
{
	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	register_alice("rrtest", 0);
	answers(1, 1, "@code");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_SUCCESS);
	/* the same code again, then the registration's (older) step */
	answers(0, 3, "@same", "@same", "@same");
	assert_int_equal(login("rrtest", "alice", "198.51.100.8", true).auth,
			 PAM_AUTH_ERR);
	assert_matches(F.msgs, "That code was already used\\. Wait for the "
		       "next one\\.\n");
	assert_matches(F.msgs, "Sign-in denied: the code from your "
		       "authenticator app was not accepted\\. Contact your IT "
		       "help desk and quote reference [0-9A-F-]{9}\\.\n$");
	assert_string_equal(last_signin("alice").mfa, "failed");
	assert_int_equal(mfa_of("alice").recent_failures, 3);
}

static void test_mfa_rate_limit_locks(void **state)
{
	rr_store_signin si;

	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	register_alice("rrtest", 0);
	answers(0, 3, "111111", "222222", "333333");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	/* failures 4 and 5: locked on the fifth */
	answers(0, 3, "444444", "555555", "666666");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	assert_int_equal(F_next_answer, 2);
	si = last_signin("alice");
	assert_string_equal(si.mfa, "locked");
	assert_string_equal(si.detections, "anonymizedIPAddress:medium,"
					   "repeatedMFAFailures:high");
	assert_logged("user \"alice\": MFA locked after 5 wrong codes");
	/* locked: even the right code is not asked for */
	answers(1, 1, "@code");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	assert_int_equal(F_next_answer, 0);
	assert_matches(F.msgs, "^Sign-in denied: multifactor authentication is "
		       "locked after too many wrong codes\\. Try again in 15 "
		       "minutes\\.");
	/* an admin reset clears it; alice registers again */
	{
		rr_store *s = open_store();

		assert_int_equal(rr_store_mfa_reset(s, "alice", "tester",
						    time(NULL)), 0);
		rr_store_close(s);
	}
	assert_false(mfa_of("alice").registered);
	assert_int_equal(mfa_of("alice").recent_failures, 0);
}

/* The finding: a locked MFA let the user in through su (no MFA needed
 * there).  A lock denies every sign-in of the user, on every service. */
static void test_mfa_lock_applies_to_every_sign_in(void **state)
{
	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	register_alice("rrtest", 0);
	answers(0, 3, "111111", "222222", "333333");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	answers(0, 2, "444444", "555555");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	assert_int_equal(mfa_of("alice").recent_failures, 5);
	/* her usual network, no code needed: locked all the same */
	answers(0, 0);
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTH_ERR);
	assert_matches(F.msgs, "^Sign-in denied: multifactor authentication is "
		       "locked after too many wrong codes\\. ");
	assert_string_equal(last_signin("alice").mfa, "locked");
	/* su run by bob, and by alice herself: locked */
	answers(0, 0);
	assert_int_equal(login_as(1002, "rrtest", "alice", NULL).auth,
			 PAM_AUTH_ERR);
	assert_matches(F.msgs, "^Sign-in denied: multifactor authentication is "
		       "locked");
	assert_int_equal(login_as(1001, "rrtest", "alice", NULL).auth,
			 PAM_AUTH_ERR);
	assert_string_equal(last_signin("alice").mfa, "locked");
}

/* The finding: bob, a local user who knew alice's password, enrolled his
 * own authenticator for her through `su alice` (no rhost: trusted as a
 * console).  From another user's session nothing is registered, offered
 * or not; her own session and root's are vouched for by the real uid. */
static void test_other_users_session_cannot_register(void **state)
{
	rr_store_signin si;
	pam_result r;

	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	/* grace over: registration required */
	set_grace_start("alice", time(NULL) - 30 * 86400);
	answers(0, 1, "@code");
	r = login_as(1002, "rrtest", "alice", NULL);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_null(strstr(F.msgs, "otpauth://"));
	assert_matches(F.msgs, "^Sign-in denied: you must register an "
		       "authenticator app, and it cannot be registered from "
		       "another user's session\\. Sign in directly \\(at the "
		       "console or over SSH\\) to set it up\\. ");
	assert_false(mfa_of("alice").registered);
	si = last_signin("alice");
	assert_string_equal(si.outcome, "denied");
	assert_string_equal(si.mfa, "refused");
	/* the origin is bob's uid, not a trusted console */
	assert_logged("decision=allow outcome=denied user=\"alice\" "
		      "service=\"rrtest\" rhost=\"-\"");
	/* in the grace period: not even offered */
	set_grace_start("alice", time(NULL));
	answers(0, 1, "y");
	r = login_as(1002, "rrtest", "alice", NULL);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_null(strstr(F.msgs, "Set up now?"));
	assert_false(mfa_of("alice").registered);
	/* her own session: offered, as at the console */
	answers(0, 1, "n");
	r = login_as(1001, "rrtest", "alice", NULL);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_non_null(strstr(F.msgs, "Set up now?"));
	/* root's (login on a console, root's su): required and done */
	set_grace_start("alice", time(NULL) - 30 * 86400);
	answers(0, 1, "@code");
	assert_int_equal(login_as(0, "rrtest", "alice", NULL).auth,
			 PAM_SUCCESS);
	assert_true(mfa_of("alice").registered);
}

/* Another user's session is a source of its own: after the learning
 * period it is unfamiliar until MFA was passed from it. */
static void test_other_users_session_is_unfamiliar(void **state)
{
	(void)state;
	write_policy("  - name: MFA for risky sign-ins\n"
		     "    conditions: { signin_risk: [medium, high] }\n"
		     "    grant: { require: [mfa] }\n", REG_ENABLED(14));
	register_alice("rrtest", 0);
	/* out of the learning period: ten successes, five days ago */
	{
		rr_store *st = open_store();
		int i;

		for (i = 0; i < 10; i++) {
			rr_signin_rec rec = {
			    .time = time(NULL) - 6 * 86400, .user = "alice",
			    .service = "rrtest", .rhost = "10.1.2.3",
			    .netkey = "10.1.2.0/24", .outcome = "success",
			    .applied = "", .report_only = "", .reason = "",
			    .mfa = ""};
			char ref[RR_REF_LEN + 1];

			assert_int_equal(rr_store_signin_record(st, &rec, ref),
					 0);
		}
		rr_store_close(st);
	}
	/* bob's su: a code is asked; he has none */
	answers(0, 1, "000000");
	assert_int_equal(login_as(1002, "rrtest", "alice", NULL).auth,
			 PAM_AUTH_ERR);
	assert_matches(F.msgs, "^\\[secret\\] Unusual sign-in from this "
		       "console: new location for this account\\. ");
	assert_string_equal(last_signin("alice").detections,
			    "unfamiliarFeatures:medium");
	/* root's su, and alice's own: local, never unfamiliar */
	answers(0, 0);
	assert_int_equal(login_as(0, "rrtest", "alice", NULL).auth,
			 PAM_SUCCESS);
	assert_int_equal(login_as(1001, "rrtest", "alice", NULL).auth,
			 PAM_SUCCESS);
	assert_string_equal(last_signin("alice").detections, "");
}

/* The finding: eight parallel sign-ins recorded 11 wrong codes with the
 * limit at 5, and the eighth one's right code still passed.  All eight
 * wait at the prompt (past the lock check at their start); seven answer
 * wrong codes at once; then the eighth answers the right code. */
static void test_parallel_wrong_codes_stop_at_the_limit(void **state)
{
	pid_t pids[8];
	int i, st, waited;

	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	register_alice("rrtest", 0);
	gates_reset();
	for (i = 0; i < 8; i++) {
		pam_result res;

		if (i < 7)
			answers(0, 3, "@g1:000000", "000000", "000000");
		else
			answers(1, 1, "@g2:@code");
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(pam_run("rrtest", "alice", "198.51.100.7",
				      RUN_AUTH, &res) != PAM_SUCCESS ? 2 :
			      res.auth == PAM_SUCCESS ? 0 : 1);
	}
	for (waited = 0; gate_arrivals() < 8 && waited < 120000; waited++)
		usleep(1000);
	assert_int_equal(gate_arrivals(), 8);
	gate_open(1);
	for (i = 0; i < 7; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	}
	/* exactly the limit was counted, however the seven raced */
	assert_int_equal(mfa_of("alice").recent_failures, 5);
	gate_open(2);
	assert_int_equal(waitpid(pids[7], &st, 0), pids[7]);
	/* locked: the right code is refused */
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_int_equal(mfa_of("alice").recent_failures, 5);
	/* the registration is the only success; none passed MFA (the rows
	 * are ordered by when each reached its prompt, not by its end) */
	{
		rr_store_signin_filter sf = {.user = "alice"};
		rr_store_signin *rows = NULL;
		size_t n = 0, k, passed = 0, locked = 0;
		rr_store *store = open_store();

		assert_int_equal(rr_store_signins_list(store, &sf, &rows, &n),
				 0);
		rr_store_close(store);
		assert_int_equal(n, 9);
		for (k = 0; k < n; k++) {
			passed += !strcmp(rows[k].mfa, "passed");
			locked += !strcmp(rows[k].mfa, "locked");
		}
		free(rows);
		assert_int_equal(passed, 0);
		assert_true(locked >= 1);
	}
}

/* The finding: a right password from a new network, hung up at the code
 * prompt, left no trace in process (sshd kills its PAM process when the
 * client goes away).  The sign-in is on record before the prompt. */
static void test_probe_killed_at_prompt_is_recorded(void **state)
{
	rr_store_signin si;
	pid_t pid;
	int st;

	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	register_alice("rrtest", 0);
	answers(0, 1, "@die");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pam_result res;

		pam_run("rrtest", "alice", "198.51.100.7", RUN_AUTH, &res);
		_exit(9); /* never here: the process dies at the prompt */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(count_signins("alice"), 2);
	si = last_signin("alice");
	assert_string_equal(si.outcome, "interrupted");
	assert_string_equal(si.mfa, "prompted");
	assert_string_equal(si.rhost, "198.51.100.7");
	assert_string_equal(si.detections, "anonymizedIPAddress:medium");
	/* the next sign-in is recorded anew; the probe's row stays */
	answers(1, 1, "@code");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_SUCCESS);
	assert_int_equal(count_signins("alice"), 3);
	assert_string_equal(last_signin("alice").outcome, "success");
}

/* An admin confirms the account compromised while the attacker waits at
 * the MFA prompt: the right code no longer lets that sign-in through. */
static void test_confirm_compromised_during_prompt_denies(void **state)
{
	pid_t pid;
	int st, waited;

	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	register_alice("rrtest", 0);
	gates_reset();
	answers(1, 1, "@g1:@code");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pam_result res;

		_exit(pam_run("rrtest", "alice", "198.51.100.7", RUN_AUTH,
			      &res) != PAM_SUCCESS ? 2 :
		      res.auth == PAM_SUCCESS ? 0 : 1);
	}
	for (waited = 0; gate_arrivals() < 1 && waited < 120000; waited++)
		usleep(1000);
	assert_int_equal(gate_arrivals(), 1);
	admin(RR_ADMIN_CONFIRM_COMPROMISED, "alice");
	gate_open(1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_string_equal(last_signin("alice").outcome, "denied");
	assert_string_equal(last_signin("alice").mfa, "passed");
	/* the next sign-in follows the new risk */
	answers(0, 0);
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTH_ERR);
	assert_matches(F.msgs, "^Sign-in blocked: your account is at high "
		       "risk\\. ");
}

/* After a reset the user is risky and unregistered: only a temporary
 * access pass from the help desk lets them register again. */
static void test_tap_allows_registration_during_risk(void **state)
{
	uint8_t hash[RR_TAP_HASH_LEN];
	char pass[RR_TAP_LEN + 1];
	rr_store *s;

	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	assert_int_equal(rr_tap_new(pass, hash), 0);
	s = open_store();
	assert_int_equal(rr_store_tap_issue(s, "alice", hash,
					    time(NULL) + 3600, "tester",
					    time(NULL)), 0);
	rr_store_close(s);
	/* a wrong pass: refused, nothing registered */
	answers(0, 1, "AAAA-AAAA-AAAA-AAAA");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	assert_matches(F.msgs, "^\\[secret\\] Enter the temporary access "
		       "pass from your IT help desk: \nSign-in blocked: this "
		       "sign-in is at medium risk \\(anonymizing network\\) "
		       "and no authenticator app is registered");
	assert_false(mfa_of("alice").registered);
	/* the right pass, then the new authenticator's code */
	answers(0, 2, pass, "@code");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_SUCCESS);
	assert_true(mfa_of("alice").registered);
	assert_string_equal(last_signin("alice").mfa, "registered");
	/* single use */
	s = open_store();
	assert_int_equal(rr_store_mfa_reset(s, "alice", "tester", time(NULL)),
			 0);
	rr_store_close(s);
	answers(0, 2, pass, "@code");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	assert_false(mfa_of("alice").registered);
}

/* A conversation that fails at an MFA prompt denies, even with the
 * admin's on_error: allow (which covers an unavailable policy or store,
 * never skipping MFA). */
static void test_conversation_failure_never_allowed(void **state)
{
	(void)state;
	write_policy("  - name: MFA for rrtest\n"
		     "    services: { include: [rrtest] }\n"
		     "    grant: { require: [mfa] }\n",
		     "on_error: allow\n" REG_ENABLED(14));
	answers(0, 0); /* the client answers nothing */
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTH_ERR);
	assert_false(mfa_of("alice").registered);
	/* on record as it was at the prompt: interrupted */
	assert_string_equal(last_signin("alice").outcome, "interrupted");
	assert_string_equal(last_signin("alice").mfa, "prompted");
	assert_logged("MFA controls for alice failed: .*; denying");
	assert_null(strstr(g_log, "ALLOWING"));
}

/* A list file that is missing is an unavailable check, not an unknown
 * user. */
static void test_missing_list_is_not_unknown_user(void **state)
{
	char path[160];

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.list", F.dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTHINFO_UNAVAIL);
	assert_logged("assessing sign-in of alice: No such file or directory");
}

/* The finding: a missing list file under on_error: allow let a user whose
 * MFA was locked in from a new network.  on_error covers an unavailable
 * store, nothing else: the sign-in is denied and the log says why. */
static void test_on_error_allow_covers_only_the_store(void **state)
{
	char path[160];
	pam_result r;

	(void)state;
	write_policy(NULL, "on_error: allow\n" REG_ENABLED(14));
	register_alice("rrtest", 0);
	answers(0, 3, "111111", "222222", "333333");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	answers(0, 2, "444444", "555555");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	snprintf(path, sizeof(path), "%s/bad.list", F.dir);
	assert_int_equal(unlink(path), 0);
	log_reset();
	answers(0, 0);
	r = login("rrtest", "alice", "203.0.113.5", true);
	assert_int_equal(r.auth, PAM_AUTHINFO_UNAVAIL);
	assert_null(strstr(g_log, "ALLOWING"));
	assert_logged("on_error: allow does not apply: the detections' files "
		      "\\(lists\\) failed, not the store; denying");
	/* an unknown user is not let in by on_error either */
	log_reset();
	assert_int_equal(login("rrtest", "nobody", "10.1.2.3", true).auth,
			 PAM_USER_UNKNOWN);
	assert_null(strstr(g_log, "ALLOWING"));
}

static void test_account_only_cannot_ask_for_mfa(void **state)
{
	(void)state;
	write_policy(NULL, REG_ENABLED(14));
	register_alice("rrtest", 0);
	assert_int_equal(login("rrtest-account", "alice", "198.51.100.7",
			       false).account, PAM_PERM_DENIED);
	assert_matches(F.msgs, "^Sign-in denied: this sign-in is at medium "
		       "risk \\(anonymizing network\\), and policy requires "
		       "multifactor authentication, which this login method "
		       "cannot ask for\\.");
	/* and an unregistered user past the grace period is told to
	 * register with a method that can ask */
	set_grace_start("bob", time(NULL) - 30 * 86400);
	assert_int_equal(login("rrtest-account", "bob", "10.1.2.3",
			       false).account, PAM_PERM_DENIED);
	assert_matches(F.msgs, "you must register an authenticator app");
}

static void test_report_only_never_enforced(void **state)
{
	pam_result r;

	(void)state;
	write_policy("  - name: Would block everyone\n"
		     "    state: reportOnly\n"
		     "    grant: { block: true }\n"
		     "  - name: Disabled block\n"
		     "    state: disabled\n"
		     "    grant: { block: true }\n", NULL);
	r = login("rrtest", "alice", "10.9.9.9", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_logged("decision=allow outcome=success user=\"alice\" .*"
		      "applied=\"-\" report_only=\"Would block everyone\"");
	assert_string_equal(last_signin("alice").report_only,
			    "Would block everyone");
}

static void test_unfamiliar_network_after_learning(void **state)
{
	pam_result r;

	(void)state;
	/* learning: 2 successful sign-ins */
	assert_int_equal(login("rrtest", "alice", "10.1.1.1", true).auth,
			 PAM_SUCCESS);
	assert_int_equal(login("rrtest", "alice", "10.1.1.2", true).auth,
			 PAM_SUCCESS);
	/* the same /24 is familiar */
	assert_int_equal(login("rrtest", "alice", "10.1.1.200", true).auth,
			 PAM_SUCCESS);
	/* a new network is not: medium sign-in risk requires MFA */
	r = login("rrtest", "alice", "192.0.2.10", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_string_equal(last_signin("alice").detections,
			    "unfamiliarFeatures:medium");
	assert_matches(F.msgs, "new location for this account");
	/* local console sign-ins carry no network */
	r = login("rrtest", "alice", NULL, true);
	assert_int_equal(r.auth, PAM_SUCCESS);
}

static void test_authfail_then_brute_force(void **state)
{
	pam_result r;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		r = login("rrtest-fail", "alice", "10.5.5.5", true);
		assert_int_equal(r.auth, PAM_AUTH_ERR);
	}
	/* 2 failures: below the threshold of 3 */
	r = login("rrtest", "alice", "10.5.5.5", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	for (i = 0; i < 3; i++)
		login("rrtest-fail", "alice", "192.0.2.50", true);
	/* 3 failures then a success outside the office: high, blocked */
	r = login("rrtest", "alice", "192.0.2.50", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_string_equal(last_signin("alice").detections,
			    "bruteForce:high");
}

/*
 * The finding: an admin rewrites the policy in place (cat > file) and a
 * sign-in reads it between the first part, which parses but lacks the
 * block, and the rest.  The high-risk user must not be let in: the module
 * waits for the file to settle and reads the whole policy; riskd (suite
 * pam-riskd) keeps the policy it parsed before.  Once the file is whole
 * and settled, the next sign-in is decided by the new policy.
 */
#define HALF_HEAD                                                            \
	"policies:\n"                                                         \
	"  - name: Sign-in risk requires MFA\n"                               \
	"    conditions: { signin_risk: [medium, high] }\n"                   \
	"    grant: { require: [mfa] }\n"
#define HALF_BLOCK(name)                                                     \
	"  - name: " name "\n"                                                \
	"    conditions: { user_risk: [high] }\n"                             \
	"    grant: { block: true }\n"

/* cat > F.policy, with a pause: the head (a fresh mtime), a byte on
 * `ready`, then the rest after `pause_ms`.  Runs in a child. */
static void rewrite_in_place(const char *head, const char *rest, int ready,
			     unsigned pause_ms)
{
	int fd = open(F.policy, O_WRONLY | O_TRUNC | O_CLOEXEC);
	bool ok = fd >= 0;

	ok = ok && write(fd, head, strlen(head)) == (ssize_t)strlen(head);
	ok = ok && write(ready, "x", 1) == 1;
	usleep(pause_ms * 1000);
	ok = ok && write(fd, rest, strlen(rest)) == (ssize_t)strlen(rest);
	_exit(ok && close(fd) == 0 ? 0 : 1);
}

static void test_policy_half_written_not_used(void **state)
{
	char head[2048];
	int ready[2], st, tries;
	pam_result r;
	pid_t pid;

	(void)state;
	write_fixture_policy(HALF_HEAD HALF_BLOCK("Block high user risk"));
	set_user_risk("alice", RR_LEVEL_HIGH, 0);
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTH_ERR);
	snprintf(head, sizeof(head), "version: 1\nissuer: Test Corp\n"
		 "store: { backend: sqlite, path: %s }\n"
		 "mfa: { key_file: %s/mfa.key }\n" HALF_HEAD, F.store, F.dir);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		rewrite_in_place(head, HALF_BLOCK("Block high user risk v2"),
				 ready[1], 300);
	close(ready[1]);
	assert_int_equal(read(ready[0], head, 1), 1);
	close(ready[0]);
	/* the file holds the first part only, written just now */
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_string_equal(last_signin("alice").outcome, "blocked");
	assert_matches(last_signin("alice").applied,
		       "^Block high user risk( v2)?$");
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* whole: decided by the new policy (riskd: once it has settled) */
	for (tries = 0; tries < 40; tries++) {
		r = login("rrtest", "alice", "10.1.2.3", true);
		assert_int_equal(r.auth, PAM_AUTH_ERR);
		if (!strcmp(last_signin("alice").applied,
			    "Block high user risk v2"))
			break;
		usleep(50 * 1000);
	}
	assert_string_equal(last_signin("alice").applied,
			    "Block high user risk v2");
}

static void test_invalid_policy_fails_closed(void **state)
{
	pam_result r;

	(void)state;
	write_file(F.policy, "version: 1\npolicies:\n  - name: x\n"
			     "    grnat: { block: true }\n", 0600);
	policy_settled(F.policy);
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_AUTHINFO_UNAVAIL);
	assert_string_equal(F.msgs, "Sign-in denied: the sign-in risk check "
				    "is unavailable. Contact your IT help "
				    "desk.\n");
	assert_logged("policy: .*policy\\.yaml:4:5: unknown key \"grnat\"");
	r = login("rrtest-account", "alice", "10.1.2.3", false);
	assert_int_equal(r.account, PAM_AUTH_ERR);
}

static void test_policy_permissions_fail_closed(void **state)
{
	(void)state;
	assert_int_equal(chmod(F.policy, 0666), 0);
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(chmod(F.policy, 0600), 0);
	assert_int_equal(chown(F.policy, 65534, 65534), 0);
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTHINFO_UNAVAIL);
}

static void test_store_refused_fails_closed(void **state)
{
	char dir[160];

	(void)state;
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	snprintf(dir, sizeof(dir), "%s/store", F.dir);
	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTHINFO_UNAVAIL);
	assert_logged("<[0-9]+>pam_riskremediate\\(rrtest:auth\\): risk store "
		      ".*/store/risk.db: ");
	/* the admin's explicit on_error: allow is honoured, loudly */
	write_policy(NULL, "on_error: allow\n");
	log_reset();
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	assert_logged("<81>pam_riskremediate\\(rrtest:auth\\): on_error: "
		      "allow is set: ALLOWING sign-in of alice");
	assert_int_equal(chmod(dir, 0700), 0);
}

static void test_bad_inputs_denied(void **state)
{
	(void)state;
	assert_int_equal(login("rrtest-badarg", "alice", NULL, true).auth,
			 PAM_AUTHINFO_UNAVAIL);
	assert_logged("unknown or misplaced argument \"bogus\"");
	assert_int_equal(login("rrtest", "bad user", NULL, true).auth,
			 PAM_AUTH_ERR);
	assert_int_equal(login("rrtest", "nosuchuser", NULL, true).auth,
			 PAM_USER_UNKNOWN);
	assert_int_equal(login("rrtest", "alice", "10.0.0.1\"x", true).auth,
			 PAM_AUTH_ERR);
	assert_string_equal(F.msgs, "Sign-in denied: the sign-in data is "
				    "invalid.\n");
}

static void test_preauth_blocks_before_password(void **state)
{
	(void)state;
	assert_int_equal(login("rrtest-preauth", "alice", "10.1.2.3",
			       true).auth, PAM_SUCCESS);
	/* preauth allows without recording: the full check runs later */
	admin(RR_ADMIN_CONFIRM_COMPROMISED, "alice");
	assert_int_equal(login("rrtest-preauth", "alice", "10.1.2.3",
			       true).auth, PAM_AUTH_ERR);
	assert_int_equal(count_signins("alice"), 1);
	assert_matches(F.msgs, "^Sign-in blocked: your account is at high");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fixture_teardown)
		T(test_allow_records_and_logs),
		T(test_block_high_user_risk),
		T(test_account_only_enforces_block),
		T(test_breakglass_group_excluded),
		T(test_malicious_ip_blocked_outside_office),
		T(test_mfa_required_unregistered_is_refused),
		T(test_registration_offer_skip_in_grace),
		T(test_registration_forced_after_grace),
		T(test_registration_required_when_policy_requires_mfa),
		T(test_mfa_passes_and_remediates),
		T(test_mfa_replay_refused),
		T(test_mfa_rate_limit_locks),
		T(test_mfa_lock_applies_to_every_sign_in),
		T(test_other_users_session_cannot_register),
		T(test_other_users_session_is_unfamiliar),
		T(test_parallel_wrong_codes_stop_at_the_limit),
		T(test_probe_killed_at_prompt_is_recorded),
		T(test_confirm_compromised_during_prompt_denies),
		T(test_tap_allows_registration_during_risk),
		T(test_account_only_cannot_ask_for_mfa),
		T(test_conversation_failure_never_allowed),
		T(test_missing_list_is_not_unknown_user),
		T(test_on_error_allow_covers_only_the_store),
		T(test_report_only_never_enforced),
		T(test_unfamiliar_network_after_learning),
		T(test_authfail_then_brute_force),
		T(test_policy_half_written_not_used),
		T(test_invalid_policy_fails_closed),
		T(test_policy_permissions_fail_closed),
		T(test_store_refused_fails_closed),
		T(test_bad_inputs_denied),
		T(test_preauth_blocks_before_password),
#undef T
	};

	return cmocka_run_group_tests(tests, nss_setup, nss_teardown);
}
