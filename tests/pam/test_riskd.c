/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskd and the module through it, with riskd instances of this program's
 * own (the built tools/riskd/riskd, one per test, its socket in the test's
 * directory): calls served by riskd (the service lines name a copy of the
 * module with no core library next to it, so that a call riskd did not
 * serve fails), the policy and store caches, the fallbacks to the
 * application's process (busy, another version, no riskd, riskd stalled),
 * the commit handshake (a call riskd did not get COMMIT for is not run;
 * fail closed once it did), root-only clients, and riskd's own start, stop
 * and exit statuses, and riskd started by systemd's socket activation
 * (systemd-socket-activate: riskd.socket's way).  Asserts return codes, the messages the user sees, stored
 * rows and log lines.  Forked children _exit() with a status the parent
 * checks (they never return through cmocka).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "riskd_proto.h"
#include "rr_mfa.h"
#include "rr_wire.h"

#ifndef RR_RISKD_PATH
#error "RR_RISKD_PATH must be defined"
#endif
/* systemd-socket-activate ("" when meson found none), and whether riskd
 * was built with systemd (-Dsystemd) */
#if !defined(RR_SOCKET_ACTIVATE) || !defined(RR_RISKD_SYSTEMD)
#error "RR_SOCKET_ACTIVATE and RR_RISKD_SYSTEMD must be defined"
#endif
/* riskd.service's sandbox (riskd_sandbox.c) and the system calls the
 * unit allows (riskd_syscalls.sh) */
#if !defined(RR_RISKD_SANDBOX) || !defined(RR_RISKD_SYSCALLS)
#error "RR_RISKD_SANDBOX and RR_RISKD_SYSCALLS must be defined"
#endif

#define NOBODY 65534
#define DEADLINE_MS 10000
#define UNAVAILABLE "Sign-in denied: the sign-in risk check is unavailable. " \
		    "Contact your IT help desk."
#define REF "[0-9A-F]{4}-[0-9A-F]{4}"

/* ---- riskd instances ---------------------------------------------------- */

static char rd_run[128];  /* F.dir/run: the socket's directory */
static char rd_sock[160]; /* F.dir/run/riskd.sock */
static char rd_mod[160];  /* F.dir/mod/pam_riskremediate.so: no core */
static pid_t rd_pid;      /* the test's riskd, 0 when not running */

/* Every child not reaped yet: killed and reaped by the teardown when a
 * test fails half-way. */
static pid_t children[16];

static void track(pid_t pid)
{
	size_t i;

	for (i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (!children[i]) {
			children[i] = pid;
			return;
		}
	fail_msg("too many children");
}

static void untrack(pid_t pid)
{
	size_t i;

	for (i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i] == pid)
			children[i] = 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The wait status of `pid`, which must end within DEADLINE_MS. */
static int wait_exit(pid_t pid)
{
	struct timespec t0;
	int st = 0;
	pid_t r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = waitpid(pid, &st, WNOHANG)) == 0) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("pid %d did not end", (int)pid);
		usleep(2000);
	}
	assert_int_equal(r, pid);
	untrack(pid);
	return st;
}

static void assert_exited(int st, int code)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
		fail_msg("expected exit status %d, got wait status 0x%x", code,
			 st);
}

/* Drop to nobody (a forked child: no cmocka). */
static void become_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		_exit(126);
}

/* Starts riskd on `sock` (--max-clients `max` unless NULL), as nobody
 * with `nobody`, its stderr into `err_fd` unless -1. */
static pid_t riskd_spawn(const char *sock, const char *max, bool nobody,
			 int err_fd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (err_fd >= 0 && dup2(err_fd, 2) < 0)
			_exit(125);
		if (nobody)
			become_nobody();
		if (max)
			execl(RR_RISKD_PATH, "riskd", "--socket", sock,
			      "--max-clients", max, (char *)NULL);
		else
			execl(RR_RISKD_PATH, "riskd", "--socket", sock,
			      (char *)NULL);
		_exit(127);
	}
	track(pid);
	return pid;
}


static void wait_listening(pid_t pid, const char *sock)
{
	struct timespec t0;
	int st = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!socket_listening(sock)) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			untrack(pid);
			fail_msg("riskd exited before listening (wait status "
				 "0x%x)", st);
		}
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("riskd did not listen on %s", sock);
		usleep(2000);
	}
}

/* Connections to `sock` riskd has not closed yet, waiting in its backlog
 * or accepted: the entries of /proc/net/unix with its path that do not
 * listen (a connection's server end keeps the path until closed). */
static int calls_open(const char *sock)
{
	char line[512], flags[16], path[256];
	int n = 0;
	FILE *f = fopen("/proc/net/unix", "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += sscanf(line, "%*s %*s %*s %15s %*s %*s %*s %255s", flags,
			    path) == 2 &&
		     !strcmp(path, sock) && strcmp(flags, "00010000");
	fclose(f);
	return n;
}

/* riskd has closed every connection made to it. */
static void wait_calls_closed(const char *sock)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (calls_open(sock) > 0) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("riskd did not close its connections");
		usleep(2000);
	}
}

/* The test's riskd on rd_sock, listening. */
static void start_riskd(const char *max)
{
	rd_pid = riskd_spawn(rd_sock, max, false, -1);
	wait_listening(rd_pid, rd_sock);
}

/* SIGTERM: riskd exits 0 and its socket is gone. */
static void stop_riskd(void)
{
	struct stat st;

	assert_int_equal(kill(rd_pid, SIGTERM), 0);
	assert_exited(wait_exit(rd_pid), 0);
	rd_pid = 0;
	assert_int_equal(lstat(rd_sock, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* Drops libgcov's lines from `s`: in a coverage build (-Db_coverage=true)
 * a process that is not root cannot write the build's .gcda files, and
 * libgcov says so on stderr ("profiling:..."): a riskd that is not root,
 * and the test's own child, which dumps its counters in execl (GCC's
 * coverage wraps exec*) after it became nobody; riskd never writes them. */
static void drop_gcov_lines(char *s)
{
	char *in = s, *out = s, *nl;
	size_t n;

	while (*in) {
		nl = strchr(in, '\n');
		n = nl ? (size_t)(nl - in) + 1 : strlen(in);

		if (strncmp(in, "profiling:", 10) != 0) {
			memmove(out, in, n);
			out += n;
		}
		in += n;
	}
	*out = '\0';
}

/* Runs riskd on `sock` to its end: its wait status, its stderr in
 * `err` (NUL-terminated, without libgcov's lines). */
static int riskd_run(const char *sock, bool nobody, char *err, size_t len)
{
	static char all[65536];
	char path[160];
	pid_t pid;
	ssize_t n;
	int fd, st;

	snprintf(path, sizeof(path), "%s/riskd.err", F.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	pid = riskd_spawn(sock, NULL, nobody, fd);
	st = wait_exit(pid);
	/* all of it: the gcov lines come first (the forked test child dumps
	 * its counters in execl, already as nobody) and can be many */
	n = pread(fd, all, sizeof(all) - 1, 0);
	assert_true(n >= 0);
	all[n] = '\0';
	drop_gcov_lines(all);
	n = (ssize_t)strlen(all);
	if ((size_t)n >= len)
		n = (ssize_t)len - 1;
	memcpy(err, all, (size_t)n);
	err[n] = '\0';
	close(fd);
	unlink(path);
	return st;
}

/* ---- fixture ------------------------------------------------------------ */

#define REG_ENABLED                                                          \
	"mfa_registration:\n"                                                \
	"  state: enabled\n"                                                 \
	"  grace_days: 14\n"                                                 \
	"  users: { include: [all], exclude: [root] }\n"

#define BLOCK_ALICE                                                          \
	"  - name: Block alice\n"                                            \
	"    users: { include: [alice] }\n"                                  \
	"    grant: { block: true }\n"

#define MFA_FOR_RRTEST                                                       \
	"  - name: MFA for rrtest\n"                                         \
	"    services: { include: [rrtest] }\n"                              \
	"    grant: { require: [mfa] }\n"

/* `top` before policies:, `extra` under it. */
static void write_policy(const char *top, const char *extra)
{
	write_fixture_policy(
		"%s"
		"named_locations:\n"
		"  office: [10.0.0.0/8]\n"
		"policies:\n"
		"  - name: High user risk is blocked\n"
		"    conditions: { user_risk: [high] }\n"
		"    grant: { block: true }\n"
		"%s",
		top ? top : "", extra ? extra : "");
}

/* auth and account of `module` with `args` (and policy=F.policy). */
static void write_module_service(const char *name, const char *module,
				 const char *args)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "auth required %s %s policy=%s\n"
		 "account required %s %s policy=%s\n",
		 module, args, F.policy, module, args, F.policy);
	write_raw_service(name, text);
}

static int setup(void **state)
{
	char dir[128], args[200];

	(void)state;
	fixture_setup("rr-rd");
	memset(children, 0, sizeof(children));
	rd_pid = 0;
	snprintf(rd_run, sizeof(rd_run), "%s/run", F.dir);
	snprintf(rd_sock, sizeof(rd_sock), "%s/riskd.sock", rd_run);
	snprintf(dir, sizeof(dir), "%s/mod", F.dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(rd_mod, sizeof(rd_mod), "%s/pam_riskremediate.so", dir);
	copy_file(RR_MODULE_PATH, rd_mod);
	snprintf(args, sizeof(args), "riskd=%s", rd_sock);
	/* rrtest: only through riskd; rrtest-real: riskd, else in process */
	write_module_service("rrtest", rd_mod, args);
	write_module_service("rrtest-real", RR_MODULE_PATH, args);
	write_policy(NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	return fixture_teardown(state);
}

/* ---- a conversation of the test's own ----------------------------------- */

/* Every prompt answered with `answer` after at_prompt(); the messages in
 * `msgs` as the harness writes F.msgs.  No cmocka calls: forked children
 * use it. */
typedef struct {
	char msgs[4096];
	const char *answer;
	void (*at_prompt)(void);
} script;

static int script_conv(int n, const struct pam_message **msg,
		       struct pam_response **resp, void *data)
{
	script *s = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	if (!r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		size_t used = strlen(s->msgs);
		int style = msg[i]->msg_style;
		bool prompt = style == PAM_PROMPT_ECHO_OFF ||
			      style == PAM_PROMPT_ECHO_ON;

		snprintf(s->msgs + used, sizeof(s->msgs) - used, "%s%s\n",
			 !prompt ? "" : style == PAM_PROMPT_ECHO_ON ?
			 "[ask] " : "[secret] ", msg[i]->msg);
		if (!prompt)
			continue;
		if (s->at_prompt)
			s->at_prompt();
		r[i].resp = strdup(s->answer);
		if (!r[i].resp) {
			while (i-- > 0)
				free(r[i].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* pam_authenticate of `user` on `service` from 10.1.2.3 with the
 * conversation `s`: its result, or -1 when the transaction could not
 * start. */
static int script_auth(const char *service, const char *user, script *s)
{
	struct pam_conv c = {script_conv, s};
	pam_handle_t *pamh = NULL;
	int r;

	s->msgs[0] = '\0';
	if (pam_start_confdir(service, user, &c, F.confdir, &pamh) !=
	    PAM_SUCCESS)
		return -1;
	r = pam_set_item(pamh, PAM_RHOST, "10.1.2.3");
	if (r == PAM_SUCCESS)
		r = pam_set_item(pamh, PAM_TTY, "ssh");
	if (r == PAM_SUCCESS)
		r = pam_authenticate(pamh, 0);
	else
		r = -1;
	pam_end(pamh, r);
	return r;
}

/* ---- speaking riskd's protocol ------------------------------------------ */

/* A connected socket to `path`, or a negative errno (no cmocka). */
static int connect_to(const char *path)
{
	return rr_wire_connect(path, false);
}

/* The HELLO of an auth call of `user` on rrtest from 10.1.2.3 with
 * policy=F.policy, version `version` (no cmocka). */
static int send_hello(int fd, const char *version, const char *user)
{
	const char *f[RR_H_ARGS + 1] = {NULL};
	char now[24], policy[128];

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(policy, sizeof(policy), "policy=%s", F.policy);
	f[RR_H_VERSION] = version;
	f[RR_H_TYPE] = "0"; /* TYPE_AUTH */
	f[RR_H_FLAGS] = "0";
	f[RR_H_UID] = "0";
	f[RR_H_NOW] = now;
	f[RR_H_USER] = user;
	f[RR_H_SERVICE] = "rrtest";
	f[RR_H_RHOST] = "10.1.2.3";
	f[RR_H_TTY] = "ssh";
	f[RR_H_ARGS] = policy;
	return rr_wire_send(fd, RR_W_HELLO, f, RR_H_ARGS + 1, 5000);
}

/* ---- tests -------------------------------------------------------------- */

#define DECISION_ALLOW_MFA(service, user, mfa)                               \
	"<85>pam_riskremediate\\(" service ":auth\\): decision=allow "       \
	"outcome=success user=\"" user "\" service=\"" service "\" "         \
	"rhost=\"10.1.2.3\" user_risk=none signin_risk=none detections=\"-\" " \
	"applied=\"-\" report_only=\"-\" mfa=" mfa " ref=" REF "\n"
#define DECISION_ALLOW(service, user) DECISION_ALLOW_MFA(service, user, "-")

static void assert_allowed(const char *service, const char *user)
{
	pam_result r;

	answers(0, 0);
	r = login(service, user, "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_string_equal(F.msgs, "");
}

/* 1. A plain sign-in through riskd: the same result, row and log line as
 * in process; the copy of the module has no core, so riskd served it. */
static void test_allowed_through_riskd(void **state)
{
	rr_store_signin si;

	(void)state;
	start_riskd(NULL);
	assert_allowed("rrtest", "alice");
	si = last_signin("alice");
	assert_int_equal(si.action, RR_ACTION_ALLOW);
	assert_string_equal(si.outcome, "success");
	assert_string_equal(si.service, "rrtest");
	assert_string_equal(si.rhost, "10.1.2.3");
	assert_matches(si.ref, "^" REF "$");
	assert_int_equal(count_signins("alice"), 1);
	/* the line of test_module's test_allow_records_and_logs, alone */
	assert_logged("^" DECISION_ALLOW("rrtest", "alice") "$");
	assert_null(strstr(g_log, "riskd"));
	stop_riskd();
	/* the copy alone, riskd gone: the call runs in process and cannot */
	log_reset();
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTHINFO_UNAVAIL);
	assert_logged("^<[0-9]+>pam_riskremediate\\(rrtest:auth\\): cannot load "
		      "[^\n]*/mod/riskremediate/pam_riskremediate_core\\.so: "
		      "[^\n]*; denying\n$");
	assert_int_equal(count_signins("alice"), 1);
}

/* Many logins at once through one riskd (worker threads, each with its own
 * store connection): every one allowed, every one recorded once, with its
 * own reference. */
#define PAR_PROCS 12
#define PAR_LOGINS 10

static void test_parallel_logins(void **state)
{
	static const char *const users[] = {"alice", "bob", "carol"};
	pid_t pids[PAR_PROCS];
	int i, j, st;

	(void)state;
	start_riskd(NULL);
	for (i = 0; i < PAR_PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			for (j = 0; j < PAR_LOGINS; j++) {
				pam_result r = login("rrtest", users[i % 3],
						     "10.1.2.3", true);

				if (r.auth != PAM_SUCCESS ||
				    r.account != PAM_SUCCESS) {
					fprintf(stderr, "login %d of %s: auth "
						"%d, account %d; log:\n%s\n",
						j, users[i % 3], r.auth,
						r.account, g_log);
					_exit(10 + j);
				}
			}
			_exit(0);
		}
		track(pids[i]);
	}
	for (i = 0; i < PAR_PROCS; i++) {
		st = wait_exit(pids[i]);
		assert_exited(st, 0);
	}
	for (i = 0; i < 3; i++)
		assert_int_equal(count_signins(users[i]),
				 PAR_PROCS / 3 * PAR_LOGINS);
	stop_riskd();
}

/* The file's ctime is in the past of the coarse clock: a change now gets
 * another ctime even where timestamps are per tick. */
static void after_ctime(const char *path)
{
	struct timespec now, t0;
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		if (now.tv_sec > st.st_ctim.tv_sec ||
		    (now.tv_sec == st.st_ctim.tv_sec &&
		     now.tv_nsec > st.st_ctim.tv_nsec))
			return;
		assert_true(ms_since(&t0) < 2000);
		usleep(1000);
	}
}

/* 2. riskd reads a changed policy at the next call: new content, and a
 * chmod or chown alone (ctime) that makes it unsafe. */
static void test_policy_reloaded(void **state)
{
	rr_store_signin si;
	pam_result r;
	char expect[256];

	(void)state;
	start_riskd(NULL);
	assert_allowed("rrtest", "alice");
	/* rewritten: alice is blocked at once */
	write_policy(NULL, BLOCK_ALICE);
	log_reset();
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_AUTH_ERR);
	assert_int_equal(r.account, -1);
	si = last_signin("alice");
	assert_int_equal(si.action, RR_ACTION_BLOCK);
	assert_string_equal(si.outcome, "blocked");
	assert_string_equal(si.applied, "Block alice");
	snprintf(expect, sizeof(expect), "Sign-in blocked: sign-in policy "
		 "\"Block alice\" blocks it. Contact your IT help desk and "
		 "quote reference %s.\n", si.ref);
	assert_string_equal(F.msgs, expect);
	assert_logged("decision=block outcome=blocked user=\"alice\" .*"
		      "applied=\"Block alice\" .*ref=" REF "\n");
	/* bob is not blocked by this policy */
	assert_allowed("rrtest", "bob");
	/* group-writable: only the mode (ctime) changed; the cached policy
	 * would allow bob */
	after_ctime(F.policy);
	assert_int_equal(chmod(F.policy, 0620), 0);
	log_reset();
	r = login("rrtest", "bob", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_AUTHINFO_UNAVAIL);
	assert_string_equal(F.msgs, UNAVAILABLE "\n");
	assert_logged("^<[0-9]+>pam_riskremediate\\(rrtest:auth\\): policy: "
		      "[^\n]*/policy\\.yaml: is not owned by root or is "
		      "group/other-writable \\(refused\\)\n$");
	/* safe again: read again, bob allowed, alice still blocked */
	assert_int_equal(chmod(F.policy, 0600), 0);
	assert_allowed("rrtest", "bob");
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTH_ERR);
	/* another owner: refused again */
	after_ctime(F.policy);
	assert_int_equal(chown(F.policy, NOBODY, NOBODY), 0);
	log_reset();
	assert_int_equal(login("rrtest", "bob", "10.1.2.3", true).auth,
			 PAM_AUTHINFO_UNAVAIL);
	assert_logged("policy: [^\n]*/policy\\.yaml: is not owned by root");
	assert_int_equal(chown(F.policy, 0, 0), 0);
	assert_allowed("rrtest", "bob");
	stop_riskd();
}

static void rename_store(const char *to)
{
	static const char *const ext[] = {"", "-wal", "-shm"};
	char from[200], dest[200];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s%s", F.store, ext[i]);
		snprintf(dest, sizeof(dest), "%s%s", to, ext[i]);
		if (rename(from, dest) < 0)
			assert_int_equal(errno, ENOENT);
	}
	assert_int_equal(access(to, F_OK), 0);
}

/* 3. The store file replaced under riskd's open connection: the next
 * sign-in goes to the file now at the path, the old one gets nothing. */
static void test_store_replaced(void **state)
{
	char store[96], old[96], ref1[32];
	rr_store_signin si;

	(void)state;
	start_riskd(NULL);
	assert_allowed("rrtest", "alice");
	snprintf(ref1, sizeof(ref1), "%s", last_signin("alice").ref);
	snprintf(store, sizeof(store), "%s", F.store);
	snprintf(old, sizeof(old), "%s/store/old.db", F.dir);
	rename_store(old);
	assert_allowed("rrtest", "alice");
	assert_int_equal(count_signins("alice"), 1);
	si = last_signin("alice");
	assert_string_not_equal(si.ref, ref1);
	assert_string_equal(si.outcome, "success");
	/* the old file has only the first sign-in */
	snprintf(F.store, sizeof(F.store), "%s", old);
	assert_int_equal(count_signins("alice"), 1);
	assert_string_equal(last_signin("alice").ref, ref1);
	snprintf(F.store, sizeof(F.store), "%s", store);
	/* the file at the path made readable by others: reopened with the
	 * checks, and refused */
	assert_int_equal(chmod(F.store, 0640), 0);
	log_reset();
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_AUTHINFO_UNAVAIL);
	assert_string_equal(F.msgs, UNAVAILABLE "\n");
	assert_logged("pam_riskremediate\\(rrtest:auth\\): risk store "
		      "[^\n]*/store/risk\\.db: ");
	assert_int_equal(chmod(F.store, 0600), 0);
	assert_allowed("rrtest", "alice");
	assert_int_equal(count_signins("alice"), 2);
	stop_riskd();
}

/* ---- busy --------------------------------------------------------------- */

static int busy_ready[2], busy_go[2];

/* At the child's prompt: tell the parent, wait for its go. */
static void busy_wait(void)
{
	char c = 'p';

	if (write(busy_ready[1], &c, 1) != 1 || read(busy_go[0], &c, 1) != 1)
		_exit(20);
}

#define SET_UP_NOW                                                           \
	"[ask] Multifactor authentication is required by Test Corp. You "    \
	"have 14 days left to set it up. Set up now? [y/N] \n"

/* The child: alice through riskd, held at her prompt. */
static void busy_child(void)
{
	static script s = {.answer = "n", .at_prompt = busy_wait};
	int r;

	close(busy_ready[0]);
	close(busy_go[1]);
	r = script_auth("rrtest", "alice", &s);
	if (r != PAM_SUCCESS)
		_exit(r < 0 ? 30 : 40 + r);
	_exit(strcmp(s.msgs, SET_UP_NOW) ? 21 : 0);
}

/* Every thread of `pid` is stopped (SIGSTOP taken). */
static bool all_stopped(pid_t pid)
{
	char path[64], text[512];
	struct dirent *e;
	const char *paren;
	bool stopped = true;
	DIR *d;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while (stopped && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stat",
			 (int)pid, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue; /* the thread ended */
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
		paren = strrchr(text, ')');
		stopped = paren && (paren[2] == 'T' || paren[2] == 't');
	}
	closedir(d);
	return stopped;
}

/* riskd stopped (every thread), so that a client can connect and send
 * before it looks. */
static void stop_and_wait(pid_t pid)
{
	struct timespec t0;

	assert_int_equal(kill(pid, SIGSTOP), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!all_stopped(pid)) {
		assert_true(ms_since(&t0) < DEADLINE_MS);
		usleep(1000);
	}
}

/* 4. --max-clients 1: while one call waits at a prompt, the next is sent
 * back and runs in its process; the first then completes in riskd. */
static void test_busy_runs_in_process(void **state)
{
	rr_wire_msg m = {0};
	struct pollfd p;
	rr_store_signin si;
	pam_result r;
	pid_t pid;
	int fd, rc;
	char c;

	(void)state;
	write_policy(REG_ENABLED, NULL);
	start_riskd("1");
	assert_int_equal(pipe2(busy_ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(busy_go, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		busy_child();
	track(pid);
	close(busy_ready[1]);
	close(busy_go[0]);
	p = (struct pollfd){.fd = busy_ready[0], .events = POLLIN};
	assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
	if (read(busy_ready[0], &c, 1) != 1)
		fail_msg("the child ended before its prompt (wait status "
			 "0x%x)", wait_exit(pid));
	/* riskd's only worker waits for alice's answer */
	answers(0, 1, "n");
	r = login("rrtest-real", "bob", "10.1.2.3", true);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_string_equal(F.msgs, SET_UP_NOW);
	/* riskd reads the HELLO before it answers "busy" (the answer is
	 * not lost, however slow the module) */
	assert_logged("^<[0-9]+>pam_riskremediate\\(rrtest-real:auth\\): riskd: "
		      "riskd is busy; running in process\n" DECISION_ALLOW_MFA("rrtest-real", "bob",
							"skipped") "$");
	assert_string_equal(last_signin("bob").mfa, "skipped");
	/* alice has not finished: on record as interrupted at her prompt */
	assert_int_equal(count_signins("alice"), 1);
	assert_string_equal(last_signin("alice").outcome, "interrupted");
	/* and the copy of the module, riskd busy: in process, which the copy
	 * cannot */
	log_reset();
	assert_int_equal(login("rrtest", "carol", "10.1.2.3", true).auth,
			 PAM_AUTHINFO_UNAVAIL);
	assert_logged("riskd: (riskd is busy|Broken pipe before answering); "
		      "running in process\n[^\n]*cannot load ");
	/* the protocol: a HELLO riskd has when it looks gets FALLBACK
	 * "riskd is busy", and the connection ends */
	stop_and_wait(rd_pid);
	fd = connect_to(rd_sock);
	assert_true(fd >= 0);
	assert_int_equal(send_hello(fd, RR_RISKD_PROTO, "carol"), 0);
	assert_int_equal(kill(rd_pid, SIGCONT), 0);
	assert_int_equal(rr_wire_recv(fd, &m, 5000), 0);
	assert_int_equal(m.type, RR_W_FALLBACK);
	assert_int_equal(m.n, 1);
	assert_non_null(m.f[0].s);
	assert_string_equal(m.f[0].s, "riskd is busy");
	rr_wire_msg_clear(&m);
	rc = rr_wire_recv(fd, &m, 5000);
	assert_true(rc == -ECONNRESET || rc == -EBADMSG);
	close(fd);
	/* alice answers: her call completes in riskd */
	c = 'g';
	assert_int_equal(write(busy_go[1], &c, 1), 1);
	assert_exited(wait_exit(pid), 0);
	close(busy_ready[0]);
	close(busy_go[1]);
	si = last_signin("alice");
	assert_string_equal(si.outcome, "success");
	assert_string_equal(si.mfa, "skipped");
	assert_string_equal(si.service, "rrtest");
	assert_int_equal(count_signins("carol"), 0);
	stop_riskd();
}

/* ---- riskd stalled ------------------------------------------------------ */

/* 4b. riskd stalled (SIGSTOP) before it takes a call: no ACCEPT, so the
 * module gives up within RR_RISKD_ACCEPT_MS and runs the call in process.
 * riskd, continued, finds the call abandoned and does nothing of it (one
 * row, the module's), and serves on. */
static void test_stalled_runs_in_process(void **state)
{
	struct timespec t0;
	pam_result r;
	long ms;

	(void)state;
	start_riskd(NULL);
	stop_and_wait(rd_pid);
	answers(0, 0);
	log_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = login("rrtest-real", "bob", "10.1.2.3", true);
	ms = ms_since(&t0);
	if (ms >= 3000)
		fail_msg("the sign-in took %ld ms (riskd stalled)", ms);
	assert_int_equal(r.auth, PAM_SUCCESS);
	assert_int_equal(r.account, PAM_SUCCESS);
	assert_string_equal(F.msgs, "");
	assert_logged("^<[0-9]+>pam_riskremediate\\(rrtest-real:auth\\): riskd: "
		      "no answer within 2 s; running in process\n"
		      DECISION_ALLOW("rrtest-real", "bob") "$");
	assert_int_equal(count_signins("bob"), 1);
	/* continued: riskd takes the connection from its backlog and drops
	 * it, having done nothing of the call */
	assert_int_equal(kill(rd_pid, SIGCONT), 0);
	wait_calls_closed(rd_sock);
	assert_int_equal(count_signins("bob"), 1);
	assert_string_equal(last_signin("bob").service, "rrtest-real");
	/* and serves on (the copy of the module: only through riskd) */
	log_reset();
	assert_allowed("rrtest", "alice");
	assert_logged("^" DECISION_ALLOW("rrtest", "alice") "$");
	assert_int_equal(count_signins("alice"), 1);
	assert_int_equal(count_signins("bob"), 1);
	stop_riskd();
}

static pid_t stall_pid;

/* At the first prompt: riskd stopped, and continued by a child after
 * longer than the module waits for ACCEPT. */
static void stall_riskd(void)
{
	char secs[32], pid[16];

	if (stall_pid)
		return;
	snprintf(secs, sizeof(secs), "%d.%03d", (RR_RISKD_ACCEPT_MS + 500) / 1000,
		 (RR_RISKD_ACCEPT_MS + 500) % 1000);
	snprintf(pid, sizeof(pid), "%d", (int)rd_pid);
	stop_and_wait(rd_pid);
	stall_pid = fork();
	assert_true(stall_pid >= 0);
	if (stall_pid == 0) {
		/* a program of its own: this image is mid-conversation (its
		 * allocations would be reported as lost under valgrind) */
		execl("/bin/sh", "sh", "-c", "sleep \"$0\" && kill -CONT \"$1\"",
		      secs, pid, (char *)NULL);
		_exit(127);
	}
	track(stall_pid);
}

/* 4c. riskd stalled after the call was committed (the user at a prompt),
 * for longer than the module waits for ACCEPT: the module keeps waiting
 * for riskd, never runs the call itself (the copy of the module could
 * not), and riskd, continued, completes it: one row. */
static void test_stalled_after_commit_waits(void **state)
{
	static script s = {.answer = "n", .at_prompt = stall_riskd};
	rr_store_signin si;
	struct timespec t0;

	(void)state;
	write_policy(REG_ENABLED, NULL);
	start_riskd(NULL);
	stall_pid = 0;
	log_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(script_auth("rrtest", "alice", &s), PAM_SUCCESS);
	assert_true(ms_since(&t0) >= RR_RISKD_ACCEPT_MS + 500);
	assert_true(stall_pid > 0);
	assert_exited(wait_exit(stall_pid), 0);
	assert_string_equal(s.msgs, SET_UP_NOW);
	assert_logged("^" DECISION_ALLOW_MFA("rrtest", "alice", "skipped")
		      "$");
	assert_int_equal(count_signins("alice"), 1);
	si = last_signin("alice");
	assert_string_equal(si.service, "rrtest");
	assert_string_equal(si.outcome, "success");
	assert_string_equal(si.mfa, "skipped");
	stop_riskd();
}

/* 5. A HELLO of another version is sent back, naming riskd's. */
static void test_other_version_sent_back(void **state)
{
	rr_wire_msg m = {0};
	int fd;

	(void)state;
	start_riskd(NULL);
	fd = connect_to(rd_sock);
	assert_true(fd >= 0);
	assert_int_equal(send_hello(fd, "riskd/0 0.0.0", "alice"), 0);
	assert_int_equal(rr_wire_recv(fd, &m, 5000), 0);
	assert_int_equal(m.type, RR_W_FALLBACK);
	assert_int_equal(m.n, 1);
	assert_non_null(m.f[0].s);
	assert_string_equal(m.f[0].s, "riskd is of another version (riskd/2 "
			    RR_VERSION ")");
	rr_wire_msg_clear(&m);
	/* and nothing else: riskd closed the call */
	assert_int_equal(rr_wire_recv(fd, &m, 5000), -ECONNRESET);
	close(fd);
	assert_int_equal(count_signins("alice"), 0);
	assert_allowed("rrtest", "alice");
	stop_riskd();
}

/* riskd's answer to a HELLO: ACCEPT. */
static void expect_accept(int fd)
{
	rr_wire_msg m = {0};

	assert_int_equal(rr_wire_recv(fd, &m, 5000), 0);
	assert_int_equal(m.type, RR_W_ACCEPT);
	assert_int_equal(m.n, 0);
	rr_wire_msg_clear(&m);
}

/* The call of a HELLO sent, committed: every message up to END, whose
 * code is returned. */
static long long served_call(int fd)
{
	rr_wire_msg m = {0};
	long long rc = -1;
	int i;

	expect_accept(fd);
	assert_int_equal(rr_wire_send(fd, RR_W_COMMIT, NULL, 0, 5000), 0);
	for (i = 0; i < 64; i++) {
		assert_int_equal(rr_wire_recv(fd, &m, 5000), 0);
		assert_int_not_equal(m.type, RR_W_FALLBACK);
		assert_int_not_equal(m.type, RR_W_CONV);
		if (m.type == RR_W_END) {
			assert_int_equal(rr_wire_int(&m, 0, 0, 100, &rc), 0);
			rr_wire_msg_clear(&m);
			return rc;
		}
		rr_wire_msg_clear(&m);
	}
	fail_msg("no END");
	return rc;
}

/* 5b. The protocol: riskd runs a call only once the module committed it.
 * A module gone after ACCEPT, or answering it with anything but COMMIT,
 * leaves nothing recorded; with COMMIT the same call is served. */
static void test_commit_required(void **state)
{
	const char *const reply[] = {"0", NULL};
	rr_wire_msg m = {0};
	int fd;

	(void)state;
	start_riskd(NULL);
	fd = connect_to(rd_sock);
	assert_true(fd >= 0);
	assert_int_equal(send_hello(fd, RR_RISKD_PROTO, "bob"), 0);
	expect_accept(fd);
	close(fd);
	fd = connect_to(rd_sock);
	assert_true(fd >= 0);
	assert_int_equal(send_hello(fd, RR_RISKD_PROTO, "bob"), 0);
	expect_accept(fd);
	assert_int_equal(rr_wire_send(fd, RR_W_REPLY, reply, 2, 5000), 0);
	/* closed without a word */
	assert_int_equal(rr_wire_recv(fd, &m, 5000), -ECONNRESET);
	close(fd);
	wait_calls_closed(rd_sock);
	assert_int_equal(count_signins("bob"), 0);
	fd = connect_to(rd_sock);
	assert_true(fd >= 0);
	assert_int_equal(send_hello(fd, RR_RISKD_PROTO, "bob"), 0);
	assert_int_equal(served_call(fd), PAM_SUCCESS);
	close(fd);
	assert_int_equal(count_signins("bob"), 1);
	stop_riskd();
}

/* The non-root client's child: 0 when riskd closed without a word. */
static void nobody_child(void)
{
	rr_wire_msg m = {0};
	int fd, r;

	become_nobody();
	fd = connect_to(rd_sock);
	if (fd < 0)
		_exit(50);
	r = send_hello(fd, RR_RISKD_PROTO, "bob");
	if (r == 0)
		r = rr_wire_recv(fd, &m, 5000);
	if (r == 0)
		_exit(60 + (int)m.type); /* a message: riskd served it */
	if (r == -ECONNRESET || r == -EBADMSG || r == -EPIPE)
		_exit(0);
	_exit(51); /* -ETIMEDOUT: not closed */
}

/* 6. Only root may call: another uid's connection is closed unanswered
 * (the same HELLO from root is served). */
static void test_non_root_client_refused(void **state)
{
	pid_t pid;
	int fd;

	(void)state;
	start_riskd(NULL);
	/* let nobody reach the socket */
	assert_int_equal(chmod(F.dir, 0711), 0);
	assert_int_equal(chmod(rd_run, 0711), 0);
	assert_int_equal(chmod(rd_sock, 0666), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		nobody_child();
	track(pid);
	assert_exited(wait_exit(pid), 0);
	assert_int_equal(count_signins("bob"), 0);
	/* root's same call is served */
	fd = connect_to(rd_sock);
	assert_true(fd >= 0);
	assert_int_equal(send_hello(fd, RR_RISKD_PROTO, "bob"), 0);
	assert_int_equal(served_call(fd), PAM_SUCCESS);
	close(fd);
	assert_int_equal(count_signins("bob"), 1);
	assert_string_equal(last_signin("bob").outcome, "success");
	assert_allowed("rrtest", "alice");
	stop_riskd();
}

/* A server of another uid: the module's child listens as nobody and
 * reports what it got: 0 a connection closed without a byte. */
static int nobody_ready[2];

static void nobody_server(const char *path)
{
	struct pollfd p;
	char buf[64];
	int fd, c;

	close(nobody_ready[0]);
	become_nobody();
	fd = rr_wire_listen(path, 0600, 4);
	if (fd < 0 || write(nobody_ready[1], "r", 1) != 1)
		_exit(70);
	p = (struct pollfd){.fd = fd, .events = POLLIN};
	if (poll(&p, 1, DEADLINE_MS) != 1)
		_exit(71); /* the module never connected */
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		_exit(72);
	p = (struct pollfd){.fd = c, .events = POLLIN};
	if (poll(&p, 1, DEADLINE_MS) != 1)
		_exit(73);
	_exit(read(c, buf, sizeof(buf)) == 0 ? 0 : 74);
}

/* 6b. The module talks only to a riskd of root's: a socket another uid
 * serves is ignored (and told nothing); the call runs in process. */
static void test_non_root_server_ignored(void **state)
{
	char dir[128], path[160], args[200], pattern[640];
	pid_t pid;
	char c;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/nobody", F.dir);
	snprintf(path, sizeof(path), "%s/riskd.sock", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chown(dir, NOBODY, NOBODY), 0);
	assert_int_equal(chmod(F.dir, 0711), 0);
	assert_int_equal(pipe2(nobody_ready, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		nobody_server(path);
	track(pid);
	close(nobody_ready[1]);
	if (read(nobody_ready[0], &c, 1) != 1)
		fail_msg("the server did not start (wait status 0x%x)",
			 wait_exit(pid));
	close(nobody_ready[0]);
	snprintf(args, sizeof(args), "riskd=%s", path);
	write_module_service("rrtest-nobody", RR_MODULE_PATH, args);
	assert_allowed("rrtest-nobody", "alice");
	snprintf(pattern, sizeof(pattern),
		 "^<[0-9]+>pam_riskremediate\\(rrtest-nobody:auth\\): riskd: "
		 "%s is not served by root; ignored\n"
		 DECISION_ALLOW("rrtest-nobody", "alice") "$", path);
	assert_logged(pattern);
	assert_exited(wait_exit(pid), 0);
	assert_int_equal(count_signins("alice"), 1);
}

/* ---- riskd killed ------------------------------------------------------- */

static int killed_status;

static void kill_riskd(void)
{
	if (rd_pid > 0 && kill(rd_pid, SIGKILL) == 0 &&
	    waitpid(rd_pid, &killed_status, 0) == rd_pid) {
		untrack(rd_pid);
		rd_pid = 0;
	}
}

/* 7. riskd dies while the user is at a prompt: denied, never run again in
 * process; later sign-ins run in process while it is down. */
static void test_killed_during_call_denies(void **state)
{
	static script s = {.answer = "123456", .at_prompt = kill_riskd};
	rr_store_signin si;

	(void)state;
	write_policy(REG_ENABLED, MFA_FOR_RRTEST);
	start_riskd(NULL);
	register_alice("rrtest", 0);
	log_reset();
	killed_status = 0;
	assert_int_equal(script_auth("rrtest", "alice", &s),
			 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(rd_pid, 0);
	assert_true(WIFSIGNALED(killed_status) &&
		    WTERMSIG(killed_status) == SIGKILL);
	assert_string_equal(s.msgs, "[secret] Sign-in policy requires "
			    "multifactor authentication for rrtest. Enter the "
			    "code from your authenticator app: \n"
			    UNAVAILABLE "\n");
	assert_logged("<[0-9]+>pam_riskremediate\\(rrtest:auth\\): riskd: "
		      "[^\n]+ during the call; denying\n$");
	/* not run again in process (the copy would log that it cannot) */
	assert_null(strstr(g_log, "cannot load"));
	assert_null(strstr(g_log, "running in process"));
	/* riskd died at the prompt: the sign-in stays as recorded before
	 * the prompt, interrupted, as in process when the application dies
	 * there */
	assert_int_equal(count_signins("alice"), 2);
	assert_string_equal(last_signin("alice").outcome, "interrupted");
	assert_string_equal(last_signin("alice").mfa, "prompted");
	/* riskd down (its socket left behind): the module with its core
	 * runs in process, asking for the code itself */
	answers(1, 1, "@code");
	log_reset();
	assert_int_equal(login("rrtest-real", "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	assert_null(strstr(g_log, "riskd"));
	si = last_signin("alice");
	assert_string_equal(si.service, "rrtest-real");
	assert_string_equal(si.outcome, "success");
}

/* 8. No riskd at the path: the call runs in process, silently. */
static void test_no_riskd_runs_in_process(void **state)
{
	char args[200];

	(void)state;
	snprintf(args, sizeof(args), "riskd=%s/nowhere/riskd.sock", F.dir);
	write_module_service("rrtest-none", RR_MODULE_PATH, args);
	assert_allowed("rrtest-none", "alice");
	assert_logged("^" DECISION_ALLOW("rrtest-none", "alice") "$");
	assert_null(strstr(g_log, "riskd"));
	assert_int_equal(count_signins("alice"), 1);
	/* nor when the path is a socket nobody listens on */
	start_riskd(NULL);
	assert_int_equal(kill(rd_pid, SIGKILL), 0);
	assert_true(WIFSIGNALED(wait_exit(rd_pid)));
	rd_pid = 0;
	log_reset();
	assert_allowed("rrtest-real", "alice");
	assert_logged("^" DECISION_ALLOW("rrtest-real", "alice") "$");
	assert_int_equal(count_signins("alice"), 2);
}

/* 9. A riskd= that is not an absolute socket path or "off" denies. */
static void test_bad_riskd_argument_denies(void **state)
{
	static const char *const bad[] = {"riskd=relative/path", "riskd=",
					  "riskd=/x/"
					  "0123456789012345678901234567890123"
					  "4567890123456789012345678901234567"
					  "8901234567890123456789012345678901"
					  "234"}; /* 108 bytes: no room for the NUL */
	char pattern[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_module_service("rrtest-bad", RR_MODULE_PATH, bad[i]);
		log_reset();
		assert_int_equal(login("rrtest-bad", "alice", "10.1.2.3",
				       true).auth, PAM_AUTHINFO_UNAVAIL);
		assert_string_equal(F.msgs, "");
		snprintf(pattern, sizeof(pattern),
			 "^<[0-9]+>pam_riskremediate\\(rrtest-bad:auth\\): "
			 "unknown or misplaced argument \"%.64s\"; denying\n$",
			 bad[i]);
		assert_logged(pattern);
		/* account alone: denied with its own code */
		assert_int_equal(login("rrtest-bad", "alice", "10.1.2.3",
				       false).account, PAM_AUTH_ERR);
	}
	assert_int_equal(count_signins("alice"), 0);
}

/* ---- riskd itself ------------------------------------------------------- */

/* 10a. SIGTERM and SIGINT stop it (exit 0, socket removed); SIGHUP does
 * not.  It creates its directory 0700 and the socket 0600. */
static void test_riskd_signals(void **state)
{
	struct stat st;

	(void)state;
	start_riskd(NULL);
	assert_int_equal(lstat(rd_run, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(rd_sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(kill(rd_pid, SIGHUP), 0);
	assert_allowed("rrtest", "alice");
	stop_riskd();
	start_riskd(NULL);
	assert_int_equal(kill(rd_pid, SIGINT), 0);
	assert_exited(wait_exit(rd_pid), 0);
	rd_pid = 0;
	assert_int_equal(lstat(rd_sock, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* 10b. A second riskd on the socket of a running one exits 1; the first
 * serves on. */
static void test_riskd_second_instance(void **state)
{
	char err[512];

	(void)state;
	start_riskd(NULL);
	assert_exited(riskd_run(rd_sock, false, err, sizeof(err)), 1);
	assert_matches_line(err, "^riskd: another riskd answers on [^\n]*"
			    "/run/riskd\\.sock$");
	assert_true(socket_listening(rd_sock));
	assert_allowed("rrtest", "alice");
	stop_riskd();
}

/* 10c. A path that is not a socket is refused and left alone. */
static void test_riskd_path_not_socket(void **state)
{
	char err[512], text[32];
	struct stat st;
	ssize_t n;
	int fd;

	(void)state;
	assert_int_equal(mkdir(rd_run, 0700), 0);
	write_file(rd_sock, "keep me\n", 0600);
	assert_exited(riskd_run(rd_sock, false, err, sizeof(err)), 1);
	assert_matches_line(err, "^riskd: [^\n]*/run/riskd\\.sock exists and is "
			    "not a socket$");
	assert_int_equal(lstat(rd_sock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	fd = open(rd_sock, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_int_equal(n, 8);
	text[n] = '\0';
	assert_string_equal(text, "keep me\n");
}

/* 10d. The socket file of a riskd that was killed is replaced. */
static void test_riskd_stale_socket(void **state)
{
	struct stat st;

	(void)state;
	start_riskd(NULL);
	assert_int_equal(kill(rd_pid, SIGKILL), 0);
	assert_true(WIFSIGNALED(wait_exit(rd_pid)));
	rd_pid = 0;
	assert_int_equal(lstat(rd_sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_false(socket_listening(rd_sock));
	start_riskd(NULL);
	assert_allowed("rrtest", "alice");
	stop_riskd();
}

/* 10e. A socket directory others can write to, or not root's: exit 1. */
static void test_riskd_unsafe_dir(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(mkdir(rd_run, 0700), 0);
	assert_int_equal(chmod(rd_run, 0777), 0);
	assert_exited(riskd_run(rd_sock, false, err, sizeof(err)), 1);
	assert_matches_line(err, "^riskd: [^\n]*/run: [^\n]+ \\(must be a root "
			    "directory, not group/other-writable\\)$");
	assert_int_equal(access(rd_sock, F_OK), -1);
	assert_int_equal(chmod(rd_run, 0700), 0);
	assert_int_equal(chown(rd_run, NOBODY, NOBODY), 0);
	assert_exited(riskd_run(rd_sock, false, err, sizeof(err)), 1);
	assert_matches(err, "must be a root directory");
	assert_int_equal(access(rd_sock, F_OK), -1);
}

/* 10f. Not root: exit 2, nothing created. */
static void test_riskd_not_root(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(chmod(F.dir, 0777), 0);
	assert_exited(riskd_run(rd_sock, true, err, sizeof(err)), 2);
	assert_string_equal(err, "riskd: must run as root\n");
	assert_int_equal(access(rd_run, F_OK), -1);
	assert_int_equal(chmod(F.dir, 0700), 0);
}


/* ---- riskd started by systemd (riskd.socket) ---------------------------- */

/* The program `pid` runs: its /proc/PID/exe, resolved. */
static bool runs(pid_t pid, const char *program)
{
	char proc[64], exe[PATH_MAX], want[PATH_MAX];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/%d/exe", (int)pid);
	n = readlink(proc, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_non_null(realpath(program, want));
	return strcmp(exe, want) == 0;
}

/*
 * riskd --socket rd_sock --policy F.policy under systemd-socket-activate
 * listening on the n paths of `listen`, as systemd runs riskd.service for
 * riskd.socket: the activator binds them, waits for the first connection
 * and then becomes riskd (the same pid) with them as fds 3.. and
 * LISTEN_FDS/LISTEN_PID set.  NOTIFY_SOCKET `notify` unless NULL; stderr
 * into `err_fd` unless -1.  Returns once every path listens.
 */
static pid_t activate_spawn(const char *const *listen, size_t n,
			    const char *notify, int err_fd)
{
	extern char **environ;
	const char **argv;
	size_t a = 0, i, env;
	pid_t pid;

	if (!RR_SOCKET_ACTIVATE[0])
		fail_msg("no systemd-socket-activate (apt-get install systemd)");
	if (mkdir(rd_run, 0700) < 0)
		assert_int_equal(errno, EEXIST);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (err_fd >= 0 && dup2(err_fd, 2) < 0)
			_exit(125);
		if (notify ? setenv("NOTIFY_SOCKET", notify, 1) :
			     unsetenv("NOTIFY_SOCKET"))
			_exit(125);
		for (env = 0; environ[env]; env++)
			;
		argv = calloc(2 * (n + env) + 8, sizeof(*argv));
		if (!argv)
			_exit(125);
		argv[a++] = RR_SOCKET_ACTIVATE;
		for (i = 0; i < n; i++) {
			argv[a++] = "-l";
			argv[a++] = listen[i];
		}
		/* riskd gets only what -E passes: this environment, as
		 * riskd_spawn's riskd (nss_wrapper) */
		for (i = 0; i < env; i++) {
			argv[a++] = "-E";
			argv[a++] = environ[i];
		}
		argv[a++] = RR_RISKD_PATH;
		argv[a++] = "--socket";
		argv[a++] = rd_sock;
		argv[a++] = "--policy";
		argv[a++] = F.policy;
		argv[a] = NULL;
		execv(RR_SOCKET_ACTIVATE, (char *const *)argv);
		_exit(127);
	}
	track(pid);
	for (i = 0; i < n; i++)
		wait_listening(pid, listen[i]);
	return pid;
}

#if RR_RISKD_SYSTEMD
/* A datagram socket at `path` for sd_notify's messages. */
static int notify_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The next message on the notify socket, within DEADLINE_MS. */
static void assert_notified(int fd, const char *want)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[256];
	ssize_t n;

	assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

/* 11a. Socket activation: the socket listens and riskd is not running
 * until the first sign-in connects; then the activator's process is
 * riskd, serves that sign-in (the module copy has no core: nothing else
 * could) and the next ones, and tells systemd it is ready (Type=notify).
 * SIGTERM: exit 0, and systemd's socket stays, still bound. */
static void test_socket_activated(void **state)
{
	const char *listen[1] = {rd_sock};
	char notify[160];
	struct stat st;
	int nfd;

	(void)state;
	snprintf(notify, sizeof(notify), "%s/notify", F.dir);
	nfd = notify_socket(notify);
	rd_pid = activate_spawn(listen, 1, notify, -1);
	assert_true(runs(rd_pid, RR_SOCKET_ACTIVATE));
	/* riskd.socket's SocketMode=0600 (the activator makes it 0644) */
	assert_int_equal(chmod(rd_sock, 0600), 0);
	assert_true(runs(rd_pid, RR_SOCKET_ACTIVATE));
	assert_allowed("rrtest", "alice");
	assert_true(runs(rd_pid, RR_RISKD_PATH));
	assert_notified(nfd, "READY=1");
	assert_int_equal(count_signins("alice"), 1);
	assert_string_equal(last_signin("alice").service, "rrtest");
	assert_allowed("rrtest", "bob");
	assert_int_equal(count_signins("bob"), 1);
	assert_int_equal(kill(rd_pid, SIGTERM), 0);
	assert_exited(wait_exit(rd_pid), 0);
	rd_pid = 0;
	assert_notified(nfd, "STOPPING=1");
	close(nfd);
	/* not riskd's to remove: systemd starts riskd on it again */
	assert_int_equal(lstat(rd_sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* riskd --socket rd_sock given `lfd` as systemd gives riskd.service the
 * socket riskd.socket holds: fd 3, LISTEN_FDS=1, LISTEN_PID its pid. */
static pid_t passed_spawn(int lfd)
{
	char pid_s[24];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		snprintf(pid_s, sizeof(pid_s), "%d", (int)getpid());
		/* dup2 clears close-on-exec, but not of lfd when it is 3 */
		if ((lfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(lfd, 3)) < 0 ||
		    setenv("LISTEN_FDS", "1", 1) ||
		    setenv("LISTEN_PID", pid_s, 1))
			_exit(125);
		execl(RR_RISKD_PATH, "riskd", "--socket", rd_sock,
		      "--policy", F.policy, (char *)NULL);
		_exit(127);
	}
	track(pid);
	return pid;
}

/* 11b. systemd keeps the socket across riskd's restarts: riskd stopping
 * leaves it listening (its workers leave accept() without shutting the
 * socket down, which would refuse every later connection), and the next
 * riskd started on it serves the next sign-in -- including one that
 * connected while no riskd ran. */
static void test_socket_kept_across_restarts(void **state)
{
	script sc = {.answer = "x"};
	struct timespec t0;
	int lfd, st;
	pid_t login_pid;

	(void)state;
	assert_int_equal(mkdir(rd_run, 0700), 0);
	lfd = rr_wire_listen(rd_sock, 0600, SOMAXCONN);
	assert_true(lfd >= 0);
	rd_pid = passed_spawn(lfd);
	assert_allowed("rrtest", "alice");
	assert_int_equal(kill(rd_pid, SIGTERM), 0);
	assert_exited(wait_exit(rd_pid), 0);
	rd_pid = 0;
	assert_true(socket_listening(rd_sock));
	/* a sign-in now waits in the backlog (the module gives riskd 2 s) */
	login_pid = fork();
	assert_true(login_pid >= 0);
	if (login_pid == 0)
		_exit(script_auth("rrtest", "bob", &sc) == PAM_SUCCESS ? 0 :
									 1);
	track(login_pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (calls_open(rd_sock) == 0) {
		if (ms_since(&t0) > DEADLINE_MS)
			fail_msg("the sign-in did not connect to %s", rd_sock);
		usleep(2000);
	}
	rd_pid = passed_spawn(lfd);
	st = wait_exit(login_pid);
	assert_exited(st, 0);
	assert_int_equal(count_signins("bob"), 1);
	assert_allowed("rrtest", "alice");
	assert_int_equal(count_signins("alice"), 2);
	assert_int_equal(kill(rd_pid, SIGTERM), 0);
	assert_exited(wait_exit(rd_pid), 0);
	rd_pid = 0;
	assert_true(socket_listening(rd_sock));
	close(lfd);
}

/*
 * riskd given `lfd` (as passed_spawn) inside what of riskd.service's
 * sandbox runs without systemd as PID 1 (riskd_sandbox.c), with `rw`
 * writable (the store's directory).
 */
static pid_t sandboxed_spawn(int lfd, const char *rw)
{
	char pid_s[24];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid != 0) {
		track(pid);
		return pid;
	}
	snprintf(pid_s, sizeof(pid_s), "%d", (int)getpid());
	if ((lfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(lfd, 3)) < 0 ||
	    setenv("LISTEN_FDS", "1", 1) || setenv("LISTEN_PID", pid_s, 1))
		_exit(125);
	execl(RR_RISKD_SANDBOX, "riskd_sandbox", rw, RR_RISKD_SYSCALLS,
	      RR_RISKD_PATH, "--socket", rd_sock, "--policy", F.policy,
	      (char *)NULL);
	_exit(127);
}

/* The value of `field` in /proc/PID/status. */
static void proc_status(pid_t pid, const char *field, char *out, size_t len)
{
	char path[64], line[256];
	size_t n = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 1 +
				 strspn(line + n + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
		}
	fclose(f);
	assert_true(out[0] != '\0');
}

/* 11c. riskd in riskd.service's sandbox: no capability, nothing
 * writable but the store's directory, the unit's system call filter.  It serves sign-ins and records
 * them (/etc/shadow-like root files need no capability), and a
 * registration once the MFA key file exists; while it does not, riskd
 * cannot create it and the registration is denied (fail closed; the
 * key file is made beforehand, riskd(8)). */
static void test_sandboxed(void **state)
{
	uint8_t key[RR_MFA_KEY_LEN];
	char store_dir[160], key_path[160], v[64];
	pam_result r;
	int lfd;

	(void)state;
	snprintf(store_dir, sizeof(store_dir), "%s/store", F.dir);
	snprintf(key_path, sizeof(key_path), "%s/mfa.key", F.dir);
	assert_int_equal(mkdir(store_dir, 0700), 0);
	assert_int_equal(mkdir(rd_run, 0700), 0);
	lfd = rr_wire_listen(rd_sock, 0600, SOMAXCONN);
	assert_true(lfd >= 0);
	/* alice only must register */
	write_policy("mfa_registration:\n"
		     "  state: enabled\n"
		     "  users: { include: [alice] }\n", NULL);
	rd_pid = sandboxed_spawn(lfd, store_dir);
	assert_allowed("rrtest", "bob");
	assert_int_equal(count_signins("bob"), 1);
	proc_status(rd_pid, "CapEff", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	proc_status(rd_pid, "CapBnd", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	proc_status(rd_pid, "NoNewPrivs", v, sizeof(v));
	assert_string_equal(v, "1");
	proc_status(rd_pid, "Seccomp", v, sizeof(v));
	assert_string_equal(v, "2");
	/* alice must register (grace over); no key file, read-only /tmp */
	set_grace_start("alice", time(NULL) - 30 * 86400);
	answers(0, 1, "@code");
	log_reset();
	r = login("rrtest", "alice", "10.1.2.3", true);
	assert_int_not_equal(r.auth, PAM_SUCCESS);
	assert_matches_line(g_log, "^<[0-9]+>pam_riskremediate\\(rrtest:auth\\):"
			    " MFA key file [^\n]*/mfa\\.key: Read-only file "
			    "system$");
	assert_false(mfa_of("alice").registered);
	assert_int_equal(access(key_path, F_OK), -1);
	/* made beforehand (as root, outside the sandbox): registered */
	assert_int_equal(rr_mfa_key_load(key_path, true, key), 0);
	explicit_bzero(key, sizeof(key));
	register_alice("rrtest", 0);
	assert_int_equal(kill(rd_pid, SIGTERM), 0);
	assert_exited(wait_exit(rd_pid), 0);
	rd_pid = 0;
	close(lfd);
}
#endif

/* Runs riskd under the activator on `listen` to its end: the first
 * connection to listen[0] starts it; its wait status and stderr. */
static int activate_run(const char *const *listen, size_t n, char *err,
			size_t len)
{
	char path[160];
	pid_t pid;
	ssize_t r;
	int fd, c;

	snprintf(path, sizeof(path), "%s/riskd.err", F.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	pid = activate_spawn(listen, n, NULL, fd);
	assert_true(runs(pid, RR_SOCKET_ACTIVATE));
	c = connect_to(listen[0]);
	assert_true(c >= 0);
	r = wait_exit(pid);
	close(c);
	c = (int)r;
	r = pread(fd, err, len - 1, 0);
	assert_true(r >= 0);
	err[r] = '\0';
	close(fd);
	unlink(path);
	return c;
}

/* 11d. What systemd passes must be what riskd would have made: one
 * listening Unix stream socket, on --socket's path, root's with no access
 * for group or others.  Anything else: exit 1, a clear message, nothing
 * served (and a riskd built without systemd refuses any socket passed). */
static void test_socket_activated_refused(void **state)
{
	char other[160], err[2048];
	const char *two[2] = {rd_sock, other};
	const char *wrong[1] = {other};
	const char *one[1] = {rd_sock};

	(void)state;
	snprintf(other, sizeof(other), "%s/other.sock", rd_run);
	if (!RR_RISKD_SYSTEMD) {
		assert_exited(activate_run(one, 1, err, sizeof(err)), 1);
		assert_matches_line(err, "^riskd: systemd passed a socket "
				    "\\(LISTEN_FDS\\), but this riskd was "
				    "built without systemd support");
		assert_int_equal(count_signins("alice"), 0);
		return;
	}
	/* mode 0644 as the activator binds it: others could read it */
	assert_exited(activate_run(one, 1, err, sizeof(err)), 1);
	assert_matches_line(err, "^riskd: [^\n]*/run/riskd\\.sock: the socket "
			    "systemd passed is mode 0644, owner uid 0; it must "
			    "be a socket of root's with no access for group or "
			    "others \\(SocketUser=root, SocketMode=0600\\)$");
	/* still there: it is systemd's */
	assert_int_equal(access(rd_sock, F_OK), 0);
	assert_int_equal(unlink(rd_sock), 0);
	/* another path than --socket */
	assert_exited(activate_run(wrong, 1, err, sizeof(err)), 1);
	assert_matches_line(err, "^riskd: the socket systemd passed is not a "
			    "listening Unix stream socket on [^\n]*"
			    "/run/riskd\\.sock$");
	assert_int_equal(unlink(other), 0);
	/* two sockets */
	assert_exited(activate_run(two, 2, err, sizeof(err)), 1);
	assert_matches_line(err, "^riskd: systemd passed 2 sockets; riskd "
			    "listens on one \\(one ListenStream= in "
			    "riskd\\.socket\\)$");
	assert_int_equal(count_signins("alice"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_allowed_through_riskd),
		T(test_parallel_logins),
		T(test_policy_reloaded),
		T(test_store_replaced),
		T(test_busy_runs_in_process),
		T(test_stalled_runs_in_process),
		T(test_stalled_after_commit_waits),
		T(test_commit_required),
		T(test_other_version_sent_back),
		T(test_non_root_client_refused),
		T(test_non_root_server_ignored),
		T(test_killed_during_call_denies),
		T(test_no_riskd_runs_in_process),
		T(test_bad_riskd_argument_denies),
		T(test_riskd_signals),
		T(test_riskd_second_instance),
		T(test_riskd_path_not_socket),
		T(test_riskd_stale_socket),
		T(test_riskd_unsafe_dir),
		T(test_riskd_not_root),
#if RR_RISKD_SYSTEMD
		T(test_socket_activated),
		T(test_socket_kept_across_restarts),
		T(test_sandboxed),
#endif
		T(test_socket_activated_refused),
#undef T
	};

	return cmocka_run_group_tests(tests, nss_setup, nss_teardown);
}
