/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What bench_fleet.c (set-up, the allow and MFA paths) and
 * bench_fleet_prop.c (propagation of admin actions) share: the hosts (one
 * riskd each), the etcd cluster of the environment, the clock and the
 * statistics.  Everything aborts the program on error (bench_die).
 */
#ifndef BENCH_FLEET_H
#define BENCH_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rr_etcd.h"

#define FLEET_HOSTS 3 /* a, b, c: etcd backend; a also serves the paths */
#define FLEET_MAX_EPS 3

/* One host: its riskd, socket, policy and store. */
typedef struct {
	char name[16];
	char dir[96];
	char policy[128];
	char store[128];
	char sock[128];
	char log[128]; /* riskd's stdout and stderr */
	pid_t pid;
} fleet_host;

typedef struct {
	char prefix[96];      /* the tenant: /riskremediate/<scratch>/ */
	char *endpoints;      /* $ETCD_ENDPOINTS, split in place */
	const char *eps[FLEET_MAX_EPS];
	size_t n_eps;
	fleet_host hosts[FLEET_HOSTS];
	fleet_host sqlite;    /* the same policy on the SQLite backend */
	const char *riskctl;
	char *const *child_env; /* the environment without libfaketime */
} fleet;

/* rr_etcd on the cluster of the environment, the endpoints rotated by
 * `first` (the client tries them in order); _try_ returns the error. */
rr_etcd *fleet_etcd_open(const fleet *f, size_t first);
int fleet_etcd_try_open(const fleet *f, size_t first, rr_etcd **out);
/* The cluster's revision now. */
int64_t fleet_etcd_revision(rr_etcd *e);

/* The replica's revision (meta fleet_revision) of a host's store, 0 when
 * there is none yet. */
int64_t fleet_replica_revision(const fleet_host *h);
/* Start riskd for h (--policy for an etcd host) and wait until it listens
 * and, for an etcd host, its replica is at `revision` or later. */
void fleet_host_start(const fleet *f, fleet_host *h, bool etcd,
		      int64_t revision);
void fleet_host_stop(fleet_host *h);
/* In a child: SIGTERM when the bench ends, signals unblocked, stdin
 * /dev/null, stdout and stderr appended to `out`, then execve. */
void fleet_child_exec(const char *out, char *const argv[],
		      char *const envp[]) __attribute__((noreturn));
/* Watcher threads are running (atomic): exit without library teardown. */
extern int fleet_threads_live;

/* One sign-in (auth, then account) through the bench's PAM services, the
 * prompts answered with root's code: the PAM result. */
int fleet_login(const char *service, const char *user, const char *rhost);
/* The bench's PAM service directory. */
const char *fleet_pam_conf(void);
void fleet_nap_ms(long ms);

/* CLOCK_MONOTONIC, ns (the raw syscall: libfaketime does not see it). */
double fleet_now_ns(void);

/* Sorts t[0..n) and prints "  LABEL  median  p90  p99  max" in ms or us
 * (unit 1e6 or 1e3, t in ns); returns the median (ns). */
double fleet_report(const char *label, double *t, size_t n, double unit);
double fleet_pct(const double *sorted, size_t n, int pct);

/* Propagation of `actions` admin actions (riskctl confirm-compromised /
 * unblock alternating) to the three replicas and to `watchers` watches. */
void fleet_propagation(fleet *f, int actions, int watchers);

/* A storm of failed sign-ins on each backend (bench_fleet_storm.c), and
 * one of its clients (main runs it for "--storm-client ..."). */
void fleet_storm(const fleet *f, rr_etcd *e, int seconds);
int fleet_storm_client(int argc, char **argv);

#endif
