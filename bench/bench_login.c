/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-login cost through the real libpam: pam_start, pam_authenticate,
 * pam_acct_mgmt, pam_end, for
 *   floor     pam_permit alone
 *   ours      pam_permit + pam_riskremediate (allow path: policy loaded,
 *             detections run, sign-in recorded)
 *   faillock  pam_permit + pam_faillock preauth/authsucc
 * measured in the same run, alternating rounds, medians compared.  Then
 * the embedded store alone in this process (open, record one sign-in,
 * close), and our cost with 1,000 vs 100,000 users in the store.
 *
 * usage: bench_login MODULE.so [rounds] [logins-per-round] [large-users]
 * (large-users 1000: no comparison of store sizes)
 * Run as root (the store and policy must be root-owned).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_common.h"
#include "bench_syslog.h"
#include "rr_store.h"

static bench_scratch g_tmp;

/* Insert users [from, to) into the store: a sign-in each and, for one in
 * ten, a user-risk detection, so the tables grow like a real fleet's. */
static void populate(const char *store, int from, int to)
{
	rr_store *s = NULL;
	char user[32], ref[RR_REF_LEN + 1];
	int i;

	if (rr_store_open(store, &s) < 0)
		bench_die("cannot open store %s", store);
	for (i = from; i < to; i++) {
		rr_signin_rec rec = {
			.time = (int64_t)time(NULL) - 3600, .user = user,
			.service = "sshd", .rhost = "192.0.2.1", .tty = "ssh",
			.netkey = "192.0.2.0/24", .outcome = "success",
			.applied = "", .report_only = "", .reason = "",
		};

		snprintf(user, sizeof(user), "user%06d", i);
		if (rr_store_signin_record(s, &rec, ref) < 0)
			exit(1);
		if (i % 10 == 0 &&
		    rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED, user,
				   "bench", rec.time, NULL) < 0)
			exit(1);
	}
	rr_store_close(s);
}

static void setup(const char *module, char *store, size_t store_len)
{
	char text[1024], policy[128];

	bench_scratch_make(&g_tmp, "");
	snprintf(policy, sizeof(policy), "%s/policy.yaml", g_tmp.dir);
	snprintf(store, store_len, "%s/store/risk.db", g_tmp.dir);
	bench_write_policy(policy, store, "", "", NULL);
	bench_service_floor(&g_tmp);
	bench_service_ours(&g_tmp, "ours", module, policy);
	snprintf(text, sizeof(text),
		 "auth required pam_faillock.so preauth dir=%s/tally\n"
		 "auth required pam_permit.so\n"
		 "auth required pam_faillock.so authsucc dir=%s/tally\n"
		 "account required pam_faillock.so dir=%s/tally\n"
		 "account required pam_permit.so\n", g_tmp.dir, g_tmp.dir,
		 g_tmp.dir);
	bench_service(&g_tmp, "faillock", text);
	/* each module loaded at pam_start (libpam maps every module of the
	 * service) but never called: what mapping it costs */
	snprintf(text, sizeof(text),
		 "auth required pam_permit.so\n"
		 "account required pam_permit.so\n"
		 "session optional %s riskd=off policy=%s\n", module, policy);
	bench_service(&g_tmp, "ours-load", text);
	bench_service(&g_tmp, "faillock-load",
		      "auth required pam_permit.so\n"
		      "account required pam_permit.so\n"
		      "session optional pam_faillock.so\n");
}

/* pam_faillock's overhead over pam_permit, ns. */
static double compare(int rounds, int per_round)
{
	static const char *const svc[5] = { "floor", "ours", "faillock",
					    "ours-load", "faillock-load" };
	bench_services s = { g_tmp.conf, svc, NULL };
	double t[5][BENCH_MAX_ROUNDS], m[5];
	int k;

	bench_alternate(5, rounds, per_round, per_round / 4 + 1,
			bench_round_services, &s, t, m);
	printf("per-login cost, median of %d alternating rounds of %d logins\n",
	       rounds, per_round);
	for (k = 0; k < 5; k++)
		printf("  %-13s %10.1f us\n", svc[k], m[k] / 1000.0);
	printf("  overhead over pam_permit: ours %.1f us, pam_faillock %.1f "
	       "us, ratio ours/faillock %.2f (target <= 1.00)\n",
	       (m[1] - m[0]) / 1000.0, (m[2] - m[0]) / 1000.0,
	       (m[1] - m[0]) / (m[2] - m[0]));
	printf("  of which mapping the module at pam_start (loaded, never "
	       "called): ours %.1f us, pam_faillock %.1f us\n",
	       (m[3] - m[0]) / 1000.0, (m[4] - m[0]) / 1000.0);
	return m[2] - m[0];
}

/* Round of the embedded store alone, in this process (libsqlite3 already
 * mapped, no PAM, no policy): open it, record one allowed sign-in, close.
 * What the in-process allow path pays for the store at the least. */
static double store_round(void *arg, int k, int n)
{
	rr_signin_rec rec = {
		.user = "root", .service = "ours", .rhost = "",
		.tty = "bench", .netkey = "", .outcome = "success",
		.applied = "", .report_only = "", .reason = "",
	};
	char ref[RR_REF_LEN + 1];
	rr_store *s = NULL;
	double t0;
	int i;

	(void)k;
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		rec.time = (int64_t)time(NULL);
		if (rr_store_open(arg, &s) < 0 ||
		    rr_store_signin_record(s, &rec, ref) < 0)
			bench_die("store alone: cannot record a sign-in");
		rr_store_close(s);
	}
	return (bench_now_ns() - t0) / n;
}

static void store_alone(char *store, int rounds, int per_round,
			double faillock)
{
	double t[1][BENCH_MAX_ROUNDS], m;

	bench_alternate(1, rounds, per_round, per_round / 4 + 1, store_round,
			store, t, &m);
	printf("the embedded store alone, in this process (open, record one "
	       "sign-in, close; no PAM, no policy): %.1f us, %.2f x "
	       "pam_faillock's whole overhead\n", m / 1000.0, m / faillock);
}

/* "ours" alone, no warm-up: the median of `rounds` round means. */
static double ours_median(int rounds, int per_round)
{
	static const char *const svc[1] = { "ours" };
	bench_services s = { g_tmp.conf, svc, NULL };
	double t[1][BENCH_MAX_ROUNDS], m;

	bench_alternate(1, rounds, per_round, 0, bench_round_services, &s, t,
			&m);
	return m;
}

int main(int argc, char **argv)
{
	char store[128];
	int large_users = argc > 4 ? atoi(argv[4]) : 100000;
	int rounds, per_round;
	double small, large, faillock;

	bench_args(argc, argv, " [large-users>=1000]", large_users >= 1000,
		   &rounds, &per_round);
	bench_need_root("the store and policy must be root-owned");
	bench_syslog_begin("bench_login");
	setup(argv[1], store, sizeof(store));
	populate(store, 0, 1000);
	faillock = compare(rounds, per_round);
	store_alone(store, rounds, per_round, faillock);
	if (large_users > 1000) {
		small = ours_median(rounds, per_round);
		populate(store, 1000, large_users);
		large = ours_median(rounds, per_round);
		printf("ours with 1,000 users: %.1f us; with %d users: %.1f "
		       "us; ratio %.2f (target <= 1.20)\n", small / 1000.0,
		       large_users, large / 1000.0, large / small);
	}
	bench_scratch_remove(&g_tmp);
	bench_syslog_end();
	return 0;
}
