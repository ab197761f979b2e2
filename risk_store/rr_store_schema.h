/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SQL schema of the SQLite store, by version.  Internal to risk_store (and
 * its own tests, which build old databases to exercise the migrations).
 *
 * Levels, states, details and detection types are stored as their contract
 * spelling (rr_*_name()).  `scope` is 'user' or 'signin'.
 */
#ifndef RR_STORE_SCHEMA_H
#define RR_STORE_SCHEMA_H

#define RRS_DDL_META \
	"CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL," \
	" value TEXT NOT NULL);"

#define RRS_DDL_USERS \
	"CREATE TABLE users(user TEXT PRIMARY KEY NOT NULL," \
	" level TEXT NOT NULL, state TEXT NOT NULL, detail TEXT NOT NULL," \
	" updated INTEGER NOT NULL);"

#define RRS_DDL_DETECTIONS \
	"CREATE TABLE detections(id INTEGER PRIMARY KEY," \
	" user TEXT NOT NULL, type TEXT NOT NULL, level TEXT NOT NULL," \
	" state TEXT NOT NULL, detail TEXT NOT NULL," \
	" scope TEXT NOT NULL CHECK (scope IN ('user', 'signin'))," \
	" ref TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT ''," \
	" detected INTEGER NOT NULL, updated INTEGER NOT NULL);" \
	"CREATE INDEX detections_user_state ON detections(user, state);" \
	"CREATE INDEX detections_detected ON detections(detected);"

#define RRS_DDL_AUDIT \
	"CREATE TABLE audit(id INTEGER PRIMARY KEY, time INTEGER NOT NULL," \
	" actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL," \
	" detail TEXT NOT NULL);"

#define RRS_DDL_SIGNINS_INDEXES \
	"CREATE INDEX signins_user_time ON signins(user, time);" \
	"CREATE INDEX signins_time ON signins(time);"

/* Version 1: no tty or network key on sign-ins, no sign-in history. */
#define RRS_DDL_SIGNINS_V1 \
	"CREATE TABLE signins(ref TEXT NOT NULL UNIQUE," \
	" time INTEGER NOT NULL," \
	" user TEXT NOT NULL, service TEXT NOT NULL, rhost TEXT NOT NULL," \
	" action TEXT NOT NULL, outcome TEXT NOT NULL," \
	" signin_risk TEXT NOT NULL, user_risk TEXT NOT NULL," \
	" detections TEXT NOT NULL, applied TEXT NOT NULL," \
	" report_only TEXT NOT NULL, reason TEXT NOT NULL);" \
	RRS_DDL_SIGNINS_INDEXES

/* Version 2: tty and the familiar-network key. */
#define RRS_DDL_SIGNINS_V2 \
	"CREATE TABLE signins(ref TEXT NOT NULL UNIQUE," \
	" time INTEGER NOT NULL," \
	" user TEXT NOT NULL, service TEXT NOT NULL, rhost TEXT NOT NULL," \
	" tty TEXT NOT NULL DEFAULT '', netkey TEXT NOT NULL DEFAULT ''," \
	" action TEXT NOT NULL, outcome TEXT NOT NULL," \
	" signin_risk TEXT NOT NULL, user_risk TEXT NOT NULL," \
	" detections TEXT NOT NULL, applied TEXT NOT NULL," \
	" report_only TEXT NOT NULL, reason TEXT NOT NULL);" \
	RRS_DDL_SIGNINS_INDEXES

/* Tables new in version 2: sign-in history kept apart from the sign-ins
 * themselves, so that lookups are O(log n) and survive pruning. */
#define RRS_DDL_HISTORY_V2 \
	"CREATE TABLE familiar_networks(user TEXT NOT NULL," \
	" netkey TEXT NOT NULL, first_seen INTEGER NOT NULL," \
	" last_seen INTEGER NOT NULL, count INTEGER NOT NULL," \
	" PRIMARY KEY (user, netkey)) WITHOUT ROWID;" \
	"CREATE TABLE failures(id INTEGER PRIMARY KEY, user TEXT NOT NULL," \
	" service TEXT NOT NULL, rhost TEXT NOT NULL, time INTEGER NOT NULL);" \
	"CREATE INDEX failures_user_time ON failures(user, time);" \
	"CREATE INDEX failures_time ON failures(time);" \
	"CREATE TABLE user_stats(user TEXT PRIMARY KEY NOT NULL," \
	" successes INTEGER NOT NULL, first_success INTEGER NOT NULL," \
	" last_success INTEGER NOT NULL," \
	" fail_mark INTEGER NOT NULL DEFAULT 0);"

/* Version 3: the MFA outcome of the sign-in. */
#define RRS_DDL_SIGNINS_V3 \
	"CREATE TABLE signins(ref TEXT NOT NULL UNIQUE," \
	" time INTEGER NOT NULL," \
	" user TEXT NOT NULL, service TEXT NOT NULL, rhost TEXT NOT NULL," \
	" tty TEXT NOT NULL DEFAULT '', netkey TEXT NOT NULL DEFAULT ''," \
	" action TEXT NOT NULL, outcome TEXT NOT NULL," \
	" signin_risk TEXT NOT NULL, user_risk TEXT NOT NULL," \
	" detections TEXT NOT NULL, applied TEXT NOT NULL," \
	" report_only TEXT NOT NULL, reason TEXT NOT NULL," \
	" mfa TEXT NOT NULL DEFAULT '');" \
	RRS_DDL_SIGNINS_INDEXES

/*
 * Tables new in version 3: the TOTP authenticator (secret sealed by the
 * caller; last_step is the replay guard), the grace clock of the
 * registration interrupt, wrong codes for the rate limit, and temporary
 * access passes (hash only; used is the time of use or revocation, 0 while
 * usable).
 */
#define RRS_DDL_MFA_V3 \
	"CREATE TABLE mfa_methods(user TEXT PRIMARY KEY NOT NULL," \
	" sealed BLOB NOT NULL, alg INTEGER NOT NULL," \
	" digits INTEGER NOT NULL, period INTEGER NOT NULL," \
	" registered_at INTEGER NOT NULL, last_step INTEGER NOT NULL);" \
	"CREATE TABLE mfa_grace(user TEXT PRIMARY KEY NOT NULL," \
	" grace_start INTEGER NOT NULL);" \
	"CREATE TABLE mfa_failures(id INTEGER PRIMARY KEY," \
	" user TEXT NOT NULL, time INTEGER NOT NULL);" \
	"CREATE INDEX mfa_failures_user_time ON mfa_failures(user, time);" \
	"CREATE TABLE tap(id INTEGER PRIMARY KEY, user TEXT NOT NULL," \
	" hash BLOB NOT NULL, created INTEGER NOT NULL," \
	" expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);" \
	"CREATE INDEX tap_user ON tap(user);"

/*
 * Tables and indexes new in version 4: passwordSpray counts distinct users
 * failing from one source (failures by rhost and time); confirm-safe finds
 * a sign-in's detections by reference; aggregations holds, per user, the
 * aggregation that raised user risk from unremediated risky sign-ins (the
 * level, and the rule and window it was met in, so that confirm-safe can
 * tell whether it still is).
 */
#define RRS_DDL_RISK_V4 \
	"CREATE INDEX failures_rhost_time ON failures(rhost, time);" \
	"CREATE INDEX detections_ref ON detections(ref);" \
	"CREATE TABLE aggregations(user TEXT PRIMARY KEY NOT NULL," \
	" level TEXT NOT NULL, signins INTEGER NOT NULL," \
	" min_level TEXT NOT NULL, from_time INTEGER NOT NULL," \
	" to_time INTEGER NOT NULL);"

/* Version 5: the device (SSH key fingerprint) of the sign-in. */
#define RRS_DDL_SIGNINS_V5 \
	"CREATE TABLE signins(ref TEXT NOT NULL UNIQUE," \
	" time INTEGER NOT NULL," \
	" user TEXT NOT NULL, service TEXT NOT NULL, rhost TEXT NOT NULL," \
	" tty TEXT NOT NULL DEFAULT '', netkey TEXT NOT NULL DEFAULT ''," \
	" action TEXT NOT NULL, outcome TEXT NOT NULL," \
	" signin_risk TEXT NOT NULL, user_risk TEXT NOT NULL," \
	" detections TEXT NOT NULL, applied TEXT NOT NULL," \
	" report_only TEXT NOT NULL, reason TEXT NOT NULL," \
	" mfa TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '');" \
	RRS_DDL_SIGNINS_INDEXES

/*
 * Tables new in version 5: familiar devices (SSH key fingerprints of
 * successful sign-ins, like familiar_networks) and the users who must
 * change their password at the next sign-in (root reset it: `passwd USER`,
 * adminGeneratedTemporaryPassword).
 */
#define RRS_DDL_DEVICES_V5 \
	"CREATE TABLE familiar_devices(user TEXT NOT NULL," \
	" device TEXT NOT NULL, first_seen INTEGER NOT NULL," \
	" last_seen INTEGER NOT NULL, count INTEGER NOT NULL," \
	" PRIMARY KEY (user, device)) WITHOUT ROWID;" \
	"CREATE TABLE must_change(user TEXT PRIMARY KEY NOT NULL," \
	" since INTEGER NOT NULL, actor TEXT NOT NULL);"

/*
 * Version 6: failed attempts by source.  bruteForce counts a user's
 * failures from the sign-in's own source (netkey: the /24 or /64, or the
 * local origin), so failures from elsewhere never make a user's sign-in
 * risky.  A failure for a name that is no user is kept for its source only
 * (passwordSpray): user '' and `tag`, a keyed 64-bit hash of the name (the
 * name itself, which may be a mistyped password, is never stored).  A
 * success forgives the failures from its own source only
 * (familiar_networks.fail_mark: the newest failure id at that success).
 */
#define RRS_DDL_FAILURES_V6 \
	"ALTER TABLE failures ADD COLUMN netkey TEXT NOT NULL DEFAULT '';" \
	"ALTER TABLE failures ADD COLUMN tag TEXT NOT NULL DEFAULT '';" \
	"CREATE INDEX failures_user_netkey_time ON failures(user, netkey," \
	" time);" \
	"ALTER TABLE familiar_networks ADD COLUMN fail_mark INTEGER NOT NULL" \
	" DEFAULT 0;"
/*
 * Version 7: the fleet replica (rr_store_replica.h).  shared_revs: per user
 * and record kind (rr_shared_kind) the etcd mod_revision the rows reflect
 * (0: absent); shared_bad: records that arrived malformed; shared_queue:
 * records changed while etcd was unreachable, or deferred (kinds has bit
 * RR_STORE_QUEUE_DEFERRED), oldest first.  The replica's
 * revision is meta 'fleet_revision'.  Unused with the SQLite backend.
 */
#define RRS_DDL_SHARED_V7 \
	"CREATE TABLE shared_revs(user TEXT NOT NULL, kind INTEGER NOT NULL," \
	" mod_revision INTEGER NOT NULL, PRIMARY KEY (user, kind))" \
	" WITHOUT ROWID;" \
	"CREATE TABLE shared_bad(user TEXT NOT NULL, kind INTEGER NOT NULL," \
	" reason TEXT NOT NULL, PRIMARY KEY (user, kind)) WITHOUT ROWID;" \
	"CREATE TABLE shared_queue(id INTEGER PRIMARY KEY," \
	" user TEXT NOT NULL, kinds INTEGER NOT NULL, time INTEGER NOT NULL);"

/*
 * Version 8: other hosts' failed sign-ins (a fleet replica's copy of the
 * batches under P "fails/", rr_fleet_fails), counted with this host's own
 * for bruteForce and passwordSpray.  batch: its key's segment (a batch is
 * replaced or dropped whole).  Unused with the SQLite backend.
 */
#define RRS_DDL_FLEET_FAILS_V8 \
	"CREATE TABLE fleet_failures(batch TEXT NOT NULL, host TEXT NOT NULL," \
	" user TEXT NOT NULL, tag TEXT NOT NULL, netkey TEXT NOT NULL," \
	" rhost TEXT NOT NULL, time INTEGER NOT NULL);" \
	"CREATE INDEX fleet_failures_batch ON fleet_failures(batch);" \
	"CREATE INDEX fleet_failures_user ON fleet_failures(user, netkey," \
	" time);" \
	"CREATE INDEX fleet_failures_rhost ON fleet_failures(rhost, time);" \
	"CREATE INDEX fleet_failures_time ON fleet_failures(time);"

#define RRS_SCHEMA_V1 \
	RRS_DDL_META RRS_DDL_USERS RRS_DDL_SIGNINS_V1 RRS_DDL_DETECTIONS \
	RRS_DDL_AUDIT \
	"PRAGMA user_version = 1;"

#define RRS_SCHEMA_V2 \
	RRS_DDL_META RRS_DDL_USERS RRS_DDL_SIGNINS_V2 RRS_DDL_DETECTIONS \
	RRS_DDL_AUDIT RRS_DDL_HISTORY_V2 \
	"PRAGMA user_version = 2;"

#define RRS_SCHEMA_V3 \
	RRS_DDL_META RRS_DDL_USERS RRS_DDL_SIGNINS_V3 RRS_DDL_DETECTIONS \
	RRS_DDL_AUDIT RRS_DDL_HISTORY_V2 RRS_DDL_MFA_V3 \
	"PRAGMA user_version = 3;"

#define RRS_SCHEMA_V4 \
	RRS_DDL_META RRS_DDL_USERS RRS_DDL_SIGNINS_V3 RRS_DDL_DETECTIONS \
	RRS_DDL_AUDIT RRS_DDL_HISTORY_V2 RRS_DDL_MFA_V3 RRS_DDL_RISK_V4 \
	"PRAGMA user_version = 4;"

#define RRS_SCHEMA_V5 \
	RRS_DDL_META RRS_DDL_USERS RRS_DDL_SIGNINS_V5 RRS_DDL_DETECTIONS \
	RRS_DDL_AUDIT RRS_DDL_HISTORY_V2 RRS_DDL_MFA_V3 RRS_DDL_RISK_V4 \
	RRS_DDL_DEVICES_V5 \
	"PRAGMA user_version = 5;"
#define RRS_SCHEMA_V6 \
	RRS_DDL_META RRS_DDL_USERS RRS_DDL_SIGNINS_V5 RRS_DDL_DETECTIONS \
	RRS_DDL_AUDIT RRS_DDL_HISTORY_V2 RRS_DDL_MFA_V3 RRS_DDL_RISK_V4 \
	RRS_DDL_DEVICES_V5 RRS_DDL_FAILURES_V6 \
	"PRAGMA user_version = 6;"
#define RRS_SCHEMA_V7 \
	RRS_DDL_META RRS_DDL_USERS RRS_DDL_SIGNINS_V5 RRS_DDL_DETECTIONS \
	RRS_DDL_AUDIT RRS_DDL_HISTORY_V2 RRS_DDL_MFA_V3 RRS_DDL_RISK_V4 \
	RRS_DDL_DEVICES_V5 RRS_DDL_FAILURES_V6 RRS_DDL_SHARED_V7 \
	"PRAGMA user_version = 7;"
/* Version 10 is version 7, RRS_MIGRATE_7_8, RRS_MIGRATE_8_9 and
 * RRS_MIGRATE_9_10 (schema_create). */

/*
 * 1 -> 2, in one transaction with the C part in between: the network keys of
 * old successful sign-ins are computed from rhost (rr_addr_netkey) and fill
 * familiar_networks before the version is bumped.
 */
#define RRS_MIGRATE_1_2 \
	"ALTER TABLE signins ADD COLUMN tty TEXT NOT NULL DEFAULT '';" \
	"ALTER TABLE signins ADD COLUMN netkey TEXT NOT NULL DEFAULT '';" \
	RRS_DDL_HISTORY_V2 \
	"INSERT INTO user_stats(user, successes, first_success, last_success)" \
	" SELECT user, count(*), min(time), max(time) FROM signins" \
	" WHERE outcome = 'success' GROUP BY user;"

#define RRS_MIGRATE_1_2_DONE "PRAGMA user_version = 2;"

/* 2 -> 3: old sign-ins have no MFA outcome (''). */
#define RRS_MIGRATE_2_3 \
	"ALTER TABLE signins ADD COLUMN mfa TEXT NOT NULL DEFAULT '';" \
	RRS_DDL_MFA_V3 \
	"PRAGMA user_version = 3;"

/* 3 -> 4: indexes and the aggregations table; no data changes. */
#define RRS_MIGRATE_3_4 \
	RRS_DDL_RISK_V4 \
	"PRAGMA user_version = 4;"

/* 4 -> 5: old sign-ins have no device (''). */
#define RRS_MIGRATE_4_5 \
	"ALTER TABLE signins ADD COLUMN device TEXT NOT NULL DEFAULT '';" \
	RRS_DDL_DEVICES_V5 \
	"PRAGMA user_version = 5;"

/* 5 -> 6: older failures have no source key ('') and so count toward no
 * sign-in's bruteForce; they expire with the window. */
#define RRS_MIGRATE_5_6 \
	RRS_DDL_FAILURES_V6 \
	"PRAGMA user_version = 6;"

/* 6 -> 7: the fleet replica's tables, empty. */
#define RRS_MIGRATE_6_7 \
	RRS_DDL_SHARED_V7 \
	"PRAGMA user_version = 7;"

/* 7 -> 8: other hosts' failures, empty (the replica loads them). */
#define RRS_MIGRATE_7_8 \
	RRS_DDL_FLEET_FAILS_V8 \
	"PRAGMA user_version = 8;"

/* 8 -> 9: each sign-in's change sequence (a fleet publishes the risky ones
 * in its order, rr_store_signins_changed): a new sequence whenever the row
 * is written or the state of its detections changes (a trigger: every
 * close, confirmation or remediation, on whatever path); the old rows get
 * theirs in rowid order.  And the user's
 * sign-ins an admin confirmed safe (a fleet carries them in the user's
 * risk record to the host that logged them): the newest
 * RR_FLEET_MAX_SAFE_REFS per user. */
#define RRS_MIGRATE_8_9 \
	"ALTER TABLE signins ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;" \
	"UPDATE signins SET seq = rowid;" \
	"CREATE INDEX signins_seq ON signins(seq);" \
	"CREATE TABLE safe_refs(user TEXT NOT NULL, ref TEXT NOT NULL," \
	" time INTEGER NOT NULL, PRIMARY KEY (user, ref));" \
	"CREATE TRIGGER signin_dets_state AFTER UPDATE OF state ON detections" \
	" WHEN NEW.scope = 'signin' AND NEW.state != OLD.state BEGIN" \
	" UPDATE signins SET seq = coalesce((SELECT max(seq) FROM signins)," \
	" 0) + 1 WHERE ref = NEW.ref; END;" \
	"PRAGMA user_version = 9;"

/* 9 -> 10: other hosts' risky sign-ins that count toward a user's
 * aggregation (a fleet replica's copy of those under P "signins/" whose
 * detections are at risk; rank: their sign-in risk, low 1 .. high 3),
 * empty (the replica loads them).  Unused with the SQLite backend. */
#define RRS_MIGRATE_9_10 \
	"CREATE TABLE fleet_signins(ref TEXT PRIMARY KEY, host TEXT NOT NULL," \
	" user TEXT NOT NULL, time INTEGER NOT NULL, rank INTEGER NOT NULL)" \
	" WITHOUT ROWID;" \
	"CREATE INDEX fleet_signins_user ON fleet_signins(user, time);" \
	"CREATE INDEX fleet_signins_time ON fleet_signins(time);" \
	"PRAGMA user_version = 10;"
#endif
