/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet's data model in etcd (DESIGN.md 7.1): where each record lives
 * under the tenant prefix, and its value as compact JSON with a schema
 * version ("v":1).  Pure: no I/O, no clock, does not log; used by nothing
 * yet (the fleet backend will).  Returns 0 or a negative errno.
 *
 * Keys, under the tenant prefix P (non-empty, ending in '/'):
 *   P "users/" U "/risk"      rr_fleet_risk
 *   P "users/" U "/mfa"       rr_fleet_mfa
 *   P "users/" U "/tap"       rr_fleet_tap
 *   P "users/" U "/pwchange"  rr_fleet_pwchange
 *   P "users/" U "/familiar"  rr_fleet_familiar
 *   P "audit/" ID
 *   P "signins/" REF          rr_fleet_signin: a risky sign-in (under a
 *                             lease: the retention)
 *   P "hosts/" H              rr_fleet_host_rec (under a lease)
 *   P "fails/" B              rr_fleet_fails: a batch of one host's failed
 *                             sign-ins (under a lease); B is the
 *                             batch's first failure id, '.', the host
 *   P "attacks/" REF          rr_fleet_attack: a bruteForce or passwordSpray
 *                             raised once for the fleet (under a lease:
 *                             the retention)
 *   P "attackmarks/" M        that it is raised, for its window (under a
 *                             lease of the window): M is the type, '.',
 *                             and rr_fleet_attack_subject's hex digest
 * U is the user name percent-encoded: every byte outside [A-Za-z0-9._-]
 * as %XX (uppercase hex), so a name never forges a path segment and each
 * user has exactly one key.  ID, REF and H are one segment of
 * [A-Za-z0-9._-] (not "." or ".."), at most RR_FLEET_SEGMENT_MAX bytes.
 *
 * Decoding is strict: text at most RR_FLEET_MAX_JSON bytes
 * (RR_FLEET_MAX_JSON_FAMILIAR for rr_fleet_familiar), one object,
 * known fields only (a newer schema is refused, not half-read), every type,
 * range and enum spelling checked, base64 strict and of the right size,
 * arrays within their caps.  Any violation is -EPROTO and *out is left
 * untouched.  Encoding checks the struct the same way (-EINVAL).
 */
#ifndef RR_FLEET_MODEL_H
#define RR_FLEET_MODEL_H

#include "rr_store.h"
#include "rr_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RR_FLEET_SCHEMA 1
#define RR_FLEET_MAX_JSON ((size_t)64 << 10)
/* The familiar record alone may be longer: 2 x 256 entries of a 64-byte
 * key and three 19-digit numbers are ~87 KiB of JSON at most. */
#define RR_FLEET_MAX_JSON_FAMILIAR ((size_t)128 << 10)
#define RR_FLEET_TIME_MAX ((int64_t)1 << 62) /* times and counts: 0..this */
#define RR_FLEET_MAX_DETECTIONS 64
#define RR_FLEET_MAX_SAFE_REFS 16 /* sign-ins confirmed safe, per user */
#define RR_FLEET_MAX_FAILURES 100
#define RR_FLEET_MAX_FAMILIAR 256
#define RR_FLEET_SEGMENT_MAX 128
#define RR_FLEET_FAMILIAR_KEY_MAX 64 /* RR_NETKEY_MAX, RR_DEVICE_MAX */
#define RR_FLEET_USER_ENC_MAX (3 * RR_USER_MAX) /* encoded name, no NUL */

/* ---- keys ------------------------------------------------------------- */

/* Each writes a NUL-terminated key to buf: 0, -EINVAL (a bad prefix, an
 * empty or over-long user, a bad segment) or -ENAMETOOLONG (cap). */
int rr_fleet_key_risk(const char *prefix, const char *user, char *buf,
		      size_t cap);
int rr_fleet_key_mfa(const char *prefix, const char *user, char *buf,
		     size_t cap);
int rr_fleet_key_tap(const char *prefix, const char *user, char *buf,
		     size_t cap);
int rr_fleet_key_pwchange(const char *prefix, const char *user, char *buf,
			  size_t cap);
int rr_fleet_key_familiar(const char *prefix, const char *user, char *buf,
			  size_t cap);
int rr_fleet_key_audit(const char *prefix, const char *id, char *buf,
		       size_t cap);
int rr_fleet_key_signin(const char *prefix, const char *ref, char *buf,
			size_t cap);
int rr_fleet_key_host(const char *prefix, const char *host, char *buf,
		      size_t cap);
int rr_fleet_key_attack(const char *prefix, const char *ref, char *buf,
			size_t cap);
int rr_fleet_key_attack_mark(const char *prefix, const char *mark,
			     char *buf, size_t cap);
int rr_fleet_key_fails(const char *prefix, const char *batch, char *buf,
		       size_t cap);
/* P "users/": the range of every user's records (its end:
 * rr_etcd_prefix_end). */
int rr_fleet_key_users(const char *prefix, char *buf, size_t cap);

/* Whether s is one segment of a key (ID, REF, H above). */
bool rr_fleet_segment_ok(const char *s);

/* U of a user name (1..RR_USER_MAX bytes): 0, -EINVAL, -ENAMETOOLONG. */
int rr_fleet_user_encode(const char *user, char *buf, size_t cap);
/* The name back from exactly `len` bytes of U, strictly: a malformed or
 * lowercase %XX, an encoded byte that needed no encoding, %00, a byte
 * that needed encoding left bare, or a name over RR_USER_MAX is -EINVAL.
 * user must hold RR_USER_MAX + 1 bytes. */
int rr_fleet_user_decode(const char *enc, size_t len,
			 char user[RR_USER_MAX + 1]);

/* What a key names (rr_fleet_key_parse): the replica files a watch
 * event by it. */
typedef enum {
	RR_FLEET_KEY_RISK = 0,
	RR_FLEET_KEY_MFA,
	RR_FLEET_KEY_TAP,
	RR_FLEET_KEY_PWCHANGE,
	RR_FLEET_KEY_FAMILIAR,
	RR_FLEET_KEY_AUDIT,
	RR_FLEET_KEY_SIGNIN,
	RR_FLEET_KEY_HOST,
	RR_FLEET_KEY_FAILS,
	RR_FLEET_KEY_ATTACK,
	RR_FLEET_KEY_ATTACK_MARK
} rr_fleet_key_kind;

/* P "audit/", "signins/", "hosts/", "fails/", "attacks/" or
 * "attackmarks/" (kind AUDIT, SIGNIN, HOST, FAILS, ATTACK, ATTACK_MARK;
 * another kind: -EINVAL): the range of those keys. */
int rr_fleet_key_dir(const char *prefix, rr_fleet_key_kind kind, char *buf,
		     size_t cap);

typedef struct {
	rr_fleet_key_kind kind;
	/* the user (RISK .. FAMILIAR) or the segment (AUDIT, SIGNIN, HOST,
	 * FAILS, ATTACK, ATTACK_MARK) */
	char name[RR_USER_MAX > RR_FLEET_SEGMENT_MAX ? RR_USER_MAX + 1 :
						       RR_FLEET_SEGMENT_MAX + 1];
} rr_fleet_key;

/* The inverse of the rr_fleet_key_* builders: `len` bytes of a key read
 * from etcd under `prefix` into *out.  Exactly the keys the builders make
 * parse (a user decoded strictly, a segment checked); anything else under
 * the prefix is -EPROTO (the replica refuses what it does not know), and
 * a key outside the prefix -EINVAL.  *out is written only on success. */
int rr_fleet_key_parse(const char *prefix, const char *key, size_t len,
		       rr_fleet_key *out);

/* ---- values ----------------------------------------------------------- */

typedef struct {
	rr_event type;
	rr_level level;
	rr_state state;
	rr_detail detail;
	char source[RR_RHOST_MAX + 1]; /* "" for none */
	int64_t detected;
	int64_t updated;
} rr_fleet_detection;

/* A sign-in an admin confirmed safe (riskctl confirm-safe --ref): its
 * host marks the sign-in's detections confirmedSafe when the record
 * arrives. */
typedef struct {
	char ref[RR_REF_LEN + 1];
	int64_t time;
} rr_fleet_safe_ref;

/* The user's risk, its active detections, and the user's sign-ins
 * confirmed safe (the newest RR_FLEET_MAX_SAFE_REFS, distinct; JSON
 * "safeRefs", absent when none). */
typedef struct {
	rr_level level;
	rr_state state;
	rr_detail detail;
	int64_t updated;
	size_t n_detections;
	rr_fleet_detection detections[RR_FLEET_MAX_DETECTIONS];
	size_t n_safe;
	rr_fleet_safe_ref safe[RR_FLEET_MAX_SAFE_REFS];
} rr_fleet_risk;

/* The authenticator (sealed_len 0: none registered yet, and then alg,
 * digits, period and registered_at are 0), the grace clock, the replay
 * guard and the recent wrong codes (oldest first). */
typedef struct {
	uint8_t sealed[RR_STORE_SEALED_MAX];
	size_t sealed_len;
	unsigned alg;      /* rr_totp_alg: 0 SHA1, 1 SHA256, 2 SHA512 */
	unsigned digits;   /* 6..8 */
	unsigned period;   /* 15..120 */
	int64_t registered_at;
	int64_t last_step;
	int64_t grace_start;
	size_t n_failures;
	int64_t failures[RR_FLEET_MAX_FAILURES];
} rr_fleet_mfa;

typedef struct {
	uint8_t hash[RR_STORE_TAP_HASH_LEN];
	int64_t created;
	int64_t expires;
	bool used;
} rr_fleet_tap;

/* A pending forced password change (root reset the password). */
typedef struct {
	int64_t since;
	char actor[RR_USER_MAX + 1];
} rr_fleet_pwchange;

typedef struct {
	char key[RR_FLEET_FAMILIAR_KEY_MAX + 1];
	int64_t first_seen;
	int64_t last_seen;
	int64_t count;
} rr_fleet_seen;

typedef struct {
	size_t n_networks;
	rr_fleet_seen networks[RR_FLEET_MAX_FAMILIAR];
	size_t n_devices;
	rr_fleet_seen devices[RR_FLEET_MAX_FAMILIAR];
} rr_fleet_familiar;

/* One admin action (P "audit/" ID): who did what to whom, from which
 * host.  Texts printable UTF-8 without control characters. */
#define RR_FLEET_AUDIT_TEXT_MAX 255
typedef struct {
	int64_t time;
	char actor[RR_USER_MAX + 1];
	char action[RR_FLEET_AUDIT_TEXT_MAX + 1];
	char target[RR_USER_MAX + 1];
	char detail[RR_FLEET_AUDIT_TEXT_MAX + 1];
	char host[RR_FLEET_SEGMENT_MAX + 1];
} rr_fleet_audit;

/* A host of the fleet (P "hosts/" H): its riskd writes it every few
 * seconds under a lease, so a host that stops goes silent, then vanishes.
 * Times on the host's clock (the fleet's clocks agree: TOTP needs that). */
#define RR_FLEET_VERSION_MAX 64
typedef struct {
	char host[RR_FLEET_SEGMENT_MAX + 1];
	char version[RR_FLEET_VERSION_MAX + 1]; /* riskd's */
	int64_t started;      /* riskd's start */
	int64_t seen;         /* written */
	int64_t every_ms;     /* written again within this */
	int64_t revision;     /* the revision its replica reflects */
	int64_t staleness_ms; /* of its replica; -1: never heard from etcd */
	int64_t max_staleness_ms; /* its policy's store.offline */
	int64_t queued;       /* writes waiting in its store */
} rr_fleet_host_rec;

/* A batch of one host's failed primary authentications (P "fails/" B),
 * for the fleet's bruteForce and passwordSpray counts.  Each failure is
 * of a user, or of a name that is no user (then its tag, a keyed hash,
 * and no user); netkey and rhost its source (never empty: console
 * failures stay on their host). */
#define RR_FLEET_MAX_FAIL_BATCH 128
#define RR_FLEET_MAX_JSON_FAILS ((size_t)128 << 10)
#define RR_FLEET_TAG_LEN 16
typedef struct {
	char user[RR_USER_MAX + 1];
	char tag[RR_FLEET_TAG_LEN + 1];
	char netkey[RR_NETKEY_MAX + 1];
	char rhost[RR_RHOST_MAX + 1];
	int64_t time;
} rr_fleet_failure;

typedef struct {
	char host[RR_FLEET_SEGMENT_MAX + 1];
	size_t n;
	rr_fleet_failure failures[RR_FLEET_MAX_FAIL_BATCH];
} rr_fleet_fails;

/* A risky sign-in (a detection, a control required, a block or a denial)
 * as its host logged it (P "signins/" REF), for riskctl on any host, with
 * the state and detail its detections have now (none without). */
typedef struct {
	char host[RR_FLEET_SEGMENT_MAX + 1];
	rr_store_signin s;
	rr_state state;
	rr_detail detail;
} rr_fleet_signin;

/* A detection of failed sign-ins (bruteForce: one user's failures from
 * one network; passwordSpray: distinct names failing from one address)
 * counted over the whole fleet, raised once by the host whose count
 * crossed the policy's threshold (P "attacks/" REF). */
typedef struct {
	char host[RR_FLEET_SEGMENT_MAX + 1]; /* that raised it */
	char ref[RR_REF_LEN + 1];
	rr_event type;  /* RR_EVENT_BRUTE_FORCE or RR_EVENT_PASSWORD_SPRAY */
	rr_level level;
	int64_t time;
	char user[RR_USER_MAX + 1];    /* bruteForce: the user; spray: "" */
	char source[RR_RHOST_MAX + 1]; /* the network (bruteForce) or the
					  address (passwordSpray) */
	int64_t count;    /* failures, or distinct names, when raised */
	int64_t window_s; /* the policy's window they were counted in */
} rr_fleet_attack;

/* The segment M of an attack's mark: TYPE '.' 32 hex digits (a digest
 * of the user and the source), into buf[cap]; -EINVAL for a bad attack. */
#define RR_FLEET_ATTACK_MARK_LEN 64
int rr_fleet_attack_mark(const rr_fleet_attack *v, char *buf, size_t cap);

/* Encode: *out a malloc'd NUL-terminated compact JSON text (*len without
 * the NUL), to be freed with rr_fleet_text_free.  -EINVAL for a struct
 * that would not decode, -ENOMEM. */
int rr_fleet_risk_encode(const rr_fleet_risk *v, char **out, size_t *len);
int rr_fleet_mfa_encode(const rr_fleet_mfa *v, char **out, size_t *len);
int rr_fleet_tap_encode(const rr_fleet_tap *v, char **out, size_t *len);
int rr_fleet_pwchange_encode(const rr_fleet_pwchange *v, char **out,
			     size_t *len);
int rr_fleet_familiar_encode(const rr_fleet_familiar *v, char **out,
			     size_t *len);
int rr_fleet_audit_encode(const rr_fleet_audit *v, char **out, size_t *len);
int rr_fleet_host_encode(const rr_fleet_host_rec *v, char **out, size_t *len);
int rr_fleet_fails_encode(const rr_fleet_fails *v, char **out, size_t *len);
int rr_fleet_signin_encode(const rr_fleet_signin *v, char **out,
			   size_t *len);
int rr_fleet_attack_encode(const rr_fleet_attack *v, char **out,
			   size_t *len);

/* Decode `len` bytes of JSON (no NUL needed): 0, -EPROTO, -ENOMEM. */
int rr_fleet_risk_decode(const char *text, size_t len, rr_fleet_risk *out);
int rr_fleet_mfa_decode(const char *text, size_t len, rr_fleet_mfa *out);
int rr_fleet_tap_decode(const char *text, size_t len, rr_fleet_tap *out);
int rr_fleet_pwchange_decode(const char *text, size_t len,
			     rr_fleet_pwchange *out);
int rr_fleet_familiar_decode(const char *text, size_t len,
			     rr_fleet_familiar *out);
int rr_fleet_audit_decode(const char *text, size_t len, rr_fleet_audit *out);
int rr_fleet_host_decode(const char *text, size_t len, rr_fleet_host_rec *out);
int rr_fleet_fails_decode(const char *text, size_t len, rr_fleet_fails *out);
int rr_fleet_signin_decode(const char *text, size_t len,
			   rr_fleet_signin *out);
int rr_fleet_attack_decode(const char *text, size_t len,
			   rr_fleet_attack *out);

/* Zeroes the text (it may hold a sealed secret or a pass hash) and frees
 * it.  NULL is a no-op. */
void rr_fleet_text_free(char *text);
/* Zero the secret-bearing structs (explicit_bzero). */
void rr_fleet_mfa_clear(rr_fleet_mfa *v);
void rr_fleet_tap_clear(rr_fleet_tap *v);

/* A wrong code at `t`: appended; when full the oldest is dropped.  Times
 * before the newest are refused (-EINVAL), as is one out of range. */
int rr_fleet_mfa_failure_add(rr_fleet_mfa *v, int64_t t);
/* A sign-in seen from `key` at `now` in `list` (networks or devices): an
 * entry is refreshed, or added; when full the least recently seen one is
 * dropped first.  -EINVAL for a bad key or time. */
int rr_fleet_familiar_touch(rr_fleet_seen *list, size_t *n, const char *key,
			    int64_t now);

#endif
