/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_etcd [N]: one raw etcd transaction through rr_etcd (a
 * compare-and-swap on mod_revision, as the fleet store's writes will be),
 * timed N times (default 1000) against the cluster of the environment
 * (tests/etcd/etcd-cluster's env file: ETCD_ENDPOINTS, ETCD_CA, ...; see
 * bench_etcd.sh), with one read of the key for reference.  The client is
 * warmed first (token, TLS connection), as riskd's would be.  Prints the
 * median, p90, p99 and mean of each.  The reference the MFA path
 * on etcd is compared with.  Not a test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rr_etcd.h"

#define KEY "/riskremediate/bench/txn"
#define MAX_EPS 16

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void report(const char *what, double *t, size_t n)
{
	double sum = 0;
	size_t i;

	qsort(t, n, sizeof(*t), cmp_d);
	for (i = 0; i < n; i++)
		sum += t[i];
	printf("%-28s n=%zu  median %8.1f us  p90 %8.1f us  p99 %8.1f us  "
	       "mean %8.1f us\n", what, n, t[n / 2], t[n * 90 / 100],
	       t[n * 99 / 100], sum / (double)n);
}

static size_t split(char *list, const char **eps)
{
	size_t n = 0;
	char *save = NULL, *p;

	for (p = strtok_r(list, ",", &save); p && n < MAX_EPS;
	     p = strtok_r(NULL, ",", &save))
		eps[n++] = p;
	return n;
}

/* The key's mod_revision now (0: absent). */
static int mod_rev(rr_etcd *e, int64_t *rev)
{
	rr_etcd_range *rg = NULL;
	int r = rr_etcd_get(e, KEY, strlen(KEY), &rg);

	if (r == 0)
		*rev = rg->n ? rg->kvs[0].mod_revision : 0;
	rr_etcd_range_free(rg);
	return r;
}

static int run(rr_etcd *e, double *txn, double *get, size_t n)
{
	char val[32];
	int64_t rev = 0;
	size_t i;
	bool ok;
	int r;

	if (!txn || !get)
		return -EINVAL;
	r = mod_rev(e, &rev);
	for (i = 0; r == 0 && i < n; i++) {
		double t0 = now_us();

		snprintf(val, sizeof(val), "%zu", i);
		r = rr_etcd_cas(e, KEY, strlen(KEY), rev, val, strlen(val),
				&ok, &rev);
		txn[i] = now_us() - t0;
		if (r == 0 && !ok)
			r = -EBUSY; /* nobody else writes the key */
		t0 = now_us();
		if (r == 0)
			r = mod_rev(e, &rev);
		get[i] = now_us() - t0;
	}
	return r;
}

int main(int argc, char **argv)
{
	const char *env = getenv("ETCD_ENDPOINTS"), *eps[MAX_EPS];
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	char *list = env ? strdup(env) : NULL;
	double *txn = n ? calloc(n, sizeof(double)) : NULL;
	double *get = n ? calloc(n, sizeof(double)) : NULL;
	rr_etcd_cfg cfg = {
		.ca = getenv("ETCD_CA"), .cert = getenv("ETCD_CERT"),
		.key = getenv("ETCD_KEY"), .user = getenv("ETCD_USER"),
		.password_file = getenv("ETCD_PASSWORD_FILE"),
	};
	rr_etcd *e = NULL;
	int r = -EINVAL;

	if (!list || !txn || !get || n == 0) {
		fprintf(stderr, "usage: ETCD_ENDPOINTS=... bench_etcd [N] "
			"(see bench_etcd.sh)\n");
		free(list);
		free(txn);
		free(get);
		return 2;
	}
	cfg.endpoints = eps;
	cfg.n_endpoints = split(list, eps);
	r = rr_etcd_open(&cfg, &e);
	if (r == 0)
		r = run(e, txn, get, n < 50 ? n : 50); /* warm-up */
	if (r == 0)
		r = run(e, txn, get, n);
	if (r < 0) {
		fprintf(stderr, "bench_etcd: %s (%s)\n",
			e ? rr_etcd_last_error(e) : "open", strerror(-r));
	} else {
		report("txn (CAS on mod_revision)", txn, n);
		report("range (one key)", get, n);
	}
	rr_etcd_free(e);
	free(list);
	free(txn);
	free(get);
	return r < 0;
}
