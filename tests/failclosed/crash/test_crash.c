/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash safety and resources (suite failclosed; DESIGN 4 and 7: the module
 * never fails open, every change is one transaction).
 *
 * "crash": for RR_CRASH_SECONDS (default 20) parallel children log in,
 * half through riskd (a copy of the module with no core library next to
 * it: a call riskd does not serve is denied, never run elsewhere) and half
 * in their own process (riskd=off), in five flows: allow, MFA with the
 * right code (a risky sign-in), MFA with wrong codes, forced MFA
 * registration, block.  A killer sends SIGKILL at random moments to riskd
 * and to login children.  After each kill of riskd the test starts it
 * again at once, as systemd's Restart=on-failure (riskd.service) would, and
 * the next login through it must succeed.  The seed is printed;
 * RR_CRASH_SEED replays a run's choices (not its timing).
 *
 * Invariants, after every finished login, every RR_CHECK_EVERY_MS, and at
 * the end: PRAGMA integrity_check is "ok"; no sign-in half-recorded (the
 * detections text of each sign-in matches its detection rows, no
 * detection points at a missing sign-in, per user the successes counted
 * equal the sign-ins recorded as success, an "interrupted" sign-in
 * belongs to a login that was killed or lost riskd mid-call); a blocked
 * or wrong-code login never succeeds; every login that returned is
 * recorded exactly once (a login that lost riskd mid-call at most once),
 * its outcome "success" exactly when PAM said so; an accepted TOTP code's
 * step is recorded as used, and replaying it at the end is refused.
 *
 * "resources": RR_RESOURCE_LOGINS (default 10000) logins through riskd and
 * RR_RESOURCE_INPROC_LOGINS (default 2000: 150 to 500 a second, against
 * 550 to 1,500 through riskd) in process, alternating allow and MFA, one after
 * the other in this process; riskd's open fds and VmRSS after a warm-up
 * and after each 1000: fds exactly equal, VmRSS growth under RSS_SLACK_KB
 * and under RSS_LATE_KB over the second half; this process's fds equal
 * before and after each batch.
 *
 * Login children never call cmocka (a failing assertion in a forked copy
 * would go on running the test there): their own conversation, results
 * through shared memory, a watchdog of LOGIN_HANG_S.
 */
#include "harness.h"

#include <dirent.h>
#include <execinfo.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rr_mfa.h"

#include <liboath/oath.h>

#ifndef RR_RISKD_PATH
#error "RR_RISKD_PATH must be defined"
#endif

/* ---- users ------------------------------------------------------------- */

/* Pools of nss_wrapper users: A (allow and block, registered), M (MFA
 * with the right code, registered), W (wrong codes, registered; they get
 * locked, which is right), R (not registered; each registers once). */
#define N_A 16
#define N_M 1000
#define N_W 8
#define N_R 3000

enum { FLOW_ALLOW, FLOW_MFA, FLOW_WRONG, FLOW_REGISTER, FLOW_BLOCK, FLOWS };
static const char *const flow_name[FLOWS] = {"allow", "mfa-ok", "mfa-wrong",
					      "register", "block"};

static void user_name(char pool, int i, char *out, size_t len)
{
	snprintf(out, len, "rc%c%04d", pool, i);
}

static char nss_dir[] = "/tmp/rr-crash-nss-XXXXXX";

static void nss_users(void)
{
	static const char pools[] = "AMWR";
	static const int sizes[] = {N_A, N_M, N_W, N_R};
	char path[128], name[32];
	FILE *f;
	int p, i, uid = 3000;

	assert_non_null(mkdtemp(nss_dir));
	snprintf(path, sizeof(path), "%s/passwd", nss_dir);
	f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "root:x:0:0:root:/root:/bin/sh\n");
	for (p = 0; p < 4; p++)
		for (i = 0; i < sizes[p]; i++) {
			user_name(pools[p], i, name, sizeof(name));
			fprintf(f, "%s:x:%d:%d::/nonexistent:/bin/sh\n", name,
				uid, uid);
			uid++;
		}
	assert_int_equal(fclose(f), 0);
	setenv("NSS_WRAPPER_PASSWD", path, 1);
	snprintf(path, sizeof(path), "%s/group", nss_dir);
	write_file(path, "root:x:0:\n", 0644);
	setenv("NSS_WRAPPER_GROUP", path, 1);
}

/* The secret of a registered user: fixed per user, so that the parent
 * computes codes without reading the store. */
static void secret_of(const char *user, uint8_t s[RR_TOTP_SECRET_LEN])
{
	size_t i, n = strlen(user);

	for (i = 0; i < RR_TOTP_SECRET_LEN; i++)
		s[i] = (uint8_t)(user[i % n] * 31 + i * 7 + 1);
}

static void code_of(const char *user, int64_t step, char *out)
{
	uint8_t s[RR_TOTP_SECRET_LEN];
	rr_totp_params t;

	rr_totp_params_default(&t);
	secret_of(user, s);
	assert_int_equal(rr_totp_code(s, sizeof(s), &t, step, out), 0);
}

/* Some step in (step, last] has the same code as `step`. */
static bool code_later(const char *user, int64_t step, const char *code,
		       int64_t last)
{
	char c[RR_TOTP_CODE_MAX + 1];

	for (step++; step <= last; step++) {
		code_of(user, step, c);
		if (!strcmp(c, code))
			return true;
	}
	return false;
}

static void register_pool(rr_store *st, const uint8_t *key, char pool, int n,
			  int64_t now)
{
	uint8_t s[RR_TOTP_SECRET_LEN], sealed[RR_SEALED_MAX];
	char name[32];
	size_t len;
	int i;

	for (i = 0; i < n; i++) {
		user_name(pool, i, name, sizeof(name));
		secret_of(name, s);
		assert_int_equal(rr_mfa_seal(key, name, s, sizeof(s), sealed,
					     &len), 0);
		/* step 0: every code of today is fresh */
		assert_int_equal(rr_store_mfa_register(st, name, sealed, len,
						       RR_TOTP_SHA1, 6, 30, 0,
						       now), 0);
	}
}

/* ---- fixture ----------------------------------------------------------- */

static char mod_riskd[200]; /* F.dir/mod/pam_riskremediate.so: no core */
static char rd_sock[200];
static pid_t rd_pid;
static int rd_starts;

static void write_list(const char *name, const char *text)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", F.dir, name);
	write_file(path, text, 0644);
}

/* 100.64/16 anonymizer (medium: MFA), 100.65/16 malicious (high: block),
 * anything else clean. */
static int mfa_window = 1;

static void setup_fixture(void)
{
	uint8_t key[RR_MFA_KEY_LEN];
	char path[160], text[2048];
	rr_store *st;

	nss_users();
	fixture_setup("rr-crash");
	write_list("anon.list", "100.64.0.0/16\n");
	write_list("mal.list", "100.65.0.0/16\n");
	write_policy_fmt(
		"version: 1\n"
		"issuer: Test Corp\n"
		"store: { backend: sqlite, path: %s }\n"
		"mfa: { key_file: %s/mfa.key, window: %d }\n"
		"mfa_registration: { state: enabled, grace_days: 0 }\n"
		"aggregation: { enabled: false }\n"
		"detections:\n"
		"  unfamiliarFeatures: { enabled: false }\n"
		"  bruteForce: { enabled: false }\n"
		"  passwordSpray: { enabled: false }\n"
		"  anonymizedIPAddress: { level: medium, lists: [%s/anon.list] }\n"
		"  maliciousIPAddress: { level: high, lists: [%s/mal.list] }\n"
		"policies:\n"
		"  - name: Risky sign-ins require MFA\n"
		"    conditions: { signin_risk: [medium] }\n"
		"    grant: { require: [mfa] }\n"
		"  - name: High sign-in risk is blocked\n"
		"    conditions: { signin_risk: [high] }\n"
		"    grant: { block: true }\n",
		F.store, F.dir, mfa_window, F.dir, F.dir);
	snprintf(path, sizeof(path), "%s/mod", F.dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(mod_riskd, sizeof(mod_riskd), "%s/pam_riskremediate.so", path);
	copy_file(RR_MODULE_PATH, mod_riskd);
	snprintf(path, sizeof(path), "%s/run", F.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(rd_sock, sizeof(rd_sock), "%s/riskd.sock", path);
	snprintf(text, sizeof(text),
		 "auth required %s riskd=%s policy=%s\n"
		 "account required %s riskd=%s policy=%s\n",
		 mod_riskd, rd_sock, F.policy, mod_riskd, rd_sock, F.policy);
	write_raw_service("via-riskd", text);
	snprintf(text, sizeof(text),
		 "auth required %s riskd=off policy=%s\n"
		 "account required %s riskd=off policy=%s\n",
		 RR_MODULE_PATH, F.policy, RR_MODULE_PATH, F.policy);
	write_raw_service("in-process", text);

	snprintf(path, sizeof(path), "%s/mfa.key", F.dir);
	assert_int_equal(rr_mfa_key_load(path, true, key), 0);
	st = open_store();
	register_pool(st, key, 'A', N_A, time(NULL));
	register_pool(st, key, 'M', N_M, time(NULL));
	register_pool(st, key, 'W', N_W, time(NULL));
	rr_store_close(st);
	explicit_bzero(key, sizeof(key));
}

static void show_file(const char *name)
{
	char path[160], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", F.dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	fprintf(stderr, "%s:\n%s\n", name, buf);
}

static void riskd_start(void)
{
	int i;

	rd_pid = fork();
	assert_true(rd_pid >= 0);
	if (rd_pid == 0) {
		char err[160];
		int fd;

		/* its stderr kept apart, shown when it fails to start */
		snprintf(err, sizeof(err), "%s/riskd.err", F.dir);
		fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(125);
		execl(RR_RISKD_PATH, "riskd", "--socket", rd_sock,
		      "--policy", F.policy, (char *)NULL);
		_exit(127);
	}
	rd_starts++;
	for (i = 0; i < 3000 && !socket_listening(rd_sock); i++) {
		int st;

		if (waitpid(rd_pid, &st, WNOHANG) == rd_pid) {
			show_file("riskd.err");
			fail_msg("riskd exited before listening (0x%x)", st);
		}
		usleep(2000);
	}
	if (!socket_listening(rd_sock))
		fail_msg("riskd did not listen on %s", rd_sock);
}

/* SIGTERM at the end: riskd exits 0 (a crash earlier would show here). */
static void riskd_stop(void)
{
	int st = 0;

	if (rd_pid <= 0)
		return;
	assert_int_equal(kill(rd_pid, SIGTERM), 0);
	assert_int_equal(waitpid(rd_pid, &st, 0), rd_pid);
	rd_pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		show_file("riskd.err"); /* LeakSanitizer's report */
		fail_msg("riskd did not stop cleanly (wait status 0x%x)", st);
	}
}

static void teardown_all(void)
{
	if (rd_pid > 0) {
		kill(rd_pid, SIGKILL);
		waitpid(rd_pid, NULL, 0);
		rd_pid = 0;
	}
	fixture_teardown(NULL);
	unlink(getenv("NSS_WRAPPER_PASSWD"));
	unlink(getenv("NSS_WRAPPER_GROUP"));
	rmdir(nss_dir);
}

/* ---- budgets and randomness -------------------------------------------- */

static long env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < min || n > max)
		fail_msg("%s=%s: want a whole number from %ld to %ld", name, v,
			 min, max);
	return n;
}

static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static long rnd_below(long n)
{
	return (long)(rnd() % (uint64_t)n);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the store, read directly ------------------------------------------ */

static sqlite3 *db_open(void)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(F.store, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* The first column of the first row of `sql` (with one text parameter
 * unless NULL) as an integer; -1 for no row. */
static int64_t db_int(sqlite3 *db, const char *sql, const char *param)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (param)
		assert_int_equal(sqlite3_bind_text(st, 1, param, -1,
						   SQLITE_TRANSIENT),
				 SQLITE_OK);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

static void db_text(sqlite3 *db, const char *sql, const char *param,
		    char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc;

	out[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (param)
		assert_int_equal(sqlite3_bind_text(st, 1, param, -1,
						   SQLITE_TRANSIENT),
				 SQLITE_OK);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, len, "%s", sqlite3_column_text(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

/* Entries in a sign-in's "type:level,type:level" detections text. */
#define DETS_IN_TEXT                                                         \
	"(CASE WHEN s.detections = '' THEN 0 ELSE length(s.detections) - "  \
	"length(replace(s.detections, ',', '')) + 1 END)"

/* The store as a whole: nothing torn, nothing half-recorded. */
static void check_store(sqlite3 *db)
{
	char text[256];
	int64_t n;

	db_text(db, "PRAGMA integrity_check", NULL, text, sizeof(text));
	if (strcmp(text, "ok"))
		fail_msg("integrity_check: %s", text);
	/* a sign-in whose detection rows differ from its own list */
	n = db_int(db, "SELECT count(*) FROM signins s WHERE " DETS_IN_TEXT
		   " != (SELECT count(*) FROM detections d WHERE d.scope ="
		   " 'signin' AND d.ref = s.ref AND d.user = s.user)", NULL);
	if (n != 0)
		fail_msg("%" PRId64 " sign-ins with a partial set of "
			 "detections", n);
	/* a sign-in detection without its sign-in */
	n = db_int(db, "SELECT count(*) FROM detections d WHERE d.scope ="
		   " 'signin' AND NOT EXISTS (SELECT 1 FROM signins s WHERE"
		   " s.ref = d.ref)", NULL);
	if (n != 0)
		fail_msg("%" PRId64 " detections of no sign-in", n);
	/* successes counted (user_stats, written with the sign-in) equal
	 * the sign-ins recorded as success, user by user */
	n = db_int(db, "SELECT count(*) FROM (SELECT user, count(*) c FROM"
		   " signins WHERE outcome = 'success' GROUP BY user) s"
		   " FULL OUTER JOIN user_stats u ON u.user = s.user"
		   " WHERE coalesce(s.c, 0) != coalesce(u.successes, 0)",
		   NULL);
	if (n != 0)
		fail_msg("%" PRId64 " users whose success count differs from "
			 "their successful sign-ins", n);
	/* a successful sign-in's network is familiar (same transaction) */
	n = db_int(db, "SELECT count(*) FROM signins s WHERE s.outcome ="
		   " 'success' AND s.netkey != '' AND NOT EXISTS (SELECT 1"
		   " FROM familiar_networks f WHERE f.user = s.user AND"
		   " f.netkey = s.netkey)", NULL);
	if (n != 0)
		fail_msg("%" PRId64 " successful sign-ins whose network is not"
			 " familiar", n);
}

/* The sign-in from `rhost`, to stderr. */
static void show_signin(sqlite3 *db, const char *rhost)
{
	sqlite3_stmt *st = NULL;
	int i;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT * FROM signins WHERE"
					    " rhost = ?", -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, rhost, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(st); i++)
			fprintf(stderr, "  %s=%s\n", sqlite3_column_name(st, i),
				sqlite3_column_text(st, i) ?
				(const char *)sqlite3_column_text(st, i) : "");
		fprintf(stderr, "  --\n");
	}
	sqlite3_finalize(st);
}

/* ---- one login --------------------------------------------------------- */

typedef struct {
	int flow;
	int via_riskd;
	char user[16];
	char rhost[24];
	char code[RR_TOTP_CODE_MAX + 1]; /* FLOW_MFA: the code typed */
	int64_t step;                     /* its step, or the step at start */
	int riskd_gen;                    /* rd_gen when it started */
	pid_t pid;
	/* written by the child */
	int done;
	int auth;
	int account;
	int lost_riskd; /* told "the sign-in risk check is unavailable" */
	/* the parent's verdict */
	int killed;
	int reaped;
} slot;

#define MAX_SLOTS 200000
static slot *S;      /* shared with the children */
static int n_slots;
static volatile int *rd_gen; /* shared: bumped at each riskd kill */

/* ---- the login child: no cmocka (an assertion failing in a forked copy
 * of the test would run the rest of the test there) ---------------------- */

static slot *C;          /* the child's slot */
static char C_msgs[32768]; /* what it was shown */
static size_t C_len;
static int C_answers;

/* The code of the secret in the last otpauth:// URI shown, now. */
static char *code_from_uri(void)
{
	char b32[128], code[RR_TOTP_CODE_MAX + 1], *raw = NULL;
	const char *uri = NULL, *p = C_msgs, *sec;
	rr_totp_params t;
	size_t n, rawlen = 0;
	int r;

	while ((p = strstr(p, "otpauth://totp/")) != NULL)
		uri = p++;
	if (!uri || !(sec = strstr(uri, "secret=")))
		return NULL;
	sec += 7;
	n = strcspn(sec, "&\n");
	if (n >= sizeof(b32))
		return NULL;
	memcpy(b32, sec, n);
	b32[n] = '\0';
	if (oath_base32_decode(b32, n, &raw, &rawlen) != OATH_OK)
		return NULL;
	rr_totp_params_default(&t);
	r = rr_totp_code((const uint8_t *)raw, rawlen, &t, time(NULL) / 30,
			 code);
	explicit_bzero(raw, rawlen);
	free(raw);
	return r ? NULL : strdup(code);
}

static int child_conv(int n, const struct pam_message **msg,
		      struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i, w;

	(void)data;
	if (!r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		w = snprintf(C_msgs + C_len, sizeof(C_msgs) - C_len, "%s\n",
			     msg[i]->msg);
		if (w > 0 && (size_t)w < sizeof(C_msgs) - C_len)
			C_len += (size_t)w;
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		/* one code (three wrong ones), then the user hangs up */
		if (C_answers++ >= (C->flow == FLOW_WRONG ? 3 : 1))
			r[i].resp = NULL;
		else if (C->flow == FLOW_REGISTER)
			r[i].resp = code_from_uri();
		else if (C->flow == FLOW_MFA || C->flow == FLOW_WRONG)
			r[i].resp = strdup(C->code);
		if (!r[i].resp) {
			for (w = 0; w < i; w++)
				free(r[w].resp);
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* A login that has not ended in LOGIN_HANG_S (the CVE-2024-22365 class):
 * the child says what it was shown and exits 99. */
#define LOGIN_HANG_S 40

static void on_hang(int sig)
{
	static const char head[] = "login hung; it was shown:\n";

	(void)sig;
	if (write(2, head, sizeof(head) - 1) < 0 ||
	    write(2, C_msgs, C_len) < 0)
		_exit(98);
	_exit(99);
}

static void child_login(slot *x)
{
	static const struct pam_conv conv = { child_conv, NULL };
	pam_handle_t *pamh = NULL;
	int r;

	/* cmocka's handlers would take a crash here back into the test
	 * runner, in this copy of it: a crash must end this process */
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGSYS, SIG_DFL);
	signal(SIGABRT, SIG_DFL);
	signal(SIGALRM, on_hang);
	alarm(LOGIN_HANG_S);
	C = x;
	r = pam_start_confdir(x->via_riskd ? "via-riskd" : "in-process",
			      x->user, &conv, F.confdir, &pamh);
	if (r == PAM_SUCCESS)
		r = pam_set_item(pamh, PAM_RHOST, x->rhost);
	if (r == PAM_SUCCESS)
		r = pam_set_item(pamh, PAM_TTY, "ssh");
	if (r != PAM_SUCCESS)
		_exit(2);
	x->account = -1;
	x->auth = pam_authenticate(pamh, 0);
	if (x->auth == PAM_SUCCESS)
		x->account = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, PAM_SUCCESS);
	x->lost_riskd = strstr(C_msgs, "risk check is unavailable") != NULL;
	__atomic_store_n(&x->done, 1, __ATOMIC_SEQ_CST);
	_exit(0);
}

/* fork()'s value in a local: the slot is shared, and the child's 0
 * written there could be read back by the parent, or the parent's pid by
 * the child. */
static pid_t fork_login(slot *x)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		child_login(x);
	return pid;
}

/* Per-user newest step handed out (M pool), so that each right code is
 * fresh: steps now - window + 1 .. now + window in increasing order (not
 * now - window: it may leave the window before the child answers). */
static int64_t m_next[N_M];
static int r_next;

/* A new slot for `flow`; false when no user is free for it now. */
static bool plan(slot *x, int flow, int via_riskd, int seq)
{
	int64_t now = time(NULL) / 30;
	int i, u;

	memset(x, 0, sizeof(*x));
	x->flow = flow;
	x->via_riskd = via_riskd;
	x->step = now;
	/* a unique source per login: its sign-in is found by rhost */
	snprintf(x->rhost, sizeof(x->rhost), "100.%d.%d.%d",
		 flow == FLOW_MFA || flow == FLOW_WRONG ? 64 :
		 flow == FLOW_BLOCK ? 65 : 66,
		 (seq >> 8) & 255, seq & 255);
	switch (flow) {
	case FLOW_ALLOW:
	case FLOW_BLOCK:
		user_name('A', (int)rnd_below(N_A), x->user, sizeof(x->user));
		return true;
	case FLOW_WRONG: {
		char c[3][RR_TOTP_CODE_MAX + 1];

		user_name('W', (int)rnd_below(N_W), x->user, sizeof(x->user));
		for (i = 0; i < 3; i++)
			code_of(x->user, now - 1 + i, c[i]);
		/* a six-digit code none of the three valid ones */
		do
			snprintf(x->code, sizeof(x->code), "%06ld",
				 rnd_below(1000000));
		while (!strcmp(x->code, c[0]) || !strcmp(x->code, c[1]) ||
		       !strcmp(x->code, c[2]));
		return true;
	}
	case FLOW_MFA:
		for (i = 0; i < 8; i++) {
			u = (int)rnd_below(N_M);
			if (m_next[u] < now - mfa_window + 1)
				m_next[u] = now - mfa_window + 1;
			user_name('M', u, x->user, sizeof(x->user));
			/* a step whose code no later step of the window
			 * shares: the module takes the highest matching step,
			 * which would use up the steps in between (1 in 10^6
			 * per pair; thousands of logins meet it) */
			while (m_next[u] <= now + mfa_window) {
				x->step = m_next[u]++;
				code_of(x->user, x->step, x->code);
				if (!code_later(x->user, x->step, x->code,
						now + mfa_window + 1))
					return true;
			}
		}
		return false;
	case FLOW_REGISTER:
		if (r_next >= N_R)
			return false;
		user_name('R', r_next++, x->user, sizeof(x->user));
		return true;
	}
	return false;
}

/* One login run and reaped here, synchronously (no killer). */
static slot *run_now(int flow, int via_riskd)
{
	slot *x;
	int st;

	assert_true(n_slots < MAX_SLOTS);
	x = &S[n_slots];
	assert_true(plan(x, flow, via_riskd, n_slots));
	n_slots++;
	x->riskd_gen = *rd_gen;
	x->pid = fork_login(x);
	assert_int_equal(waitpid(x->pid, &st, 0), x->pid);
	x->reaped = 1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s login of %s from %s: wait status 0x%x (exit 99: "
			 "it hung)", flow_name[x->flow], x->user, x->rhost, st);
	return x;
}

/* ---- what a finished login must have left ------------------------------ */

static pid_t main_pid;
static int counts[FLOWS][2]; /* [flow][succeeded] */
static int n_killed_logins, n_lost, n_riskd_kills, n_checks;

static void check_slot(sqlite3 *db, slot *x)
{
	if (getpid() != main_pid) {
		void *bt[64];

		fprintf(stderr, "pid %d (main %d, parent %d) in check_slot\n",
			(int)getpid(), (int)main_pid, (int)getppid());
		backtrace_symbols_fd(bt, backtrace(bt, 64), 2);
		_exit(97); /* a login child in the test's code: never */
	}
	bool affected = x->riskd_gen != *rd_gen || x->lost_riskd;
	bool ok = x->auth == PAM_SUCCESS && x->account == PAM_SUCCESS;
	char outcome[64];
	int64_t rows;

	if (!x->via_riskd)
		affected = false; /* in process: riskd plays no part */
	if (x->lost_riskd && !x->via_riskd)
		fail_msg("%s in process lost riskd?", x->rhost);
	counts[x->flow][ok]++;
	n_lost += x->lost_riskd;
	rows = db_int(db, "SELECT count(*) FROM signins WHERE rhost = ?",
		      x->rhost);
	db_text(db, "SELECT outcome FROM signins WHERE rhost = ?", x->rhost,
		outcome, sizeof(outcome));
	/* fail closed, whatever happened around it */
	if ((x->flow == FLOW_BLOCK || x->flow == FLOW_WRONG) &&
	    (x->auth == PAM_SUCCESS || x->account == PAM_SUCCESS)) {
		show_signin(db, x->rhost);
		fprintf(stderr, "riskd generation at start %d, now %d; lost "
			"riskd %d; riskd kills %d\n", x->riskd_gen, *rd_gen,
			x->lost_riskd, n_riskd_kills);
		fail_msg("%s login of %s from %s via %s returned auth %d "
			 "account %d: FAIL OPEN", flow_name[x->flow], x->user,
			 x->rhost, x->via_riskd ? "riskd" : "process",
			 x->auth, x->account);
	}
	if (x->auth == PAM_IGNORE || x->account == PAM_IGNORE)
		fail_msg("%s: PAM_IGNORE returned", x->rhost);
	/* recorded exactly once; at most once when riskd went away */
	if (rows != 1 && !(affected && !ok && rows == 0))
		fail_msg("%s login of %s from %s via %s (auth %d, account %d,"
			 " lost riskd %d): %" PRId64 " sign-ins recorded",
			 flow_name[x->flow], x->user, x->rhost,
			 x->via_riskd ? "riskd" : "process", x->auth,
			 x->account, x->lost_riskd, rows);
	if (rows == 1 && ok != !strcmp(outcome, "success"))
		fail_msg("%s login of %s from %s: PAM %s, recorded %s",
			 flow_name[x->flow], x->user, x->rhost,
			 ok ? "success" : "failure", outcome);
	if (rows == 1 && !strcmp(outcome, "interrupted") && !affected)
		fail_msg("%s login of %s from %s via %s finished (auth %d, "
			 "account %d), but its sign-in is recorded interrupted",
			 flow_name[x->flow], x->user, x->rhost,
			 x->via_riskd ? "riskd" : "process", x->auth,
			 x->account);
	/* what must have worked did, unless riskd was killed under it */
	if (!ok && !affected &&
	    (x->flow == FLOW_ALLOW || x->flow == FLOW_MFA ||
	     x->flow == FLOW_REGISTER))
		fail_msg("%s login of %s from %s via %s failed: auth %d "
			 "account %d", flow_name[x->flow], x->user, x->rhost,
			 x->via_riskd ? "riskd" : "process", x->auth,
			 x->account);
	/* an accepted code is recorded as used */
	if (ok && (x->flow == FLOW_MFA || x->flow == FLOW_REGISTER)) {
		int64_t last = db_int(db, "SELECT last_step FROM mfa_methods"
				      " WHERE user = ?", x->user);

		if (last < x->step)
			fail_msg("%s accepted %s's code of step %" PRId64
				 " but the store's last used step is %" PRId64,
				 x->rhost, x->user, x->step, last);
	}
}

/* ---- the crash loop ---------------------------------------------------- */

static int running(pid_t *pids, int n)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		k += pids[i] != 0;
	return k;
}

static void start_login(int *slot_of, pid_t *pids, int i)
{
	static const int weights[FLOWS] = {30, 25, 10, 10, 25};
	int flow, w = (int)rnd_below(100), seq = n_slots;
	slot *x = &S[n_slots];

	for (flow = 0; flow < FLOWS - 1 && w >= weights[flow]; flow++)
		w -= weights[flow];
	if (!plan(x, flow, (int)rnd_below(2), seq) &&
	    !plan(x, FLOW_ALLOW, (int)rnd_below(2), seq))
		fail_msg("no user to plan a login for");
	assert_true(++n_slots < MAX_SLOTS);
	x->riskd_gen = *rd_gen;
	x->pid = fork_login(x);
	pids[i] = x->pid;
	slot_of[i] = seq;
}

/* The next login through riskd after a restart works. */
static void after_restart(sqlite3 *db)
{
	slot *x = run_now(FLOW_ALLOW, 1);

	if (x->auth != PAM_SUCCESS || x->account != PAM_SUCCESS)
		fail_msg("first login through the restarted riskd: auth %d "
			 "account %d", x->auth, x->account);
	check_slot(db, x);
}

static void kill_riskd(sqlite3 *db)
{
	int st;

	assert_int_equal(kill(rd_pid, SIGKILL), 0);
	assert_int_equal(waitpid(rd_pid, &st, 0), rd_pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	__atomic_add_fetch(rd_gen, 1, __ATOMIC_SEQ_CST);
	n_riskd_kills++;
	/* Restart=on-failure: a SIGKILL is a failure, riskd comes back */
	riskd_start();
	after_restart(db);
}

#define PARALLEL 4

static void test_crash_loop(void **state)
{
	long secs = env_long("RR_CRASH_SECONDS", 20, 1, 86400);
	long check_ms = env_long("RR_CHECK_EVERY_MS", 1000, 10, 600000);
	pid_t pids[PARALLEL] = {0};
	int slot_of[PARALLEL];
	double t0 = now_s(), next_login_kill, next_riskd_kill, next_check;
	sqlite3 *db;
	const char *seed_s = getenv("RR_CRASH_SEED");
	int i, n_logins = 0, ok = 0;

	(void)state;
	main_pid = getpid();
	rng = seed_s && *seed_s ? strtoull(seed_s, NULL, 0)
				: (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	if (!rng)
		rng = 1;
	fprintf(stderr, "crash loop: seed %" PRIu64 " (RR_CRASH_SEED), %ld s "
		"(RR_CRASH_SECONDS)\n", rng, secs);
	riskd_start();
	db = db_open();
	/* random moments: a login killed every ~0.1 s, riskd every ~1.5 s */
	next_login_kill = t0 + (double)rnd_below(200) / 1000;
	next_riskd_kill = t0 + 0.3 + (double)rnd_below(2400) / 1000;
	next_check = t0 + (double)check_ms / 1000;
	while (now_s() - t0 < (double)secs || running(pids, PARALLEL)) {
		bool more = now_s() - t0 < (double)secs;
		int st;
		pid_t p;

		for (i = 0; more && i < PARALLEL; i++)
			if (!pids[i]) {
				start_login(slot_of, pids, i);
				n_logins++;
			}
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			for (i = 0; i < PARALLEL && pids[i] != p; i++)
				;
			assert_true(i < PARALLEL);
			slot *x = &S[slot_of[i]];

			pids[i] = 0;
			x->reaped = 1;
			/* the killer's SIGKILL; one that came after the
			 * result was reported (done) counts as finished */
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL &&
			    !x->done) {
				x->killed = 1;
				n_killed_logins++;
				continue;
			}
			if ((WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL) ||
			    (WIFEXITED(st) && WEXITSTATUS(st) != 0) ||
			    !x->done)
				fail_msg("%s login of %s from %s via %s: wait "
					 "status 0x%x (exit 99: it hung)",
					 flow_name[x->flow], x->user, x->rhost,
					 x->via_riskd ? "riskd" : "process", st);
			check_slot(db, x);
			ok++;
		}
		if (more && now_s() >= next_login_kill) {
			i = (int)rnd_below(PARALLEL);
			if (pids[i] && !S[slot_of[i]].done)
				kill(pids[i], SIGKILL);
			next_login_kill = now_s() +
					  (double)rnd_below(200) / 1000;
		}
		if (more && now_s() >= next_riskd_kill) {
			kill_riskd(db);
			next_riskd_kill = now_s() + 0.2 +
					  (double)rnd_below(2600) / 1000;
		}
		if (now_s() >= next_check) {
			check_store(db);
			n_checks++;
			next_check = now_s() + (double)check_ms / 1000;
		}
		usleep((useconds_t)(1000 + rnd_below(4000)));
	}
	/* every login started was reaped: finished or killed */
	if (ok + n_killed_logins != n_logins)
		fail_msg("%d logins started, %d finished, %d killed", n_logins,
			 ok, n_killed_logins);
	/* the end: every login killed left nothing half-done */
	check_store(db);
	n_checks++;
	{
		int64_t interrupted = db_int(db, "SELECT count(*) FROM signins"
					     " WHERE outcome = 'interrupted'",
					     NULL);
		int64_t total = db_int(db, "SELECT count(*) FROM signins",
				       NULL);
		int killed_rows = 0, bad = 0;

		for (i = 0; i < n_slots; i++) {
			char outcome[64];
			int64_t rows;

			if (!S[i].killed)
				continue;
			rows = db_int(db, "SELECT count(*) FROM signins WHERE"
				      " rhost = ?", S[i].rhost);
			db_text(db, "SELECT outcome FROM signins WHERE rhost ="
				" ?", S[i].rhost, outcome, sizeof(outcome));
			if (rows > 1)
				fail_msg("killed login %s: %" PRId64
					 " sign-ins", S[i].rhost, rows);
			killed_rows += (int)rows;
			/* a blocked or wrong-code login never recorded as
			 * a success, even when killed */
			if (rows == 1 && !strcmp(outcome, "success") &&
			    (S[i].flow == FLOW_BLOCK ||
			     S[i].flow == FLOW_WRONG))
				bad++;
		}
		if (bad)
			fail_msg("%d killed blocked/wrong-code logins recorded "
				 "as success", bad);
		fprintf(stderr, "sign-ins recorded %" PRId64 " (interrupted %"
			PRId64 ", of killed logins %d)\n", total, interrupted,
			killed_rows);
	}
	/* replay: every right code accepted is refused a second time (a
	 * sample of the newest, in process and through riskd) */
	{
		int replayed = 0;

		for (i = n_slots - 1; i >= 0 && replayed < 12; i--) {
			slot *x = &S[i], *y;

			if (x->flow != FLOW_MFA || !x->reaped || x->killed ||
			    x->auth != PAM_SUCCESS ||
			    x->step < time(NULL) / 30 - 1)
				continue;
			assert_true(n_slots < MAX_SLOTS);
			y = &S[n_slots];
			*y = *x;
			y->done = y->reaped = y->killed = 0;
			y->via_riskd = replayed & 1;
			snprintf(y->rhost, sizeof(y->rhost), "100.64.255.%d",
				 replayed);
			y->riskd_gen = *rd_gen;
			n_slots++;
			y->pid = fork_login(y);
			int st;

			assert_int_equal(waitpid(y->pid, &st, 0), y->pid);
			assert_true(WIFEXITED(st) && y->done);
			if (y->auth == PAM_SUCCESS)
				fail_msg("%s's code of step %" PRId64 " was "
					 "accepted twice", y->user, y->step);
			replayed++;
		}
		fprintf(stderr, "replayed %d accepted codes: all refused\n",
			replayed);
	}
	sqlite3_close(db);
	riskd_stop();
	fprintf(stderr,
		"crash loop: %.1f s, %d logins (%d finished, %d killed), "
		"%d riskd kills (%d starts), %d lost riskd mid-call, "
		"%d store checks\n", now_s() - t0, n_logins, ok,
		n_killed_logins, n_riskd_kills, rd_starts, n_lost, n_checks);
	for (i = 0; i < FLOWS; i++)
		fprintf(stderr, "  %-9s succeeded %5d  failed %5d\n",
			flow_name[i], counts[i][1], counts[i][0]);
	/* the loop did what it claims */
	assert_true(n_riskd_kills > 0 || secs < 3);
	assert_true(counts[FLOW_ALLOW][1] > 0 && counts[FLOW_BLOCK][0] > 0);
	assert_true(counts[FLOW_MFA][1] > 0 && counts[FLOW_WRONG][0] > 0);
	assert_true(counts[FLOW_REGISTER][1] > 0);
}

/* ---- resources --------------------------------------------------------- */

/* Connections to riskd's socket it has not closed yet (/proc/net/unix:
 * the server end of a connection keeps the path until closed). */
static int calls_open(void)
{
	char line[512], flags[16], path[256];
	int n = 0;
	FILE *f = fopen("/proc/net/unix", "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += sscanf(line, "%*s %*s %*s %15s %*s %*s %*s %255s", flags,
			    path) == 2 &&
		     !strcmp(path, rd_sock) && strcmp(flags, "00010000");
	fclose(f);
	return n;
}

/* riskd has closed the last call's connection (it does so after its
 * answer, while the module goes on): its fds are then its resting set. */
static void riskd_settled(void)
{
	int i;

	for (i = 0; i < 5000 && calls_open() > 0; i++)
		usleep(1000);
	if (calls_open() > 0)
		fail_msg("riskd did not close its connections");
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - (pid == getpid()); /* opendir's own */
}

/* What `pid`'s fds are, one "N -> target" a line, to stderr. */
static void show_fds(pid_t pid)
{
	char path[64], link[320], target[256];
	struct dirent *e;
	ssize_t len;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		fprintf(stderr, "  %s -> %s\n", e->d_name, target);
	}
	closedir(d);
}

static long vm_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	assert_true(kb > 0);
	return kb;
}

/* One login in this process (no fork: fds are counted here). */
static void login_here(int flow, int via_riskd, int seq)
{
	slot x;
	pam_result r;

	assert_true(plan(&x, flow, via_riskd, seq));
	if (flow == FLOW_MFA)
		answers(0, 1, x.code);
	else
		answers(0, 0);
	assert_int_equal(pam_run(via_riskd ? "via-riskd" : "in-process",
				 x.user, x.rhost, RUN_AUTH | RUN_ACCOUNT, &r),
			 PAM_SUCCESS);
	if (r.auth != PAM_SUCCESS || r.account != PAM_SUCCESS)
		fail_msg("%s login %d of %s via %s: auth %d account %d\n%s",
			 flow_name[flow], seq, x.user,
			 via_riskd ? "riskd" : "process", r.auth, r.account,
			 F.msgs);
}

/*
 * VmRSS may grow a little without a leak: SQLite's page cache fills up to
 * its cap (cache_size, 2000 KiB by default per connection) as the store
 * grows, and malloc arenas settle; measured: +2.0 MB over the first 5,000
 * logins, then flat.  So: at most RSS_SLACK_KB over the whole run, and at
 * most RSS_LATE_KB over its second half, once the cache is full: a leak
 * of 100 bytes per login is 500 kB per 5,000 logins.
 */
#define RSS_SLACK_KB 3072
#define RSS_LATE_KB 384

/*
 * Under AddressSanitizer VmRSS says nothing about leaks (its quarantine
 * holds freed memory, its shadow grows): the bounds are not asserted, the
 * figures still printed.  LeakSanitizer checks riskd instead, at its exit
 * (riskd_stop: any leak makes its status non-zero), and the counts are
 * smaller (fds are still compared exactly).
 */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_ASSERTED false
#define DEFAULT_RISKD_LOGINS 3000
#define DEFAULT_INPROC_LOGINS 1000
#else
#define RSS_ASSERTED true
#define DEFAULT_RISKD_LOGINS 10000
#define DEFAULT_INPROC_LOGINS 2000
#endif
#define BATCH 1000

static void test_resources(void **state)
{
	long n_riskd = env_long("RR_RESOURCE_LOGINS", DEFAULT_RISKD_LOGINS,
				1000, 1000000);
	long n_here = env_long("RR_RESOURCE_INPROC_LOGINS",
			       DEFAULT_INPROC_LOGINS, 1000, 1000000);
	long n;
	int fd0, fd1, rd_fd0 = 0, rd_fd, via, i, seq = 0;
	long rss0 = 0, rss, max_growth = 0, rss_half = 0;
	double t0;

	(void)state;
	rng = 42;
	riskd_start();
	for (via = 1; via >= 0; via--) {
		n = via ? n_riskd : n_here;
		t0 = now_s();
		/* warm-up: caches, the store's pages, the policy parsed */
		for (i = 0; i < 200; i++, seq++)
			login_here(i & 1 ? FLOW_MFA : FLOW_ALLOW, via, seq);
		if (via) {
			riskd_settled();
			rd_fd0 = count_fds(rd_pid);
			rss0 = vm_rss_kb(rd_pid);
			fprintf(stderr, "riskd after warm-up: %d fds, VmRSS "
				"%ld kB\n", rd_fd0, rss0);
			show_fds(rd_pid);
		}
		for (i = 0; i < n; i++, seq++) {
			if (i % BATCH == 0)
				fd0 = count_fds(getpid());
			login_here(i & 1 ? FLOW_MFA : FLOW_ALLOW, via, seq);
			if ((i + 1) % BATCH)
				continue;
			fd1 = count_fds(getpid());
			if (fd1 != fd0)
				fail_msg("%s: this process had %d fds before "
					 "logins %d-%d, %d after",
					 via ? "via riskd" : "in process", fd0,
					 i + 1 - BATCH, i, fd1);
			if (!via)
				continue;
			riskd_settled();
			rd_fd = count_fds(rd_pid);
			rss = vm_rss_kb(rd_pid);
			fprintf(stderr, "riskd after %5d: %d fds, VmRSS %ld kB"
				" (%+ld)\n", i + 1, rd_fd, rss, rss - rss0);
			if (rd_fd != rd_fd0)
				show_fds(rd_pid);
			if (rd_fd != rd_fd0)
				fail_msg("riskd's fds went from %d to %d",
					 rd_fd0, rd_fd);
			if (rss - rss0 > max_growth)
				max_growth = rss - rss0;
			if (RSS_ASSERTED && rss - rss0 > RSS_SLACK_KB)
				fail_msg("riskd's VmRSS grew by %ld kB (> %d)",
					 rss - rss0, RSS_SLACK_KB);
			if (i + 1 == (n / 2 / BATCH) * BATCH)
				rss_half = rss;
			if (RSS_ASSERTED && rss_half &&
			    rss - rss_half > RSS_LATE_KB)
				fail_msg("riskd's VmRSS grew by %ld kB after "
					 "login %ld (> %d): a leak", rss -
					 rss_half, (n / 2 / BATCH) * BATCH,
					 RSS_LATE_KB);
		}
		fprintf(stderr, "%ld logins %s in %.1f s (%.0f/s), this "
			"process %d fds throughout\n", n,
			via ? "through riskd" : "in process", now_s() - t0,
			(double)(n + 200) / (now_s() - t0), count_fds(getpid()));
	}
	fprintf(stderr, "riskd VmRSS growth at most %ld kB (%s); this "
		"process's fds:\n", max_growth, RSS_ASSERTED ? "bounded" :
		"not asserted under ASan: LeakSanitizer checks riskd's exit");
	show_fds(getpid());
	riskd_stop();
}

/* ---- main -------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "this test needs root (the store is "
			"root-only)\n");
		return -1;
	}
	S = mmap(NULL, MAX_SLOTS * sizeof(slot), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	rd_gen = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (S == MAP_FAILED || rd_gen == MAP_FAILED)
		return -1;
	setup_fixture();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	teardown_all();
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest crash[] = {
		cmocka_unit_test(test_crash_loop),
	};
	const struct CMUnitTest resources[] = {
		cmocka_unit_test(test_resources),
	};

	if (argc == 2 && !strcmp(argv[1], "crash"))
		return cmocka_run_group_tests(crash, group_setup,
					      group_teardown);
	/* resources: a wider window (21 steps) gives each user of pool M
	 * enough fresh codes for thousands of MFA logins a second */
	if (argc == 2 && !strcmp(argv[1], "resources") && (mfa_window = 10))
		return cmocka_run_group_tests(resources, group_setup,
					      group_teardown);
	fprintf(stderr, "usage: %s crash|resources\n", argv[0]);
	return 2;
}
