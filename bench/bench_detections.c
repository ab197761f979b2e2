/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-login cost of the risk detections through the real libpam
 * (pam_start, pam_authenticate, pam_acct_mgmt, pam_end), alternating
 * rounds, medians compared:
 *   base      pam_permit + pam_riskremediate, the foundation's allow path
 *             (unfamiliarFeatures and bruteForce, no lists, no leak check)
 *   all-1m    every detection: unfamiliarFeatures, bruteForce,
 *             passwordSpray, anonymizedIPAddress and maliciousIPAddress
 *             with a 1,000,000-line list each (compiled, LIST.idx), and
 *             leakedCredentials against a 1,000,000-hash local file
 *   all-1k    the same with 1,000-line lists and a 1,000-hash file
 * Target: all-1m <= 1.5 x base.  Then the cost of one lookup, 1k vs 1M
 * entries (logarithmic: about log2(1M)/log2(1k) = 2, not 1000), and for
 * contrast one login with the 1M lists not compiled (the text parsed).
 *
 * usage: bench_detections MODULE.so [rounds] [logins-per-round]
 * Run as root (policy, store, lists and hash file must be root-owned).
 * The big files are generated into a temporary directory, then removed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_syslog.h"
#include "rr_iplist.h"
#include "rr_leak.h"

#define BIG 1000000
#define SMALL 1000
#define LOOKUPS 200000
#define N_SVC 3
#define AUTHTOK "correct horse battery staple" /* not in the hash files */

static bench_scratch g_tmp;
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: the same files on every run */
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return g_rng * 0x2545f4914f6cdd1dull;
}

/* An IPv4 list of n lines: mostly single addresses, some /24 and /16,
 * some IPv6 /48; never 10.0.0.0/8 (the benchmark's own source). */
static void make_list(const char *path, size_t n)
{
	char *buf = malloc(n * 48 + 64), *p;
	size_t i;

	if (!buf)
		bench_die("out of memory");
	p = buf + sprintf(buf, "# generated: %zu entries\n", n);
	for (i = 0; i < n; i++) {
		uint32_t v = (uint32_t)(rnd() >> 32);
		unsigned kind = (unsigned)(rnd() % 100);

		if ((v >> 24) == 10 || (v >> 24) == 0)
			v ^= 0x40000000u;
		if (kind < 5)
			p += sprintf(p, "2001:db8:%x::/48\n",
				     (unsigned)(v & 0xffff));
		else if (kind < 10)
			p += sprintf(p, "%u.%u.%u.0/24\n", v >> 24,
				     (v >> 16) & 255, (v >> 8) & 255);
		else if (kind < 11)
			p += sprintf(p, "%u.%u.0.0/16\n", v >> 24,
				     (v >> 16) & 255);
		else
			p += sprintf(p, "%u.%u.%u.%u\n", v >> 24,
				     (v >> 16) & 255, (v >> 8) & 255, v & 255);
	}
	bench_write_file(path, buf, (size_t)(p - buf), 0644);
	free(buf);
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 48);
}

/* A sorted hash file of n lines "40HEX:COUNT" (random hashes: the
 * benchmark's password is not among them). */
static void make_hashes(const char *path, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *buf = malloc(n * 48);
	size_t i, k;

	if (!buf)
		bench_die("out of memory");
	for (i = 0; i < n; i++) {
		char *line = buf + i * 48;

		for (k = 0; k < 40; k++)
			line[k] = hex[rnd() & 15];
		snprintf(line + 40, 8, ":%06u", (unsigned)(rnd() % 999999) + 1);
		line[47] = '\n';
	}
	qsort(buf, n, 48, cmp_hash);
	bench_write_file(path, buf, n * 48, 0644);
	free(buf);
}

static void compile(const char *list)
{
	unsigned bad = 0;
	size_t n = 0;
	int r = rr_iplist_compile(list, &n, &bad);

	if (r < 0)
		bench_die("compile %s: %s (line %u)", list, strerror(-r), bad);
}

/* The service NAME (pam_permit + ours) with its policy DIR/NAME.yaml (the
 * foundation's detections plus `detections`) and its own store
 * DIR/store-NAME/risk.db. */
static void add_service(const char *module, const char *name,
			const char *detections)
{
	char policy[160], store[160];

	snprintf(policy, sizeof(policy), "%s/%s.yaml", g_tmp.dir, name);
	snprintf(store, sizeof(store), "%s/store-%s/risk.db", g_tmp.dir, name);
	bench_write_policy(policy, store, "", detections, NULL);
	bench_service_ours(&g_tmp, name, module, policy);
}

/* Every detection, with the lists and hash file of `size`. */
static void add_all_service(const char *module, const char *name,
			    const char *size)
{
	char det[2048];

	snprintf(det, sizeof(det),
		 "  passwordSpray: { enabled: true, level: high, users: 10,"
		 " window: 1h }\n"
		 "  anonymizedIPAddress: { enabled: true, level: medium,"
		 " lists: [%s/anon-%s.list] }\n"
		 "  maliciousIPAddress: { enabled: true, level: high,"
		 " lists: [%s/bad-%s.list] }\n"
		 "  leakedCredentials: { enabled: true, level: high,"
		 " hash_file: %s/pwned-%s.txt }\n",
		 g_tmp.dir, size, g_tmp.dir, size, g_tmp.dir, size);
	add_service(module, name, det);
}

static void setup(const char *module)
{
	static const char *const sizes[2] = {"1k", "1M"};
	static const size_t counts[2] = {SMALL, BIG};
	char path[160];
	double t0 = bench_now_ns();
	int i;

	bench_scratch_make(&g_tmp, "-det");
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/anon-%s.list", g_tmp.dir,
			 sizes[i]);
		make_list(path, counts[i]);
		compile(path);
		snprintf(path, sizeof(path), "%s/bad-%s.list", g_tmp.dir,
			 sizes[i]);
		make_list(path, counts[i]);
		compile(path);
		snprintf(path, sizeof(path), "%s/pwned-%s.txt", g_tmp.dir,
			 sizes[i]);
		make_hashes(path, counts[i]);
	}
	add_service(module, "base", "");
	add_all_service(module, "all-1m", "1M");
	add_all_service(module, "all-1k", "1k");
	printf("generated 2 x %d-line lists (compiled) and a %d-hash file "
	       "in %.1f s\n", BIG, BIG, (bench_now_ns() - t0) / 1e9);
}

static void compare(int rounds, int per_round)
{
	static const char *const svc[N_SVC] = {"base", "all-1m", "all-1k"};
	static double t[N_SVC][BENCH_MAX_ROUNDS];
	bench_services s = {g_tmp.conf, svc, AUTHTOK};
	double m[N_SVC];
	int k;

	/* the warm-up logins also let unfamiliarFeatures learn */
	bench_alternate(N_SVC, rounds, per_round, per_round / 4 + 1,
			bench_round_services, &s, t, m);
	printf("per-login cost, median of %d alternating rounds of %d "
	       "logins\n", rounds, per_round);
	for (k = 0; k < N_SVC; k++)
		printf("  %-8s %10.1f us\n", svc[k], m[k] / 1000.0);
	printf("  all detections (1M lists, 1M hashes) / base: %.2f "
	       "(target <= 1.50)\n", m[1] / m[0]);
	printf("  all detections, 1M / 1k entries: %.2f\n", m[1] / m[2]);
}

static rr_addr probe(void)
{
	rr_addr a = {.family = 4};
	uint32_t v = (uint32_t)(rnd() >> 32);

	a.bytes[0] = (uint8_t)(v >> 24);
	a.bytes[1] = (uint8_t)(v >> 16);
	a.bytes[2] = (uint8_t)(v >> 8);
	a.bytes[3] = (uint8_t)v;
	return a;
}

/* ns per search of an open index; ns per rr_iplist_lookup (open the text
 * and the index, check, map, search, unmap: what a login pays). */
static void iplist_costs(const char *size, double *search, double *lookup)
{
	char list[160];
	rr_iplist_index *x = NULL;
	volatile size_t hits = 0;
	double t0;
	int i;

	snprintf(list, sizeof(list), "%s/bad-%s.list", g_tmp.dir, size);
	if (rr_iplist_index_open(list, &x) < 0)
		bench_die("rr_iplist_index_open %s failed", list);
	t0 = bench_now_ns();
	for (i = 0; i < LOOKUPS; i++) {
		rr_addr a = probe();

		hits += rr_iplist_index_contains(x, &a);
	}
	*search = (bench_now_ns() - t0) / LOOKUPS;
	rr_iplist_index_close(x);
	t0 = bench_now_ns();
	for (i = 0; i < LOOKUPS / 20; i++) {
		rr_addr a = probe();
		unsigned flags = 0;
		bool hit = false;

		if (rr_iplist_lookup(list, &a, &hit, &flags) < 0 || flags)
			bench_die("rr_iplist_lookup %s failed", list);
		hits += hit;
	}
	*lookup = (bench_now_ns() - t0) / (LOOKUPS / 20);
	(void)hits; /* volatile: the searches are not optimised away */
}

/* ns and pread()s per hash-file lookup. */
static void leak_costs(const char *size, double *ns, double *reads)
{
	char path[160], hash[RR_LEAK_HASH_LEN + 1];
	rr_leak_stats st = {0};
	double t0;
	int i, n = LOOKUPS / 20;

	snprintf(path, sizeof(path), "%s/pwned-%s.txt", g_tmp.dir, size);
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		uint64_t v = rnd();
		bool found = false;

		snprintf(hash, sizeof(hash), "%016llX%016llX%08X",
			 (unsigned long long)v, (unsigned long long)rnd(),
			 (unsigned)(v >> 16));
		if (rr_leak_file_lookup(path, hash, &st, &found) < 0)
			bench_die("rr_leak_file_lookup %s failed", path);
	}
	*ns = (bench_now_ns() - t0) / n;
	*reads = (double)st.file_reads / n;
}

static void lookup_costs(void)
{
	double s[2], l[2], ln[2], lr[2];

	iplist_costs("1k", &s[0], &l[0]);
	iplist_costs("1M", &s[1], &l[1]);
	leak_costs("1k", &ln[0], &lr[0]);
	leak_costs("1M", &ln[1], &lr[1]);
	printf("per-lookup cost, 1,000 vs 1,000,000 entries (log2 ratio "
	       "2.0; linear would be 1000)\n");
	printf("  IP index search      %8.1f ns  %8.1f ns  ratio %.2f\n",
	       s[0], s[1], s[1] / s[0]);
	printf("  IP list lookup       %8.1f ns  %8.1f ns  ratio %.2f "
	       "(open, check, map, search)\n", l[0], l[1], l[1] / l[0]);
	printf("  leak hash file       %8.1f ns  %8.1f ns  ratio %.2f "
	       "(%.1f vs %.1f preads)\n", ln[0], ln[1], ln[1] / ln[0],
	       lr[0], lr[1]);
}

/* One login with the 1M lists' indexes removed: what the index saves. */
static void unindexed_cost(double base_login)
{
	char path[200];
	double t;

	snprintf(path, sizeof(path), "%s/anon-1M.list.idx", g_tmp.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bad-1M.list.idx", g_tmp.dir);
	unlink(path);
	t = bench_round(g_tmp.conf, "all-1m", 3, AUTHTOK);
	printf("without LIST.idx (text parsed at each login): %.1f ms per "
	       "login, %.0f x base\n", t / 1e6, t / base_login);
}

int main(int argc, char **argv)
{
	int rounds, per_round;

	bench_args(argc, argv, "", true, &rounds, &per_round);
	bench_need_root("files must be root-owned");
	bench_syslog_begin("bench_detections");
	setup(argv[1]);
	compare(rounds, per_round);
	lookup_costs();
	unindexed_cost(bench_round(g_tmp.conf, "base", per_round, AUTHTOK));
	bench_scratch_remove(&g_tmp);
	bench_syslog_end();
	return 0;
}
