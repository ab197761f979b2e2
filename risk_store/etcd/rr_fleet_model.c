/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet model's values (rr_fleet_model.h): each kind checked by one
 * function, encoded to compact JSON and decoded strictly.  Decoding works
 * on a copy so that *out is written only on success.
 */
#include "rr_fleet_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *const alg_names[] = { "SHA1", "SHA256", "SHA512" };
#define ALG_COUNT (sizeof(alg_names) / sizeof(alg_names[0]))

static bool time_ok(int64_t t)
{
	return t >= 0 && t <= RR_FLEET_TIME_MAX;
}

/* ---- enum spellings ----------------------------------------------------- */

static int parse_level(const char *s, int *out)
{
	rr_level v;
	int r = rr_level_parse(s, &v);

	if (r == 0)
		*out = (int)v;
	return r;
}

static int parse_state(const char *s, int *out)
{
	rr_state v;
	int r = rr_state_parse(s, &v);

	if (r == 0)
		*out = (int)v;
	return r;
}

static int parse_detail(const char *s, int *out)
{
	rr_detail v;
	int r = rr_detail_parse(s, &v);

	if (r == 0)
		*out = (int)v;
	return r;
}

static int parse_event(const char *s, int *out)
{
	rr_event v;
	int r = rr_event_parse(s, &v);

	if (r == 0)
		*out = (int)v;
	return r;
}

static int parse_action(const char *s, int *out)
{
	rr_action a;
	int r = rr_action_parse(s, &a);

	if (r == 0)
		*out = (int)a;
	return r;
}

static int parse_alg(const char *s, int *out)
{
	size_t i;

	for (i = 0; i < ALG_COUNT; i++)
		if (!strcmp(s, alg_names[i])) {
			*out = (int)i;
			return 0;
		}
	return -EINVAL;
}

static int set_name(json_t *o, const char *field, const char *name)
{
	return name ? rr_fj_set(o, field, json_string(name)) : -EINVAL;
}

static int set_time(json_t *o, const char *field, int64_t t)
{
	return rr_fj_set(o, field, json_integer((json_int_t)t));
}

/* A new object with "v". */
static json_t *versioned(void)
{
	json_t *o = json_object();

	if (o && rr_fj_set(o, "v", json_integer(RR_FLEET_SCHEMA)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Dump o (consumed) to text; then wipe its `secret` member (may be NULL). */
static int finish(json_t *o, int r, const char *secret, size_t cap,
		  char **out, size_t *len)
{
	if (r == 0)
		r = rr_fj_dump(o, cap, out, len);
	if (secret)
		rr_fj_wipe(o, secret);
	json_decref(o);
	return r;
}

/* ---- risk --------------------------------------------------------------- */

static int set_text(json_t *o, const char *field, const char *text,
		    size_t min, size_t max)
{
	size_t n = strnlen(text, max + 1);
	json_t *j;

	if (n < min || n > max || !rr_fj_printable(text, n, max))
		return -EINVAL;
	j = json_string(text); /* NULL: not UTF-8 */
	return j ? rr_fj_set(o, field, j) : -EINVAL;
}

static const char *const risk_fields[] = {
	"v", "riskLevel", "riskState", "riskDetail", "riskLastUpdated",
	"detections", "safeRefs", NULL
};
static const char *const safe_fields[] = {"ref", "time", NULL};

/* A reference as the store makes them: a key segment of at most
 * RR_REF_LEN bytes. */
static bool ref_ok(const char *ref)
{
	return rr_fleet_segment_ok(ref) && strlen(ref) <= RR_REF_LEN;
}

static bool safe_ok(const rr_fleet_safe_ref *s, size_t n)
{
	size_t i, j;

	if (n > RR_FLEET_MAX_SAFE_REFS)
		return false;
	for (i = 0; i < n; i++) {
		if (strnlen(s[i].ref, sizeof(s[i].ref)) >= sizeof(s[i].ref) ||
		    !ref_ok(s[i].ref) || !time_ok(s[i].time))
			return false;
		for (j = 0; j < i; j++)
			if (!strcmp(s[i].ref, s[j].ref))
				return false;
	}
	return true;
}
static const char *const det_fields[] = {
	"riskEventType", "riskLevel", "riskState", "riskDetail", "source",
	"detected", "lastUpdated", NULL
};

static bool det_ok(const rr_fleet_detection *d)
{
	size_t n = strnlen(d->source, sizeof(d->source));

	return rr_event_name(d->type) && rr_level_name(d->level) &&
	       rr_state_name(d->state) && rr_detail_name(d->detail) &&
	       n < sizeof(d->source) &&
	       rr_fj_ascii(d->source, n, RR_RHOST_MAX) &&
	       time_ok(d->detected) && time_ok(d->updated);
}

static bool risk_ok(const rr_fleet_risk *v)
{
	size_t i;

	if (!rr_level_name(v->level) || !rr_state_name(v->state) ||
	    !rr_detail_name(v->detail) || !time_ok(v->updated) ||
	    v->n_detections > RR_FLEET_MAX_DETECTIONS ||
	    !safe_ok(v->safe, v->n_safe))
		return false;
	for (i = 0; i < v->n_detections; i++)
		if (!det_ok(&v->detections[i]))
			return false;
	return true;
}

static json_t *safe_json(const rr_fleet_safe_ref *s)
{
	json_t *o = json_object();
	int r;

	if (!o)
		return NULL;
	r = set_text(o, "ref", s->ref, 1, RR_REF_LEN);
	if (r == 0)
		r = set_time(o, "time", s->time);
	if (r < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *det_json(const rr_fleet_detection *d)
{
	json_t *o = json_object();
	int r;

	if (!o)
		return NULL;
	r = set_name(o, "riskEventType", rr_event_name(d->type));
	if (r == 0)
		r = set_name(o, "riskLevel", rr_level_name(d->level));
	if (r == 0)
		r = set_name(o, "riskState", rr_state_name(d->state));
	if (r == 0)
		r = set_name(o, "riskDetail", rr_detail_name(d->detail));
	if (r == 0)
		r = rr_fj_set(o, "source", json_string(d->source));
	if (r == 0)
		r = set_time(o, "detected", d->detected);
	if (r == 0)
		r = set_time(o, "lastUpdated", d->updated);
	if (r < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int rr_fleet_risk_encode(const rr_fleet_risk *v, char **out, size_t *len)
{
	json_t *o, *a;
	size_t i;
	int r;

	if (!v || !out || !len || !risk_ok(v))
		return -EINVAL;
	o = versioned();
	if (!o)
		return -ENOMEM;
	r = set_name(o, "riskLevel", rr_level_name(v->level));
	if (r == 0)
		r = set_name(o, "riskState", rr_state_name(v->state));
	if (r == 0)
		r = set_name(o, "riskDetail", rr_detail_name(v->detail));
	if (r == 0)
		r = set_time(o, "riskLastUpdated", v->updated);
	a = r == 0 ? json_array() : NULL;
	if (r == 0)
		r = rr_fj_set(o, "detections", a);
	for (i = 0; r == 0 && i < v->n_detections; i++)
		if (json_array_append_new(a, det_json(&v->detections[i])) < 0)
			r = -ENOMEM;
	a = r == 0 && v->n_safe ? json_array() : NULL;
	if (r == 0 && v->n_safe)
		r = rr_fj_set(o, "safeRefs", a);
	for (i = 0; r == 0 && i < v->n_safe; i++)
		if (json_array_append_new(a, safe_json(&v->safe[i])) < 0)
			r = -ENOMEM;
	return finish(o, r, NULL, RR_FLEET_MAX_JSON, out, len);
}

static int det_read(const json_t *o, rr_fleet_detection *d)
{
	int t, l, s, dt;

	if (rr_fj_fields(o, det_fields) < 0 ||
	    rr_fj_enum(o, "riskEventType", parse_event, &t) < 0 ||
	    rr_fj_enum(o, "riskLevel", parse_level, &l) < 0 ||
	    rr_fj_enum(o, "riskState", parse_state, &s) < 0 ||
	    rr_fj_enum(o, "riskDetail", parse_detail, &dt) < 0 ||
	    rr_fj_str(o, "source", 0, RR_RHOST_MAX, d->source) < 0 ||
	    rr_fj_time(o, "detected", &d->detected) < 0 ||
	    rr_fj_time(o, "lastUpdated", &d->updated) < 0)
		return -EPROTO;
	d->type = (rr_event)t;
	d->level = (rr_level)l;
	d->state = (rr_state)s;
	d->detail = (rr_detail)dt;
	return det_ok(d) ? 0 : -EPROTO;
}

static int risk_read(const json_t *o, rr_fleet_risk *v)
{
	const json_t *a = json_object_get(o, "detections");
	int l, s, d;
	size_t i;

	if (rr_fj_fields(o, risk_fields) < 0 || rr_fj_version(o) < 0 ||
	    rr_fj_enum(o, "riskLevel", parse_level, &l) < 0 ||
	    rr_fj_enum(o, "riskState", parse_state, &s) < 0 ||
	    rr_fj_enum(o, "riskDetail", parse_detail, &d) < 0 ||
	    rr_fj_time(o, "riskLastUpdated", &v->updated) < 0 ||
	    !json_is_array(a) || json_array_size(a) > RR_FLEET_MAX_DETECTIONS)
		return -EPROTO;
	v->level = (rr_level)l;
	v->state = (rr_state)s;
	v->detail = (rr_detail)d;
	v->n_detections = json_array_size(a);
	for (i = 0; i < v->n_detections; i++)
		if (det_read(json_array_get(a, i), &v->detections[i]) < 0)
			return -EPROTO;
	/* absent: none (an empty list is written as none) */
	a = json_object_get(o, "safeRefs");
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > RR_FLEET_MAX_SAFE_REFS)
		return -EPROTO;
	v->n_safe = json_array_size(a);
	for (i = 0; i < v->n_safe; i++) {
		const json_t *e = json_array_get(a, i);

		if (rr_fj_fields(e, safe_fields) < 0 ||
		    rr_fj_str(e, "ref", 1, RR_REF_LEN, v->safe[i].ref) < 0 ||
		    rr_fj_time(e, "time", &v->safe[i].time) < 0)
			return -EPROTO;
	}
	return safe_ok(v->safe, v->n_safe) ? 0 : -EPROTO;
}

/* ---- mfa ---------------------------------------------------------------- */

static const char *const mfa_fields[] = {
	"v", "sealed", "alg", "digits", "period", "registeredAt", "lastStep",
	"graceStart", "failures", NULL
};

static bool failures_ok(const int64_t *f, size_t n)
{
	size_t i;

	if (n > RR_FLEET_MAX_FAILURES)
		return false;
	for (i = 0; i < n; i++)
		if (!time_ok(f[i]) || (i && f[i] < f[i - 1]))
			return false;
	return true;
}

static bool mfa_ok(const rr_fleet_mfa *v)
{
	bool reg = v->sealed_len > 0;

	if (v->sealed_len > RR_STORE_SEALED_MAX || !time_ok(v->last_step) ||
	    !time_ok(v->grace_start) || !time_ok(v->registered_at) ||
	    !failures_ok(v->failures, v->n_failures))
		return false;
	if (!reg)
		return !v->alg && !v->digits && !v->period &&
		       !v->registered_at;
	return v->alg < ALG_COUNT && v->digits >= 6 && v->digits <= 8 &&
	       v->period >= 15 && v->period <= 120;
}

static int mfa_registration_json(json_t *o, const rr_fleet_mfa *v)
{
	int r;

	if (!v->sealed_len)
		return 0;
	r = rr_fj_set_b64(o, "sealed", v->sealed, v->sealed_len);
	if (r == 0)
		r = rr_fj_set(o, "alg", json_string(alg_names[v->alg]));
	if (r == 0)
		r = rr_fj_set(o, "digits", json_integer(v->digits));
	if (r == 0)
		r = rr_fj_set(o, "period", json_integer(v->period));
	if (r == 0)
		r = set_time(o, "registeredAt", v->registered_at);
	return r;
}

int rr_fleet_mfa_encode(const rr_fleet_mfa *v, char **out, size_t *len)
{
	json_t *o, *a;
	size_t i;
	int r;

	if (!v || !out || !len || !mfa_ok(v))
		return -EINVAL;
	o = versioned();
	if (!o)
		return -ENOMEM;
	r = mfa_registration_json(o, v);
	if (r == 0)
		r = set_time(o, "lastStep", v->last_step);
	if (r == 0)
		r = set_time(o, "graceStart", v->grace_start);
	a = r == 0 ? json_array() : NULL;
	if (r == 0)
		r = rr_fj_set(o, "failures", a);
	for (i = 0; r == 0 && i < v->n_failures; i++)
		if (json_array_append_new(a, json_integer(v->failures[i])) < 0)
			r = -ENOMEM;
	return finish(o, r, "sealed", RR_FLEET_MAX_JSON, out, len);
}

static int mfa_registration_read(const json_t *o, rr_fleet_mfa *v)
{
	int64_t digits, period;
	int alg;

	if (!json_object_get(o, "sealed"))
		return (json_object_get(o, "alg") ||
			json_object_get(o, "digits") ||
			json_object_get(o, "period") ||
			json_object_get(o, "registeredAt")) ? -EPROTO : 0;
	if (rr_fj_b64(o, "sealed", RR_STORE_SEALED_MAX, v->sealed,
		      &v->sealed_len) < 0 ||
	    rr_fj_enum(o, "alg", parse_alg, &alg) < 0 ||
	    rr_fj_int(o, "digits", 6, 8, &digits) < 0 ||
	    rr_fj_int(o, "period", 15, 120, &period) < 0 ||
	    rr_fj_time(o, "registeredAt", &v->registered_at) < 0)
		return -EPROTO;
	v->alg = (unsigned)alg;
	v->digits = (unsigned)digits;
	v->period = (unsigned)period;
	return 0;
}

static int mfa_read(const json_t *o, rr_fleet_mfa *v)
{
	const json_t *a = json_object_get(o, "failures");
	const json_t *e;
	size_t i;

	if (rr_fj_fields(o, mfa_fields) < 0 || rr_fj_version(o) < 0 ||
	    mfa_registration_read(o, v) < 0 ||
	    rr_fj_time(o, "lastStep", &v->last_step) < 0 ||
	    rr_fj_time(o, "graceStart", &v->grace_start) < 0 ||
	    !json_is_array(a) || json_array_size(a) > RR_FLEET_MAX_FAILURES)
		return -EPROTO;
	v->n_failures = json_array_size(a);
	json_array_foreach (a, i, e) {
		if (!json_is_integer(e))
			return -EPROTO;
		v->failures[i] = (int64_t)json_integer_value(e);
	}
	return failures_ok(v->failures, v->n_failures) ? 0 : -EPROTO;
}

void rr_fleet_mfa_clear(rr_fleet_mfa *v)
{
	if (v)
		sodium_memzero(v, sizeof(*v));
}

int rr_fleet_mfa_failure_add(rr_fleet_mfa *v, int64_t t)
{
	if (!v || !time_ok(t) || v->n_failures > RR_FLEET_MAX_FAILURES ||
	    (v->n_failures && t < v->failures[v->n_failures - 1]))
		return -EINVAL;
	if (v->n_failures == RR_FLEET_MAX_FAILURES) {
		memmove(v->failures, v->failures + 1,
			(RR_FLEET_MAX_FAILURES - 1) * sizeof(v->failures[0]));
		v->n_failures--;
	}
	v->failures[v->n_failures++] = t;
	return 0;
}

/* ---- tap ---------------------------------------------------------------- */

static const char *const tap_fields[] = {
	"v", "hash", "created", "expires", "used", NULL
};

int rr_fleet_tap_encode(const rr_fleet_tap *v, char **out, size_t *len)
{
	json_t *o;
	int r;

	if (!v || !out || !len || !time_ok(v->created) ||
	    !time_ok(v->expires))
		return -EINVAL;
	o = versioned();
	if (!o)
		return -ENOMEM;
	r = rr_fj_set_b64(o, "hash", v->hash, sizeof(v->hash));
	if (r == 0)
		r = set_time(o, "created", v->created);
	if (r == 0)
		r = set_time(o, "expires", v->expires);
	if (r == 0)
		r = rr_fj_set(o, "used", json_boolean(v->used));
	return finish(o, r, "hash", RR_FLEET_MAX_JSON, out, len);
}

static int tap_read(const json_t *o, rr_fleet_tap *v)
{
	size_t n = 0;

	if (rr_fj_fields(o, tap_fields) < 0 || rr_fj_version(o) < 0 ||
	    rr_fj_b64(o, "hash", sizeof(v->hash), v->hash, &n) < 0 ||
	    n != sizeof(v->hash) ||
	    rr_fj_time(o, "created", &v->created) < 0 ||
	    rr_fj_time(o, "expires", &v->expires) < 0 ||
	    rr_fj_bool(o, "used", &v->used) < 0)
		return -EPROTO;
	return 0;
}

void rr_fleet_tap_clear(rr_fleet_tap *v)
{
	if (v)
		sodium_memzero(v, sizeof(*v));
}

/* ---- pwchange ----------------------------------------------------------- */

static const char *const pw_fields[] = { "v", "since", "actor", NULL };

int rr_fleet_pwchange_encode(const rr_fleet_pwchange *v, char **out,
			     size_t *len)
{
	json_t *o, *actor;
	size_t n;
	int r;

	if (!v || !out || !len)
		return -EINVAL;
	n = strnlen(v->actor, sizeof(v->actor));
	if (!time_ok(v->since) || n == 0 || n == sizeof(v->actor) ||
	    !rr_fj_printable(v->actor, n, RR_USER_MAX))
		return -EINVAL;
	actor = json_string(v->actor); /* NULL: not UTF-8 */
	if (!actor)
		return -EINVAL;
	o = versioned();
	if (!o) {
		json_decref(actor);
		return -ENOMEM;
	}
	r = rr_fj_set(o, "actor", actor);
	if (r == 0)
		r = set_time(o, "since", v->since);
	return finish(o, r, NULL, RR_FLEET_MAX_JSON, out, len);
}

static int pwchange_read(const json_t *o, rr_fleet_pwchange *v)
{
	if (rr_fj_fields(o, pw_fields) < 0 || rr_fj_version(o) < 0 ||
	    rr_fj_time(o, "since", &v->since) < 0 ||
	    rr_fj_str(o, "actor", 1, RR_USER_MAX, v->actor) < 0)
		return -EPROTO;
	return 0;
}

/* ---- familiar ----------------------------------------------------------- */

static const char *const fam_fields[] = { "v", "networks", "devices", NULL };
static const char *const seen_fields[] = {
	"key", "firstSeen", "lastSeen", "count", NULL
};

static bool seen_ok(const rr_fleet_seen *e)
{
	size_t n = strnlen(e->key, sizeof(e->key));

	return n > 0 && n < sizeof(e->key) &&
	       rr_fj_ascii(e->key, n, RR_FLEET_FAMILIAR_KEY_MAX) &&
	       time_ok(e->first_seen) && time_ok(e->last_seen) &&
	       e->first_seen <= e->last_seen && time_ok(e->count);
}

/* Each entry valid and each key once. */
static bool seen_list_ok(const rr_fleet_seen *l, size_t n)
{
	size_t i, j;

	if (n > RR_FLEET_MAX_FAMILIAR)
		return false;
	for (i = 0; i < n; i++) {
		if (!seen_ok(&l[i]))
			return false;
		for (j = 0; j < i; j++)
			if (!strcmp(l[i].key, l[j].key))
				return false;
	}
	return true;
}

static json_t *seen_json(const rr_fleet_seen *l, size_t n)
{
	json_t *a = json_array(), *o;
	size_t i;
	int r = a ? 0 : -ENOMEM;

	for (i = 0; r == 0 && i < n; i++) {
		o = json_object();
		r = json_array_append_new(a, o) < 0 ? -ENOMEM : 0;
		if (r == 0)
			r = rr_fj_set(o, "key", json_string(l[i].key));
		if (r == 0)
			r = set_time(o, "firstSeen", l[i].first_seen);
		if (r == 0)
			r = set_time(o, "lastSeen", l[i].last_seen);
		if (r == 0)
			r = set_time(o, "count", l[i].count);
	}
	if (r < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int rr_fleet_familiar_encode(const rr_fleet_familiar *v, char **out,
			     size_t *len)
{
	json_t *o;
	int r;

	if (!v || !out || !len || !seen_list_ok(v->networks, v->n_networks) ||
	    !seen_list_ok(v->devices, v->n_devices))
		return -EINVAL;
	o = versioned();
	if (!o)
		return -ENOMEM;
	r = rr_fj_set(o, "networks", seen_json(v->networks, v->n_networks));
	if (r == 0)
		r = rr_fj_set(o, "devices",
			      seen_json(v->devices, v->n_devices));
	return finish(o, r, NULL, RR_FLEET_MAX_JSON_FAMILIAR, out, len);
}

static int seen_read(const json_t *a, rr_fleet_seen *l, size_t *n)
{
	const json_t *e;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > RR_FLEET_MAX_FAMILIAR)
		return -EPROTO;
	json_array_foreach (a, i, e)
		if (rr_fj_fields(e, seen_fields) < 0 ||
		    rr_fj_str(e, "key", 1, RR_FLEET_FAMILIAR_KEY_MAX,
			      l[i].key) < 0 ||
		    rr_fj_time(e, "firstSeen", &l[i].first_seen) < 0 ||
		    rr_fj_time(e, "lastSeen", &l[i].last_seen) < 0 ||
		    rr_fj_time(e, "count", &l[i].count) < 0)
			return -EPROTO;
	*n = json_array_size(a);
	return seen_list_ok(l, *n) ? 0 : -EPROTO;
}

static int familiar_read(const json_t *o, rr_fleet_familiar *v)
{
	if (rr_fj_fields(o, fam_fields) < 0 || rr_fj_version(o) < 0 ||
	    seen_read(json_object_get(o, "networks"), v->networks,
		      &v->n_networks) < 0 ||
	    seen_read(json_object_get(o, "devices"), v->devices,
		      &v->n_devices) < 0)
		return -EPROTO;
	return 0;
}

int rr_fleet_familiar_touch(rr_fleet_seen *list, size_t *n, const char *key,
			    int64_t now)
{
	size_t i, k, oldest = 0;
	rr_fleet_seen e = { .first_seen = now, .last_seen = now, .count = 1 };

	if (!list || !n || !key || *n > RR_FLEET_MAX_FAMILIAR || !time_ok(now))
		return -EINVAL;
	k = strnlen(key, sizeof(e.key));
	if (k == 0 || k == sizeof(e.key))
		return -EINVAL;
	memcpy(e.key, key, k + 1);
	if (!seen_ok(&e))
		return -EINVAL;
	for (i = 0; i < *n; i++) {
		if (!strcmp(list[i].key, key)) {
			if (now > list[i].last_seen)
				list[i].last_seen = now;
			if (list[i].count < RR_FLEET_TIME_MAX)
				list[i].count++;
			return 0;
		}
		if (list[i].last_seen < list[oldest].last_seen)
			oldest = i;
	}
	if (*n < RR_FLEET_MAX_FAMILIAR)
		oldest = (*n)++;
	list[oldest] = e;
	return 0;
}

/* ---- audit -------------------------------------------------------------- */

static const char *const audit_fields[] = {
	"v", "time", "actor", "action", "target", "detail", "host", NULL
};

int rr_fleet_audit_encode(const rr_fleet_audit *v, char **out, size_t *len)
{
	json_t *o;
	int r;

	if (!v || !out || !len || !time_ok(v->time))
		return -EINVAL;
	o = versioned();
	if (!o)
		return -ENOMEM;
	r = set_time(o, "time", v->time);
	if (r == 0)
		r = set_text(o, "actor", v->actor, 1, RR_USER_MAX);
	if (r == 0)
		r = set_text(o, "action", v->action, 1,
			     RR_FLEET_AUDIT_TEXT_MAX);
	if (r == 0)
		r = set_text(o, "target", v->target, 0, RR_USER_MAX);
	if (r == 0)
		r = set_text(o, "detail", v->detail, 0,
			     RR_FLEET_AUDIT_TEXT_MAX);
	if (r == 0)
		r = set_text(o, "host", v->host, 1, RR_FLEET_SEGMENT_MAX);
	return finish(o, r, NULL, RR_FLEET_MAX_JSON, out, len);
}

static int audit_read(const json_t *o, rr_fleet_audit *v)
{
	if (rr_fj_fields(o, audit_fields) < 0 || rr_fj_version(o) < 0 ||
	    rr_fj_time(o, "time", &v->time) < 0 ||
	    rr_fj_str(o, "actor", 1, RR_USER_MAX, v->actor) < 0 ||
	    rr_fj_str(o, "action", 1, RR_FLEET_AUDIT_TEXT_MAX, v->action) < 0 ||
	    rr_fj_str(o, "target", 0, RR_USER_MAX, v->target) < 0 ||
	    rr_fj_str(o, "detail", 0, RR_FLEET_AUDIT_TEXT_MAX, v->detail) < 0 ||
	    rr_fj_str(o, "host", 1, RR_FLEET_SEGMENT_MAX, v->host) < 0)
		return -EPROTO;
	return 0;
}

/* ---- host ---------------------------------------------------------------- */

static const char *const host_fields[] = {
	"v", "host", "version", "started", "seen", "everyMs", "revision",
	"stalenessMs", "maxStalenessMs", "queued", NULL
};

static bool host_ok(const rr_fleet_host_rec *v)
{
	return time_ok(v->started) && time_ok(v->seen) &&
	       v->every_ms > 0 && v->every_ms <= RR_FLEET_TIME_MAX &&
	       time_ok(v->revision) && v->staleness_ms >= -1 &&
	       v->staleness_ms <= RR_FLEET_TIME_MAX &&
	       time_ok(v->max_staleness_ms) && time_ok(v->queued) &&
	       rr_fleet_segment_ok(v->host);
}

int rr_fleet_host_encode(const rr_fleet_host_rec *v, char **out, size_t *len)
{
	json_t *o;
	int r;

	if (!v || !out || !len || !host_ok(v))
		return -EINVAL;
	o = versioned();
	if (!o)
		return -ENOMEM;
	r = set_text(o, "host", v->host, 1, RR_FLEET_SEGMENT_MAX);
	if (r == 0)
		r = set_text(o, "version", v->version, 1,
			     RR_FLEET_VERSION_MAX);
	if (r == 0)
		r = set_time(o, "started", v->started);
	if (r == 0)
		r = set_time(o, "seen", v->seen);
	if (r == 0)
		r = set_time(o, "everyMs", v->every_ms);
	if (r == 0)
		r = set_time(o, "revision", v->revision);
	if (r == 0)
		r = set_time(o, "stalenessMs", v->staleness_ms);
	if (r == 0)
		r = set_time(o, "maxStalenessMs", v->max_staleness_ms);
	if (r == 0)
		r = set_time(o, "queued", v->queued);
	return finish(o, r, NULL, RR_FLEET_MAX_JSON, out, len);
}

static int host_read(const json_t *o, rr_fleet_host_rec *v)
{
	if (rr_fj_fields(o, host_fields) < 0 || rr_fj_version(o) < 0 ||
	    rr_fj_str(o, "host", 1, RR_FLEET_SEGMENT_MAX, v->host) < 0 ||
	    rr_fj_str(o, "version", 1, RR_FLEET_VERSION_MAX, v->version) < 0 ||
	    rr_fj_time(o, "started", &v->started) < 0 ||
	    rr_fj_time(o, "seen", &v->seen) < 0 ||
	    rr_fj_int(o, "everyMs", 1, RR_FLEET_TIME_MAX, &v->every_ms) < 0 ||
	    rr_fj_time(o, "revision", &v->revision) < 0 ||
	    rr_fj_int(o, "stalenessMs", -1, RR_FLEET_TIME_MAX,
		      &v->staleness_ms) < 0 ||
	    rr_fj_time(o, "maxStalenessMs", &v->max_staleness_ms) < 0 ||
	    rr_fj_time(o, "queued", &v->queued) < 0 || !host_ok(v))
		return -EPROTO;
	return 0;
}

/* ---- failures ------------------------------------------------------------ */

static const char *const fails_fields[] = { "v", "host", "failures", NULL };
static const char *const failure_fields[] = {
	"user", "tag", "netkey", "rhost", "time", NULL
};

static bool hex_tag(const char *t)
{
	size_t i;

	if (strlen(t) != RR_FLEET_TAG_LEN)
		return false;
	for (i = 0; i < RR_FLEET_TAG_LEN; i++)
		if (!((t[i] >= '0' && t[i] <= '9') ||
		      (t[i] >= 'a' && t[i] <= 'f')))
			return false;
	return true;
}

/* A user, or a tag (never both); a source; a time. */
static bool failure_ok(const rr_fleet_failure *f)
{
	size_t u = strnlen(f->user, sizeof(f->user));
	size_t k = strnlen(f->netkey, sizeof(f->netkey));
	size_t h = strnlen(f->rhost, sizeof(f->rhost));

	if (u ? f->tag[0] != '\0' : !hex_tag(f->tag))
		return false;
	return u < sizeof(f->user) && rr_fj_printable(f->user, u, RR_USER_MAX) &&
	       k > 0 && k < sizeof(f->netkey) &&
	       rr_fj_ascii(f->netkey, k, RR_NETKEY_MAX) && h > 0 &&
	       h < sizeof(f->rhost) &&
	       rr_fj_printable(f->rhost, h, RR_RHOST_MAX) && time_ok(f->time);
}

static bool fails_ok(const rr_fleet_fails *v)
{
	size_t i;

	if (!rr_fleet_segment_ok(v->host) || v->n > RR_FLEET_MAX_FAIL_BATCH)
		return false;
	for (i = 0; i < v->n; i++)
		if (!failure_ok(&v->failures[i]))
			return false;
	return true;
}

int rr_fleet_fails_encode(const rr_fleet_fails *v, char **out, size_t *len)
{
	json_t *o, *a = NULL, *e;
	size_t i;
	int r;

	if (!v || !out || !len || !fails_ok(v))
		return -EINVAL;
	o = versioned();
	if (!o)
		return -ENOMEM;
	r = set_text(o, "host", v->host, 1, RR_FLEET_SEGMENT_MAX);
	if (r == 0) {
		a = json_array();
		r = rr_fj_set(o, "failures", a);
	}
	for (i = 0; r == 0 && i < v->n; i++) {
		const rr_fleet_failure *f = &v->failures[i];

		e = json_object();
		r = json_array_append_new(a, e) < 0 ? -ENOMEM : 0;
		if (r == 0)
			r = set_text(e, "user", f->user, 0, RR_USER_MAX);
		if (r == 0)
			r = set_text(e, "tag", f->tag, 0, RR_FLEET_TAG_LEN);
		if (r == 0)
			r = set_text(e, "netkey", f->netkey, 1, RR_NETKEY_MAX);
		if (r == 0)
			r = set_text(e, "rhost", f->rhost, 1, RR_RHOST_MAX);
		if (r == 0)
			r = set_time(e, "time", f->time);
	}
	return finish(o, r, NULL, RR_FLEET_MAX_JSON_FAILS, out, len);
}

static int fails_read(const json_t *o, rr_fleet_fails *v)
{
	const json_t *a, *e;
	size_t i;

	if (rr_fj_fields(o, fails_fields) < 0 || rr_fj_version(o) < 0 ||
	    rr_fj_str(o, "host", 1, RR_FLEET_SEGMENT_MAX, v->host) < 0)
		return -EPROTO;
	a = json_object_get(o, "failures");
	if (!json_is_array(a) || json_array_size(a) > RR_FLEET_MAX_FAIL_BATCH)
		return -EPROTO;
	json_array_foreach (a, i, e) {
		rr_fleet_failure *f = &v->failures[i];

		if (rr_fj_fields(e, failure_fields) < 0 ||
		    rr_fj_str(e, "user", 0, RR_USER_MAX, f->user) < 0 ||
		    rr_fj_str(e, "tag", 0, RR_FLEET_TAG_LEN, f->tag) < 0 ||
		    rr_fj_str(e, "netkey", 1, RR_NETKEY_MAX, f->netkey) < 0 ||
		    rr_fj_str(e, "rhost", 1, RR_RHOST_MAX, f->rhost) < 0 ||
		    rr_fj_time(e, "time", &f->time) < 0)
			return -EPROTO;
	}
	v->n = json_array_size(a);
	return fails_ok(v) ? 0 : -EPROTO;
}

/* ---- risky sign-ins -------------------------------------------------------- */

static const char *const signin_fields[] = {
	"v", "host", "ref", "time", "user", "service", "rhost", "tty",
	"decision", "outcome", "signInRisk", "userRisk", "detections",
	"applied", "reportOnly", "reason", "mfa", "device", "riskState",
	"riskDetail", NULL
};

/* Printable, '\n' allowed (the lists of policy names). */
static bool lines_ok(const char *s, size_t max)
{
	size_t i, n = strnlen(s, max + 1);

	if (n > max)
		return false;
	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\n') ||
		    (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

static int set_lines(json_t *o, const char *field, const char *text)
{
	json_t *j;

	if (!lines_ok(text, RR_TEXT_MAX - 1))
		return -EINVAL;
	j = json_string(text);
	return j ? rr_fj_set(o, field, j) : -EINVAL;
}

static int get_lines(const json_t *o, const char *field, char *dst)
{
	const json_t *j = json_object_get(o, field);

	if (!json_is_string(j) || json_string_length(j) > RR_TEXT_MAX - 1 ||
	    strlen(json_string_value(j)) != json_string_length(j) ||
	    !lines_ok(json_string_value(j), RR_TEXT_MAX - 1))
		return -EPROTO;
	memcpy(dst, json_string_value(j), json_string_length(j) + 1);
	return 0;
}

static bool signin_ok(const rr_fleet_signin *v)
{
	return rr_fleet_segment_ok(v->host) && ref_ok(v->s.ref) &&
	       time_ok(v->s.time) &&
	       rr_action_name(v->s.action) &&
	       rr_level_name(v->s.signin_risk) &&
	       rr_level_name(v->s.user_risk) && rr_state_name(v->state) &&
	       rr_detail_name(v->detail);
}

int rr_fleet_signin_encode(const rr_fleet_signin *v, char **out, size_t *len)
{
	const rr_store_signin *s = v ? &v->s : NULL;
	json_t *o;
	int r;

	if (!v || !out || !len || !signin_ok(v))
		return -EINVAL;
	o = versioned();
	if (!o)
		return -ENOMEM;
	r = set_text(o, "host", v->host, 1, RR_FLEET_SEGMENT_MAX);
	if (r == 0)
		r = set_text(o, "ref", s->ref, 1, RR_REF_LEN);
	if (r == 0)
		r = set_time(o, "time", s->time);
	if (r == 0)
		r = set_text(o, "user", s->user, 1, RR_USER_MAX);
	if (r == 0)
		r = set_text(o, "service", s->service, 0, RR_SERVICE_MAX);
	if (r == 0)
		r = set_text(o, "rhost", s->rhost, 0, RR_RHOST_MAX);
	if (r == 0)
		r = set_text(o, "tty", s->tty, 0, RR_TTY_MAX);
	if (r == 0)
		r = set_name(o, "decision", rr_action_name(s->action));
	if (r == 0)
		r = set_text(o, "outcome", s->outcome, 1, RR_OUTCOME_MAX - 1);
	if (r == 0)
		r = set_name(o, "signInRisk", rr_level_name(s->signin_risk));
	if (r == 0)
		r = set_name(o, "userRisk", rr_level_name(s->user_risk));
	if (r == 0)
		r = set_text(o, "detections", s->detections, 0,
			     RR_TEXT_MAX - 1);
	if (r == 0)
		r = set_lines(o, "applied", s->applied);
	if (r == 0)
		r = set_lines(o, "reportOnly", s->report_only);
	if (r == 0)
		r = set_text(o, "reason", s->reason, 0, RR_TEXT_MAX - 1);
	if (r == 0)
		r = set_text(o, "mfa", s->mfa, 0, RR_OUTCOME_MAX - 1);
	if (r == 0)
		r = set_text(o, "device", s->device, 0, RR_DEVICE_MAX);
	if (r == 0)
		r = set_name(o, "riskState", rr_state_name(v->state));
	if (r == 0)
		r = set_name(o, "riskDetail", rr_detail_name(v->detail));
	return finish(o, r, NULL, RR_FLEET_MAX_JSON, out, len);
}

static int signin_read(const json_t *o, rr_fleet_signin *v)
{
	rr_store_signin *s = &v->s;
	int a = 0, sr = 0, ur = 0, st = 0, dt = 0;

	if (rr_fj_fields(o, signin_fields) < 0 || rr_fj_version(o) < 0 ||
	    rr_fj_str(o, "host", 1, RR_FLEET_SEGMENT_MAX, v->host) < 0 ||
	    rr_fj_str(o, "ref", 1, RR_REF_LEN, s->ref) < 0 ||
	    rr_fj_time(o, "time", &s->time) < 0 ||
	    rr_fj_str(o, "user", 1, RR_USER_MAX, s->user) < 0 ||
	    rr_fj_str(o, "service", 0, RR_SERVICE_MAX, s->service) < 0 ||
	    rr_fj_str(o, "rhost", 0, RR_RHOST_MAX, s->rhost) < 0 ||
	    rr_fj_str(o, "tty", 0, RR_TTY_MAX, s->tty) < 0 ||
	    rr_fj_enum(o, "decision", parse_action, &a) < 0 ||
	    rr_fj_str(o, "outcome", 1, RR_OUTCOME_MAX - 1, s->outcome) < 0 ||
	    rr_fj_enum(o, "signInRisk", parse_level, &sr) < 0 ||
	    rr_fj_enum(o, "userRisk", parse_level, &ur) < 0 ||
	    rr_fj_str(o, "detections", 0, RR_TEXT_MAX - 1, s->detections) <
		0 ||
	    get_lines(o, "applied", s->applied) < 0 ||
	    get_lines(o, "reportOnly", s->report_only) < 0 ||
	    rr_fj_str(o, "reason", 0, RR_TEXT_MAX - 1, s->reason) < 0 ||
	    rr_fj_str(o, "mfa", 0, RR_OUTCOME_MAX - 1, s->mfa) < 0 ||
	    rr_fj_str(o, "device", 0, RR_DEVICE_MAX, s->device) < 0 ||
	    rr_fj_enum(o, "riskState", parse_state, &st) < 0 ||
	    rr_fj_enum(o, "riskDetail", parse_detail, &dt) < 0)
		return -EPROTO;
	v->state = (rr_state)st;
	v->detail = (rr_detail)dt;
	s->action = (rr_action)a;
	s->signin_risk = (rr_level)sr;
	s->user_risk = (rr_level)ur;
	return signin_ok(v) ? 0 : -EPROTO;
}

/* ---- attacks raised once for the fleet ------------------------------------ */

static const char *const attack_fields[] = {
	"v", "host", "ref", "type", "level", "time", "user", "source",
	"count", "windowS", NULL
};

static bool attack_ok(const rr_fleet_attack *v)
{
	bool brute = v->type == RR_EVENT_BRUTE_FORCE;

	return rr_fleet_segment_ok(v->host) && ref_ok(v->ref) &&
	       (brute || v->type == RR_EVENT_PASSWORD_SPRAY) &&
	       rr_level_name(v->level) && v->level != RR_LEVEL_NONE &&
	       time_ok(v->time) && brute == (v->user[0] != '\0') &&
	       v->source[0] && v->count > 0 && v->count <= RR_FLEET_TIME_MAX &&
	       v->window_s > 0 && v->window_s <= RR_FLEET_TIME_MAX;
}

int rr_fleet_attack_mark(const rr_fleet_attack *v, char *buf, size_t cap)
{
	unsigned char d[16];
	crypto_generichash_state h;
	const char *type;
	int n;

	if (!v || !buf || !attack_ok(v))
		return -EINVAL;
	type = rr_event_name(v->type);
	crypto_generichash_init(&h, NULL, 0, sizeof(d));
	crypto_generichash_update(&h, (const unsigned char *)v->user,
				  strlen(v->user) + 1);
	crypto_generichash_update(&h, (const unsigned char *)v->source,
				  strlen(v->source) + 1);
	crypto_generichash_final(&h, d, sizeof(d));
	n = snprintf(buf, cap, "%s.", type);
	if (n < 0 || (size_t)n + 2 * sizeof(d) + 1 > cap)
		return -ENAMETOOLONG;
	sodium_bin2hex(buf + n, cap - (size_t)n, d, sizeof(d));
	return 0;
}

int rr_fleet_attack_encode(const rr_fleet_attack *v, char **out, size_t *len)
{
	json_t *o;
	int r;

	if (!v || !out || !len || !attack_ok(v))
		return -EINVAL;
	o = versioned();
	if (!o)
		return -ENOMEM;
	r = set_text(o, "host", v->host, 1, RR_FLEET_SEGMENT_MAX);
	if (r == 0)
		r = set_text(o, "ref", v->ref, 1, RR_REF_LEN);
	if (r == 0)
		r = set_name(o, "type", rr_event_name(v->type));
	if (r == 0)
		r = set_name(o, "level", rr_level_name(v->level));
	if (r == 0)
		r = set_time(o, "time", v->time);
	if (r == 0)
		r = set_text(o, "user", v->user, 0, RR_USER_MAX);
	if (r == 0)
		r = set_text(o, "source", v->source, 1, RR_RHOST_MAX);
	if (r == 0)
		r = set_time(o, "count", v->count);
	if (r == 0)
		r = set_time(o, "windowS", v->window_s);
	return finish(o, r, NULL, RR_FLEET_MAX_JSON, out, len);
}

static int attack_read(const json_t *o, rr_fleet_attack *v)
{
	int t = 0, l = 0;

	if (rr_fj_fields(o, attack_fields) < 0 || rr_fj_version(o) < 0 ||
	    rr_fj_str(o, "host", 1, RR_FLEET_SEGMENT_MAX, v->host) < 0 ||
	    rr_fj_str(o, "ref", 1, RR_REF_LEN, v->ref) < 0 ||
	    rr_fj_enum(o, "type", parse_event, &t) < 0 ||
	    rr_fj_enum(o, "level", parse_level, &l) < 0 ||
	    rr_fj_time(o, "time", &v->time) < 0 ||
	    rr_fj_str(o, "user", 0, RR_USER_MAX, v->user) < 0 ||
	    rr_fj_str(o, "source", 1, RR_RHOST_MAX, v->source) < 0 ||
	    rr_fj_int(o, "count", 1, RR_FLEET_TIME_MAX, &v->count) < 0 ||
	    rr_fj_int(o, "windowS", 1, RR_FLEET_TIME_MAX, &v->window_s) < 0)
		return -EPROTO;
	v->type = (rr_event)t;
	v->level = (rr_level)l;
	return attack_ok(v) ? 0 : -EPROTO;
}

/* ---- decoding ----------------------------------------------------------- */


/* Parse text, read it into a zeroed heap copy of `size` bytes, and copy
 * that to out only on success.  Secret-bearing members are wiped. */
typedef struct {
	size_t size; /* of the struct */
	size_t cap;  /* of the text */
	int (*read)(const json_t *o, void *v);
	const char *secret; /* member to wipe, or NULL */
} kind;

static int decode(const char *text, size_t len, void *out, const kind *k)
{
	json_t *o = NULL;
	void *tmp;
	int r;

	if (!out)
		return -EINVAL;
	r = rr_fj_load(text, len, k->cap, &o);
	if (r < 0)
		return r;
	tmp = calloc(1, k->size);
	if (!tmp) {
		r = -ENOMEM;
		goto out;
	}
	r = k->read(o, tmp);
	if (r == 0)
		memcpy(out, tmp, k->size);
	sodium_memzero(tmp, k->size);
	free(tmp);
out:
	if (k->secret)
		rr_fj_wipe(o, k->secret);
	json_decref(o);
	return r;
}

static int risk_read_v(const json_t *o, void *v)
{
	return risk_read(o, v);
}

static int mfa_read_v(const json_t *o, void *v)
{
	return mfa_read(o, v);
}

static int tap_read_v(const json_t *o, void *v)
{
	return tap_read(o, v);
}

static int pwchange_read_v(const json_t *o, void *v)
{
	return pwchange_read(o, v);
}

static int familiar_read_v(const json_t *o, void *v)
{
	return familiar_read(o, v);
}

static int audit_read_v(const json_t *o, void *v)
{
	return audit_read(o, v);
}

static int attack_read_v(const json_t *o, void *v)
{
	return attack_read(o, v);
}

static int signin_read_v(const json_t *o, void *v)
{
	return signin_read(o, v);
}

int rr_fleet_attack_decode(const char *text, size_t len,
			   rr_fleet_attack *out)
{
	static const kind k = { sizeof(rr_fleet_attack), RR_FLEET_MAX_JSON,
				attack_read_v, NULL };

	return decode(text, len, out, &k);
}

int rr_fleet_signin_decode(const char *text, size_t len,
			   rr_fleet_signin *out)
{
	static const kind k = { sizeof(rr_fleet_signin), RR_FLEET_MAX_JSON,
				signin_read_v, NULL };

	return decode(text, len, out, &k);
}

static int fails_read_v(const json_t *o, void *v)
{
	return fails_read(o, v);
}

int rr_fleet_fails_decode(const char *text, size_t len, rr_fleet_fails *out)
{
	static const kind k = { sizeof(rr_fleet_fails),
				RR_FLEET_MAX_JSON_FAILS, fails_read_v, NULL };

	return decode(text, len, out, &k);
}

static int host_read_v(const json_t *o, void *v)
{
	return host_read(o, v);
}

int rr_fleet_host_decode(const char *text, size_t len, rr_fleet_host_rec *out)
{
	static const kind k = { sizeof(rr_fleet_host_rec), RR_FLEET_MAX_JSON,
				host_read_v, NULL };

	return decode(text, len, out, &k);
}

int rr_fleet_audit_decode(const char *text, size_t len, rr_fleet_audit *out)
{
	static const kind k = { sizeof(rr_fleet_audit), RR_FLEET_MAX_JSON,
				audit_read_v, NULL };

	return decode(text, len, out, &k);
}

int rr_fleet_risk_decode(const char *text, size_t len, rr_fleet_risk *out)
{
	static const kind k = { sizeof(rr_fleet_risk), RR_FLEET_MAX_JSON,
				risk_read_v, NULL };

	return decode(text, len, out, &k);
}

int rr_fleet_mfa_decode(const char *text, size_t len, rr_fleet_mfa *out)
{
	static const kind k = { sizeof(rr_fleet_mfa), RR_FLEET_MAX_JSON,
				mfa_read_v, "sealed" };

	return decode(text, len, out, &k);
}

int rr_fleet_tap_decode(const char *text, size_t len, rr_fleet_tap *out)
{
	static const kind k = { sizeof(rr_fleet_tap), RR_FLEET_MAX_JSON,
				tap_read_v, "hash" };

	return decode(text, len, out, &k);
}

int rr_fleet_pwchange_decode(const char *text, size_t len,
			     rr_fleet_pwchange *out)
{
	static const kind k = { sizeof(rr_fleet_pwchange), RR_FLEET_MAX_JSON,
				pwchange_read_v, NULL };

	return decode(text, len, out, &k);
}

int rr_fleet_familiar_decode(const char *text, size_t len,
			     rr_fleet_familiar *out)
{
	static const kind k = { sizeof(rr_fleet_familiar),
				RR_FLEET_MAX_JSON_FAMILIAR, familiar_read_v,
				NULL };

	return decode(text, len, out, &k);
}

void rr_fleet_text_free(char *text)
{
	if (!text)
		return;
	sodium_memzero(text, strlen(text));
	free(text);
}
