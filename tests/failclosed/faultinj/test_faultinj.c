/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Exhaustive fault injection: every flow of the module (allow, block, MFA,
 * MFA with a wrong code, forced registration, secure password change,
 * authfail, account only, session), in process (riskd=off) and through a
 * riskd this test starts, with the k-th call of one kind failing (fi_ctl.h
 * lists the kinds; fi_shim.c, preloaded here and into riskd, fails them),
 * for every k the flow reaches.
 *
 * Per (flow, mode) a counting run learns how many calls of each kind the
 * flow makes in this process (role client) and in riskd (role riskd);
 * then one run per (role, kind, k), each a forked child of this
 * initialised process, on a fresh copy of a prepared store (on /dev/shm),
 * with a riskd of its own in riskd mode (counting from the arming point:
 * after it listens, while the child runs the transaction).  Per run:
 * (1) the child and riskd end normally, not by a signal or a sanitizer's
 * exit status; (2) libpam never returns PAM_IGNORE; (3) access is granted
 * only in flows whose fault-free run grants it, and then the store shows
 * the sign-in completely recorded (success; for MFA the accepted step
 * stored, so the code cannot be replayed; the registration stored; the
 * user risk remediated after the password change); (4) the store passes
 * PRAGMA integrity_check, holds no detection of a sign-in that is not
 * there, and no sign-in left "interrupted" when access was granted.
 *
 * Budget: every kind but allocation is exhaustive; allocation failures are
 * strided to fit RR_FAULTINJ_SECONDS (default 12) of wall time for the
 * whole program; RR_FAULTINJ_FULL=1: every k of every kind.  Built without
 * the allocation hooks under AddressSanitizer (the shim cannot replace its
 * malloc); the other kinds then run with ASan watching the error paths.
 */
#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>

#include "fi_ctl.h"
#include "harness.h"
#include "rr_mfa.h"

#ifndef RR_RISKD_PATH
#error "RR_RISKD_PATH must be defined"
#endif

static struct fi_ctl *ctl;
static char ctl_path[48];
static char shm_dir[32];     /* /dev/shm/rr-fi-XXXXXX */
static char tmpl[48];        /* the prepared store */
static char run_dir[48];     /* the store's directory of each run */
static char riskd_dir[48];   /* riskd's socket; the module without core */
static char riskd_sock[64];
static char riskd_mod[80];
static pid_t riskd_pid;
static bool alloc_hooks;
static bool keep_store;

/* ---- flows ------------------------------------------------------------- */

enum { ANS_NONE, ANS_CODE, ANS_WRONG, ANS_REG };
enum { CHK_NONE, CHK_ALLOW, CHK_MFA, CHK_REG, CHK_PWCHANGE };

typedef struct {
	const char *name;
	const char *service; /* "-rd" appended in riskd mode */
	const char *user;
	const char *rhost;
	unsigned steps;      /* RUN_* of harness.h */
	int answer;
	bool grants;         /* the fault-free run lets the user in */
	int check;           /* what a granted run must have stored */
} flow;

static const flow flows[] = {
	{ "allow", "fi-auth", "alice", "10.1.2.3", RUN_AUTH | RUN_ACCOUNT,
	  ANS_NONE, true, CHK_ALLOW },
	{ "block", "fi-auth", "bob", "10.1.2.3", RUN_AUTH | RUN_ACCOUNT,
	  ANS_NONE, false, CHK_NONE },
	{ "mfa", "fi-auth", "alice", "198.51.100.7", RUN_AUTH | RUN_ACCOUNT,
	  ANS_CODE, true, CHK_MFA },
	{ "mfa-wrong", "fi-auth", "alice", "198.51.100.7",
	  RUN_AUTH | RUN_ACCOUNT, ANS_WRONG, false, CHK_NONE },
	{ "registration", "fi-auth", "carol", "10.1.2.3",
	  RUN_AUTH | RUN_ACCOUNT, ANS_REG, true, CHK_REG },
	{ "pwchange", "fi-pw", "dave", "10.1.2.3",
	  RUN_AUTH | RUN_ACCOUNT | RUN_CHANGE, ANS_CODE, true, CHK_PWCHANGE },
	{ "authfail", "fi-fail", "alice", "10.5.5.5", RUN_AUTH, ANS_NONE,
	  false, CHK_NONE },
	{ "account-only", "fi-auth", "bob", "10.1.2.3", RUN_ACCOUNT,
	  ANS_NONE, false, CHK_NONE },
	{ "session", "fi-auth", "alice", "10.1.2.3",
	  RUN_ACCOUNT | RUN_SESSION, ANS_NONE, true, CHK_ALLOW },
};
#define N_FLOWS (sizeof(flows) / sizeof(flows[0]))

/* The TOTP secrets of the registered users (alice, dave), read from the
 * prepared store before any run. */
typedef struct {
	const char *user;
	uint8_t secret[RR_TOTP_SECRET_MAX];
	size_t len;
} user_secret;
static user_secret secrets[] = { { "alice", {0}, 0 }, { "dave", {0}, 0 } };

/* ---- the child's conversation ------------------------------------------ */

static const flow *cur;
static char msgs[32768];
static int64_t code_step;    /* the step of the code answered (ANS_CODE) */

static bool secret_of(const char *user, const uint8_t **s, size_t *len)
{
	size_t i;

	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (!strcmp(secrets[i].user, user)) {
			*s = secrets[i].secret;
			*len = secrets[i].len;
			return true;
		}
	return false;
}

/* The secret of the last otpauth:// URI shown in this conversation. */
static bool secret_shown(uint8_t *out, size_t *len)
{
	const char *uri = NULL, *p = msgs, *sec;
	char b32[128], *raw = NULL;
	size_t n, rawlen = 0;
	bool ok;

	while ((p = strstr(p, "otpauth://totp/")) != NULL)
		uri = p++;
	if (!uri || !(sec = strstr(uri, "secret=")))
		return false;
	sec += 7;
	n = strcspn(sec, "&\n");
	if (n >= sizeof(b32))
		return false;
	memcpy(b32, sec, n);
	b32[n] = '\0';
	ok = oath_base32_decode(b32, n, &raw, &rawlen) == OATH_OK &&
	     rawlen <= RR_TOTP_SECRET_MAX;
	if (ok) {
		memcpy(out, raw, rawlen);
		*len = rawlen;
	}
	free(raw);
	return ok;
}

static char *answer(void)
{
	uint8_t shown[RR_TOTP_SECRET_MAX];
	char code[RR_TOTP_CODE_MAX + 1];
	const uint8_t *s = shown;
	rr_totp_params t;
	int64_t step = time(NULL) / 30;
	size_t len = 0;

	rr_totp_params_default(&t);
	switch (cur->answer) {
	case ANS_CODE:
	case ANS_WRONG:
		/* the registration (or an earlier run) used this step */
		step++;
		if (!secret_of(cur->user, &s, &len))
			return NULL;
		break;
	case ANS_REG:
		if (!secret_shown(shown, &len))
			return NULL;
		break;
	default:
		return NULL;
	}
	if (rr_totp_code(s, len, &t, step, code) != 0)
		return NULL;
	if (cur->answer == ANS_WRONG)
		code[0] = code[0] == '9' ? '0' : (char)(code[0] + 1);
	else
		code_step = step > code_step ? step : code_step;
	return strdup(code);
}

static int conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *data)
{
	struct pam_response *r;
	int i, rc = PAM_SUCCESS;

	(void)data;
	if (fi_hit(ctl, FI_CLIENT, FI_CONV))
		return PAM_CONV_ERR;
	/* the conversation is the user's side: no faults in it */
	__atomic_store_n(&ctl->pause[FI_CLIENT], 1, __ATOMIC_SEQ_CST);
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		rc = PAM_BUF_ERR;
	for (i = 0; r && i < n && rc == PAM_SUCCESS; i++) {
		size_t used = strlen(msgs);

		snprintf(msgs + used, sizeof(msgs) - used, "%s\n",
			 msg[i]->msg);
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			r[i].resp = answer();
			if (!r[i].resp)
				rc = PAM_CONV_ERR;
		}
	}
	if (rc != PAM_SUCCESS && r) {
		for (i = 0; i < n; i++)
			free(r[i].resp);
		free(r);
	} else {
		*resp = r;
	}
	__atomic_store_n(&ctl->pause[FI_CLIENT], 0, __ATOMIC_SEQ_CST);
	return rc;
}

/* The transaction of `f`, the faults active from after pam_start to
 * before pam_end.  In a forked child. */
static void run_flow(const flow *f, bool via_riskd, pam_result *res)
{
	static const struct pam_conv c = { conv, NULL };
	pam_handle_t *pamh = NULL;
	char service[64];
	int r;

	cur = f;
	msgs[0] = '\0';
	code_step = 0;
	res->auth = res->account = res->chauthtok = res->session = -1;
	snprintf(service, sizeof(service), "%s%s", f->service,
		 via_riskd ? "-rd" : "");
	r = pam_start_confdir(service, f->user, &c, F.confdir, &pamh);
	if (r != PAM_SUCCESS)
		_exit(100);
	if (pam_set_item(pamh, PAM_RHOST, f->rhost) != PAM_SUCCESS ||
	    pam_set_item(pamh, PAM_TTY, "ssh") != PAM_SUCCESS)
		_exit(101);
	__atomic_store_n(&ctl->active, 1, __ATOMIC_SEQ_CST);
	if (f->steps & RUN_AUTH)
		res->auth = pam_authenticate(pamh, 0);
	if ((f->steps & RUN_ACCOUNT) &&
	    (!(f->steps & RUN_AUTH) || res->auth == PAM_SUCCESS))
		res->account = pam_acct_mgmt(pamh, 0);
	if ((f->steps & RUN_CHANGE) && res->account == PAM_NEW_AUTHTOK_REQD)
		res->chauthtok = pam_chauthtok(pamh,
					       PAM_CHANGE_EXPIRED_AUTHTOK);
	if ((f->steps & RUN_SESSION) && res->account == PAM_SUCCESS) {
		res->session = pam_open_session(pamh, 0);
		if (res->session == PAM_SUCCESS)
			pam_close_session(pamh, 0);
	}
	__atomic_store_n(&ctl->active, 0, __ATOMIC_SEQ_CST);
	pam_end(pamh, PAM_SUCCESS);
}

/* Access granted by the transaction's results. */
static bool granted(const flow *f, const pam_result *r)
{
	bool ok = true;

	if (f->steps & RUN_AUTH)
		ok = ok && r->auth == PAM_SUCCESS;
	if (f->steps & RUN_ACCOUNT)
		ok = ok && (r->account == PAM_SUCCESS ||
			    ((f->steps & RUN_CHANGE) &&
			     r->account == PAM_NEW_AUTHTOK_REQD &&
			     r->chauthtok == PAM_SUCCESS));
	if (f->steps & RUN_SESSION)
		ok = ok && r->session == PAM_SUCCESS;
	return ok;
}

/* ---- files and riskd ---------------------------------------------------- */

static void copy_store(const char *from, const char *to)
{
	static const char *const names[] = { "risk.db", "risk.db-wal" };
	char a[256], b[256], buf[65536];
	ssize_t n;
	size_t i;
	int in, out;

	mkdir(to, 0700);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(a, sizeof(a), "%s/%s", from, names[i]);
		snprintf(b, sizeof(b), "%s/%s", to, names[i]);
		unlink(b);
		in = open(a, O_RDONLY | O_CLOEXEC);
		if (in < 0)
			continue;
		out = open(b, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		assert_true(out >= 0);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			assert_int_equal(write(out, buf, (size_t)n), n);
		assert_int_equal(n, 0);
		close(in);
		close(out);
	}
}

/* The store of a run: the prepared one, and nothing else in its
 * directory. */
static void reset_store(void)
{
	char cmd[256];
	const char *extra[] = { "risk.db-journal", "risk.db-shm" };
	size_t i;

	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s", run_dir, extra[i]);
		unlink(cmd);
	}
	copy_store(tmpl, run_dir);
}

/* How many threads `pid` has (/proc/PID/task). */
static int threads_of(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void riskd_start(void)
{
	int i;

	unlink(riskd_sock);
	riskd_pid = fork();
	assert_true(riskd_pid >= 0);
	if (riskd_pid == 0) {
		setenv("RR_FI_ROLE", "riskd", 1);
		execl(RR_RISKD_PATH, "riskd", "--socket", riskd_sock,
		      (char *)NULL);
		_exit(127);
	}
	/* the arming point: riskd listens and its first worker waits in
	 * accept() (it binds before starting it: a fault in that start is
	 * riskd's start failing, not a call's) */
	for (i = 0; i < 5000; i++) {
		if (socket_listening(riskd_sock) && threads_of(riskd_pid) >= 2)
			return;
		usleep(1000);
	}
	fail_msg("riskd did not listen on %s", riskd_sock);
}

/* riskd's end: 0 fine, else a description. */
static const char *riskd_stop(char *why, size_t len)
{
	int st = 0;

	pid_t got = 0;
	int i;

	kill(riskd_pid, SIGTERM);
	/* a riskd that hangs on an error path is a finding, not a stalled
	 * test */
	for (i = 0; i < 10000 && (got = waitpid(riskd_pid, &st, WNOHANG)) == 0;
	     i++)
		usleep(1000);
	if (got == 0) {
		kill(riskd_pid, SIGKILL);
		waitpid(riskd_pid, &st, 0);
		snprintf(why, len, "riskd did not stop within 10 s of SIGTERM");
	} else if (got != riskd_pid)
		snprintf(why, len, "riskd: waitpid failed");
	else if (WIFSIGNALED(st))
		snprintf(why, len, "riskd killed by signal %d",
			 WTERMSIG(st));
	else if (WEXITSTATUS(st) != 0)
		snprintf(why, len, "riskd exited %d", WEXITSTATUS(st));
	else
		return NULL;
	return why;
}

/* ---- the store after a run ------------------------------------------- */

static bool sql_int(sqlite3 *db, const char *sql, const char *arg,
		    long long *out)
{
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
		  (!arg || sqlite3_bind_text(st, 1, arg, -1,
					     SQLITE_STATIC) == SQLITE_OK) &&
		  sqlite3_step(st) == SQLITE_ROW;

	if (ok)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ok;
}

static bool sql_text(sqlite3 *db, const char *sql, const char *arg,
		     char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
		  (!arg || sqlite3_bind_text(st, 1, arg, -1,
					     SQLITE_STATIC) == SQLITE_OK) &&
		  sqlite3_step(st) == SQLITE_ROW &&
		  sqlite3_column_text(st, 0);

	if (ok)
		snprintf(out, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return ok;
}

static long long tmpl_signins[8]; /* per user of user_index() */

static int user_index(const char *u)
{
	static const char *const users[] = { "alice", "bob", "carol", "dave" };
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(users[i], u))
			return i;
	return 7;
}

#define NEWEST "SELECT %s FROM signins WHERE user = ?1 ORDER BY rowid DESC " \
	       "LIMIT 1"

/* NULL when the store is consistent with the run, else what is wrong
 * (in `why`). */
static const char *check_store(const flow *f, bool grant, int64_t step,
			       char *why, size_t len)
{
	char path[256], text[256], sql[256];
	long long n = 0, m = 0;
	sqlite3 *db = NULL;
	const char *bad = NULL;

	snprintf(path, sizeof(path), "%s/risk.db", run_dir);
	if (access(path, F_OK) != 0)
		return snprintf(why, len, "the store is gone"), why;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return snprintf(why, len, "the store does not open"), why;
	}
	sqlite3_busy_timeout(db, 2000);
	if (!sql_text(db, "PRAGMA integrity_check", NULL, text,
		      sizeof(text)) || strcmp(text, "ok")) {
		snprintf(why, len, "integrity_check: %.200s",
			 sqlite3_errmsg(db));
		bad = why;
		goto out;
	}
	if (!sql_int(db, "SELECT count(*) FROM detections WHERE scope = "
		     "'signin' AND ref NOT IN (SELECT ref FROM signins)",
		     NULL, &n) || n != 0) {
		bad = "a sign-in's detection without its sign-in";
		goto out;
	}
	if (!sql_int(db, "SELECT count(*) FROM signins WHERE user = ?1",
		     f->user, &n)) {
		bad = "sign-ins unreadable";
		goto out;
	}
	n -= tmpl_signins[user_index(f->user)];
	/* a code accepted by a sign-in recorded passed is stored as used,
	 * whatever the end of the transaction */
	snprintf(sql, sizeof(sql), NEWEST, "mfa");
	if ((f->check == CHK_MFA || f->check == CHK_PWCHANGE) && n > 0 &&
	    sql_text(db, sql, f->user, text, sizeof(text)) &&
	    !strcmp(text, "passed") &&
	    (!sql_int(db, "SELECT last_step FROM mfa_methods WHERE user = ?1",
		      f->user, &m) || m < step)) {
		bad = "MFA recorded passed, but the accepted step is not "
		      "stored (the code can be replayed)";
		goto out;
	}
	if (!grant)
		goto out;
	if (n != 1) {
		snprintf(why, len, "granted, but %lld sign-ins recorded", n);
		bad = why;
		goto out;
	}
	snprintf(sql, sizeof(sql), NEWEST, "outcome");
	if (!sql_text(db, sql, f->user, text, sizeof(text)) ||
	    strcmp(text, "success")) {
		bad = "granted, but the sign-in is not recorded a success";
		goto out;
	}
	switch (f->check) {
	case CHK_ALLOW:
		snprintf(sql, sizeof(sql), NEWEST, "action");
		if (!sql_text(db, sql, f->user, text, sizeof(text)) ||
		    strcmp(text, "allow"))
			bad = "granted, but not recorded as allowed";
		break;
	case CHK_MFA:
	case CHK_PWCHANGE:
		snprintf(sql, sizeof(sql), NEWEST, "mfa");
		if (!sql_text(db, sql, f->user, text, sizeof(text)) ||
		    strcmp(text, "passed"))
			bad = "granted, but MFA is not recorded passed";
		else if (!sql_int(db, "SELECT last_step FROM mfa_methods "
				  "WHERE user = ?1", f->user, &m) || m < step)
			bad = "granted, but the accepted step is not stored "
			      "(the code can be replayed)";
		else if (f->check == CHK_PWCHANGE &&
			 (!sql_text(db, "SELECT level || ' ' || state FROM "
				    "users WHERE user = ?1", f->user, text,
				    sizeof(text)) ||
			  strcmp(text, "none remediated")))
			bad = "granted, but the user risk is not remediated";
		break;
	case CHK_REG:
		snprintf(sql, sizeof(sql), NEWEST, "mfa");
		if (!sql_text(db, sql, f->user, text, sizeof(text)) ||
		    strcmp(text, "registered"))
			bad = "granted, but the registration is not recorded";
		else if (!sql_int(db, "SELECT count(*) FROM mfa_methods "
				  "WHERE user = ?1", f->user, &m) || m != 1)
			bad = "granted, but no authenticator stored";
		break;
	default:
		bad = "granted in a flow that denies";
		break;
	}
out:
	sqlite3_close(db);
	if (bad && bad != why)
		snprintf(why, len, "%s", bad);
	return bad ? why : NULL;
}

/* ---- one run ------------------------------------------------------------- */

typedef struct {
	const flow *f;
	bool riskd;
	int role, kind;
	long k;
} run_spec;

/* The fault-free run's results per flow and mode (counting runs). */
static pam_result expect[N_FLOWS][2];
static bool have_expect[N_FLOWS][2];

static unsigned violations;
static unsigned long n_runs;

static void report(const run_spec *s, const char *what,
		   const pam_result *r)
{
	violations++;
	if (violations > 60)
		return;
	fprintf(stderr, "FAIL %s/%s %s k=%ld in %s: %s (auth %d account %d "
		"chauthtok %d session %d)\n", s->f->name,
		s->riskd ? "riskd" : "inproc",
		s->kind >= 0 ? fi_kind_names[s->kind] : "none", s->k,
		s->role == FI_RISKD ? "riskd" : "client", what,
		r ? r->auth : -1, r ? r->account : -1, r ? r->chauthtok : -1,
		r ? r->session : -1);
}

/* One run; `counts` (may be NULL) gets the calls counted. */
static bool one_run(const run_spec *s, pam_result *out,
		    long counts[FI_ROLES][FI_KINDS])
{
	pam_result *res;
	char why[256];
	const char *bad;
	int st = 0;
	pid_t pid;
	bool ok = true;

	n_runs++;
	reset_store();
	memset(ctl->count, 0, sizeof(ctl->count));
	ctl->active = 0;
	ctl->pause[0] = ctl->pause[1] = 0;
	ctl->role = s->role;
	ctl->kind = s->kind;
	ctl->k = s->k;
	ctl->injected = 0;
	if (s->riskd)
		riskd_start();
	res = mmap(NULL, sizeof(*res) + sizeof(int64_t),
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(res != MAP_FAILED);
	res->auth = res->account = res->chauthtok = res->session = -2;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pam_result r;

		/* cmocka's handlers would turn a crash into an exit */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		alarm(40); /* beyond riskd's 30 s wait: a hang is a failure */
		run_flow(s->f, s->riskd, &r);
		if (getenv("RR_FAULTINJ_ONLY"))
			fprintf(stderr, "log:\n%s\nmessages:\n%s\n", g_log,
				msgs);
		memcpy(res, &r, sizeof(r));
		memcpy(res + 1, &code_step, sizeof(code_step));
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	ctl->active = 0;
	*out = *res;
	if (WIFSIGNALED(st)) {
		snprintf(why, sizeof(why), "the PAM process was killed by "
			 "signal %d", WTERMSIG(st));
		report(s, why, NULL);
		ok = false;
	} else if (WEXITSTATUS(st) != 0) {
		snprintf(why, sizeof(why), "the PAM process exited %d "
			 "(a sanitizer report?)", WEXITSTATUS(st));
		report(s, why, NULL);
		ok = false;
	}
	if (s->riskd && (bad = riskd_stop(why, sizeof(why))) != NULL) {
		report(s, bad, out);
		ok = false;
	}
	if (counts)
		memcpy(counts, ctl->count, sizeof(ctl->count));
	if (ok) {
		int64_t step;
		bool g = granted(s->f, out);

		memcpy(&step, res + 1, sizeof(step));
		if (out->auth == PAM_IGNORE || out->account == PAM_IGNORE ||
		    out->chauthtok == PAM_IGNORE || out->session == PAM_IGNORE) {
			report(s, "PAM_IGNORE", out);
			ok = false;
		}
		if (s->kind >= 0 && have_expect[s->f - flows][s->riskd]) {
			/* each step that refuses without faults refuses with
			 * them: a later step denying must not hide an earlier
			 * one letting the user through */
			const pam_result *e = &expect[s->f - flows][s->riskd];

			if ((e->auth > 0 && out->auth == PAM_SUCCESS) ||
			    (e->account > 0 && out->account == PAM_SUCCESS) ||
			    (e->chauthtok > 0 &&
			     out->chauthtok == PAM_SUCCESS) ||
			    (e->session > 0 && out->session == PAM_SUCCESS)) {
				report(s, "a step succeeded that the fault-free "
				       "run refuses", out);
				ok = false;
			}
		}
		if (g && !s->f->grants) {
			report(s, "access granted in a flow that denies", out);
			ok = false;
		}
		if ((bad = check_store(s->f, g, step, why, sizeof(why)))) {
			report(s, bad, out);
			ok = false;
		}
		if (s->kind < 0 && g != s->f->grants) {
			report(s, "the fault-free run did not end as expected",
			       out);
			ok = false;
		}
		if (s->kind >= 0 && ctl->injected == 0 &&
		    s->kind != FI_CONV) {
			/* a later run may take another path; fewer calls is
			 * not a failure, but then the run must end as the
			 * fault-free one */
			if (g != s->f->grants) {
				report(s, "no fault injected, yet another end",
				       out);
				ok = false;
			}
		}
	}
	munmap(res, sizeof(*res) + sizeof(int64_t));
	return ok;
}

/* ---- setup --------------------------------------------------------------- */

static void write_services(void)
{
	char text[4096], mod[2][512];
	int i;

	snprintf(mod[0], sizeof(mod[0]), "%s riskd=off policy=%s",
		 RR_MODULE_PATH, F.policy);
	snprintf(mod[1], sizeof(mod[1]), "%s riskd=%s policy=%s", riskd_mod,
		 riskd_sock, F.policy);
	for (i = 0; i < 2; i++) {
		const char *sfx = i ? "-rd" : "";
		char name[32];

		/* pam_permit after us, required: a PAM_IGNORE or a missing
		 * failure of ours would let the user in */
		snprintf(text, sizeof(text),
			 "auth required %s\nauth required pam_permit.so\n"
			 "account required %s\n"
			 "account required pam_permit.so\n"
			 "session required %s\n"
			 "session required pam_permit.so\n",
			 mod[i], mod[i], mod[i]);
		snprintf(name, sizeof(name), "fi-auth%s", sfx);
		write_raw_service(name, text);
		snprintf(text, sizeof(text),
			 "auth required %s\nauth required pam_permit.so\n"
			 "account required %s\n"
			 "account required pam_permit.so\n"
			 "password required pam_permit.so\n"
			 "password requisite %s\n"
			 "password required pam_permit.so\n",
			 mod[i], mod[i], mod[i]);
		snprintf(name, sizeof(name), "fi-pw%s", sfx);
		write_raw_service(name, text);
		snprintf(text, sizeof(text),
			 "auth [default=die] %s authfail\n"
			 "auth required pam_permit.so\n", mod[i]);
		snprintf(name, sizeof(name), "fi-fail%s", sfx);
		write_raw_service(name, text);
	}
}

static void register_user(const char *user)
{
	set_grace_start(user, time(NULL) - 30 * 86400);
	answers(0, 1, "@code");
	assert_int_equal(login("fi-auth", user, "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	assert_true(mfa_of(user).registered);
}

static void read_secret(user_secret *u)
{
	uint8_t key[RR_MFA_KEY_LEN];
	char path[160];
	rr_store_mfa m;
	rr_store *s = open_store();

	assert_int_equal(rr_store_mfa_get(s, u->user, time(NULL), 900, &m), 0);
	rr_store_close(s);
	assert_true(m.registered);
	snprintf(path, sizeof(path), "%s/mfa.key", F.dir);
	assert_int_equal(rr_mfa_key_load(path, false, key), 0);
	assert_int_equal(rr_mfa_unseal(key, u->user, m.sealed, m.sealed_len,
				       u->secret, RR_TOTP_SECRET_MAX, &u->len),
			 0);
}

static int nss4_setup(void **state)
{
	char passwd[128], group[128];

	if (nss_setup(state) != 0)
		return -1;
	/* dave in addition to the harness's users */
	snprintf(passwd, sizeof(passwd), "%s", getenv("NSS_WRAPPER_PASSWD"));
	snprintf(group, sizeof(group), "%s", getenv("NSS_WRAPPER_GROUP"));
	write_file(passwd, "root:x:0:0:root:/root:/bin/sh\n"
			   "alice:x:1001:1001:Alice:/home/alice:/bin/sh\n"
			   "bob:x:1002:1002:Bob:/home/bob:/bin/sh\n"
			   "carol:x:1003:1003:Carol:/home/carol:/bin/sh\n"
			   "dave:x:1004:1004:Dave:/home/dave:/bin/sh\n",
		   0644);
	write_file(group, "root:x:0:\nalice:x:1001:\nbob:x:1002:\n"
			  "carol:x:1003:\ndave:x:1004:\n", 0644);
	return 0;
}

static void prepare(void)
{
	char path[256];
	int (*attach_fn)(void);
	void *attach;
	int fd, i;

	fixture_setup("rr-fi");
	snprintf(shm_dir, sizeof(shm_dir), "/dev/shm/rr-fi-XXXXXX");
	assert_non_null(mkdtemp(shm_dir));
	snprintf(tmpl, sizeof(tmpl), "%s/tmpl", shm_dir);
	snprintf(run_dir, sizeof(run_dir), "%s/store", shm_dir);
	snprintf(F.store, sizeof(F.store), "%s/risk.db", tmpl);
	snprintf(riskd_dir, sizeof(riskd_dir), "%s/riskd", shm_dir);
	assert_int_equal(mkdir(riskd_dir, 0700), 0);
	snprintf(riskd_sock, sizeof(riskd_sock), "%s/riskd.sock", riskd_dir);
	snprintf(riskd_mod, sizeof(riskd_mod), "%s/pam_riskremediate.so",
		 riskd_dir);
	copy_file(RR_MODULE_PATH, riskd_mod);
	snprintf(path, sizeof(path), "%s/anon.list", F.dir);
	write_file(path, "198.51.100.0/24\n", 0644);
	/* the policy the runs read names the run's store; the template is
	 * prepared through the same policy pointing at the template */
	write_fixture_policy(
		"mfa_registration:\n"
		"  state: enabled\n"
		"  grace_days: 14\n"
		"  users: { include: [alice, carol, dave] }\n"
		"detections:\n"
		"  anonymizedIPAddress: { level: medium, lists: [%s/anon.list] }\n"
		"  bruteForce: { level: high, failures: 3, window: 10m }\n"
		"policies:\n"
		"  - name: Compromised bob is blocked\n"
		"    users: { include: [bob] }\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { block: true }\n"
		"  - name: High user risk requires secure password change\n"
		"    users: { include: [dave] }\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { require: [mfa, password_change] }\n"
		"  - name: Sign-in risk requires MFA\n"
		"    conditions: { signin_risk: [medium, high] }\n"
		"    grant: { require: [mfa] }\n", F.dir);
	write_services();
	register_user("alice");
	register_user("dave");
	set_user_risk("dave", RR_LEVEL_HIGH, 0);
	admin(RR_ADMIN_CONFIRM_COMPROMISED, "bob");
	set_grace_start("carol", time(NULL) - 30 * 86400);
	for (i = 0; i < 2; i++)
		read_secret(&secrets[i]);
	tmpl_signins[0] = (long long)count_signins("alice");
	tmpl_signins[1] = (long long)count_signins("bob");
	tmpl_signins[2] = (long long)count_signins("carol");
	tmpl_signins[3] = (long long)count_signins("dave");
	/* the same policy, now naming the runs' store */
	snprintf(F.store, sizeof(F.store), "%s/risk.db", run_dir);
	write_fixture_policy(
		"mfa_registration:\n"
		"  state: enabled\n"
		"  grace_days: 14\n"
		"  users: { include: [alice, carol, dave] }\n"
		"detections:\n"
		"  anonymizedIPAddress: { level: medium, lists: [%s/anon.list] }\n"
		"  bruteForce: { level: high, failures: 3, window: 10m }\n"
		"policies:\n"
		"  - name: Compromised bob is blocked\n"
		"    users: { include: [bob] }\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { block: true }\n"
		"  - name: High user risk requires secure password change\n"
		"    users: { include: [dave] }\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { require: [mfa, password_change] }\n"
		"  - name: Sign-in risk requires MFA\n"
		"    conditions: { signin_risk: [medium, high] }\n"
		"    grant: { require: [mfa] }\n", F.dir);
	/* the control block, shared with the shim here and in riskd */
	snprintf(ctl_path, sizeof(ctl_path), "%s/ctl", shm_dir);
	fd = open(ctl_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, sizeof(struct fi_ctl)), 0);
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	assert_true(ctl != MAP_FAILED);
	close(fd);
	ctl->kind = -1;
	/* the shim here maps it now; riskd, started later, at its start */
	assert_int_equal(setenv("RR_FI_CTL", ctl_path, 1), 0);
	attach = dlsym(RTLD_DEFAULT, "fi_shim_attach");
	if (!attach)
		fail_msg("the fault injection shim is not preloaded");
	memcpy(&attach_fn, &attach, sizeof(attach_fn));
	assert_int_equal(attach_fn(), 0);
}

/* ---- the driver ---------------------------------------------------------- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return dflt;
	n = strtol(v, &end, 10);
	return *end || n < 0 ? dflt : n;
}

typedef struct {
	long calls[FI_ROLES][FI_KINDS];
	long runs[FI_ROLES][FI_KINDS];
} tally;

/* RR_FAULTINJ_ONLY="FLOW MODE ROLE KIND K" (as a failure names it, e.g.
 * "allow inproc client sqlite_step_ioerr 39"): that run alone, its log and
 * messages on stderr, its store left in place for a look. */
static void only_one(const char *spec)
{
	char fl[32], mo[16], ro[16], ki[32];
	run_spec s = { NULL, false, FI_CLIENT, -1, 0 };
	pam_result r;
	size_t i;
	int kind;

	assert_int_equal(sscanf(spec, "%31s %15s %15s %31s %ld", fl, mo, ro, ki,
				&s.k), 5);
	for (i = 0; i < N_FLOWS; i++)
		if (!strcmp(flows[i].name, fl))
			s.f = &flows[i];
	assert_non_null(s.f);
	s.riskd = !strcmp(mo, "riskd");
	s.role = !strcmp(ro, "riskd") ? FI_RISKD : FI_CLIENT;
	for (kind = 0; kind < FI_KINDS; kind++)
		if (!strcmp(fi_kind_names[kind], ki))
			s.kind = kind;
	one_run(&s, &r, NULL);
	printf("auth %d account %d chauthtok %d session %d injected %ld\n"
	       "store %s\n", r.auth, r.account, r.chauthtok, r.session,
	       ctl->injected, run_dir);
	keep_store = true;
}

/* `name` is listed in the comma-separated `list` (unset: everything). */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list || !*list)
		return true;
	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p++;
	}
	return false;
}

/* One (flow, mode, role, kind): its calls n, run every stride-th from
 * start. */
typedef struct {
	size_t fi;
	int mode, role, kind;
	long n, stride, start;
} sequence;
#define MAX_SEQ (N_FLOWS * 3 * FI_KINDS)

/* Sequences of at most this many calls always run whole. */
#define SMALL_SEQ 8

/* The stride that fits runs of `cost` seconds into `budget` seconds. */
static long stride_for(double cost, double budget)
{
	long s;

	if (cost <= budget)
		return 1;
	if (budget <= 0)
		return LONG_MAX / 4;
	s = (long)(cost / budget) + 1;
	return s < 1 ? 1 : s;
}

static void test_faultinj(void **state)
{
	static tally t[N_FLOWS][2];
	double budget = (double)env_long("RR_FAULTINJ_SECONDS", 12);
	bool full = env_long("RR_FAULTINJ_FULL", 0) == 1;
	long seed = env_long("RR_FAULTINJ_SEED", (long)(time(NULL) / 86400));
	double t0 = now_s(), per_run[2] = {0, 0}, cost_na = 0, cost_a = 0;
	double cost_small = 0, left, t_mode;
	long total = 0, calls_total = 0, stride_na = 1, stride_a = 1, n;
	long seq = 0, skipped = 0, round;
	static sequence seqs[MAX_SEQ];
	bool more;
	/* RR_FAULTINJ_KINDS, RR_FAULTINJ_FLOWS: only these (comma-separated
	 * names as the summary prints them) */
	const char *kinds = getenv("RR_FAULTINJ_KINDS");
	const char *flow_list = getenv("RR_FAULTINJ_FLOWS");
	/* RR_FAULTINJ_WHERE: of inproc, riskd/client, riskd/riskd */
	const char *where = getenv("RR_FAULTINJ_WHERE");
	static const char *const where_names[] = { "inproc", "riskd/client",
						   "riskd/riskd" };
	size_t fi;
	int mode, role, kind;
	long stride;
	pam_result r;

	(void)state;
	if (getenv("RR_FAULTINJ_ONLY") && *getenv("RR_FAULTINJ_ONLY")) {
		only_one(getenv("RR_FAULTINJ_ONLY"));
		return;
	}
	/* the counting runs: each flow ends as expected without faults, and
	 * the shim saw its calls (else this test proves nothing) */
	for (mode = 0; mode < 2; mode++) {
		double tm = now_s();

		for (fi = 0; fi < N_FLOWS; fi++) {
			run_spec s = { &flows[fi], mode == 1, FI_CLIENT, -1, 0 };
			tally *ty = &t[fi][mode];

			if (!one_run(&s, &r, ty->calls))
				fail_msg("the fault-free run of %s/%s fails",
					 flows[fi].name,
					 mode ? "riskd" : "inproc");
			expect[fi][mode] = r;
			have_expect[fi][mode] = true;
			assert_true(ty->calls[mode ? FI_RISKD : FI_CLIENT]
					     [FI_SQL_OPEN] > 0);
			if (getenv("RR_FAULTINJ_VERBOSE")) {
				printf("%s/%s counted:", flows[fi].name,
				       mode ? "riskd" : "inproc");
				for (role = 0; role <= mode; role++)
					for (kind = 0; kind < FI_KINDS; kind++)
						if (ty->calls[role][kind])
							printf(" %s:%s=%ld",
							       role ? "d" : "c",
							       fi_kind_names[kind],
							       ty->calls[role][kind]);
				printf("\n");
			}
		}
		per_run[mode] = (now_s() - tm) / (double)N_FLOWS;
	}
	/* what every k would cost, and the strides that fit the budget:
	 * short sequences whole, then the other kinds (three quarters of
	 * what is left, whole when they fit), allocation in the rest */
	for (fi = 0; fi < N_FLOWS; fi++)
		for (mode = 0; mode < 2; mode++)
			for (role = 0; role <= mode; role++)
				for (kind = 0; kind < FI_KINDS; kind++) {
					n = t[fi][mode].calls[role][kind];
					calls_total += n;
					if ((kind == FI_ALLOC && !alloc_hooks) ||
					    !listed(kinds, fi_kind_names[kind]) ||
					    !listed(flow_list, flows[fi].name) ||
					    !listed(where, where_names[mode + role]))
						continue;
					t_mode = per_run[mode] * (double)n;
					if (n <= SMALL_SEQ)
						cost_small += t_mode;
					else if (kind == FI_ALLOC)
						cost_a += t_mode;
					else
						cost_na += t_mode;
				}
	if (!full) {
		left = budget - (now_s() - t0) - cost_small;
		stride_na = stride_for(cost_na, 0.75 * left);
		left -= cost_na / (double)stride_na;
		stride_a = stride_for(cost_a, left);
	}
	/* the sequences and their strides */
	for (fi = 0; fi < N_FLOWS; fi++)
		for (mode = 0; mode < 2; mode++)
			for (role = 0; role <= mode; role++)
				for (kind = 0; kind < FI_KINDS; kind++) {
					n = t[fi][mode].calls[role][kind];
					if (n == 0 ||
					    (kind == FI_ALLOC && !alloc_hooks) ||
					    !listed(kinds, fi_kind_names[kind]) ||
					    !listed(flow_list, flows[fi].name) ||
					    !listed(where, where_names[mode + role]))
						continue;
					stride = n <= SMALL_SEQ ? 1 :
						 kind == FI_ALLOC ? stride_a :
						 stride_na;
					if (stride > n)
						stride = n;
					assert_true(seq < (long)MAX_SEQ);
					/* another offset per sequence and per
					 * day: successive runs cover other k */
					seqs[seq] = (sequence){ fi, mode, role,
						kind, n, stride,
						1 + (seed + seq) % stride };
					seq++;
				}
	/* round by round over every sequence: a budget cut short (a slow
	 * machine) still reaches every flow and kind */
	for (round = 0, more = true; more; round++) {
		long i;

		more = false;
		for (i = 0; i < seq; i++) {
			sequence *q = &seqs[i];
			run_spec rs = { &flows[q->fi], q->mode == 1, q->role,
					q->kind, q->start + round * q->stride };

			if (rs.k > q->n)
				continue;
			more = true;
			if (!full && now_s() - t0 > 1.5 * budget) {
				skipped++;
				continue;
			}
			one_run(&rs, &r, NULL);
			t[q->fi][q->mode].runs[q->role][q->kind]++;
			if (getenv("RR_FAULTINJ_VERBOSE") && n_runs % 1000 == 0)
				printf("%.0f s: %lu runs, round %ld, %u "
				       "violations\n", now_s() - t0, n_runs,
				       round, violations), fflush(stdout);
		}
	}
	/* the summary */
	printf("fault injection: runs/calls per flow, mode (inproc: riskd=off; "
	       "riskd), role (client: the PAM process; riskd), kind\n");
	for (fi = 0; fi < N_FLOWS; fi++)
		for (mode = 0; mode < 2; mode++)
			for (role = 0; role <= mode; role++) {
				printf("%-12s %-6s %-6s", flows[fi].name,
				       mode ? "riskd" : "inproc",
				       role ? "riskd" : "client");
				for (kind = 0; kind < FI_KINDS; kind++) {
					tally *ty = &t[fi][mode];

					if (!ty->calls[role][kind])
						continue;
					printf(" %s=%ld/%ld", fi_kind_names[kind],
					       ty->runs[role][kind],
					       ty->calls[role][kind]);
					total += ty->runs[role][kind];
				}
				printf("\n");
			}
	printf("fault injection: %ld injection runs of %ld injection points "
	       "(%lu runs in all) in %.1f s; seed %ld; stride %ld (capped at "
	       "each sequence's length; allocation: %s), sequences of at most "
	       "%d calls whole%s\n", total, calls_total, n_runs,
	       now_s() - t0, seed,
	       /* no budget left after the counting runs: one k each */
	       stride_na >= LONG_MAX / 4 ? 0 : stride_na,
	       !alloc_hooks ? "not injected, AddressSanitizer build" :
	       stride_a == 1 ? "stride 1" : "strided", SMALL_SEQ,
	       full ? "; RR_FAULTINJ_FULL: every k" : "");
	if (alloc_hooks && stride_a > 1 && stride_a < LONG_MAX / 4)
		printf("fault injection: allocation stride %ld\n", stride_a);
	if (skipped)
		printf("fault injection: %ld runs left out: past 1.5 times "
		       "RR_FAULTINJ_SECONDS (%.0f s)\n", skipped, budget);
	fflush(stdout);
	if (violations)
		fail_msg("%u fail-open, crash or store violations (the first "
			 "are listed above)", violations);
}

static int group_setup(void **state)
{
	if (nss4_setup(state) != 0)
		return -1;
	prepare();
	return 0;
}

static int remove_one(const char *dir)
{
	char cmd[256];
	const char *names[] = { "tmpl/risk.db", "tmpl/risk.db-wal",
				"tmpl/risk.db-shm", "store/risk.db",
				"store/risk.db-wal", "store/risk.db-shm",
				"riskd/pam_riskremediate.so", "riskd/riskd.sock",
				"ctl", "tmpl", "store", "riskd" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s", dir, names[i]);
		remove(cmd);
	}
	return rmdir(dir);
}

static int group_teardown(void **state)
{
	if (!keep_store)
		remove_one(shm_dir);
	fixture_teardown(state);
	return nss_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faultinj),
	};

#ifdef FI_NO_ALLOC
	alloc_hooks = false;
#else
	alloc_hooks = true;
#endif
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
