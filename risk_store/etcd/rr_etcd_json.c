/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What etcd 3.4's JSON gateway answers, parsed strictly (jansson): keys and
 * values are base64 strings, int64 fields decimal strings, and fields with
 * their default value are omitted (a failed txn has no "succeeded", a PUT
 * event no "type", an empty value no "value").  Anything else is -EPROTO.
 */
#include "rr_etcd_int.h"

#include <errno.h>
#include <jansson.h>
#include "rr_fleet_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RR_ETCD_MAX_JSON ((size_t)64 << 20)

static int load(const char *body, size_t len, json_t **out)
{
	return rr_fj_load(body, len, RR_ETCD_MAX_JSON, out);
}

/* A decimal int64 in a JSON string; absent: `dflt`. */
static int get_i64(const json_t *o, const char *name, int64_t dflt,
		   int64_t *out)
{
	const json_t *v = json_object_get(o, name);
	const char *s, *p;
	int64_t n = 0;
	bool neg;

	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) > 20)
		return -EPROTO;
	s = json_string_value(v);
	neg = s[0] == '-';
	p = s + neg;
	if (!*p)
		return -EPROTO;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || n > (INT64_MAX - (*p - '0')) / 10)
			return -EPROTO;
		n = n * 10 + (*p - '0');
	}
	if ((size_t)(p - s) != json_string_length(v))
		return -EPROTO; /* a NUL inside */
	*out = neg ? -n : n;
	return 0;
}

/* A revision-like field: >= 0. */
static int get_rev(const json_t *o, const char *name, int64_t *out)
{
	int64_t v;
	int r = get_i64(o, name, 0, &v);

	if (r < 0 || v < 0)
		return -EPROTO;
	*out = v;
	return 0;
}

static int get_bool(const json_t *o, const char *name, bool *out)
{
	const json_t *v = json_object_get(o, name);

	if (!v) {
		*out = false;
		return 0;
	}
	if (!json_is_boolean(v))
		return -EPROTO;
	*out = json_is_true(v);
	return 0;
}

/* An optional member that must be an object when present. */
static int get_obj(const json_t *o, const char *name, bool required,
		   const json_t **out)
{
	const json_t *v = json_object_get(o, name);

	if (!v && !required) {
		*out = NULL;
		return 0;
	}
	if (!json_is_object(v))
		return -EPROTO;
	*out = v;
	return 0;
}

/* base64 member, absent: empty.  *out NUL-terminated, at most max bytes. */
static int get_b64(const json_t *o, const char *name, size_t max,
		   unsigned char **out, size_t *out_len)
{
	const json_t *v = json_object_get(o, name);
	const char *s = "", *end = NULL;
	size_t n = 0, blen = 0;
	unsigned char *buf;

	if (v) {
		if (!json_is_string(v))
			return -EPROTO;
		s = json_string_value(v);
		n = json_string_length(v);
		if (n / 4 * 3 > max + 2)
			return -EPROTO;
	}
	buf = malloc(n / 4 * 3 + 3);
	if (!buf)
		return -ENOMEM;
	if (n && (sodium_base642bin(buf, n / 4 * 3 + 2, s, n, NULL, &blen,
				    &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		  end != s + n || blen > max)) {
		free(buf);
		return -EPROTO;
	}
	buf[blen] = '\0';
	*out = buf;
	*out_len = blen;
	return 0;
}

/* Printable ASCII copy of a message (others replaced by '?'). */
static void copy_message(const char *s, char *dst, size_t cap)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < cap; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
}

static int header_revision(const json_t *o, bool required, int64_t *rev)
{
	const json_t *h;
	int r = get_obj(o, "header", required, &h);

	if (r < 0)
		return r;
	if (!h) {
		*rev = 0;
		return 0;
	}
	return get_rev(h, "revision", rev);
}

int rr_etcd_parse_error(const char *body, size_t len, rr_etcd_rpc_error *err)
{
	const json_t *e, *m, *c;
	json_t *j;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		return r;
	e = json_object_get(j, "error");
	r = 0;
	if (!e)
		goto out;
	r = -EPROTO;
	if (json_is_object(e)) { /* a stream's error */
		m = json_object_get(e, "message");
		c = json_object_get(e, "grpc_code");
	} else {
		m = json_object_get(j, "message");
		c = json_object_get(j, "code");
	}
	if ((m && !json_is_string(m)) || (c && !json_is_integer(c)))
		goto out;
	if (c && (json_integer_value(c) < 0 || json_integer_value(c) > 64))
		goto out;
	err->code = c ? (int)json_integer_value(c) : 2; /* UNKNOWN */
	copy_message(m ? json_string_value(m) : "", err->message,
		     sizeof(err->message));
	r = 1;
out:
	json_decref(j);
	return r;
}

static void kv_clear(rr_etcd_kv *kv)
{
	free(kv->key);
	if (kv->value)
		sodium_memzero(kv->value, kv->value_len);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

/* One mvccpb.KeyValue; a key is never empty. */
static int parse_kv(const json_t *o, const rr_etcd_limits *lim,
		    rr_etcd_kv *kv)
{
	rr_etcd_kv k = { 0 };
	int r;

	if (!json_is_object(o))
		return -EPROTO;
	r = get_b64(o, "key", lim->max_key, &k.key, &k.key_len);
	if (r < 0)
		return r;
	r = get_b64(o, "value", lim->max_value, &k.value, &k.value_len);
	if (r == 0 && k.key_len == 0)
		r = -EPROTO;
	if (r == 0)
		r = get_rev(o, "create_revision", &k.create_revision);
	if (r == 0)
		r = get_rev(o, "mod_revision", &k.mod_revision);
	if (r == 0)
		r = get_rev(o, "version", &k.version);
	if (r == 0)
		r = get_i64(o, "lease", 0, &k.lease);
	if (r == 0 && (k.mod_revision == 0 ||
		       k.create_revision > k.mod_revision))
		r = -EPROTO;
	if (r < 0) {
		kv_clear(&k);
		return r;
	}
	*kv = k;
	return 0;
}

void rr_etcd_range_free(rr_etcd_range *rg)
{
	size_t i;

	if (!rg)
		return;
	for (i = 0; i < rg->n; i++)
		kv_clear(&rg->kvs[i]);
	free(rg->kvs);
	free(rg);
}

static int parse_kvs(const json_t *arr, const rr_etcd_limits *lim,
		     size_t limit, rr_etcd_range *rg)
{
	size_t i, n = json_array_size(arr);

	if (arr && !json_is_array(arr))
		return -EPROTO;
	if (n > lim->max_items || (limit && n > limit))
		return -EPROTO;
	if (n == 0)
		return 0;
	rg->kvs = calloc(n, sizeof(*rg->kvs));
	if (!rg->kvs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		int r = parse_kv(json_array_get(arr, i), lim, &rg->kvs[i]);

		if (r < 0)
			return r;
		rg->n++;
	}
	return 0;
}

int rr_etcd_parse_range(const char *body, size_t len,
			const rr_etcd_limits *lim, size_t limit,
			rr_etcd_range **out)
{
	rr_etcd_range *rg = NULL;
	int64_t count;
	json_t *j;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		return r;
	rg = calloc(1, sizeof(*rg));
	r = rg ? 0 : -ENOMEM;
	if (r == 0)
		r = header_revision(j, true, &rg->revision);
	if (r == 0)
		r = get_bool(j, "more", &rg->more);
	if (r == 0)
		r = get_rev(j, "count", &count);
	if (r == 0)
		r = parse_kvs(json_object_get(j, "kvs"), lim, limit, rg);
	if (r == 0 && (size_t)count < rg->n)
		r = -EPROTO;
	json_decref(j);
	if (r < 0) {
		rr_etcd_range_free(rg);
		return r;
	}
	*out = rg;
	return 0;
}

int rr_etcd_parse_put(const char *body, size_t len, int64_t *revision)
{
	int64_t rev;
	json_t *j;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		return r;
	r = header_revision(j, true, &rev);
	json_decref(j);
	if (r == 0)
		*revision = rev;
	return r;
}

int rr_etcd_parse_delete(const char *body, size_t len, int64_t *deleted,
			 int64_t *revision)
{
	int64_t rev, del;
	json_t *j;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		return r;
	r = header_revision(j, true, &rev);
	if (r == 0)
		r = get_rev(j, "deleted", &del);
	json_decref(j);
	if (r == 0) {
		*deleted = del;
		*revision = rev;
	}
	return r;
}

int rr_etcd_parse_txn(const char *body, size_t len, bool *succeeded,
		      int64_t *revision)
{
	const json_t *resp;
	int64_t rev;
	bool ok = false;
	json_t *j;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		return r;
	r = header_revision(j, true, &rev);
	if (r == 0)
		r = get_bool(j, "succeeded", &ok);
	resp = json_object_get(j, "responses");
	if (r == 0 && resp && !json_is_array(resp))
		r = -EPROTO;
	json_decref(j);
	if (r == 0) {
		*succeeded = ok;
		*revision = rev;
	}
	return r;
}

int rr_etcd_parse_lease(const char *body, size_t len, int64_t *id,
			int64_t *ttl)
{
	const json_t *err;
	int64_t i, t, rev;
	json_t *j;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		return r;
	r = header_revision(j, true, &rev);
	if (r == 0)
		r = get_i64(j, "ID", 0, &i);
	if (r == 0)
		r = get_i64(j, "TTL", 0, &t);
	err = json_object_get(j, "error");
	if (r == 0 && (i == 0 || t <= 0 || (err && !json_is_string(err))))
		r = -EPROTO;
	if (r == 0 && err && json_string_length(err) > 0)
		r = -EINVAL; /* granted nothing */
	json_decref(j);
	if (r == 0) {
		*id = i;
		*ttl = t;
	}
	return r;
}

int rr_etcd_parse_keepalive(const char *body, size_t len, int64_t id,
			    int64_t *ttl)
{
	const json_t *res = NULL;
	int64_t i = 0, t = 0, rev;
	json_t *j;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		return r;
	/* a stream's message: {"result": {header, ID, TTL}}; an expired or
	 * unknown lease has no TTL (0, omitted) */
	r = get_obj(j, "result", true, &res);
	if (r == 0)
		r = header_revision(res, true, &rev);
	if (r == 0)
		r = get_i64(res, "ID", 0, &i);
	if (r == 0)
		r = get_i64(res, "TTL", 0, &t);
	if (r == 0 && (i != id || t < 0))
		r = -EPROTO;
	json_decref(j);
	if (r == 0)
		*ttl = t;
	return r;
}

int rr_etcd_parse_token(const char *body, size_t len, char *token, size_t cap)
{
	const json_t *t;
	const char *s;
	size_t n, i;
	int64_t rev;
	json_t *j;
	int r;

	r = load(body, len, &j);
	if (r < 0)
		return r;
	r = header_revision(j, true, &rev);
	t = json_object_get(j, "token");
	if (r == 0 && (!json_is_string(t) || json_string_length(t) == 0 ||
		       json_string_length(t) >= cap))
		r = -EPROTO;
	if (r == 0) {
		s = json_string_value(t);
		n = json_string_length(t);
		for (i = 0; i < n; i++)
			if (s[i] <= 0x20 || s[i] >= 0x7f)
				r = -EPROTO;
	}
	if (r == 0) {
		memcpy(token, s, n);
		token[n] = '\0';
	}
	json_decref(j);
	return r;
}

static int parse_event(const json_t *o, const rr_etcd_limits *lim,
		       rr_etcd_event *ev)
{
	const json_t *type, *kv;
	int r;

	if (!json_is_object(o))
		return -EPROTO;
	type = json_object_get(o, "type"); /* absent: PUT, the default */
	if (type && !json_is_string(type))
		return -EPROTO;
	if (!type || !strcmp(json_string_value(type), "PUT"))
		ev->type = RR_ETCD_EV_PUT;
	else if (!strcmp(json_string_value(type), "DELETE"))
		ev->type = RR_ETCD_EV_DELETE;
	else
		return -EPROTO;
	r = get_obj(o, "kv", true, &kv);
	if (r < 0)
		return r;
	return parse_kv(kv, lim, &ev->kv);
}

void rr_etcd_watch_line_clear(rr_etcd_watch_line *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->msg.n_events; i++)
		kv_clear(&w->events[i].kv);
	free(w->events);
	memset(w, 0, sizeof(*w));
}

/* Events in revision order, no more than max_items. */
static int parse_events(const json_t *arr, const rr_etcd_limits *lim,
			rr_etcd_watch_line *w)
{
	size_t i, n = json_array_size(arr);

	if (arr && !json_is_array(arr))
		return -EPROTO;
	if (n > lim->max_items)
		return -EPROTO;
	if (n == 0)
		return 0;
	w->events = calloc(n, sizeof(*w->events));
	if (!w->events)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		int r = parse_event(json_array_get(arr, i), lim, &w->events[i]);

		if (r < 0)
			return r;
		w->msg.n_events++;
		if (i && w->events[i].kv.mod_revision <
			 w->events[i - 1].kv.mod_revision)
			return -EPROTO;
	}
	w->msg.events = w->events;
	return 0;
}

static int parse_result(const json_t *res, const rr_etcd_limits *lim,
			rr_etcd_watch_line *w)
{
	const json_t *reason;
	bool created = false, fragment = false;
	int64_t id;
	int r;

	if (!json_is_object(res))
		return -EPROTO;
	r = header_revision(res, false, &w->msg.revision);
	if (r == 0)
		r = get_bool(res, "created", &created);
	if (r == 0)
		r = get_bool(res, "canceled", &w->canceled);
	if (r == 0)
		r = get_bool(res, "fragment", &fragment);
	if (r == 0)
		r = get_i64(res, "watch_id", 0, &id);
	if (r == 0)
		r = get_rev(res, "compact_revision", &w->compact_revision);
	if (r == 0)
		r = parse_events(json_object_get(res, "events"), lim, w);
	if (r < 0)
		return r;
	if (fragment)
		return -EPROTO; /* never asked for */
	reason = json_object_get(res, "cancel_reason");
	if (reason && !json_is_string(reason))
		return -EPROTO;
	copy_message(json_string_value(reason), w->error.message,
		     sizeof(w->error.message));
	if (w->msg.n_events)
		w->msg.kind = RR_ETCD_WATCH_EVENTS;
	else
		w->msg.kind = created ? RR_ETCD_WATCH_CREATED :
			RR_ETCD_WATCH_PROGRESS;
	return 0;
}

int rr_etcd_parse_watch(const char *line, size_t len,
			const rr_etcd_limits *lim, rr_etcd_watch_line *out)
{
	rr_etcd_watch_line w = { 0 };
	const json_t *res;
	json_t *j;
	int r;

	r = rr_etcd_parse_error(line, len, &w.error);
	if (r == 1) {
		w.canceled = true;
		*out = w;
		return 0;
	}
	if (r < 0)
		return r;
	r = load(line, len, &j);
	if (r < 0)
		return r;
	res = json_object_get(j, "result");
	r = res ? parse_result(res, lim, &w) : -EPROTO;
	json_decref(j);
	if (r < 0) {
		rr_etcd_watch_line_clear(&w);
		return r;
	}
	*out = w;
	return 0;
}

char *rr_etcd_b64(const void *data, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);

	if (!s)
		return NULL;
	sodium_bin2base64(s, cap, data, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}
