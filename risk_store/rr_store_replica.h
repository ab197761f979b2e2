/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store as a host's replica of a fleet's shared state (DESIGN.md 7.1).
 * Still only SQLite, no network: the fleet layer (risk_store/etcd,
 * rr_fleet.h) brings etcd's records in through the rr_store_replica_*
 * verbs and publishes the store's writes through a link.
 *
 * Each user has five shared records (rr_shared_kind).  Their rows here are
 * the ones the ordinary verbs read and write (users and user-scope
 * detections, mfa_*, tap, must_change, familiar_*), so every reader works
 * unchanged on a replica.  Per user and record the store keeps the etcd
 * mod_revision its rows reflect (0: the record is absent), the revision of
 * the whole replica (meta), records that arrived malformed (the user's
 * sign-ins are then refused with -EBADMSG), and the queue of records
 * changed while etcd was unreachable or deferred (RR_STORE_QUEUE_DEFERRED).
 *
 * With a link set (rr_store_link_set), a write that changes a user's shared
 * records publishes them before its COMMIT, in the same SQLite
 * transaction: published, it commits with the new revisions; changed
 * elsewhere meanwhile, it is rolled back, the user's records are refreshed
 * through the link and the verb runs again (at most RR_STORE_PUBLISH_TRIES
 * times, then -EBUSY); etcd unreachable, it commits and queues when the
 * write may wait (familiar networks and devices, risk raised by
 * detections, the grace clock, and with offline MFA checking the MFA
 * record), else it is rolled back with -ENOTCONN.  A sign-in from a
 * familiar network and device does not publish: its familiar record is
 * queued as deferred.
 */
#ifndef RR_STORE_REPLICA_H
#define RR_STORE_REPLICA_H

#include "rr_fleet_model.h"
#include "rr_store.h"

#include <stdbool.h>
#include <stdint.h>

#define RR_STORE_PUBLISH_TRIES 8

typedef enum {
	RR_SHARED_RISK = 0,
	RR_SHARED_MFA,
	RR_SHARED_TAP,
	RR_SHARED_PWCHANGE,
	RR_SHARED_FAMILIAR,
	RR_SHARED__COUNT
} rr_shared_kind;

#define RR_SHARED_BIT(k) (1u << (k))
#define RR_SHARED_ALL ((1u << RR_SHARED__COUNT) - 1)

/* The name of a kind as in its key ("risk", "mfa", ...), NULL if none. */
const char *rr_shared_kind_name(rr_shared_kind k);

/* A user's shared records; has[k] false: record k is absent. */
typedef struct {
	bool has[RR_SHARED__COUNT];
	rr_fleet_risk risk;
	rr_fleet_mfa mfa;
	rr_fleet_tap tap;
	rr_fleet_pwchange pwchange;
	rr_fleet_familiar familiar;
} rr_fleet_user;

/* Zeroes the secret-bearing parts (sealed secret, pass hash), then frees. */
void rr_fleet_user_free(rr_fleet_user *u);

/* ---- publishing -------------------------------------------------------- */

/* One audit row, published with the write that made it. */
typedef struct {
	int64_t time;
	const char *actor, *action, *target, *detail;
} rr_store_audit_rec;

typedef struct {
	const char *user;
	unsigned kinds;               /* RR_SHARED_BIT()s of the records */
	const rr_fleet_user *now;     /* their new values */
	const int64_t *base;          /* [RR_SHARED__COUNT]: the revisions the
				       * write was made on (0: absent) */
	const rr_store_audit_rec *audit; /* or NULL */
} rr_store_publish;

typedef struct {
	/* 0: published, revs[k] the new mod_revision of each record in
	 * p->kinds (0 for one deleted); -EXDEV: a record is no longer at its
	 * base revision (nothing applied); -ENOTCONN: etcd unreachable or
	 * without a leader (nothing applied); -ETIMEDOUT: sent, its outcome
	 * unknown; another negative errno: refused. */
	int (*publish)(void *ctx, const rr_store_publish *p,
		       int64_t revs[RR_SHARED__COUNT]);
	/* After -EXDEV, outside any transaction: bring the user's records up
	 * to date (rr_store_replica_put).  0 or a negative errno. */
	int (*refresh)(void *ctx, rr_store *s, const char *user);
	/* Milliseconds since the replica last heard from etcd (an event or
	 * a progress notification), -1 when it never did. */
	int64_t (*staleness_ms)(void *ctx);
} rr_store_link;

/* Set (or, with link NULL, remove) the link of this connection.
 * mfa_local: the MFA record may be queued too (store.offline.mfa local). */
void rr_store_link_set(rr_store *s, const rr_store_link *link, void *ctx,
		       bool mfa_local);

/* Whether this connection is a fleet replica: 0 with *ms its staleness
 * (-1: never heard from etcd), -ENOENT without a link. */
int rr_store_link_staleness(const rr_store *s, int64_t *ms);

/* ---- the replica -------------------------------------------------------- */

/* The etcd revision the replica reflects (0: never loaded). */
int rr_store_replica_revision(rr_store *s, int64_t *rev);

/* When (wall clock, seconds) the replica last recorded news from etcd
 * (0: never): its staleness for another process (riskctl). */
int rr_store_replica_heard(rr_store *s, int64_t *when);

/* A batch of puts in one write transaction; _end commits it (err 0) with
 * `revision` as the replica's revision (when > 0), else rolls back. */
int rr_store_replica_begin(rr_store *s);
int rr_store_replica_end(rr_store *s, int err, int64_t revision);

/*
 * Record `kind` of `user` as etcd holds it at `mod_revision`: v->has[kind]
 * false means absent (mod_revision then only orders it).  Ignored (0) when
 * the replica already reflects that revision or a newer one.  A record
 * that was malformed before is good again.  Inside a batch or alone.
 */
int rr_store_replica_put(rr_store *s, const char *user, rr_shared_kind kind,
			 const rr_fleet_user *v, int64_t mod_revision);
/* Whether the replica reflects a record of `kind` (present, or deleted)
 * at mod_revision: it holds that revision or a newer one, so
 * rr_store_replica_put would change nothing (*yes).  A read: outside a
 * batch it sees what is committed. */
int rr_store_replica_reflects(rr_store *s, const char *user,
			      rr_shared_kind kind, bool present,
			      int64_t mod_revision, bool *yes);
/* The record arrived malformed: remembered with `reason` (one line, no
 * value in it); the user's sign-ins are refused until a good one arrives.
 * The rows already held are kept. */
int rr_store_replica_bad(rr_store *s, const char *user, rr_shared_kind kind,
			 const char *reason, int64_t mod_revision);
/* The user's records of `kinds` as this store holds them (own snapshot;
 * out is zeroed first).  revs (may be NULL): their revisions. */
int rr_store_replica_export(rr_store *s, const char *user, unsigned kinds,
			    rr_fleet_user *out,
			    int64_t revs[RR_SHARED__COUNT]);
/* Every user with a record in the replica (for a full reload: those etcd
 * no longer has become absent).  *users: n names of RR_USER_MAX + 1. */
int rr_store_replica_users(rr_store *s, char (**users)[RR_USER_MAX + 1],
			   size_t *n);

/* ---- the queue: writes made while etcd was unreachable, and deferred ---- */

/*
 * A queued entry names the user's records to publish as they are when it
 * is published (merged with etcd's then).  Deferred entries: a sign-in
 * from a familiar network and device changes only the familiar record's
 * counts and last seen; that waits for the fleet's publisher (riskd, in
 * the background) instead of holding the sign-in for an etcd round trip.
 * Stored as a bit of the kinds column.
 */
#define RR_STORE_QUEUE_DEFERRED (1u << 16)

typedef struct {
	int64_t id;
	char user[RR_USER_MAX + 1];
	unsigned kinds;
	bool deferred;
	int64_t time;
} rr_store_queued;

/* Oldest first, at most `limit` (0: RR_STORE_MAX_ROWS). */
int rr_store_queue_list(rr_store *s, size_t limit, rr_store_queued **rows,
			size_t *n);
/* Entry published: removed.  Inside a batch or alone. */
int rr_store_queue_done(rr_store *s, int64_t id);
int rr_store_queue_count(rr_store *s, uint64_t *n);
/* Whether `kind` of `user` waits in the queue (a put then merges). */
int rr_store_queue_pending(rr_store *s, const char *user, rr_shared_kind kind,
			   bool *pending);

/* ---- failed sign-ins across the fleet (rr_store_fails.c) ------------- */

/* This host's failures with a source (network sign-ins) after failure id
 * `after`, oldest first, at most `limit` into out[]; *last the id of the
 * last one read (`after` when none). */
int rr_store_failures_since(rr_store *s, int64_t after, size_t limit,
			    rr_fleet_failure *out, size_t *n, int64_t *last);
/* What this host's publisher has sent (0: nothing yet): the id of the
 * last failure (meta fleet_fail_mark), the sequence of the last sign-in
 * change (meta fleet_signin_mark, rr_store_signins_changed). */
typedef enum { RR_STORE_MARK_FAILS, RR_STORE_MARK_SIGNINS } rr_store_mark;
int rr_store_mark_get(rr_store *s, rr_store_mark m, int64_t *mark);
int rr_store_mark_set(rr_store *s, rr_store_mark m, int64_t mark);
/* Another host's batch (its key's segment): its rows replace the batch's;
 * dropped when its key goes; all cleared before a full read.  The
 * bruteForce and passwordSpray counts (rr_store_history,
 * rr_store_spray_count) add these rows.  Inside a batch or alone. */
int rr_store_fleet_fails_put(rr_store *s, const char *batch,
			     const rr_fleet_fails *v);
int rr_store_fleet_fails_drop(rr_store *s, const char *batch);
int rr_store_fleet_fails_clear(rr_store *s);

/* Another host's risky sign-in (its reference) that counts toward its
 * user's aggregation (rr_fleet_signin_counts), at its sign-in risk (low
 * to high): replaces what the reference held; dropped when it no longer
 * counts or its key goes; all cleared before a full read.
 * rr_store_aggregate adds these to this host's own.  Inside a batch or
 * alone. */
int rr_store_fleet_signin_put(rr_store *s, const char *ref, const char *host,
			      const char *user, int64_t time, rr_level level);
int rr_store_fleet_signin_drop(rr_store *s, const char *ref);
int rr_store_fleet_signins_clear(rr_store *s);

/* ---- risky sign-ins across the fleet (rr_store_signin.c) ------------- */

/* This host's sign-ins written or rewritten (an interrupted sign-in when
 * it ends, its outcome or device set later) after change sequence
 * `after`, in the order of their changes, at most `limit` into out[] and
 * ch[]: the sequence of the change and the state of the sign-in's
 * detections (at risk, remediated by MFA passed in it, closed with the
 * user's risk, confirmed safe: each change of it is a change of the
 * sign-in).  `after` past the newest (pruning took every
 * row and the sequence began again) reads from the start. */
typedef struct {
	int64_t seq;
	rr_state state;   /* of the sign-in's detections: none without */
	rr_detail detail;
} rr_store_signin_change;
int rr_store_signins_changed(rr_store *s, int64_t after, size_t limit,
			     rr_store_signin *out, rr_store_signin_change *ch,
			     size_t *n);

#endif
