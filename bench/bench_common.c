/* SPDX-License-Identifier: BSD-3-Clause */
#include "bench_common.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void bench_args(int argc, char **argv, const char *more_usage, bool more_ok,
		int *rounds, int *per_round)
{
	*rounds = argc > 2 ? atoi(argv[2]) : 9;
	*per_round = argc > 3 ? atoi(argv[3]) : 200;
	if (argc < 2 || *rounds < 1 || *rounds > BENCH_MAX_ROUNDS ||
	    *per_round < 1 || !more_ok) {
		fprintf(stderr, "usage: %s MODULE.so [rounds<=%d] [logins]%s\n",
			argv[0], BENCH_MAX_ROUNDS, more_usage);
		exit(2);
	}
}

void bench_need_root(const char *why)
{
	if (geteuid() != 0) {
		fprintf(stderr, "%s: run as root (%s)\n",
			program_invocation_short_name, why);
		exit(2);
	}
}

double bench_now_ns(void)
{
	struct timespec ts;

	/* the raw syscall: libfaketime interposes the libc function only */
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- files ------------------------------------------------------------- */

void bench_scratch_make(bench_scratch *s, const char *tag)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/rr-bench%s-XXXXXX", tag);
	if (!mkdtemp(s->dir)) /* 0700 */
		bench_die("mkdtemp: %s", strerror(errno));
	snprintf(s->conf, sizeof(s->conf), "%s/pam.d", s->dir);
	if (mkdir(s->conf, 0755) < 0)
		bench_die("%s: %s", s->conf, strerror(errno));
	/* without "other" libpam logs at every pam_start, in every service
	 * alike: a constant that only blurs the figures */
	bench_service(s, "other", "auth required pam_deny.so\n"
				  "account required pam_deny.so\n");
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

void bench_scratch_remove(const bench_scratch *s)
{
	nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void bench_write_file(const char *path, const void *data, size_t len,
		      mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t off = 0;

	if (fd < 0)
		bench_die("%s: %s", path, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);

		if (w <= 0)
			bench_die("%s: %s", path, strerror(errno));
		off += (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || close(fd) < 0)
		bench_die("%s: %s", path, strerror(errno));
}

void bench_write_text(const char *path, const char *text, mode_t mode)
{
	bench_write_file(path, text, strlen(text), mode);
}

void bench_write_policy(const char *path, const char *store, const char *top,
			const char *detections, const char *policies)
{
	char text[4096];
	int n;

	if (!policies)
		policies = "  - name: Block high user risk\n"
			   "    conditions: { user_risk: [high] }\n"
			   "    grant: { block: true }\n"
			   "  - name: Sign-in risk requires MFA\n"
			   "    conditions: { signin_risk: [medium, high] }\n"
			   "    grant: { require: [mfa] }\n";
	n = snprintf(text, sizeof(text),
		     "version: 1\n"
		     "store: { backend: sqlite, path: %s }\n"
		     "%s"
		     "detections:\n"
		     "  unfamiliarFeatures: { level: medium, learning_days: 0,"
		     " learning_signins: 1 }\n"
		     "  bruteForce: { level: high, failures: 10,"
		     " window: 10m }\n"
		     "%s"
		     "policies:\n"
		     "%s",
		     store, top, detections, policies);
	if (n < 0 || (size_t)n >= sizeof(text))
		bench_die("%s: policy too long", path);
	bench_write_file(path, text, (size_t)n, 0600);
}

void bench_service(const bench_scratch *s, const char *name, const char *text)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", s->conf, name);
	bench_write_text(path, text, 0644);
}

void bench_service_floor(const bench_scratch *s)
{
	bench_service(s, "floor",
		      "auth required pam_permit.so\n"
		      "account required pam_permit.so\n");
}

void bench_service_ours(const bench_scratch *s, const char *name,
			const char *module, const char *policy)
{
	const char *sock = getenv("RR_BENCH_RISKD");
	char text[1024], riskd[160];
	int n;

	/* the logic in process, or in the riskd listening on $RR_BENCH_RISKD
	 * (bench/bench_riskd.sh) */
	snprintf(riskd, sizeof(riskd), "riskd=%s", sock && *sock ? sock : "off");
	n = snprintf(text, sizeof(text),
		     "auth required pam_permit.so\n"
		     "auth required %s %s policy=%s\n"
		     "account required pam_permit.so\n"
		     "account required %s %s policy=%s\n",
		     module, riskd, policy, module, riskd, policy);
	if (n < 0 || (size_t)n >= sizeof(text))
		bench_die("service %s: paths too long", name);
	bench_service(s, name, text);
}

/* ---- logins ------------------------------------------------------------ */

int bench_login_once(const char *conf, const char *service,
		     const struct pam_conv *conv, const char *authtok)
{
	pam_handle_t *h = NULL;
	int r;

	r = pam_start_confdir(service, "root", conv, conf, &h);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "%s: pam_start failed: %s\n", service,
			pam_strerror(NULL, r));
		exit(2);
	}
	pam_set_item(h, PAM_RHOST, BENCH_RHOST);
	if (authtok)
		pam_set_item(h, PAM_AUTHTOK, authtok);
	r = pam_authenticate(h, PAM_SILENT);
	if (r == PAM_SUCCESS)
		r = pam_acct_mgmt(h, PAM_SILENT);
	pam_end(h, r);
	return r;
}

/* Answers no prompt: every response empty. */
static int conv_none(int n, const struct pam_message **m,
		     struct pam_response **r, void *d)
{
	(void)m;
	(void)d;
	*r = calloc((size_t)n, sizeof(**r));
	return *r ? PAM_SUCCESS : PAM_BUF_ERR;
}

double bench_round(const char *conf, const char *service, int n,
		   const char *authtok)
{
	const struct pam_conv c = {conv_none, NULL};
	double t0 = bench_now_ns();
	int i;

	for (i = 0; i < n; i++) {
		int r = bench_login_once(conf, service, &c, authtok);

		if (r != PAM_SUCCESS) {
			fprintf(stderr, "%s: login failed: %s\n", service,
				pam_strerror(NULL, r));
			exit(3);
		}
	}
	return (bench_now_ns() - t0) / n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_alternate(int n_svc, int rounds, int per_round, int warmup,
		     bench_round_fn *round, void *arg,
		     double (*t)[BENCH_MAX_ROUNDS], double *med)
{
	int i, j, k;

	if (warmup > 0)
		for (k = 0; k < n_svc; k++)
			round(arg, k, warmup);
	for (i = 0; i < rounds; i++)
		for (j = 0; j < n_svc; j++) { /* rotate the order each round */
			k = (j + i) % n_svc;
			t[k][i] = round(arg, k, per_round);
		}
	for (k = 0; k < n_svc; k++) {
		qsort(t[k], (size_t)rounds, sizeof(t[k][0]), cmp_double);
		med[k] = t[k][rounds / 2];
	}
}

double bench_round_services(void *services, int k, int n)
{
	const bench_services *s = services;

	return bench_round(s->conf, s->svc[k], n, s->authtok);
}
