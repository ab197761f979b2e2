/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The module's side of its PAM application, shared by the module's logic
 * (module.h), the PAM entry points (entry.c) and riskd: the host
 * interface, the PAM data names, the call types.  libc and PAM headers
 * only: the entry points link neither the policy nor the store.
 */
#ifndef RR_HOST_H
#define RR_HOST_H

#include <security/pam_modules.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DATA_AUTH_OK "pam_riskremediate_auth_ok"
/* set by auth and account: this handle is a login, not a plain passwd */
#define DATA_FLOW "pam_riskremediate_flow"
/* a password change this login must complete (password.c) */
#define DATA_PWCHANGE "pam_riskremediate_pwchange"
/* a successful sign-in recorded without a device: its reference, for the
 * session part (session.c) */
#define DATA_DEVICE_REF "pam_riskremediate_device_ref"

/* every PAM data name of the module, in this order (calls.c) */
#define RR_N_DATA 4
extern const char *const rr_data_names[RR_N_DATA];
/* the index of name in rr_data_names, -1 when it is not one */
int rr_data_index(const char *name);

typedef enum { TYPE_AUTH = 0, TYPE_ACCOUNT, TYPE_PASSWORD, TYPE_SESSION } rr_type;
typedef enum { MODE_DEFAULT = 0, MODE_PREAUTH, MODE_AUTHFAIL } rr_mode;

/* ---- shared by the entry points and the logic (calls.c) ----------------- */

/* The PAM code of an error (fail closed), per call type: what the logic
 * returns when it cannot decide, and the entry points when they cannot
 * reach it. */
int rr_error_code(rr_type type);

/* Zero a NUL-terminated secret (an answer, a PAM data value) and free it;
 * NULL is fine. */
void rr_answer_free(char *answer);

typedef struct {
	const char *policy_path; /* NULL: the default */
	const char *riskd;       /* riskd=PATH; NULL: the default socket;
				  * "off": never */
	bool debug;
	rr_mode mode;
} rr_args;

/* -1 when every argument is known and in its place (riskd= an absolute
 * socket path or "off"), else the index of the first that is not. */
int rr_args_parse(rr_type type, int argc, const char **argv, rr_args *out);

/*
 * Calls whose answer needs neither the policy nor the store: account in a
 * handle whose auth part allowed the sign-in with no password change
 * pending, session open with no sign-in waiting for its device (session.c),
 * the preliminary check of a password change.  The entry points answer
 * them without riskd or the core library; the logic answers them the same
 * way.  The values are those of this handle's PAM data (NULL: unset).
 * True with *rc, the PAM code.
 */
bool rr_settled(rr_type type, int flags, const char *auth_ok,
		const char *pwchange, const char *device_ref, int *rc);

/*
 * What the module's logic needs from the PAM application.  Two hosts:
 * host_pam.c (in the application's process, through libpam) and riskd's
 * (tools/riskd: each call answered over a socket by the module in the
 * application).
 * PAM data values are NUL-terminated strings, so that both hosts read
 * what either wrote.
 */
typedef struct rr_host rr_host;
typedef struct {
	/* pam_get_user: may prompt; *user valid until the call ends */
	int (*get_user)(rr_host *h, const char **user);
	/* pam_get_item for a string item; *out NULL when unset */
	int (*get_item)(rr_host *h, int item, const char **out);
	const char *(*get_env)(rr_host *h, const char *name);
	/* one conversation message; *answer malloc'd (NULL for messages) */
	int (*conv)(rr_host *h, int style, const char *text, char **answer);
	/* value NULL removes */
	int (*set_data)(rr_host *h, const char *name, const char *value);
	const char *(*get_data)(rr_host *h, const char *name);
	void (*log)(rr_host *h, int priority, const char *text);
	uid_t (*uid)(rr_host *h);    /* the application's real uid */
	int64_t (*now)(rr_host *h);  /* the application's clock */
} rr_host_ops;

struct rr_host {
	const rr_host_ops *ops;
	/*
	 * True only in riskd: root, started by systemd with a clean
	 * environment.  False in the application's process, whose
	 * environment is its caller's (a set-user-ID su, chfn or passwd runs
	 * with the unprivileged caller's SSLKEYLOGFILE, https_proxy, ...):
	 * there the logic opens no network connection (the range API of
	 * leakedCredentials is skipped) and acts on no environment variable.
	 * Each host sets it; a host that does not is not allowed the network.
	 */
	bool network_allowed;
};

/* The module's logic (module.h): loaded by the entry points from the core
 * library (pam_riskremediate_core.so) or linked into riskd. */
typedef struct rr_loader rr_loader;
typedef int (*rr_module_call_fn)(rr_host *h, rr_loader *l, rr_type type,
				 int flags, int argc, const char **argv);

/* The PAM host (host_pam.c): h must stay valid for the call. */
typedef struct {
	rr_host host;
	pam_handle_t *pamh;
} rr_pam_host;
void rr_pam_host_init(rr_pam_host *h, pam_handle_t *pamh);

#endif
