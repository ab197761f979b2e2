/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fleet's failed sign-ins (rr_store_replica.h): this host's, read in
 * order for publishing, and the other hosts' batches kept in
 * fleet_failures, which the bruteForce and passwordSpray counts add
 * (RRS_Q_FAIL_COUNT, RRS_Q_SPRAY_COUNT); and the other hosts' risky
 * sign-ins that the aggregation adds (fleet_signins, RRS_Q_AGG_COUNT).
 */
#include "rr_store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int rr_store_failures_since(rr_store *s, int64_t after, size_t limit,
			    rr_fleet_failure *out, size_t *n, int64_t *last)
{
	sqlite3_stmt *st = NULL;
	size_t k = 0;
	int r;

	if (!s || !out || !n || !last || after < 0 || !limit)
		return -EINVAL;
	*n = 0;
	*last = after;
	r = rrs_stmt(s, RRS_Q_FAIL_SINCE, &st);
	if (!r)
		r = rrs_bind(s, st, "ii", after, (int64_t)limit);
	while (!r && k < limit && (r = rrs_step_row(s, st)) == 1) {
		rr_fleet_failure *f = &out[k++];

		memset(f, 0, sizeof(*f));
		*last = sqlite3_column_int64(st, 0);
		rrs_col_text(st, 1, f->user, sizeof(f->user));
		rrs_col_text(st, 2, f->tag, sizeof(f->tag));
		rrs_col_text(st, 3, f->netkey, sizeof(f->netkey));
		rrs_col_text(st, 4, f->rhost, sizeof(f->rhost));
		f->time = sqlite3_column_int64(st, 5);
		r = 0;
	}
	rrs_release(st);
	if (r < 0)
		return r;
	*n = k;
	return 0;
}

static const char *mark_key(rr_store_mark m)
{
	switch (m) {
	case RR_STORE_MARK_FAILS: return "fleet_fail_mark";
	case RR_STORE_MARK_SIGNINS: return "fleet_signin_mark";
	}
	return NULL;
}

int rr_store_mark_get(rr_store *s, rr_store_mark m, int64_t *mark)
{
	return s && mark && mark_key(m) ? rrs_meta_get_int(s, mark_key(m), mark)
					: -EINVAL;
}

int rr_store_mark_set(rr_store *s, rr_store_mark m, int64_t mark)
{
	bool own;
	int err;

	if (!s || mark < 0 || !mark_key(m))
		return -EINVAL;
	err = rrs_begin_own(s, true, &own);
	if (err)
		return err;
	err = rrs_meta_set_int(s, mark_key(m), mark);
	return own ? rrs_end(s, err) : err;
}

static bool batch_ok(const char *batch)
{
	return rrs_str_ok(batch, RR_FLEET_SEGMENT_MAX) && batch && *batch;
}

int rr_store_fleet_fails_put(rr_store *s, const char *batch,
			     const rr_fleet_fails *v)
{
	size_t i;
	bool own;
	int err;

	if (!s || !batch_ok(batch) || !v || v->n > RR_FLEET_MAX_FAIL_BATCH)
		return -EINVAL;
	err = rrs_begin_own(s, true, &own);
	if (err)
		return err;
	err = rrs_exec_q(s, RRS_Q_FLEET_FAIL_DROP, "s", batch);
	for (i = 0; !err && i < v->n; i++) {
		const rr_fleet_failure *f = &v->failures[i];

		err = rrs_exec_q(s, RRS_Q_FLEET_FAIL_ADD, "ssssssi", batch,
				 v->host, f->user, f->tag, f->netkey,
				 f->rhost, f->time);
	}
	return own ? rrs_end(s, err) : err;
}

int rr_store_fleet_fails_drop(rr_store *s, const char *batch)
{
	if (!s || !batch_ok(batch))
		return -EINVAL;
	return rrs_exec_own(s, RRS_Q_FLEET_FAIL_DROP, "s", batch);
}

int rr_store_fleet_fails_clear(rr_store *s)
{
	return s ? rrs_exec_own(s, RRS_Q_FLEET_FAIL_CLEAR, "") : -EINVAL;
}

/* ---- other hosts' risky sign-ins ------------------------------------- */

int rr_store_fleet_signin_put(rr_store *s, const char *ref, const char *host,
			      const char *user, int64_t time, rr_level level)
{
	if (!s || !batch_ok(ref) || !batch_ok(host) || !rrs_user_ok(user) ||
	    time < 0 || level < RR_LEVEL_LOW || level > RR_LEVEL_HIGH)
		return -EINVAL;
	/* rank as LEVEL_RANK: low 1, medium 2, high 3 */
	return rrs_exec_own(s, RRS_Q_FLEET_SIGNIN_PUT, "sssii", ref, host,
			    user, time,
			    (int64_t)(level - RR_LEVEL_LOW + 1));
}

int rr_store_fleet_signin_drop(rr_store *s, const char *ref)
{
	if (!s || !batch_ok(ref))
		return -EINVAL;
	return rrs_exec_own(s, RRS_Q_FLEET_SIGNIN_DROP, "s", ref);
}

int rr_store_fleet_signins_clear(rr_store *s)
{
	return s ? rrs_exec_own(s, RRS_Q_FLEET_SIGNIN_CLEAR, "") : -EINVAL;
}
