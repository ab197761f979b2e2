/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * failclosed/input: hostile input through the real module (libpam, the
 * harness of tests/pam/harness.h), in process or through riskd
 * (RR_TEST_RISKD, as suite pam-riskd):
 *
 * - user names, PAM_RHOST and PAM_TTY with control characters, ESC
 *   sequences, printf formats, shell and SQL metacharacters, invalid
 *   UTF-8, 10 KB lengths and a leading "-": refused as the sign-in data
 *   being invalid (rr_valid_user, valid_token in rr_assess.c), or, when
 *   acceptable, recorded byte for byte; exactly one decision line in the
 *   log, never a raw control byte or a second, forged line;
 * - riskctl on a store holding such records: text without raw control
 *   bytes, --json and --format graph parsed by python3's json;
 *   a user name starting with "-" is a usage error, never an option;
 * - 64 KB answers, and answers with an embedded newline or NUL, to every
 *   prompt of the module: refused within a second, the sign-in denied;
 * - SSH_AUTH_INFO_0 and other variables in the process environment are
 *   never read; a forged SSH_AUTH_INFO_0 in the PAM environment never
 *   spares a risky user MFA; a hostile one is no device and no crash;
 * - user enumeration: the modes reached before the password is known to
 *   be right (preauth, authfail) treat an unknown user exactly as a
 *   known one (messages, return code); times are printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rr_mfa.h"

#ifndef RR_RISKCTL_PATH
#error "RR_RISKCTL_PATH must be defined"
#endif
#ifndef RR_PYTHON
#error "RR_PYTHON must be defined"
#endif

#define KEY_INFO "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILLPNYkdzT" \
		 "yOMGzQeQEuuYXsdcji8r01jiCWMtdv5Jr2"
#define KEY_FP "SHA256:YTfNOuKEnxhf3FI/iRQnLTtooIh18z/fyLhICodcLLc"
#define INVALID_MSG "Sign-in denied: the sign-in data is invalid.\n"
#define BIG (64 * 1024)

/* User names the module accepts (valid to rr_valid_user) although an
 * attacker chose them; in this test's passwd. */
static const char *const odd_users[] = {
	"%n%s%x%p%n",
	"$(id)${IFS}`uname`;reboot",
	"`id`;DROP_TABLE_signins;--",
	"x)OR(1>0)--",
	"jos\xc3\xa9.\xe6\x9d\x8e",
};
/* 256 'a': the longest name (RR_USER_MAX) */
static char long_user[257];

/* User names refused as invalid sign-in data. */
static const char *const bad_users[] = {
	"alice\nDec  7 12:00:00 host sshd[1]: Accepted password for root",
	"alice\nroot",
	"alice\r",
	"a\x1b[2Jb",
	"\x1b]0;pwned\x07",
	"x'; DROP TABLE signins;--",
	"-rf",
	"--json",
	"a b",
	"a\tb",
	"a\x7f",
	"al:ice",
	"a\"b",
	/* invalid UTF-8; a C1 control (CSI) and a bidi override as UTF-8:
	 * not printable characters */
	"\xff\xfe\xc3(bad-utf8",
	"c1\xc2\x9b" "31mcsi",
	"\x9b" "31mcsi",
	"evil\xe2\x80\xaetxt.exe",
};

/* PAM_RHOST values: refused, and accepted ones stored as given. */
static const char *const bad_rhosts[] = {
	"10.0.0.1\nDec  7 12:00:00 host sshd[1]: forged",
	"10.0.0.1\nsshd[1]:Accepted_password_for_root",
	"10.0.0.1\r",
	"\x1b[31m10.0.0.1",
	"10.0.0.1 x",
	"\xff\xfe",
	"a\"b",
	"a\\b",
};
static const char *const odd_rhosts[] = {
	"%n%s%x%p",
	"$(reboot)",
	"';DROP/**/TABLE/**/signins;--",
	"-oProxyCommand=x",
};

/* ---- fixture ----------------------------------------------------------- */

static char passwd_path[160];

static void write_policy_risk(void)
{
	/* A medium sign-in risk (anonymizer list) or a medium user risk
	 * needs MFA; a high sign-in risk (malicious list) is blocked. */
	write_policy_fmt(
		"version: 1\n"
		"issuer: Test Corp\n"
		"store: { backend: sqlite, path: %s }\n"
		"mfa: { key_file: %s/mfa.key, max_failures: 100 }\n"
		"mfa_registration: { state: enabled, grace_days: 14,"
		" users: { include: [alice] } }\n"
		"detections:\n"
		"  unfamiliarFeatures: { level: medium, learning_days: 0,"
		" learning_signins: 1 }\n"
		"  anonymizedIPAddress: { level: medium, lists: [%s/anon.list] }\n"
		"  maliciousIPAddress: { level: high, lists: [%s/bad.list] }\n"
		"policies:\n"
		"  - name: Medium risk requires MFA\n"
		"    conditions: { signin_risk: [medium] }\n"
		"    grant: { require: [mfa] }\n"
		"  - name: User risk requires MFA\n"
		"    conditions: { user_risk: [medium, high] }\n"
		"    grant: { require: [mfa] }\n"
		"  - name: High sign-in risk is blocked\n"
		"    conditions: { signin_risk: [high] }\n"
		"    grant: { block: true }\n",
		F.store, F.dir, F.dir, F.dir);
}

/* The harness's users and ours: root, alice, bob, carol and odd_users. */
static int group_setup(void **state)
{
	char text[4096];
	size_t i, used;
	int r = nss_setup(state);

	if (r)
		return r;
	memset(long_user, 'a', 256);
	long_user[256] = '\0';
	snprintf(passwd_path, sizeof(passwd_path), "%s.input",
		 getenv("NSS_WRAPPER_PASSWD"));
	used = (size_t)snprintf(text, sizeof(text),
		"root:x:0:0:root:/root:/bin/sh\n"
		"alice:x:1001:1001:Alice:/home/alice:/bin/sh\n"
		"bob:x:1002:1002:Bob:/home/bob:/bin/sh\n"
		"carol:x:1003:1003:Carol:/home/carol:/bin/sh\n"
		"%s:x:1100:1001::/home/long:/bin/sh\n", long_user);
	for (i = 0; i < sizeof(odd_users) / sizeof(*odd_users); i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
			"%s:x:%zu:1001::/nonexistent:/bin/sh\n",
			odd_users[i], 1200 + i);
	if (used >= sizeof(text))
		return -1;
	write_file(passwd_path, text, 0644);
	setenv("NSS_WRAPPER_PASSWD", passwd_path, 1);
	return 0;
}

static int group_teardown(void **state)
{
	unlink(passwd_path);
	return nss_teardown(state);
}

static int setup(void **state)
{
	char path[160];

	(void)state;
	fixture_setup("rr-fc-input");
	snprintf(path, sizeof(path), "%s/anon.list", F.dir);
	write_file(path, "198.51.100.0/24\n", 0644);
	snprintf(path, sizeof(path), "%s/bad.list", F.dir);
	write_file(path, "203.0.113.66\n", 0644);
	SERVICE("rrtest", "auth required", "", "account required", "");
	SERVICE("rrtest-preauth", "auth required", "preauth");
	SERVICE("rrtest-fail", "auth [default=die]", "authfail");
	write_policy_risk();
	return 0;
}

/* ---- helpers ----------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every captured line starts with "<PRI>", holds no control byte (not
 * even CR or ESC), no DEL and no C1 control as UTF-8; `decisions` lines
 * are decision lines. */
static void assert_log_clean(size_t decisions)
{
	const unsigned char *p = (const unsigned char *)g_log;
	size_t n_dec = 0;
	bool line_start = true;

	for (; *p; p++) {
		if (line_start) {
			if (*p != '<') {
				fprintf(stderr, "log:\n%s\n", g_log);
				fail_msg("a log line does not start with <PRI>");
			}
			if (strstr((const char *)p, "decision=") &&
			    strstr((const char *)p, "decision=") <
				    strchrnul((const char *)p, '\n'))
				n_dec++;
		}
		line_start = *p == '\n';
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)) {
			fprintf(stderr, "log:\n%s\n", g_log);
			fail_msg("raw control byte 0x%02x in the log", *p);
		}
	}
	if (n_dec != decisions) {
		fprintf(stderr, "log:\n%s\n", g_log);
		fail_msg("%zu decision lines, expected %zu", n_dec, decisions);
	}
}

static size_t log_lines(void)
{
	size_t n = 0;
	const char *p;

	for (p = g_log; *p; p++)
		n += *p == '\n';
	return n;
}

/* auth then account, with PAM_TTY `tty`, the PAM environment's
 * SSH_AUTH_INFO_0 `info` (NULL: none). */
static pam_result run_tty(const char *user, const char *rhost,
			  const char *tty, const char *info)
{
	pam_result res = {-1, -1, -1, -1};
	pam_handle_t *pamh = NULL;
	char *env = NULL;
	int r;

	assert_int_equal(fixture_pam_start("rrtest", user, &pamh),
			 PAM_SUCCESS);
	if (rhost)
		assert_int_equal(pam_set_item(pamh, PAM_RHOST, rhost),
				 PAM_SUCCESS);
	if (tty)
		assert_int_equal(pam_set_item(pamh, PAM_TTY, tty),
				 PAM_SUCCESS);
	if (info) {
		assert_true(asprintf(&env, "SSH_AUTH_INFO_0=%s", info) > 0);
		assert_int_equal(pam_putenv(pamh, env), PAM_SUCCESS);
		free(env);
	}
	r = pam_authenticate(pamh, 0);
	res.auth = r;
	if (r == PAM_SUCCESS)
		res.account = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, r);
	return res;
}

/* The current TOTP code of a registered user, from the store. */
static void code_of(const char *user, int offset, char *code)
{
	uint8_t key[RR_MFA_KEY_LEN], secret[RR_TOTP_SECRET_MAX];
	char path[160];
	rr_totp_params t;
	rr_store_mfa m = mfa_of(user);
	size_t len = 0;

	assert_true(m.registered);
	snprintf(path, sizeof(path), "%s/mfa.key", F.dir);
	assert_int_equal(rr_mfa_key_load(path, false, key), 0);
	assert_int_equal(rr_mfa_unseal(key, user, m.sealed, m.sealed_len,
				       secret, sizeof(secret), &len), 0);
	rr_totp_params_default(&t);
	t.alg = (rr_totp_alg)m.alg;
	t.digits = m.digits;
	t.period = m.period;
	assert_int_equal(rr_totp_code(secret, len, &t,
				      time(NULL) / t.period + offset, code), 0);
	explicit_bzero(secret, sizeof(secret));
}

/* alice registered (grace over, forced registration from the office
 * network she then knows). */
static void alice_registered(void)
{
	set_grace_start("alice", time(NULL) - 30 * 86400);
	answers(0, 1, "@code");
	assert_int_equal(login("rrtest", "alice", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	assert_true(mfa_of("alice").registered);
	answers(0, 0);
}

/* ---- hostile names, hosts, terminals ----------------------------------- */

static void test_bad_user_names_refused(void **state)
{
	char big[10 * 1024 + 1], expect[96];
	size_t i;

	(void)state;
	memset(big, 'u', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i <= sizeof(bad_users) / sizeof(*bad_users) + 1; i++) {
		const char *u = i < sizeof(bad_users) / sizeof(*bad_users) ?
			bad_users[i] : i == sizeof(bad_users) / sizeof(*bad_users)
			? big : "a\x01%n";
		pam_result r;

		log_reset();
		r = login("rrtest", u, "10.1.2.3", true);
		assert_int_equal(r.auth, PAM_AUTH_ERR);
		assert_int_equal(r.account, -1);
		assert_string_equal(F.msgs, INVALID_MSG);
		/* one line, the name's length only (never the name) */
		assert_log_clean(0);
		assert_int_equal(log_lines(), 1);
		snprintf(expect, sizeof(expect), "refusing an invalid user "
			 "name \\(length %zu\\)\n$", strnlen(u, 4096));
		assert_logged(expect);
	}
	/* nothing was stored for any of them; carol still signs in */
	assert_int_equal(count_signins("carol"), 0);
	assert_int_equal(count_signins(bad_users[0]), 0);
	assert_int_equal(login("rrtest", "carol", "10.1.2.3", true).auth,
			 PAM_SUCCESS);
	assert_int_equal(count_signins("carol"), 1);
}

/* Acceptable odd names: one decision line each, the name quoted as it is
 * (no byte that could end the line or the field), recorded byte for byte. */
static void test_odd_user_names_recorded(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i <= sizeof(odd_users) / sizeof(*odd_users); i++) {
		const char *u = i < sizeof(odd_users) / sizeof(*odd_users) ?
			odd_users[i] : long_user;
		rr_store_signin si;
		pam_result r;
		char *needle = NULL;

		log_reset();
		r = login("rrtest", u, "10.1.2.3", true);
		if (r.auth != PAM_SUCCESS)
			fail_msg("user %zu: %d\n%s\n%s", i, r.auth, F.msgs, g_log);
		assert_int_equal(r.account, PAM_SUCCESS);
		assert_string_equal(F.msgs, "");
		assert_log_clean(1);
		assert_true(asprintf(&needle, " user=\"%s\" service=", u) > 0);
		assert_non_null(strstr(g_log, needle));
		free(needle);
		si = last_signin(u);
		assert_string_equal(si.user, u);
		assert_string_equal(si.outcome, "success");
	}
	/* the store is whole: the SQL-looking name dropped nothing */
	assert_int_equal(count_signins(odd_users[2]), 1);
	assert_int_equal(count_signins(long_user), 1);
}

static void test_bad_rhosts_and_ttys_refused(void **state)
{
	char big[10 * 1024 + 1], tty[10 * 1024 + 1];
	size_t i, n = sizeof(bad_rhosts) / sizeof(*bad_rhosts);

	(void)state;
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(tty, 't', sizeof(tty) - 1);
	tty[sizeof(tty) - 1] = '\0';
	/* rhosts, then the longest accepted (255) + 1, then 10 KB */
	for (i = 0; i < n + 2; i++) {
		char over[257];
		const char *h = i < n ? bad_rhosts[i] : big;
		pam_result r;

		if (i == n) {
			memset(over, 'h', 256);
			over[256] = '\0';
			h = over;
		}
		log_reset();
		r = run_tty("alice", h, "ssh", NULL);
		/* 10 KB: libpam's own audit call (pam_audit) fails on it
		 * after the module refused, and libpam says PAM_SYSTEM_ERR */
		if (r.auth != PAM_AUTH_ERR &&
		    !(h == big && r.auth == PAM_SYSTEM_ERR))
			fail_msg("rhost %zu: %d", i, r.auth);
		assert_logged("assessing sign-in of alice: Invalid argument\n");
		assert_string_equal(F.msgs, INVALID_MSG);
		assert_log_clean(0);
	}
	/* terminals */
	{
		const char *const ttys[] = { "pts/0\nforged line",
					     "pts/0\nforged", "\x1b[2J",
					     "tty 1", tty };

		for (i = 0; i < sizeof(ttys) / sizeof(*ttys); i++) {
			log_reset();
			int rc = run_tty("alice", "10.1.2.3", ttys[i],
					 NULL).auth;

			/* 10 KB: libpam's audit fails too (see above) */
			assert_true(rc == PAM_AUTH_ERR ||
				    (ttys[i] == tty && rc == PAM_SYSTEM_ERR));
			assert_string_equal(F.msgs, INVALID_MSG);
			assert_log_clean(0);
		}
	}
	assert_int_equal(count_signins("alice"), 0);
}

static void test_odd_rhosts_recorded(void **state)
{
	char longest[256];
	size_t i, n = sizeof(odd_rhosts) / sizeof(*odd_rhosts);

	(void)state;
	/* known from the office first: the odd hosts are new networks for
	 * alice, so unfamiliarFeatures asks for MFA, which she (not
	 * registered, inside grace) cannot do: blocked, recorded, logged */
	memset(longest, 'h', 255);
	longest[255] = '\0';
	for (i = 0; i <= n; i++) {
		const char *h = i < n ? odd_rhosts[i] : longest;
		rr_store_signin si;
		char *needle = NULL;

		log_reset();
		(void)run_tty("bob", h, "pts/7", NULL);
		assert_log_clean(1);
		assert_true(asprintf(&needle, " rhost=\"%s\" ", h) > 0);
		assert_non_null(strstr(g_log, needle));
		free(needle);
		si = last_signin("bob");
		assert_string_equal(si.rhost, h);
		assert_string_equal(si.tty, "pts/7");
	}
	assert_int_equal(count_signins("bob"), n + 1);
}

/* ---- riskctl on such a store ------------------------------------------- */

/* Runs riskctl --policy F.policy ARGV; its stdout in *out (malloc'd),
 * stderr in err; the exit status. */
static int riskctl(char **out, char *err, size_t errlen,
		   const char *const *argv)
{
	const char *args[24];
	int o[2], e[2], st;
	size_t i, n = 0, cap = 65536, en = 0;
	char *buf = malloc(cap);
	pid_t pid;
	struct pollfd pf[2];

	assert_non_null(buf);
	args[n++] = "riskctl";
	args[n++] = "--policy";
	args[n++] = F.policy;
	for (i = 0; argv[i] && n < 23; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	assert_int_equal(pipe(o), 0);
	assert_int_equal(pipe(e), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		execv(RR_RISKCTL_PATH, (char *const *)args);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	n = 0;
	pf[0] = (struct pollfd){ .fd = o[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = e[0], .events = POLLIN };
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		ssize_t r;

		assert_true(poll(pf, 2, 30000) > 0);
		if (pf[0].fd >= 0 && pf[0].revents) {
			if (n + 4096 > cap) {
				cap *= 2;
				buf = realloc(buf, cap);
				assert_non_null(buf);
			}
			r = read(o[0], buf + n, cap - n - 1);
			if (r <= 0) {
				close(o[0]);
				pf[0].fd = -1;
			} else {
				n += (size_t)r;
			}
		}
		if (pf[1].fd >= 0 && pf[1].revents) {
			char tmp[4096];

			r = read(e[0], tmp, sizeof(tmp));
			if (r <= 0) {
				close(e[0]);
				pf[1].fd = -1;
			} else if (en + 1 < errlen) {
				size_t k = (size_t)r < errlen - 1 - en ?
					(size_t)r : errlen - 1 - en;

				memcpy(err + en, tmp, k);
				en += k;
			}
		}
	}
	buf[n] = '\0';
	err[en] = '\0';
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	*out = buf;
	return WEXITSTATUS(st);
}

/* No C0 control byte but newline (so no ESC), no DEL and, with `c1`, no
 * C1 control (U+0080..U+009F as UTF-8, or a lone 0x9b CSI byte): nothing
 * a terminal would act on.  JSON keeps C1 characters as they are (valid
 * JSON; for a SIEM, not a terminal): checked without `c1`. */
static void assert_safe(const char *what, const char *s, bool c1)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f ||
		    (c1 && (*p == 0x9b ||
			    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)))) {
			fprintf(stderr, "%s:\n%s\n", what, s);
			fail_msg("%s: raw control byte 0x%02x at offset %td",
				 what, *p, (const char *)p - s);
		}
}

/* python3's json parses `text`: one document, or (lines) one per line. */
static void assert_json(const char *what, const char *text, bool lines)
{
	static const char prog[] =
		"import json,sys\n"
		"d=sys.stdin.buffer.read().decode('utf-8')\n"
		"docs=[l for l in d.split('\\n') if l] if sys.argv[1]=='1' "
		"else [d]\n"
		"assert docs, 'no output'\n"
		"[json.loads(x) for x in docs]\n";
	int in[2], st;
	pid_t pid;
	size_t len = strlen(text), off = 0;

	assert_int_equal(pipe(in), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		close(in[1]);
		execl(RR_PYTHON, "python3", "-c", prog, lines ? "1" : "0",
		      (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	signal(SIGPIPE, SIG_IGN);
	while (off < len) {
		ssize_t w = write(in[1], text + off, len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s:\n%s\n", what, text);
		fail_msg("%s: not valid JSON (python3 status %d)", what, st);
	}
}

/* Stored through the store API, which takes what the module refuses:
 * control characters and ESC in user names. */
static const char *const store_users[] = {
	"esc\x1b[2J\x1b]0;pwned\x07user",
	"nl\nforged\trow\r",
	("c1\xc2\x9b" "31m\xc2\x85next"),
	"utf8\xff\xfe\xc3(",
	"-x",
};

static void test_riskctl_hostile_store(void **state)
{
	static const char *const views[][6] = {
		{ "list", NULL },
		{ "signins", NULL },
		{ "detections", NULL },
		{ "audit", NULL },
	};
	static const char *const graphs[] = { "list", "signins",
					      "detections" };
	char err[4096], name[64];
	rr_store *s;
	char *out = NULL;
	size_t i, j, stored = 0;

	(void)state;
	/* sign-ins with odd names, hosts and terminal through the module */
	for (i = 0; i < sizeof(odd_users) / sizeof(*odd_users); i++) {
		assert_int_equal(login("rrtest", odd_users[i], "10.1.2.3",
				       true).auth, PAM_SUCCESS);
		/* a new network: MFA, which they have not: blocked */
		assert_int_equal(login("rrtest", odd_users[i], odd_rhosts[i % 4],
				       true).auth, PAM_AUTH_ERR);
	}
	(void)run_tty("bob", "$(reboot)", "pts/1", NULL);
	/* risky users with hostile names and detections through the API */
	s = open_store();
	for (i = 0; i < sizeof(store_users) / sizeof(*store_users); i++) {
		int r = rr_store_user_detection_add(s, store_users[i],
				RR_EVENT_LEAKED_CREDENTIALS, RR_LEVEL_HIGH,
				NULL, time(NULL));

		assert_true(r == 0 || r == -EINVAL);
		stored += r == 0;
	}
	printf("# the store API took %zu of %zu hostile names\n", stored,
	       sizeof(store_users) / sizeof(*store_users));
	for (i = 0; i < sizeof(odd_users) / sizeof(*odd_users); i++)
		assert_int_equal(rr_store_user_detection_add(s, odd_users[i],
				 RR_EVENT_LEAKED_CREDENTIALS, RR_LEVEL_MEDIUM,
				 NULL, time(NULL)), 0);
	assert_int_equal(rr_store_admin(s, RR_ADMIN_DISMISS, odd_users[0],
					"tester", time(NULL), NULL), 0);
	rr_store_close(s);

	for (i = 0; i < sizeof(views) / sizeof(*views); i++) {
		const char *argv[8] = { NULL };

		argv[0] = views[i][0];
		assert_int_equal(riskctl(&out, err, sizeof(err), argv), 0);
		assert_safe(views[i][0], out, true);
		/* the odd names are there (not dropped by the escaping) */
		if (i != 3)
			assert_non_null(strstr(out, "DROP_TABLE"));
		free(out);
		argv[0] = "--json";
		argv[1] = views[i][0];
		assert_int_equal(riskctl(&out, err, sizeof(err), argv), 0);
		assert_json(views[i][0], out, false);
		free(out);
	}
	for (i = 0; i < sizeof(graphs) / sizeof(*graphs); i++) {
		const char *argv[] = { "--format", "graph", graphs[i], NULL };

		assert_int_equal(riskctl(&out, err, sizeof(err), argv), 0);
		assert_json(graphs[i], out, true);
		assert_safe(graphs[i], out, false);
		free(out);
	}
	/* status of the odd names riskctl accepts, text and JSON */
	for (i = 0; i < sizeof(odd_users) / sizeof(*odd_users); i++) {
		const char *argv[] = { "status", odd_users[i], NULL };
		const char *jargv[] = { "--json", "status", odd_users[i], NULL };
		const char *sargv[] = { "--json", "signins", "--user",
					odd_users[i], NULL };

		snprintf(name, sizeof(name), "status %zu", i);
		assert_int_equal(riskctl(&out, err, sizeof(err), argv), 0);
		assert_safe(name, out, true);
		free(out);
		assert_int_equal(riskctl(&out, err, sizeof(err), jargv), 0);
		assert_json(name, out, false);
		free(out);
		assert_int_equal(riskctl(&out, err, sizeof(err), sargv), 0);
		assert_json(name, out, false);
		free(out);
	}
	/* names riskctl refuses: a usage error (2), never an option */
	for (j = 0; j < 2; j++) {
		static const char *const dash[] = { "-x", "--json", "--help",
						    "--policy=/nonexistent" };

		for (i = 0; i < sizeof(dash) / sizeof(*dash); i++) {
			const char *a1[] = { "status", "--", dash[i], NULL };
			const char *a2[] = { "unblock", "--", dash[i], NULL };
			const char *a3[] = { "dismiss", dash[i], NULL };

			assert_int_equal(riskctl(&out, err, sizeof(err),
						 j ? a2 : a1), 2);
			assert_string_equal(out, "");
			assert_non_null(strstr(err, "riskctl"));
			free(out);
			/* without "--", "-x" is an unknown option (2); an
			 * option is an option there ("--help") */
			if (i != 0)
				continue;
			assert_int_equal(riskctl(&out, err, sizeof(err), a3), 2);
			assert_string_equal(out, "");
			free(out);
		}
	}
	/* nothing was dismissed or unblocked by them: "-x" (stored at high
	 * risk through the API above) is still at risk */
	assert_int_equal(user_of("-x").level, RR_LEVEL_HIGH);
	assert_int_equal(user_of("-x").state, RR_STATE_AT_RISK);
	{
		const char *argv[] = { "--json", "audit", NULL };

		assert_int_equal(riskctl(&out, err, sizeof(err), argv), 0);
		assert_null(strstr(out, "\"unblock\""));
		free(out);
	}
}

/* ---- oversized and malformed answers ----------------------------------- */

static char *big_answer(char fill)
{
	char *a = malloc(BIG + 1);

	assert_non_null(a);
	memset(a, fill, BIG);
	a[BIG] = '\0';
	return a;
}

static void assert_fast_denial(double t0, pam_result r, int code)
{
	double dt = now_s() - t0;

	assert_int_equal(r.auth, code);
	if (dt >= 1.0)
		fail_msg("the refusal took %.3f s", dt);
}

static void test_big_answer_mfa_code(void **state)
{
	char *a = big_answer('1'), *d = big_answer('9');
	char code[16], nl[32], lead[32];
	double t0;

	(void)state;
	alice_registered();
	/* a risky sign-in (anonymizer): three prompts, three 64 KB answers */
	answers(0, 3, a, d, a);
	t0 = now_s();
	assert_fast_denial(t0, login("rrtest", "alice", "198.51.100.7", true),
			   PAM_AUTH_ERR);
	assert_int_equal(F_next_answer, 3);
	assert_matches(F.msgs, "^\\[secret\\] Unusual sign-in from 198\\.51\\.100\\.7");
	assert_int_equal(last_signin("alice").action, RR_ACTION_REQUIRE);
	/* the right code split by a newline, or followed by a second line,
	 * is not the code (blanks around it are allowed: rr_totp.c);
	 * nor is what a NUL cut off before it (the empty answer).  The next
	 * step's code: registration used this step's. */
	code_of("alice", 1, code);
	snprintf(nl, sizeof(nl), "%.3s\n%s", code, code + 3);
	snprintf(lead, sizeof(lead), "%s\n%s", code, code);
	answers(0, 3, nl, lead, "");
	log_reset();
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_AUTH_ERR);
	assert_int_equal(F_next_answer, 3);
	{
		const char *q = F.msgs;
		int n = 0;

		while ((q = strstr(q, "That code is not right.")) && ++q)
			n++;
		assert_int_equal(n, 3);
		assert_null(strstr(F.msgs, "already used"));
	}
	assert_log_clean(1);
	/* and the code itself passes (not a replay: none of the answers
	 * above was taken for it) */
	answers(1, 1, "@code");
	assert_int_equal(login("rrtest", "alice", "198.51.100.7", true).auth,
			 PAM_SUCCESS);
	explicit_bzero(code, sizeof(code));
	free(a);
	free(d);
}

static void test_big_answer_registration(void **state)
{
	char *a = big_answer('y'), *d = big_answer('7');
	double t0;

	(void)state;
	/* inside the grace period: "Set up now? [y/N]" answered with 64 KB
	 * of 'y' is not yes */
	answers(0, 1, a);
	t0 = now_s();
	assert_fast_denial(t0, login("rrtest", "alice", "10.1.2.3", true),
			   PAM_SUCCESS);
	assert_matches(F.msgs, "^\\[ask\\] Multifactor authentication is "
		       "required by Test Corp\\.[^\n]*\\[y/N\\] \n$");
	assert_false(mfa_of("alice").registered);
	/* grace over: the confirmation code prompt, three 64 KB answers */
	set_grace_start("alice", time(NULL) - 30 * 86400);
	answers(0, 3, d, d, d);
	t0 = now_s();
	assert_fast_denial(t0, login("rrtest", "alice", "10.1.2.3", true),
			   PAM_AUTH_ERR);
	assert_int_equal(F_next_answer, 3);
	assert_non_null(strstr(F.msgs, "otpauth://totp/"));
	assert_false(mfa_of("alice").registered);
	free(a);
	free(d);
}

static void test_big_answer_tap(void **state)
{
	uint8_t hash[RR_STORE_TAP_HASH_LEN];
	char *a = big_answer('T');
	rr_store *s;
	double t0;

	(void)state;
	/* alice is at medium user risk, not registered, and holds a pass:
	 * the pass is asked for */
	set_user_risk("alice", RR_LEVEL_MEDIUM, 0);
	assert_int_equal(rr_tap_hash("ABCD-EFGH-JKLM-NPQR", hash), 0);
	s = open_store();
	assert_int_equal(rr_store_tap_issue(s, "alice", hash,
					    time(NULL) + 3600, "tester",
					    time(NULL)), 0);
	rr_store_close(s);
	answers(0, 1, a);
	t0 = now_s();
	assert_fast_denial(t0, login("rrtest", "alice", "10.1.2.3", true),
			   PAM_AUTH_ERR);
	assert_int_equal(F_next_answer, 1);
	assert_matches(F.msgs, "^\\[secret\\] Enter the temporary access "
		       "pass from your IT help desk: \nSign-in blocked: ");
	assert_false(mfa_of("alice").registered);
	assert_true(mfa_of("alice").tap_pending);
	free(a);
}

/* ---- environment ------------------------------------------------------- */

/* The process environment is the caller's (a set-user-ID program's
 * user's, or what sshd let a client send with AcceptEnv): never read. */
static void test_process_env_ignored(void **state)
{
	rr_store_signin si;

	(void)state;
	alice_registered();
	/* alice's key becomes familiar, from the office */
	answers(0, 0);
	assert_int_equal(run_tty("alice", "10.1.2.3", "ssh", KEY_INFO).auth,
			 PAM_SUCCESS);
	assert_string_equal(last_signin("alice").device, KEY_FP);
	setenv("SSH_AUTH_INFO_0", KEY_INFO, 1);
	setenv("LANG", "xx_XX.UTF-8\n%n", 1);
	setenv("PAM_RHOST", "10.1.2.3", 1);
	setenv("TZ", "../../../../etc/shadow", 1);
	/* a new network, no key in the PAM environment: unfamiliar, MFA */
	answers(0, 3, "000000x", "1", "2");
	log_reset();
	assert_int_equal(run_tty("alice", "192.0.2.50", "ssh", NULL).auth,
			 PAM_AUTH_ERR);
	assert_matches(F.msgs, "^\\[secret\\] Unusual sign-in from 192\\.0\\.2\\.50: new "
		       "location for this account\\.");
	si = last_signin("alice");
	assert_true(si.device == NULL || si.device[0] == '\0');
	assert_log_clean(1);
	unsetenv("SSH_AUTH_INFO_0");
	unsetenv("LANG");
	unsetenv("PAM_RHOST");
	unsetenv("TZ");
}

/* SSH_AUTH_INFO_0 in the PAM environment is sshd's to set; one a module
 * above forged (pam_env) claiming the familiar key does not spare a
 * risky user MFA, and a hostile one is no device. */
static void test_forged_auth_info(void **state)
{
	char *huge;
	size_t i;
	static const char *const hostile[] = {
		"publickey ssh-ed25519 AAAA\n\x1b[2Jpublickey x",
		"publickey ssh-ed25519 %n%s%n%s",
		"publickey ssh-ed25519 $(reboot)",
		"publickey\nforged",
		"password\n" KEY_INFO "x",
	};

	(void)state;
	alice_registered();
	answers(0, 0);
	assert_int_equal(run_tty("alice", "10.1.2.3", "ssh", KEY_INFO).auth,
			 PAM_SUCCESS);
	/* a medium user risk: the familiar key changes nothing */
	set_user_risk("alice", RR_LEVEL_MEDIUM, 0);
	answers(0, 3, "000000x", "1", "2");
	assert_int_equal(run_tty("alice", "10.1.2.3", "ssh", KEY_INFO).auth,
			 PAM_AUTH_ERR);
	assert_matches(F.msgs, "^\\[secret\\] ");
	assert_int_equal(last_signin("alice").action, RR_ACTION_REQUIRE);
	/* hostile values: no device, no crash, one decision line */
	admin(RR_ADMIN_DISMISS, "alice");
	huge = malloc(BIG + 32);
	assert_non_null(huge);
	strcpy(huge, "publickey ssh-ed25519 ");
	memset(huge + strlen(huge), 'A', BIG);
	huge[BIG + 22] = '\0';
	for (i = 0; i <= sizeof(hostile) / sizeof(*hostile); i++) {
		rr_store_signin si;
		pam_result r;

		log_reset();
		answers(0, 3, "000000x", "1", "2");
		r = run_tty("alice", "192.0.2.51",  "ssh",
			    i < sizeof(hostile) / sizeof(*hostile) ?
			    hostile[i] : huge);
		/* a new network without a familiar key: MFA, a wrong code */
		assert_int_equal(r.auth, PAM_AUTH_ERR);
		si = last_signin("alice");
		/* never the familiar key (a blob that decodes is a
		 * device of its own, unfamiliar) */
		assert_string_not_equal(si.device, KEY_FP);
		assert_int_equal(si.action, RR_ACTION_REQUIRE);
		assert_non_null(strstr(F.msgs, "[secret] Unusual sign-in"));
		assert_log_clean(1);
	}
	free(huge);
}

/* ---- user enumeration -------------------------------------------------- */

/* The same transaction for carol (known) and a name that is no user; the
 * unknown one's messages, with reference ids masked (random), in
 * unknown_msgs; the times in t[2]. */
static void pair(const char *service, const char *rhost, pam_result *k,
		 pam_result *u, char *known_msgs, size_t len, double t[2])
{
	double t0;
	char *p;

	t0 = now_s();
	*k = login(service, "carol", rhost, true);
	t[0] = now_s() - t0;
	snprintf(known_msgs, len, "%s", F.msgs);
	t0 = now_s();
	*u = login(service, "nosuchuser", rhost, true);
	t[1] = now_s() - t0;
	for (p = known_msgs; (p = strstr(p, "reference ")); p += 10)
		if (strlen(p) > 19)
			memset(p + 10, 'X', 9);
	for (p = F.msgs; (p = strstr(p, "reference ")); p += 10)
		if (strlen(p) > 19)
			memset(p + 10, 'X', 9);
}

/*
 * Before the password is known to be right, where names are tried: in
 * authfail (the password was wrong) and in preauth (clean source, blocked
 * source) an unknown user is told and returned exactly what a known user
 * with no record is (reference ids masked); preauth logs both decisions
 * and stores no sign-in of the name that is no user.  The default mode is
 * reached only after the password (or a key) was accepted: there an
 * unknown user is PAM_USER_UNKNOWN.  Times are printed, not asserted.
 */
static void test_enumeration(void **state)
{
	static const struct {
		const char *service, *rhost, *what;
		int code;
	} cases[] = {
		{ "rrtest-fail", "192.0.2.9", "authfail", PAM_AUTH_ERR },
		{ "rrtest-fail", "203.0.113.66", "authfail, blocked source",
		  PAM_AUTH_ERR },
		{ "rrtest-preauth", "10.1.2.3", "preauth", PAM_SUCCESS },
		{ "rrtest-preauth", "203.0.113.66", "preauth, blocked source",
		  PAM_AUTH_ERR },
	};
	char known[sizeof(F.msgs)];
	pam_result k, u;
	double t[2];
	size_t i, rep;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		for (rep = 0; rep < 2; rep++) {
			log_reset();
			pair(cases[i].service, cases[i].rhost, &k, &u, known,
			     sizeof(known), t);
			assert_string_equal(F.msgs, known);
			assert_int_equal(k.auth, cases[i].code);
			assert_int_equal(u.auth, k.auth);
			assert_int_equal(u.account, k.account);
			assert_log_clean(cases[i].code == PAM_SUCCESS ||
					 !strcmp(cases[i].service,
						 "rrtest-fail") ? 0 : 2);
			printf("# %s: known %.2f ms, unknown %.2f ms\n",
			       cases[i].what, t[0] * 1e3, t[1] * 1e3);
		}
	}
	assert_matches(F.msgs, "^Sign-in blocked: [^\n]*reference "
		       "XXXXXXXXX\\.\n$");
	assert_logged("decision=block outcome=blocked user=\"nosuchuser\" ");
	assert_int_equal(count_signins("nosuchuser"), 0);
	assert_int_equal(count_signins("carol"), 2);
	pair("rrtest", "198.51.100.7", &k, &u, known, sizeof(known), t);
	assert_int_equal(u.auth, PAM_USER_UNKNOWN);
	printf("# default mode (after the password), risky sign-in: known "
	       "%d %.2f ms, unknown %d %.2f ms\n", k.auth, t[0] * 1e3,
	       u.auth, t[1] * 1e3);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bad_user_names_refused),
		T(test_odd_user_names_recorded),
		T(test_bad_rhosts_and_ttys_refused),
		T(test_odd_rhosts_recorded),
		T(test_riskctl_hostile_store),
		T(test_big_answer_mfa_code),
		T(test_big_answer_registration),
		T(test_big_answer_tap),
		T(test_process_env_ignored),
		T(test_forged_auth_info),
		T(test_enumeration),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
