/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The risk store: the only code that touches SQLite.  Returns 0 or a
 * negative errno; nothing above this layer sees SQLITE_* codes.  Does not log.
 *
 * Every change runs in one transaction (BEGIN IMMEDIATE), the database is in
 * WAL mode with a busy timeout, and SQL uses bound parameters only.
 */
#ifndef RR_STORE_H
#define RR_STORE_H

#include "rr_engine.h"

#include <stdint.h>

#define RR_STORE_DEFAULT_PATH "/var/lib/riskremediate/risk.db"
#define RR_STORE_SCHEMA_VERSION 10
#define RR_STORE_BUSY_TIMEOUT_MS 10000
#define RR_STORE_MAX_ROWS 100000 /* cap on rows returned by one query */

typedef struct rr_store rr_store;

/*
 * Open (creating when absent) the SQLite store at `path`.  The directory is
 * created 0700 and the file 0600, owned by root.  Refuses, with -ELOOP, a
 * store or directory that is a symlink, and with -EPERM one that is not
 * root-owned or is group/other-writable.  Migrates older schemas; refuses a
 * newer one with -EPROTO.
 */
int rr_store_open(const char *path, rr_store **out);
void rr_store_close(rr_store *s);
/* A private store in memory (riskctl's copy of a fleet's records:
 * rr_fleet_load), gone when closed. */
int rr_store_open_memory(rr_store **out);
/* For a process that keeps the connection open between calls (riskd):
 * checkpoint the WAL less often (see rr_store.c). */
void rr_store_keep_open(rr_store *s);
/* For a process that keeps a store open between calls (riskd).  After a
 * call: ends every cached statement (an idle connection must hold no read
 * snapshot, or the WAL could never be checkpointed); true when no
 * transaction is open (else close it).  Before reusing it: true when the
 * file at `path` is still the one open and still a private root file
 * (else close it and open again). */
bool rr_store_park(rr_store *s);
bool rr_store_still(const rr_store *s, const char *path);
/* A run of reads in one read transaction: they see one snapshot of the
 * store and take its locks once.  No write may be made until
 * rr_store_read_end (it fails with -EBUSY); every begun read must be
 * ended, on error paths too. */
int rr_store_read_begin(rr_store *s);
void rr_store_read_end(rr_store *s);
/* Retention in days (0 keeps the default: 30 for sign-ins, 90 detections). */
void rr_store_set_retention(rr_store *s, unsigned signin_days,
			    unsigned detection_days);
/* Message from the last failure, for the caller's log; never contains
 * secrets.  Valid until the next call on `s`. */
const char *rr_store_last_error(const rr_store *s);

/* ---- users ------------------------------------------------------------ */

typedef struct {
	char user[RR_USER_MAX + 1];
	rr_level level;
	rr_state state;
	rr_detail detail;
	int64_t updated;
	unsigned active_detections;
	bool must_change;   /* root reset the password: change at next login */
	int64_t must_change_since;
} rr_store_user;

/* A user with no row yields level none / state none, return 0. */
int rr_store_user_get(rr_store *s, const char *user, rr_store_user *out);

typedef struct {
	int level;  /* -1 any, else rr_level: only users at exactly that level */
	int state;  /* -1 any, else rr_state */
	bool risky_only; /* level > none (the default of `riskctl list`) */
} rr_store_user_filter;

int rr_store_users_list(rr_store *s, const rr_store_user_filter *f,
			rr_store_user **rows, size_t *n);

/* ---- sign-in history (for detections) --------------------------------- */

/* Fill h: successes, first success, whether `netkey` (may be NULL) is a
 * familiar network, failed attempts from that same source (netkey) in
 * [now - fail_window_s, now] since the last success. */
int rr_store_history(rr_store *s, const char *user, const char *netkey,
		     int64_t now, unsigned fail_window_s, rr_history *h);

/* Whether `device` (an SSH key fingerprint "SHA256:...") was used in a
 * successful sign-in of the user before (familiar_devices).  NULL or ""
 * yields false. */
int rr_store_device_seen(rr_store *s, const char *user, const char *device,
			 bool *seen);

/* passwordSpray: distinct names (users, and names that are no user) with
 * failed primary attempts from `rhost` in [now - window_s, now] (index on
 * failures(rhost, time)). */
int rr_store_spray_count(rr_store *s, const char *rhost, int64_t now,
			 unsigned window_s, uint64_t *users);

/* ---- sign-ins --------------------------------------------------------- */

#define RR_OUTCOME_MAX 32
#define RR_TEXT_MAX 1024

typedef struct {
	int64_t time;
	const char *user;
	const char *service;
	const char *rhost;     /* NULL or "" for local */
	const char *tty;
	const char *netkey;    /* familiar-network key, NULL if none */
	const char *device;    /* SSH key fingerprint, NULL if none */
	rr_action action;
	const char *outcome;   /* success | blocked | denied | failure | error */
	rr_level signin_risk;
	rr_level user_risk;
	const rr_detection *dets;
	size_t n_dets;
	const char *applied;     /* enforced policy names, '\n'-separated */
	const char *report_only; /* report-only policies that applied */
	const char *reason;      /* one line for the admin */
	/* MFA passed in this sign-in because a risk policy asked for it: the
	 * sign-in's detections are stored remediated with detail
	 * userPassedMFADrivenByRiskBasedPolicy instead of atRisk. */
	bool mfa_passed;
	const char *mfa;         /* "", "passed", "failed", "registered",
				    "skipped", "locked", ... for the record */
	/* NULL: a new sign-in.  Else the reference of this sign-in, recorded
	 * before its first prompt with outcome RR_OUTCOME_INTERRUPTED: its
	 * row and detections are rewritten with the end of the sign-in. */
	const char *ref;
} rr_signin_rec;

/* The outcome of a sign-in recorded when the user was first asked
 * something, until it ends: a sign-in that stays so was never finished
 * (the client hung up at a prompt, or the process was killed there). */
#define RR_OUTCOME_INTERRUPTED "interrupted"

/*
 * Record one evaluated sign-in and its detections in one transaction; when
 * outcome is "success" the source network and the device become familiar.
 * Writes a fresh reference id ("7F3A-91C2") to ref[RR_REF_LEN + 1], or,
 * with rec->ref set, rewrites that sign-in (of the same user, still
 * RR_OUTCOME_INTERRUPTED: else -ENOENT and nothing changed) and writes its
 * reference.  Prunes expired rows at most once an hour, in bounded batches.
 */
int rr_store_signin_record(rr_store *s, const rr_signin_rec *rec,
			   char ref[RR_REF_LEN + 1]);
/* A fresh random reference id ("7F3A-91C2") of the kind sign-ins get, for
 * what is not a sign-in of this store (a detection raised for a fleet). */
int rr_store_ref_new(char ref[RR_REF_LEN + 1]);
/* A failed primary authentication (auth `authfail`). */
typedef struct {
	/* the user; NULL when the name typed is no user: the failure then
	 * counts for its source only (passwordSpray), as a keyed hash of
	 * `name`, at most RRS_UNKNOWN_FAILURES_MAX per source per hour */
	const char *user;
	const char *name;    /* with user NULL: the name typed, never stored */
	const char *service;
	const char *rhost;   /* NULL or "" for local */
	const char *netkey;  /* the source (rr_assess_origin): bruteForce
				counts a user's failures per source */
	int64_t time;
} rr_store_failure;

int rr_store_failure_record(rr_store *s, const rr_store_failure *f);

typedef struct {
	char ref[RR_REF_LEN + 1];
	int64_t time;
	char user[RR_USER_MAX + 1];
	char service[RR_SERVICE_MAX + 1];
	char rhost[RR_RHOST_MAX + 1];
	char tty[RR_TTY_MAX + 1];
	rr_action action;
	char outcome[RR_OUTCOME_MAX];
	rr_level signin_risk;
	rr_level user_risk;
	char detections[RR_TEXT_MAX];  /* "type:level,type:level" */
	char applied[RR_TEXT_MAX];     /* '\n'-separated */
	char report_only[RR_TEXT_MAX];
	char reason[RR_TEXT_MAX];
	char mfa[RR_OUTCOME_MAX];
	char device[RR_DEVICE_MAX + 1];
} rr_store_signin;

typedef struct {
	const char *user; /* NULL: all */
	const char *ref;  /* NULL: all */
	size_t limit;     /* 0: RR_STORE_MAX_ROWS */
} rr_store_signin_filter;

/* Newest first. */
int rr_store_signins_list(rr_store *s, const rr_store_signin_filter *f,
			  rr_store_signin **rows, size_t *n);

/* ---- detections ------------------------------------------------------- */

typedef struct {
	int64_t id;
	char user[RR_USER_MAX + 1];
	rr_event type;
	rr_level level;
	rr_state state;
	rr_detail detail;
	bool user_scope;          /* user risk (true) or sign-in risk */
	char ref[RR_REF_LEN + 1]; /* sign-in reference, "" for user scope */
	char source[RR_RHOST_MAX + 1];
	int64_t detected;
	int64_t updated;
} rr_store_detection;

typedef struct {
	const char *user;  /* NULL: all */
	bool active_only;  /* state atRisk */
	size_t limit;
	/* riskctl detections filters; false / 0: any */
	bool by_type;
	rr_event type;
	bool by_level;
	rr_level level;     /* exactly this level */
	bool by_state;
	rr_state state;     /* with active_only: nothing unless atRisk */
	int64_t since;      /* detected at or after; 0: any */
} rr_store_detection_filter;

int rr_store_detections_list(rr_store *s, const rr_store_detection_filter *f,
			     rr_store_detection **rows, size_t *n);

/*
 * A cursor on detections (riskctl detections --format graph --since): at
 * most `limit` (1 to RR_STORE_MAX_ROWS) detections whose id is above
 * `after`, oldest (lowest id) first.  Ids only grow: a detection written
 * later has a higher id (pruning never takes the newest).  `after` past
 * the newest id (a cursor of another store) reads from the start.
 */
int rr_store_detections_after(rr_store *s, int64_t after, size_t limit,
			      rr_store_detection **rows, size_t *n);

/* ---- user-risk detections (schema v4) --------------------------------- */

/*
 * Add a user-scope detection (e.g. leakedCredentials) at `now` and raise the
 * user's risk to the highest level of their active detections (state
 * atRisk).  An active detection of the same type is refreshed, not
 * duplicated.  `source` may be NULL.
 */
int rr_store_user_detection_add(rr_store *s, const char *user, rr_event type,
				rr_level level, const char *source, int64_t now);

/*
 * Aggregation: when the user has at least agg->signins sign-ins in
 * [now - agg->window_s, now] whose sign-in risk is >= agg->min_level and
 * whose detections are still atRisk (not remediated, dismissed or
 * confirmed safe), raise user risk to the highest of those levels.
 * Called by the module after recording a risky sign-in.  *raised (may be
 * NULL) tells whether the user's risk changed.
 */
int rr_store_aggregate(rr_store *s, const char *user,
		       const rr_aggregation *agg, int64_t now, bool *raised);

/*
 * riskctl confirm-safe --ref: the sign-in's detections become
 * confirmedSafe / adminConfirmedSigninSafe, and the user's risk is
 * recomputed from what stays active.  -ENOENT for an unknown ref.  Audited.
 */
int rr_store_confirm_safe(rr_store *s, const char *ref, const char *actor,
			  int64_t now, char user_out[RR_USER_MAX + 1]);
/*
 * The same for a sign-in of `user` that this store may not hold: a
 * fleet's tenant copy (riskctl), whose user risk is recomputed and whose
 * record carries the reference (rr_fleet_risk.safe) to the host that
 * logged the sign-in; that host marks its detections when the record
 * arrives.  -ENOENT when this store holds the sign-in as another user's.
 */
int rr_store_confirm_safe_of(rr_store *s, const char *ref, const char *user,
			     const char *actor, int64_t now);

/* ---- password changes (schema v5) ------------------------------------ */

/*
 * A completed password change that remediates user risk, in one
 * transaction: every active detection of the user becomes remediated with
 * `detail`, the aggregation is forgotten, a user who was at risk gets
 * level none / remediated / detail, and an audit row is written (actor:
 * `actor`, or the user for a self-service change).
 *   RR_DETAIL_USER_SECURED_PASSWORD: the secure password change (MFA, then
 *     the new password); also clears a pending must-change flag.
 *   RR_DETAIL_ADMIN_TEMP_PASSWORD: root reset the password; the user must
 *     change it at the next login (must-change flag set).
 * `ref` (may be NULL): the sign-in, by reference id, in which the user made
 * the secure password change; its outcome "password_change_required"
 * becomes "success" in the same transaction (a change abandoned midway
 * leaves it as it was).  -ENOENT, and nothing changed, when no sign-in of
 * `user` with that reference awaits a password change.
 * `closed` (may be NULL) receives the number of detections remediated.
 */
int rr_store_remediate_user(rr_store *s, const char *user, rr_detail detail,
			    const char *actor, const char *ref, int64_t now,
			    unsigned *closed);

/* The user changed the temporary password root set: clear the must-change
 * flag (audited).  0 also when none was set. */
int rr_store_must_change_clear(rr_store *s, const char *user, int64_t now);

/*
 * The device of a successful sign-in that had none when it was recorded:
 * sshd tells a public-key-only login's key (SSH_AUTH_INFO_0) only after
 * the account stack, at session open.  In one transaction the sign-in
 * `ref` of `user` gets `device` and the device becomes familiar to the
 * user.  -ENOENT, and nothing changed, when no successful sign-in of
 * `user` with that reference lacks a device.
 */
int rr_store_signin_device_set(rr_store *s, const char *user,
			       const char *ref, const char *device,
			       int64_t now);

/* The outcome of a sign-in that goes on only to change the password. */
#define RR_OUTCOME_PWCHANGE "password_change_required"

/* ---- admin actions (each writes the audit table in the same transaction)
 */

typedef enum {
	RR_ADMIN_DISMISS = 0,          /* dismissed / adminDismissedAllRiskForUser */
	RR_ADMIN_UNBLOCK,              /* same effect as dismiss, audited as unblock */
	RR_ADMIN_CONFIRM_COMPROMISED   /* high, confirmedCompromised */
} rr_admin_action;

const char *rr_admin_action_name(rr_admin_action a);

/* `changed` (may be NULL) receives the number of detections closed or
 * created. */
int rr_store_admin(rr_store *s, rr_admin_action a, const char *user,
		   const char *actor, int64_t now, unsigned *changed);

typedef struct {
	int64_t id;
	int64_t time;
	char actor[RR_USER_MAX + 1];
	char action[32];
	char target[RR_USER_MAX + 1];
	char detail[256];
} rr_store_audit;

int rr_store_audit_list(rr_store *s, size_t limit, rr_store_audit **rows,
			size_t *n);

/* ---- MFA (schema v3) ---------------------------------------------------
 * One TOTP authenticator per user, its secret sealed by the caller (the
 * store never sees it in clear); the grace clock of the registration
 * interrupt; wrong-code failures for the rate limit; temporary access
 * passes (hashed, single use).
 */

#define RR_STORE_SEALED_MAX 256
#define RR_STORE_TAP_HASH_LEN 32

typedef struct {
	bool registered;
	uint8_t sealed[RR_STORE_SEALED_MAX];
	size_t sealed_len;
	unsigned alg;            /* rr_totp_alg value at registration */
	unsigned digits;
	unsigned period;
	int64_t registered_at;
	int64_t last_step;       /* newest TOTP step accepted (replay guard) */
	int64_t grace_start;     /* first registration interrupt, 0 = never */
	unsigned recent_failures;/* wrong codes in [now - window, now] */
	bool tap_pending;        /* an unused, unexpired pass exists */
	int64_t tap_expires;
} rr_store_mfa;

/* Read the user's MFA record; a user with none yields zeros, return 0.
 * recent_failures counts failures in [now - fail_window_s, now]. */
int rr_store_mfa_get(rr_store *s, const char *user, int64_t now,
		     unsigned fail_window_s, rr_store_mfa *out);

/* The first interrupt starts the grace clock: stores `now` unless a start
 * is already stored; writes the stored start to *start. */
int rr_store_mfa_grace_begin(rr_store *s, const char *user, int64_t now,
			     int64_t *start);

/* Register (or, after a reset, re-register) the user's authenticator with
 * `step` (the code that confirmed it) as the newest used step.  Clears
 * failures.  -EEXIST when one is registered already. */
int rr_store_mfa_register(rr_store *s, const char *user,
			  const uint8_t *sealed, size_t sealed_len,
			  unsigned alg, unsigned digits, unsigned period,
			  int64_t step, int64_t now);

/*
 * One typed code, checked against the rate limit and the replay guard in
 * one write transaction, so that parallel sign-ins (and, on a fleet,
 * parallel hosts) can neither exceed the limit nor accept a code twice:
 *   1. the failures in [now - window_s, now] are counted; at max_failures
 *      or more the attempt is refused with -ENOLCK (locked) and `check` is
 *      not called, even for a right code;
 *   2. check(ctx, last_step, &step) verifies the code (the store never sees
 *      the secret): 0 with the matched step, -EACCES wrong, -EALREADY a
 *      step at or before last_step (replay);
 *   3. accepted: the step becomes the newest used step; wrong or replayed:
 *      the failure is recorded.
 * Returns 0 accepted, -EACCES / -EALREADY (counted), -ENOLCK, -ENOENT
 * without an authenticator, or another negative errno (nothing changed).
 * *failures (may be NULL) receives the failures in the window after the
 * attempt, on every return that is not an error.
 */
typedef struct {
	unsigned window_s;
	unsigned max_failures;  /* >= 1 */
	int (*check)(void *ctx, int64_t last_step, int64_t *step);
	void *ctx;
} rr_store_attempt;

int rr_store_mfa_attempt(rr_store *s, const char *user, int64_t now,
			 const rr_store_attempt *a, unsigned *failures);

/* riskctl mfa reset: remove the authenticator, failures and passes (the
 * user registers again at next sign-in).  Audited. */
int rr_store_mfa_reset(rr_store *s, const char *user, const char *actor,
		       int64_t now);
/* riskctl mfa grace-reset: forget the grace start (the next interrupt
 * starts a new grace period).  Audited. */
int rr_store_mfa_grace_reset(rr_store *s, const char *user,
			     const char *actor, int64_t now);

/* riskctl tap issue: store the hash of a new pass valid until `expires`;
 * earlier unused passes of the user are revoked.  Audited (never the
 * pass itself). */
int rr_store_tap_issue(rr_store *s, const char *user,
		       const uint8_t hash[RR_STORE_TAP_HASH_LEN],
		       int64_t expires, const char *actor, int64_t now);
/* Consume a pass: 0 when `hash` matches an unused, unexpired pass of the
 * user (it is marked used in the same transaction); -EACCES otherwise. */
int rr_store_tap_consume(rr_store *s, const char *user,
			 const uint8_t hash[RR_STORE_TAP_HASH_LEN],
			 int64_t now);

/* ---- counts (riskctl metrics) -----------------------------------------
 * Each a single statement over a whole table, grouped by the values that
 * become metric labels, the largest counts first, at most `limit` rows
 * (0: RR_STORE_MAX_ROWS).  Run them between rr_store_read_begin and _end
 * for one snapshot.  *rows is malloc'd (free()); written only on success.
 */

typedef struct {
	char service[RR_SERVICE_MAX + 1];
	rr_action action;               /* the decision */
	char outcome[RR_OUTCOME_MAX];
	uint64_t count;                 /* in the sign-in log (retention) */
	uint64_t recent;                /* of those, recorded at or after
					   `since` */
} rr_store_signin_count;

/* The sign-ins in the log (the last signin_days days: older ones are
 * pruned) by service, decision and outcome. */
int rr_store_signin_counts(rr_store *s, int64_t since, size_t limit,
			   rr_store_signin_count **rows, size_t *n);

typedef struct {
	rr_event type;
	rr_level level;
	rr_state state;
	uint64_t count;
} rr_store_detection_count;

/* The detections kept (the last detection_days days, and every active
 * user-scope one) by type, level and state. */
int rr_store_detection_counts(rr_store *s, size_t limit,
			      rr_store_detection_count **rows, size_t *n);

typedef struct {
	rr_level level;
	rr_state state;
	uint64_t count;
} rr_store_user_count;

/* The users with a risk record by level and state (a user never at risk
 * has none). */
int rr_store_user_counts(rr_store *s, size_t limit,
			 rr_store_user_count **rows, size_t *n);

typedef struct {
	uint64_t registered;    /* users with an authenticator */
	uint64_t in_grace;      /* not registered, grace period running */
	uint64_t grace_over;    /* not registered, grace period over */
	uint64_t tap_pending;   /* users with a usable temporary access pass */
} rr_store_mfa_counts;

/* MFA registrations at `now` with a grace period of grace_s seconds (an
 * unregistered user whose first interrupt is older is past it). */
int rr_store_mfa_count(rr_store *s, int64_t now, unsigned grace_s,
		       rr_store_mfa_counts *out);

#endif
