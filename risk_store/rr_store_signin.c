/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sign-ins, failed attempts, the per-user sign-in history the detections
 * read, and pruning of expired rows.
 */
#include "rr_errno.h"
#include "rr_store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/random.h>

#include <sodium.h>

/* ---- history ---------------------------------------------------------- */

/* fail_mark: the newest failure id when the user last succeeded; failures
 * up to it came before that success (same-second safe, unlike times). */
static int history_stats(rr_store *s, const char *user, rr_history *h,
			 int64_t *fail_mark)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_STATS_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		h->successes = (uint64_t)sqlite3_column_int64(st, 0);
		h->first_success = sqlite3_column_int64(st, 1);
		*fail_mark = sqlite3_column_int64(st, 2);
		r = 0;
	}
	rrs_release(st);
	if (r < 0)
		return r;
	/* The familiar networks count successes too, and on a fleet replica
	 * those of every host: a user the fleet knows is not learning again
	 * on each new host.  On one host they never count more. */
	r = rrs_stmt(s, RRS_Q_SEEN_TOTALS, &st);
	if (!r)
		r = rrs_bind(s, st, "s", user);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		int64_t n = sqlite3_column_int64(st, 0);
		int64_t first = sqlite3_column_int64(st, 1);

		if (n > 0 && (uint64_t)n > h->successes)
			h->successes = (uint64_t)n;
		if (first > 0 && (!h->first_success || first < h->first_success))
			h->first_success = first;
		r = 0;
	}
	rrs_release(st);
	return r;
}

/* Whether (user, key) has a row in the familiar table of query q
 * (RRS_Q_NET_SEEN, RRS_Q_DEV_SEEN); an empty key is never seen. */
static int seen_row(rr_store *s, enum rrs_query q, const char *user,
		    const char *key, bool *seen)
{
	*seen = false;
	return key && *key ? rrs_row_exists(s, q, seen, "ss", user, key) : 0;
}

static int history_network(rr_store *s, const char *user, const char *netkey,
			   rr_history *h)
{
	bool seen;
	int r = seen_row(s, RRS_Q_NET_SEEN, user, netkey, &seen);

	if (!r)
		h->network_seen = seen;
	return r;
}

static int history_failures(rr_store *s, const char *user, const char *netkey,
			    int64_t from, int64_t to, int64_t fail_mark,
			    rr_history *h)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_FAIL_COUNT, &st);
	if (!r)
		r = rrs_bind(s, st, "siiis", user, from, to, fail_mark,
			     netkey);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		h->recent_failures = (uint64_t)sqlite3_column_int64(st, 0);
		r = 0;
	} else if (r == 0) {
		r = rrs_fail(s, -EIO, "count returned no row");
	}
	rrs_release(st);
	return r;
}

static int history_read(rr_store *s, const char *user, const char *netkey,
			int64_t now, unsigned window, rr_history *h)
{
	int64_t fail_mark = 0;
	int err;

	err = history_stats(s, user, h, &fail_mark);
	if (!err)
		err = history_network(s, user, netkey, h);
	if (err)
		return err;
	return history_failures(s, user, netkey, now - (int64_t)window, now,
				fail_mark, h);
}

int rr_store_history(rr_store *s, const char *user, const char *netkey,
		     int64_t now, unsigned fail_window_s, rr_history *h)
{
	rr_history tmp = {0};
	int err;

	if (!s || !h || !rrs_user_ok(user) ||
	    !rrs_str_ok(netkey, RR_NETKEY_MAX))
		return -EINVAL;
	err = rrs_begin(s, false);
	if (err)
		return err;
	err =
	    rrs_end(s, history_read(s, user, netkey, now, fail_window_s, &tmp));
	if (!err)
		*h = tmp;
	return err;
}

int rr_store_device_seen(rr_store *s, const char *user, const char *device,
			 bool *seen)
{
	if (!s || !seen || !rrs_user_ok(user) ||
	    !rrs_str_ok(device, RR_DEVICE_MAX))
		return -EINVAL;
	return seen_row(s, RRS_Q_DEV_SEEN, user, device, seen);
}

/* ---- meta ----------------------------------------------------------- */

int rrs_meta_get_text(rr_store *s, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_META_GET, &st);
	if (!r)
		r = rrs_bind(s, st, "s", key);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1)
		rrs_col_text(st, 0, buf, len);
	rrs_release(st);
	return r;
}

int rrs_meta_set_text(rr_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_META_SET, &st);
	if (!err)
		err = rrs_bind(s, st, "ss", key, value);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

/* ---- recording a sign-in ---------------------------------------------- */

static bool rec_ok(const rr_signin_rec *r)
{
	size_t i;

	if (!rrs_user_ok(r->user) || !r->outcome || !*r->outcome ||
	    !rrs_str_ok(r->outcome, RR_OUTCOME_MAX - 1) ||
	    !rrs_str_ok(r->service, RR_SERVICE_MAX) ||
	    !rrs_str_ok(r->rhost, RR_RHOST_MAX) ||
	    !rrs_str_ok(r->tty, RR_TTY_MAX) ||
	    !rrs_str_ok(r->netkey, RR_NETKEY_MAX) ||
	    !rrs_str_ok(r->device, RR_DEVICE_MAX) ||
	    !rrs_str_ok(r->applied, RR_TEXT_MAX - 1) ||
	    !rrs_str_ok(r->report_only, RR_TEXT_MAX - 1) ||
	    !rrs_str_ok(r->reason, RR_TEXT_MAX - 1) ||
	    !rrs_str_ok(r->mfa, RR_OUTCOME_MAX - 1) ||
	    (r->ref && strnlen(r->ref, RR_REF_LEN + 1) != RR_REF_LEN))
		return false;
	if (!rr_action_name(r->action) || !rr_level_name(r->signin_risk) ||
	    !rr_level_name(r->user_risk))
		return false;
	if (r->n_dets > RRS_MAX_DETS || (r->n_dets && !r->dets))
		return false;
	for (i = 0; i < r->n_dets; i++)
		if (!rr_event_name(r->dets[i].type) ||
		    !rr_level_name(r->dets[i].level))
			return false;
	return true;
}

/* "type:level,type:level"; fits RR_TEXT_MAX given RRS_MAX_DETS. */
static int dets_text(const rr_signin_rec *r, char *buf, size_t len)
{
	size_t off = 0, i;
	int n;

	buf[0] = '\0';
	for (i = 0; i < r->n_dets; i++) {
		n = snprintf(buf + off, len - off, "%s%s:%s", i ? "," : "",
			     rr_event_name(r->dets[i].type),
			     rr_level_name(r->dets[i].level));
		if (n < 0 || (size_t)n >= len - off)
			return -EINVAL;
		off += (size_t)n;
	}
	return 0;
}

int rr_store_ref_new(char ref[RR_REF_LEN + 1])
{
	unsigned char b[4];
	ssize_t n;

	do {
		n = getrandom(b, sizeof(b), 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return rr_negerrno();
	if ((size_t)n != sizeof(b))
		return -EIO;
	snprintf(ref, RR_REF_LEN + 1, "%02X%02X-%02X%02X", b[0], b[1], b[2],
		 b[3]);
	return 0;
}

/* Insert the sign-in row; 1 when `ref` is already taken. */
static int signin_insert(rr_store *s, const rr_signin_rec *r, const char *ref,
			 const char *dets)
{
	sqlite3_stmt *st = NULL;
	int rc, err;

	err = rrs_stmt(s, RRS_Q_SIGNIN_INSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "sisssssssssssssss", ref, r->time,
			       r->user, r->service, r->rhost, r->tty, r->netkey,
			       rr_action_name(r->action), r->outcome,
			       rr_level_name(r->signin_risk),
			       rr_level_name(r->user_risk), dets, r->applied,
			       r->report_only, r->reason, r->mfa, r->device);
	if (err)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		err = 1;
	else if (rc != SQLITE_DONE)
		err = rrs_error(s, rc);
out:
	rrs_release(st);
	return err;
}

static int signin_insert_ref(rr_store *s, const rr_signin_rec *r,
			     const char *dets, char ref[RR_REF_LEN + 1])
{
	int i, err;

	for (i = 0; i < RRS_REF_TRIES; i++) {
		err = rr_store_ref_new(ref);
		if (err)
			return rrs_fail(s, err, "no random reference id");
		err = signin_insert(s, r, ref, dets);
		if (err <= 0)
			return err;
	}
	return rrs_fail(s, -EEXIST, "no free reference id");
}

/* MFA passed for this sign-in's risk remediates its detections. */
static int det_insert(rr_store *s, const rr_signin_rec *r,
		      const rr_detection *d, const char *ref)
{
	rr_state state = RR_STATE_AT_RISK;
	rr_detail detail = RR_DETAIL_NONE;
	sqlite3_stmt *st = NULL;
	int err;

	if (r->mfa_passed) {
		state = RR_STATE_REMEDIATED;
		detail = RR_DETAIL_USER_PASSED_MFA;
	}
	err = rrs_stmt(s, RRS_Q_DET_INSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "ssssssssi", r->user,
			       rr_event_name(d->type), rr_level_name(d->level),
			       rr_state_name(state), rr_detail_name(detail),
			       RRS_SCOPE_SIGNIN, ref, r->rhost, r->time);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

static int device_record(rr_store *s, const rr_signin_rec *r)
{
	sqlite3_stmt *st = NULL;
	int err;

	if (!r->device || !*r->device)
		return 0;
	err = rrs_stmt(s, RRS_Q_DEV_UPSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "ssi", r->user, r->device, r->time);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

/* *known: the sign-in's network and device were both familiar already
 * (only their counts and last seen change). */
static int success_record(rr_store *s, const rr_signin_rec *r, bool *known)
{
	sqlite3_stmt *st = NULL;
	bool net = true, dev = true;
	int err;

	err = rrs_stmt(s, RRS_Q_STATS_UPSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "sii", r->user, r->time, (int64_t)1);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	if (!err && r->device && *r->device)
		err = seen_row(s, RRS_Q_DEV_SEEN, r->user, r->device, &dev);
	if (!err && r->netkey && *r->netkey)
		err = seen_row(s, RRS_Q_NET_SEEN, r->user, r->netkey, &net);
	*known = net && dev;
	if (!err)
		err = device_record(s, r);
	if (err || !r->netkey || !*r->netkey)
		return err;
	err = rrs_stmt(s, RRS_Q_NET_UPSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "ssi", r->user, r->netkey, r->time);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

/* The end of a sign-in recorded at its first prompt: the row, and its
 * detections replaced. */
static int signin_rewrite(rr_store *s, const rr_signin_rec *r,
			  const char *dets)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, RRS_Q_SIGNIN_REWRITE, &st);
	if (!err)
		err = rrs_bind(s, st, "sssssssssssss",
			       rr_action_name(r->action), r->outcome,
			       rr_level_name(r->signin_risk),
			       rr_level_name(r->user_risk), dets, r->applied,
			       r->report_only, r->reason, r->mfa, r->device,
			       r->ref, r->user, RR_OUTCOME_INTERRUPTED);
	if (!err)
		err = rrs_step_done(s, st);
	if (!err && sqlite3_changes(s->db) != 1)
		err = rrs_fail(s, -ENOENT, "no interrupted sign-in with "
			       "that reference");
	rrs_release(st);
	if (err)
		return err;
	err = rrs_stmt(s, RRS_Q_DETS_DELETE_REF, &st);
	if (!err)
		err = rrs_bind(s, st, "ss", r->ref, r->user);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

static int signin_write(rr_store *s, const rr_signin_rec *r, const char *dets,
			char ref[RR_REF_LEN + 1])
{
	bool known = false;
	size_t i;
	int err;

	if (r->ref) {
		err = signin_rewrite(s, r, dets);
		if (!err)
			memcpy(ref, r->ref, RR_REF_LEN + 1);
	} else {
		err = signin_insert_ref(s, r, dets, ref);
	}
	for (i = 0; !err && i < r->n_dets; i++)
		err = det_insert(s, r, &r->dets[i], ref);
	if (err || strcmp(r->outcome, RRS_OUTCOME_SUCCESS))
		return err;
	err = success_record(s, r, &known);
	if (!err && ((r->netkey && *r->netkey) || (r->device && *r->device)))
		err = rrs_shared_familiar(s, r->user, known);
	return err;
}

static int signin_try(rr_store *s, const rr_signin_rec *rec,
		      const char *dets, char ref[RR_REF_LEN + 1])
{
	int err = rrs_begin(s, true);

	return err ? err
		   : rrs_end_pruning(s, signin_write(s, rec, dets, ref),
				     rec->time);
}

int rr_store_signin_record(rr_store *s, const rr_signin_rec *rec,
			   char ref[RR_REF_LEN + 1])
{
	char dets[RR_TEXT_MAX];
	char tmp[RR_REF_LEN + 1];
	int err;

	if (!s || !rec || !ref || !rec_ok(rec) ||
	    dets_text(rec, dets, sizeof(dets)))
		return -EINVAL;
	RRS_RETRY(err, signin_try(s, rec, dets, tmp));
	if (err)
		return err;
	memcpy(ref, tmp, sizeof(tmp));
	return 0;
}

/* The tag of a name that is no user: SipHash-2-4 under the store's own
 * random key (meta failure_tag_key, made on first use), 16 hex digits.
 * Distinct names stay distinct for passwordSpray; the name, which may be a
 * password typed into the user prompt, cannot be read back. */
static int tag_key(rr_store *s, unsigned char key[crypto_shorthash_KEYBYTES])
{
	char hex[2 * crypto_shorthash_KEYBYTES + 1] = "";
	int r = rrs_meta_get_text(s, "failure_tag_key", hex, sizeof(hex));

	if (r < 0)
		return r;
	if (r == 1 && sodium_hex2bin(key, crypto_shorthash_KEYBYTES, hex,
				     strlen(hex), NULL, NULL, NULL) == 0)
		return 0;
	randombytes_buf(key, crypto_shorthash_KEYBYTES);
	sodium_bin2hex(hex, sizeof(hex), key, crypto_shorthash_KEYBYTES);
	return rrs_meta_set_text(s, "failure_tag_key", hex);
}

static int name_tag(rr_store *s, const char *name, char tag[17])
{
	unsigned char key[crypto_shorthash_KEYBYTES];
	unsigned char out[crypto_shorthash_BYTES];
	int err = tag_key(s, key);

	if (!err)
		crypto_shorthash(out, (const unsigned char *)name, strlen(name),
				 key);
	sodium_memzero(key, sizeof(key));
	if (!err)
		sodium_bin2hex(tag, 17, out, sizeof(out));
	return err;
}

/* Failures for names that are no user, from one source in the last hour:
 * at most RRS_UNKNOWN_FAILURES_MAX are kept (the count saturates). */
static int unknown_full(rr_store *s, const rr_store_failure *f, bool *full)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = rrs_stmt(s, RRS_Q_FAIL_UNKNOWN_COUNT, &st);
	if (!r)
		r = rrs_bind(s, st, "sii", f->rhost, f->time - 3600, f->time);
	if (!r)
		r = rrs_step_row(s, st);
	if (r == 1) {
		*full = sqlite3_column_int64(st, 0) >= RRS_UNKNOWN_FAILURES_MAX;
		r = 0;
	} else if (r == 0) {
		r = rrs_fail(s, -EIO, "count returned no row");
	}
	rrs_release(st);
	return r;
}

static int failure_write(rr_store *s, const rr_store_failure *f)
{
	sqlite3_stmt *st = NULL;
	char tag[17] = "";
	bool full = false;
	int err = 0;

	if (!f->user) {
		err = unknown_full(s, f, &full);
		if (!err && !full)
			err = name_tag(s, f->name, tag);
		if (err || full)
			return err;
	}
	err = rrs_stmt(s, RRS_Q_FAIL_INSERT, &st);
	if (!err)
		err = rrs_bind(s, st, "sssiss", f->user, f->service, f->rhost,
			       f->time, f->netkey, tag);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

int rr_store_failure_record(rr_store *s, const rr_store_failure *f)
{
	int err;

	if (!s || !f || (f->user ? !rrs_user_ok(f->user) :
			 !f->name || !rrs_str_ok(f->name, RR_USER_MAX)) ||
	    !rrs_str_ok(f->service, RR_SERVICE_MAX) ||
	    !rrs_str_ok(f->rhost, RR_RHOST_MAX) ||
	    !rrs_str_ok(f->netkey, RR_NETKEY_MAX))
		return -EINVAL;
	err = rrs_begin(s, true);
	if (err)
		return err;
	return rrs_end_pruning(s, failure_write(s, f), f->time);
}

/* ---- listing ---------------------------------------------------------- */

static int signin_fill(sqlite3_stmt *st, void *row)
{
	rr_store_signin *r = row;
	int err;

	rrs_col_text(st, 0, r->ref, sizeof(r->ref));
	r->time = sqlite3_column_int64(st, 1);
	rrs_col_text(st, 2, r->user, sizeof(r->user));
	rrs_col_text(st, 3, r->service, sizeof(r->service));
	rrs_col_text(st, 4, r->rhost, sizeof(r->rhost));
	rrs_col_text(st, 5, r->tty, sizeof(r->tty));
	rrs_col_text(st, 7, r->outcome, sizeof(r->outcome));
	rrs_col_text(st, 10, r->detections, sizeof(r->detections));
	rrs_col_text(st, 11, r->applied, sizeof(r->applied));
	rrs_col_text(st, 12, r->report_only, sizeof(r->report_only));
	rrs_col_text(st, 13, r->reason, sizeof(r->reason));
	rrs_col_text(st, 14, r->mfa, sizeof(r->mfa));
	rrs_col_text(st, 15, r->device, sizeof(r->device));
	err = rrs_col_action(st, 6, &r->action);
	if (!err)
		err = rrs_col_level(st, 8, &r->signin_risk);
	if (!err)
		err = rrs_col_level(st, 9, &r->user_risk);
	return err;
}

static int signins_query(rr_store *s, const rr_store_signin_filter *f,
			 sqlite3_stmt **out)
{
	int64_t limit = rrs_limit(f ? f->limit : 0);
	int err;

	if (f && f->ref) {
		err = rrs_stmt(s, RRS_Q_SIGNINS_REF, out);
		return err ? err
			   : rrs_bind(s, *out, "tti", f->ref, f->user, limit);
	}
	if (f && f->user) {
		err = rrs_stmt(s, RRS_Q_SIGNINS_USER, out);
		return err ? err : rrs_bind(s, *out, "si", f->user, limit);
	}
	err = rrs_stmt(s, RRS_Q_SIGNINS_ALL, out);
	return err ? err : rrs_bind(s, *out, "i", limit);
}

int rr_store_signins_list(rr_store *s, const rr_store_signin_filter *f,
			  rr_store_signin **rows, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int err;

	if (!s || !rows || !n ||
	    (f && (!rrs_str_ok(f->user, RR_USER_MAX) ||
		   !rrs_str_ok(f->ref, RR_REF_LEN))))
		return -EINVAL;
	err = signins_query(s, f, &st);
	if (!err)
		err = rrs_fetch(s, st, sizeof(**rows), signin_fill,
				(void **)rows, n);
	rrs_release(st);
	return err;
}

int rr_store_signins_changed(rr_store *s, int64_t after, size_t limit,
			     rr_store_signin *out, rr_store_signin_change *ch,
			     size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t k = 0;
	int r;

	if (!s || !out || !ch || !n || after < 0 || !limit)
		return -EINVAL;
	*n = 0;
	r = rrs_stmt(s, RRS_Q_SIGNINS_CHANGED, &st);
	if (!r)
		r = rrs_bind(s, st, "ii", after, (int64_t)limit);
	while (!r && k < limit && (r = rrs_step_row(s, st)) == 1) {
		memset(&out[k], 0, sizeof(out[k]));
		r = signin_fill(st, &out[k]);
		/* the change follows the listed columns */
		ch[k].seq = sqlite3_column_int64(st, 16);
		if (!r)
			r = rrs_col_state(st, 17, &ch[k].state);
		if (!r)
			r = rrs_col_detail(st, 18, &ch[k].detail);
		k++;
	}
	rrs_release(st);
	if (r < 0)
		return r;
	*n = k;
	return 0;
}

/* ---- pruning ---------------------------------------------------------- */

int rrs_meta_get_int(rr_store *s, const char *key, int64_t *out)
{
	char buf[24] = "";
	int r = rrs_meta_get_text(s, key, buf, sizeof(buf));

	if (r >= 0)
		*out = r == 1 ? strtoll(buf, NULL, 10) : 0;
	return r < 0 ? r : 0;
}

int rrs_meta_set_int(rr_store *s, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return rrs_meta_set_text(s, key, buf);
}

/* In the caller's write transaction: true when this writer is to prune
 * once that transaction commits, and has claimed it there.  The claim keeps
 * concurrent writers from pruning together; costs no transaction of its
 * own; any error means "not now" (the next writer tries again). */
static bool prune_claim(rr_store *s, int64_t now)
{
	int64_t last = 0;

	if (rrs_meta_get_int(s, "last_prune", &last) < 0 ||
	    (last >= now - RRS_PRUNE_INTERVAL &&
	     last <= now + RRS_PRUNE_INTERVAL))
		return false;
	return rrs_meta_set_int(s, "last_prune", now) == 0;
}

/* One batch in its own transaction: 1 when the batch was full. */
static int prune_batch(rr_store *s, enum rrs_query q, int64_t cutoff)
{
	sqlite3_stmt *st = NULL;
	int err, full = 0;

	err = rrs_begin(s, true);
	if (err)
		return err;
	err = rrs_stmt(s, q, &st);
	if (!err)
		err = rrs_bind(s, st, q == RRS_Q_PRUNE_USER_DETS ? "iis" : "ii",
			       cutoff, (int64_t)RRS_PRUNE_BATCH,
			       rr_state_name(RR_STATE_AT_RISK));
	if (!err)
		err = rrs_step_done(s, st);
	if (!err)
		full = sqlite3_changes(s->db) >= RRS_PRUNE_BATCH;
	rrs_release(st);
	err = rrs_end(s, err);
	return err ? err : full;
}

/* 1 when rows are left for the next prune. */
static int prune_table(rr_store *s, enum rrs_query q, int64_t cutoff)
{
	int i, r = 1;

	for (i = 0; i < RRS_PRUNE_BATCHES && r == 1; i++)
		r = prune_batch(s, q, cutoff);
	return r;
}

/* Delete expired rows in bounded batches, each in its own transaction;
 * errors are ignored (the next prune catches up).  When a table still has
 * expired rows, the claim is released so that the next write continues. */
static void prune_run(rr_store *s, int64_t now)
{
	int64_t sig = now - (int64_t)s->signin_days * RRS_DAY;
	int64_t det = now - (int64_t)s->detection_days * RRS_DAY;
	int left = 0;

	left |= prune_table(s, RRS_Q_PRUNE_SIGNINS, sig) == 1;
	left |= prune_table(s, RRS_Q_PRUNE_SIGNIN_DETS, det) == 1;
	left |= prune_table(s, RRS_Q_PRUNE_USER_DETS, det) == 1;
	left |= prune_table(s, RRS_Q_PRUNE_FAILURES, sig) == 1;
	left |= prune_table(s, RRS_Q_PRUNE_FLEET_FAILURES, sig) == 1;
	left |= prune_table(s, RRS_Q_PRUNE_FLEET_SIGNINS, sig) == 1;
	left |= prune_table(s, RRS_Q_PRUNE_MFA_FAILURES, sig) == 1;
	left |= prune_table(s, RRS_Q_PRUNE_TAPS, det) == 1;
	if (left && !rrs_begin(s, true))
		rrs_end(s, rrs_meta_set_int(s, "last_prune", 0));
}

int rrs_end_pruning(rr_store *s, int err, int64_t now)
{
	bool due = !err && prune_claim(s, now);

	err = rrs_end(s, err);
	if (!err && due)
		prune_run(s, now);
	return err;
}

int rrs_signin_update(rr_store *s, enum rrs_query q, const char *value,
		      const char *ref, const char *user, const char *outcome)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, q, &st);
	if (!err)
		err = rrs_bind(s, st, "ssss", value, ref, user, outcome);
	if (!err)
		err = rrs_step_done(s, st);
	if (!err && sqlite3_changes(s->db) != 1)
		err = -ENOENT;
	rrs_release(st);
	return err;
}

static int device_set(rr_store *s, const rr_signin_rec *r, const char *ref)
{
	int err = rrs_signin_update(s, RRS_Q_SIGNIN_DEVICE_SET, r->device, ref,
				    r->user, RRS_OUTCOME_SUCCESS);
	bool known = false;

	if (!err)
		err = seen_row(s, RRS_Q_DEV_SEEN, r->user, r->device, &known);
	if (!err)
		err = device_record(s, r);
	if (!err)
		err = rrs_shared_familiar(s, r->user, known);
	return err;
}

static int device_set_try(rr_store *s, const rr_signin_rec *r,
			  const char *ref)
{
	int err = rrs_begin(s, true);

	return err ? err : rrs_end(s, device_set(s, r, ref));
}

int rr_store_signin_device_set(rr_store *s, const char *user,
			       const char *ref, const char *device,
			       int64_t now)
{
	rr_signin_rec r = {.user = user, .device = device, .time = now};
	int err;

	if (!s || !rrs_user_ok(user) || !ref || strlen(ref) != RR_REF_LEN ||
	    !device || !*device || strnlen(device, RR_DEVICE_MAX + 1) >
	    RR_DEVICE_MAX)
		return -EINVAL;
	RRS_RETRY(err, device_set_try(s, &r, ref));
	return err;
}
