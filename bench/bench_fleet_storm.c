/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_fleet, section 4: a storm of failed sign-ins on one host.  For
 * each backend in turn (host sqlite: failures counted on the host only;
 * host a: counted over the fleet, published to etcd), 32 client processes
 * fail a password for `seconds` (names of users and names that are no
 * user, each client from its own address), twice:
 *  - flood: as fast as they can.  The failures a second the host absorbs
 *    (on this 2-vCPU machine the clients and riskd share the CPUs), and
 *    the etcd writes a second host a makes for them (the distinct
 *    revisions of its batches under fails/);
 *  - paced: STORM_RATE failures a second in all, above what one sshd lets
 *    through (MaxStartups 10:30:100 drops every unauthenticated
 *    connection beyond 100, and pam_unix delays each failure by about
 *    2 s: at most ~50 a second), while the bench signs a legitimate
 *    user in every 20 ms: its latency idle and during the storm
 *    (target: p99 within 2x of the idle p99).
 *
 * The clients are this program again (fleet_storm_client), started with
 * execv: a fresh process each, with no threads of the bench's in it.
 */
#include "bench_fleet.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench_common.h"

#define STORM_CLIENTS 32
#define STORM_RATE 64 /* failures a second in all, paced */
#define LEGIT_EVERY_MS 20
#define RHOST_LEGIT "10.0.0.1"

static int no_conv(int n, const struct pam_message **m,
		   struct pam_response **r, void *ud)
{
	(void)n;
	(void)m;
	(void)r;
	(void)ud;
	return PAM_CONV_ERR;
}

/* One failed sign-in (auth only): the PAM result. */
static int fail_once(const char *service, const char *conf, const char *user,
		     const char *rhost)
{
	const struct pam_conv c = { no_conv, NULL };
	pam_handle_t *h = NULL;
	int r = pam_start_confdir(service, user, &c, conf, &h);

	if (r != PAM_SUCCESS)
		return r;
	pam_set_item(h, PAM_RHOST, rhost);
	r = pam_authenticate(h, PAM_SILENT);
	pam_end(h, r);
	return r;
}

int fleet_storm_client(int argc, char **argv)
{
	static const char *const real[] = { "alice", "bob", "carol" };
	char name[32], rhost[32];
	double end;
	long n = 0;
	int c, fd, k;

	/* --storm-client SERVICE CONFDIR CLIENT SECONDS FD RATE (a second,
	 * this client; 0: as fast as it can) */
	double every, next;

	if (argc != 8)
		return 2;
	c = atoi(argv[4]);
	end = fleet_now_ns() + atof(argv[5]) * 1e9;
	fd = atoi(argv[6]);
	every = atof(argv[7]) > 0 ? 1e9 / atof(argv[7]) : 0;
	next = fleet_now_ns();
	snprintf(rhost, sizeof(rhost), "192.0.2.%d", 100 + c);
	for (k = 0; fleet_now_ns() < end; k++) {
		if (k % 4 < 3)
			snprintf(name, sizeof(name), "%s", real[k % 4]);
		else
			snprintf(name, sizeof(name), "storm%d-%d", c, k % 64);
		if (fail_once(argv[2], argv[3], name, rhost) != PAM_AUTH_ERR)
			return 3;
		n++;
		next += every;
		if (every > 0 && next > fleet_now_ns())
			fleet_nap_ms((long)((next - fleet_now_ns()) / 1e6));
	}
	return write(fd, &n, sizeof(n)) == sizeof(n) ? 0 : 4;
}

/* A's batches written since `rev0`: their distinct revisions (one txn
 * writes up to four at one revision). */
static size_t batch_writes(const fleet *f, rr_etcd *e, int64_t rev0)
{
	char key[256], suffix[40];
	rr_etcd_range *rg = NULL;
	int64_t *revs;
	size_t i, j, n = 0, sl;

	snprintf(key, sizeof(key), "%sfails/", f->prefix);
	snprintf(suffix, sizeof(suffix), ".%s", f->hosts[0].name);
	sl = strlen(suffix);
	if (rr_etcd_get_prefix(e, key, strlen(key), 0, &rg) < 0)
		bench_die("reading %s: %s", key, rr_etcd_last_error(e));
	revs = calloc(rg->n ? rg->n : 1, sizeof(*revs));
	if (!revs)
		bench_die("out of memory");
	for (i = 0; i < rg->n; i++) {
		const rr_etcd_kv *kv = &rg->kvs[i];

		if (kv->mod_revision <= rev0 || kv->key_len < sl ||
		    memcmp(kv->key + kv->key_len - sl, suffix, sl))
			continue;
		for (j = 0; j < n && revs[j] != kv->mod_revision; j++)
			;
		if (j == n)
			revs[n++] = kv->mod_revision;
	}
	free(revs);
	rr_etcd_range_free(rg);
	return n;
}

static double legit(const char *allow)
{
	double t = fleet_now_ns();
	int r = fleet_login(allow, "root", RHOST_LEGIT);

	if (r != PAM_SUCCESS)
		bench_die("%s: the legitimate sign-in: %s", allow,
			  pam_strerror(NULL, r));
	return fleet_now_ns() - t;
}

typedef struct {
	double per_s;       /* failures absorbed a second (flood) */
	double writes_s;    /* etcd writes a second for them (etcd) */
	double idle_p99, storm_p99; /* paced */
} storm_result;

/* `seconds` of failures from STORM_CLIENTS clients, each at `rate` a
 * second (0: flood); with `during` the legitimate sign-in's times
 * meanwhile (*n_during of them).  The failures a second. */
static double storm_run(const char *fail, const char *allow, int seconds,
			double rate, double *during, size_t cap,
			size_t *n_during)
{
	char *argv[9], a_client[16], a_secs[16], a_fd[16], a_rate[32];
	pid_t pids[STORM_CLIENTS];
	double t0, secs;
	long total = 0, got;
	int fds[2], c, st;

	if (pipe(fds) < 0)
		bench_die("storm: %s", strerror(errno));
	snprintf(a_secs, sizeof(a_secs), "%d", seconds);
	snprintf(a_fd, sizeof(a_fd), "%d", fds[1]);
	snprintf(a_rate, sizeof(a_rate), "%.3f", rate);
	t0 = fleet_now_ns();
	for (c = 0; c < STORM_CLIENTS; c++) {
		snprintf(a_client, sizeof(a_client), "%d", c);
		argv[0] = (char *)"/proc/self/exe";
		argv[1] = (char *)"--storm-client";
		argv[2] = (char *)fail;
		argv[3] = (char *)fleet_pam_conf();
		argv[4] = a_client;
		argv[5] = a_secs;
		argv[6] = a_fd;
		argv[7] = a_rate;
		argv[8] = NULL;
		pids[c] = fork();
		if (pids[c] < 0)
			bench_die("fork: %s", strerror(errno));
		if (pids[c] == 0) {
			close(fds[0]);
			execv(argv[0], argv);
			_exit(127);
		}
	}
	close(fds[1]);
	*n_during = 0;
	while (during && fleet_now_ns() - t0 < seconds * 1e9 &&
	       *n_during < cap) {
		during[(*n_during)++] = legit(allow);
		fleet_nap_ms(LEGIT_EVERY_MS);
	}
	for (c = 0; c < STORM_CLIENTS; c++)
		if (waitpid(pids[c], &st, 0) != pids[c] || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			bench_die("storm client %d ended with status 0x%x", c,
				  st);
	secs = (fleet_now_ns() - t0) / 1e9;
	while (read(fds[0], &got, sizeof(got)) == sizeof(got))
		total += got;
	close(fds[0]);
	return (double)total / secs;
}

static void storm_one(const fleet *f, rr_etcd *e, const char *label,
		      const char *fail, const char *allow, bool etcd,
		      int seconds, storm_result *res)
{
	size_t n_during = 0, n_idle = 0,
	       cap = (size_t)seconds * 1000 / LEGIT_EVERY_MS + 16;
	double *during = calloc(cap, sizeof(*during)), paced, t0;
	double *idle = calloc(cap, sizeof(*idle));
	int64_t rev0 = 0;

	if (!during || !idle)
		bench_die("out of memory");
	if (etcd)
		rev0 = fleet_etcd_revision(e);
	t0 = fleet_now_ns();
	res->per_s = storm_run(fail, allow, seconds, 0, NULL, 0, &n_during);
	printf("  %s:\n    flood: %.0f failures a second absorbed\n", label,
	       res->per_s);
	res->writes_s = 0;
	if (etcd) {
		/* what the flood left queued is sent within a few rounds */
		fleet_nap_ms(3000);
		res->writes_s = (double)batch_writes(f, e, rev0) /
				((fleet_now_ns() - t0) / 1e9);
		printf("    etcd writes for the failures: %.2f a second (at "
		       "most 2 by design)\n", res->writes_s);
	}
	/* idle: the same sign-ins at the same pace, no storm */
	t0 = fleet_now_ns();
	while (fleet_now_ns() - t0 < seconds * 1e9 && n_idle < cap) {
		idle[n_idle++] = legit(allow);
		fleet_nap_ms(LEGIT_EVERY_MS);
	}
	paced = storm_run(fail, allow, seconds,
			  (double)STORM_RATE / STORM_CLIENTS, during, cap,
			  &n_during);
	printf("    paced: %.0f failures a second\n", paced);
	fleet_report("    legitimate sign-in, idle", idle, n_idle, 1e3);
	res->idle_p99 = fleet_pct(idle, n_idle, 99);
	fleet_report("    legitimate sign-in, storm", during, n_during, 1e3);
	res->storm_p99 = fleet_pct(during, n_during, 99);
	printf("    p99 during the storm / idle: %.2f (target <= 2.00: %s)\n",
	       res->storm_p99 / res->idle_p99,
	       res->storm_p99 <= 2 * res->idle_p99 ? "met" : "NOT met");
	free(during);
	free(idle);
}

void fleet_storm(const fleet *f, rr_etcd *e, int seconds)
{
	storm_result off, on;

	printf("\n4. a storm of failed sign-ins on one host, %d clients for "
	       "%d s, flooding, then paced at %d a second in all (the "
	       "legitimate user every %d ms):\n",
	       STORM_CLIENTS, seconds, STORM_RATE, LEGIT_EVERY_MS);
	storm_one(f, e, "counted on the host (sqlite)", "fail-sqlite",
		  "allow-sqlite", false, seconds, &off);
	storm_one(f, e, "counted over the fleet (etcd, host a)", "fail-etcd",
		  "allow-etcd", true, seconds, &on);
	printf("  fleet counting on / off: failures absorbed a second %.2f, "
	       "the legitimate sign-in's p99 during the storm %.2f; etcd "
	       "writes a second for the failures: %.2f\n",
	       on.per_s / off.per_s, on.storm_p99 / off.storm_p99,
	       on.writes_s);
}
