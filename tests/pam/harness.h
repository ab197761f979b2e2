/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The harness the PAM tests share: the built pam_riskremediate.so through
 * the real libpam (pam_start_confdir with a private service directory per
 * test), users from nss_wrapper, syslog lines captured by interposing
 * __syslog_chk, a scripted conversation, and the store read back through
 * its API.  The helpers assert with cmocka, except pam_run() and
 * fixture_pam_start(), which return libpam's code (forked children call
 * them).
 */
#ifndef RR_TEST_PAM_HARNESS_H
#define RR_TEST_PAM_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <security/pam_appl.h>

#include "rr_store.h"

/* ---- syslog capture ---------------------------------------------------- */

/* Every line logged since log_reset(), each as "<PRI>text\n". */
extern char g_log[65536];
void log_reset(void);

/* ---- fixture ----------------------------------------------------------- */

typedef struct {
	char dir[64];          /* the test's private directory */
	char confdir[96];      /* dir/pam.d */
	char policy[96];       /* dir/policy.yaml */
	char store[96];        /* dir/store/risk.db */
	char msgs[32768];      /* what the last transaction showed the user */
	const char *auth_info; /* SSH_AUTH_INFO_0 for the next login, or NULL */
	/* SSH_AUTH_INFO_0 set only before pam_open_session (RUN_SESSION), as
	 * sshd does for a public-key-only login; NULL: none */
	const char *session_auth_info;
} fixture;

extern fixture F;

/* Creates /tmp/PREFIX-XXXXXX with an empty pam.d holding the fallback
 * "other" service (deny everything), fills in F's paths, and clears the
 * log and the scripted answers.  Services and the policy are the test
 * file's. */
void fixture_setup(const char *prefix);
/* cmocka teardown: removes F.dir and everything in it. */
int fixture_teardown(void **state);

/* cmocka group setup and teardown: the users and groups of nss_wrapper
 * (LD_PRELOAD set by meson): root, alice, bob, carol; carol is in the
 * group breakglass.  The setup fails when not run as root (the store is
 * root-only). */
int nss_setup(void **state);
int nss_teardown(void **state);

void write_file(const char *path, const char *text, mode_t mode);

/* Date `path` a minute back: a whole policy, not one being written. */
void policy_settled(const char *path);
/* The policy file (mode 0600) from a printf format. */
void write_policy_fmt(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* The same after the head most tests share: version 1, issuer Test Corp,
 * the fixture's store (F.store) and MFA key file (F.dir/mfa.key). */
void write_fixture_policy(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* A service file with exactly `text` (other modules than ours on some
 * lines). */
void write_raw_service(const char *name, const char *text);
/*
 * The module as service lines name it, with its riskd= argument:
 * "PATH riskd=off" (the logic in this process).  With RR_TEST_RISKD set
 * to the riskd binary (suite pam-riskd): a riskd this program starts, and
 * a copy of the module with no core library next to it, so that a call
 * that did not go through riskd fails; riskd must exit 0 at the end
 * (with RR_TEST_RISKD_VALGRIND set it runs under valgrind).
 */
const char *module_spec(void);
/* A new file `to` (0755) with the bytes of `from`. */
void copy_file(const char *from, const char *to);

/* A service file of our module only: lines[2i] is "TYPE CONTROL",
 * lines[2i+1] the arguments; each line gets policy=F.policy. */
void write_service(const char *name, const char *const *lines, size_t n);

#define SERVICE(name, ...)                                                   \
	do {                                                                 \
		static const char *const l_[] = { __VA_ARGS__ };             \
		write_service(name, l_, sizeof(l_) / sizeof(l_[0]) / 2);     \
	} while (0)

/* ---- driving libpam ---------------------------------------------------- */

/*
 * Scripted answers to the prompts of the next transactions, in order; a
 * prompt beyond them fails the conversation.  "@code" is the TOTP code
 * for now (step offset `offset`) of the secret the module showed in its
 * otpauth:// URI, or, when none was shown in this conversation, of
 * alice's secret in the store (unsealed with the key file): codes are
 * computed at test time.  "@same" repeats the last "@code".
 * F.msgs gets every message, prompts as "[ask] " (echo on) or
 * "[secret] " (echo off) and the prompt.
 */
void answers(int offset, size_t n, ...);
/* How many of the scripted answers were used. */
extern size_t F_next_answer;

typedef struct {
	int auth;      /* pam_authenticate, -1 if not run */
	int account;   /* pam_acct_mgmt, -1 if not run */
	int chauthtok; /* pam_chauthtok, -1 if not run */
	int session;   /* pam_open_session, -1 if not run */
} pam_result;

/* What pam_run() runs after pam_start. */
enum {
	RUN_AUTH = 1 << 0,    /* pam_authenticate */
	RUN_ACCOUNT = 1 << 1, /* then pam_acct_mgmt, unless auth failed */
	RUN_CHANGE = 1 << 2,  /* then pam_chauthtok if account asks */
	RUN_SESSION = 1 << 3, /* then pam_open_session and pam_close_session
			       * if account passed */
};

/* pam_start_confdir on F.confdir with the scripted conversation; clears
 * F.msgs. */
int fixture_pam_start(const char *service, const char *user,
		      pam_handle_t **pamh);

/*
 * One transaction of `service` for `user` from `rhost` (NULL: not set),
 * PAM_TTY "ssh", F.auth_info as SSH_AUTH_INFO_0 if set.  Makes no cmocka
 * calls (forked children run it): returns PAM_SUCCESS, or the failure of
 * the libpam call that set the transaction up.
 */
int pam_run(const char *service, const char *user, const char *rhost,
	    unsigned steps, pam_result *res);

/* Auth (unless !with_auth), then account if auth passed, then chauthtok
 * when `change` and account asked for a new password. */
pam_result login_pw(const char *service, const char *user, const char *rhost,
		    bool with_auth, bool change);
/* Auth (unless !with_auth), then account if auth passed. */
pam_result login(const char *service, const char *user, const char *rhost,
		 bool with_auth);

/*
 * login() as a set-user-ID program (su) started by `ruid` runs it: a
 * child with real uid `ruid` and effective uid root runs auth, then
 * account if auth passed; its messages land in F.msgs and its log lines
 * are appended to g_log.  rhost NULL: not set (su sets none).
 */
pam_result login_as(uid_t ruid, const char *service, const char *user,
		    const char *rhost);

/*
 * Gates for forked children: a scripted answer "@gN:ANSWER" (N in
 * 1..RR_TEST_GATES) counts an arrival, waits (at most 120 s) until the
 * parent opens gate N, then answers ANSWER ("@code" works).  "@die" kills
 * the process at the prompt (SIGKILL), as sshd kills its PAM process when
 * the client hung up.
 */
#define RR_TEST_GATES 4
void gates_reset(void);
void gate_open(int n);
int gate_arrivals(void);

/* ---- the store --------------------------------------------------------- */

rr_store *open_store(void);
void admin(rr_admin_action a, const char *user);
/* The newest sign-in of `user`. */
rr_store_signin last_signin(const char *user);
size_t count_signins(const char *user);
rr_store_user user_of(const char *user);
rr_store_mfa mfa_of(const char *user);
/* A leakedCredentials detection of `level` on `user`, `age` seconds old. */
void set_user_risk(const char *user, rr_level level, int64_t age);
/* Restarts `user`'s MFA registration grace period at `start`. */
void set_grace_start(const char *user, int64_t start);
/* Registers alice through the forced registration (grace over) on
 * `service`, answering with the code of step offset `offset`. */
void register_alice(const char *service, int offset);

/* Something listens on the Unix socket `sock` (/proc/net/unix: a
 * connection to find out would occupy one of riskd's workers). */
bool socket_listening(const char *sock);

/* ---- assertions -------------------------------------------------------- */

/* `text` matches the extended regex `pattern` (^ and $ at its ends). */
void assert_matches(const char *text, const char *pattern);
/* Some line of `text` matches (REG_NEWLINE: ^ and $ at each line's ends,
 * . never a newline). */
void assert_matches_line(const char *text, const char *pattern);
/* The captured log matches `pattern`. */
void assert_logged(const char *pattern);

#endif
