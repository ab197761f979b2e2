/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet (DESIGN 7.1), end to end on a real 3-member etcd cluster with
 * TLS and authentication (run_cluster_test.sh starts it): three riskd
 * instances are three hosts (each its own socket, policy, store and host
 * name, one prefix per test), sign-ins go through the real libpam and the
 * built module to each host's riskd, admin actions through the built
 * riskctl.  Nothing is mocked.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rr_etcd.h"
#include "rr_fleet_attacks.h"
#include "rr_fleet_model.h"
#include "rr_fleet_signins.h"
#include "rr_mfa.h"
#include "rr_store_replica.h"

/* three hosts; the spray test runs six */
#define MAX_HOSTS 6
#define DEADLINE_MS 15000

typedef struct {
	char name[8];
	char dir[72];
	char policy[96];
	char store[96];
	char sock[96];
	char service[16];
	char fail_service[24]; /* a failed password (authfail) */
	pid_t pid;
} host;

static host H[MAX_HOSTS];
static int n_hosts = 3;
static char prefix[96];
static char module_copy[200];
/* set by a test's setup before the hosts' policies are written */
static const char *extra_policy = "";
static const char *mfa_extra = "";  /* more keys of the mfa mapping */
static bool with_anon; /* 198.51.100.0/24 an anonymizing network */
static int riskctl_on(int i, char *out, size_t len, const char *a1,
		      const char *a2, const char *a3);
static void wait_all_caught_up(void);
static void kill_hosts(void);
static int root_on(int i, const char *rhost, const char *auth_info);
static char anon_extra[400];

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "%s not set: run me with run_cluster_test.sh\n",
			name);
		exit(1);
	}
	return v;
}

/* vsnprintf into buf, which must hold it all */
__attribute__((format(printf, 3, 4)))
static void fmtp(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ---- etcd directly (what the cluster holds) ----------------------------- */

static rr_etcd *etcd_open(void)
{
	static char buf[1024];
	static const char *eps[3];
	rr_etcd_cfg c = {0};
	rr_etcd *e = NULL;
	char *save = NULL, *tok;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", env("ETCD_ENDPOINTS"));
	for (tok = strtok_r(buf, ",", &save); tok && n < 3;
	     tok = strtok_r(NULL, ",", &save))
		eps[n++] = tok;
	c.endpoints = eps;
	c.n_endpoints = n;
	c.ca = env("ETCD_CA");
	c.cert = env("ETCD_CERT");
	c.key = env("ETCD_KEY");
	c.user = env("ETCD_USER");
	c.password_file = env("ETCD_PASSWORD_FILE");
	assert_int_equal(rr_etcd_open(&c, &e), 0);
	return e;
}

/* The cluster's current revision. */
static int64_t etcd_revision(void)
{
	rr_etcd *e = etcd_open();
	rr_etcd_range *r = NULL;
	int64_t rev;

	assert_int_equal(rr_etcd_get(e, prefix, strlen(prefix), &r), 0);
	rev = r->revision;
	rr_etcd_range_free(r);
	rr_etcd_free(e);
	return rev;
}

/* The value of P users/USER/KIND, or NULL (malloc'd). */
static char *etcd_value(const char *user, const char *kind)
{
	char key[256];
	rr_etcd *e = etcd_open();
	rr_etcd_range *r = NULL;
	char *v = NULL;

	snprintf(key, sizeof(key), "%susers/%s/%s", prefix, user, kind);
	assert_int_equal(rr_etcd_get(e, key, strlen(key), &r), 0);
	if (r->n)
		v = strndup((const char *)r->kvs[0].value,
			    r->kvs[0].value_len);
	rr_etcd_range_free(r);
	rr_etcd_free(e);
	return v;
}

/* Put `text` at P users/USER/KIND; the revision of the change. */
static int64_t etcd_put_value(rr_etcd *e, const char *user, const char *kind,
			      const char *text)
{
	char key[256];
	int64_t rev = 0;

	fmtp(key, sizeof(key), "%susers/%s/%s", prefix, user, kind);
	assert_int_equal(rr_etcd_put(e, key, strlen(key), text, strlen(text),
				     0, &rev), 0);
	assert_true(rev > 0);
	return rev;
}

/* USER's MFA record as etcd holds it (it must be there and valid). */
static void etcd_mfa(rr_etcd *e, const char *user, rr_fleet_mfa *v)
{
	char key[256];
	rr_etcd_range *r = NULL;

	fmtp(key, sizeof(key), "%susers/%s/mfa", prefix, user);
	assert_int_equal(rr_etcd_get(e, key, strlen(key), &r), 0);
	assert_int_equal(r->n, 1);
	assert_int_equal(rr_fleet_mfa_decode((const char *)r->kvs[0].value,
					     r->kvs[0].value_len, v), 0);
	rr_etcd_range_free(r);
}

/* Write USER's MFA record back with its replay guard and wrong codes
 * cleared, as if no code had been used yet: the revision of the change. */
static int64_t etcd_mfa_rearm(rr_etcd *e, const char *user)
{
	rr_fleet_mfa v;
	char *text = NULL;
	size_t len = 0;
	int64_t rev;

	etcd_mfa(e, user, &v);
	v.last_step = 0;
	v.n_failures = 0;
	assert_int_equal(rr_fleet_mfa_encode(&v, &text, &len), 0);
	rev = etcd_put_value(e, user, "mfa", text);
	rr_fleet_text_free(text);
	rr_fleet_mfa_clear(&v);
	return rev;
}

/* A registered user's authenticator, unsealed from etcd's record. */
typedef struct {
	uint8_t secret[RR_TOTP_SECRET_MAX];
	size_t len;
	rr_totp_params t;
} authenticator;

static void authenticator_of(const char *user, authenticator *a)
{
	uint8_t key[RR_MFA_KEY_LEN];
	char path[160];
	rr_fleet_mfa v;
	rr_etcd *e = etcd_open();

	etcd_mfa(e, user, &v);
	rr_etcd_free(e);
	assert_true(v.sealed_len > 0);
	fmtp(path, sizeof(path), "%s/mfa.key", F.dir);
	assert_int_equal(rr_mfa_key_load(path, false, key), 0);
	assert_int_equal(rr_mfa_unseal(key, user, v.sealed, v.sealed_len,
				       a->secret, sizeof(a->secret), &a->len),
			 0);
	rr_totp_params_default(&a->t);
	a->t.alg = (rr_totp_alg)v.alg;
	a->t.digits = v.digits;
	a->t.period = v.period;
	explicit_bzero(key, sizeof(key));
	rr_fleet_mfa_clear(&v);
}

/* The code of step now + offset. */
static void code_at(const authenticator *a, int offset,
		    char code[RR_TOTP_CODE_MAX + 1])
{
	assert_int_equal(rr_totp_code(a->secret, a->len, &a->t,
				      time(NULL) / a->t.period + offset,
				      code), 0);
}

/* A code of the right length that none of the steps around now accepts. */
static void wrong_code(const authenticator *a, char code[RR_TOTP_CODE_MAX + 1])
{
	char near[3][RR_TOTP_CODE_MAX + 1];
	unsigned long n, mod = 1;
	unsigned i;

	for (i = 0; i < a->t.digits; i++)
		mod *= 10;
	for (i = 0; i < 3; i++)
		code_at(a, (int)i - 1, near[i]);
	for (n = strtoul(near[1], NULL, 10) + 1;; n++) {
		fmtp(code, RR_TOTP_CODE_MAX + 1, "%0*lu", (int)a->t.digits,
		     n % mod);
		if (strcmp(code, near[0]) && strcmp(code, near[1]) &&
		    strcmp(code, near[2]))
			return;
	}
}

/* ---- the cluster (tests/etcd/etcd-cluster) ------------------------------ */

/* etcd-cluster VERB DIR MEMBER */
static void cluster(const char *verb, int member)
{
	char n[8];
	pid_t pid;
	int st;

	fmtp(n, sizeof(n), "%d", member);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execl(env("RR_ETCD_CLUSTER_TOOL"), "etcd-cluster", verb,
		      env("RR_ETCD_CLUSTER_DIR"), n, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("etcd-cluster %s %d: wait status 0x%x", verb, member,
			 st);
}

/* The kinds (RR_SHARED_BIT) queued for USER in the store F.store. */
static unsigned queued_kinds(const char *user)
{
	rr_store_queued *rows = NULL;
	rr_store *s = open_store();
	unsigned kinds = 0;
	size_t n = 0, i;

	assert_int_equal(rr_store_queue_list(s, 0, &rows, &n), 0);
	for (i = 0; i < n; i++)
		if (!strcmp(rows[i].user, user))
			kinds |= rows[i].kinds;
	free(rows);
	rr_store_close(s);
	return kinds;
}

/* ---- hosts ----------------------------------------------------------------- */

static int64_t replica_revision(const host *h)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t rev = 0;

	if (sqlite3_open_v2(h->store, &db, SQLITE_OPEN_READONLY, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(db,
			       "SELECT value FROM meta WHERE key = "
			       "'fleet_revision'",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		rev = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rev;
}

/* Host h's replica reflects revision `want` or a newer one. */
static void wait_revision(const host *h, int64_t want)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (replica_revision(h) < want) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("host %s: replica at revision %lld, not %lld",
				 h->name, (long long)replica_revision(h),
				 (long long)want);
		usleep(2000);
	}
}

/* Host h's replica reflects the cluster as it is now. */
static void wait_caught_up(const host *h)
{
	wait_revision(h, etcd_revision());
}

static void write_host_policy(const host *h)
{
	FILE *f;

	f = fopen(h->policy, "we");
	assert_non_null(f);
	fprintf(f,
		"version: 1\n"
		"issuer: Test Corp\n"
		"store:\n"
		"  backend: etcd\n"
		"  path: %s\n"
		"  etcd:\n"
		"    endpoints: [%s]\n"
		"    prefix: %s\n"
		"    host: %s\n"
		"    ca: %s\n"
		"    cert: %s\n"
		"    key: %s\n"
		"    user: %s\n"
		"    password_file: %s\n"
		"  offline: { max_staleness: 5s, mfa: deny }\n"
		"mfa: { key_file: %s/mfa.key%s }\n"
		"mfa_registration:\n"
		"  state: enabled\n"
		"  grace_days: 0\n"
		"  users: { include: [all], exclude: [root] }\n"
		"policies:\n"
		"  - name: Block high user risk\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { block: true }\n"
		"  - name: MFA for alice\n"
		"    users: { include: [alice] }\n"
		"    grant: { require: [mfa] }\n"
		"%s",
		h->store, env("ETCD_ENDPOINTS"), prefix, h->name,
		env("ETCD_CA"), env("ETCD_CERT"), env("ETCD_KEY"),
		env("ETCD_USER"), env("ETCD_PASSWORD_FILE"), F.dir,
		mfa_extra, extra_policy);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(h->policy, 0600), 0);
	policy_settled(h->policy);
}


static void start_host(host *h)
{
	struct timespec t0;
	int st;

	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		execl(RR_RISKD_PATH, "riskd", "--socket", h->sock, "--policy",
		      h->policy, (char *)NULL);
		_exit(127);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!socket_listening(h->sock)) {
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			h->pid = 0;
			fail_msg("riskd %s exited (0x%x)", h->name, st);
		}
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("riskd %s did not listen", h->name);
		usleep(5000);
	}
}

static void stop_host(host *h)
{
	int st = 0;

	if (h->pid <= 0)
		return;
	kill(h->pid, SIGTERM);
	waitpid(h->pid, &st, 0);
	h->pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("riskd %s ended with wait status 0x%x", h->name, st);
}

/* Make host i the fixture's: F.store (the harness reads it), F.policy. */
static void on(int i)
{
	fmtp(F.store, sizeof(F.store), "%s", H[i].store);
	fmtp(F.policy, sizeof(F.policy), "%s", H[i].policy);
}

static int setup(void **state)
{
	char dir[200], text[1024];
	const char *base;
	int i;

	(void)state;
	/* the hosts of a setup that failed (cmocka runs no teardown then):
	 * left running they would hold the test's output open */
	kill_hosts();
	fixture_setup("rr-fleet");
	if (with_anon) {
		fmtp(dir, sizeof(dir), "%s/anon.list", F.dir);
		write_file(dir, "# anonymizers\n198.51.100.0/24\n", 0644);
		fmtp(anon_extra, sizeof(anon_extra),
		     "detections:\n  anonymizedIPAddress: { level: medium, "
		     "lists: [%s] }\n",
		     dir);
		extra_policy = anon_extra;
	}
	base = strrchr(F.dir, '/') + 1;
	fmtp(prefix, sizeof(prefix), "/riskremediate/%s/", base);
	fmtp(dir, sizeof(dir), "%s/mod", F.dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	/* a module copy with no core next to it: riskd serves every call */
	fmtp(module_copy, sizeof(module_copy), "%s/pam_riskremediate.so",
		 dir);
	copy_file(RR_MODULE_PATH, module_copy);
	for (i = 0; i < n_hosts; i++) {
		host *h = &H[i];

		memset(h, 0, sizeof(*h));
		fmtp(h->name, sizeof(h->name), "host%c", 'a' + i);
		fmtp(h->dir, sizeof(h->dir), "%s/%s", F.dir, h->name);
		assert_int_equal(mkdir(h->dir, 0700), 0);
		fmtp(h->policy, sizeof(h->policy), "%s/policy.yaml",
			 h->dir);
		fmtp(h->store, sizeof(h->store), "%s/store/risk.db",
			 h->dir);
		fmtp(h->sock, sizeof(h->sock), "%s/riskd.sock", h->dir);
		fmtp(h->service, sizeof(h->service), "rr-%c", 'a' + i);
		write_host_policy(h);
		fmtp(text, sizeof(text),
			 "auth required %s riskd=%s policy=%s\n"
			 "account required %s riskd=%s policy=%s\n",
			 module_copy, h->sock, h->policy, module_copy, h->sock,
			 h->policy);
		write_raw_service(h->service, text);
		fmtp(h->fail_service, sizeof(h->fail_service), "rr-%c-fail",
		     'a' + i);
		fmtp(text, sizeof(text),
			 "auth [default=die] %s riskd=%s policy=%s authfail\n",
			 module_copy, h->sock, h->policy);
		write_raw_service(h->fail_service, text);
	}
	for (i = 0; i < n_hosts; i++)
		start_host(&H[i]);
	for (i = 0; i < n_hosts; i++)
		wait_caught_up(&H[i]);
	on(0);
	return 0;
}

/* The race's loser fails a code each round: no bruteForce risk from
 * those failures (a round's outcome is the test, not the host's history). */
static int setup_race(void **state)
{
	extra_policy = "detections:\n  bruteForce: { enabled: false }\n";
	return setup(state);
}

static int setup_anon(void **state)
{
	with_anon = true;
	return setup(state);
}

static int setup_lockout(void **state)
{
	mfa_extra = ", max_failures: 3, failure_window: 10m";
	return setup(state);
}

/* bruteForce at 3 failures, passwordSpray at 10 users; a risky sign-in
 * is blocked. */
#define COUNTS_POLICY                                                        \
	"  - name: Block risky sign-ins\n"                                   \
	"    conditions: { signin_risk: [medium, high] }\n"                  \
	"    grant: { block: true }\n"                                       \
	"detections:\n"                                                      \
	"  bruteForce: { failures: 3, window: 10m, level: high }\n"          \
	"  passwordSpray: { users: 10, window: 10m, level: high }\n"

static int setup_counts(void **state)
{
	extra_policy = COUNTS_POLICY;
	return setup(state);
}

static int setup_spray(void **state)
{
	n_hosts = 6;
	return setup_counts(state);
}

/* The hosts' paths and host A's policy; no riskd started. */
static int setup_no_riskd(void **state)
{
	(void)state;
	fixture_setup("rr-fleet");
	fmtp(prefix, sizeof(prefix), "/riskremediate/%s/",
	     strrchr(F.dir, '/') + 1);
	memset(H, 0, sizeof(H));
	fmtp(H[0].name, sizeof(H[0].name), "hosta");
	fmtp(H[0].dir, sizeof(H[0].dir), "%s/hosta", F.dir);
	assert_int_equal(mkdir(H[0].dir, 0700), 0);
	fmtp(H[0].policy, sizeof(H[0].policy), "%s/policy.yaml", H[0].dir);
	fmtp(H[0].store, sizeof(H[0].store), "%s/store/risk.db", H[0].dir);
	write_host_policy(&H[0]);
	on(0);
	return 0;
}

static int teardown(void **state)
{
	int i;

	extra_policy = "";
	mfa_extra = "";
	with_anon = false;
	for (i = 0; i < n_hosts; i++)
		stop_host(&H[i]);
	n_hosts = 3;
	return fixture_teardown(state);
}

/* ---- the tests ---------------------------------------------------------------- */

/* Registration on host A is the fleet's: host B asks for a code (no
 * second registration) and A's code is refused on B. */
static void test_registration_is_fleet_wide(void **state)
{
	char *mfa;
	pam_result r;

	(void)state;
	on(0);
	answers(0, 1, "@code");
	r = login(H[0].service, "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_matches(F.msgs, ".*otpauth://totp/.*");
	assert_true(mfa_of("alice").registered);
	/* etcd holds the sealed secret, never the clear one */
	mfa = etcd_value("alice", "mfa");
	assert_non_null(mfa);
	assert_non_null(strstr(mfa, "\"sealed\""));
	free(mfa);

	wait_caught_up(&H[1]);
	on(1);
	assert_true(mfa_of("alice").registered);
	/* the code used on A is refused on B: accepted once fleet-wide */
	answers(0, 1, "@same");
	r = login(H[1].service, "alice", "10.1.2.3", true);
	assert_int_not_equal(r.auth, PAM_SUCCESS);
	assert_null(strstr(F.msgs, "otpauth://"));
	assert_matches(F.msgs, ".*\\[secret\\] [^\n]*code.*");
}

/* ---- the same code on two hosts at once --------------------------------- */

/* Rounds of the race, as the issue asks: each takes about 50 ms (a reset
 * of the replay guard in etcd, both replicas caught up, two sign-ins
 * through riskd), 100 about 5 s. */
#define RACE_ROUNDS 100

enum { RACE_WON = 0, RACE_REPLAYED = 1, RACE_OTHER = 2 };

/* A child signing alice in on host i with `answer` (a gated code): exits
 * RACE_WON, RACE_REPLAYED (refused as a code already used) or
 * RACE_OTHER. */
static pid_t race_child(int i, const char *answer)
{
	pam_result r;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	on(i);
	answers(0, 1, answer);
	if (pam_run(H[i].service, "alice", "10.1.2.3",
		    RUN_AUTH | RUN_ACCOUNT, &r) != PAM_SUCCESS)
		_exit(RACE_OTHER);
	if (r.auth == PAM_SUCCESS && r.account == PAM_SUCCESS)
		_exit(RACE_WON);
	_exit(strstr(F.msgs, "That code was already used.") ? RACE_REPLAYED
							     : RACE_OTHER);
}

/* One round: alice's replay guard cleared in etcd and seen by hosts A
 * and B, both at the code prompt, then both answer the same code. */
static void race_round(rr_etcd *e, const authenticator *a, int round)
{
	static char answer[4 + RR_TOTP_CODE_MAX + 1];
	char code[RR_TOTP_CODE_MAX + 1];
	int outcome[RACE_OTHER + 1] = {0}, arrived, i, st;
	struct timespec t0;
	int64_t rev;
	pid_t pid[2];

	rev = etcd_mfa_rearm(e, "alice");
	wait_revision(&H[0], rev);
	wait_revision(&H[1], rev);
	/* one code for both, computed here: the two cannot straddle a step */
	code_at(a, 0, code);
	fmtp(answer, sizeof(answer), "@g1:%s", code);
	gates_reset();
	for (i = 0; i < 2; i++)
		pid[i] = race_child(i, answer);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (gate_arrivals() < 2 && ms_since(&t0) < DEADLINE_MS)
		usleep(500);
	arrived = gate_arrivals();
	gate_open(1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) <= RACE_OTHER);
		outcome[WEXITSTATUS(st)]++;
	}
	if (arrived < 2)
		fail_msg("round %d: %d of 2 sign-ins reached the code prompt",
			 round, arrived);
	if (outcome[RACE_WON] != 1 || outcome[RACE_REPLAYED] != 1)
		fail_msg("round %d: the same code accepted %d times, refused "
			 "as used %d times, %d other outcomes", round,
			 outcome[RACE_WON], outcome[RACE_REPLAYED],
			 outcome[RACE_OTHER]);
}

/* A code typed on hosts A and B at the same moment is accepted once:
 * both replicas accept it, one compare-and-swap wins, the other host's
 * write finds the record changed, runs again on etcd's record and refuses
 * the code as used. */
static void test_same_code_raced_on_two_hosts(void **state)
{
	authenticator a;
	rr_fleet_mfa v;
	struct timespec t0;
	rr_etcd *e;
	int round;

	(void)state;
	on(0);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	authenticator_of("alice", &a);
	e = etcd_open();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (round = 0; round < RACE_ROUNDS; round++)
		race_round(e, &a, round);
	fprintf(stderr, "# %d rounds in %ld ms\n", RACE_ROUNDS,
		ms_since(&t0));
	/* the last round's refused replay is counted once, fleet-wide */
	etcd_mfa(e, "alice", &v);
	assert_int_equal(v.n_failures, 1);
	assert_true(v.last_step > 0);
	rr_fleet_mfa_clear(&v);
	rr_etcd_free(e);
	explicit_bzero(&a, sizeof(a));
}

/* ---- wrong codes counted across hosts (mfa.max_failures 3) -------------- */

static void test_wrong_codes_counted_across_hosts(void **state)
{
	char wrong[RR_TOTP_CODE_MAX + 1];
	authenticator a;
	rr_fleet_mfa v;
	pam_result r;
	rr_etcd *e;

	(void)state;
	on(0);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	authenticator_of("alice", &a);
	wrong_code(&a, wrong);

	/* host A: two wrong codes, one short of the limit */
	answers(0, 2, wrong, wrong);
	r = login(H[0].service, "alice", "10.1.2.3", true);
	assert_int_not_equal(r.auth, PAM_SUCCESS);
	assert_matches(F.msgs, "(.*That code is not right\\.){2}.*");
	assert_null(strstr(F.msgs, "locked"));

	/* host B: its first wrong code is the fleet's third */
	wait_caught_up(&H[1]);
	on(1);
	log_reset();
	answers(0, 1, wrong);
	r = login(H[1].service, "alice", "10.1.2.3", true);
	assert_int_not_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(F_next_answer, 1);
	assert_null(strstr(F.msgs, "That code is not right."));
	assert_matches(F.msgs, ".*Sign-in denied: multifactor authentication "
		       "is locked after too many wrong codes\\..*");
	assert_logged(".*user \"alice\": MFA locked after 3 wrong codes.*");

	/* host C: the right code is not even asked for */
	wait_caught_up(&H[2]);
	on(2);
	assert_int_equal(mfa_of("alice").recent_failures, 3);
	answers(1, 1, "@code");
	r = login(H[2].service, "alice", "10.1.2.3", true);
	assert_int_not_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(F_next_answer, 0);
	assert_null(strstr(F.msgs, "[secret]"));
	assert_matches(F.msgs, ".*Sign-in denied: multifactor authentication "
		       "is locked after too many wrong codes\\..*");

	e = etcd_open();
	etcd_mfa(e, "alice", &v);
	assert_int_equal(v.n_failures, 3);
	rr_fleet_mfa_clear(&v);
	rr_etcd_free(e);
	explicit_bzero(&a, sizeof(a));
}

/* ---- etcd unreachable --------------------------------------------------- */

#define OFFLINE_MSG                                                          \
	"Sign-in denied: multifactor authentication is needed and the risk "  \
	"service is unreachable\\. Try again later\\."

/*
 * Every member stopped: past store.offline.max_staleness (5 s) a sign-in
 * that needs MFA (alice's code, carol's registration) is denied without a
 * prompt; bob (registered, no policy wants MFA for him) signs in from a
 * new network, and that familiar network waits in the host's queue; the
 * members back, the queue is published (the row gone) and etcd's familiar
 * record of bob has it.
 */
static void test_offline_denies_mfa_and_queues_familiar(void **state)
{
	struct timespec t0;
	pam_result r;
	char *fam;
	int m;

	(void)state;
	on(0);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "bob", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	fam = etcd_value("bob", "familiar");
	assert_non_null(fam);
	assert_non_null(strstr(fam, "\"10.1.2.0/24\""));
	assert_null(strstr(fam, "\"192.0.2.0/24\""));
	free(fam);

	for (m = 1; m <= 3; m++)
		cluster("stop-member", m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms_since(&t0) < 6500) /* max_staleness 5 s, and a margin */
		usleep(50000);

	log_reset();
	answers(1, 1, "@code");
	r = login(H[0].service, "alice", "10.1.2.3", true);
	assert_int_not_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(F_next_answer, 0);
	assert_matches(F.msgs, ".*" OFFLINE_MSG ".*");
	assert_logged(".*fleet replica stale: nothing heard from etcd for "
		      "[0-9]+ s, over max_staleness 5 s \\(offline\\.mfa "
		      "deny\\).*");
	/* carol has no authenticator: registering one needs etcd */
	answers(0, 1, "@code");
	r = login(H[0].service, "carol", "10.1.2.3", true);
	assert_int_not_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(F_next_answer, 0);
	assert_null(strstr(F.msgs, "otpauth://"));
	assert_matches(F.msgs, ".*" OFFLINE_MSG ".*");

	answers(0, 0);
	r = login(H[0].service, "bob", "192.0.2.7", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_int_equal(queued_kinds("bob"),
			 RR_SHARED_BIT(RR_SHARED_FAMILIAR));

	for (m = 1; m <= 3; m++)
		cluster("start-member", m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (queued_kinds("bob")) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("bob's queued write not published");
		usleep(20000);
	}
	fam = etcd_value("bob", "familiar");
	assert_non_null(fam);
	/* merged with etcd's record: the old network and the new one */
	assert_non_null(strstr(fam, "\"10.1.2.0/24\""));
	assert_non_null(strstr(fam, "\"192.0.2.0/24\""));
	free(fam);
}

/* ---- familiar sign-ins: counts published later --------------------------- */

/* bob's count of network `netkey` in etcd (-1: none). */
static int64_t etcd_familiar_count(const char *netkey)
{
	rr_fleet_familiar *v = calloc(1, sizeof(*v));
	int64_t count = -1;
	char *fam = etcd_value("bob", "familiar");
	size_t i;

	assert_non_null(v);
	if (fam) {
		assert_int_equal(rr_fleet_familiar_decode(fam, strlen(fam), v),
				 0);
		for (i = 0; i < v->n_networks; i++)
			if (!strcmp(v->networks[i].key, netkey))
				count = v->networks[i].count;
	}
	free(fam);
	free(v);
	return count;
}

/* bob's count of network `netkey` in host h's replica (-1: none). */
static int64_t replica_familiar_count(const host *h, const char *netkey)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t count = -1;

	if (sqlite3_open_v2(h->store, &db, SQLITE_OPEN_READONLY, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(db,
			       "SELECT count FROM familiar_networks WHERE "
			       "user = 'bob' AND netkey = ?1",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, netkey, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return count;
}

/* A sign-in from a familiar network and device does not wait for an etcd
 * write: its counts are queued and riskd's publisher sends them.  None is
 * lost while sign-ins keep coming during the publishes: 1 + 4 x 25
 * sign-ins (4 at a time), and etcd and the other host's replica count
 * 101. */
static void test_familiar_counts_published_later(void **state)
{
	const char *net = "10.5.6.0/24";
	struct timespec t0;
	pid_t pids[4];
	int i, st;

	(void)state;
	on(0);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "bob", "10.5.6.7", true).auth,
			 PAM_SUCCESS);
	/* a new network is published with the sign-in */
	assert_int_equal(etcd_familiar_count(net), 1);
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			int j;

			for (j = 0; j < 25; j++) {
				pam_result r;

				answers(0, 0);
				if (pam_run(H[0].service, "bob", "10.5.6.8",
					    RUN_AUTH | RUN_ACCOUNT,
					    &r) != PAM_SUCCESS ||
				    r.auth != PAM_SUCCESS ||
				    r.account != PAM_SUCCESS)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(replica_familiar_count(&H[0], net), 101);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (queued_kinds("bob") || etcd_familiar_count(net) != 101 ||
	       replica_familiar_count(&H[1], net) != 101) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("bob's counts: etcd %lld, host a %lld, host "
				 "b %lld, queued kinds %u",
				 (long long)etcd_familiar_count(net),
				 (long long)replica_familiar_count(&H[0], net),
				 (long long)replica_familiar_count(&H[1], net),
				 queued_kinds("bob"));
		usleep(50000);
	}
	assert_int_equal(replica_familiar_count(&H[0], net), 101);
}

/* ---- a temporary access pass: used once in the fleet ----------------------- */

/* A pass issued on host A lets bob, unregistered and signing in from an
 * anonymizing network (risky: registration needs the pass), register
 * once: the same pass typed on hosts B and C at the same moment is
 * accepted on one of them only, and refused on A afterwards. */
static void test_tap_used_once(void **state)
{
	char out[4096], pass[32];
	regmatch_t mt[1];
	regex_t re;
	pid_t pids[2];
	int i, st, ok = 0;

	(void)state;
	on(0);
	assert_int_equal(riskctl_on(0, out, sizeof(out), "tap", "issue",
				    "bob"),
			 0);
	assert_int_equal(regcomp(&re, "[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-"
				      "[A-Z2-9]{4}",
				 REG_EXTENDED),
			 0);
	assert_int_equal(regexec(&re, out, 1, mt, 0), 0);
	regfree(&re);
	fmtp(pass, sizeof(pass), "%.*s", (int)(mt[0].rm_eo - mt[0].rm_so),
	     out + mt[0].rm_so);
	wait_all_caught_up();
	gates_reset();
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char gated[48];
			pam_result r;

			/* both at the pass prompt, then both answer */
			fmtp(gated, sizeof(gated), "@g1:%s", pass);
			answers(0, 2, gated, "@code");
			if (pam_run(H[1 + i].service, "bob", "198.51.100.7",
				    RUN_AUTH | RUN_ACCOUNT,
				    &r) != PAM_SUCCESS)
				_exit(2);
			_exit(r.auth == PAM_SUCCESS &&
					  r.account == PAM_SUCCESS
				      ? 0
				      : 1);
		}
	}
	{
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (gate_arrivals() < 2) {
			if (ms_since(&t0) > DEADLINE_MS)
				fail_msg("%d of 2 sign-ins reached the pass "
					 "prompt", gate_arrivals());
			usleep(10000);
		}
	}
	gate_open(1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) <= 1);
		ok += WEXITSTATUS(st) == 0;
	}
	assert_int_equal(ok, 1);
	wait_all_caught_up();
	on(0);
	assert_true(mfa_of("bob").registered);
	assert_false(mfa_of("bob").tap_pending);
	/* unregistered again (reset on A): A has no pass pending for bob,
	 * so it asks for none and refuses the risky registration */
	assert_int_equal(riskctl_on(0, out, sizeof(out), "mfa", "reset",
				    "bob"),
			 0);
	wait_all_caught_up();
	answers(0, 2, pass, "@code");
	assert_int_not_equal(login(H[0].service, "bob", "198.51.100.7", true)
				 .auth,
			     PAM_SUCCESS);
	assert_int_equal(F_next_answer, 0);
	assert_matches(F.msgs, "^Sign-in blocked: .*one cannot be registered "
		       "during a risky sign-in.*");
	wait_all_caught_up();
	assert_false(mfa_of("bob").registered);
}

/* ---- a malformed record in etcd ----------------------------------------- */

/* A value under P users/bob/risk that is not a valid record refuses bob's
 * sign-ins on every host (nothing is guessed from it), not alice's; a
 * valid record lets bob in again. */
static void test_malformed_record_refuses_its_user(void **state)
{
	rr_fleet_risk risk;
	char *text = NULL;
	size_t len = 0;
	int64_t rev;
	pam_result r;
	rr_etcd *e;
	int i;

	(void)state;
	on(0);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "bob", "10.1.2.3", true).auth,
			 PAM_SUCCESS);

	e = etcd_open();
	rev = etcd_put_value(e, "bob", "risk",
			     "{\"v\":1,\"riskLevel\":\"extreme\"}");
	for (i = 0; i < n_hosts; i++) {
		wait_revision(&H[i], rev);
		on(i);
		log_reset();
		answers(0, 0);
		r = login(H[i].service, "bob", "10.1.2.3", true);
		if (r.auth == PAM_SUCCESS)
			fail_msg("host %s let bob in", H[i].name);
		/* the store's -EBADMSG; riskd's own log names the record */
		assert_int_equal(r.auth, PAM_AUTHINFO_UNAVAIL);
		assert_null(strstr(F.msgs, "otpauth://"));
		assert_matches(F.msgs, "Sign-in denied: the sign-in risk check "
			       "is unavailable\\. Contact your IT help "
			       "desk\\.\n");
		assert_logged(".*: assessing sign-in of bob: Bad message: the "
			      "fleet's risk record of this user is malformed "
			      "\\(not a valid record\\): refused until a "
			      "valid one arrives\n");
	}

	/* alice's records are sound: she signs in (the next step's code) */
	on(1);
	answers(1, 1, "@code");
	r = login(H[1].service, "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);

	memset(&risk, 0, sizeof(risk));
	risk.level = RR_LEVEL_NONE;
	risk.state = RR_STATE_NONE;
	risk.detail = RR_DETAIL_NONE;
	risk.updated = time(NULL);
	assert_int_equal(rr_fleet_risk_encode(&risk, &text, &len), 0);
	rev = etcd_put_value(e, "bob", "risk", text);
	rr_fleet_text_free(text);
	rr_etcd_free(e);
	for (i = 0; i < n_hosts; i++) {
		wait_revision(&H[i], rev);
		on(i);
		answers(0, 0);
		r = login(H[i].service, "bob", "10.1.2.3", true);
		assert_int_equal(r.auth, PAM_SUCCESS);
		assert_int_equal(r.account, PAM_SUCCESS);
	}
}

/* ---- the module alone --------------------------------------------------- */

/* The module with its core next to it and no riskd listening: a fleet
 * policy is not run in the application's process; denied, and the store
 * is not even created. */
static void test_fleet_policy_without_riskd_denies(void **state)
{
	char sock[128], text[1024];
	struct stat st;
	pam_result r;

	(void)state;
	fmtp(sock, sizeof(sock), "%s/nobody.sock", F.dir);
	fmtp(text, sizeof(text),
	     "auth required %s riskd=%s policy=%s\n"
	     "account required %s riskd=%s policy=%s\n",
	     RR_MODULE_PATH, sock, H[0].policy, RR_MODULE_PATH, sock,
	     H[0].policy);
	write_raw_service("rr-alone", text);
	answers(0, 1, "@code");
	r = login("rr-alone", "alice", "10.1.2.3", true);
	/* the module's failure code for auth (its errors deny) */
	assert_int_equal(r.auth, PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(F_next_answer, 0);
	assert_logged(".*pam_riskremediate\\(rr-alone:auth\\): policy "
		      "[^\n]*/hosta/policy\\.yaml: a fleet store "
		      "\\(store\\.backend etcd\\) is used through riskd only, "
		      "and riskd did not take this call; denying\n.*");
	assert_int_equal(stat(H[0].store, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* riskd instances left by a failed setup (cmocka skips the teardown) */
static void kill_hosts(void)
{
	int i;

	for (i = 0; i < MAX_HOSTS; i++)
		if (H[i].pid > 0) {
			kill(H[i].pid, SIGKILL);
			waitpid(H[i].pid, NULL, 0);
			H[i].pid = 0;
		}
}


/* ---- riskctl and the cluster tool, with their output ---------------------- */

/* Run `prog` with argv (NULL-terminated); stdout into out (NUL-terminated,
 * may be NULL).  Its exit status, or -1. */
static int run_out(const char *prog, char *const argv[], char *out,
		   size_t len)
{
	char path[160];
	pid_t pid;
	ssize_t n;
	int fd, st;

	fmtp(path, sizeof(path), "%s/out.txt", F.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (dup2(fd, STDOUT_FILENO) < 0)
			_exit(126);
		execv(prog, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (out) {
		n = pread(fd, out, len - 1, 0);
		out[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* riskctl --policy (host i's) ARGS...: its exit status. */
static int riskctl_on(int i, char *out, size_t len, const char *a1,
		      const char *a2, const char *a3)
{
	char *argv[] = {(char *)"riskctl", (char *)"--policy", H[i].policy,
			(char *)a1, (char *)a2, (char *)a3, NULL};

	return run_out(RR_RISKCTL_PATH, argv, out, len);
}

/* etcd-cluster VERB DIR [ARG]: its stdout (trimmed) in out. */
static void cluster_out(const char *verb, const char *arg, char *out,
			size_t len)
{
	char *argv[] = {(char *)"etcd-cluster", (char *)verb,
			(char *)env("RR_ETCD_CLUSTER_DIR"), (char *)arg, NULL};
	size_t n;

	assert_int_equal(run_out(env("RR_ETCD_CLUSTER_TOOL"), argv, out, len),
			 0);
	n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
}

static void wait_all_caught_up(void)
{
	int64_t rev = etcd_revision();
	int i;

	for (i = 0; i < n_hosts; i++)
		if (H[i].pid > 0)
			wait_revision(&H[i], rev);
}

/* ---- failed sign-ins counted across the fleet --------------------------- */

/* Rows of host h's store (its copy of the other hosts' failures) that
 * `where` selects, with one text argument. */
static int64_t store_count(const host *h, const char *where, const char *arg)
{
	char sql[256];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	fmtp(sql, sizeof(sql), "SELECT count(*) FROM fleet_failures WHERE %s",
	     where);
	if (sqlite3_open_v2(h->store, &db, SQLITE_OPEN_READONLY, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* One integer from host h's store (sql with no argument). */
static int64_t store_int(const host *h, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(h->store, &db, SQLITE_OPEN_READONLY, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Until `sql` (one integer) on host h's store is `want`. */
static void wait_stored(const host *h, const char *sql, int64_t want)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (store_int(h, sql) != want) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("host %s: %s is %lld, not %lld", h->name, sql,
				 (long long)store_int(h, sql), (long long)want);
		usleep(20000);
	}
}

/* Until host h holds `want` other hosts' failures that `where` selects. */
static void wait_fleet_fails(const host *h, const char *where,
			     const char *arg, int64_t want)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (store_count(h, where, arg) != want) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("host %s: %lld other hosts' failures (%s %s), "
				 "not %lld", h->name,
				 (long long)store_count(h, where, arg), where,
				 arg, (long long)want);
		usleep(20000);
	}
}

static void fail_on(int i, const char *user, const char *rhost)
{
	assert_int_equal(login(H[i].fail_service, user, rhost, true).auth,
			 PAM_AUTH_ERR);
}

/* The attacks raised for the fleet (P attacks/) of `type` from `source`
 * (and, for bruteForce, of `user`): how many; the newest in *first
 * (may be NULL). */
static size_t attacks_of(rr_event type, const char *user, const char *source,
			 rr_fleet_attack *first)
{
	rr_etcd *e = etcd_open();
	rr_fleet_attack *rows = NULL;
	size_t n = 0, bad = 0, i, k = 0;

	assert_int_equal(rr_fleet_attacks_read(e, prefix, &rows, &n, &bad), 0);
	assert_int_equal(bad, 0);
	for (i = 0; i < n; i++) {
		if (rows[i].type != type || strcmp(rows[i].source, source) ||
		    strcmp(rows[i].user, user))
			continue;
		if (!k++ && first)
			*first = rows[i];
	}
	free(rows);
	rr_etcd_free(e);
	return k;
}

/* Until an attack of `type` from `source` (of `user`) is raised: it. */
static void wait_attack(rr_event type, const char *user, const char *source,
			rr_fleet_attack *v)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (attacks_of(type, user, source, v) == 0) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("no %s raised from %s", rr_event_name(type),
				 source);
		usleep(50000);
	}
}

/*
 * bruteForce at 3: two failures of root's from one network on host A and
 * one on host B are three (A blocks root's next sign-in from there);
 * one on A and one on B are two (C lets root in).  Each host alone was
 * below the threshold.
 */
static void test_brute_force_across_hosts(void **state)
{
	rr_fleet_attack v;
	pam_result r;

	(void)state;
	fail_on(0, "root", "192.0.2.50");
	fail_on(0, "root", "192.0.2.50");
	fail_on(1, "root", "192.0.2.51");
	wait_fleet_fails(&H[0], "user = ?1 AND netkey = '192.0.2.0/24'",
			 "root", 1);
	on(0);
	r = login(H[0].service, "root", "192.0.2.50", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_non_null(strstr(last_signin("root").detections, "bruteForce"));
	/* the attack itself, raised once by a host that counted it */
	wait_attack(RR_EVENT_BRUTE_FORCE, "root", "192.0.2.0/24", &v);
	assert_true(!strcmp(v.host, "hosta") || !strcmp(v.host, "hostb"));
	assert_int_equal(v.count, 3);
	assert_int_equal(v.level, RR_LEVEL_HIGH);
	assert_int_equal(v.window_s, 600);

	fail_on(0, "root", "198.51.100.7");
	fail_on(1, "root", "198.51.100.8");
	wait_fleet_fails(&H[2], "user = ?1 AND netkey = '198.51.100.0/24'",
			 "root", 2);
	on(2);
	r = login(H[2].service, "root", "198.51.100.9", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_null(strstr(last_signin("root").detections, "bruteForce"));
	/* two failures are no attack: none raised (riskd's publishers had
	 * four rounds to) */
	usleep(2000000);
	assert_int_equal(attacks_of(RR_EVENT_BRUTE_FORCE, "root",
				    "198.51.100.0/24", NULL), 0);
	assert_int_equal(attacks_of(RR_EVENT_BRUTE_FORCE, "root",
				    "192.0.2.0/24", NULL), 1);
}

/* Failures of `user` from `rhost`, `n` of them, on host i (a child). */
static pid_t fail_many_on(int i, const char *user, const char *rhost, int n)
{
	pid_t pid = fork();
	int k;

	assert_true(pid >= 0);
	if (pid)
		return pid;
	for (k = 0; k < n; k++)
		if (login(H[i].fail_service, user, rhost, true).auth !=
		    PAM_AUTH_ERR)
			_exit(1);
	_exit(0);
}

/*
 * Two hosts cross the threshold together: bruteForce at 3, and for each
 * of four users two failures on host A and two on host B at the same
 * time, each host below the threshold alone.  Once each host holds the
 * other's failures both count four and both try to raise the attack;
 * etcd holds one per user, and riskctl on host C (which saw no failure)
 * lists one bruteForce detection per user, naming the host that raised
 * it.  A later failure raises nothing more.
 */
static void test_attack_raised_once(void **state)
{
	static const char *const users[] = {"root", "alice", "bob", "carol"};
	char out[16384], net[32], rhost[32], sql[128];
	rr_fleet_attack v;
	pid_t pids[8];
	json_t *j, *row;
	json_error_t jerr;
	size_t i, idx, listed;
	int st;

	(void)state;
	for (i = 0; i < 4; i++) {
		fmtp(rhost, sizeof(rhost), "192.0.%zu.7", 10 + i);
		pids[2 * i] = fail_many_on(0, users[i], rhost, 2);
		pids[2 * i + 1] = fail_many_on(1, users[i], rhost, 2);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* each host holds the other's eight failures: both count four */
	wait_fleet_fails(&H[0], "host = ?1", "hostb", 8);
	wait_fleet_fails(&H[1], "host = ?1", "hosta", 8);
	for (i = 0; i < 4; i++) {
		fmtp(net, sizeof(net), "192.0.%zu.0/24", 10 + i);
		wait_attack(RR_EVENT_BRUTE_FORCE, users[i], net, &v);
	}
	/* both hosts' publishers have had four rounds since: the loser's
	 * tries were refused */
	usleep(2000000);
	fail_on(0, "root", "192.0.10.7");
	usleep(1500000);
	for (i = 0; i < 4; i++) {
		fmtp(net, sizeof(net), "192.0.%zu.0/24", 10 + i);
		assert_int_equal(
		    attacks_of(RR_EVENT_BRUTE_FORCE, users[i], net, &v), 1);
		assert_true(!strcmp(v.host, "hosta") ||
			    !strcmp(v.host, "hostb"));
		assert_true(v.count >= 3 && v.count <= 5);
	}
	/* four names from four addresses: no spray */
	assert_int_equal(attacks_of(RR_EVENT_PASSWORD_SPRAY, "", "192.0.10.7",
				    NULL), 0);
	/* riskctl on C lists each once, with its host and reference */
	assert_int_equal(riskctl_on(2, out, sizeof(out), "detections",
				    "--json", NULL), 0);
	j = json_loads(out, 0, &jerr);
	assert_non_null(j);
	listed = 0;
	json_array_foreach (j, idx, row) {
		const char *type =
		    json_string_value(json_object_get(row, "riskEventType"));
		const char *scope =
		    json_string_value(json_object_get(row, "riskScope"));
		const char *src =
		    json_string_value(json_object_get(row, "source"));
		const char *user =
		    json_string_value(json_object_get(row, "user"));
		const char *ref =
		    json_string_value(json_object_get(row, "ref"));
		const char *by =
		    json_string_value(json_object_get(row, "host"));

		assert_non_null(type);
		if (strcmp(type, "bruteForce"))
			continue;
		listed++;
		assert_string_equal(scope, "fleet");
		assert_non_null(src);
		assert_non_null(user);
		assert_non_null(ref);
		assert_non_null(by);
		assert_int_equal(attacks_of(RR_EVENT_BRUTE_FORCE, user, src, &v),
				 1);
		assert_string_equal(v.ref, ref);
		assert_string_equal(v.host, by);
	}
	json_decref(j);
	assert_int_equal(listed, 4);
	/* the hosts' own logs hold failures only: nothing was a sign-in */
	fmtp(sql, sizeof(sql), "SELECT count(*) FROM signins");
	assert_int_equal(store_int(&H[2], sql), 0);
}

/*
 * passwordSpray at 10 users: one address fails against two names on each
 * of five hosts (users and names that are no user); the sixth host
 * blocks a sign-in from that address.  No host saw more than two.
 */
static void test_spray_across_hosts(void **state)
{
	static const char *const names[] = {
	    "alice", "bob", "carol", "nosuch1", "nosuch2",
	    "nosuch3", "nosuch4", "nosuch5", "nosuch6", "nosuch7",
	};
	rr_fleet_attack v;
	pam_result r;
	int i;

	(void)state;
	assert_int_equal(n_hosts, 6);
	for (i = 0; i < 10; i++)
		fail_on(i / 2, names[i], "203.0.113.9");
	wait_fleet_fails(&H[5], "rhost = ?1", "203.0.113.9", 10);
	/* each of the five: its own two, and the others' eight */
	wait_fleet_fails(&H[0], "rhost = ?1", "203.0.113.9", 8);
	on(5);
	r = login(H[5].service, "root", "203.0.113.9", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_non_null(
	    strstr(last_signin("root").detections, "passwordSpray"));
	/* the spray itself: raised once, by one of the five that counted
	 * it (each of them crossed it once the others' failures came) */
	wait_attack(RR_EVENT_PASSWORD_SPRAY, "", "203.0.113.9", &v);
	assert_true(v.host[0] == 'h' && v.host[4] >= 'a' && v.host[4] <= 'e');
	assert_int_equal(v.count, 10);
	usleep(2000000);
	assert_int_equal(
	    attacks_of(RR_EVENT_PASSWORD_SPRAY, "", "203.0.113.9", NULL), 1);
	/* another address is not that source */
	r = login(H[5].service, "root", "203.0.113.10", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
}

/* USER's risk level as etcd holds it (none without a record). */
static rr_level etcd_risk_level(const char *user)
{
	static rr_fleet_risk v;
	char *text = etcd_value(user, "risk");
	rr_level l = RR_LEVEL_NONE;

	if (text) {
		assert_int_equal(rr_fleet_risk_decode(text, strlen(text), &v),
				 0);
		l = v.level;
	}
	free(text);
	return l;
}

/*
 * Aggregation counts the fleet's risky sign-ins: root signs in twice on
 * host A and once on host B from an anonymizing network (sign-in risk
 * medium, allowed; the default aggregation: 3 medium sign-ins in 7 days).
 * A alone has two (root's risk stays none); once B holds A's two, B's
 * sign-in is the third and root is at risk (medium) for the whole fleet.
 */
static void test_aggregation_across_hosts(void **state)
{
	(void)state;
	assert_int_equal(root_on(0, "198.51.100.7", NULL), PAM_SUCCESS);
	assert_non_null(strstr(last_signin("root").detections,
			       "anonymizedIPAddress:medium"));
	assert_int_equal(root_on(0, "198.51.100.8", NULL), PAM_SUCCESS);
	wait_all_caught_up();
	assert_int_equal(etcd_risk_level("root"), RR_LEVEL_NONE);
	/* B holds A's two (its publisher sent them, B's follower kept them) */
	wait_stored(&H[1], "SELECT count(*) FROM fleet_signins WHERE user = "
			   "'root' AND host = 'hosta'", 2);
	assert_int_equal(store_int(&H[2], "SELECT count(*) FROM fleet_signins"
					  " WHERE host = 'hostc'"), 0);
	assert_int_equal(root_on(1, "198.51.100.9", NULL), PAM_SUCCESS);
	assert_int_equal(etcd_risk_level("root"), RR_LEVEL_MEDIUM);
	/* every host enforces it: C's replica has it */
	wait_all_caught_up();
	on(2);
	assert_int_equal(user_of("root").level, RR_LEVEL_MEDIUM);
	assert_int_equal(user_of("root").state, RR_STATE_AT_RISK);
}

/* ---- risky sign-ins by reference ---------------------------------------- */

/* Until etcd holds sign-in `ref` (its host's publisher sent it). */
static void wait_published(const char *ref, rr_fleet_signin *v)
{
	rr_etcd *e = etcd_open();
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = rr_fleet_signin_get(e, prefix, ref, v)) == -ENOENT) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("sign-in %s not published", ref);
		usleep(20000);
	}
	assert_int_equal(r, 0);
	rr_etcd_free(e);
}

/* Until etcd's record of sign-in `ref` says an admin confirmed it safe
 * (its host applied the confirmation and published it again). */
static void wait_confirmed(const char *ref, rr_fleet_signin *v)
{
	rr_etcd *e = etcd_open();
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		assert_int_equal(rr_fleet_signin_get(e, prefix, ref, v), 0);
		if (v->state == RR_STATE_CONFIRMED_SAFE)
			break;
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("sign-in %s not confirmed safe in etcd", ref);
		usleep(20000);
	}
	rr_etcd_free(e);
}

/* Until host h's publisher has gone past its sign-in `ref`. */
static void wait_signin_mark(const host *h, const char *ref)
{
	char sql[256];
	struct timespec t0;
	int64_t seq;

	fmtp(sql, sizeof(sql), "SELECT seq FROM signins WHERE ref = '%s'", ref);
	seq = store_int(h, sql);
	assert_true(seq > 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (store_int(h, "SELECT coalesce((SELECT CAST(value AS INTEGER) "
			    "FROM meta WHERE key = 'fleet_signin_mark'), 0)") <
	       seq) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("host %s: sign-in %s not gone past", h->name,
				 ref);
		usleep(20000);
	}
}

/* riskctl with an admin machine's policy: the fleet's, and no store
 * (its directory does not exist) and no riskd. */
static int riskctl_admin(char *out, size_t len, const char *a1,
			 const char *a2, const char *a3, const char *a4)
{
	host admin;
	char *argv[] = {(char *)"riskctl", (char *)"--policy", admin.policy,
			(char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};

	memset(&admin, 0, sizeof(admin));
	fmtp(admin.name, sizeof(admin.name), "admin");
	fmtp(admin.policy, sizeof(admin.policy), "%s/admin-policy.yaml",
	     F.dir);
	fmtp(admin.store, sizeof(admin.store), "%s/no-such-dir/risk.db",
	     F.dir);
	write_host_policy(&admin);
	return run_out(RR_RISKCTL_PATH, argv, out, len);
}

/*
 * A blocked sign-in on host A is published by reference: riskctl finds it
 * on host C (whose log lacks it) and on an admin machine, naming host A,
 * and lists its detection fleet-wide; confirm-safe from the admin
 * machine reaches host A's log.  A clean sign-in on C stays in C's log:
 * C's riskctl shows it, A's does not find it.
 */
static void test_signin_refs_fleetwide(void **state)
{
	char ref[RR_REF_LEN + 1], clean[RR_REF_LEN + 1], want[128];
	static char out[65536];
	rr_fleet_signin v;
	json_t *j, *o;
	size_t i;
	bool seen = false;

	(void)state;
	fail_on(0, "root", "192.0.2.70");
	fail_on(0, "root", "192.0.2.70");
	fail_on(0, "root", "192.0.2.70");
	on(0);
	assert_int_equal(login(H[0].service, "root", "192.0.2.70", true).auth,
			 PAM_AUTH_ERR);
	fmtp(ref, sizeof(ref), "%s", last_signin("root").ref);
	on(2);
	assert_int_equal(
	    login(H[2].service, "root", "198.51.100.20", true).auth,
	    PAM_SUCCESS);
	fmtp(clean, sizeof(clean), "%s", last_signin("root").ref);

	wait_published(ref, &v);
	assert_string_equal(v.host, H[0].name);
	assert_string_equal(v.s.user, "root");
	assert_string_equal(v.s.outcome, "blocked");
	assert_non_null(strstr(v.s.detections, "bruteForce:high"));
	assert_int_equal(v.state, RR_STATE_AT_RISK);

	/* host C: not in its log, found in etcd */
	assert_int_equal(riskctl_on(2, out, sizeof(out), "signins", "--ref",
				    ref),
			 0);
	fmtp(want, sizeof(want), "^host: +%s$", H[0].name);
	assert_matches_line(out, want);
	assert_matches_line(out, "^outcome: +blocked$");
	assert_matches_line(out, "^detections: +bruteForce:high$");

	/* an admin machine: no store, no riskd */
	assert_int_equal(riskctl_admin(out, sizeof(out), "signins", "--ref",
				       ref, "--json"),
			 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 1);
	o = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(o, "ref")), ref);
	assert_string_equal(json_string_value(json_object_get(o, "host")),
			    H[0].name);
	assert_string_equal(json_string_value(json_object_get(o, "user")),
			    "root");
	json_decref(j);
	assert_int_equal(riskctl_admin(out, sizeof(out), "detections",
				       "--type", "bruteForce", "--json"),
			 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	for (i = 0; i < json_array_size(j); i++) {
		o = json_array_get(j, i);
		if (!json_is_string(json_object_get(o, "ref")) ||
		    strcmp(json_string_value(json_object_get(o, "ref")), ref))
			continue;
		seen = true;
		assert_string_equal(
		    json_string_value(json_object_get(o, "host")), H[0].name);
		assert_string_equal(
		    json_string_value(json_object_get(o, "riskScope")),
		    "signin");
		assert_string_equal(
		    json_string_value(json_object_get(o, "riskState")),
		    "atRisk");
		assert_true(json_is_null(json_object_get(o, "id")));
	}
	json_decref(j);
	assert_true(seen);
	/* the admin confirms it safe: host A marks its detection (the
	 * reference carried in root's risk record) and publishes it again */
	assert_int_equal(riskctl_admin(out, sizeof(out), "confirm-safe",
				       "--ref", ref, NULL),
			 0);
	fmtp(want, sizeof(want), "^%s: sign-in confirmed safe; root risk now "
	     "none$", ref);
	assert_matches_line(out, want);
	wait_confirmed(ref, &v);
	fmtp(want, sizeof(want), "SELECT count(*) FROM detections WHERE ref = "
	     "'%s' AND state = 'confirmedSafe' AND detail = "
	     "'adminConfirmedSigninSafe'", ref);
	assert_int_equal(store_int(&H[0], want), 1);
	assert_int_equal(riskctl_admin(out, sizeof(out), "detections",
				       "--state", "confirmedSafe", "--json"),
			 0);
	fmtp(want, sizeof(want), "\"ref\": \"%s\"", ref);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "\"host\": \"hosta\""));
	/* a reference that is nowhere */
	assert_int_equal(riskctl_admin(out, sizeof(out), "confirm-safe",
				       "--ref", "0000-0000", NULL),
			 1);
	/* nothing made on the admin machine */
	fmtp(want, sizeof(want), "%s/no-such-dir", F.dir);
	assert_int_equal(access(want, F_OK), -1);

	/* the clean sign-in: C's publisher went past it and sent nothing */
	wait_signin_mark(&H[2], clean);
	{
		rr_etcd *e = etcd_open();

		assert_int_equal(rr_fleet_signin_get(e, prefix, clean, &v),
				 -ENOENT);
		rr_etcd_free(e);
	}
	assert_int_equal(riskctl_on(0, out, sizeof(out), "signins", "--ref",
				    clean),
			 1);
	assert_int_equal(riskctl_on(2, out, sizeof(out), "signins", "--ref",
				    clean),
			 0);
	fmtp(want, sizeof(want), "^host: +%s$", H[2].name);
	assert_matches_line(out, want);
	assert_matches_line(out, "^outcome: +success$");
}

/* ---- familiarity across hosts ------------------------------------------- */

#define KEY_INFO                                                             \
	"publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILLPNYkdzTyOMGzQeQEuu" \
	"YXsdcji8r01jiCWMtdv5Jr2"

/* After one sign-in (learning), a sign-in from a network and key never
 * seen is unfamiliar, and blocked. */
static int setup_familiar(void **state)
{
	extra_policy =
	    "  - name: Block risky sign-ins\n"
	    "    conditions: { signin_risk: [medium, high] }\n"
	    "    grant: { block: true }\n"
	    "detections:\n"
	    "  unfamiliarFeatures: { level: medium, learning_days: 0,"
	    " learning_signins: 1 }\n";
	return setup(state);
}

static int root_on(int i, const char *rhost, const char *auth_info)
{
	int r;

	on(i);
	F.auth_info = auth_info;
	r = login(H[i].service, "root", rhost, true).auth;
	F.auth_info = NULL;
	return r;
}

/*
 * A network and an SSH key root signed in from on host A are familiar on
 * every host: on B the same network lets root in, and so does a new
 * network with that key; a new network with no known key is unfamiliar on
 * C (blocked), as it would have been anywhere.
 */
static void test_familiar_across_hosts(void **state)
{
	(void)state;
	assert_int_equal(root_on(0, "10.1.0.5", KEY_INFO), PAM_SUCCESS);
	/* published with the sign-in (a new network and key) */
	wait_all_caught_up();
	assert_int_equal(root_on(1, "10.1.0.77", NULL), PAM_SUCCESS);
	assert_null(strstr(last_signin("root").detections,
			   "unfamiliarFeatures"));
	assert_int_equal(root_on(1, "172.16.9.9", KEY_INFO), PAM_SUCCESS);
	assert_null(strstr(last_signin("root").detections,
			   "unfamiliarFeatures"));
	assert_int_equal(root_on(2, "192.168.77.1", NULL), PAM_AUTH_ERR);
	assert_non_null(strstr(last_signin("root").detections,
			       "unfamiliarFeatures"));
}

/* The storm's length: RR_FLEET_STORM_SECONDS (default 15: tens of
 * thousands of failures in CI; 60 or more for a soak). */
static int storm_s = 15;
#define STORM_S storm_s
#define STORM_CLIENTS 32

/* A storm client's tally. */
typedef struct {
	long failures; /* the password refused: PAM_AUTH_ERR */
	long away;     /* riskd did not take the call in time: denied */
} storm_tally;

/* One storm client: failures on host A from its own address until the
 * storm ends; its tally on `out`.  A call riskd did not answer within the
 * module's wait (RR_RISKD_ACCEPT_MS: the machine starved, an ASan build)
 * is taken back and denied (no core here; a fleet policy runs through
 * riskd only) and counted apart; anything else -- "riskd is busy" too:
 * 33 clients are far from --max-clients -- ends the client (exit 2) with
 * what it got and the module's log. */
static void storm_client(int c, int out, const struct timespec *t0)
{
	static const char *const real[] = {"alice", "bob", "carol"};
	char rhost[32], name[32];
	storm_tally t = {0, 0};
	pam_result res;
	int k, r;

	snprintf(rhost, sizeof(rhost), "192.0.2.%d", 100 + c);
	for (k = 0; ms_since(t0) < STORM_S * 1000L; k++) {
		if (k % 4 < 3)
			snprintf(name, sizeof(name), "%s", real[k % 4]);
		else
			snprintf(name, sizeof(name), "storm%d-%d", c, k % 64);
		log_reset();
		r = pam_run(H[0].fail_service, name, rhost, RUN_AUTH, &res);
		if (r == PAM_SUCCESS && res.auth == PAM_AUTH_ERR) {
			t.failures++;
			continue;
		}
		if (r == PAM_SUCCESS && res.auth == PAM_AUTHINFO_UNAVAIL &&
		    strstr(g_log, "riskd: no answer within ")) {
			t.away++;
			continue;
		}
		/* what it got, and the module's log lines */
		fprintf(stderr, "storm client %d, failure %ld (%s): pam_run "
			"%d, authenticate %d (%s)\n%s", c, t.failures, name, r,
			res.auth, pam_strerror(NULL, res.auth), g_log);
		_exit(2);
	}
	_exit(write(out, &t, sizeof(t)) == sizeof(t) ? 0 : 3);
}

/*
 * A storm (STORM_S seconds) of failed sign-ins from 32 clients on host A: A's
 * failures reach etcd in at most two writes a second (counted: the
 * distinct revisions of A's batches), every one of them is read and sent
 * (A's mark reaches its last failure), host B counts them, and root
 * signs in on A all along.  A storm call riskd could not take in time is
 * denied in process (storm_client) and counted apart: at most 1%.  The
 * storm's attacks are raised once each, by A.
 */
static void test_failure_storm(void **state)
{
	static char key[256];
	rr_etcd *e = etcd_open();
	rr_etcd_range *rg = NULL;
	int64_t revs[4096], last_id, mark;
	struct timespec t0;
	size_t n_revs = 0, i, j;
	long total = 0, away = 0;
	storm_tally got;
	pid_t pids[STORM_CLIENTS];
	int fds[2], c, st, logins = 0;
	double secs;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (c = 0; c < STORM_CLIENTS; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0) {
			close(fds[0]);
			storm_client(c, fds[1], &t0);
		}
	}
	close(fds[1]);
	/* the legitimate user, every two seconds through the storm */
	while (ms_since(&t0) < STORM_S * 1000L) {
		assert_int_equal(
		    login(H[0].service, "root", "10.1.1.1", true).auth,
		    PAM_SUCCESS);
		logins++;
		usleep(2000000);
	}
	for (c = 0; c < STORM_CLIENTS; c++) {
		assert_int_equal(waitpid(pids[c], &st, 0), pids[c]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	while (read(fds[0], &got, sizeof(got)) == sizeof(got)) {
		total += got.failures;
		away += got.away;
	}
	close(fds[0]);
	assert_true(logins >= 5); /* each one let in; fewer under ASan */
	/* every failure with a source read and sent */
	last_id = store_int(&H[0], "SELECT max(id) FROM failures");
	for (;;) {
		mark = store_int(&H[0], "SELECT value FROM meta WHERE key = "
					"'fleet_fail_mark'");
		if (mark == last_id)
			break;
		if (ms_since(&t0) > (STORM_S + 90) * 1000L)
			fail_msg("host A sent failures up to %lld of %lld",
				 (long long)mark, (long long)last_id);
		usleep(100000);
	}
	secs = ms_since(&t0) / 1000.0;
	/* A's batches: one txn writes up to four, at one revision */
	fmtp(key, sizeof(key), "%sfails/", prefix);
	assert_int_equal(rr_etcd_get_prefix(e, key, strlen(key), 0, &rg), 0);
	for (i = 0; i < rg->n; i++) {
		const char *k = (const char *)rg->kvs[i].key;
		size_t kl = rg->kvs[i].key_len;

		if (kl < 7 || memcmp(k + kl - 6, ".hosta", 6))
			continue;
		for (j = 0; j < n_revs && revs[j] != rg->kvs[i].mod_revision;
		     j++)
			;
		if (j == n_revs && n_revs < 4096)
			revs[n_revs++] = rg->kvs[i].mod_revision;
	}
	rr_etcd_range_free(rg);
	print_message("storm: %ld failures from %d clients in %d s (%ld more "
		      "denied before riskd took them), host A sent them in "
		      "%zu etcd writes over %.1f s; root signed in %d times\n",
		      total, STORM_CLIENTS, STORM_S, away, n_revs, secs,
		      logins);
	assert_true(total > 1000);
	/* riskd takes all but a few of them, even starved */
	assert_true(away * 100 <= total);
	assert_true(n_revs > 0);
	assert_true((double)n_revs <= 2.0 * secs + 2);
	/* B holds A's failures */
	while (store_count(&H[1], "host = ?1", "hosta") <= 0) {
		if (ms_since(&t0) > (STORM_S + 90) * 1000L)
			fail_msg("host B holds none of host A's failures");
		usleep(100000);
	}
	/* the storm is 35 attacks, each raised once by A, one transaction
	 * each: alice's, bob's and carol's failures from 192.0.2.0/24
	 * (bruteForce) and each client's address (passwordSpray: 67 names) */
	for (;;) {
		size_t brute = 0, spray = 0;
		rr_fleet_attack *rows = NULL;
		size_t n = 0, bad = 0;

		assert_int_equal(rr_fleet_attacks_read(e, prefix, &rows, &n,
						       &bad), 0);
		assert_int_equal(bad, 0);
		for (i = 0; i < n; i++) {
			assert_string_equal(rows[i].host, "hosta");
			if (rows[i].type == RR_EVENT_BRUTE_FORCE)
				brute++;
			else
				spray++;
		}
		free(rows);
		assert_true(brute <= 3 && spray <= STORM_CLIENTS);
		if (brute == 3 && spray == STORM_CLIENTS)
			break;
		if (ms_since(&t0) > (STORM_S + 90) * 1000L)
			fail_msg("the storm raised %zu bruteForce and %zu "
				 "passwordSpray, not 3 and %d", brute, spray,
				 STORM_CLIENTS);
		usleep(200000);
	}
	rr_etcd_free(e);
}

/* ---- the host inventory -------------------------------------------------- */

/* riskctl --json fleet hosts on host i: its exit status; out the JSON. */
static int fleet_hosts(int i, char *out, size_t len)
{
	return riskctl_on(i, out, len, "--json", "fleet", "hosts");
}

/* riskctl fleet hosts --json, parsed (a test failure when it is not). */
static json_t *hosts_json(const char *out)
{
	json_error_t err;
	json_t *j = json_loads(out, 0, &err);

	if (!j || !json_is_array(json_object_get(j, "hosts")))
		fail_msg("riskctl fleet hosts --json: not the JSON expected "
			 "(%s): %s", err.text, out);
	return j;
}

/* Host `name`'s object in j (borrowed), or NULL. */
static json_t *host_obj(json_t *j, const char *name)
{
	json_t *hosts = json_object_get(j, "hosts"), *h;
	size_t i;

	json_array_foreach(hosts, i, h)
		if (json_is_string(json_object_get(h, "host")) &&
		    !strcmp(json_string_value(json_object_get(h, "host")),
			    name))
			return h;
	return NULL;
}

static bool flag(json_t *h, const char *name)
{
	return json_is_true(json_object_get(h, name));
}

/* Until riskctl fleet hosts (on host i) shows `name` as `want` ("ok",
 * "silent" or "gone") and exits `rc`; DEADLINE_MS + the lease's 15 s. */
static void wait_host(int i, const char *name, const char *want, int rc)
{
	static char out[16384];
	struct timespec t0;
	bool done;
	json_t *j, *h;
	int st;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		st = fleet_hosts(i, out, sizeof(out));
		j = hosts_json(out);
		h = host_obj(j, name);
		if (!strcmp(want, "gone"))
			done = !h;
		else if (!strcmp(want, "silent"))
			done = h && flag(h, "silent");
		else
			done = h && !flag(h, "silent") && !flag(h, "stale");
		json_decref(j);
		if (done && st == rc)
			return;
		if (ms_since(&t0) > DEADLINE_MS + 15000)
			fail_msg("host %s not %s (exit %d): %s", name, want, st,
				 out);
		usleep(200000);
	}
}

/*
 * Every riskd keeps its host's record: riskctl fleet hosts (from any
 * host) lists the three, fresh; a host whose riskd stops goes silent
 * (exit 5), then vanishes when its lease ends; started again, it is back.
 * A malformed record is counted and left out.
 */
static void test_host_inventory(void **state)
{
	static char out[16384];
	char key[256];
	rr_etcd *e = etcd_open();
	json_t *j, *h;
	int i;

	(void)state;
	for (i = 0; i < n_hosts; i++)
		wait_host(2, H[i].name, "ok", 0);
	assert_int_equal(fleet_hosts(0, out, sizeof(out)), 0);
	j = hosts_json(out);
	h = host_obj(j, H[1].name);
	assert_non_null(h);
	assert_string_equal(json_string_value(json_object_get(h, "version")),
			    RR_VERSION);
	assert_true(json_integer_value(json_object_get(h, "revision")) > 0);
	assert_true(json_is_integer(json_object_get(h, "staleness_ms")));
	assert_int_equal(json_integer_value(json_object_get(j, "malformed")),
			 0);
	json_decref(j);
	/* b's riskd stops: silent within max_staleness (5 s) and a beat,
	 * then gone with its lease (15 s); a and c stay */
	stop_host(&H[1]);
	wait_host(0, H[1].name, "silent", 5);
	assert_int_equal(fleet_hosts(2, out, sizeof(out)), 5);
	wait_host(0, H[1].name, "gone", 0);
	assert_int_equal(fleet_hosts(0, out, sizeof(out)), 0);
	j = hosts_json(out);
	assert_non_null(host_obj(j, H[0].name));
	assert_non_null(host_obj(j, H[2].name));
	json_decref(j);
	start_host(&H[1]);
	wait_host(0, H[1].name, "ok", 0);
	/* a record that is not one: counted, left out, nothing else hurt */
	fmtp(key, sizeof(key), "%shosts/evil", prefix);
	assert_int_equal(rr_etcd_put(e, key, strlen(key), "{\"v\":1}", 7, 0,
				     NULL),
			 0);
	assert_int_equal(fleet_hosts(1, out, sizeof(out)), 0);
	j = hosts_json(out);
	assert_int_equal(json_integer_value(json_object_get(j, "malformed")),
			 1);
	assert_null(host_obj(j, "evil"));
	for (i = 0; i < n_hosts; i++)
		assert_non_null(host_obj(j, H[i].name));
	json_decref(j);
	rr_etcd_free(e);
}

/* Every admin verb made with riskctl on one host (or through any host's
 * policy) is enforced by every host; the audit log is the fleet's. */
static void test_admin_verbs_propagate(void **state)
{
	char out[8192];
	int i;

	(void)state;
	/* confirm-compromised on B: A and C have bob high, and block him */
	assert_int_equal(riskctl_on(1, out, sizeof(out),
				    "confirm-compromised", "bob", NULL),
			 0);
	wait_all_caught_up();
	for (i = 0; i < n_hosts; i++) {
		on(i);
		assert_int_equal(user_of("bob").level, RR_LEVEL_HIGH);
		assert_int_equal(user_of("bob").state,
				 RR_STATE_CONFIRMED_COMPROMISED);
	}
	on(0);
	assert_int_not_equal(login(H[0].service, "bob", "10.1.2.3", true).auth,
			     PAM_SUCCESS);
	/* unblock on C: dismissed everywhere */
	assert_int_equal(riskctl_on(2, out, sizeof(out), "unblock", "bob",
				    NULL),
			 0);
	wait_all_caught_up();
	for (i = 0; i < n_hosts; i++) {
		on(i);
		assert_int_equal(user_of("bob").level, RR_LEVEL_NONE);
		assert_int_equal(user_of("bob").state, RR_STATE_DISMISSED);
	}
	/* alice registers on A; mfa reset on B removes it on C */
	on(0);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	wait_all_caught_up();
	on(2);
	assert_true(mfa_of("alice").registered);
	assert_int_equal(riskctl_on(1, out, sizeof(out), "mfa", "reset",
				    "alice"),
			 0);
	wait_all_caught_up();
	assert_false(mfa_of("alice").registered);
	/* a pass issued through A is pending on B */
	assert_int_equal(riskctl_on(0, out, sizeof(out), "tap", "issue",
				    "alice"),
			 0);
	wait_all_caught_up();
	on(1);
	assert_true(mfa_of("alice").tap_pending);
	/* status and the audit log from C: the fleet's, with their hosts */
	assert_int_equal(riskctl_on(2, out, sizeof(out), "status", "bob",
				    NULL),
			 0);
	assert_non_null(strstr(out, "dismissed"));
	assert_int_equal(riskctl_on(2, out, sizeof(out), "audit", NULL, NULL),
			 0);
	assert_matches_line(out, ".*confirm-compromised +bob .*\\(host hostb\\)$");
	assert_matches_line(out, ".*unblock +bob .*\\(host hostc\\)$");
	assert_matches_line(out, ".*mfa-reset +alice .*\\(host hostb\\)$");
	assert_matches_line(out, ".*tap-issue +alice .*\\(host hosta\\)$");
	/* the sign-in log stays the host's own: B has none of A's */
	assert_int_equal(riskctl_on(1, out, sizeof(out), "signins", NULL,
				    NULL),
			 0);
	assert_null(strstr(out, "alice"));
	assert_int_equal(riskctl_on(0, out, sizeof(out), "signins", NULL,
				    NULL),
			 0);
	assert_non_null(strstr(out, "alice"));
	/* fleet status: a leader, this host's replica, nothing queued */
	assert_int_equal(riskctl_on(0, out, sizeof(out), "--json", "fleet",
				    "status"),
			 0);
	assert_non_null(strstr(out, "\"leader\": true"));
	assert_non_null(strstr(out, "\"stale\": false"));
	assert_non_null(strstr(out, "\"queued\": 0"));
}

/* A host whose riskd was down while the history it missed was compacted
 * reads everything again and catches up. */
static void test_compaction_while_down(void **state)
{
	char out[256];

	(void)state;
	stop_host(&H[1]);
	assert_int_equal(riskctl_on(0, out, sizeof(out),
				    "confirm-compromised", "bob", NULL),
			 0);
	assert_int_equal(riskctl_on(0, out, sizeof(out), "mfa", "grace-reset",
				    "carol"),
			 0);
	cluster_out("compact", NULL, out, sizeof(out));
	assert_true(replica_revision(&H[1]) < strtoll(out, NULL, 10));
	start_host(&H[1]);
	wait_caught_up(&H[1]);
	on(1);
	assert_int_equal(user_of("bob").level, RR_LEVEL_HIGH);
	assert_int_equal(user_of("bob").state, RR_STATE_CONFIRMED_COMPROMISED);
}

/* Tokens expire: riskd's clients (its watch and its writes) authenticate
 * again and go on. */
static void test_expired_tokens(void **state)
{
	char out[256];

	(void)state;
	on(0);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "bob", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	cluster_out("expire-tokens", NULL, out, sizeof(out));
	/* a write with the old token: refused, authenticated again, done */
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	assert_true(mfa_of("alice").registered);
	/* and the other hosts still follow */
	wait_all_caught_up();
	on(2);
	assert_true(mfa_of("alice").registered);
}

#define PARALLEL 64

/* The leader killed -9 during 64 parallel sign-ins across the hosts:
 * every sign-in ends, none wrongly, and every familiar network of a
 * successful one reaches etcd (published at once, or queued and
 * published after the election). */
static void test_leader_killed_during_logins(void **state)
{
	char rhost[32], key[32], leader[16];
	pid_t pids[PARALLEL];
	int i, ok = 0, st;
	struct timespec t0;
	char *fam;

	(void)state;
	on(0);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "bob", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	wait_all_caught_up();
	for (i = 0; i < PARALLEL; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			pam_result r;

			snprintf(rhost, sizeof(rhost), "10.77.%d.5", i);
			answers(0, 0);
			if (pam_run(H[i % n_hosts].service, "bob", rhost,
				    RUN_AUTH | RUN_ACCOUNT, &r) != PAM_SUCCESS)
				_exit(2);
			_exit(r.auth == PAM_SUCCESS &&
					  r.account == PAM_SUCCESS
				      ? 0
				      : 1);
		}
		if (i == PARALLEL / 4)
			cluster_out("kill-leader", NULL, leader,
				    sizeof(leader));
	}
	for (i = 0; i < PARALLEL; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) <= 1);
		ok += WEXITSTATUS(st) == 0;
	}
	/* the member back first: the tests after this one need all three */
	cluster_out("start-member", leader, key, sizeof(key));
	/* familiar networks wait in a queue at worst: every sign-in passes */
	assert_int_equal(ok, PARALLEL);
	/* every network reached etcd (queues drained within the deadline) */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int missing = 0;

		fam = etcd_value("bob", "familiar");
		assert_non_null(fam);
		for (i = 0; i < PARALLEL; i++) {
			snprintf(key, sizeof(key), "\"10.77.%d.0/24\"", i);
			missing += strstr(fam, key) == NULL;
		}
		free(fam);
		if (!missing)
			break;
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("%d familiar networks never reached etcd",
				 missing);
		usleep(50000);
	}
}


/* Two members stopped: the one left has no leader (its watches are
 * cancelled: Grpc-Metadata-Hasleader), so the replicas go stale and a
 * sign-in that needs MFA is denied; riskctl fleet status says so (exit
 * 5).  With quorum back, the replicas catch up and MFA works again. */
static void test_member_without_quorum(void **state)
{
	char out[8192];
	struct timespec t0;
	pam_result r;
	int m;

	(void)state;
	on(0);
	answers(0, 1, "@code");
	assert_int_equal(login(H[0].service, "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	for (m = 2; m <= 3; m++)
		cluster("stop-member", m);
	/* the member left notices it has no leader (an election timeout),
	 * cancels the watches a few ticks later, then max_staleness runs */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (riskctl_on(1, out, sizeof(out), "fleet", "status", NULL) !=
		   5 ||
	       !strstr(out, "(STALE)")) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("host b's replica never went stale:\n%s",
				 out);
		usleep(200000);
	}
	usleep(1500000); /* the store's clock has whole seconds: riskd's too */
	answers(1, 1, "@code");
	r = login(H[1].service, "alice", "10.1.2.3", true);
	assert_int_not_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(F_next_answer, 0);
	assert_matches(F.msgs, ".*" OFFLINE_MSG ".*");
	assert_int_equal(riskctl_on(1, out, sizeof(out), "fleet", "status",
				    NULL),
			 5);
	assert_matches_line(out, ".* (no leader|unreachable).*");
	assert_matches_line(out, "^replica: .*\\(STALE\\).*");
	for (m = 2; m <= 3; m++)
		cluster("start-member", m);
	wait_all_caught_up();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (riskctl_on(1, out, sizeof(out), "fleet", "status", NULL) != 0) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("fleet status still failing:\n%s", out);
		usleep(100000);
	}
	answers(1, 1, "@code");
	assert_int_equal(login(H[1].service, "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_registration_is_fleet_wide, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_same_code_raced_on_two_hosts, setup_race, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wrong_codes_counted_across_hosts, setup_lockout,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_malformed_record_refuses_its_user, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_fleet_policy_without_riskd_denies, setup_no_riskd,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_familiar_counts_published_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap_used_once, setup_anon,
						teardown),
		cmocka_unit_test_setup_teardown(test_admin_verbs_propagate,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_inventory, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_brute_force_across_hosts,
						setup_counts, teardown),
		cmocka_unit_test_setup_teardown(test_spray_across_hosts,
						setup_spray, teardown),
		cmocka_unit_test_setup_teardown(test_attack_raised_once,
						setup_counts, teardown),
		cmocka_unit_test_setup_teardown(test_aggregation_across_hosts,
						setup_anon, teardown),
		cmocka_unit_test_setup_teardown(test_signin_refs_fleetwide,
						setup_counts, teardown),
		cmocka_unit_test_setup_teardown(test_failure_storm,
						setup_counts, teardown),
		cmocka_unit_test_setup_teardown(test_familiar_across_hosts,
						setup_familiar, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_while_down,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_tokens, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
		    test_leader_killed_during_logins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_member_without_quorum,
						setup, teardown),
		/* last: it stops and starts every member */
		cmocka_unit_test_setup_teardown(
		    test_offline_denies_mfa_and_queues_familiar, setup,
		    teardown),
	};

	const char *storm = getenv("RR_FLEET_STORM_SECONDS");

	if (storm) {
		char *end;
		long v = strtol(storm, &end, 10);

		if (*storm == '\0' || *end != '\0' || v < 5 || v > 3600) {
			fprintf(stderr, "RR_FLEET_STORM_SECONDS: 5 to 3600\n");
			return 1;
		}
		storm_s = (int)v;
	}
	atexit(kill_hosts);
	/* RR_TEST_FILTER=test_failure_storm runs the tests it matches */
	if (getenv("RR_TEST_FILTER"))
		cmocka_set_test_filter(getenv("RR_TEST_FILTER"));
	return cmocka_run_group_tests(tests, nss_setup, nss_teardown);
}
