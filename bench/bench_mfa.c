/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-login cost of the MFA path through the real libpam: pam_start,
 * pam_authenticate, pam_acct_mgmt, pam_end, for
 *   floor   pam_permit alone
 *   allow   pam_permit + pam_riskremediate, no MFA required (allow path)
 *   ours    pam_permit + pam_riskremediate, a policy requires MFA: one TOTP
 *           prompt, verified, the step stored against replay
 *   gauth   pam_permit + pam_google_authenticator (TOTP, DISALLOW_REUSE)
 * measured in the same run, alternating rounds (order rotated), medians
 * compared.  Both TOTP modules are configured equally strict: SHA1, 6
 * digits, 30 s, one step either side, a used step refused.  The
 * conversation answers the one prompt with the code for the current time,
 * computed when the prompt arrives.
 *
 * Time.  Replay refusal means every login needs a new time step, and the
 * bench never sleeps: it runs under libfaketime (re-executing itself with
 * LD_PRELOAD when needed, FAKETIME_NO_CACHE=1 so the value is re-read on
 * every clock call) and, before each login, moves FAKETIME, an absolute
 * date, i.e. a stopped clock, one period on.  Module and conversation read
 * the same instant, wherever in the login they read it.  A fast-running
 * clock (FAKETIME="+0 x3000") does not work for both modules at once:
 * pam_riskremediate reads the clock once when the sign-in starts,
 * pam_google_authenticator when the code arrives, and a short gauth login
 * must still span a step.  Timing uses the raw clock_gettime syscall, which
 * libfaketime does not see.
 *
 * Before timing, untimed: each service once with the right code (must
 * succeed), the same code again (replay, must be PAM_AUTH_ERR) and a wrong
 * code (must be PAM_AUTH_ERR).  Every timed login must return PAM_SUCCESS
 * after exactly the expected number of prompts, or the bench aborts.
 *
 * Syslog.  Both modules log one line per sign-in.  Without a syslog
 * daemon (no /dev/log) glibc falls back to writing the line to
 * /dev/console, which on a VM is often a serial port: ~10 us a character,
 * so the figures would rank the modules by the length of their log lines.
 * In that case the bench gives itself a /dev/log in a private mount
 * namespace (the machine's /dev is untouched) and a thread that reads and
 * discards the lines, like journald would; RR_BENCH_CONSOLE=1 keeps the
 * console.
 *
 * usage: bench_mfa MODULE.so [rounds] [logins-per-round]
 * Run as root (the store, key, policy and secret must be root-owned).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench_common.h"
#include "bench_syslog.h"
#include "rr_mfa.h"
#include "rr_store.h"

#define PERIOD 30
#define DATE_LEN 20 /* "YYYY-MM-DD hh:mm:ss" + NUL */
#define MARK_ENV "RR_BENCH_MFA_UNDER_FAKETIME"

#ifndef RR_LIBFAKETIME
#define RR_LIBFAKETIME ""
#endif

enum { FLOOR, ALLOW, OURS, GAUTH, N_SVC };

static const char *const svc[N_SVC] = { "floor", "allow", "ours", "gauth" };
static const char *const what[N_SVC] = {
	"pam_permit",
	"+ pam_riskremediate, no MFA required",
	"+ pam_riskremediate, TOTP required",
	"+ pam_google_authenticator, TOTP",
};

static bench_scratch g_tmp;

/* putenv()'d: libfaketime reads this very buffer on every clock call. */
static char g_faketime[] = "FAKETIME=2000-01-01 00:00:00";
#define FT_DATE (g_faketime + sizeof("FAKETIME=") - 1)
static int64_t g_clock; /* the stopped fake clock */

typedef enum { ANS_RIGHT, ANS_REPLAY, ANS_WRONG } answer_kind;

typedef struct {
	uint8_t secret[RR_TOTP_SECRET_LEN];
	answer_kind kind;
	int prompts;
	bool failed;
	char last[RR_TOTP_CODE_MAX + 1];
} answerer;

static answerer g_ans[N_SVC];

static int64_t real_time(void)
{
	struct timespec ts;

	/* the raw syscall: libfaketime interposes the libc function only */
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static void fmt_date(int64_t t, char out[DATE_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (strftime(out, DATE_LEN, "%Y-%m-%d %H:%M:%S", &tm) != DATE_LEN - 1)
		bench_die("cannot format a date");
}

static void clock_set(int64_t t)
{
	fmt_date(t, FT_DATE);
	g_clock = t;
}

/* ---- answering the prompt --------------------------------------------- */

static char *code_for(answerer *a)
{
	rr_totp_params p;
	char code[RR_TOTP_CODE_MAX + 1];
	size_t i;

	if (a->kind == ANS_REPLAY)
		return strdup(a->last);
	rr_totp_params_default(&p);
	if (rr_totp_code(a->secret, sizeof(a->secret), &p,
			 (int64_t)time(NULL) / PERIOD, code) < 0)
		return NULL;
	if (a->kind == ANS_WRONG) /* every digit off by one */
		for (i = 0; code[i]; i++)
			code[i] = (char)('0' + (code[i] - '0' + 1) % 10);
	memcpy(a->last, code, sizeof(a->last));
	return strdup(code);
}

static int conv(int n, const struct pam_message **m, struct pam_response **r,
		void *d)
{
	answerer *a = d;
	int i;

	*r = calloc((size_t)n, sizeof(**r));
	if (!*r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (m[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    m[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		a->prompts++;
		(*r)[i].resp = code_for(a);
		if (!(*r)[i].resp) {
			a->failed = true;
			while (i--)
				free((*r)[i].resp);
			free(*r);
			*r = NULL;
			return PAM_CONV_ERR;
		}
	}
	return PAM_SUCCESS;
}

/* One login of service k; the PAM result. */
static int login(int k)
{
	const struct pam_conv c = { conv, &g_ans[k] };

	return bench_login_once(g_tmp.conf, svc[k], &c, NULL);
}

static int expected_prompts(int k)
{
	return k == OURS || k == GAUTH ? 1 : 0;
}

/* ---- setup ------------------------------------------------------------ */

/* Register root's authenticator the way the module would have, without
 * the enrolment dialogue: the bench is not timing registration. */
static void register_ours(const char *store, const char *keyfile)
{
	uint8_t key[RR_MFA_KEY_LEN], sealed[RR_SEALED_MAX];
	size_t sealed_len = 0;
	rr_store *s = NULL;

	if (rr_totp_secret_new(g_ans[OURS].secret) < 0 ||
	    rr_mfa_key_load(keyfile, true, key) < 0 ||
	    rr_mfa_seal(key, "root", g_ans[OURS].secret,
			sizeof(g_ans[OURS].secret), sealed, &sealed_len) < 0)
		bench_die("cannot seal the authenticator secret");
	if (rr_store_open(store, &s) < 0)
		bench_die("cannot open the store");
	if (rr_store_mfa_register(s, "root", sealed, sealed_len, RR_TOTP_SHA1,
				  6, PERIOD, g_clock / PERIOD - 1,
				  g_clock) < 0)
		bench_die("cannot register the authenticator");
	rr_store_close(s);
}

/* pam_google_authenticator's secret file (FILEFORMAT in its docs): the
 * base32 secret, then option lines. */
static void register_gauth(const char *path)
{
	char *b32 = NULL, text[256];

	if (rr_totp_secret_new(g_ans[GAUTH].secret) < 0 ||
	    rr_base32_encode(g_ans[GAUTH].secret,
			     sizeof(g_ans[GAUTH].secret), &b32) < 0)
		bench_die("cannot make the gauth secret");
	snprintf(text, sizeof(text), "%s\n\" TOTP_AUTH\n\" STEP_SIZE %d\n"
		 "\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n", b32, PERIOD);
	rr_mfa_free_secret_string(b32);
	bench_write_text(path, text, 0600);
}

static void setup(const char *module)
{
	char path[160], store[128], policy[128], keyfile[128], text[512];

	bench_scratch_make(&g_tmp, "-mfa");
	snprintf(policy, sizeof(policy), "%s/policy.yaml", g_tmp.dir);
	snprintf(store, sizeof(store), "%s/store/risk.db", g_tmp.dir);
	snprintf(keyfile, sizeof(keyfile), "%s/mfa.key", g_tmp.dir);
	/* window 1 = pam_google_authenticator's WINDOW_SIZE 3; max_failures
	 * raised so the untimed wrong-code and replay checks (up to 6 wrong
	 * answers) do not lock MFA and raise root's risk */
	snprintf(text, sizeof(text),
		 "mfa: { key_file: %s, algorithm: SHA1, digits: 6,"
		 " period: %d, window: 1, max_failures: 10 }\n", keyfile,
		 PERIOD);
	bench_write_policy(policy, store, text, "",
			   "  - name: MFA for the bench service\n"
			   "    services: { include: [ours] }\n"
			   "    grant: { require: [mfa] }\n");

	bench_service_floor(&g_tmp);
	bench_service_ours(&g_tmp, "ours", module, policy);
	bench_service_ours(&g_tmp, "allow", module, policy);
	snprintf(text, sizeof(text),
		 "auth required pam_permit.so\n"
		 "auth required pam_google_authenticator.so secret=%s/gauth"
		 " user=root noskewadj\n"
		 "account required pam_permit.so\n", g_tmp.dir);
	bench_service(&g_tmp, "gauth", text);

	register_ours(store, keyfile);
	snprintf(path, sizeof(path), "%s/gauth", g_tmp.dir);
	register_gauth(path);
}

/* ---- checks ------------------------------------------------------------ */

static void expect(int k, answer_kind kind, int want)
{
	static const char *const kinds[] = { "right", "replayed", "wrong" };
	answerer *a = &g_ans[k];
	int r;

	a->kind = kind;
	a->prompts = 0;
	r = login(k);
	if (r != want || a->failed ||
	    (kind == ANS_RIGHT && a->prompts != expected_prompts(k)) ||
	    (kind != ANS_RIGHT && a->prompts < 1)) {
		fprintf(stderr, "bench_mfa: %s with the %s code: %s after %d "
			"prompts, want %s%s\n", svc[k], kinds[kind],
			pam_strerror(NULL, r), a->prompts,
			pam_strerror(NULL, want), k == GAUTH ?
			" (is libpam-google-authenticator installed?)" : "");
		exit(1);
	}
	printf("  %-5s %-8s code: %s (%d prompt%s)\n", svc[k], kinds[kind],
	       pam_strerror(NULL, r), a->prompts, a->prompts == 1 ? "" : "s");
}

static void sanity(void)
{
	int k;

	if (time(NULL) != g_clock)
		bench_die("libfaketime is not active (time() does not "
			  "follow FAKETIME)");
	printf("checks before timing (not timed):\n");
	for (k = 0; k < N_SVC; k++) {
		clock_set(g_clock + PERIOD);
		expect(k, ANS_RIGHT, PAM_SUCCESS);
		if (!expected_prompts(k))
			continue;
		expect(k, ANS_REPLAY, PAM_AUTH_ERR); /* same instant */
		clock_set(g_clock + PERIOD);
		expect(k, ANS_WRONG, PAM_AUTH_ERR);
		clock_set(g_clock + PERIOD);
		expect(k, ANS_RIGHT, PAM_SUCCESS);
	}
	/* past the wrong-code window */
	clock_set(g_clock + 2 * 3600);
	for (k = 0; k < N_SVC; k++)
		g_ans[k].kind = ANS_RIGHT;
}

/* ---- timing ------------------------------------------------------------ */

/* Mean ns per login over n logins of service k, the clock one period on
 * for each (dates: DATE_LEN-byte slots for n, formatted before timing). */
static double run_round(void *dates_, int k, int n)
{
	char (*dates)[DATE_LEN] = dates_;
	answerer *a = &g_ans[k];
	int i, bad = 0, first = PAM_SUCCESS;
	double t0, t;

	for (i = 0; i < n; i++)
		fmt_date(g_clock + (int64_t)(i + 1) * PERIOD, dates[i]);
	a->prompts = 0;
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		int r;

		memcpy(FT_DATE, dates[i], DATE_LEN);
		r = login(k);
		if (r != PAM_SUCCESS && !bad++)
			first = r;
	}
	t = bench_now_ns() - t0;
	clock_set(g_clock + (int64_t)n * PERIOD);
	if (bad || a->failed || a->prompts != n * expected_prompts(k)) {
		fprintf(stderr, "bench_mfa: %s: %d of %d logins failed (first: "
			"%s), %d prompts for %d logins\n", svc[k], bad, n,
			pam_strerror(NULL, first), a->prompts, n);
		exit(3);
	}
	return t / n;
}

static void compare(int rounds, int per_round)
{
	static double t[N_SVC][BENCH_MAX_ROUNDS];
	char (*dates)[DATE_LEN] = calloc((size_t)per_round, DATE_LEN);
	double m[N_SVC];
	int k;

	if (!dates)
		bench_die("out of memory");
	bench_alternate(N_SVC, rounds, per_round, per_round / 4 + 1,
			run_round, dates, t, m); /* t sorted: [0] min, last max */
	free(dates);
	printf("per-login cost, median of %d alternating rounds of %d logins "
	       "(every login PAM_SUCCESS, one TOTP prompt each for ours and "
	       "gauth); round means min..max\n", rounds, per_round);
	for (k = 0; k < N_SVC; k++)
		printf("  %-6s %8.1f us  (%.1f..%.1f)  %s\n", svc[k],
		       m[k] / 1000.0, t[k][0] / 1000.0,
		       t[k][rounds - 1] / 1000.0, what[k]);
	printf("  MFA overhead over pam_permit: ours %.1f us, "
	       "pam_google_authenticator %.1f us, ratio ours/gauth %.2f "
	       "(target <= 1.00)\n", (m[OURS] - m[FLOOR]) / 1000.0,
	       (m[GAUTH] - m[FLOOR]) / 1000.0,
	       (m[OURS] - m[FLOOR]) / (m[GAUTH] - m[FLOOR]));
	printf("  of ours: allow path %.1f us + TOTP step %.1f us\n",
	       (m[ALLOW] - m[FLOOR]) / 1000.0,
	       (m[OURS] - m[ALLOW]) / 1000.0);
}

/* ---- libfaketime ------------------------------------------------------ */

/* Re-execute under libfaketime unless already there. */
static void under_faketime(char **argv)
{
	const char *lib = getenv("RR_LIBFAKETIME");
	const char *pre = getenv("LD_PRELOAD");
	char *preload = NULL;

	if (getenv(MARK_ENV))
		return;
	if (!lib || !*lib)
		lib = RR_LIBFAKETIME;
	if (!*lib || access(lib, R_OK) < 0) {
		fprintf(stderr, "bench_mfa: libfaketime not found ('%s'); "
			"install it (Debian: apt-get install faketime) or set "
			"RR_LIBFAKETIME=/path/to/libfaketime.so.1\n", lib);
		exit(2);
	}
	if (asprintf(&preload, "%s%s%s", lib, pre && *pre ? " " : "",
		     pre ? pre : "") < 0)
		bench_die("out of memory");
	if (setenv("LD_PRELOAD", preload, 1) < 0 ||
	    setenv("FAKETIME", "2000-01-01 00:00:00", 1) < 0 ||
	    setenv("FAKETIME_NO_CACHE", "1", 1) < 0 ||
	    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1) < 0 ||
	    setenv("TZ", "UTC", 1) < 0 || setenv(MARK_ENV, "1", 1) < 0)
		bench_die("setenv failed");
	free(preload);
	execv("/proc/self/exe", argv);
	perror("bench_mfa: re-exec under libfaketime");
	exit(2);
}

int main(int argc, char **argv)
{
	int rounds, per_round;

	bench_args(argc, argv, "", true, &rounds, &per_round);
	bench_need_root("root-owned store, key, policy and secret");
	under_faketime(argv);
	if (putenv(g_faketime) < 0)
		bench_die("putenv failed");
	bench_syslog_begin("bench_mfa");
	clock_set(real_time() / PERIOD * PERIOD);
	setup(argv[1]);
	sanity();
	compare(rounds, per_round);
	bench_scratch_remove(&g_tmp);
	bench_syslog_end();
	return 0;
}
