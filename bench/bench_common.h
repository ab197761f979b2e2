/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the benchmarks share: arguments, a scratch directory with a private
 * pam.d, the policy and service files, one login through the real libpam
 * (pam_start_confdir, pam_authenticate, pam_acct_mgmt, pam_end), and
 * services timed in alternating rounds (the order rotated each round)
 * whose round means are reduced to medians.  Everything here aborts the
 * program on error: a benchmark that goes on after a surprise measures
 * something else.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <security/pam_appl.h>

#define BENCH_MAX_ROUNDS 101
#define BENCH_RHOST "10.0.0.1" /* every login's PAM_RHOST */

/* "PROG: message" on stderr, exit(1). */
void bench_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* MODULE.so [rounds] [logins-per-round]: argv[2] and argv[3], defaults 9
 * and 200.  On a missing module, a bad value or !more_ok: "usage: ARGV0
 * MODULE.so [rounds<=101] [logins]MORE_USAGE", exit(2). */
void bench_args(int argc, char **argv, const char *more_usage, bool more_ok,
		int *rounds, int *per_round);

/* Not root: "PROG: run as root (WHY)", exit(2). */
void bench_need_root(const char *why);

/* CLOCK_MONOTONIC in ns, through the raw syscall: libfaketime (bench_mfa)
 * interposes the libc function only. */
double bench_now_ns(void);

/* ---- files ------------------------------------------------------------- */

typedef struct {
	char dir[64];  /* /tmp/rr-bench<tag>-XXXXXX, mode 0700 */
	char conf[96]; /* dir/pam.d, one file per service */
} bench_scratch;

void bench_scratch_make(bench_scratch *s, const char *tag);
/* Removes s->dir and everything below it (not crossing mount points). */
void bench_scratch_remove(const bench_scratch *s);

/* path := len bytes of data, then chmod to mode. */
void bench_write_file(const char *path, const void *data, size_t len,
		      mode_t mode);
void bench_write_text(const char *path, const char *text, mode_t mode);

/* A policy file (0600): "version: 1", the store at `store`, the `top` keys
 * (may be ""), the detections unfamiliarFeatures (no learning period) and
 * bruteForce followed by `detections` (may be ""), then `policies`, or
 * with NULL the default ones: block high user risk, MFA for medium or
 * high sign-in risk. */
void bench_write_policy(const char *path, const char *store, const char *top,
			const char *detections, const char *policies);

/* The service s->conf/name (0644) with exactly `text`. */
void bench_service(const bench_scratch *s, const char *name, const char *text);
/* "floor": pam_permit alone. */
void bench_service_floor(const bench_scratch *s);
/* pam_permit then `module riskd=... policy=POLICY`, for auth and account:
 * riskd=$RR_BENCH_RISKD when set (bench_riskd.sh), else riskd=off. */
void bench_service_ours(const bench_scratch *s, const char *name,
			const char *module, const char *policy);

/* ---- logins ------------------------------------------------------------ */

/* One login as root from BENCH_RHOST through the services in `conf`, with
 * PAM_AUTHTOK set first unless authtok is NULL; libpam's result.  A failing
 * pam_start aborts (exit 2). */
int bench_login_once(const char *conf, const char *service,
		     const struct pam_conv *conv, const char *authtok);

/* Mean ns per login over n logins of `service` through a conversation that
 * answers nothing; a login other than PAM_SUCCESS aborts (exit 3). */
double bench_round(const char *conf, const char *service, int n,
		   const char *authtok);

/* Mean ns per login over n logins of service k; arg as given below. */
typedef double bench_round_fn(void *arg, int k, int n);

/* Services 0..n_svc-1: `warmup` logins of each untimed (0: none), then
 * `rounds` rounds in which each service is timed over per_round logins,
 * the order rotated by one each round.  t[k][i] is service k's mean in
 * round i; on return each t[k] is sorted (t[k][0] the minimum,
 * t[k][rounds - 1] the maximum) and med[k] is its median. */
void bench_alternate(int n_svc, int rounds, int per_round, int warmup,
		     bench_round_fn *round, void *arg,
		     double (*t)[BENCH_MAX_ROUNDS], double *med);

/* The arg of bench_round_services: bench_round() of svc[k]. */
typedef struct {
	const char *conf;
	const char *const *svc;
	const char *authtok;
} bench_services;

double bench_round_services(void *services, int k, int n);

#endif
