/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet (store.backend etcd) against the single host, on a real
 * 3-member etcd cluster with TLS and authentication (bench_fleet.sh starts
 * it and passes its env file: ETCD_ENDPOINTS, ETCD_CA, ...).  Host "a"'s
 * riskd has a fleet policy, host "sqlite"'s riskd the same policy but for
 * its store section; logins through the real libpam (from PAM_RHOST
 * 10.0.0.1, as an ssh login) are timed one by one, the series in
 * alternating rounds (the order rotated each round):
 *
 * 1. The allow path on both backends; on etcd also with each login
 *    started only once host a's replica has applied the previous one
 *    ("replica settled"); a blocked user's sign-in on both (decided from
 *    the replica, nothing published); one raw etcd transaction (a CAS on
 *    mod_revision through riskd's client, rr_etcd, as bench_etcd).
 * 2. The MFA path: a sign-in whose policy requires MFA, answered with the
 *    right TOTP code, on both backends, the allow path again, and the raw
 *    txn.  Every MFA login needs a new 30 s step (a used step is
 *    refused), so the bench runs under libfaketime like bench_mfa: a
 *    stopped clock moved one period per login, which the module sends to
 *    riskd with each call; riskd and riskctl run without libfaketime.
 * 3. Propagation of admin actions (bench_fleet_prop.c).
 * 4. A storm of failed sign-ins on one host, on each backend
 *    (bench_fleet_storm.c).
 *
 * For every series on etcd the cluster's revision is read before and after
 * each round (untimed): the etcd writes one login made.
 *
 * usage: bench_fleet MODULE.so [rounds] [logins-per-round] [actions]
 *        [watchers] [storm-seconds]  (defaults 7, 100, 100, 200, 20)
 * Run as root (store, key, policy and etcd password must be root-owned).
 * Not a test: it prints figures, and stops only when a login has not the
 * expected outcome or something cannot be set up.
 */
#include "bench_fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <security/pam_appl.h>

#include "bench_common.h"
#include "bench_syslog.h"
#include "rr_fleet_model.h"
#include "rr_mfa.h"
#include "rr_store.h"

#define PERIOD 30
/* confirmed compromised, so every sign-in is blocked (an existing user:
 * libpam asks for one) */
#define BLOCKED_USER "nobody"
#define DATE_LEN 20 /* "YYYY-MM-DD hh:mm:ss" + NUL */
#define MARK_ENV "RR_BENCH_FLEET_UNDER_FAKETIME"
#define START_DEADLINE_NS 30e9
#define RHOST BENCH_RHOST
/* the fake clock may not run past the test CA's certificates (2 days) */
#define MAX_FAKE_ADVANCE (30 * 3600)

#ifndef RR_LIBFAKETIME
#define RR_LIBFAKETIME ""
#endif
#ifndef RR_RISKD_PATH
#define RR_RISKD_PATH "riskd"
#endif
#ifndef RR_RISKCTL_PATH
#define RR_RISKCTL_PATH "riskctl"
#endif

extern char **environ;

static bench_scratch g_tmp;
static fleet g_fleet;
static uint8_t g_secret[RR_TOTP_SECRET_LEN]; /* root's authenticator */
static int g_prompts;

/* putenv()'d: libfaketime reads this very buffer on every clock call.
 * "+0": the real clock; a date: a stopped clock (the MFA series). */
static char g_faketime[] = "FAKETIME=2000-01-01 00:00:00";
#define FT_VALUE (g_faketime + sizeof("FAKETIME=") - 1)
/* The stopped fake clock of each backend's MFA logins: each moves one
 * period per login (the replay guard is per store, or per fleet). */
static int64_t g_clock_sqlite, g_clock_etcd;

/* ---- small things -------------------------------------------------------- */

double fleet_now_ns(void)
{
	return bench_now_ns();
}

static int64_t real_time(void)
{
	struct timespec ts;

	/* the raw syscall: libfaketime interposes the libc function only */
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static void clock_real(void)
{
	memcpy(FT_VALUE, "+0", 3);
}

static void clock_set(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (strftime(FT_VALUE, DATE_LEN, "%Y-%m-%d %H:%M:%S", &tm) !=
	    DATE_LEN - 1)
		bench_die("cannot format a date");
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double fleet_pct(const double *sorted, size_t n, int pct)
{
	size_t i = n * (size_t)pct / 100;

	return n ? sorted[i < n ? i : n - 1] : 0;
}

double fleet_report(const char *label, double *t, size_t n, double unit)
{
	const char *u = unit >= 1e6 ? "ms" : "us";

	qsort(t, n, sizeof(*t), cmp_d);
	printf("  %-34s n=%-5zu median %8.1f %s  p90 %8.1f  p99 %8.1f  "
	       "max %8.1f\n", label, n, fleet_pct(t, n, 50) / unit, u,
	       fleet_pct(t, n, 90) / unit, fleet_pct(t, n, 99) / unit,
	       n ? t[n - 1] / unit : 0);
	return fleet_pct(t, n, 50);
}

static const char *need_env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		bench_die("%s is not set: run me with bench/bench_fleet.sh",
			  name);
	return v;
}

__attribute__((format(printf, 3, 4)))
static void fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		bench_die("a path or text is too long");
}

/* ---- etcd ---------------------------------------------------------------- */

int fleet_etcd_try_open(const fleet *f, size_t first, rr_etcd **out)
{
	const char *eps[FLEET_MAX_EPS];
	rr_etcd_cfg cfg = {
		.ca = need_env("ETCD_CA"), .cert = need_env("ETCD_CERT"),
		.key = need_env("ETCD_KEY"), .user = need_env("ETCD_USER"),
		.password_file = need_env("ETCD_PASSWORD_FILE"),
		.endpoints = eps, .n_endpoints = f->n_eps,
	};
	size_t i;

	for (i = 0; i < f->n_eps; i++)
		eps[i] = f->eps[(first + i) % f->n_eps];
	return rr_etcd_open(&cfg, out);
}

rr_etcd *fleet_etcd_open(const fleet *f, size_t first)
{
	rr_etcd *e = NULL;
	int r = fleet_etcd_try_open(f, first, &e);

	if (r < 0)
		bench_die("etcd client: %s", strerror(-r));
	return e;
}

int64_t fleet_etcd_revision(rr_etcd *e)
{
	rr_etcd_range *rg = NULL;
	int64_t rev;
	int r = rr_etcd_get(e, "/riskremediate/", strlen("/riskremediate/"),
			    &rg);

	if (r < 0)
		bench_die("etcd: %s", rr_etcd_last_error(e));
	rev = rg->revision;
	rr_etcd_range_free(rg);
	return rev;
}

/* ---- hosts --------------------------------------------------------------- */

int64_t fleet_replica_revision(const fleet_host *h)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t rev = 0;

	if (sqlite3_open_v2(h->store, &db, SQLITE_OPEN_READONLY, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = "
				   "'fleet_revision'", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		rev = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rev;
}

/* sock is listening (in /proc/net/unix, state LISTEN). */
static bool listening(const char *sock)
{
	char line[512], flags[16], path[256];
	bool found = false;
	FILE *f = fopen("/proc/net/unix", "re");

	if (!f)
		bench_die("/proc/net/unix: %s", strerror(errno));
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %15s %*s %*s %*s %255s",
			       flags, path) == 2 &&
			!strcmp(path, sock) && !strcmp(flags, "00010000");
	fclose(f);
	return found;
}

void fleet_nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void fleet_child_exec(const char *out, char *const argv[],
		      char *const envp[])
{
	sigset_t none;
	int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* ended with the bench, however it ends */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
		_exit(126);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 ||
	    dup2(fd, 2) < 0)
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

void fleet_host_start(const fleet *f, fleet_host *h, bool etcd,
		      int64_t revision)
{
	const char *env = getenv("RR_RISKD");
	const char *bin = env && *env ? env : RR_RISKD_PATH;
	char *argv[] = { (char *)bin, (char *)"--socket", h->sock,
			 (char *)"--policy", h->policy, NULL };
	double t0 = fleet_now_ns();
	int st;

	if (!etcd)
		argv[3] = NULL; /* the policy read at the first call */
	h->pid = fork();
	if (h->pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (h->pid == 0)
		fleet_child_exec(h->log, argv, f->child_env);
	while (!listening(h->sock) ||
	       (etcd && fleet_replica_revision(h) < revision)) {
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			h->pid = 0;
			bench_die("riskd %s exited (status 0x%x); see %s",
				  h->name, st, h->log);
		}
		if (fleet_now_ns() - t0 > START_DEADLINE_NS)
			bench_die("riskd %s: not listening or its replica "
				  "not loaded in time; see %s", h->name,
				  h->log);
		fleet_nap_ms(5);
	}
}

void fleet_host_stop(fleet_host *h)
{
	int st = 0;

	if (h->pid <= 0)
		return;
	kill(h->pid, SIGTERM);
	waitpid(h->pid, &st, 0);
	h->pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "bench_fleet: riskd %s ended with status "
			"0x%x (see %s)\n", h->name, st, h->log);
}

/* ---- set-up -------------------------------------------------------------- */

static void age_policy(const char *path)
{
	/* older than the module's settle time: read at once */
	struct timespec ago[2] = { { .tv_nsec = UTIME_OMIT },
				   { .tv_sec = real_time() - 60 } };

	if (utimensat(AT_FDCWD, path, ago, 0) < 0)
		bench_die("%s: %s", path, strerror(errno));
}

/* The policy of every host: only `store` differs. */
static void write_policy(const fleet_host *h, const char *store,
			 const char *keyfile)
{
	char text[4096];
	int n;

	n = snprintf(text, sizeof(text),
		     "version: 1\n"
		     "%s"
		     "mfa: { key_file: %s, algorithm: SHA1, digits: 6,"
		     " period: %d, window: 1, max_failures: 10 }\n"
		     "detections:\n"
		     "  unfamiliarFeatures: { level: medium, learning_days: 0,"
		     " learning_signins: 1 }\n"
		     "  bruteForce: { level: high, failures: 10,"
		     " window: 10m }\n"
		     "policies:\n"
		     "  - name: Block high user risk\n"
		     "    conditions: { user_risk: [high] }\n"
		     "    grant: { block: true }\n"
		     "  - name: Sign-in risk requires MFA\n"
		     "    conditions: { signin_risk: [medium, high] }\n"
		     "    grant: { require: [mfa] }\n"
		     "  - name: MFA for the bench's MFA services\n"
		     "    services: { include: [mfa-sqlite, mfa-etcd] }\n"
		     "    grant: { require: [mfa] }\n",
		     store, keyfile, PERIOD);
	if (n < 0 || (size_t)n >= sizeof(text))
		bench_die("policy too long");
	bench_write_file(h->policy, text, (size_t)n, 0600);
	age_policy(h->policy);
}

static void host_paths(fleet_host *h, const char *name)
{
	fmt(h->name, sizeof(h->name), "%s", name);
	fmt(h->dir, sizeof(h->dir), "%s/%s", g_tmp.dir, name);
	if (mkdir(h->dir, 0700) < 0)
		bench_die("%s: %s", h->dir, strerror(errno));
	fmt(h->policy, sizeof(h->policy), "%s/policy.yaml", h->dir);
	fmt(h->store, sizeof(h->store), "%s/store/risk.db", h->dir);
	fmt(h->sock, sizeof(h->sock), "%s/riskd.sock", h->dir);
	fmt(h->log, sizeof(h->log), "%s/riskd.log", h->dir);
}

/* Host i lists the endpoints from member i + 1 on: the three replicas
 * follow three different members (a fleet whose hosts list their nearest
 * member first). */
static void write_etcd_policy(fleet *f, size_t i, const char *keyfile)
{
	char store[2048], eps[512] = "";
	size_t j, off = 0;

	for (j = 0; j < f->n_eps; j++)
		off += (size_t)snprintf(eps + off, sizeof(eps) - off, "%s%s",
					j ? ", " : "",
					f->eps[(i + j) % f->n_eps]);
	if (off >= sizeof(eps))
		bench_die("endpoints too long");
	fmt(store, sizeof(store),
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
	    "  offline: { max_staleness: 30s, mfa: deny }\n",
	    f->hosts[i].store, eps, f->prefix, f->hosts[i].name,
	    need_env("ETCD_CA"), need_env("ETCD_CERT"), need_env("ETCD_KEY"),
	    need_env("ETCD_USER"), need_env("ETCD_PASSWORD_FILE"));
	write_policy(&f->hosts[i], store, keyfile);
}

/* pam_permit, then the module through host h's riskd. */
static void service_through(const char *name, const fleet_host *h,
			    const char *module)
{
	char text[1024];

	fmt(text, sizeof(text),
	    "auth required pam_permit.so\n"
	    "auth required %s riskd=%s policy=%s\n"
	    "account required pam_permit.so\n"
	    "account required %s riskd=%s policy=%s\n",
	    module, h->sock, h->policy, module, h->sock, h->policy);
	bench_service(&g_tmp, name, text);
}

/* A failed primary authentication, as the module's authfail line (after
 * pam_unix) sees it: recorded through host h's riskd. */
static void fail_through(const char *name, const fleet_host *h,
			 const char *module)
{
	char text[1024];

	fmt(text, sizeof(text),
	    "auth [default=die] %s riskd=%s policy=%s authfail\n",
	    module, h->sock, h->policy);
	bench_service(&g_tmp, name, text);
}

/* The environment without libfaketime, for riskd and riskctl. */
static char **clean_env(void)
{
	static const char *const drop[] = { "LD_PRELOAD=", "FAKETIME",
					    MARK_ENV "=", NULL };
	size_t n = 0, i, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		bench_die("out of memory");
	for (i = 0; i < n; i++) {
		size_t d;
		bool keep = true;

		for (d = 0; drop[d]; d++)
			keep = keep && strncmp(environ[i], drop[d],
					       strlen(drop[d]));
		if (keep)
			env[k++] = strdup(environ[i]);
	}
	return env;
}

static void setup(fleet *f, const char *module)
{
	static const char *const names[FLEET_HOSTS] = { "a", "b", "c" };
	char keyfile[128], store[256], *save = NULL, *p;
	size_t i;

	bench_scratch_make(&g_tmp, "-fleet");
	fmt(f->prefix, sizeof(f->prefix), "/riskremediate/%s/",
	    strrchr(g_tmp.dir, '/') + 1);
	f->endpoints = strdup(need_env("ETCD_ENDPOINTS"));
	for (p = strtok_r(f->endpoints, ",", &save);
	     p && f->n_eps < FLEET_MAX_EPS; p = strtok_r(NULL, ",", &save))
		f->eps[f->n_eps++] = p;
	if (!f->n_eps)
		bench_die("ETCD_ENDPOINTS is empty");
	p = getenv("RR_RISKCTL");
	f->riskctl = p && *p ? p : RR_RISKCTL_PATH;
	f->child_env = clean_env();
	fmt(keyfile, sizeof(keyfile), "%s/mfa.key", g_tmp.dir);
	for (i = 0; i < FLEET_HOSTS; i++) {
		host_paths(&f->hosts[i], names[i]);
		write_etcd_policy(f, i, keyfile);
	}
	host_paths(&f->sqlite, "sqlite");
	fmt(store, sizeof(store), "store: { backend: sqlite, path: %s }\n",
	    f->sqlite.store);
	write_policy(&f->sqlite, store, keyfile);

	bench_service_floor(&g_tmp);
	service_through("allow-sqlite", &f->sqlite, module);
	service_through("allow-etcd", &f->hosts[0], module);
	service_through("mfa-sqlite", &f->sqlite, module);
	service_through("mfa-etcd", &f->hosts[0], module);
	fail_through("fail-sqlite", &f->sqlite, module);
	fail_through("fail-etcd", &f->hosts[0], module);
}

/* root's authenticator, registered without the enrolment dialogue (not
 * timed): in the SQLite host's store, and as the fleet's MFA record in
 * etcd (host a's replica then has it). */
static int64_t register_root(fleet *f, rr_etcd *e)
{
	char keyfile[128], key_name[256], *text = NULL;
	uint8_t key[RR_MFA_KEY_LEN];
	rr_fleet_mfa *m = calloc(1, sizeof(*m));
	rr_store *s = NULL;
	int64_t rev = 0;
	size_t len = 0;

	fmt(keyfile, sizeof(keyfile), "%s/mfa.key", g_tmp.dir);
	if (!m || rr_totp_secret_new(g_secret) < 0 ||
	    rr_mfa_key_load(keyfile, true, key) < 0 ||
	    rr_mfa_seal(key, "root", g_secret, sizeof(g_secret), m->sealed,
			&m->sealed_len) < 0)
		bench_die("cannot seal the authenticator secret");
	explicit_bzero(key, sizeof(key));
	m->digits = 6;
	m->period = PERIOD;
	m->registered_at = real_time();
	m->last_step = m->registered_at / PERIOD - 1;
	if (rr_store_open(f->sqlite.store, &s) < 0 ||
	    rr_store_mfa_register(s, "root", m->sealed, m->sealed_len,
				  RR_TOTP_SHA1, 6, PERIOD, m->last_step,
				  m->registered_at) < 0)
		bench_die("cannot register root in %s", f->sqlite.store);
	rr_store_close(s);
	if (rr_fleet_key_mfa(f->prefix, "root", key_name,
			     sizeof(key_name)) < 0 ||
	    rr_fleet_mfa_encode(m, &text, &len) < 0 ||
	    rr_etcd_put(e, key_name, strlen(key_name), text, len, 0, &rev) < 0)
		bench_die("cannot write root's MFA record to etcd: %s",
			  rr_etcd_last_error(e));
	rr_fleet_text_free(text);
	explicit_bzero(m, sizeof(*m));
	free(m);
	return rev;
}

/* ---- logins -------------------------------------------------------------- */

/* Answers every prompt with the code of root's authenticator now. */
static int conv(int n, const struct pam_message **m, struct pam_response **r,
		void *d)
{
	rr_totp_params p;
	char code[RR_TOTP_CODE_MAX + 1];
	int i;

	(void)d;
	*r = calloc((size_t)n, sizeof(**r));
	if (!*r)
		return PAM_BUF_ERR;
	rr_totp_params_default(&p);
	for (i = 0; i < n; i++) {
		if (m[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    m[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		g_prompts++;
		if (rr_totp_code(g_secret, sizeof(g_secret), &p,
				 (int64_t)time(NULL) / PERIOD, code) < 0 ||
		    !((*r)[i].resp = strdup(code))) {
			while (i--)
				free((*r)[i].resp);
			free(*r);
			*r = NULL;
			return PAM_CONV_ERR;
		}
	}
	return PAM_SUCCESS;
}

/* One login of `user` through `service`, from rhost (NULL: none). */
int fleet_login(const char *service, const char *user, const char *rhost)
{
	const struct pam_conv c = { conv, NULL };
	pam_handle_t *h = NULL;
	int r;

	r = pam_start_confdir(service, user, &c, g_tmp.conf, &h);
	if (r != PAM_SUCCESS)
		bench_die("%s: pam_start: %s", service, pam_strerror(NULL, r));
	if (rhost)
		pam_set_item(h, PAM_RHOST, rhost);
	r = pam_authenticate(h, PAM_SILENT);
	if (r == PAM_SUCCESS)
		r = pam_acct_mgmt(h, PAM_SILENT);
	pam_end(h, r);
	return r;
}

const char *fleet_pam_conf(void)
{
	return g_tmp.conf;
}

/* ---- series timed in alternating rounds ---------------------------------- */

typedef struct {
	const char *name;
	const char *service;      /* NULL: a raw etcd transaction */
	const char *user;         /* NULL: root */
	int want;                 /* the PAM result of every login */
	int prompts;              /* per login */
	int64_t *clock;           /* MFA: the fake clock, a period per login */
	const fleet_host *settle; /* after each login (untimed): wait until
				   * this replica has applied it */
	double *t;                /* ns per op (alternate() allocates it) */
	size_t n;
	int64_t revs;             /* etcd revisions over its timed rounds */
	double cpu;               /* its riskd's CPU time over them, ns */
} series;

#define LOGINS(nm, svc, pr, clk, st)                                        \
	{ .name = (nm), .service = (svc), .prompts = (pr), .clock = (clk),  \
	  .settle = (st) }
#define BLOCKED(nm, svc)                                                    \
	{ .name = (nm), .service = (svc), .user = BLOCKED_USER,             \
	  .want = PAM_AUTH_ERR }
#define RAW_TXN { .name = "raw etcd txn (CAS, one key)" }

typedef struct {
	rr_etcd *e;           /* the bench's own client: revisions, raw txn */
	char raw_key[160];
	int64_t raw_rev;
} raw_txn;

static double raw_once(raw_txn *x)
{
	char val[32];
	bool ok = false;
	double t0;
	int r;

	snprintf(val, sizeof(val), "%lld", (long long)x->raw_rev);
	t0 = fleet_now_ns();
	r = rr_etcd_cas(x->e, x->raw_key, strlen(x->raw_key), x->raw_rev, val,
			strlen(val), &ok, &x->raw_rev);
	t0 = fleet_now_ns() - t0;
	if (r < 0 || !ok)
		bench_die("raw txn: %s", r < 0 ? rr_etcd_last_error(x->e)
					     : "compare failed");
	return t0;
}

/* Until h's replica reflects every write made so far. */
static void wait_replica(const fleet_host *h, raw_txn *x)
{
	int64_t want = fleet_etcd_revision(x->e);
	double t0 = fleet_now_ns();

	while (fleet_replica_revision(h) < want) {
		if (fleet_now_ns() - t0 > 10e9)
			bench_die("replica %s: not at revision %lld after 10 "
				  "s", h->name, (long long)want);
		fleet_nap_ms(1);
	}
}

/* One op of s, timed (ns). */
static double op_once(series *s, raw_txn *x)
{
	double t;
	int r;

	if (!s->service)
		return raw_once(x);
	if (s->clock) { /* a new TOTP step */
		*s->clock += PERIOD;
		clock_set(*s->clock);
	}
	g_prompts = 0;
	t = fleet_now_ns();
	r = fleet_login(s->service, s->user ? s->user : "root", RHOST);
	t = fleet_now_ns() - t;
	if (r != s->want || g_prompts != s->prompts)
		bench_die("%s: %s after %d prompts (want %s after %d)",
			  s->name, pam_strerror(NULL, r), g_prompts,
			  pam_strerror(NULL, s->want), s->prompts);
	if (s->settle)
		wait_replica(s->settle, x);
	return t;
}

static bool on_etcd(const series *s)
{
	return !s->service || strstr(s->service, "etcd");
}

/* The riskd that serves s, or NULL. */
static const fleet_host *served_by(const series *s)
{
	if (!s->service || !strcmp(s->service, "floor"))
		return NULL;
	return strstr(s->service, "etcd") ? &g_fleet.hosts[0]
					  : &g_fleet.sqlite;
}

/* The CPU time (ns) of the process doing s's work: its riskd, all its
 * threads (the replica's too); for the raw txn this process (the
 * client's side); none for pam_permit. */
static double cpu_ns(const series *s)
{
	const fleet_host *h = served_by(s);
	struct timespec ts;
	clockid_t clk = CLOCK_PROCESS_CPUTIME_ID;

	if (s->service && !h)
		return 0;
	/* the raw syscall: libfaketime fakes CPU clocks too */
	if ((h && clock_getcpuclockid(h->pid, &clk) != 0) ||
	    syscall(SYS_clock_gettime, clk, &ts) < 0)
		return 0;
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Untimed warm-up, then `rounds` rounds of `per` ops of each series, the
 * order rotated by one each round; every op's time kept. */
static void alternate(series *s, int n_s, int rounds, int per, raw_txn *x)
{
	int i, j, k, w;

	for (k = 0; k < n_s; k++) {
		s[k].t = calloc((size_t)rounds * (size_t)per, sizeof(double));
		if (!s[k].t)
			bench_die("out of memory");
		for (w = 0; w < per / 4 + 1; w++)
			op_once(&s[k], x);
	}
	for (i = 0; i < rounds; i++)
		for (j = 0; j < n_s; j++) {
			series *c = &s[(i + j) % n_s];
			int64_t rev0 = on_etcd(c) ? fleet_etcd_revision(x->e)
						  : 0;
			double cpu0 = cpu_ns(c);

			for (w = 0; w < per; w++)
				c->t[c->n++] = op_once(c, x);
			c->cpu += cpu_ns(c) - cpu0;
			if (on_etcd(c))
				c->revs += fleet_etcd_revision(x->e) - rev0;
		}
}

/* Each series' line; m[k] its median, p99[k] its 99th percentile. */
static void report_all(series *s, int n_s, double *m, double *p99)
{
	int k;

	for (k = 0; k < n_s; k++) {
		m[k] = fleet_report(s[k].name, s[k].t, s[k].n, 1e3);
		p99[k] = fleet_pct(s[k].t, s[k].n, 99);
		if (s[k].cpu > 0)
			printf("  %-34s %s CPU %.1f us per op", "",
			       s[k].service ? "riskd" : "client",
			       s[k].cpu / (double)s[k].n / 1e3);
		if (on_etcd(&s[k]))
			printf(", %.2f etcd writes per op",
			       (double)s[k].revs / (double)s[k].n);
		if (s[k].cpu > 0)
			printf("\n");
	}
}

/* What etcd adds to a login of series `e` over the same login on SQLite
 * (series `q`), against the raw txn (series `raw`). */
static void added(const char *what, const series *s, const double *m,
		  const double *p99, int q, int e, int raw, double target)
{
	double add = m[e] - m[q], writes = (double)s[e].revs / (double)s[e].n;

	printf("  %s: etcd/sqlite median %.2f, p99 %.2f; etcd adds %.1f us "
	       "(p99s: %.1f us) = %.2f x the raw txn (%.1f us)",
	       what, m[e] / m[q], p99[e] / p99[q], add / 1e3,
	       (p99[e] - p99[q]) / 1e3, add / m[raw], m[raw] / 1e3);
	if (writes > 0)
		printf(", %.2f x per etcd write", add / writes / m[raw]);
	if (target > 0)
		printf(" (target: %s)", add / m[raw] <= target ? "met"
							      : "NOT met");
	printf("\n");
}

static void free_series(series *s, int n_s)
{
	int k;

	for (k = 0; k < n_s; k++)
		free(s[k].t);
}

/* BLOCKED_USER confirmed compromised on both backends (riskctl), host a's
 * replica up to date. */
static void block_user(const fleet *f, raw_txn *x)
{
	const fleet_host *h[] = { &f->sqlite, &f->hosts[0] };
	int k, st = 0;

	for (k = 0; k < 2; k++) {
		char *argv[] = { (char *)f->riskctl, (char *)"--policy",
				 (char *)h[k]->policy,
				 (char *)"confirm-compromised",
				 (char *)BLOCKED_USER, NULL };
		pid_t pid = fork();

		if (pid < 0)
			bench_die("fork: %s", strerror(errno));
		if (pid == 0)
			fleet_child_exec(h[k]->log, argv, f->child_env);
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			bench_die("riskctl confirm-compromised %s failed; see "
				  "%s", BLOCKED_USER, h[k]->log);
	}
	wait_replica(&f->hosts[0], x);
}

/* ---- 1. the allow path --------------------------------------------------- */

static void allow_path(int rounds, int per, raw_txn *x)
{
	series s[] = {
		LOGINS("floor (pam_permit)", "floor", 0, NULL, NULL),
		LOGINS("sqlite", "allow-sqlite", 0, NULL, NULL),
		LOGINS("etcd, back to back", "allow-etcd", 0, NULL, NULL),
		LOGINS("etcd, replica settled", "allow-etcd", 0, NULL,
		       &g_fleet.hosts[0]),
		BLOCKED("blocked user, sqlite", "allow-sqlite"),
		BLOCKED("blocked user, etcd", "allow-etcd"),
		RAW_TXN,
	};
	const int n_s = (int)(sizeof(s) / sizeof(s[0]));
	double m[7], p99[7];

	clock_real();
	alternate(s, n_s, rounds, per, x);
	printf("\n1. allow path through riskd, per login (pam_start .. "
	       "pam_end, PAM_RHOST set), %d alternating rounds of %d:\n",
	       rounds, per);
	report_all(s, n_s, m, p99);
	printf("  etcd/sqlite, back to back: median %.2f (target <= 1.10: "
	       "%s), p99 %.2f\n", m[2] / m[1],
	       m[2] / m[1] <= 1.10 ? "met" : "NOT met", p99[2] / p99[1]);
	printf("  etcd/sqlite, replica settled: median %.2f (target <= "
	       "1.10: %s), p99 %.2f\n", m[3] / m[1],
	       m[3] / m[1] <= 1.10 ? "met" : "NOT met", p99[3] / p99[1]);
	printf("  etcd/sqlite, blocked user (decided from the replica, "
	       "nothing published): median %.2f, p99 %.2f\n", m[5] / m[4],
	       p99[5] / p99[4]);
	added("back to back   ", s, m, p99, 1, 2, 6, 0);
	added("replica settled", s, m, p99, 1, 3, 6, 0);
	free_series(s, n_s);
}

/* ---- 2. the MFA path ----------------------------------------------------- */

/* Untimed, on both backends: the right code is accepted, the same code
 * again refused. */
static void mfa_checks(void)
{
	static const char *const svc[] = { "mfa-sqlite", "mfa-etcd" };
	int k, r;

	for (k = 0; k < 2; k++) {
		int64_t *clk = k ? &g_clock_etcd : &g_clock_sqlite;

		*clk += PERIOD;
		clock_set(*clk);
		if (time(NULL) != *clk)
			bench_die("libfaketime is not active");
		g_prompts = 0;
		r = fleet_login(svc[k], "root", RHOST);
		if (r != PAM_SUCCESS || g_prompts != 1)
			bench_die("%s: the right code: %s after %d prompts",
				  svc[k], pam_strerror(NULL, r), g_prompts);
		r = fleet_login(svc[k], "root", RHOST);
		if (r != PAM_AUTH_ERR)
			bench_die("%s: the same code again: %s, want "
				  "PAM_AUTH_ERR", svc[k],
				  pam_strerror(NULL, r));
		*clk += 3600; /* that failure out of the window */
	}
	printf("\nMFA checks (untimed): the right code accepted, the same "
	       "code again refused, on both backends\n");
}

static void mfa_path(int rounds, int per, raw_txn *x)
{
	series s[] = {
		LOGINS("MFA sqlite", "mfa-sqlite", 1, &g_clock_sqlite, NULL),
		LOGINS("MFA etcd", "mfa-etcd", 1, &g_clock_etcd, NULL),
		LOGINS("allow sqlite (no MFA)", "allow-sqlite", 0,
		       &g_clock_sqlite, NULL),
		LOGINS("allow etcd (no MFA)", "allow-etcd", 0, &g_clock_etcd,
		       NULL),
		RAW_TXN,
	};
	const int n_s = (int)(sizeof(s) / sizeof(s[0]));
	double m[5], p99[5], step_s, step_e;

	g_clock_sqlite = g_clock_etcd = real_time() / PERIOD * PERIOD;
	mfa_checks();
	alternate(s, n_s, rounds, per, x);
	printf("\n2. MFA path through riskd (one TOTP prompt, the right code, "
	       "PAM_RHOST set), the allow path for reference, and one raw "
	       "etcd txn, %d alternating rounds of %d:\n", rounds, per);
	report_all(s, n_s, m, p99);
	added("MFA sign-in", s, m, p99, 0, 1, 4, 1.2);
	/* the TOTP check alone (MFA minus allow on the same backend): on
	 * etcd, the MFA record's one CAS txn */
	step_s = m[0] - m[2];
	step_e = m[1] - m[3];
	printf("  the TOTP check alone (MFA minus allow): sqlite %.1f us, "
	       "etcd %.1f us (%.2f etcd writes); etcd adds %.1f us = %.2f x "
	       "the raw txn (target <= 1.20: %s)\n", step_s / 1e3,
	       step_e / 1e3,
	       (double)s[1].revs / (double)s[1].n -
		   (double)s[3].revs / (double)s[3].n,
	       (step_e - step_s) / 1e3, (step_e - step_s) / m[4],
	       (step_e - step_s) / m[4] <= 1.2 ? "met" : "NOT met");
	free_series(s, n_s);
}

/* ---- libfaketime, signals, clean-up -------------------------------------- */

/* Re-execute under libfaketime unless already there (as bench_mfa). */
static void under_faketime(char **argv)
{
	const char *lib = getenv("RR_LIBFAKETIME");
	const char *pre = getenv("LD_PRELOAD");
	char *preload = NULL;

	if (getenv(MARK_ENV))
		return;
	if (!lib || !*lib)
		lib = RR_LIBFAKETIME;
	if (!*lib || access(lib, R_OK) < 0)
		bench_die("libfaketime not found ('%s'); install it (Debian: "
			  "apt-get install faketime) or set RR_LIBFAKETIME",
			  lib);
	if (asprintf(&preload, "%s%s%s", lib, pre && *pre ? " " : "",
		     pre ? pre : "") < 0)
		bench_die("out of memory");
	if (setenv("LD_PRELOAD", preload, 1) < 0 ||
	    setenv("FAKETIME", "+0", 1) < 0 ||
	    setenv("FAKETIME_NO_CACHE", "1", 1) < 0 ||
	    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1) < 0 ||
	    setenv("TZ", "UTC", 1) < 0 || setenv(MARK_ENV, "1", 1) < 0)
		bench_die("setenv failed");
	free(preload);
	execv("/proc/self/exe", argv);
	bench_die("re-exec under libfaketime: %s", strerror(errno));
}

static pid_t g_main_pid;
static pthread_mutex_t g_cleanup_lock = PTHREAD_MUTEX_INITIALIZER;
int fleet_threads_live;

/* At exit (also after bench_die) and on a signal, once: riskd stopped,
 * the scratch directory removed.  Registered after libcurl and OpenSSL
 * registered their exit handlers, so it runs before them. */
static void cleanup(void)
{
	static bool done;
	size_t i;

	if (getpid() != g_main_pid)
		return;
	pthread_mutex_lock(&g_cleanup_lock);
	if (!done) {
		for (i = 0; i < FLEET_HOSTS; i++)
			fleet_host_stop(&g_fleet.hosts[i]);
		fleet_host_stop(&g_fleet.sqlite);
		if (g_tmp.dir[0])
			bench_scratch_remove(&g_tmp);
		bench_syslog_end();
		done = true;
	}
	pthread_mutex_unlock(&g_cleanup_lock);
	if (__atomic_load_n(&fleet_threads_live, __ATOMIC_RELAXED)) {
		/* watchers still inside libcurl: no library teardown */
		fflush(NULL);
		_exit(1);
	}
}

/* SIGINT, SIGTERM, SIGHUP are blocked everywhere and taken here: the
 * clean-up (a bench_die in the main thread meanwhile waits for it), then
 * the whole process ends. */
static void *signals(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;

	sigwait(set, &sig);
	fprintf(stderr, "bench_fleet: signal %d, cleaning up\n", sig);
	cleanup();
	fflush(NULL);
	_exit(128 + sig);
}

static sigset_t g_signals;

/* Before any thread exists: every thread inherits the mask. */
static void block_signals(void)
{
	sigemptyset(&g_signals);
	sigaddset(&g_signals, SIGINT);
	sigaddset(&g_signals, SIGTERM);
	sigaddset(&g_signals, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &g_signals, NULL) != 0)
		bench_die("cannot block signals");
}

static void take_signals(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, signals, &g_signals) != 0)
		bench_die("cannot set up the signal thread");
	pthread_detach(t);
}

int main(int argc, char **argv)
{
	int actions = argc > 4 ? atoi(argv[4]) : 100;
	int watchers = argc > 5 ? atoi(argv[5]) : 200;
	int storm = argc > 6 ? atoi(argv[6]) : 20;
	int rounds, per;
	raw_txn x = { 0 };
	int64_t rev;

	if (argc > 1 && !strcmp(argv[1], "--storm-client"))
		return fleet_storm_client(argc, argv);
	bench_args(argc, argv, " [actions] [watchers] [storm-seconds]",
		   actions >= 1 && watchers >= 0 && watchers <= 1000 &&
		       storm >= 0 && storm <= 600,
		   &rounds, &per);
	bench_need_root("root-owned store, key, policy and etcd password");
	setvbuf(stdout, NULL, _IOLBF, 0); /* progress, also into a file */
	/* two series on each backend's clock, each login one period on */
	if (((int64_t)rounds * per + per / 4 + 1) * 2 * PERIOD + 3600 >
	    MAX_FAKE_ADVANCE)
		bench_die("rounds x logins too large for the fake clock (the "
			  "test CA's certificates are valid 2 days)");
	under_faketime(argv);
	if (putenv(g_faketime) < 0)
		bench_die("putenv failed");
	clock_real();
	block_signals();
	/* before the signal thread: the private mount namespace is the
	 * calling thread's, and the signal thread must share it */
	bench_syslog_begin("bench_fleet");
	take_signals();
	g_main_pid = getpid();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    atexit(cleanup) != 0)
		bench_die("cannot initialise libcurl");
	setup(&g_fleet, argv[1]);

	x.e = fleet_etcd_open(&g_fleet, 0);
	fmt(x.raw_key, sizeof(x.raw_key), "/riskremediate/bench-raw/%s",
	    strrchr(g_tmp.dir, '/') + 1);
	rev = register_root(&g_fleet, x.e);
	fleet_host_start(&g_fleet, &g_fleet.sqlite, false, 0);
	fleet_host_start(&g_fleet, &g_fleet.hosts[0], true, rev);
	block_user(&g_fleet, &x);
	printf("fleet %s: host a's riskd replicates it (revision %lld), "
	       "host sqlite's riskd has the same policy on SQLite\n",
	       g_fleet.prefix, (long long)fleet_replica_revision(
				   &g_fleet.hosts[0]));

	allow_path(rounds, per, &x);
	mfa_path(rounds, per, &x);
	clock_real();
	fleet_propagation(&g_fleet, actions, watchers);
	if (storm)
		fleet_storm(&g_fleet, x.e, storm);

	rr_etcd_free(x.e);
	return 0; /* cleanup() at exit */
}
