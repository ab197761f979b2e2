/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the SQLite store, shared by the rr_store*.c files only.
 */
#ifndef RR_STORE_INT_H
#define RR_STORE_INT_H

#include "rr_store.h"
#include "rr_store_replica.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define RRS_DEFAULT_SIGNIN_DAYS 30
#define RRS_DEFAULT_DETECTION_DAYS 90
#define RRS_MAX_DETS 16          /* detections recorded with one sign-in */
#define RRS_REF_TRIES 5          /* fresh reference ids on a collision */
#define RRS_PRUNE_INTERVAL 3600  /* seconds between two prunes */
#define RRS_PRUNE_BATCH 1000     /* rows deleted per transaction */
#define RRS_PRUNE_BATCHES 8      /* batches per table per prune */
#define RRS_DAY 86400
#define RRS_TAP_CANDIDATES 16    /* usable passes compared per consume */
#define RRS_UNKNOWN_FAILURES_MAX 1000 /* unknown-name failures kept per
					 source per hour */

#define RRS_SCOPE_USER "user"
#define RRS_SCOPE_SIGNIN "signin"
#define RRS_OUTCOME_SUCCESS "success"
#define RRS_OUTCOME_PWCHANGE RR_OUTCOME_PWCHANGE

/* Every statement the store runs; SQL text in rr_store_sql.c. */
enum rrs_query {
	RRS_Q_USER_GET = 0,
	RRS_Q_USER_ACTIVE,
	RRS_Q_USER_UPSERT,
	RRS_Q_USERS_LIST,
	RRS_Q_STATS_GET,
	RRS_Q_STATS_UPSERT,
	RRS_Q_NET_SEEN,
	RRS_Q_NET_UPSERT,
	RRS_Q_MIGRATE_NET,
	RRS_Q_FAIL_COUNT,
	RRS_Q_FAIL_INSERT,
	RRS_Q_FAIL_UNKNOWN_COUNT,
	RRS_Q_SIGNIN_REWRITE,
	RRS_Q_DETS_DELETE_REF,
	RRS_Q_SIGNIN_INSERT,
	RRS_Q_SIGNINS_ALL,
	RRS_Q_SIGNINS_CHANGED,
	RRS_Q_SIGNINS_USER,
	RRS_Q_SIGNINS_REF,
	RRS_Q_DET_INSERT,
	RRS_Q_DETS_ALL,
	RRS_Q_DETS_USER,
	RRS_Q_DETS_AFTER,
	RRS_Q_DETS_DISMISS,
	RRS_Q_AUDIT_INSERT,
	RRS_Q_AUDIT_LIST,
	RRS_Q_META_GET,
	RRS_Q_META_SET,
	RRS_Q_PRUNE_SIGNINS,
	RRS_Q_PRUNE_SIGNIN_DETS,
	RRS_Q_PRUNE_USER_DETS,
	RRS_Q_PRUNE_FAILURES,
	RRS_Q_PRUNE_FLEET_FAILURES,
	RRS_Q_FLEET_FAIL_DROP,
	RRS_Q_FLEET_FAIL_CLEAR,
	RRS_Q_FLEET_FAIL_ADD,
	RRS_Q_PRUNE_FLEET_SIGNINS,
	RRS_Q_FLEET_SIGNIN_PUT,
	RRS_Q_FLEET_SIGNIN_DROP,
	RRS_Q_FLEET_SIGNIN_CLEAR,
	RRS_Q_FAIL_SINCE,
	RRS_Q_PRUNE_MFA_FAILURES,
	RRS_Q_PRUNE_TAPS,
	RRS_Q_MIGRATE_SUCCESSES,
	RRS_Q_MFA_METHOD_GET,
	RRS_Q_MFA_METHOD_INSERT,
	RRS_Q_MFA_METHOD_DELETE,
	RRS_Q_MFA_METHOD_EXISTS,
	RRS_Q_MFA_USE_STEP,
	RRS_Q_MFA_GRACE_GET,
	RRS_Q_MFA_GRACE_INSERT,
	RRS_Q_MFA_GRACE_DELETE,
	RRS_Q_MFA_FAIL_INSERT,
	RRS_Q_MFA_FAIL_COUNT,
	RRS_Q_MFA_FAIL_DELETE,
	RRS_Q_TAP_PENDING,
	RRS_Q_TAP_INSERT,
	RRS_Q_TAP_REVOKE,
	RRS_Q_TAP_CANDIDATES,
	RRS_Q_TAP_USE,
	RRS_Q_SPRAY_COUNT,
	RRS_Q_USER_DET_MAX,
	RRS_Q_USER_DET_REFRESH,
	RRS_Q_AGG_GET,
	RRS_Q_AGG_UPSERT,
	RRS_Q_AGG_DELETE,
	RRS_Q_AGG_COUNT,
	RRS_Q_REF_USER,
	RRS_Q_DETS_CONFIRM_SAFE,
	RRS_Q_DEV_SEEN,
	RRS_Q_DEV_UPSERT,
	RRS_Q_MUST_GET,
	RRS_Q_MUST_SET,
	RRS_Q_MUST_DELETE,
	RRS_Q_SIGNIN_OUTCOME_SET,
	RRS_Q_SIGNIN_DEVICE_SET,
	/* the fleet replica (rr_store_shared.c) */
	RRS_Q_SH_DETS_USER,
	RRS_Q_SH_DETS_DROP,
	RRS_Q_SH_DETS_CLOSE,
	RRS_Q_SAFE_PUT,
	RRS_Q_SAFE_TRIM,
	RRS_Q_SAFE_USER,
	RRS_Q_SAFE_DELETE,
	RRS_Q_SH_DETS_SAFE,
	RRS_Q_SH_DET_PUT,
	RRS_Q_SH_USER_DELETE,
	RRS_Q_SH_FAILURES,
	RRS_Q_SH_FAIL_PUT,
	RRS_Q_SH_TAP_NEWEST,
	RRS_Q_SH_TAP_DELETE,
	RRS_Q_SH_TAP_PUT,
	RRS_Q_SH_MUST_GET,
	RRS_Q_SH_NETS,
	RRS_Q_SH_NETS_MARK,
	RRS_Q_SH_NET_PUT,
	RRS_Q_SH_NETS_SWEEP,
	RRS_Q_SH_DEVS,
	RRS_Q_SH_DEVS_MARK,
	RRS_Q_SH_DEV_PUT,
	RRS_Q_SH_DEVS_SWEEP,
	RRS_Q_SH_REV_GET,
	RRS_Q_SH_REV_SET,
	RRS_Q_SH_USERS,
	RRS_Q_SH_BAD_SET,
	RRS_Q_SH_BAD_CLEAR,
	RRS_Q_SH_BAD_GET,
	RRS_Q_SH_QUEUE_ADD,
	RRS_Q_SH_QUEUE_LIST,
	RRS_Q_SH_QUEUE_DONE,
	RRS_Q_SH_QUEUE_COUNT,
	RRS_Q_SH_QUEUE_PENDING,
	RRS_Q_SEEN_TOTALS,
	/* riskctl metrics (rr_store_metrics.c) */
	RRS_Q_COUNT_SIGNINS,
	RRS_Q_COUNT_DETECTIONS,
	RRS_Q_COUNT_USERS,
	RRS_Q_COUNT_MFA,
	RRS_Q__COUNT
};

extern const char *const rrs_sql[RRS_Q__COUNT];

struct rr_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[RRS_Q__COUNT];
	unsigned signin_days;
	unsigned detection_days;
	unsigned ckpt_frames; /* checkpoint when the WAL has this many */
	bool in_snapshot;     /* between rr_store_read_begin and _end */
	dev_t dev; /* the file opened (rr_store_park) */
	ino_t ino;
	/* the store's directory, open while the connection is (SQLite opens
	 * the store, -wal and -shm through it: rr_store.c), or -1 */
	int dir_fd;
	char err[256];
	int64_t busy_since_ns; /* monotonic: the lock wait in progress */
	/* the fleet link (rr_store_replica.h) and what the write in progress
	 * changed of a user's shared records (rrs_shared_touch) */
	const rr_store_link *link;
	void *link_ctx;
	bool mfa_local;
	unsigned touched;      /* RR_SHARED_BIT()s */
	bool touched_strict;   /* may not be queued */
	char touched_user[RR_USER_MAX + 1];
	bool audited;          /* an audit row to publish */
	rr_store_audit_rec audit;
	char audit_text[4][256];
};

/* ---- the fleet replica (rr_store_shared.c) ---------------------------- */

/* How a shared record's change may wait while etcd is unreachable. */
enum rrs_offline {
	RRS_OFFLINE_QUEUE = 0, /* queued, published later */
	RRS_OFFLINE_MFA,       /* queued with store.offline.mfa local */
	RRS_OFFLINE_STRICT     /* refused: -ENOTCONN */
};
/* The write in progress changed `kinds` of `user`'s shared records (one
 * user per transaction: another is -EINVAL).  No-op without a link. */
int rrs_shared_touch(rr_store *s, const char *user, unsigned kinds,
		     enum rrs_offline offline);
/* A successful sign-in changed the user's familiar record.  known: its
 * network and device were familiar already, so only counts and last seen
 * change: queued as a deferred write (one per user at a time), which the
 * fleet's publisher sends after the sign-in; else (something new the
 * fleet must learn now) touched as RRS_OFFLINE_QUEUE.  No-op without a
 * link. */
int rrs_shared_familiar(rr_store *s, const char *user, bool known);
/* rrs_end's part before COMMIT: publish what was touched (0: commit). */
int rrs_shared_publish(rr_store *s);
/* rrs_end's part after a ROLLBACK for -EXDEV: refresh the user. */
void rrs_shared_after(rr_store *s, int err);
/* A record of the user arrived malformed: -EBADMSG with the reason. */
int rrs_shared_check(rr_store *s, const char *user);
/* Run `expr` (a verb's single try) again while another host changed the
 * user's records meanwhile (-EXDEV, refreshed); then -EBUSY. */
#define RRS_RETRY(err, expr)                                                 \
	do {                                                                 \
		unsigned rrs_try_ = 0;                                       \
		do {                                                         \
			(err) = (expr);                                      \
		} while ((err) == -EXDEV &&                                  \
			 ++rrs_try_ < RR_STORE_PUBLISH_TRIES);               \
		if ((err) == -EXDEV)                                         \
			(err) = -EBUSY;                                      \
	} while (0)

/* ---- errors (rr_store_util.c) ------------------------------------------ */

/* SQLite result code -> negative errno (0 for OK/ROW/DONE). */
int rrs_errno(int rc);
/* Record sqlite3_errmsg() and return rrs_errno(rc). */
int rrs_error(rr_store *s, int rc);
/* Record `msg` and return err. */
int rrs_fail(rr_store *s, int err, const char *msg);

/* ---- statements and transactions ------------------------------------- */

/* The cached, reset statement for q.  Release with rrs_release(). */
int rrs_stmt(rr_store *s, enum rrs_query q, sqlite3_stmt **out);
void rrs_release(sqlite3_stmt *st);
/*
 * Bind parameters 1..n in order; one letter per parameter:
 *   's' const char *, NULL binds ''     't' const char *, NULL binds NULL
 *   'i' int64_t
 *   'b' const void *, size_t: a blob (static for the statement's use)
 */
int rrs_bind(rr_store *s, sqlite3_stmt *st, const char *fmt, ...);
int rrs_vbind(rr_store *s, sqlite3_stmt *st, const char *fmt, va_list ap);
/* Whether query q, bound as rrs_bind's fmt, returns a row. */
int rrs_row_exists(rr_store *s, enum rrs_query q, bool *yes, const char *fmt,
		   ...);
/* Step a statement that returns no row. */
int rrs_step_done(rr_store *s, sqlite3_stmt *st);
/* Step once: 1 with a row, 0 at the end, or a negative errno. */
int rrs_step_row(rr_store *s, sqlite3_stmt *st);
int rrs_exec(rr_store *s, const char *sql);
/* A transaction of the verb's own (*own), unless the caller has one open
 * (a batch, rr_store_replica_begin): then it joins it.  End it with
 * `own ? rrs_end(s, err) : err`. */
int rrs_begin_own(rr_store *s, bool write, bool *own);
/* Prepared statement q bound with fmt (rrs_bind) and stepped to done. */
int rrs_exec_q(rr_store *s, enum rrs_query q, const char *fmt, ...);
/* The same in a write transaction of its own, or the caller's batch
 * (rrs_begin_own). */
int rrs_exec_own(rr_store *s, enum rrs_query q, const char *fmt, ...);
/* BEGIN IMMEDIATE (write) or BEGIN (consistent read).  Between
 * rr_store_read_begin and _end a read joins that snapshot and a write is
 * refused (-EBUSY). */
int rrs_begin(rr_store *s, bool write);
/* COMMIT when err is 0, else ROLLBACK; returns err or the commit error. */
int rrs_end(rr_store *s, int err);

/* ---- columns and values ---------------------------------------------- */

void rrs_col_text(sqlite3_stmt *st, int col, char *buf, size_t len);
int rrs_col_level(sqlite3_stmt *st, int col, rr_level *out);
int rrs_col_state(sqlite3_stmt *st, int col, rr_state *out);
int rrs_col_detail(sqlite3_stmt *st, int col, rr_detail *out);
int rrs_col_event(sqlite3_stmt *st, int col, rr_event *out);
int rrs_col_action(sqlite3_stmt *st, int col, rr_action *out);

/* NULL or a string of at most max bytes. */
bool rrs_str_ok(const char *v, size_t max);
/* A non-empty user name of at most RR_USER_MAX bytes. */
bool rrs_user_ok(const char *user);
/* 0 -> RR_STORE_MAX_ROWS, capped at it. */
int64_t rrs_limit(size_t limit);

typedef int (*rrs_fill_fn)(sqlite3_stmt *st, void *row);
/* Step st to the end, one zeroed row of `size` bytes filled per result. */
int rrs_fetch(rr_store *s, sqlite3_stmt *st, size_t size, rrs_fill_fn fill,
	      void **rows, size_t *n);

/* ---- users and audit (rr_store_user.c) ------------------------------- */

/* One audit row, in the caller's transaction. */
int rrs_audit(rr_store *s, int64_t now, const char *actor, const char *action,
	      const char *target, const char *detail);
/* The user's row into u (level, state, detail, updated; untouched when
 * there is none): 0 or a negative errno. */
int rrs_user_row(rr_store *s, const char *user, rr_store_user *u);
/* Insert or replace the user's row. */
int rrs_user_set(rr_store *s, const char *user, rr_level level,
		 rr_state state, rr_detail detail, int64_t now);
/* One column of exactly one sign-in, in the caller's transaction: q is an
 * UPDATE of the signins table binding (?1 value, ?2 ref, ?3 user,
 * ?4 outcome the row must have).  -ENOENT when no row matched. */
int rrs_signin_update(rr_store *s, enum rrs_query q, const char *value,
		      const char *ref, const char *user, const char *outcome);

/* ---- meta (rr_store_signin.c) ----------------------------------------- */

/* 1 with the value in buf, 0 when the key is not set, negative errno. */
int rrs_meta_get_text(rr_store *s, const char *key, char *buf, size_t len);
int rrs_meta_set_text(rr_store *s, const char *key, const char *value);
/* 0 (and 0 in *out) when the key is not set. */
int rrs_meta_get_int(rr_store *s, const char *key, int64_t *out);
int rrs_meta_set_int(rr_store *s, const char *key, int64_t v);

/* ---- user risk (rr_store_risk.c) ------------------------------------- */

/* Forget the user's aggregation (admin dismiss/unblock), in the caller's
 * transaction. */
int rrs_aggregation_clear(rr_store *s, const char *user);

/* ---- schema (rr_store_schema.c), pruning (rr_store_signin.c) --------- */

int rrs_schema_init(rr_store *s);
/* rrs_end for a write that may prune: when err is 0 and the hourly prune
 * of expired rows is due, claims it in the caller's transaction and prunes
 * after the commit (at most RRS_PRUNE_BATCHES batches per table, each in a
 * transaction of its own; their errors are ignored). */
int rrs_end_pruning(rr_store *s, int err, int64_t now);

#endif
