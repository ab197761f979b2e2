/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The harness of the PAM tests (see harness.h).
 */
#include "harness.h"

#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>

#include "rr_mfa.h"
#include "rr_wire.h"

#ifndef RR_MODULE_PATH
#error "RR_MODULE_PATH must be defined"
#endif

/* ---- syslog capture ---------------------------------------------------- */

char g_log[65536];
static size_t g_log_len;

static void capture(int pri, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void capture(int pri, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = snprintf(g_log + g_log_len, sizeof(g_log) - g_log_len, "<%d>%s\n",
		     pri, line);
	if (n > 0 && (size_t)n < sizeof(g_log) - g_log_len)
		g_log_len += (size_t)n;
}

/* libpam calls the fortified variant; the executable's definition wins. */
void __syslog_chk(int pri, int flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	capture(pri, fmt, ap);
	va_end(ap);
}

void log_reset(void)
{
	g_log_len = 0;
	g_log[0] = '\0';
}

/* ---- fixture ----------------------------------------------------------- */

fixture F;

/* The scripted answers (answers()). */
static const char *F_answers[8];
static size_t F_n_answers;
size_t F_next_answer;
static int F_code_offset;
static char F_last_code[16];

void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A policy written less than a second ago may be mid-write: the loader
 * waits for it to settle (rr_secfile_read_stable).  The tests' policies
 * are whole when written, so they are dated a minute back (test_riskd's
 * policy_rewritten_in_place writes one with the current time). */
void policy_settled(const char *path)
{
	struct timespec ago[2] = { { .tv_nsec = UTIME_OMIT },
				   { .tv_sec = time(NULL) - 60 } };

	assert_int_equal(utimensat(AT_FDCWD, path, ago, 0), 0);
}

/* The policy file: `head`, then the format. */
static void write_policy_va(const char *head, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void write_policy_va(const char *head, const char *fmt, va_list ap)
{
	char text[8192];
	size_t h = strlen(head);
	int n;

	assert_true(h < sizeof(text));
	memcpy(text, head, h);
	n = vsnprintf(text + h, sizeof(text) - h, fmt, ap);
	assert_true(n >= 0 && (size_t)n < sizeof(text) - h);
	assert_true(h + (size_t)n > 0);
	write_file(F.policy, text, 0600);
	policy_settled(F.policy);
}

void write_policy_fmt(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_policy_va("", fmt, ap);
	va_end(ap);
}

void write_fixture_policy(const char *fmt, ...)
{
	char head[512];
	va_list ap;
	int n;

	n = snprintf(head, sizeof(head),
		     "version: 1\n"
		     "issuer: Test Corp\n"
		     "store: { backend: sqlite, path: %s }\n"
		     "mfa: { key_file: %s/mfa.key }\n",
		     F.store, F.dir);
	assert_true(n > 0 && (size_t)n < sizeof(head));
	va_start(ap, fmt);
	write_policy_va(head, fmt, ap);
	va_end(ap);
}

void write_raw_service(const char *name, const char *text)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", F.confdir, name);
	write_file(path, text, 0644);
}

void write_service(const char *name, const char *const *lines, size_t n)
{
	char text[2048] = "";
	size_t i, used;

	for (i = 0; i < n; i++) {
		used = strlen(text);
		snprintf(text + used, sizeof(text) - used,
			 "%s %s %s policy=%s\n", lines[2 * i], module_spec(),
			 lines[2 * i + 1], F.policy);
	}
	write_raw_service(name, text);
}

static int remove_tree(const char *dir);

static char riskd_dir[] = "/tmp/rr-riskd-XXXXXX";
static pid_t riskd_pid;
static char spec[512];

static void riskd_stop(void)
{
	int st = 0;

	kill(riskd_pid, SIGTERM);
	if (waitpid(riskd_pid, &st, 0) != riskd_pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "riskd did not stop cleanly (status %d)\n", st);
		_exit(1);
	}
	remove_tree(riskd_dir);
}

void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/*
 * With RR_TEST_RISKD_SANDBOX (riskd_sandbox, and RR_TEST_RISKD_SYSCALLS
 * its list): riskd in riskd.service's sandbox, /tmp writable (the tests'
 * stores and key files), given its socket bound here as systemd passes
 * riskd.socket's.  An fd, or -1 without.
 */
static int sandbox_socket(const char *sock)
{
	const char *sandbox = getenv("RR_TEST_RISKD_SANDBOX");
	int fd;

	if (!sandbox || !*sandbox)
		return -1;
	fd = rr_wire_listen(sock, 0600, SOMAXCONN);
	assert_true(fd >= 0);
	return fd;
}

/* The child: riskd_sandbox /tmp SYSCALLS riskd --socket sock, with lfd
 * as fd 3 and LISTEN_FDS/LISTEN_PID set. */
static void exec_sandboxed(const char *riskd, const char *sock, int lfd)
{
	char pid_s[24];

	snprintf(pid_s, sizeof(pid_s), "%d", (int)getpid());
	if ((lfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(lfd, 3)) < 0 ||
	    setenv("LISTEN_FDS", "1", 1) || setenv("LISTEN_PID", pid_s, 1))
		_exit(125);
	execl(getenv("RR_TEST_RISKD_SANDBOX"), "riskd_sandbox", "/tmp",
	      getenv("RR_TEST_RISKD_SYSCALLS"), riskd, "--socket", sock,
	      (char *)NULL);
	_exit(127);
}

static void riskd_start(const char *riskd, const char *sock)
{
	int i, fd, lfd = sandbox_socket(sock);

	riskd_pid = fork();
	assert_true(riskd_pid >= 0);
	if (riskd_pid == 0) {
		const char *pre = getenv("RR_TEST_RISKD_PRELOAD");
		const char *old = getenv("LD_PRELOAD");
		char env[1024];

		if (pre && *pre) {
			snprintf(env, sizeof(env), "%s %s", old ? old : "",
				 pre);
			setenv("LD_PRELOAD", env, 1);
		}
		if (lfd >= 0)
			exec_sandboxed(riskd, sock, lfd);
		if (getenv("RR_TEST_RISKD_VALGRIND"))
			/* tests/run-all: riskd's memory errors and definite
			 * leaks make its exit status, checked at the end */
			execlp("valgrind", "valgrind", "-q",
			       "--error-exitcode=9", "--leak-check=full",
			       "--errors-for-leak-kinds=definite", riskd,
			       "--socket", sock, (char *)NULL);
		else
			execl(riskd, "riskd", "--socket", sock, (char *)NULL);
		_exit(127);
	}
	if (lfd >= 0)
		close(lfd);
	assert_true(strlen(sock) < sizeof(((struct sockaddr_un *)0)->sun_path));
	for (i = 0; i < 6000; i++) { /* 60 s: valgrind starts slowly */
		fd = rr_wire_connect(sock, false);
		if (fd >= 0) {
			close(fd);
			atexit(riskd_stop);
			return;
		}
		usleep(10000);
	}
	fail_msg("riskd did not listen on %s", sock);
}

const char *module_spec(void)
{
	const char *riskd = getenv("RR_TEST_RISKD");
	char mod[128], sock[128];

	if (spec[0])
		return spec;
	if (!riskd || !*riskd) {
		snprintf(spec, sizeof(spec), "%s riskd=off", RR_MODULE_PATH);
		return spec;
	}
	assert_non_null(mkdtemp(riskd_dir));
	snprintf(mod, sizeof(mod), "%s/pam_riskremediate.so", riskd_dir);
	snprintf(sock, sizeof(sock), "%s/riskd.sock", riskd_dir);
	copy_file(RR_MODULE_PATH, mod);
	riskd_start(riskd, sock);
	snprintf(spec, sizeof(spec), "%s riskd=%s", mod, sock);
	return spec;
}

void fixture_setup(const char *prefix)
{
	memset(&F, 0, sizeof(F));
	snprintf(F.dir, sizeof(F.dir), "/tmp/%s-XXXXXX", prefix);
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.confdir, sizeof(F.confdir), "%s/pam.d", F.dir);
	assert_int_equal(mkdir(F.confdir, 0755), 0);
	snprintf(F.policy, sizeof(F.policy), "%s/policy.yaml", F.dir);
	snprintf(F.store, sizeof(F.store), "%s/store/risk.db", F.dir);
	write_raw_service("other", "auth required pam_deny.so\n"
				   "account required pam_deny.so\n"
				   "password required pam_deny.so\n");
	answers(0, 0);
	log_reset();
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int remove_tree(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int fixture_teardown(void **state)
{
	(void)state;
	remove_tree(F.dir);
	return 0;
}

static char nss_dir[] = "/tmp/rr-nss-XXXXXX";

int nss_setup(void **state)
{
	char passwd[128], group[128];

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr,
			"pam tests need root (the store is root-only)\n");
		return -1;
	}
	if (!mkdtemp(nss_dir))
		return -1;
	snprintf(passwd, sizeof(passwd), "%s/passwd", nss_dir);
	snprintf(group, sizeof(group), "%s/group", nss_dir);
	write_file(passwd, "root:x:0:0:root:/root:/bin/sh\n"
			   "alice:x:1001:1001:Alice:/home/alice:/bin/sh\n"
			   "bob:x:1002:1002:Bob:/home/bob:/bin/sh\n"
			   "carol:x:1003:1003:Carol:/home/carol:/bin/sh\n",
		   0644);
	write_file(group, "root:x:0:\nalice:x:1001:\nbob:x:1002:\n"
			  "carol:x:1003:\nbreakglass:x:2000:carol\n",
		   0644);
	setenv("NSS_WRAPPER_PASSWD", passwd, 1);
	setenv("NSS_WRAPPER_GROUP", group, 1);
	return 0;
}

int nss_teardown(void **state)
{
	(void)state;
	remove_tree(nss_dir);
	return 0;
}

/* ---- driving libpam ---------------------------------------------------- */

void answers(int offset, size_t n, ...)
{
	va_list ap;
	size_t i;

	va_start(ap, n);
	for (i = 0; i < n && i < 8; i++)
		F_answers[i] = va_arg(ap, const char *);
	va_end(ap);
	F_n_answers = i;
	F_next_answer = 0;
	F_code_offset = offset;
}

/* The secret in the last otpauth:// URI the module showed, if any. */
static bool secret_from_uri(uint8_t *secret, size_t *len)
{
	const char *uri = NULL, *p = F.msgs, *sec;
	char b32[128];
	char *raw = NULL;
	size_t n, rawlen = 0;

	while ((p = strstr(p, "otpauth://totp/")) != NULL)
		uri = p++;
	if (!uri || !(sec = strstr(uri, "secret=")))
		return false;
	sec += 7;
	n = strcspn(sec, "&\n");
	assert_true(n < sizeof(b32));
	memcpy(b32, sec, n);
	b32[n] = '\0';
	assert_int_equal(oath_base32_decode(b32, n, &raw, &rawlen), OATH_OK);
	assert_true(rawlen <= RR_TOTP_SECRET_MAX);
	memcpy(secret, raw, rawlen);
	*len = rawlen;
	free(raw);
	return true;
}

static void secret_from_store(const char *user, uint8_t *secret, size_t *len,
			      rr_totp_params *t)
{
	uint8_t key[RR_MFA_KEY_LEN];
	char path[160];
	rr_store_mfa m;
	rr_store *s = open_store();

	assert_int_equal(rr_store_mfa_get(s, user, time(NULL), 900, &m), 0);
	rr_store_close(s);
	assert_true(m.registered);
	snprintf(path, sizeof(path), "%s/mfa.key", F.dir);
	assert_int_equal(rr_mfa_key_load(path, false, key), 0);
	assert_int_equal(rr_mfa_unseal(key, user, m.sealed, m.sealed_len,
				       secret, RR_TOTP_SECRET_MAX, len), 0);
	t->alg = (rr_totp_alg)m.alg;
	t->digits = m.digits;
	t->period = m.period;
}

static const char *F_user = "alice";

static char *code_now(void)
{
	uint8_t secret[RR_TOTP_SECRET_MAX];
	char code[RR_TOTP_CODE_MAX + 1];
	rr_totp_params t;
	size_t len = 0;

	rr_totp_params_default(&t);
	if (!secret_from_uri(secret, &len))
		secret_from_store(F_user, secret, &len, &t);
	assert_int_equal(rr_totp_code(secret, len, &t,
				      time(NULL) / t.period + F_code_offset,
				      code), 0);
	snprintf(F_last_code, sizeof(F_last_code), "%s", code);
	return strdup(code);
}

/* Gates shared by forked children: [0] counts arrivals at a gated
 * prompt, [1..RR_TEST_GATES] are opened by the parent (gate_open). */
static volatile int *F_gates;

void gates_reset(void)
{
	if (!F_gates) {
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		assert_true(m != MAP_FAILED);
		F_gates = m;
	}
	memset((void *)F_gates, 0, (RR_TEST_GATES + 1) * sizeof(int));
}

void gate_open(int n)
{
	__atomic_store_n(&F_gates[n], 1, __ATOMIC_SEQ_CST);
}

int gate_arrivals(void)
{
	return __atomic_load_n(&F_gates[0], __ATOMIC_SEQ_CST);
}

/* "@gN:ANSWER": arrive, wait (at most 120 s: valgrind is slow) for gate
 * N, then ANSWER. */
static const char *gate_wait(const char *a)
{
	int n = a[2] - '0', i;

	if (!F_gates || n < 1 || n > RR_TEST_GATES || a[3] != ':')
		return NULL;
	__atomic_add_fetch(&F_gates[0], 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 120000 && !__atomic_load_n(&F_gates[n],
						  __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	return a + 4;
}

static char *answer_for(const char *prompt)
{
	const char *a;

	(void)prompt;
	if (F_next_answer >= F_n_answers)
		return NULL;
	a = F_answers[F_next_answer++];
	if (!strncmp(a, "@g", 2) && !(a = gate_wait(a)))
		return NULL;
	if (!strcmp(a, "@die"))
		raise(SIGKILL); /* killed at the prompt, as sshd does */
	if (!strcmp(a, "@code"))
		return code_now();
	if (!strcmp(a, "@same"))
		return strdup(F_last_code);
	return strdup(a);
}

static int conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	(void)data;
	if (!r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		size_t used = strlen(F.msgs);
		int style = msg[i]->msg_style;

		if (style == PAM_PROMPT_ECHO_OFF ||
		    style == PAM_PROMPT_ECHO_ON) {
			snprintf(F.msgs + used, sizeof(F.msgs) - used,
				 "[%s] %s\n", style == PAM_PROMPT_ECHO_ON ?
				 "ask" : "secret", msg[i]->msg);
			r[i].resp = answer_for(msg[i]->msg);
			if (!r[i].resp) {
				free(r);
				return PAM_CONV_ERR;
			}
			continue;
		}
		snprintf(F.msgs + used, sizeof(F.msgs) - used, "%s\n",
			 msg[i]->msg);
	}
	*resp = r;
	return PAM_SUCCESS;
}

int fixture_pam_start(const char *service, const char *user,
		      pam_handle_t **pamh)
{
	static const struct pam_conv c = { conv, NULL };

	F.msgs[0] = '\0';
	return pam_start_confdir(service, user, &c, F.confdir, pamh);
}

int pam_run(const char *service, const char *user, const char *rhost,
	    unsigned steps, pam_result *res)
{
	pam_handle_t *pamh = NULL;
	char env[512];
	int r;

	res->auth = res->account = res->chauthtok = res->session = -1;
	r = fixture_pam_start(service, user, &pamh);
	if (r != PAM_SUCCESS)
		return r;
	if (rhost)
		r = pam_set_item(pamh, PAM_RHOST, rhost);
	if (r == PAM_SUCCESS)
		r = pam_set_item(pamh, PAM_TTY, "ssh");
	if (r == PAM_SUCCESS && F.auth_info) {
		snprintf(env, sizeof(env), "SSH_AUTH_INFO_0=%s", F.auth_info);
		r = pam_putenv(pamh, env);
	}
	if (r != PAM_SUCCESS)
		goto out;
	if (steps & RUN_AUTH)
		res->auth = pam_authenticate(pamh, 0);
	if ((steps & RUN_ACCOUNT) &&
	    (!(steps & RUN_AUTH) || res->auth == PAM_SUCCESS))
		res->account = pam_acct_mgmt(pamh, 0);
	if ((steps & RUN_CHANGE) && res->account == PAM_NEW_AUTHTOK_REQD)
		res->chauthtok = pam_chauthtok(pamh,
					       PAM_CHANGE_EXPIRED_AUTHTOK);
	if ((steps & RUN_SESSION) && res->account == PAM_SUCCESS) {
		if (F.session_auth_info) {
			snprintf(env, sizeof(env), "SSH_AUTH_INFO_0=%s",
				 F.session_auth_info);
			r = pam_putenv(pamh, env);
			if (r != PAM_SUCCESS)
				goto out;
		}
		res->session = pam_open_session(pamh, 0);
		if (res->session == PAM_SUCCESS)
			pam_close_session(pamh, 0);
	}
out:
	pam_end(pamh, r);
	return r;
}

pam_result login_pw(const char *service, const char *user, const char *rhost,
		    bool with_auth, bool change)
{
	unsigned steps = RUN_ACCOUNT;
	pam_result res;

	if (with_auth)
		steps |= RUN_AUTH;
	if (change)
		steps |= RUN_CHANGE;
	assert_int_equal(pam_run(service, user, rhost, steps, &res),
			 PAM_SUCCESS);
	return res;
}

pam_result login(const char *service, const char *user, const char *rhost,
		 bool with_auth)
{
	return login_pw(service, user, rhost, with_auth, false);
}

/* What a login_as child sends back: its result, its messages, a NUL, its
 * log lines. */
static void read_child(int fd, pam_result *res)
{
	static char buf[sizeof(F.msgs) + sizeof(g_log)];
	size_t off = 0, m, used;
	ssize_t n;

	while (off + 1 < sizeof(buf) &&
	       (n = read(fd, buf + off, sizeof(buf) - 1 - off)) > 0)
		off += (size_t)n;
	buf[off] = '\0';
	assert_true(off >= sizeof(*res));
	memcpy(res, buf, sizeof(*res));
	m = strlen(buf + sizeof(*res));
	if (m >= sizeof(F.msgs))
		m = sizeof(F.msgs) - 1;
	memcpy(F.msgs, buf + sizeof(*res), m);
	F.msgs[m] = '\0';
	m = strlen(buf + sizeof(*res));
	used = strlen(g_log);
	if (sizeof(*res) + m + 1 < off)
		strncat(g_log + used, buf + sizeof(*res) + m + 1,
			sizeof(g_log) - used - 1);
}

pam_result login_as(uid_t ruid, const char *service, const char *user,
		    const char *rhost)
{
	pam_result res = {-1, -1, -1, -1};
	int fd[2], st;
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		log_reset();
		if (setresuid(ruid, 0, 0) != 0 ||
		    pam_run(service, user, rhost, RUN_AUTH | RUN_ACCOUNT,
			    &res) != PAM_SUCCESS)
			_exit(2);
		if (write(fd[1], &res, sizeof(res)) != sizeof(res) ||
		    write(fd[1], F.msgs, strlen(F.msgs) + 1) < 0 ||
		    write(fd[1], g_log, strlen(g_log)) < 0)
			_exit(3);
		_exit(0);
	}
	close(fd[1]);
	read_child(fd[0], &res);
	close(fd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return res;
}

/* ---- the store --------------------------------------------------------- */

rr_store *open_store(void)
{
	rr_store *s = NULL;

	assert_int_equal(rr_store_open(F.store, &s), 0);
	return s;
}

void admin(rr_admin_action a, const char *user)
{
	rr_store *s = open_store();

	assert_int_equal(rr_store_admin(s, a, user, "tester", time(NULL),
					NULL), 0);
	rr_store_close(s);
}

rr_store_signin last_signin(const char *user)
{
	rr_store_signin_filter f = { .user = user, .limit = 1 };
	rr_store_signin *rows = NULL, out;
	rr_store *s = open_store();
	size_t n = 0;

	assert_int_equal(rr_store_signins_list(s, &f, &rows, &n), 0);
	assert_int_equal(n, 1);
	out = rows[0];
	free(rows);
	rr_store_close(s);
	return out;
}

size_t count_signins(const char *user)
{
	rr_store_signin_filter f = { .user = user };
	rr_store_signin *rows = NULL;
	rr_store *s = open_store();
	size_t n = 0;

	assert_int_equal(rr_store_signins_list(s, &f, &rows, &n), 0);
	free(rows);
	rr_store_close(s);
	return n;
}

rr_store_user user_of(const char *user)
{
	rr_store_user u;
	rr_store *s = open_store();

	assert_int_equal(rr_store_user_get(s, user, &u), 0);
	rr_store_close(s);
	return u;
}

rr_store_mfa mfa_of(const char *user)
{
	rr_store_mfa m;
	rr_store *s = open_store();

	assert_int_equal(rr_store_mfa_get(s, user, time(NULL), 900, &m), 0);
	rr_store_close(s);
	return m;
}

void set_user_risk(const char *user, rr_level level, int64_t age)
{
	rr_store *s = open_store();

	assert_int_equal(rr_store_user_detection_add(s, user,
			 RR_EVENT_LEAKED_CREDENTIALS, level, NULL,
			 time(NULL) - age), 0);
	rr_store_close(s);
}

void set_grace_start(const char *user, int64_t start)
{
	rr_store *s = open_store();
	int64_t got = 0;

	assert_int_equal(rr_store_mfa_grace_reset(s, user, "tester",
						  time(NULL)), 0);
	assert_int_equal(rr_store_mfa_grace_begin(s, user, start, &got), 0);
	assert_int_equal(got, start);
	rr_store_close(s);
}

void register_alice(const char *service, int offset)
{
	set_grace_start("alice", time(NULL) - 30 * 86400);
	answers(offset, 1, "@code");
	assert_int_equal(login(service, "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	assert_true(mfa_of("alice").registered);
}

/* ---- assertions -------------------------------------------------------- */

static void assert_regex(const char *text, const char *pattern, int cflags)
{
	regex_t re;
	int r;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB |
				 cflags), 0);
	r = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	if (r != 0) {
		/* the text can be long (QR codes): print it whole */
		fprintf(stderr, "text:\n%s\n", text);
		fail_msg("the text above does not match /%s/", pattern);
	}
}

void assert_matches(const char *text, const char *pattern)
{
	assert_regex(text, pattern, 0);
}

void assert_matches_line(const char *text, const char *pattern)
{
	assert_regex(text, pattern, REG_NEWLINE);
}

void assert_logged(const char *pattern)
{
	assert_matches(g_log, pattern);
}

bool socket_listening(const char *sock)
{
	char line[512], flags[16], path[256];
	bool found = false;
	FILE *f = fopen("/proc/net/unix", "re");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %15s %*s %*s %*s %255s",
			       flags, path) == 2 &&
			!strcmp(path, sock) && !strcmp(flags, "00010000");
	fclose(f);
	return found;
}
