/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store as a fleet replica (rr_store_replica.h): a user's shared
 * records to and from the rows the verbs use, their revisions, malformed
 * records, the offline queue, and publishing a write through the link
 * before it commits.
 */
#include "rr_store_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[RR_SHARED__COUNT] = {
	[RR_SHARED_RISK] = "risk",	   [RR_SHARED_MFA] = "mfa",
	[RR_SHARED_TAP] = "tap",	   [RR_SHARED_PWCHANGE] = "pwchange",
	[RR_SHARED_FAMILIAR] = "familiar",
};

const char *rr_shared_kind_name(rr_shared_kind k)
{
	return (unsigned)k < RR_SHARED__COUNT ? kind_names[k] : NULL;
}

void rr_fleet_user_free(rr_fleet_user *u)
{
	if (!u)
		return;
	sodium_memzero(u, sizeof(*u));
	free(u);
}

void rr_store_link_set(rr_store *s, const rr_store_link *link, void *ctx,
		       bool mfa_local)
{
	if (!s)
		return;
	s->link = link;
	s->link_ctx = link ? ctx : NULL;
	s->mfa_local = link && mfa_local;
}

int rr_store_link_staleness(const rr_store *s, int64_t *ms)
{
	if (!s || !ms)
		return -EINVAL;
	if (!s->link)
		return -ENOENT;
	*ms = s->link->staleness_ms ? s->link->staleness_ms(s->link_ctx) : -1;
	return 0;
}

/* ---- statements ------------------------------------------------------- */

/* Run q (no rows) with the parameters of fmt (rrs_bind). */
/* The revision of (user, kind): 0 with it in *rev, -ENOENT without. */
static int rev_get(rr_store *s, const char *user, rr_shared_kind k,
		   int64_t *rev)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_SH_REV_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "si", user, (int64_t)k);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		*rev = sqlite3_column_int64(st, 0);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	rrs_release(st);
	return r;
}

static int rev_set(rr_store *s, const char *user, rr_shared_kind k,
		   int64_t rev)
{
	int err = rrs_exec_q(s, RRS_Q_SH_REV_SET, "sii", user, (int64_t)k, rev);

	return err ? err
		   : rrs_exec_q(s, RRS_Q_SH_BAD_CLEAR, "si", user, (int64_t)k);
}

/* ---- export: rows -> records (caller's transaction) ------------------ */

static int export_risk(rr_store *s, const char *user, rr_fleet_user *u)
{
	rr_fleet_risk *v = &u->risk;
	rr_fleet_detection tmp;
	sqlite3_stmt *st = NULL;
	size_t i;
	int r;

	r = rrs_stmt(s, RRS_Q_USER_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		u->has[RR_SHARED_RISK] = true;
		r = rrs_col_level(st, 0, &v->level);
		if (!r)
			r = rrs_col_state(st, 1, &v->state);
		if (!r)
			r = rrs_col_detail(st, 2, &v->detail);
		v->updated = sqlite3_column_int64(st, 3);
	}
	rrs_release(st);
	if (r < 0 || !u->has[RR_SHARED_RISK])
		return r < 0 ? r : 0;
	r = rrs_stmt(s, RRS_Q_SH_DETS_USER, &st);
	if (!r)
		r = rrs_bind(s, st, "ssi", user,
			     rr_state_name(RR_STATE_AT_RISK),
			     (int64_t)RR_FLEET_MAX_DETECTIONS);
	while (!r && (r = rrs_step_row(s, st)) == 1) {
		rr_fleet_detection *d = &v->detections[v->n_detections];

		r = rrs_col_event(st, 0, &d->type);
		if (!r)
			r = rrs_col_level(st, 1, &d->level);
		if (!r)
			r = rrs_col_state(st, 2, &d->state);
		if (!r)
			r = rrs_col_detail(st, 3, &d->detail);
		rrs_col_text(st, 4, d->source, sizeof(d->source));
		d->detected = sqlite3_column_int64(st, 5);
		d->updated = sqlite3_column_int64(st, 6);
		if (!r)
			v->n_detections++;
	}
	rrs_release(st);
	if (r < 0)
		return r;
	/* newest first from the query; the record keeps them oldest first */
	for (i = 0; i < v->n_detections / 2; i++) {
		tmp = v->detections[i];
		v->detections[i] = v->detections[v->n_detections - 1 - i];
		v->detections[v->n_detections - 1 - i] = tmp;
	}
	/* the sign-ins confirmed safe, newest first */
	r = rrs_stmt(s, RRS_Q_SAFE_USER, &st);
	if (!r)
		r = rrs_bind(s, st, "si", user, (int64_t)RR_FLEET_MAX_SAFE_REFS);
	while (!r && v->n_safe < RR_FLEET_MAX_SAFE_REFS &&
	       (r = rrs_step_row(s, st)) == 1) {
		rr_fleet_safe_ref *f = &v->safe[v->n_safe++];

		rrs_col_text(st, 0, f->ref, sizeof(f->ref));
		f->time = sqlite3_column_int64(st, 1);
	}
	rrs_release(st);
	return r < 0 ? r : 0;
}

static int export_mfa(rr_store *s, const char *user, rr_fleet_user *u)
{
	rr_fleet_mfa *v = &u->mfa;
	sqlite3_stmt *st = NULL;
	const void *blob;
	int64_t t;
	size_t i, n;
	int r;

	r = rrs_stmt(s, RRS_Q_MFA_METHOD_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		blob = sqlite3_column_blob(st, 0);
		n = (size_t)sqlite3_column_bytes(st, 0);
		if (!blob || !n || n > sizeof(v->sealed)) {
			r = rrs_fail(s, -EPROTO, "bad sealed secret");
		} else {
			memcpy(v->sealed, blob, n);
			v->sealed_len = n;
			v->alg = (unsigned)sqlite3_column_int64(st, 1);
			v->digits = (unsigned)sqlite3_column_int64(st, 2);
			v->period = (unsigned)sqlite3_column_int64(st, 3);
			v->registered_at = sqlite3_column_int64(st, 4);
			v->last_step = sqlite3_column_int64(st, 5);
			u->has[RR_SHARED_MFA] = true;
			r = 0;
		}
	}
	rrs_release(st);
	if (r < 0)
		return r;
	r = rrs_stmt(s, RRS_Q_MFA_GRACE_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		v->grace_start = sqlite3_column_int64(st, 0);
		u->has[RR_SHARED_MFA] = true;
		r = 0;
	}
	rrs_release(st);
	if (r < 0)
		return r;
	r = rrs_stmt(s, RRS_Q_SH_FAILURES, &st);
	if (!r)
		r = rrs_bind(s, st, "si", user, (int64_t)RR_FLEET_MAX_FAILURES);
	while (!r && (r = rrs_step_row(s, st)) == 1) {
		v->failures[v->n_failures++] = sqlite3_column_int64(st, 0);
		u->has[RR_SHARED_MFA] = true;
		r = 0;
	}
	rrs_release(st);
	if (r < 0)
		return r;
	for (i = 0; i < v->n_failures / 2; i++) { /* oldest first */
		t = v->failures[i];
		v->failures[i] = v->failures[v->n_failures - 1 - i];
		v->failures[v->n_failures - 1 - i] = t;
	}
	return 0;
}

static int export_tap(rr_store *s, const char *user, rr_fleet_user *u)
{
	sqlite3_stmt *st = NULL;
	const void *blob;
	int r;

	r = rrs_stmt(s, RRS_Q_SH_TAP_NEWEST, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		blob = sqlite3_column_blob(st, 0);
		if (!blob || sqlite3_column_bytes(st, 0) !=
				 RR_STORE_TAP_HASH_LEN) {
			r = rrs_fail(s, -EPROTO, "bad pass hash");
		} else {
			memcpy(u->tap.hash, blob, RR_STORE_TAP_HASH_LEN);
			u->tap.created = sqlite3_column_int64(st, 1);
			u->tap.expires = sqlite3_column_int64(st, 2);
			u->tap.used = sqlite3_column_int64(st, 3) != 0;
			u->has[RR_SHARED_TAP] = true;
			r = 0;
		}
	}
	rrs_release(st);
	return r < 0 ? r : 0;
}

static int export_pwchange(rr_store *s, const char *user, rr_fleet_user *u)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_SH_MUST_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		u->pwchange.since = sqlite3_column_int64(st, 0);
		rrs_col_text(st, 1, u->pwchange.actor,
			     sizeof(u->pwchange.actor));
		u->has[RR_SHARED_PWCHANGE] = true;
		r = 0;
	}
	rrs_release(st);
	return r < 0 ? r : 0;
}

static int export_seen(rr_store *s, enum rrs_query q, const char *user,
		       rr_fleet_seen *list, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, q, &st);
	if (!r)
		r = rrs_bind(s, st, "si", user, (int64_t)RR_FLEET_MAX_FAMILIAR);
	while (!r && (r = rrs_step_row(s, st)) == 1) {
		rr_fleet_seen *e = &list[*n];

		rrs_col_text(st, 0, e->key, sizeof(e->key));
		e->first_seen = sqlite3_column_int64(st, 1);
		e->last_seen = sqlite3_column_int64(st, 2);
		e->count = sqlite3_column_int64(st, 3);
		(*n)++;
		r = 0;
	}
	rrs_release(st);
	return r < 0 ? r : 0;
}

static int export_familiar(rr_store *s, const char *user, rr_fleet_user *u)
{
	rr_fleet_familiar *v = &u->familiar;
	int r;

	r = export_seen(s, RRS_Q_SH_NETS, user, v->networks, &v->n_networks);
	if (!r)
		r = export_seen(s, RRS_Q_SH_DEVS, user, v->devices,
				&v->n_devices);
	if (!r)
		u->has[RR_SHARED_FAMILIAR] = v->n_networks || v->n_devices;
	return r;
}

typedef int (*export_fn)(rr_store *s, const char *user, rr_fleet_user *u);

static const export_fn exporters[RR_SHARED__COUNT] = {
	[RR_SHARED_RISK] = export_risk,
	[RR_SHARED_MFA] = export_mfa,
	[RR_SHARED_TAP] = export_tap,
	[RR_SHARED_PWCHANGE] = export_pwchange,
	[RR_SHARED_FAMILIAR] = export_familiar,
};

static int export_kinds(rr_store *s, const char *user, unsigned kinds,
			rr_fleet_user *u)
{
	unsigned k;
	int r = 0;

	for (k = 0; !r && k < RR_SHARED__COUNT; k++)
		if (kinds & RR_SHARED_BIT(k))
			r = exporters[k](s, user, u);
	return r;
}

/* ---- import: a record -> rows (caller's transaction) ----------------- */

/* Closed for the user as a whole (a sign-in confirmed safe is closed by
 * its safe reference alone: the user's other sign-ins stay at risk, as on
 * a single host). */
static bool closes_risk(const rr_fleet_risk *v)
{
	return v->level == RR_LEVEL_NONE &&
	       (v->state == RR_STATE_DISMISSED ||
		v->state == RR_STATE_REMEDIATED);
}

/* The record's sign-ins confirmed safe: kept (exported again with the
 * user's risk), and those this host logged get their detections
 * confirmedSafe (once: only at-risk ones change; the sign-in is then
 * published again, RRS_MIGRATE_8_9's trigger). */
static int import_safe_refs(rr_store *s, const char *user,
			    const rr_fleet_risk *v)
{
	size_t i;
	int err;

	err = rrs_exec_q(s, RRS_Q_SAFE_DELETE, "s", user);
	for (i = 0; !err && i < v->n_safe; i++) {
		err = rrs_exec_q(s, RRS_Q_SAFE_PUT, "ssi", user, v->safe[i].ref,
				 v->safe[i].time);
		if (!err)
			err = rrs_exec_q(
			    s, RRS_Q_SH_DETS_SAFE, "sssiss", v->safe[i].ref,
			    rr_state_name(RR_STATE_CONFIRMED_SAFE),
			    rr_detail_name(RR_DETAIL_ADMIN_SIGNIN_SAFE),
			    v->safe[i].time, user,
			    rr_state_name(RR_STATE_AT_RISK));
	}
	return err;
}

static int import_risk(rr_store *s, const char *user, const rr_fleet_user *u)
{
	const char *at_risk = rr_state_name(RR_STATE_AT_RISK);
	const rr_fleet_risk *v = &u->risk;
	size_t i;
	int err;

	err = rrs_exec_q(s, RRS_Q_SH_DETS_DROP, "ss", user, at_risk);
	if (!err && !u->has[RR_SHARED_RISK])
		err = rrs_exec_q(s, RRS_Q_SAFE_DELETE, "s", user);
	if (!err && !u->has[RR_SHARED_RISK])
		return rrs_exec_q(s, RRS_Q_SH_USER_DELETE, "s", user);
	if (!err)
		err = rrs_user_set(s, user, v->level, v->state, v->detail,
				   v->updated);
	for (i = 0; !err && i < v->n_detections; i++) {
		const rr_fleet_detection *d = &v->detections[i];

		err = rrs_exec_q(s, RRS_Q_SH_DET_PUT, "ssssssii", user,
			     rr_event_name(d->type), rr_level_name(d->level),
			     rr_state_name(d->state),
			     rr_detail_name(d->detail), d->source,
			     d->detected, d->updated);
	}
	/* closed on another host (dismissed, remediated): so are this host's
	 * sign-ins' detections up to then, and their aggregation */
	if (!err && closes_risk(v))
		err = rrs_exec_q(s, RRS_Q_SH_DETS_CLOSE, "sssis", user,
			     rr_state_name(v->state),
			     rr_detail_name(v->detail), v->updated, at_risk);
	if (!err && closes_risk(v))
		err = rrs_aggregation_clear(s, user);
	return err ? err : import_safe_refs(s, user, v);
}

static int import_mfa(rr_store *s, const char *user, const rr_fleet_user *u)
{
	const rr_fleet_mfa *v = &u->mfa;
	size_t i;
	int err;

	err = rrs_exec_q(s, RRS_Q_MFA_METHOD_DELETE, "s", user);
	if (!err)
		err = rrs_exec_q(s, RRS_Q_MFA_GRACE_DELETE, "s", user);
	if (!err)
		err = rrs_exec_q(s, RRS_Q_MFA_FAIL_DELETE, "s", user);
	if (err || !u->has[RR_SHARED_MFA])
		return err;
	if (v->sealed_len)
		err = rrs_exec_q(s, RRS_Q_MFA_METHOD_INSERT, "sbiiiii", user,
			     v->sealed, v->sealed_len, (int64_t)v->alg,
			     (int64_t)v->digits, (int64_t)v->period,
			     v->registered_at, v->last_step);
	if (!err && v->grace_start)
		err = rrs_exec_q(s, RRS_Q_MFA_GRACE_INSERT, "si", user,
			     v->grace_start);
	for (i = 0; !err && i < v->n_failures; i++)
		err = rrs_exec_q(s, RRS_Q_SH_FAIL_PUT, "si", user, v->failures[i]);
	return err;
}

static int import_tap(rr_store *s, const char *user, const rr_fleet_user *u)
{
	const rr_fleet_tap *v = &u->tap;
	int err;

	err = rrs_exec_q(s, RRS_Q_SH_TAP_DELETE, "s", user);
	if (err || !u->has[RR_SHARED_TAP])
		return err;
	return rrs_exec_q(s, RRS_Q_SH_TAP_PUT, "sbiii", user, v->hash,
		      sizeof(v->hash), v->created, v->expires,
		      v->used ? (v->created > 0 ? v->created : 1) : 0);
}

static int import_pwchange(rr_store *s, const char *user,
			   const rr_fleet_user *u)
{
	if (!u->has[RR_SHARED_PWCHANGE])
		return rrs_exec_q(s, RRS_Q_MUST_DELETE, "s", user);
	return rrs_exec_q(s, RRS_Q_MUST_SET, "sis", user, u->pwchange.since,
		      u->pwchange.actor);
}

static int import_seen(rr_store *s, const char *user, enum rrs_query put,
		       const rr_fleet_seen *list, size_t n)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < n; i++)
		err = rrs_exec_q(s, put, "ssiii", user, list[i].key,
			     list[i].first_seen, list[i].last_seen,
			     list[i].count);
	return err;
}

static int import_familiar(rr_store *s, const char *user,
			   const rr_fleet_user *u)
{
	const rr_fleet_familiar *v = &u->familiar;
	bool has = u->has[RR_SHARED_FAMILIAR];
	int err;

	/* marked, the record's entries rewritten (a network keeps this
	 * host's fail_mark), the rest swept */
	err = rrs_exec_q(s, RRS_Q_SH_NETS_MARK, "s", user);
	if (!err)
		err = rrs_exec_q(s, RRS_Q_SH_DEVS_MARK, "s", user);
	if (!err && has)
		err = import_seen(s, user, RRS_Q_SH_NET_PUT, v->networks,
				  v->n_networks);
	if (!err && has)
		err = import_seen(s, user, RRS_Q_SH_DEV_PUT, v->devices,
				  v->n_devices);
	if (!err)
		err = rrs_exec_q(s, RRS_Q_SH_NETS_SWEEP, "s", user);
	if (!err)
		err = rrs_exec_q(s, RRS_Q_SH_DEVS_SWEEP, "s", user);
	return err;
}

typedef int (*import_fn)(rr_store *s, const char *user,
			 const rr_fleet_user *u);

static const import_fn importers[RR_SHARED__COUNT] = {
	[RR_SHARED_RISK] = import_risk,
	[RR_SHARED_MFA] = import_mfa,
	[RR_SHARED_TAP] = import_tap,
	[RR_SHARED_PWCHANGE] = import_pwchange,
	[RR_SHARED_FAMILIAR] = import_familiar,
};

/* ---- publishing a write ------------------------------------------------ */

int rrs_shared_touch(rr_store *s, const char *user, unsigned kinds,
		     enum rrs_offline offline)
{
	if (!s->link || !kinds)
		return 0;
	if (s->touched && strcmp(s->touched_user, user))
		return rrs_fail(s, -EINVAL, "one user per fleet write");
	if (!s->touched)
		snprintf(s->touched_user, sizeof(s->touched_user), "%s", user);
	s->touched |= kinds & RR_SHARED_ALL;
	if (offline == RRS_OFFLINE_STRICT ||
	    (offline == RRS_OFFLINE_MFA && !s->mfa_local))
		s->touched_strict = true;
	return 0;
}

static int queue_add(rr_store *s, const char *user, unsigned kinds)
{
	return rrs_exec_q(s, RRS_Q_SH_QUEUE_ADD, "sii", user, (int64_t)kinds,
		      (int64_t)time(NULL));
}

static int queue_pending(rr_store *s, const char *user, unsigned kinds,
			 bool *pending)
{
	return rrs_row_exists(s, RRS_Q_SH_QUEUE_PENDING, pending, "si", user,
			      (int64_t)kinds);
}

int rrs_shared_familiar(rr_store *s, const char *user, bool known)
{
	unsigned kind = RR_SHARED_BIT(RR_SHARED_FAMILIAR);
	bool pending = false;
	int r;

	if (!s->link)
		return 0;
	if (!known)
		return rrs_shared_touch(s, user, kind, RRS_OFFLINE_QUEUE);
	/* an entry waiting already publishes the record as it is then */
	r = queue_pending(s, user, kind, &pending);
	if (!r && !pending)
		r = queue_add(s, user, kind | RR_STORE_QUEUE_DEFERRED);
	return r;
}

int rrs_shared_publish(rr_store *s)
{
	const char *user = s->touched_user;
	int64_t base[RR_SHARED__COUNT] = {0}, revs[RR_SHARED__COUNT] = {0};
	rr_store_publish p = {0};
	rr_fleet_user *now;
	unsigned k;
	int r;

	if (!s->link || !s->touched)
		return 0;
	now = calloc(1, sizeof(*now));
	if (!now)
		return rrs_fail(s, -ENOMEM, "out of memory");
	r = export_kinds(s, user, s->touched, now);
	for (k = 0; !r && k < RR_SHARED__COUNT; k++) {
		r = rev_get(s, user, k, &base[k]);
		if (r == -ENOENT)
			r = 0;
	}
	if (r)
		goto out;
	p.user = user;
	p.kinds = s->touched;
	p.now = now;
	p.base = base;
	p.audit = s->audited ? &s->audit : NULL;
	r = s->link->publish(s->link_ctx, &p, revs);
	if (r == 0) {
		for (k = 0; !r && k < RR_SHARED__COUNT; k++)
			if (s->touched & RR_SHARED_BIT(k))
				r = rev_set(s, user, k, revs[k]);
	} else if ((r == -ENOTCONN || r == -ETIMEDOUT) && !s->touched_strict) {
		/* kept here, published when etcd is back (merged then: a
		 * write that timed out may have been applied as well) */
		r = queue_add(s, user, s->touched);
	} else if (r == -ENOTCONN) {
		r = rrs_fail(s, r, "the fleet's etcd is unreachable: "
				   "nothing changed");
	} else if (r == -ETIMEDOUT) {
		r = rrs_fail(s, r, "the fleet's etcd did not answer in time: "
				   "nothing changed here");
	} else if (r == -EXDEV) {
		r = rrs_fail(s, r, "changed on another host meanwhile");
	} else {
		r = rrs_fail(s, r, "the fleet's etcd refused the write");
	}
out:
	rr_fleet_user_free(now);
	return r;
}

void rrs_shared_after(rr_store *s, int err)
{
	char user[RR_USER_MAX + 1];
	bool refresh = err == -EXDEV && s->link && s->touched;

	snprintf(user, sizeof(user), "%s", s->touched_user);
	s->touched = 0;
	s->touched_strict = false;
	s->audited = false;
	if (refresh)
		(void)s->link->refresh(s->link_ctx, s, user);
}

int rrs_shared_check(rr_store *s, const char *user)
{
	sqlite3_stmt *st = NULL;
	char msg[200];
	int r;

	r = rrs_stmt(s, RRS_Q_SH_BAD_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		const char *kind =
		    rr_shared_kind_name((rr_shared_kind)sqlite3_column_int(st, 0));
		const unsigned char *why = sqlite3_column_text(st, 1);

		snprintf(msg, sizeof(msg),
			 "the fleet's %s record of this user is malformed "
			 "(%s): refused until a valid one arrives",
			 kind ? kind : "?", why ? (const char *)why : "?");
		r = rrs_fail(s, -EBADMSG, msg);
	}
	rrs_release(st);
	return r < 0 ? r : 0;
}

/* ---- the replica -------------------------------------------------------- */

int rr_store_replica_revision(rr_store *s, int64_t *rev)
{
	return s && rev ? rrs_meta_get_int(s, "fleet_revision", rev) : -EINVAL;
}

int rr_store_replica_heard(rr_store *s, int64_t *when)
{
	return s && when ? rrs_meta_get_int(s, "fleet_heard", when) : -EINVAL;
}

int rr_store_replica_begin(rr_store *s)
{
	return s ? rrs_begin(s, true) : -EINVAL;
}

int rr_store_replica_end(rr_store *s, int err, int64_t revision)
{
	if (!s)
		return -EINVAL;
	if (!err && revision > 0)
		err = rrs_meta_set_int(s, "fleet_revision", revision);
	if (!err && revision > 0) /* for `riskctl fleet status` */
		err = rrs_meta_set_int(s, "fleet_heard", (int64_t)time(NULL));
	return rrs_end(s, err);
}

static bool user_ok(const char *user)
{
	return rrs_user_ok(user);
}

/* Whether a record (present, or deleted) at mod_revision is reflected by
 * the one held (rev_get's r and cur): that revision or a newer one. */
static bool reflected(bool present, int r, int64_t cur, int64_t mod_revision)
{
	if (present)
		return r == 0 && cur >= mod_revision;
	return r == -ENOENT || cur == 0 ||
	       (mod_revision > 0 && cur >= mod_revision);
}

static int replica_put(rr_store *s, const char *user, rr_shared_kind kind,
		       const rr_fleet_user *v, int64_t mod_revision)
{
	int64_t cur = -1;
	int r;

	r = rev_get(s, user, kind, &cur);
	if (r && r != -ENOENT)
		return r;
	if (reflected(v->has[kind], r, cur, mod_revision))
		return 0;
	r = importers[kind](s, user, v);
	return r ? r : rev_set(s, user, kind, v->has[kind] ? mod_revision : 0);
}

int rr_store_replica_put(rr_store *s, const char *user, rr_shared_kind kind,
			 const rr_fleet_user *v, int64_t mod_revision)
{
	bool own;
	int err;

	if (!s || !user_ok(user) || (unsigned)kind >= RR_SHARED__COUNT ||
	    !v || mod_revision < 0)
		return -EINVAL;
	err = rrs_begin_own(s, true, &own);
	if (err)
		return err;
	err = replica_put(s, user, kind, v, mod_revision);
	return own ? rrs_end(s, err) : err;
}

int rr_store_replica_reflects(rr_store *s, const char *user,
			      rr_shared_kind kind, bool present,
			      int64_t mod_revision, bool *yes)
{
	int64_t cur = -1;
	int r;

	if (!s || !user_ok(user) || (unsigned)kind >= RR_SHARED__COUNT ||
	    mod_revision < 0 || !yes)
		return -EINVAL;
	*yes = false;
	r = rev_get(s, user, kind, &cur);
	if (r && r != -ENOENT)
		return r;
	*yes = reflected(present, r, cur, mod_revision);
	return 0;
}

int rr_store_replica_bad(rr_store *s, const char *user, rr_shared_kind kind,
			 const char *reason, int64_t mod_revision)
{
	bool own;
	int err;

	if (!s || !user_ok(user) || (unsigned)kind >= RR_SHARED__COUNT ||
	    !rrs_str_ok(reason, 160))
		return -EINVAL;
	err = rrs_begin_own(s, true, &own);
	if (err)
		return err;
	err = rrs_exec_q(s, RRS_Q_SH_BAD_SET, "sis", user, (int64_t)kind,
		     reason ? reason : "malformed");
	/* a later valid record replaces it (its revision is newer) */
	if (!err)
		err = rrs_exec_q(s, RRS_Q_SH_REV_SET, "sii", user, (int64_t)kind,
			     mod_revision);
	return own ? rrs_end(s, err) : err;
}

int rr_store_replica_export(rr_store *s, const char *user, unsigned kinds,
			    rr_fleet_user *out,
			    int64_t revs[RR_SHARED__COUNT])
{
	unsigned k;
	int err;

	bool own;

	if (!s || !user_ok(user) || !out || (kinds & ~RR_SHARED_ALL))
		return -EINVAL;
	sodium_memzero(out, sizeof(*out));
	/* inside a batch (rr_store_replica_begin) it reads the batch */
	err = rrs_begin_own(s, false, &own);
	if (err)
		return err;
	err = export_kinds(s, user, kinds, out);
	for (k = 0; !err && revs && k < RR_SHARED__COUNT; k++) {
		revs[k] = 0;
		err = rev_get(s, user, k, &revs[k]);
		if (err == -ENOENT)
			err = 0;
	}
	if (own)
		err = rrs_end(s, err);
	if (err)
		sodium_memzero(out, sizeof(*out));
	return err;
}

typedef char user_name[RR_USER_MAX + 1];

static int user_fill(sqlite3_stmt *st, void *row)
{
	rrs_col_text(st, 0, row, sizeof(user_name));
	return 0;
}

int rr_store_replica_users(rr_store *s, char (**users)[RR_USER_MAX + 1],
			   size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *rows = NULL;
	int err;

	if (!s || !users || !n)
		return -EINVAL;
	*users = NULL;
	*n = 0;
	err = rrs_begin(s, false);
	if (err)
		return err;
	err = rrs_stmt(s, RRS_Q_SH_USERS, &st);
	if (!err)
		err = rrs_bind(s, st, "i", (int64_t)RR_STORE_MAX_ROWS);
	if (!err)
		err = rrs_fetch(s, st, sizeof(user_name), user_fill, &rows, n);
	rrs_release(st);
	err = rrs_end(s, err);
	if (err) {
		free(rows);
		*n = 0;
		return err;
	}
	*users = rows;
	return 0;
}

/* ---- the queue ---------------------------------------------------------- */

static int queued_fill(sqlite3_stmt *st, void *row)
{
	rr_store_queued *q = row;

	q->id = sqlite3_column_int64(st, 0);
	rrs_col_text(st, 1, q->user, sizeof(q->user));
	q->kinds = (unsigned)sqlite3_column_int64(st, 2);
	q->deferred = (q->kinds & RR_STORE_QUEUE_DEFERRED) != 0;
	q->kinds &= RR_SHARED_ALL;
	q->time = sqlite3_column_int64(st, 3);
	return 0;
}

int rr_store_queue_list(rr_store *s, size_t limit, rr_store_queued **rows,
			size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *buf = NULL;
	int err;

	if (!s || !rows || !n)
		return -EINVAL;
	*rows = NULL;
	*n = 0;
	err = rrs_begin(s, false);
	if (err)
		return err;
	err = rrs_stmt(s, RRS_Q_SH_QUEUE_LIST, &st);
	if (!err)
		err = rrs_bind(s, st, "i", rrs_limit(limit));
	if (!err)
		err = rrs_fetch(s, st, sizeof(rr_store_queued), queued_fill,
				&buf, n);
	rrs_release(st);
	err = rrs_end(s, err);
	if (err) {
		free(buf);
		*n = 0;
		return err;
	}
	*rows = buf;
	return 0;
}

int rr_store_queue_done(rr_store *s, int64_t id)
{
	bool own;
	int err;

	if (!s)
		return -EINVAL;
	err = rrs_begin_own(s, true, &own);
	if (err)
		return err;
	err = rrs_exec_q(s, RRS_Q_SH_QUEUE_DONE, "i", id);
	return own ? rrs_end(s, err) : err;
}

int rr_store_queue_count(rr_store *s, uint64_t *n)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!s || !n)
		return -EINVAL;
	*n = 0;
	r = rrs_stmt(s, RRS_Q_SH_QUEUE_COUNT, &st);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1)
		*n = (uint64_t)sqlite3_column_int64(st, 0);
	rrs_release(st);
	return r < 0 ? r : 0;
}

int rr_store_queue_pending(rr_store *s, const char *user, rr_shared_kind kind,
			   bool *pending)
{
	if (!s || !user_ok(user) || (unsigned)kind >= RR_SHARED__COUNT ||
	    !pending)
		return -EINVAL;
	return queue_pending(s, user, RR_SHARED_BIT(kind), pending);
}
