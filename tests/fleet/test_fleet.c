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
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rr_etcd.h"

#define N_HOSTS 3
#define DEADLINE_MS 15000

typedef struct {
	char name[8];
	char dir[72];
	char policy[96];
	char store[96];
	char sock[96];
	char service[16];
	pid_t pid;
} host;

static host H[N_HOSTS];
static char prefix[96];
static char module_copy[200];
static const char *extra_policy = "";

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

/* Host h's replica reflects the cluster as it is now. */
static void wait_caught_up(const host *h)
{
	int64_t want = etcd_revision();
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (replica_revision(h) < want) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("host %s: replica at revision %lld, not %lld",
				 h->name, (long long)replica_revision(h),
				 (long long)want);
		usleep(10000);
	}
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
		"mfa: { key_file: %s/mfa.key }\n"
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
		extra_policy);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(h->policy, 0600), 0);
	policy_settled(h->policy);
}

static bool listening(const char *sock)
{
	char line[512], flags[16], path[256];
	bool found = false;
	FILE *f = fopen("/proc/net/unix", "re");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %15s %*s %*s %*s %255s",
			       flags, path) == 2 &&
			!strcmp(path, sock) && !strcmp(flags, "00010000");
	fclose(f);
	return found;
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
	while (!listening(h->sock)) {
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
	fixture_setup("rr-fleet");
	base = strrchr(F.dir, '/') + 1;
	fmtp(prefix, sizeof(prefix), "/riskremediate/%s/", base);
	fmtp(dir, sizeof(dir), "%s/mod", F.dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	/* a module copy with no core next to it: riskd serves every call */
	fmtp(module_copy, sizeof(module_copy), "%s/pam_riskremediate.so",
		 dir);
	copy_file(RR_MODULE_PATH, module_copy);
	for (i = 0; i < N_HOSTS; i++) {
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
	}
	for (i = 0; i < N_HOSTS; i++)
		start_host(&H[i]);
	for (i = 0; i < N_HOSTS; i++)
		wait_caught_up(&H[i]);
	on(0);
	return 0;
}

static int teardown(void **state)
{
	int i;

	for (i = 0; i < N_HOSTS; i++)
		stop_host(&H[i]);
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

/* riskd instances left by a failed setup (cmocka skips the teardown) */
static void kill_hosts(void)
{
	int i;

	for (i = 0; i < N_HOSTS; i++)
		if (H[i].pid > 0) {
			kill(H[i].pid, SIGKILL);
			waitpid(H[i].pid, NULL, 0);
			H[i].pid = 0;
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_registration_is_fleet_wide, setup, teardown),
	};

	atexit(kill_hosts);
	return cmocka_run_group_tests(tests, nss_setup, nss_teardown);
}
