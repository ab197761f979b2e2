/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Assessment: gather the facts of one sign-in (groups, address), run the
 * real-time detections against the store and the admin's IP lists, and ask
 * the engine for a decision.  Shared by the PAM module and `riskctl whatif`.
 * Does not log and does not record; the caller does.
 */
#ifndef RR_ASSESS_H
#define RR_ASSESS_H

#include "rr_engine.h"
#include "rr_policy.h"
#include "rr_store.h"

#include <sys/types.h>

#define RR_GROUPS_MAX 256

typedef struct {
	const char *user;
	const char *service;
	const char *rhost; /* NULL/"" = local */
	const char *tty;
	const char *device; /* SSH key fingerprint "SHA256:...", NULL/"" none */
	/* the application's real uid: who started the sign-in.  The kernel
	 * vouches for it (a set-user-ID program keeps the caller's), unlike
	 * PAM_RUSER or anything in the environment.  Unknown: untrusted. */
	bool ruid_known;
	uid_t ruid;
	/* a name that is no user is assessed as a user with no groups and
	 * no known uid (rr_assessment.unknown_user) instead of -ESRCH: for
	 * the checks before the password (preauth), which must treat a
	 * name that is no user as one that is (no user enumeration) */
	bool unknown_user_ok;
} rr_signin_input;

/* Which part of an assessment failed (rr_assessment.failed). */
typedef enum {
	RR_ASSESS_OK = 0,
	RR_ASSESS_FAIL_INPUT,  /* the sign-in's own data (-EINVAL) */
	RR_ASSESS_FAIL_USER,   /* the user or their groups (NSS) */
	RR_ASSESS_FAIL_STORE,  /* reading the risk store */
	RR_ASSESS_FAIL_CHECK,  /* a detection's files (IP lists) */
	RR_ASSESS_FAIL_DECIDE  /* the engine, memory */
} rr_assess_fail;

typedef struct {
	rr_facts facts;
	char user[RR_USER_MAX + 1];
	char service[RR_SERVICE_MAX + 1];
	char rhost[RR_RHOST_MAX + 1];
	char tty[RR_TTY_MAX + 1];
	char netkey[RR_NETKEY_MAX]; /* the source: rr_assess_origin */
	char device[RR_DEVICE_MAX + 1]; /* "" when unknown */
	char *group_names[RR_GROUPS_MAX];
	size_t n_groups;
	rr_store_user stored;
	rr_user_risk user_risk;
	rr_history history;
	rr_detection dets[RR_EVENT__COUNT];
	size_t n_dets;
	/* an IP list answered from its text because its compiled index is
	 * missing, stale or damaged (RR_IPLIST_IDX_* in list_index_flags):
	 * correct but O(n); `riskctl feeds update` or `lists compile` fixes */
	const char *unindexed_list;
	unsigned list_index_flags;
	rr_policy_result *results; /* n = policy->n_policies */
	rr_decision decision;
	rr_assess_fail failed; /* after a failed rr_assess: what failed */
	/* and with RR_ASSESS_FAIL_CHECK, the list file that failed (the
	 * policy's string), NULL otherwise */
	const char *failed_list;
	bool unknown_user; /* no such user (only with unknown_user_ok) */
} rr_assessment;

/*
 * Validate the input (lengths, characters: -EINVAL), look up the user's
 * groups (-ESRCH for an unknown user, unless in->unknown_user_ok), read
 * the store, run detections and
 * decide.  On error `a` is left cleared but for a->failed, which says
 * which part failed, and a->failed_list.  `now` is unix seconds.
 */
int rr_assess(const rr_policy *p, rr_store *s, const rr_signin_input *in,
	      int64_t now, rr_assessment *a);
void rr_assessment_clear(rr_assessment *a);

/*
 * Where the sign-in comes from, and its source key (the familiar-network
 * key that detections and failure counts use), out[RR_NETKEY_MAX]:
 *   rhost given: RR_ORIGIN_REMOTE, the /24 or /64 of the address, or
 *     "host:NAME" for a host name;
 *   no rhost, started by root or by the user (real uid == target_uid):
 *     RR_ORIGIN_LOCAL, "local";
 *   no rhost, started by anyone else, or by an unknown uid:
 *     RR_ORIGIN_OTHER_USER, "uid:N" ("uid:?" when unknown).
 * target_uid: the user's uid, (uid_t)-1 when the user is unknown.
 */
rr_origin rr_assess_origin(const rr_signin_input *in, uid_t target_uid,
			   char *out, size_t len);

/* Fill a store record from an assessment (pointers into `a`). */
void rr_assess_to_record(const rr_policy *p, const rr_assessment *a,
			 const char *outcome, int64_t now, char *applied,
			 size_t applied_len, char *report_only,
			 size_t report_only_len, rr_signin_rec *rec);

/* "unfamiliarFeatures:medium,maliciousIPAddress:high" or "-". */
void rr_assess_detections_text(const rr_detection *d, size_t n, char *buf,
			       size_t len);
/* Names of policies that applied, `sep`-separated; enforced or report-only. */
void rr_assess_policy_names(const rr_policy *p, const rr_decision *d,
			    bool report_only, const char *sep, char *buf,
			    size_t len);
/* Why a policy applied or not, for an admin: "user risk none not in
 * [high]", "service su not included", ... */
void rr_assess_explain(const rr_policy *p, const rr_assessment *a, size_t i,
		       char *buf, size_t len);

/*
 * The device of an sshd sign-in: the fingerprint ("SHA256:...", as
 * `ssh-keygen -l` prints it) of the key in the first "publickey TYPE
 * BASE64" line of `info` (sshd's SSH_AUTH_INFO_0 with ExposeAuthInfo).
 * out must hold RR_DEVICE_MAX + 1 bytes.  -ENOENT when no key was used,
 * -EINVAL for a malformed key.
 */
int rr_device_from_auth_info(const char *info, char *out, size_t len);

/* True when a user name is acceptable: 1..RR_USER_MAX bytes, printable
 * (bytes above 0x7f only as valid UTF-8 of printable characters: no C1
 * or bidirectional controls, no line or paragraph separators), no '/',
 * ':', '\\', quotes, '=', whitespace or control characters, not starting
 * with '-'. */
bool rr_valid_user(const char *user);

/* The uid of an existing user: 0, -ESRCH when there is no such user, or
 * another negative errno (NSS failed: not the same as unknown). */
int rr_user_uid(const char *user, uid_t *uid);

/* Around every NSS lookup (users, groups, shadow): NSS modules need not
 * be thread-safe, and riskd evaluates calls in several threads. */
void rr_nss_lock(void);
void rr_nss_unlock(void);

#endif
