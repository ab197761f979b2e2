/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-login cost through the real libpam: pam_start, pam_authenticate,
 * pam_acct_mgmt, pam_end, for
 *   floor     pam_permit alone
 *   ours      pam_permit + pam_riskremediate (allow path: policy loaded,
 *             detections run, sign-in recorded)
 *   faillock  pam_permit + pam_faillock preauth/authsucc
 * measured in the same run, alternating rounds, medians compared.  Then our
 * cost with 1,000 vs 100,000 users in the store.
 *
 * usage: bench_login MODULE.so [rounds] [logins-per-round] [large-users]
 * Run as root (the store and policy must be root-owned).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench_syslog.h"
#include "rr_store.h"

#define MAX_ROUNDS 101

static char g_dir[64], g_conf[96];

static int conv(int n, const struct pam_message **m, struct pam_response **r,
		void *d)
{
	(void)m;
	(void)d;
	*r = calloc((size_t)n, sizeof(**r));
	return *r ? PAM_SUCCESS : PAM_BUF_ERR;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Mean ns per login over `n` logins of `service`. */
static double run_round(const char *service, int n)
{
	struct pam_conv c = { conv, NULL };
	double t0 = now_ns();
	int i;

	for (i = 0; i < n; i++) {
		pam_handle_t *h = NULL;
		int r;

		if (pam_start_confdir(service, "root", &c, g_conf, &h) !=
		    PAM_SUCCESS)
			exit(2);
		pam_set_item(h, PAM_RHOST, "10.0.0.1");
		r = pam_authenticate(h, PAM_SILENT);
		if (r == PAM_SUCCESS)
			r = pam_acct_mgmt(h, PAM_SILENT);
		pam_end(h, r);
		if (r != PAM_SUCCESS) {
			fprintf(stderr, "%s: login failed: %s\n", service,
				pam_strerror(NULL, r));
			exit(3);
		}
	}
	return (now_ns() - t0) / n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Insert users [from, to) into the store: a sign-in each and, for one in
 * ten, a user-risk detection, so the tables grow like a real fleet's. */
static void populate(const char *store, int from, int to)
{
	rr_store *s = NULL;
	char user[32], ref[RR_REF_LEN + 1];
	int i;

	if (rr_store_open(store, &s) < 0) {
		fprintf(stderr, "cannot open store %s\n", store);
		exit(1);
	}
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
	char path[160], text[2048], policy[128];

	snprintf(g_dir, sizeof(g_dir), "/tmp/rr-bench-XXXXXX");
	if (!mkdtemp(g_dir))
		exit(1);
	snprintf(g_conf, sizeof(g_conf), "%s/pam.d", g_dir);
	mkdir(g_conf, 0755);
	snprintf(policy, sizeof(policy), "%s/policy.yaml", g_dir);
	snprintf(store, store_len, "%s/store/risk.db", g_dir);
	snprintf(text, sizeof(text),
		 "version: 1\nstore: { backend: sqlite, path: %s }\n"
		 "detections:\n"
		 "  unfamiliarFeatures: { level: medium, learning_days: 0,"
		 " learning_signins: 1 }\n"
		 "  bruteForce: { level: high, failures: 10, window: 10m }\n"
		 "policies:\n"
		 "  - name: Block high user risk\n"
		 "    conditions: { user_risk: [high] }\n"
		 "    grant: { block: true }\n"
		 "  - name: Sign-in risk requires MFA\n"
		 "    conditions: { signin_risk: [medium, high] }\n"
		 "    grant: { require: [mfa] }\n", store);
	write_file(policy, text, 0600);
	snprintf(path, sizeof(path), "%s/floor", g_conf);
	write_file(path, "auth required pam_permit.so\n"
			 "account required pam_permit.so\n", 0644);
	snprintf(path, sizeof(path), "%s/ours", g_conf);
	snprintf(text, sizeof(text),
		 "auth required pam_permit.so\n"
		 "auth required %s policy=%s\n"
		 "account required pam_permit.so\n"
		 "account required %s policy=%s\n",
		 module, policy, module, policy);
	write_file(path, text, 0644);
	snprintf(path, sizeof(path), "%s/faillock", g_conf);
	snprintf(text, sizeof(text),
		 "auth required pam_faillock.so preauth dir=%s/tally\n"
		 "auth required pam_permit.so\n"
		 "auth required pam_faillock.so authsucc dir=%s/tally\n"
		 "account required pam_faillock.so dir=%s/tally\n"
		 "account required pam_permit.so\n", g_dir, g_dir, g_dir);
	write_file(path, text, 0644);
}

static void compare(int rounds, int per_round)
{
	static const char *svc[3] = { "floor", "ours", "faillock" };
	double t[3][MAX_ROUNDS], m[3];
	int i, k;

	for (k = 0; k < 3; k++)
		run_round(svc[k], per_round / 4 + 1); /* warm up */
	for (i = 0; i < rounds; i++)
		for (k = 0; k < 3; k++) /* rotate the order each round */
			t[(k + i) % 3][i] = run_round(svc[(k + i) % 3],
						      per_round);
	for (k = 0; k < 3; k++)
		m[k] = median(t[k], rounds);
	printf("per-login cost, median of %d alternating rounds of %d logins\n",
	       rounds, per_round);
	for (k = 0; k < 3; k++)
		printf("  %-9s %10.1f us\n", svc[k], m[k] / 1000.0);
	printf("  overhead over pam_permit: ours %.1f us, pam_faillock %.1f "
	       "us, ratio ours/faillock %.2f (target <= 1.00)\n",
	       (m[1] - m[0]) / 1000.0, (m[2] - m[0]) / 1000.0,
	       (m[1] - m[0]) / (m[2] - m[0]));
}

static double ours_median(int rounds, int per_round)
{
	double t[MAX_ROUNDS];
	int i;

	for (i = 0; i < rounds; i++)
		t[i] = run_round("ours", per_round);
	return median(t, rounds);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	char store[128];
	int rounds = argc > 2 ? atoi(argv[2]) : 9;
	int per_round = argc > 3 ? atoi(argv[3]) : 200;
	int large_users = argc > 4 ? atoi(argv[4]) : 100000;
	double small, large;

	if (argc < 2 || rounds < 1 || rounds > MAX_ROUNDS || per_round < 1 ||
	    large_users < 1000) {
		fprintf(stderr, "usage: %s MODULE.so [rounds<=%d] [logins] "
			"[large-users>=1000]\n",
			argv[0], MAX_ROUNDS);
		return 2;
	}
	bench_syslog_begin("bench_login");
	setup(argv[1], store, sizeof(store));
	populate(store, 0, 1000);
	compare(rounds, per_round);
	small = ours_median(rounds, per_round);
	populate(store, 1000, large_users);
	large = ours_median(rounds, per_round);
	printf("ours with 1,000 users: %.1f us; with %d users: %.1f us; "
	       "ratio %.2f (target <= 1.20)\n", small / 1000.0, large_users,
	       large / 1000.0, large / small);
	nftw(g_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	bench_syslog_end();
	return 0;
}
