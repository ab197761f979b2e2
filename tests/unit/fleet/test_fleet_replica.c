/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store as a fleet replica (rr_store_replica.h) and the offline merges
 * (rr_fleet_merge), without etcd: records exported from one store and put
 * into another read back the same through the ordinary verbs; revisions
 * order puts; a malformed record refuses its user; the publish protocol of
 * a write (published, changed elsewhere, unreachable) through a link.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rr_fleet.h"
#include "rr_fleet_attacks.h"
#include "rr_fleet_signins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rr_store *mem(void)
{
	rr_store *s = NULL;

	assert_int_equal(rr_store_open_memory(&s), 0);
	return s;
}

static rr_fleet_user *export_all(rr_store *s, const char *user)
{
	rr_fleet_user *u = calloc(1, sizeof(*u));

	assert_non_null(u);
	assert_int_equal(rr_store_replica_export(s, user, RR_SHARED_ALL, u,
						 NULL),
			 0);
	return u;
}

static int wrong_code(void *ctx, int64_t last_step, int64_t *step)
{
	(void)ctx;
	(void)last_step;
	(void)step;
	return -EACCES;
}

static const uint8_t sealed[40] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t tap_hash[RR_STORE_TAP_HASH_LEN] = {7, 7, 7};

/* Some of everything, through the ordinary verbs. */
static void fill(rr_store *s)
{
	rr_store_attempt a = {.window_s = 900, .max_failures = 5,
			      .check = wrong_code};
	rr_signin_rec rec = {.time = 1000, .user = "alice", .service = "sshd",
			     .rhost = "192.0.2.7", .tty = "ssh",
			     .netkey = "192.0.2.0/24", .device = "SHA256:abc",
			     .action = RR_ACTION_ALLOW, .outcome = "success",
			     .reason = "ok", .mfa = ""};
	char ref[RR_REF_LEN + 1];
	int64_t start = 0;

	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED, "bob",
					"root", 900, NULL),
			 0);
	assert_int_equal(rr_store_mfa_register(s, "alice", sealed,
					       sizeof(sealed), 0, 6, 30, 33,
					       950),
			 0);
	assert_int_equal(rr_store_mfa_attempt(s, "alice", 990, &a, NULL),
			 -EACCES);
	assert_int_equal(rr_store_mfa_grace_begin(s, "carol", 970, &start), 0);
	assert_int_equal(rr_store_tap_issue(s, "carol", tap_hash, 5000, "root",
					    980),
			 0);
	assert_int_equal(rr_store_remediate_user(
			     s, "dave", RR_DETAIL_ADMIN_TEMP_PASSWORD, "root",
			     NULL, 985, NULL),
			 0);
	assert_int_equal(rr_store_signin_record(s, &rec, ref), 0);
}

/* Every record of a user survives export -> put -> export unchanged, and
 * the verbs read the same on the replica. */
static void test_roundtrip(void **state)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave"};
	rr_store *a = mem(), *b = mem();
	rr_store_user ua, ub;
	rr_store_mfa ma, mb;
	rr_history h;
	bool seen = false;
	size_t i;
	unsigned k;

	(void)state;
	fill(a);
	for (i = 0; i < 4; i++) {
		rr_fleet_user *x = export_all(a, users[i]), *y;

		for (k = 0; k < RR_SHARED__COUNT; k++)
			assert_int_equal(rr_store_replica_put(b, users[i], k, x,
							      10 + k),
					 0);
		y = export_all(b, users[i]);
		assert_memory_equal(x, y, sizeof(*x));
		rr_fleet_user_free(x);
		rr_fleet_user_free(y);
		assert_int_equal(rr_store_user_get(a, users[i], &ua), 0);
		assert_int_equal(rr_store_user_get(b, users[i], &ub), 0);
		assert_int_equal(ua.level, ub.level);
		assert_int_equal(ua.state, ub.state);
		assert_int_equal(ua.detail, ub.detail);
		assert_int_equal(ua.active_detections, ub.active_detections);
		assert_int_equal(ua.must_change, ub.must_change);
		assert_int_equal(rr_store_mfa_get(a, users[i], 1000, 900, &ma),
				 0);
		assert_int_equal(rr_store_mfa_get(b, users[i], 1000, 900, &mb),
				 0);
		assert_memory_equal(&ma, &mb, sizeof(ma));
	}
	assert_int_equal(rr_store_user_get(b, "bob", &ub), 0);
	assert_int_equal(ub.level, RR_LEVEL_HIGH);
	assert_int_equal(ub.state, RR_STATE_CONFIRMED_COMPROMISED);
	assert_int_equal(rr_store_mfa_get(b, "alice", 1000, 900, &mb), 0);
	assert_true(mb.registered);
	assert_int_equal(mb.last_step, 33);
	assert_int_equal(mb.recent_failures, 1);
	assert_int_equal(rr_store_mfa_get(b, "carol", 1000, 900, &mb), 0);
	assert_true(mb.tap_pending);
	assert_int_equal(mb.grace_start, 970);
	assert_int_equal(rr_store_user_get(b, "dave", &ub), 0);
	assert_true(ub.must_change);
	/* familiar on the replica: the network and the device */
	assert_int_equal(rr_store_history(b, "alice", "192.0.2.0/24", 1000,
					  600, &h),
			 0);
	assert_true(h.network_seen);
	/* the replica has none of alice's sign-ins, yet knows her: she is
	 * not learning again on this host (fleet-wide familiarity) */
	assert_int_equal(rr_store_history(b, "alice", "198.51.100.0/24", 1000,
					  600, &h),
			 0);
	assert_false(h.network_seen);
	assert_int_equal(h.successes, 1);
	assert_int_equal(h.first_success, 1000);
	assert_int_equal(rr_store_device_seen(b, "alice", "SHA256:abc", &seen),
			 0);
	assert_true(seen);
	rr_store_close(a);
	rr_store_close(b);
}

/* Puts are ordered by revision; absent removes; a malformed record refuses
 * the user until a valid one arrives. */
static void test_revisions_and_bad(void **state)
{
	rr_store *a = mem(), *b = mem();
	rr_fleet_user *hi, *none = calloc(1, sizeof(*none));
	rr_store_user u;
	rr_store_mfa m;

	(void)state;
	assert_non_null(none);
	assert_int_equal(rr_store_admin(a, RR_ADMIN_CONFIRM_COMPROMISED, "bob",
					"root", 900, NULL),
			 0);
	hi = export_all(a, "bob");
	assert_int_equal(rr_store_replica_put(b, "bob", RR_SHARED_RISK, hi, 20),
			 0);
	/* an older revision (absent at 15) is not applied */
	assert_int_equal(rr_store_replica_put(b, "bob", RR_SHARED_RISK, none,
					      15),
			 0);
	assert_int_equal(rr_store_user_get(b, "bob", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_HIGH);
	/* a newer delete is */
	assert_int_equal(rr_store_replica_put(b, "bob", RR_SHARED_RISK, none,
					      25),
			 0);
	assert_int_equal(rr_store_user_get(b, "bob", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_NONE);
	/* malformed: bob refused, alice not */
	assert_int_equal(rr_store_replica_bad(b, "bob", RR_SHARED_MFA,
					      "not a valid record", 30),
			 0);
	assert_int_equal(rr_store_user_get(b, "bob", &u), -EBADMSG);
	assert_non_null(strstr(rr_store_last_error(b), "mfa record"));
	assert_int_equal(rr_store_mfa_get(b, "bob", 1000, 900, &m), -EBADMSG);
	assert_int_equal(rr_store_user_get(b, "alice", &u), 0);
	/* a valid record later lets bob in again */
	assert_int_equal(rr_store_replica_put(b, "bob", RR_SHARED_MFA, none,
					      31),
			 0);
	assert_int_equal(rr_store_user_get(b, "bob", &u), 0);
	rr_fleet_user_free(hi);
	rr_fleet_user_free(none);
	rr_store_close(a);
	rr_store_close(b);
}

/* Whether the replica reflects a record at a revision: the watch's test
 * for the echo of a host's own write (nothing to write then). */
static void test_reflects(void **state)
{
	rr_store *a = mem(), *b = mem();
	rr_fleet_user *hi, *none = calloc(1, sizeof(*none));
	bool yes = true;

	(void)state;
	assert_non_null(none);
	assert_int_equal(rr_store_admin(a, RR_ADMIN_CONFIRM_COMPROMISED, "bob",
					"root", 900, NULL),
			 0);
	hi = export_all(a, "bob");
	assert_int_equal(rr_store_replica_put(b, "bob", RR_SHARED_RISK, hi, 20),
			 0);
	/* held at 20: that revision and older ones are reflected, a newer
	 * one (present or deleted) is not */
	assert_int_equal(rr_store_replica_reflects(b, "bob", RR_SHARED_RISK,
						   true, 20, &yes),
			 0);
	assert_true(yes);
	assert_int_equal(rr_store_replica_reflects(b, "bob", RR_SHARED_RISK,
						   true, 19, &yes),
			 0);
	assert_true(yes);
	assert_int_equal(rr_store_replica_reflects(b, "bob", RR_SHARED_RISK,
						   true, 21, &yes),
			 0);
	assert_false(yes);
	assert_int_equal(rr_store_replica_reflects(b, "bob", RR_SHARED_RISK,
						   false, 25, &yes),
			 0);
	assert_false(yes);
	assert_int_equal(rr_store_replica_reflects(b, "bob", RR_SHARED_RISK,
						   false, 15, &yes),
			 0);
	assert_true(yes);
	/* another kind of bob's, and a user never seen: absent, so only a
	 * delete is reflected */
	assert_int_equal(rr_store_replica_reflects(b, "bob", RR_SHARED_MFA,
						   true, 5, &yes),
			 0);
	assert_false(yes);
	assert_int_equal(rr_store_replica_reflects(b, "carol", RR_SHARED_RISK,
						   false, 5, &yes),
			 0);
	assert_true(yes);
	/* what reflects says is what a put does: the delete at 25 applies,
	 * after it a delete at 30 has nothing to do */
	assert_int_equal(rr_store_replica_put(b, "bob", RR_SHARED_RISK, none,
					      25),
			 0);
	assert_int_equal(rr_store_replica_reflects(b, "bob", RR_SHARED_RISK,
						   false, 30, &yes),
			 0);
	assert_true(yes);
	assert_int_equal(rr_store_replica_reflects(b, "bob", RR_SHARED_RISK,
						   true, 26, &yes),
			 0);
	assert_false(yes);
	assert_int_equal(rr_store_replica_reflects(b, "", RR_SHARED_RISK,
						   true, 1, &yes),
			 -EINVAL);
	rr_fleet_user_free(hi);
	rr_fleet_user_free(none);
	rr_store_close(a);
	rr_store_close(b);
}

/* ---- failed sign-ins across the fleet -------------------------------- */

static void fail_here(rr_store *s, const char *user, const char *rhost,
		      const char *netkey, int64_t t)
{
	rr_store_failure f = {.user = user, .name = user, .service = "sshd",
			      .rhost = rhost, .netkey = netkey, .time = t};

	assert_int_equal(rr_store_failure_record(s, &f), 0);
}

static void add_failure(rr_fleet_fails *v, const char *user,
			const char *rhost, const char *netkey, int64_t t)
{
	rr_fleet_failure *f = &v->failures[v->n++];

	memset(f, 0, sizeof(*f));
	snprintf(f->user, sizeof(f->user), "%s", user);
	snprintf(f->rhost, sizeof(f->rhost), "%s", rhost);
	snprintf(f->netkey, sizeof(f->netkey), "%s", netkey);
	f->time = t;
}

static uint64_t fails_of(rr_store *s, const char *user, const char *netkey,
			 int64_t now)
{
	rr_history h;

	assert_int_equal(rr_store_history(s, user, netkey, now, 600, &h), 0);
	return h.recent_failures;
}

static uint64_t spray_of(rr_store *s, const char *rhost, int64_t now)
{
	uint64_t n = 0;

	assert_int_equal(rr_store_spray_count(s, rhost, now, 600, &n), 0);
	return n;
}

/*
 * Other hosts' failures (their batches) count with this host's own:
 * bruteForce per user and source, after the user's last success from that
 * source anywhere; passwordSpray per source, each user once.  A batch is
 * replaced or dropped whole.
 */
static void test_fleet_failures_count(void **state)
{
	rr_fleet_fails *b = calloc(1, sizeof(*b));
	rr_store *s = mem();
	rr_signin_rec ok = {.time = 1200, .user = "carol", .service = "sshd",
			    .rhost = "192.0.2.9", .tty = "ssh",
			    .netkey = "192.0.2.0/24", .device = "",
			    .action = RR_ACTION_ALLOW, .outcome = "success",
			    .reason = "ok", .mfa = ""};
	char ref[RR_REF_LEN + 1];

	(void)state;
	assert_non_null(b);
	fail_here(s, "bob", "192.0.2.50", "192.0.2.0/24", 1000);
	fail_here(s, "bob", "192.0.2.50", "192.0.2.0/24", 1001);
	assert_int_equal(fails_of(s, "bob", "192.0.2.0/24", 1100), 2);
	/* host b: one of bob's from the same source, one from elsewhere,
	 * and two other users from that address */
	snprintf(b->host, sizeof(b->host), "hostb");
	add_failure(b, "bob", "192.0.2.51", "192.0.2.0/24", 1002);
	add_failure(b, "bob", "198.51.100.1", "198.51.100.0/24", 1003);
	add_failure(b, "carol", "192.0.2.50", "192.0.2.0/24", 1004);
	add_failure(b, "dave", "192.0.2.50", "192.0.2.0/24", 1005);
	assert_int_equal(rr_store_fleet_fails_put(s, "3.hostb", b), 0);
	assert_int_equal(fails_of(s, "bob", "192.0.2.0/24", 1100), 3);
	assert_int_equal(fails_of(s, "bob", "198.51.100.0/24", 1100), 1);
	/* out of the window: not counted */
	assert_int_equal(fails_of(s, "bob", "192.0.2.0/24", 1605), 0);
	/* bob here, carol and dave there; bob twice is one user */
	assert_int_equal(spray_of(s, "192.0.2.50", 1100), 3);
	/* the same batch again replaces it (nothing doubles) */
	assert_int_equal(rr_store_fleet_fails_put(s, "3.hostb", b), 0);
	assert_int_equal(fails_of(s, "bob", "192.0.2.0/24", 1100), 3);
	assert_int_equal(spray_of(s, "192.0.2.50", 1100), 3);
	/* carol signs in from that network (anywhere in the fleet: the
	 * shared familiar record): her failures from it before are
	 * forgiven, here and there */
	assert_int_equal(rr_store_signin_record(s, &ok, ref), 0);
	assert_int_equal(fails_of(s, "carol", "192.0.2.0/24", 1300), 0);
	/* dropped (its lease ended): only this host's own */
	assert_int_equal(rr_store_fleet_fails_drop(s, "3.hostb"), 0);
	assert_int_equal(fails_of(s, "bob", "192.0.2.0/24", 1100), 2);
	assert_int_equal(spray_of(s, "192.0.2.50", 1100), 1);
	assert_int_equal(rr_store_fleet_fails_put(s, "3.hostb", b), 0);
	assert_int_equal(rr_store_fleet_fails_clear(s), 0);
	assert_int_equal(spray_of(s, "192.0.2.50", 1100), 1);
	/* bad batches */
	assert_int_equal(rr_store_fleet_fails_put(s, "", b), -EINVAL);
	b->n = RR_FLEET_MAX_FAIL_BATCH + 1;
	assert_int_equal(rr_store_fleet_fails_put(s, "x", b), -EINVAL);
	free(b);
	rr_store_close(s);
}

/* This host's failures to publish: those with a source, in order, from
 * a mark that is kept. */
static void test_failures_since(void **state)
{
	rr_fleet_failure out[4];
	rr_store *s = mem();
	rr_store_failure local = {.user = "bob", .name = "bob",
				  .service = "login", .rhost = "",
				  .netkey = "local", .time = 999};
	rr_store_failure ghost = {.user = NULL, .name = "nosuchuser",
				  .service = "sshd", .rhost = "192.0.2.77",
				  .netkey = "192.0.2.0/24", .time = 1003};
	int64_t last = -1, mark = -1;
	size_t n = 9;

	(void)state;
	assert_int_equal(rr_store_failure_record(s, &local), 0);
	fail_here(s, "bob", "192.0.2.50", "192.0.2.0/24", 1000);
	fail_here(s, "carol", "192.0.2.50", "192.0.2.0/24", 1001);
	fail_here(s, "dave", "192.0.2.51", "192.0.2.0/24", 1002);
	assert_int_equal(rr_store_failure_record(s, &ghost), 0);
	assert_int_equal(rr_store_failures_since(s, 0, 2, out, &n, &last), 0);
	assert_int_equal(n, 2); /* the console failure is not one */
	assert_string_equal(out[0].user, "bob");
	assert_string_equal(out[1].user, "carol");
	assert_string_equal(out[1].rhost, "192.0.2.50");
	assert_int_equal(out[1].time, 1001);
	assert_int_equal(rr_store_mark_get(s, RR_STORE_MARK_FAILS, &mark), 0);
	assert_int_equal(mark, 0);
	assert_int_equal(rr_store_mark_set(s, RR_STORE_MARK_FAILS, last), 0);
	assert_int_equal(rr_store_mark_get(s, RR_STORE_MARK_FAILS, &mark), 0);
	assert_int_equal(mark, last);
	assert_int_equal(rr_store_failures_since(s, mark, 4, out, &n, &last),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].user, "dave");
	/* a name that is no user: its tag, never the name */
	assert_string_equal(out[1].user, "");
	assert_int_equal(strlen(out[1].tag), RR_FLEET_TAG_LEN);
	assert_int_equal(rr_store_failures_since(s, last, 4, out, &n, &mark),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(mark, last);
	rr_store_close(s);
}

/* This host's sign-ins in the order they changed: a rewrite (an
 * interrupted sign-in that ends) and a device set later each move the row
 * past the others; a mark past the newest (every row pruned) reads from
 * the start; the publisher's choice of what is risky. */
static void test_signins_changed(void **state)
{
	rr_signin_rec rec = {.time = 1000, .user = "alice", .service = "sshd",
			     .rhost = "192.0.2.7", .tty = "ssh",
			     .netkey = "192.0.2.0/24",
			     .action = RR_ACTION_ALLOW, .outcome = "success",
			     .reason = "ok", .mfa = ""};
	rr_detection det = {RR_EVENT_UNFAMILIAR_FEATURES, RR_LEVEL_MEDIUM};
	char ref_a[RR_REF_LEN + 1], ref_b[RR_REF_LEN + 1];
	rr_store_signin out[4];
	rr_store_signin_change ch[4];
	int64_t mark = -1;
	rr_store *s = mem();
	size_t n = 9;

	(void)state;
	assert_int_equal(rr_store_signins_changed(s, 0, 4, out, ch, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rr_store_signin_record(s, &rec, ref_a), 0);
	rec.user = "bob";
	rec.time = 1001;
	rec.action = RR_ACTION_REQUIRE;
	rec.outcome = RR_OUTCOME_INTERRUPTED;
	rec.dets = &det;
	rec.n_dets = 1;
	assert_int_equal(rr_store_signin_record(s, &rec, ref_b), 0);
	assert_int_equal(rr_store_signins_changed(s, 0, 4, out, ch, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].ref, ref_a);
	assert_string_equal(out[1].ref, ref_b);
	assert_string_equal(out[1].detections, "unfamiliarFeatures:medium");
	assert_int_equal(ch[0].state, RR_STATE_NONE); /* no detection */
	assert_int_equal(ch[1].state, RR_STATE_AT_RISK); /* no MFA yet */
	assert_true(ch[0].seq < ch[1].seq);
	assert_false(rr_fleet_signin_risky(&out[0]));
	assert_true(rr_fleet_signin_risky(&out[1]));
	assert_int_equal(rr_store_mark_get(s, RR_STORE_MARK_SIGNINS, &mark),
			 0);
	assert_int_equal(mark, 0);
	assert_int_equal(rr_store_mark_set(s, RR_STORE_MARK_SIGNINS, ch[1].seq),
			 0);
	mark = ch[1].seq;
	/* bob's sign-in ends: it changed again */
	rec.ref = ref_b;
	rec.outcome = "success";
	rec.mfa_passed = true;
	rec.mfa = "passed";
	assert_int_equal(rr_store_signin_record(s, &rec, ref_b), 0);
	assert_int_equal(rr_store_signins_changed(s, mark, 4, out, ch, &n),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].ref, ref_b);
	assert_string_equal(out[0].outcome, "success");
	assert_string_equal(out[0].mfa, "passed");
	assert_int_equal(ch[0].state, RR_STATE_REMEDIATED);
	assert_int_equal(ch[0].detail, RR_DETAIL_USER_PASSED_MFA);
	/* an MFA sign-in is risky even when it passed */
	assert_true(rr_fleet_signin_risky(&out[0]));
	mark = ch[0].seq;
	/* alice's device told at session open: hers changed */
	assert_int_equal(rr_store_signin_device_set(s, "alice", ref_a,
						    "SHA256:abc", 1002),
			 0);
	assert_int_equal(rr_store_signins_changed(s, mark, 4, out, ch, &n),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].ref, ref_a);
	assert_string_equal(out[0].device, "SHA256:abc");
	assert_true(ch[0].seq > mark);
	/* nothing after the newest; a mark past it reads from the start */
	assert_int_equal(rr_store_signins_changed(s, ch[0].seq, 4, out, ch, &n),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(rr_store_signins_changed(s, 1000, 1, out, ch, &n),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].ref, ref_b);
	assert_int_equal(rr_store_signins_changed(s, 0, 0, out, ch, &n),
			 -EINVAL);
	assert_int_equal(rr_store_signins_changed(s, -1, 4, out, ch, &n),
			 -EINVAL);
	rr_store_close(s);
}

/* Active-or-not detections of sign-in `ref` of alice in s: the first's
 * state. */
static rr_state ref_state(rr_store *s, const char *ref)
{
	rr_store_detection_filter f = {.user = "alice"};
	rr_store_detection *d = NULL;
	rr_state st = RR_STATE_NONE;
	size_t n = 0, i;

	assert_int_equal(rr_store_detections_list(s, &f, &d, &n), 0);
	for (i = 0; i < n; i++)
		if (!strcmp(d[i].ref, ref))
			st = d[i].state;
	free(d);
	return st;
}

/*
 * confirm-safe of another host's sign-in: on the tenant's copy (no
 * sign-ins) it needs the user, recomputes the risk and carries the
 * reference in the risk record; the host that logged the sign-in marks
 * its detections confirmedSafe when that record arrives (its other
 * sign-in stays at risk) and publishes the sign-in again.  A merge keeps
 * both sides' references.
 */
static void test_confirm_safe_carried(void **state)
{
	rr_detection det = {RR_EVENT_UNFAMILIAR_FEATURES, RR_LEVEL_MEDIUM};
	rr_signin_rec rec = {.time = 1000, .user = "alice", .service = "sshd",
			     .rhost = "192.0.2.7", .tty = "ssh",
			     .netkey = "192.0.2.0/24", .dets = &det,
			     .n_dets = 1, .signin_risk = RR_LEVEL_MEDIUM,
			     .action = RR_ACTION_BLOCK, .outcome = "blocked",
			     .reason = "x", .mfa = ""};
	char ref[RR_REF_LEN + 1], other[RR_REF_LEN + 1];
	rr_store *host = mem(), *tenant = mem();
	rr_store_signin out[4];
	rr_store_signin_change ch[4];
	rr_fleet_user *u, *mine, *theirs;
	int64_t mark = 0;
	size_t n = 0;

	(void)state;
	assert_int_equal(rr_store_signin_record(host, &rec, ref), 0);
	rec.time = 1001;
	assert_int_equal(rr_store_signin_record(host, &rec, other), 0);
	assert_int_equal(rr_store_signins_changed(host, 0, 4, out, ch, &n), 0);
	assert_int_equal(n, 2);
	mark = ch[1].seq;
	assert_int_equal(ch[0].state, RR_STATE_AT_RISK);
	assert_int_equal(rr_store_admin(tenant, RR_ADMIN_CONFIRM_COMPROMISED,
					"bob", "root", 900, NULL),
			 0);

	/* the tenant's copy: no such sign-in, so the user is needed */
	assert_int_equal(rr_store_confirm_safe_of(tenant, ref, NULL, "root",
						  2000),
			 -EINVAL);
	assert_int_equal(rr_store_confirm_safe_of(tenant, ref, "alice",
						  "root", 2000),
			 0);
	u = export_all(tenant, "alice");
	assert_true(u->has[RR_SHARED_RISK]);
	assert_int_equal(u->risk.n_safe, 1);
	assert_string_equal(u->risk.safe[0].ref, ref);
	assert_int_equal(u->risk.safe[0].time, 2000);
	/* the host that logged it, when the record arrives */
	assert_int_equal(ref_state(host, ref), RR_STATE_AT_RISK);
	assert_int_equal(rr_store_replica_put(host, "alice", RR_SHARED_RISK,
					      u, 50),
			 0);
	assert_int_equal(ref_state(host, ref), RR_STATE_CONFIRMED_SAFE);
	assert_int_equal(ref_state(host, other), RR_STATE_AT_RISK);
	assert_int_equal(rr_store_signins_changed(host, mark, 4, out, ch, &n),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].ref, ref);
	assert_int_equal(ch[0].state, RR_STATE_CONFIRMED_SAFE);
	assert_int_equal(ch[0].detail, RR_DETAIL_ADMIN_SIGNIN_SAFE);
	/* the same record again changes nothing */
	mark = ch[0].seq;
	assert_int_equal(rr_store_replica_put(host, "alice", RR_SHARED_RISK,
					      u, 51),
			 0);
	assert_int_equal(rr_store_signins_changed(host, mark, 4, out, ch, &n),
			 0);
	assert_int_equal(n, 0);
	/* the host's own export carries the reference on */
	free(u);
	u = export_all(host, "alice");
	assert_int_equal(u->risk.n_safe, 1);
	/* on the host that holds it, another user's name is refused */
	assert_int_equal(rr_store_confirm_safe_of(host, other, "bob", "root",
						  2001),
			 -ENOENT);
	assert_int_equal(ref_state(host, other), RR_STATE_AT_RISK);

	/* the user's risk dismissed elsewhere: the other sign-in's
	 * detection closes with it, and that is a change of the sign-in */
	assert_int_equal(rr_store_signins_changed(host, 0, 4, out, ch, &n), 0);
	mark = ch[n - 1].seq;
	u->risk.level = RR_LEVEL_NONE;
	u->risk.state = RR_STATE_DISMISSED;
	u->risk.detail = RR_DETAIL_ADMIN_DISMISSED_ALL;
	u->risk.updated = 3000;
	assert_int_equal(rr_store_replica_put(host, "alice", RR_SHARED_RISK,
					      u, 60),
			 0);
	assert_int_equal(ref_state(host, other), RR_STATE_DISMISSED);
	assert_int_equal(ref_state(host, ref), RR_STATE_CONFIRMED_SAFE);
	assert_int_equal(rr_store_signins_changed(host, mark, 4, out, ch, &n),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].ref, other);
	assert_int_equal(ch[0].state, RR_STATE_DISMISSED);
	assert_int_equal(ch[0].detail, RR_DETAIL_ADMIN_DISMISSED_ALL);

	/* a merge: the newer record wins, with both sides' references */
	mine = export_all(host, "alice");
	theirs = export_all(host, "alice");
	theirs->risk.updated = mine->risk.updated + 10;
	snprintf(theirs->risk.safe[0].ref, sizeof(theirs->risk.safe[0].ref),
		 "%s", other);
	theirs->risk.safe[0].time = 2005;
	rr_fleet_merge(RR_SHARED_RISK, mine, theirs);
	assert_int_equal(mine->risk.updated, theirs->risk.updated);
	assert_int_equal(mine->risk.n_safe, 2);
	assert_string_equal(mine->risk.safe[0].ref, other); /* newest */
	assert_string_equal(mine->risk.safe[1].ref, ref);
	free(mine);
	free(theirs);
	free(u);
	rr_store_close(host);
	rr_store_close(tenant);
}

/* ---- the publish protocol through a link ----------------------------- */

struct fake {
	int results[8]; /* what publish answers, in turn (then 0) */
	size_t n, next;
	unsigned publishes, refreshes;
	unsigned last_kinds;
	bool audited;
};

static int fake_publish(void *ctx, const rr_store_publish *p,
			int64_t revs[RR_SHARED__COUNT])
{
	struct fake *f = ctx;
	unsigned k;

	f->publishes++;
	f->last_kinds = p->kinds;
	f->audited = p->audit != NULL;
	for (k = 0; k < RR_SHARED__COUNT; k++)
		revs[k] = 100 + f->publishes;
	return f->next < f->n ? f->results[f->next++] : 0;
}

static int fake_refresh(void *ctx, rr_store *s, const char *user)
{
	struct fake *f = ctx;

	(void)s;
	(void)user;
	f->refreshes++;
	return 0;
}

static const rr_store_link fake_link = {
	.publish = fake_publish,
	.refresh = fake_refresh,
};

static void test_publish_protocol(void **state)
{
	struct fake f = {.results = {-EXDEV, -EXDEV}, .n = 2};
	rr_store *s = mem();
	rr_store_mfa m;
	rr_store_user u;
	uint64_t queued = 0;
	int64_t start = 0;

	(void)state;
	rr_store_link_set(s, &fake_link, &f, false);
	/* changed elsewhere twice: refreshed and decided again, then done */
	assert_int_equal(rr_store_admin(s, RR_ADMIN_CONFIRM_COMPROMISED, "bob",
					"root", 900, NULL),
			 0);
	assert_int_equal(f.publishes, 3);
	assert_int_equal(f.refreshes, 2);
	assert_int_equal(f.last_kinds, RR_SHARED_BIT(RR_SHARED_RISK));
	assert_true(f.audited);
	assert_int_equal(rr_store_user_get(s, "bob", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_HIGH);

	/* always changed elsewhere: -EBUSY after the tries, nothing kept */
	f = (struct fake){.results = {-EXDEV, -EXDEV, -EXDEV, -EXDEV, -EXDEV,
				      -EXDEV, -EXDEV, -EXDEV},
			  .n = 8};
	assert_int_equal(rr_store_admin(s, RR_ADMIN_UNBLOCK, "bob", "root",
					950, NULL),
			 -EBUSY);
	assert_int_equal(f.publishes, RR_STORE_PUBLISH_TRIES);
	assert_int_equal(rr_store_user_get(s, "bob", &u), 0);
	assert_int_equal(u.level, RR_LEVEL_HIGH);

	/* unreachable: a registration is refused (nothing stored)... */
	f = (struct fake){.results = {-ENOTCONN}, .n = 1};
	assert_int_equal(rr_store_mfa_register(s, "alice", sealed,
					       sizeof(sealed), 0, 6, 30, 3,
					       960),
			 -ENOTCONN);
	assert_int_equal(rr_store_mfa_get(s, "alice", 1000, 900, &m), 0);
	assert_false(m.registered);
	/* ...the grace clock waits in the queue */
	f = (struct fake){.results = {-ENOTCONN}, .n = 1};
	assert_int_equal(rr_store_mfa_grace_begin(s, "alice", 970, &start), 0);
	assert_int_equal(start, 970);
	assert_int_equal(rr_store_queue_count(s, &queued), 0);
	assert_int_equal(queued, 1);
	/* an unknown outcome of a strict write is refused too */
	f = (struct fake){.results = {-ETIMEDOUT}, .n = 1};
	assert_int_equal(rr_store_tap_issue(s, "alice", tap_hash, 5000, "root",
					    980),
			 -ETIMEDOUT);
	assert_int_equal(rr_store_mfa_get(s, "alice", 1000, 900, &m), 0);
	assert_false(m.tap_pending);
	rr_store_link_set(s, NULL, NULL, false);
	rr_store_close(s);
}

/* A sign-in from a new network or device publishes its familiar record
 * at once; one from a familiar network and device only queues a deferred
 * entry (one per user while it waits), so the sign-in makes no round
 * trip; the local counts go on. */
static void test_familiar_deferred(void **state)
{
	struct fake f = {0};
	rr_signin_rec rec = {.time = 1000, .user = "alice", .service = "sshd",
			     .rhost = "192.0.2.7", .tty = "ssh",
			     .netkey = "192.0.2.0/24", .device = "SHA256:abc",
			     .action = RR_ACTION_ALLOW, .outcome = "success",
			     .reason = "ok", .mfa = ""};
	rr_store *s = mem();
	rr_store_queued *rows = NULL;
	rr_fleet_user *u;
	char ref[RR_REF_LEN + 1];
	uint64_t queued = 9;
	size_t n = 0;

	(void)state;
	rr_store_link_set(s, &fake_link, &f, false);
	assert_int_equal(rr_store_signin_record(s, &rec, ref), 0);
	assert_int_equal(f.publishes, 1);
	assert_int_equal(f.last_kinds, RR_SHARED_BIT(RR_SHARED_FAMILIAR));
	assert_int_equal(rr_store_queue_count(s, &queued), 0);
	assert_int_equal(queued, 0);

	/* familiar network and device: nothing published, one entry */
	rec.time = 1010;
	assert_int_equal(rr_store_signin_record(s, &rec, ref), 0);
	rec.time = 1020;
	assert_int_equal(rr_store_signin_record(s, &rec, ref), 0);
	assert_int_equal(f.publishes, 1);
	assert_int_equal(rr_store_queue_list(s, 0, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].user, "alice");
	assert_int_equal(rows[0].kinds, RR_SHARED_BIT(RR_SHARED_FAMILIAR));
	assert_true(rows[0].deferred);
	free(rows);
	u = export_all(s, "alice");
	assert_int_equal(u->familiar.n_networks, 1);
	assert_int_equal(u->familiar.networks[0].count, 3);
	assert_int_equal(u->familiar.networks[0].last_seen, 1020);
	rr_fleet_user_free(u);

	/* a new device, on the same network: published at once */
	rec.time = 1030;
	rec.device = "SHA256:def";
	assert_int_equal(rr_store_signin_record(s, &rec, ref), 0);
	assert_int_equal(f.publishes, 2);
	assert_int_equal(rr_store_queue_count(s, &queued), 0);
	assert_int_equal(queued, 1);

	/* a failed sign-in changes no familiar record */
	rec.time = 1040;
	rec.outcome = "failure";
	rec.action = RR_ACTION_BLOCK;
	assert_int_equal(rr_store_signin_record(s, &rec, ref), 0);
	assert_int_equal(f.publishes, 2);
	assert_int_equal(rr_store_queue_count(s, &queued), 0);
	assert_int_equal(queued, 1);
	rr_store_link_set(s, NULL, NULL, false);
	rr_store_close(s);
}

/* ---- merges ----------------------------------------------------------- */

/* The subjects a host checks for attacks (rr_fleet_attacks_note): a
 * user's network and the address for each failure, a name that is no
 * user only for its address, none for a detection that is off; one entry
 * per subject, its newest time; when full, the least recently seen makes
 * way. */
/* A watch event: the put of sign-in v at P signins/KEYREF (v NULL: the
 * key deleted). */
static void signin_event(rr_store *s, const char *keyref,
			 const rr_fleet_signin *v, size_t *bad)
{
	char key[256], *text = NULL;
	size_t len = 0;
	rr_etcd_event ev;
	rr_etcd_watch_msg m = {RR_ETCD_WATCH_EVENTS, 7, &ev, 1};

	memset(&ev, 0, sizeof(ev));
	assert_int_equal(rr_fleet_key_signin("/p/", keyref, key, sizeof(key)),
			 0);
	ev.type = v ? RR_ETCD_EV_PUT : RR_ETCD_EV_DELETE;
	ev.kv.key = (unsigned char *)key;
	ev.kv.key_len = strlen(key);
	if (v) {
		assert_int_equal(rr_fleet_signin_encode(v, &text, &len), 0);
		ev.kv.value = (unsigned char *)text;
		ev.kv.value_len = len;
	}
	assert_int_equal(rr_fleet_follow_apply(&rr_fleet_signins_follow, "/p/",
					       "hosta", s, &m, bad),
			 0);
	rr_fleet_text_free(text);
}

static int64_t fleet_signins_of(rr_store *s, const char *user)
{
	static const rr_aggregation one = {.enabled = true,
					   .signins = 1,
					   .min_level = RR_LEVEL_LOW,
					   .window_s = 30 * 86400};
	rr_store_user u;
	bool raised = false;

	/* a count of one raises the user: whether anything counts */
	assert_int_equal(rr_store_aggregate(s, user, &one, 2000, &raised), 0);
	assert_int_equal(rr_store_user_get(s, user, &u), 0);
	return raised ? (int64_t)u.level : -1;
}

/*
 * The other hosts' risky sign-ins followed for the aggregation
 * (rr_fleet_signins_follow): one with a detection at risk counts, at its
 * sign-in risk; one whose detections are only bruteForce or
 * passwordSpray, remediated, or of this host (hosta) does not; its key
 * gone, or a record of another reference under it, drops it.
 */
static void test_signins_followed(void **state)
{
	static rr_fleet_signin v;
	rr_store *s = mem();
	size_t bad = 0;

	(void)state;
	memset(&v, 0, sizeof(v));
	strcpy(v.host, "hostb");
	strcpy(v.s.ref, "BBBB-0001");
	strcpy(v.s.user, "alice");
	strcpy(v.s.outcome, "blocked");
	v.s.action = RR_ACTION_BLOCK;
	v.s.time = 1990;
	v.s.signin_risk = RR_LEVEL_MEDIUM;
	strcpy(v.s.detections, "bruteForce:high,passwordSpray:high");
	v.state = RR_STATE_AT_RISK;
	assert_false(rr_fleet_signin_counts(&v));
	signin_event(s, "BBBB-0001", &v, &bad);
	assert_int_equal(fleet_signins_of(s, "alice"), -1);
	strcpy(v.s.detections, "bruteForce:high,unfamiliarFeatures:medium");
	assert_true(rr_fleet_signin_counts(&v));
	v.state = RR_STATE_REMEDIATED;
	assert_false(rr_fleet_signin_counts(&v));
	signin_event(s, "BBBB-0001", &v, &bad);
	assert_int_equal(fleet_signins_of(s, "alice"), -1);
	/* this host's own echo is left out */
	v.state = RR_STATE_AT_RISK;
	strcpy(v.host, "hosta");
	signin_event(s, "BBBB-0001", &v, &bad);
	assert_int_equal(fleet_signins_of(s, "alice"), -1);
	strcpy(v.host, "hostb");
	signin_event(s, "BBBB-0001", &v, &bad);
	assert_int_equal(fleet_signins_of(s, "alice"), RR_LEVEL_MEDIUM);
	/* gone */
	strcpy(v.s.user, "bob");
	strcpy(v.s.ref, "BBBB-0002");
	signin_event(s, "BBBB-0002", &v, &bad);
	signin_event(s, "BBBB-0002", NULL, &bad);
	assert_int_equal(fleet_signins_of(s, "bob"), -1);
	/* a record of another reference than its key's: malformed */
	assert_int_equal(bad, 0);
	signin_event(s, "BBBB-0003", &v, &bad);
	assert_int_equal(bad, 1);
	assert_int_equal(fleet_signins_of(s, "bob"), -1);
	rr_store_close(s);
}

/*
 * A reloaded policy keeps its fleet (rr_fleet_same) only when what the
 * fleet's threads count with is the same: a new bruteForce threshold,
 * passwordSpray window, aggregation on or off, or retention makes a new
 * one; an unchanged policy, or another setting (unfamiliarFeatures), not.
 * Nothing here reaches etcd (the client connects on first use).
 */
static void test_fleet_same(void **state)
{
	static char ep[] = "http://127.0.0.1:9";
	static char host[] = "hosta";
	static char *eps[] = {ep};
	rr_policy p, q;
	rr_fleet *f = NULL;

	(void)state;
	rr_policy_init_defaults(&p);
	p.backend = RR_BACKEND_ETCD;
	p.etcd.endpoints = eps;
	p.etcd.n_endpoints = 1;
	p.etcd.host = host;
	assert_int_equal(rr_fleet_new(&p, "/nonexistent/risk.db", NULL, &f),
			 0);
	q = p;
	assert_true(rr_fleet_same(f, &q, "/nonexistent/risk.db"));
	q.detections[RR_EVENT_UNFAMILIAR_FEATURES].learning_days++;
	assert_true(rr_fleet_same(f, &q, "/nonexistent/risk.db"));
	q = p;
	q.detections[RR_EVENT_BRUTE_FORCE].failures++;
	assert_false(rr_fleet_same(f, &q, "/nonexistent/risk.db"));
	q = p;
	q.detections[RR_EVENT_PASSWORD_SPRAY].window_s += 60;
	assert_false(rr_fleet_same(f, &q, "/nonexistent/risk.db"));
	q = p;
	q.aggregation.enabled = !q.aggregation.enabled;
	assert_false(rr_fleet_same(f, &q, "/nonexistent/risk.db"));
	q = p;
	q.signin_retention_days++;
	assert_false(rr_fleet_same(f, &q, "/nonexistent/risk.db"));
	q = p;
	assert_false(rr_fleet_same(f, &q, "/nonexistent/other.db"));
	rr_fleet_free(f);
	/* the defaults' heap strings (no policy library here) */
	free(p.issuer);
	free(p.store_path);
	free(p.mfa.key_file);
}

/* Entries seen before 200 (the first two of test_attack_subjects). */
static size_t old_subjects(const rr_fleet_attacks *a)
{
	size_t i, k = 0;

	for (i = 0; i < RR_FLEET_ATTACK_SUBJECTS; i++)
		k += a->subj[i].used && a->subj[i].seen < 200;
	return k;
}

static void test_attack_subjects(void **state)
{
	static rr_fleet_attacks a;
	rr_fleet_failure f;
	size_t i, brute = 0, spray = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.brute.enabled = true;
	a.spray.enabled = true;
	memset(&f, 0, sizeof(f));
	strcpy(f.user, "alice");
	strcpy(f.netkey, "192.0.2.0/24");
	strcpy(f.rhost, "192.0.2.7");
	f.time = 100;
	rr_fleet_attacks_note(&a, &f);
	f.time = 160;
	rr_fleet_attacks_note(&a, &f);
	memset(f.user, 0, sizeof(f.user));
	strcpy(f.tag, "00112233445566ff");
	f.time = 150;
	rr_fleet_attacks_note(&a, &f); /* no user: the address only */
	for (i = 0; i < RR_FLEET_ATTACK_SUBJECTS; i++) {
		const rr_fleet_attack_subject *u = &a.subj[i];

		if (!u->used)
			continue;
		if (u->type == RR_EVENT_BRUTE_FORCE) {
			brute++;
			assert_string_equal(u->user, "alice");
			assert_string_equal(u->source, "192.0.2.0/24");
		} else {
			spray++;
			assert_string_equal(u->user, "");
			assert_string_equal(u->source, "192.0.2.7");
		}
		assert_int_equal(u->seen, 160);
	}
	assert_int_equal(brute, 1);
	assert_int_equal(spray, 1);
	/* full: 63 more addresses take the 62 free entries and one of the
	 * two seen at 160; one more address takes the other */
	a.brute.enabled = false;
	for (i = 0; i < RR_FLEET_ATTACK_SUBJECTS - 1; i++) {
		snprintf(f.rhost, sizeof(f.rhost), "198.51.100.%zu", i);
		f.time = 200 + (int64_t)i;
		rr_fleet_attacks_note(&a, &f);
	}
	assert_int_equal(old_subjects(&a), 1);
	snprintf(f.rhost, sizeof(f.rhost), "203.0.113.1");
	f.time = 300;
	rr_fleet_attacks_note(&a, &f);
	assert_int_equal(old_subjects(&a), 0);
	for (i = 0; i < RR_FLEET_ATTACK_SUBJECTS; i++)
		assert_true(a.subj[i].used && a.subj[i].seen >= 200);
	/* passwordSpray off too: nothing more is noted */
	a.spray.enabled = false;
	snprintf(f.rhost, sizeof(f.rhost), "203.0.113.2");
	rr_fleet_attacks_note(&a, &f);
	for (i = 0; i < RR_FLEET_ATTACK_SUBJECTS; i++)
		assert_string_not_equal(a.subj[i].source, "203.0.113.2");
}

static void test_merges(void **state)
{
	rr_fleet_user *mine = calloc(1, sizeof(*mine));
	rr_fleet_user *theirs = calloc(1, sizeof(*theirs));
	rr_fleet_user *copy = calloc(1, sizeof(*copy));
	unsigned k;

	(void)state;
	assert_non_null(mine);
	assert_non_null(theirs);
	assert_non_null(copy);
	mine->has[RR_SHARED_FAMILIAR] = theirs->has[RR_SHARED_FAMILIAR] = true;
	assert_int_equal(rr_fleet_familiar_touch(mine->familiar.networks,
						 &mine->familiar.n_networks,
						 "n1", 100),
			 0);
	assert_int_equal(rr_fleet_familiar_touch(theirs->familiar.networks,
						 &theirs->familiar.n_networks,
						 "n2", 200),
			 0);
	mine->has[RR_SHARED_MFA] = theirs->has[RR_SHARED_MFA] = true;
	memcpy(mine->mfa.sealed, sealed, sizeof(sealed));
	memcpy(theirs->mfa.sealed, sealed, sizeof(sealed));
	mine->mfa.sealed_len = theirs->mfa.sealed_len = sizeof(sealed);
	mine->mfa.last_step = 50;
	theirs->mfa.last_step = 40;
	mine->mfa.failures[0] = 10;
	mine->mfa.failures[1] = 20;
	mine->mfa.n_failures = 2;
	theirs->mfa.failures[0] = 20;
	theirs->mfa.failures[1] = 30;
	theirs->mfa.n_failures = 2;
	mine->has[RR_SHARED_RISK] = theirs->has[RR_SHARED_RISK] = true;
	mine->risk.level = RR_LEVEL_HIGH;
	mine->risk.state = RR_STATE_AT_RISK;
	mine->risk.updated = 300;
	theirs->risk.state = RR_STATE_DISMISSED;
	theirs->risk.updated = 200;
	for (k = 0; k < RR_SHARED__COUNT; k++)
		rr_fleet_merge(k, mine, theirs);
	assert_int_equal(mine->familiar.n_networks, 2);
	assert_int_equal(mine->mfa.last_step, 50);
	assert_int_equal(mine->mfa.n_failures, 3); /* 10, 20, 30 */
	assert_int_equal(mine->mfa.failures[2], 30);
	assert_int_equal(mine->risk.level, RR_LEVEL_HIGH); /* newer */
	/* idempotent: merging the same again, or itself, changes nothing */
	memcpy(copy, mine, sizeof(*copy));
	for (k = 0; k < RR_SHARED__COUNT; k++)
		rr_fleet_merge(k, mine, theirs);
	assert_memory_equal(copy, mine, sizeof(*copy));
	for (k = 0; k < RR_SHARED__COUNT; k++)
		rr_fleet_merge(k, mine, copy);
	assert_memory_equal(copy, mine, sizeof(*copy));
	rr_fleet_user_free(mine);
	rr_fleet_user_free(theirs);
	rr_fleet_user_free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_revisions_and_bad),
		cmocka_unit_test(test_reflects),
		cmocka_unit_test(test_fleet_failures_count),
		cmocka_unit_test(test_failures_since),
		cmocka_unit_test(test_signins_changed),
		cmocka_unit_test(test_confirm_safe_carried),
		cmocka_unit_test(test_publish_protocol),
		cmocka_unit_test(test_familiar_deferred),
		cmocka_unit_test(test_attack_subjects),
		cmocka_unit_test(test_signins_followed),
		cmocka_unit_test(test_fleet_same),
		cmocka_unit_test(test_merges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
