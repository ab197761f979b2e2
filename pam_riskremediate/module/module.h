/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the PAM module: the per-call context shared by the entry
 * points (pam_riskremediate.c) and the MFA controls (mfa_flow.c).  Nothing
 * outside pam_riskremediate/module includes this.
 */
#ifndef RR_MODULE_H
#define RR_MODULE_H

#include "host.h"
#include "rr_assess.h"
#include "rr_policy.h"
#include "rr_store.h"

#define MSG_MAX 512


/* What the entry point ends with; to_pam() maps it per PAM type. */
typedef enum {
	END_ALLOW = 0,    /* decision allows the sign-in */
	END_DENY,         /* decision or control denies it */
	END_FAILURE,      /* authfail: the primary attempt failed */
	END_ERROR,        /* anything that went wrong: fail closed */
	END_ERROR_ALLOWED,/* ... unless the admin wrote on_error: allow */
	END_NOMEM,
	END_USER_UNKNOWN,
	END_PWCHANGE      /* allowed; a password change is pending */
} rr_end;

/* Why the login must change the password (DATA_PWCHANGE). */
typedef enum {
	PWCHANGE_RISK = 0, /* secure password change: MFA passed, user risk */
	PWCHANGE_ADMIN     /* root reset it: change the temporary password */
} rr_pwchange_kind;

/*
 * Where a call gets its policy and store.  NULL in rr_module_call: read
 * the policy and open the store afresh, closed at the call's end (the PAM
 * module in the application); riskd passes its cache.
 */
struct rr_loader {
	int (*policy_get)(rr_loader *l, const char *path, rr_policy **out,
			  rr_policy_errors *errs);
	void (*policy_put)(rr_loader *l, rr_policy *p);
	/* The store of policy p at path; with a fleet policy (store.backend
	 * etcd) riskd's replica, linked to the fleet; in the application's
	 * process -ENOTSUP (riskd is required, DESIGN 7.1). */
	int (*store_get)(rr_loader *l, const rr_policy *p, const char *path,
			 rr_store **out);
	void (*store_put)(rr_loader *l, rr_store *s);
};

/*
 * A module call on host h: parse the arguments, run the part for `type`,
 * map the end to the PAM code of that type.  setcred and close_session
 * have nothing to do and never get here.
 */
int rr_module_call(rr_host *h, rr_loader *l, rr_type type, int flags,
		   int argc, const char **argv);

typedef struct {
	rr_host *host;
	rr_loader *loader;
	rr_type type;
	rr_mode mode;
	const char *policy_path;
	const char *user; /* PAM_USER once read; owned by libpam */
	bool debug;
	bool silent;
	rr_policy *policy;
	rr_store *store;
	rr_assessment a;
	bool assessed;
	char ref[RR_REF_LEN + 1];
	bool interrupted; /* ref is on record as interrupted (first prompt) */
	int64_t now;
	/* set by the controls */
	const char *mfa_note;   /* the sign-in record's mfa column */
	bool mfa_passed;        /* MFA passed in this sign-in */
	bool denied_blocked;    /* a denial is a block (outcome "blocked") */
	char deny_msg[MSG_MAX]; /* what the user is told, before the ref */
	char device[RR_DEVICE_MAX + 1]; /* SSH key fingerprint, "" none */
} rr_ctx;

/* A log line through the host (pam_syslog in the application). */
void rr_log(rr_ctx *c, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* PAM data of this handle: string values (see rr_host_ops) */
int rr_data_set(rr_ctx *c, const char *name, const char *value);
const char *rr_data_get(rr_ctx *c, const char *name);

/* A message to the user (nothing under PAM_SILENT). */
void rr_say(rr_ctx *c, int style, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Ask; *answer is malloc'd (zero and free with rr_answer_free, host.h). */
int rr_ask(rr_ctx *c, bool echo, const char *prompt, char **answer);
/* A detection in the user's words: "new location for this account". */
const char *rr_event_words(rr_event e);
/* "this sign-in is at medium risk (new location for this account)" or
 * "your account is at high risk". */
void rr_risk_words(const rr_ctx *c, bool user_side, char *buf, size_t len);

/*
 * MFA controls for an assessed sign-in that is not blocked: the
 * registration interrupt, then MFA when a policy requires it.  Returns 0
 * when the sign-in may go on, 1 when it is denied (c->deny_msg says why),
 * or a negative errno.
 */
int rr_mfa_controls(rr_ctx *c);

/*
 * leakedCredentials (leak_check.c), after a sign-in the decision allowed:
 * check PAM_AUTHTOK against the breach corpus and, when it is there, raise
 * the user's stored risk (it applies from the next sign-in).  Never fails
 * the sign-in: errors are logged at LOG_WARNING.
 */
void rr_leak_after_signin(rr_ctx *c);

/* ---- password changes (password.c) ---------------------------------- */

/* Load the policy and open its store (logs what failed). */
int rr_open(rr_ctx *c);
/* Mark the handle as a login (auth or account ran). */
void rr_flow_mark(rr_ctx *c);
/* The login must change the password before it completes. */
int rr_pwchange_set(rr_ctx *c, rr_pwchange_kind kind);
/* The sign-in was recorded as c->ref: the completed change marks it a
 * success (rr_store_remediate_user).  0 or a negative errno. */
int rr_pwchange_ref(rr_ctx *c);
/* Account: tell the user why the password must change now; true when a
 * change is pending in this handle. */
bool rr_pwchange_pending_tell(rr_ctx *c);
/* 1 when the user has no password to change (shadow hash "", "!", "*",
 * "!*"), 0 when they have one, negative errno when unknown (no shadow
 * entry or not readable: never blocks). */
int rr_passwordless(const char *user);
/* ---- the session part (session.c) --------------------------------------- */

/* c->device := the fingerprint of the key in SSH_AUTH_INFO_0, or "". */
void rr_gather_device(rr_ctx *c);

/* A successful sign-in was recorded as c->ref with no device: remember the
 * reference for the session part (sshd exposes a key-only login's key only
 * at session open).  Nothing when a device was recorded. */
void rr_device_pending_set(rr_ctx *c);
/* pam_sm_open_session's work after the arguments were parsed: 0 when
 * nothing was to be done or the device was recorded, negative errno. */
int rr_open_session(rr_ctx *c);

/* pam_sm_chauthtok's work after the arguments were parsed. */
int rr_chauthtok(rr_ctx *c, int flags);

#endif
