/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The decision engine: a pure function of (policy, user risk, sign-in facts,
 * detections, now).  libc only: no PAM, SQLite, YAML, syslog, clock or I/O.
 *
 * The policy structure is defined here because the engine consumes it; the
 * policy layer (rr_policy.h) builds it from YAML and frees it.
 */
#ifndef RR_ENGINE_H
#define RR_ENGINE_H

#include "rr_types.h"

#include <stdint.h>

/* ---- policy (validated, in memory) ------------------------------------ */

typedef enum {
	RR_PSTATE_ENABLED = 0,
	RR_PSTATE_REPORT_ONLY,
	RR_PSTATE_DISABLED
} rr_pstate;

const char *rr_pstate_name(rr_pstate s); /* enabled | reportOnly | disabled */

/* A list of names; `all` is the keyword `all` (or `any` for locations). */
typedef struct {
	char **names;
	size_t n;
	bool all;
} rr_names;

/* include / exclude.  `given` is false when the key was absent. */
typedef struct {
	rr_names include;
	rr_names exclude;
	bool given;
} rr_assign;

typedef struct {
	char *name;
	rr_cidr *cidrs;
	size_t n;
} rr_location;

#define RR_REQUIRE_MFA 0x1u
#define RR_REQUIRE_PASSWORD_CHANGE 0x2u

/* Bit (1u << level) for each level listed; 0 means "no such condition". */
typedef unsigned rr_level_mask;

typedef struct {
	char *name;
	rr_pstate state;
	rr_assign users;    /* names; include may be `all` */
	rr_assign groups;   /* group names */
	rr_assign services; /* PAM service names; include may be `all` */
	rr_level_mask user_risk;
	rr_level_mask signin_risk;
	/* Locations: indexes into rr_policy.locations.  include.all = `any`.
	 * `given` false means no location condition. */
	bool loc_given;
	bool loc_any;
	size_t *loc_include;
	size_t n_loc_include;
	size_t *loc_exclude;
	size_t n_loc_exclude;
	bool block;
	unsigned require; /* RR_REQUIRE_* */
	unsigned line;    /* line in the policy file, for messages */
} rr_ca_policy;

typedef struct {
	bool enabled;
	rr_level level;
	/* unfamiliarFeatures */
	unsigned learning_days;
	unsigned learning_signins;
	/* bruteForce */
	unsigned failures;
	unsigned window_s;
	/* anonymizedIPAddress / maliciousIPAddress: list files */
	char **lists;
	size_t n_lists;
	/* ... and where `riskctl feeds update` downloads each from:
	 * feeds[i] (NULL: none) refreshes lists[i]; n_lists entries */
	char **feeds;
	/* passwordSpray: distinct users failing from one source (window_s) */
	unsigned spray_users;
	/* leakedCredentials: k-anonymity range API and/or local hash file */
	char *range_url;     /* e.g. https://api.pwnedpasswords.com/range/ */
	char *ca_file;       /* CA bundle for range_url; NULL: system */
	char *hash_file;     /* sorted "SHA1HEX[:count]" lines, offline */
	unsigned timeout_ms; /* range request timeout (default 3000) */
	unsigned cache_s;    /* range responses cached (default 86400) */
} rr_detection_cfg;

/* Unremediated risky sign-ins raise user risk: `signins` sign-ins with
 * sign-in risk at least `min_level` within `window_s` make the user at risk
 * at the highest of those levels. */
typedef struct {
	bool enabled;
	unsigned signins;   /* default 3 */
	rr_level min_level; /* default medium */
	unsigned window_s;  /* default 7 days */
} rr_aggregation;

typedef struct {
	rr_pstate state;
	unsigned grace_days;
	rr_assign users;
	rr_assign groups;
} rr_mfa_registration;

/* TOTP settings (policy `mfa:`).  totp_alg: 0 SHA1, 1 SHA256, 2 SHA512
 * (the values of rr_totp_alg in rr_mfa.h). */
typedef struct {
	unsigned totp_alg;
	unsigned digits;            /* 6 or 8 */
	unsigned period;            /* seconds */
	unsigned window;            /* steps either side */
	unsigned max_failures;      /* wrong codes before MFA locks (5) */
	unsigned failure_window_s;  /* ... within this window (15 min) */
	unsigned tap_ttl_s;         /* temporary access pass lifetime (1 h) */
	char *key_file;             /* sealing key for secrets at rest */
} rr_mfa_cfg;

typedef enum { RR_BACKEND_SQLITE = 0, RR_BACKEND_ETCD } rr_backend;

/* A fleet (DESIGN §7.1, policy store.etcd and store.offline).  Set only
 * with backend etcd; the loader validates every field. */
#define RR_ETCD_MAX_ENDPOINTS 16
#define RR_ETCD_DEFAULT_PREFIX "/riskremediate/"

typedef struct {
	char **endpoints;      /* http(s)://host:port, 1..16 */
	size_t n_endpoints;
	char *prefix;          /* NULL: RR_ETCD_DEFAULT_PREFIX */
	char *host;            /* NULL: the machine's host name (run time) */
	char *ca;              /* fleet CA; set whenever an endpoint is https */
	char *cert;            /* client certificate and key: both or none */
	char *key;
	char *user;            /* etcd authentication: both or none */
	char *password_file;
} rr_policy_etcd;

/* What a host does when its replica of the fleet's state is stale. */
typedef enum { RR_OFFLINE_MFA_DENY = 0, RR_OFFLINE_MFA_LOCAL } rr_offline_mfa;

typedef struct {
	unsigned max_staleness_s; /* default 30 */
	rr_offline_mfa mfa;       /* default deny */
} rr_offline_cfg;

typedef struct {
	int version;
	char *issuer;
	rr_backend backend;
	char *store_path;
	rr_policy_etcd etcd;          /* backend etcd only */
	rr_offline_cfg offline;
	bool on_error_allow;
	rr_location *locations;
	size_t n_locations;
	rr_mfa_registration mfa_registration;
	rr_mfa_cfg mfa;
	rr_detection_cfg detections[RR_EVENT__COUNT];
	rr_aggregation aggregation;
	unsigned signin_retention_days;    /* default 30 */
	unsigned detection_retention_days; /* default 90 */
	unsigned low_risk_expiry_days;     /* default 180 */
	rr_ca_policy *policies;
	size_t n_policies;
	/* The files the policy names and where (rr_policy.h, for
	 * rr_policy_check_files); the engine does not use them. */
	struct rr_policy_ref *refs;
	size_t n_refs;
} rr_policy;

/* Defaults used by the loader and by tests that build policies by hand. */
void rr_policy_init_defaults(rr_policy *p);

/* ---- inputs ----------------------------------------------------------- */

/* Where a sign-in comes from, as far as the system can vouch for it
 * (rr_assess_origin). */
typedef enum {
	RR_ORIGIN_REMOTE = 0, /* the application named a remote host (rhost) */
	RR_ORIGIN_LOCAL,      /* no rhost; started by root (login on a
				 console, root's su) or by the user
				 themselves: the real uid vouches for it */
	RR_ORIGIN_OTHER_USER  /* no rhost; started by another, unprivileged
				 user (`su victim` in bob's session), or by
				 an unknown one: never a trusted origin */
} rr_origin;

typedef struct {
	const char *user;
	const char *const *groups;
	size_t n_groups;
	const char *service;
	const char *rhost;   /* NULL or "" for a local console sign-in */
	bool has_addr;       /* rhost parsed as an address */
	rr_addr addr;
	rr_origin origin;
} rr_facts;

typedef struct {
	rr_level level;   /* stored user risk */
	rr_state state;
	rr_detail detail;
	int64_t updated;  /* unix seconds of the last change */
} rr_user_risk;

typedef struct {
	rr_event type;
	rr_level level;
} rr_detection;

/* ---- outputs ---------------------------------------------------------- */

typedef enum {
	RR_WHY_APPLIES = 0,
	RR_WHY_DISABLED,
	RR_WHY_USER_NOT_INCLUDED,
	RR_WHY_USER_EXCLUDED,
	RR_WHY_GROUP_EXCLUDED,
	RR_WHY_SERVICE_NOT_INCLUDED,
	RR_WHY_SERVICE_EXCLUDED,
	RR_WHY_USER_RISK_NOT_MATCHED,
	RR_WHY_SIGNIN_RISK_NOT_MATCHED,
	RR_WHY_LOCATION_NOT_INCLUDED,
	RR_WHY_LOCATION_EXCLUDED,
	RR_WHY__COUNT
} rr_why;

/* Human text, e.g. "user risk none is not in [high]" is built by callers;
 * this is the short reason: "user not included", "service excluded", ... */
const char *rr_why_text(rr_why w);

typedef struct {
	bool applies;       /* assignments and conditions matched */
	rr_why why;         /* RR_WHY_APPLIES or the first reason it did not */
	bool enforced;      /* applies && state == enabled */
} rr_policy_result;

typedef enum {
	RR_ACTION_ALLOW = 0,
	RR_ACTION_REQUIRE, /* see rr_decision.require */
	RR_ACTION_BLOCK
} rr_action;

const char *rr_action_name(rr_action a); /* allow | require | block */
/* Exact parse of rr_action_name's spelling: 0 or -EINVAL. */
int rr_action_parse(const char *s, rr_action *out);

typedef struct {
	rr_action action;
	unsigned require;        /* RR_REQUIRE_* union of enforced policies */
	rr_level signin_risk;    /* max level of the sign-in's detections */
	rr_level user_risk;      /* effective user risk (after low-risk expiry) */
	size_t block_policy;     /* index of the first enforced blocking policy */
	bool would_block;        /* a report-only policy would have blocked */
	unsigned would_require;  /* ... or required these controls */
	rr_policy_result *results; /* caller-owned, n_results == policy->n_policies */
	size_t n_results;
} rr_decision;

/*
 * Evaluate every policy.  `results` must point to policy->n_policies slots.
 * Block wins over require; exclusions beat inclusions; report-only policies
 * are evaluated and reported (would_*) but never enforced; disabled ones are
 * listed with RR_WHY_DISABLED.  Returns 0 or -EINVAL on bad arguments.
 */
int rr_engine_decide(const rr_policy *policy, const rr_user_risk *user,
		     const rr_facts *facts, const rr_detection *dets,
		     size_t n_dets, int64_t now, rr_policy_result *results,
		     rr_decision *out);

/* Effective user risk at `now`: low risk older than low_risk_expiry_days
 * is none; medium and high persist. */
rr_level rr_engine_user_risk(const rr_policy *policy, const rr_user_risk *user,
			     int64_t now);

/* True when a user/group/service assignment includes the subject.  Shared by
 * the policy evaluation and the MFA registration scope. */
bool rr_engine_in_scope(const rr_assign *users, const rr_assign *groups,
			const rr_facts *facts);

/* ---- MFA registration interrupt (DESIGN §3.5) ------------------------ */

typedef enum {
	RR_REG_NONE = 0,   /* nothing to do (registered, out of scope, ...) */
	RR_REG_OFFER,      /* interrupt; the user may skip (grace period) */
	RR_REG_REQUIRED,   /* interrupt; registration needed to sign in */
	RR_REG_REFUSED     /* needed, but the sign-in is risky: block */
} rr_reg_action;

const char *rr_reg_action_name(rr_reg_action a); /* none|offer|required|refused */

typedef struct {
	rr_reg_action action;
	bool report_only;      /* mfa_registration reportOnly: would interrupt */
	bool start_grace;      /* first interrupt: the grace clock starts now */
	unsigned days_left;    /* OFFER: whole days left, rounded up */
} rr_registration;

/*
 * What the registration interrupt does for this sign-in.  `registered`:
 * the user has an authenticator; `grace_start`: unix time of the first
 * interrupt, 0 if never.  `d` is the decision already made for this
 * sign-in: if an enforced policy requires MFA, registration is required
 * now (no skip) when the sign-in is not risky and refused when it is
 * (sign-in or user risk above none).  Otherwise, users in the policy's
 * scope are offered registration during the grace period and required to
 * register after it; a risky sign-in is never offered registration, and
 * when registration is required it is refused.  A sign-in from another
 * user's session (RR_ORIGIN_OTHER_USER) is treated as risky here whatever
 * its detections: whoever knows the password must not enrol an
 * authenticator from someone else's session.
 */
void rr_engine_registration(const rr_policy *p, const rr_facts *facts,
			    bool registered, int64_t grace_start,
			    const rr_decision *d, int64_t now,
			    rr_registration *out);

/* ---- pure detection rules -------------------------------------------- */

/* What the store knows about this user's past sign-ins. */
typedef struct {
	uint64_t successes;        /* successful sign-ins recorded */
	int64_t first_success;     /* unix seconds, 0 if none */
	bool network_seen;         /* this source network succeeded before */
	bool device_seen;          /* this device (SSH key) succeeded before */
	uint64_t recent_failures;  /* failed primary attempts from this
				      sign-in's source (netkey) in the
				      bruteForce window since the last
				      success */
	uint64_t spray_users;      /* distinct names (users, and names that
				      are no user) with failed attempts from
				      this sign-in's rhost in the
				      passwordSpray window */
} rr_history;

/* unfamiliarFeatures: network (or, for RR_ORIGIN_OTHER_USER, the invoking
 * user) never seen, after the learning period (both learning_days since
 * the first success and learning_signins); a familiar device (SSH key)
 * makes a new network familiar enough.  Never for RR_ORIGIN_LOCAL. */
bool rr_detect_unfamiliar(const rr_detection_cfg *cfg, const rr_facts *facts,
			  const rr_history *h, int64_t now);
/* bruteForce: at least cfg->failures failed attempts against the user
 * from this sign-in's own source in the window (failures from elsewhere
 * never count: a stranger cannot make the user's own sign-ins risky). */
bool rr_detect_brute_force(const rr_detection_cfg *cfg, const rr_history *h);
/* passwordSpray: the source failed against at least cfg->spray_users
 * distinct names in the window, and it is not a network the user has
 * signed in from before: the spray marks the attacker's sign-ins, not
 * those of the users who share the source (a NAT, an office). */
bool rr_detect_password_spray(const rr_detection_cfg *cfg,
			      const rr_history *h);

#endif
