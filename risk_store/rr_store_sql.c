/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every SQL statement of the store, in one place.  Values are bound
 * parameters only (rrs_bind order = ?1, ?2, ...); names of levels, states and
 * details are bound too, from rr_*_name().
 */
#include "rr_store_int.h"

/* clang-format off */
/* SQL reads better in its own layout. */

#define SIGNIN_COLS \
	"ref, time, user, service, rhost, tty, action, outcome, signin_risk," \
	" user_risk, detections, applied, report_only, reason, mfa, device"

/* Rank of a level column: none (and anything unknown) 0 .. high 3; the
 * names are bound. */
#define LEVEL_RANK(col, low, medium, high) \
	"CASE " col " WHEN " low " THEN 1 WHEN " medium " THEN 2" \
	" WHEN " high " THEN 3 ELSE 0 END"

/* `col` of a sign-in row's latest changed detection; 'none' without */
#define SIGNIN_DETS(col) \
	"coalesce((SELECT d." col " FROM detections d" \
	" WHERE d.ref = signins.ref AND d.scope = '" RRS_SCOPE_SIGNIN "'" \
	" ORDER BY d.updated DESC, d.id DESC LIMIT 1), 'none')"

/* a sign-in row's next change sequence (RRS_MIGRATE_8_9); a bare max()
 * reads it from the index */
#define NEXT_SEQ "(coalesce((SELECT max(seq) FROM signins), 0) + 1)"

#define DET_COLS \
	"id, user, type, level, state, detail, scope, ref, source, detected," \
	" updated"

const char *const rrs_sql[RRS_Q__COUNT] = {
	/* user */
	[RRS_Q_USER_GET] =
		"SELECT level, state, detail, updated FROM users"
		" WHERE user = ?1",
	/* user, atRisk */
	[RRS_Q_USER_ACTIVE] =
		"SELECT count(*) FROM detections WHERE user = ?1"
		" AND state = ?2",
	/* user, level, state, detail, updated */
	[RRS_Q_USER_UPSERT] =
		"INSERT INTO users(user, level, state, detail, updated)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(user) DO UPDATE SET"
		" level = excluded.level, state = excluded.state,"
		" detail = excluded.detail, updated = excluded.updated",
	/* level|NULL, state|NULL, risky_only, none, atRisk, high, medium,
	 * low, limit */
	[RRS_Q_USERS_LIST] =
		"SELECT u.user, u.level, u.state, u.detail, u.updated,"
		" (SELECT count(*) FROM detections d WHERE d.user = u.user"
		"  AND d.state = ?5)"
		" FROM users u WHERE (?1 IS NULL OR u.level = ?1)"
		" AND (?2 IS NULL OR u.state = ?2)"
		" AND (?3 = 0 OR u.level != ?4)"
		" ORDER BY CASE u.level WHEN ?6 THEN 3 WHEN ?7 THEN 2"
		" WHEN ?8 THEN 1 ELSE 0 END DESC, u.updated DESC, u.user"
		" LIMIT ?9",
	/* user */
	[RRS_Q_STATS_GET] =
		"SELECT successes, first_success, fail_mark FROM user_stats"
		" WHERE user = ?1",
	/* user, time, count */
	[RRS_Q_STATS_UPSERT] =
		"INSERT INTO user_stats(user, successes, first_success,"
		" last_success, fail_mark) VALUES (?1, ?3, ?2, ?2,"
		" (SELECT coalesce(max(id), 0) FROM failures))"
		" ON CONFLICT(user) DO UPDATE SET"
		" successes = successes + excluded.successes,"
		" first_success = CASE WHEN first_success = 0"
		"  OR first_success > excluded.first_success"
		"  THEN excluded.first_success ELSE first_success END,"
		" last_success = max(last_success, excluded.last_success),"
		" fail_mark = excluded.fail_mark",
	/* user, netkey */
	[RRS_Q_NET_SEEN] =
		"SELECT 1 FROM familiar_networks WHERE user = ?1"
		" AND netkey = ?2",
	/* user, netkey, time */
	/* user, netkey, time: the version-2 form, for the 1 -> 2 backfill */
	[RRS_Q_MIGRATE_NET] =
		"INSERT INTO familiar_networks(user, netkey, first_seen,"
		" last_seen, count) VALUES (?1, ?2, ?3, ?3, 1)"
		" ON CONFLICT(user, netkey) DO UPDATE SET count = count + 1,"
		" first_seen = min(first_seen, excluded.first_seen),"
		" last_seen = max(last_seen, excluded.last_seen)",
	[RRS_Q_NET_UPSERT] =
		"INSERT INTO familiar_networks(user, netkey, first_seen,"
		" last_seen, count, fail_mark) VALUES (?1, ?2, ?3, ?3, 1,"
		" (SELECT coalesce(max(id), 0) FROM failures))"
		" ON CONFLICT(user, netkey) DO UPDATE SET count = count + 1,"
		" first_seen = min(first_seen, excluded.first_seen),"
		" last_seen = max(last_seen, excluded.last_seen),"
		" fail_mark = excluded.fail_mark",
	/* user, from, to, fail_mark, netkey: failures from the sign-in's
	 * source after the user's last success from that source (or, with no
	 * source key, after the last success) (index
	 * failures_user_netkey_time) */
	[RRS_Q_FAIL_COUNT] =
		"SELECT (SELECT count(*) FROM failures WHERE user = ?1"
		" AND netkey = ?5 AND time >= ?2 AND time <= ?3"
		" AND id > CASE WHEN ?5 = '' THEN ?4 ELSE coalesce((SELECT"
		"  n.fail_mark FROM familiar_networks n WHERE n.user = ?1"
		"  AND n.netkey = ?5), 0) END)"
		/* a fleet's other hosts: failures from the same source after
		 * the user's last success from it anywhere (the shared
		 * familiar record) */
		" + (SELECT count(*) FROM fleet_failures WHERE user = ?1"
		" AND netkey = ?5 AND ?5 != '' AND time >= ?2 AND time <= ?3"
		" AND time > coalesce((SELECT n.last_seen FROM"
		"  familiar_networks n WHERE n.user = ?1 AND n.netkey = ?5),"
		"  0))",
	/* user ('' for a name that is no user), service, rhost, time, netkey,
	 * tag */
	[RRS_Q_FAIL_INSERT] =
		"INSERT INTO failures(user, service, rhost, time, netkey, tag)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* rhost, from, to: failures for names that are no user */
	[RRS_Q_FAIL_UNKNOWN_COUNT] =
		"SELECT count(*) FROM failures WHERE rhost = ?1 AND user = ''"
		" AND time >= ?2 AND time <= ?3",
	[RRS_Q_SIGNIN_INSERT] =
		"INSERT INTO signins(ref, time, user, service, rhost, tty,"
		" netkey, action, outcome, signin_risk, user_risk, detections,"
		" applied, report_only, reason, mfa, device, seq) VALUES (?1,"
		" ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		" ?16, ?17, " NEXT_SEQ ")",
	/* limit */
	/* action, outcome, signin_risk, user_risk, detections, applied,
	 * report_only, reason, mfa, device, ref, user, outcome it must have */
	[RRS_Q_SIGNIN_REWRITE] =
		"UPDATE signins SET action = ?1, outcome = ?2,"
		" signin_risk = ?3, user_risk = ?4, detections = ?5,"
		" applied = ?6, report_only = ?7, reason = ?8, mfa = ?9,"
		" device = ?10, seq = " NEXT_SEQ " WHERE ref = ?11"
		" AND user = ?12"
		" AND outcome = ?13",
	/* ref, user */
	[RRS_Q_DETS_DELETE_REF] =
		"DELETE FROM detections WHERE ref = ?1 AND user = ?2"
		" AND scope = '" RRS_SCOPE_SIGNIN "'",
	/* limit */
	[RRS_Q_SIGNINS_ALL] =
		"SELECT " SIGNIN_COLS " FROM signins"
		" ORDER BY time DESC, rowid DESC LIMIT ?1",
	/* user, limit */
	[RRS_Q_SIGNINS_USER] =
		"SELECT " SIGNIN_COLS " FROM signins WHERE user = ?1"
		" ORDER BY time DESC, rowid DESC LIMIT ?2",
	/* after, limit: changed after that sequence, in its order, with
	 * the state and detail of the sign-in's detections (the latest
	 * changed; none without); after
	 * past the newest (pruning took every row, and the sequence began
	 * again): from the start */
	[RRS_Q_SIGNINS_CHANGED] =
		"SELECT " SIGNIN_COLS ", seq, " SIGNIN_DETS("state") ", "
		SIGNIN_DETS("detail") " FROM signins WHERE seq > (CASE"
		" WHEN ?1 > coalesce((SELECT max(seq) FROM signins), 0)"
		" THEN 0 ELSE ?1 END) ORDER BY seq LIMIT ?2",
	/* ref, user|NULL, limit */
	[RRS_Q_SIGNINS_REF] =
		"SELECT " SIGNIN_COLS " FROM signins WHERE ref = ?1"
		" AND (?2 IS NULL OR user = ?2) LIMIT ?3",
	/* user, type, level, state, detail, scope, ref, source, time */
	[RRS_Q_DET_INSERT] =
		"INSERT INTO detections(user, type, level, state, detail,"
		" scope, ref, source, detected, updated)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
	/* state|NULL, type|NULL, level|NULL, since, limit */
	[RRS_Q_DETS_ALL] =
		"SELECT " DET_COLS " FROM detections"
		" WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR type = ?2)"
		" AND (?3 IS NULL OR level = ?3) AND detected >= ?4"
		" ORDER BY detected DESC, id DESC LIMIT ?5",
	/* state|NULL, type|NULL, level|NULL, since, limit, user */
	[RRS_Q_DETS_USER] =
		"SELECT " DET_COLS " FROM detections"
		" WHERE user = ?6 AND (?1 IS NULL OR state = ?1)"
		" AND (?2 IS NULL OR type = ?2) AND (?3 IS NULL OR level = ?3)"
		" AND detected >= ?4"
		" ORDER BY detected DESC, id DESC LIMIT ?5",
	/* after, limit: ids after `after`, oldest first; `after` past the
	 * newest (another store's cursor): from the start */
	[RRS_Q_DETS_AFTER] =
		"SELECT " DET_COLS " FROM detections WHERE id > (CASE"
		" WHEN ?1 > coalesce((SELECT max(id) FROM detections), 0)"
		" THEN 0 ELSE ?1 END) ORDER BY id LIMIT ?2",
	/* user, new state, new detail, now, atRisk */
	[RRS_Q_DETS_DISMISS] =
		"UPDATE detections SET state = ?2, detail = ?3, updated = ?4"
		" WHERE user = ?1 AND state = ?5",
	/* time, actor, action, target, detail */
	[RRS_Q_AUDIT_INSERT] =
		"INSERT INTO audit(time, actor, action, target, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	/* limit */
	[RRS_Q_AUDIT_LIST] =
		"SELECT id, time, actor, action, target, detail FROM audit"
		" ORDER BY id DESC LIMIT ?1",
	/* key */
	[RRS_Q_META_GET] =
		"SELECT value FROM meta WHERE key = ?1",
	/* key, value */
	[RRS_Q_META_SET] =
		"INSERT INTO meta(key, value) VALUES (?1, ?2)"
		" ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	/* cutoff, batch */
	/* cutoff, batch; never the row of the newest change sequence, so
	 * that the sequence never goes back (a cursor on it, riskctl
	 * --since, would miss the next change) */
	[RRS_Q_PRUNE_SIGNINS] =
		"DELETE FROM signins WHERE rowid IN (SELECT rowid FROM signins"
		" WHERE time < ?1 AND seq < (SELECT max(seq) FROM signins)"
		" LIMIT ?2)",
	/* cutoff, batch */
	/* (both: never the newest id, which would be given again: a cursor
	 * on ids, riskctl detections --since, would miss the next one) */
	[RRS_Q_PRUNE_SIGNIN_DETS] =
		"DELETE FROM detections WHERE id IN (SELECT id FROM detections"
		" WHERE detected < ?1 AND scope = '" RRS_SCOPE_SIGNIN "'"
		" AND id < (SELECT max(id) FROM detections) LIMIT ?2)",
	/* cutoff, batch, atRisk: user risk closed before the cutoff */
	[RRS_Q_PRUNE_USER_DETS] =
		"DELETE FROM detections WHERE id IN (SELECT id FROM detections"
		" WHERE detected < ?1 AND updated < ?1"
		" AND scope = '" RRS_SCOPE_USER "' AND state != ?3"
		" AND id < (SELECT max(id) FROM detections) LIMIT ?2)",
	/* cutoff, batch */
	[RRS_Q_PRUNE_FAILURES] =
		"DELETE FROM failures WHERE id IN (SELECT id FROM failures"
		" WHERE time < ?1 LIMIT ?2)",
	/* cutoff, batch */
	[RRS_Q_PRUNE_FLEET_FAILURES] =
		"DELETE FROM fleet_failures WHERE rowid IN (SELECT rowid FROM"
		" fleet_failures WHERE time < ?1 LIMIT ?2)",
	/* batch */
	[RRS_Q_FLEET_FAIL_DROP] =
		"DELETE FROM fleet_failures WHERE batch = ?1",
	[RRS_Q_FLEET_FAIL_CLEAR] =
		"DELETE FROM fleet_failures",
	/* cutoff, batch */
	[RRS_Q_PRUNE_FLEET_SIGNINS] =
		"DELETE FROM fleet_signins WHERE ref IN (SELECT ref FROM"
		" fleet_signins WHERE time < ?1 LIMIT ?2)",
	/* ref, host, user, time, rank */
	[RRS_Q_FLEET_SIGNIN_PUT] =
		"INSERT OR REPLACE INTO fleet_signins(ref, host, user, time,"
		" rank) VALUES (?1, ?2, ?3, ?4, ?5)",
	/* ref */
	[RRS_Q_FLEET_SIGNIN_DROP] =
		"DELETE FROM fleet_signins WHERE ref = ?1",
	[RRS_Q_FLEET_SIGNIN_CLEAR] =
		"DELETE FROM fleet_signins",
	/* batch, host, user, tag, netkey, rhost, time */
	[RRS_Q_FLEET_FAIL_ADD] =
		"INSERT INTO fleet_failures(batch, host, user, tag, netkey,"
		" rhost, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* after id, limit: this host's failures with a source, in order */
	[RRS_Q_FAIL_SINCE] =
		"SELECT id, user, tag, netkey, rhost, time FROM failures"
		" WHERE id > ?1 AND netkey != '' AND rhost != ''"
		" ORDER BY id LIMIT ?2",
	/* cutoff, batch */
	[RRS_Q_PRUNE_MFA_FAILURES] =
		"DELETE FROM mfa_failures WHERE id IN (SELECT id"
		" FROM mfa_failures WHERE time < ?1 LIMIT ?2)",
	/* cutoff, batch: used (or revoked) and expired before the cutoff */
	[RRS_Q_PRUNE_TAPS] =
		"DELETE FROM tap WHERE id IN (SELECT id FROM tap"
		" WHERE max(used, expires) < ?1 LIMIT ?2)",
	[RRS_Q_MIGRATE_SUCCESSES] =
		"SELECT user, rhost, time FROM signins"
		" WHERE outcome = '" RRS_OUTCOME_SUCCESS "' AND rhost != ''",
	/* user */
	[RRS_Q_MFA_METHOD_GET] =
		"SELECT sealed, alg, digits, period, registered_at, last_step"
		" FROM mfa_methods WHERE user = ?1",
	/* user, sealed, alg, digits, period, registered_at, last_step */
	[RRS_Q_MFA_METHOD_INSERT] =
		"INSERT INTO mfa_methods(user, sealed, alg, digits, period,"
		" registered_at, last_step)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* user */
	[RRS_Q_MFA_METHOD_DELETE] =
		"DELETE FROM mfa_methods WHERE user = ?1",
	/* user */
	[RRS_Q_MFA_METHOD_EXISTS] =
		"SELECT 1 FROM mfa_methods WHERE user = ?1",
	/* user, step: one row changed when the step is newer */
	[RRS_Q_MFA_USE_STEP] =
		"UPDATE mfa_methods SET last_step = ?2"
		" WHERE user = ?1 AND last_step < ?2",
	/* user */
	[RRS_Q_MFA_GRACE_GET] =
		"SELECT grace_start FROM mfa_grace WHERE user = ?1",
	/* user, now */
	[RRS_Q_MFA_GRACE_INSERT] =
		"INSERT OR IGNORE INTO mfa_grace(user, grace_start)"
		" VALUES (?1, ?2)",
	/* user */
	[RRS_Q_MFA_GRACE_DELETE] =
		"DELETE FROM mfa_grace WHERE user = ?1",
	/* user, time */
	[RRS_Q_MFA_FAIL_INSERT] =
		"INSERT INTO mfa_failures(user, time) VALUES (?1, ?2)",
	/* user, from: every failure since `from`, also those a parallel
	 * sign-in with a clock a little ahead recorded "later" */
	[RRS_Q_MFA_FAIL_COUNT] =
		"SELECT count(*) FROM mfa_failures WHERE user = ?1"
		" AND time >= ?2",
	/* user */
	[RRS_Q_MFA_FAIL_DELETE] =
		"DELETE FROM mfa_failures WHERE user = ?1",
	/* user, now: the latest expiry of a usable pass, NULL if none */
	[RRS_Q_TAP_PENDING] =
		"SELECT max(expires) FROM tap WHERE user = ?1 AND used = 0"
		" AND expires > ?2",
	/* user, hash, created, expires */
	[RRS_Q_TAP_INSERT] =
		"INSERT INTO tap(user, hash, created, expires)"
		" VALUES (?1, ?2, ?3, ?4)",
	/* user, now: revoke the usable passes (used is never 0 after) */
	[RRS_Q_TAP_REVOKE] =
		"UPDATE tap SET used = max(?2, 1) WHERE user = ?1 AND used = 0",
	/* user, now, limit */
	[RRS_Q_TAP_CANDIDATES] =
		"SELECT id, hash FROM tap WHERE user = ?1 AND used = 0"
		" AND expires > ?2 ORDER BY id DESC LIMIT ?3",
	/* id, now */
	[RRS_Q_TAP_USE] =
		"UPDATE tap SET used = max(?2, 1) WHERE id = ?1 AND used = 0",
	/* rhost, from, to (index failures_rhost_time) */
	[RRS_Q_SPRAY_COUNT] =
		"SELECT count(DISTINCT who) FROM ("
		" SELECT CASE WHEN user != '' THEN 'u' || user"
		"  ELSE 't' || tag END AS who FROM failures WHERE rhost = ?1"
		"  AND time >= ?2 AND time <= ?3"
		" UNION ALL"
		" SELECT CASE WHEN user != '' THEN 'u' || user"
		"  ELSE 't' || tag END FROM fleet_failures WHERE rhost = ?1"
		"  AND time >= ?2 AND time <= ?3)",
	/* user, atRisk, low, medium, high: rank of the highest active
	 * user-scope detection (0 none .. 3 high) */
	[RRS_Q_USER_DET_MAX] =
		"SELECT coalesce(max(" LEVEL_RANK("level", "?3", "?4", "?5")
		"), 0) FROM detections WHERE user = ?1 AND state = ?2"
		" AND scope = '" RRS_SCOPE_USER "'",
	/* user, type, level, source, now, atRisk */
	[RRS_Q_USER_DET_REFRESH] =
		"UPDATE detections SET level = ?3, source = ?4, updated = ?5"
		" WHERE user = ?1 AND type = ?2 AND state = ?6"
		" AND scope = '" RRS_SCOPE_USER "'",
	/* user */
	[RRS_Q_AGG_GET] =
		"SELECT level, signins, min_level, from_time, to_time"
		" FROM aggregations WHERE user = ?1",
	/* user, level, signins, min_level, from, to */
	[RRS_Q_AGG_UPSERT] =
		"INSERT INTO aggregations(user, level, signins, min_level,"
		" from_time, to_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT(user) DO UPDATE SET level = excluded.level,"
		" signins = excluded.signins, min_level = excluded.min_level,"
		" from_time = excluded.from_time, to_time = excluded.to_time",
	/* user */
	[RRS_Q_AGG_DELETE] =
		"DELETE FROM aggregations WHERE user = ?1",
	/* user, from, to, min rank, atRisk, low, medium, high: the user's
	 * sign-ins in the window at or above the rank with a detection
	 * still at risk; their count and highest rank.  bruteForce and
	 * passwordSpray do not count: they come from failed attempts, which
	 * anyone can make, and mark the source, not the user.  On a fleet
	 * the other hosts' that count too (fleet_signins holds only those) */
	[RRS_Q_AGG_COUNT] =
		"SELECT count(*), coalesce(max(r), 0) FROM (SELECT "
		LEVEL_RANK("g.signin_risk", "?6", "?7", "?8") " AS r"
		" FROM signins g WHERE g.user = ?1 AND g.time >= ?2"
		" AND g.time <= ?3 AND EXISTS (SELECT 1 FROM detections d"
		"  WHERE d.ref = g.ref AND d.user = g.user AND d.state = ?5"
		"  AND d.type NOT IN ('bruteForce', 'passwordSpray')"
		"  AND d.scope = '" RRS_SCOPE_SIGNIN "')"
		" UNION ALL SELECT f.rank AS r FROM fleet_signins f"
		" WHERE f.user = ?1 AND f.time >= ?2 AND f.time <= ?3)"
		" WHERE r >= ?4",
	/* ref: whose sign-in (or, once the sign-in is pruned, detections) */
	[RRS_Q_REF_USER] =
		"SELECT user FROM signins WHERE ref = ?1"
		" UNION ALL SELECT user FROM detections WHERE ref = ?1 LIMIT 1",
	/* ref, confirmedSafe, adminConfirmedSigninSafe, now */
	[RRS_Q_DETS_CONFIRM_SAFE] =
		"UPDATE detections SET state = ?2, detail = ?3, updated = ?4"
		" WHERE ref = ?1 AND state != ?2",
	/* user, device */
	[RRS_Q_DEV_SEEN] =
		"SELECT 1 FROM familiar_devices WHERE user = ?1"
		" AND device = ?2",
	/* user, device, time */
	[RRS_Q_DEV_UPSERT] =
		"INSERT INTO familiar_devices(user, device, first_seen,"
		" last_seen, count) VALUES (?1, ?2, ?3, ?3, 1)"
		" ON CONFLICT(user, device) DO UPDATE SET count = count + 1,"
		" first_seen = min(first_seen, excluded.first_seen),"
		" last_seen = max(last_seen, excluded.last_seen)",
	/* user */
	[RRS_Q_MUST_GET] =
		"SELECT since FROM must_change WHERE user = ?1",
	/* user, since, actor */
	[RRS_Q_MUST_SET] =
		"INSERT INTO must_change(user, since, actor) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(user) DO UPDATE SET since = excluded.since,"
		" actor = excluded.actor",
	/* user */
	[RRS_Q_MUST_DELETE] =
		"DELETE FROM must_change WHERE user = ?1",
	/* device, ref, user, outcome */
	[RRS_Q_SIGNIN_DEVICE_SET] =
		"UPDATE signins SET device = ?1, seq = " NEXT_SEQ
		" WHERE ref = ?2 AND user = ?3 AND outcome = ?4 AND device = ''",
	/* new outcome, ref, user, old outcome */
	[RRS_Q_SIGNIN_OUTCOME_SET] =
		"UPDATE signins SET outcome = ?1, seq = " NEXT_SEQ
		" WHERE ref = ?2 AND user = ?3 AND outcome = ?4",

	/* ---- the fleet replica (rr_store_shared.c) ---- */
	/* user, atRisk, limit: the active user-scope detections, newest
	 * first */
	[RRS_Q_SH_DETS_USER] =
		"SELECT type, level, state, detail, source, detected, updated"
		" FROM detections WHERE user = ?1 AND state = ?2"
		" AND scope = '" RRS_SCOPE_USER "' ORDER BY id DESC LIMIT ?3",
	/* user, atRisk */
	[RRS_Q_SH_DETS_DROP] =
		"DELETE FROM detections WHERE user = ?1 AND state = ?2"
		" AND scope = '" RRS_SCOPE_USER "'",
	/* user, state, detail, updated, atRisk: the user's risk was closed
	 * on another host; so are its sign-ins' detections up to then */
	/* user, ref, time */
	[RRS_Q_SAFE_PUT] =
		"INSERT OR REPLACE INTO safe_refs(user, ref, time)"
		" VALUES (?1, ?2, ?3)",
	/* user, how many to keep */
	[RRS_Q_SAFE_TRIM] =
		"DELETE FROM safe_refs WHERE user = ?1 AND ref NOT IN"
		" (SELECT ref FROM safe_refs WHERE user = ?1"
		" ORDER BY time DESC, ref LIMIT ?2)",
	/* user, limit: newest first */
	[RRS_Q_SAFE_USER] =
		"SELECT ref, time FROM safe_refs WHERE user = ?1"
		" ORDER BY time DESC, ref LIMIT ?2",
	/* user */
	[RRS_Q_SAFE_DELETE] = "DELETE FROM safe_refs WHERE user = ?1",
	/* ref, confirmedSafe, adminConfirmedSigninSafe, time, user, atRisk */
	[RRS_Q_SH_DETS_SAFE] =
		"UPDATE detections SET state = ?2, detail = ?3, updated = ?4"
		" WHERE ref = ?1 AND user = ?5 AND state = ?6",
	[RRS_Q_SH_DETS_CLOSE] =
		"UPDATE detections SET state = ?2, detail = ?3, updated = ?4"
		" WHERE user = ?1 AND state = ?5 AND detected <= ?4",
	/* user, type, level, state, detail, source, detected, updated */
	[RRS_Q_SH_DET_PUT] =
		"INSERT INTO detections(user, type, level, state, detail,"
		" scope, ref, source, detected, updated)"
		" VALUES (?1, ?2, ?3, ?4, ?5, '" RRS_SCOPE_USER "', '', ?6,"
		" ?7, ?8)",
	/* user */
	[RRS_Q_SH_USER_DELETE] =
		"DELETE FROM users WHERE user = ?1",
	/* user, limit: the newest wrong codes, newest first */
	[RRS_Q_SH_FAILURES] =
		"SELECT time FROM mfa_failures WHERE user = ?1"
		" ORDER BY time DESC, id DESC LIMIT ?2",
	/* user, time */
	[RRS_Q_SH_FAIL_PUT] =
		"INSERT INTO mfa_failures(user, time) VALUES (?1, ?2)",
	/* user */
	[RRS_Q_SH_TAP_NEWEST] =
		"SELECT hash, created, expires, used FROM tap WHERE user = ?1"
		" ORDER BY id DESC LIMIT 1",
	/* user */
	[RRS_Q_SH_TAP_DELETE] =
		"DELETE FROM tap WHERE user = ?1",
	/* user, hash, created, expires, used */
	[RRS_Q_SH_TAP_PUT] =
		"INSERT INTO tap(user, hash, created, expires, used)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	/* user */
	[RRS_Q_SH_MUST_GET] =
		"SELECT since, actor FROM must_change WHERE user = ?1",
	/* user, limit: most recently seen first */
	[RRS_Q_SH_NETS] =
		"SELECT netkey, first_seen, last_seen, count"
		" FROM familiar_networks WHERE user = ?1"
		" ORDER BY last_seen DESC, netkey LIMIT ?2",
	/* user: marked; the record's entries unmark, the rest is swept */
	[RRS_Q_SH_NETS_MARK] =
		"UPDATE familiar_networks SET count = -1 WHERE user = ?1",
	/* user, netkey, first_seen, last_seen, count (fail_mark kept) */
	[RRS_Q_SH_NET_PUT] =
		"INSERT INTO familiar_networks(user, netkey, first_seen,"
		" last_seen, count) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT(user, netkey) DO UPDATE SET"
		" first_seen = excluded.first_seen,"
		" last_seen = excluded.last_seen, count = excluded.count",
	/* user */
	[RRS_Q_SH_NETS_SWEEP] =
		"DELETE FROM familiar_networks WHERE user = ?1 AND count = -1",
	/* user, limit */
	[RRS_Q_SH_DEVS] =
		"SELECT device, first_seen, last_seen, count"
		" FROM familiar_devices WHERE user = ?1"
		" ORDER BY last_seen DESC, device LIMIT ?2",
	/* user */
	[RRS_Q_SH_DEVS_MARK] =
		"UPDATE familiar_devices SET count = -1 WHERE user = ?1",
	/* user, device, first_seen, last_seen, count */
	[RRS_Q_SH_DEV_PUT] =
		"INSERT INTO familiar_devices(user, device, first_seen,"
		" last_seen, count) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT(user, device) DO UPDATE SET"
		" first_seen = excluded.first_seen,"
		" last_seen = excluded.last_seen, count = excluded.count",
	/* user */
	[RRS_Q_SH_DEVS_SWEEP] =
		"DELETE FROM familiar_devices WHERE user = ?1 AND count = -1",
	/* user, kind */
	[RRS_Q_SH_REV_GET] =
		"SELECT mod_revision FROM shared_revs WHERE user = ?1"
		" AND kind = ?2",
	/* user, kind, mod_revision */
	[RRS_Q_SH_REV_SET] =
		"INSERT INTO shared_revs(user, kind, mod_revision)"
		" VALUES (?1, ?2, ?3) ON CONFLICT(user, kind) DO UPDATE SET"
		" mod_revision = excluded.mod_revision",
	/* limit */
	[RRS_Q_SH_USERS] =
		"SELECT DISTINCT user FROM shared_revs ORDER BY user LIMIT ?1",
	/* user, kind, reason */
	[RRS_Q_SH_BAD_SET] =
		"INSERT INTO shared_bad(user, kind, reason) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(user, kind) DO UPDATE SET reason = excluded.reason",
	/* user, kind */
	[RRS_Q_SH_BAD_CLEAR] =
		"DELETE FROM shared_bad WHERE user = ?1 AND kind = ?2",
	/* user */
	[RRS_Q_SH_BAD_GET] =
		"SELECT kind, reason FROM shared_bad WHERE user = ?1 LIMIT 1",
	/* user, kinds, time */
	[RRS_Q_SH_QUEUE_ADD] =
		"INSERT INTO shared_queue(user, kinds, time) VALUES (?1, ?2, ?3)",
	/* limit */
	[RRS_Q_SH_QUEUE_LIST] =
		"SELECT id, user, kinds, time FROM shared_queue ORDER BY id"
		" LIMIT ?1",
	/* id */
	[RRS_Q_SH_QUEUE_DONE] =
		"DELETE FROM shared_queue WHERE id = ?1",
	[RRS_Q_SH_QUEUE_COUNT] =
		"SELECT count(*) FROM shared_queue",
	/* user, bit */
	/* user: successes the familiar networks counted, and the first (on a
	 * fleet replica: on every host) */
	[RRS_Q_SEEN_TOTALS] =
		"SELECT coalesce(sum(count), 0), coalesce(min(first_seen), 0)"
		" FROM familiar_networks WHERE user = ?1 AND count > 0",
	[RRS_Q_SH_QUEUE_PENDING] =
		"SELECT 1 FROM shared_queue WHERE user = ?1 AND (kinds & ?2) != 0"
		" LIMIT 1",
	/* riskctl metrics: counts over whole tables, one row per label set,
	 * the largest first */
	/* since, limit */
	[RRS_Q_COUNT_SIGNINS] =
		"SELECT service, action, outcome, count(*), sum(time >= ?1)"
		" FROM signins GROUP BY service, action, outcome"
		" ORDER BY count(*) DESC, service, action, outcome LIMIT ?2",
	/* limit */
	[RRS_Q_COUNT_DETECTIONS] =
		"SELECT type, level, state, count(*) FROM detections"
		" GROUP BY type, level, state"
		" ORDER BY count(*) DESC, type, level, state LIMIT ?1",
	/* limit */
	[RRS_Q_COUNT_USERS] =
		"SELECT level, state, count(*) FROM users GROUP BY level, state"
		" ORDER BY count(*) DESC, level, state LIMIT ?1",
	/* now, grace start at or after which the grace period runs */
	[RRS_Q_COUNT_MFA] =
		"SELECT (SELECT count(*) FROM mfa_methods),"
		" (SELECT count(*) FROM mfa_grace g WHERE g.grace_start >= ?2"
		"  AND NOT EXISTS (SELECT 1 FROM mfa_methods m"
		"  WHERE m.user = g.user)),"
		" (SELECT count(*) FROM mfa_grace g WHERE g.grace_start < ?2"
		"  AND NOT EXISTS (SELECT 1 FROM mfa_methods m"
		"  WHERE m.user = g.user)),"
		" (SELECT count(DISTINCT user) FROM tap WHERE used = 0"
		"  AND expires > ?1)",
};
/* clang-format on */
