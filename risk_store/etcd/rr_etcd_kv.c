/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The etcd client's verbs: range (one key, or a prefix page by page at one
 * revision), put, delete, txn (compares on mod_revision, puts and
 * deletes), lease grant.  Requests are built with jansson (keys and values
 * base64, int64 as strings), answers checked by rr_etcd_json.c.
 */
#include "rr_etcd_http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RR_ETCD_DEFAULT_PAGE 1000

static bool key_ok(const rr_etcd *e, const void *key, size_t n)
{
	return key && n > 0 && n <= e->lim.max_key;
}

static int range_page(rr_etcd *e, const void *key, size_t key_len,
		      const void *end, size_t end_len, size_t limit,
		      int64_t revision, rr_etcd_range **out)
{
	json_t *req = json_object();
	rr_buf b = { 0 };
	rr_etcd_range *rg = NULL;
	int r;

	if (!req || json_object_set_new(req, "key", rr_etcd_json_b64(key, key_len,
							 e->lim.max_key)) ||
	    (end && json_object_set_new(req, "range_end",
					rr_etcd_json_b64(end, end_len, e->lim.max_key))) ||
	    (limit && json_object_set_new(req, "limit", rr_etcd_json_i64((int64_t)limit))) ||
	    (revision && json_object_set_new(req, "revision", rr_etcd_json_i64(revision)))) {
		json_decref(req);
		return rr_etcd_fail(e, -ENOMEM, "out of memory");
	}
	r = rr_etcd_post_json(e, "/v3/kv/range", req, true, &b);
	if (r == 0) {
		r = rr_etcd_parse_range(b.data, b.len, &e->lim, limit, &rg);
		/* 0 with no range (or items but no array) would be a bug
		 * there: refused, not dereferenced (and the invariant the
		 * static analyzers cannot see across files) */
		if (r == 0 && (!rg || (rg->n && !rg->kvs))) {
			rr_etcd_range_free(rg);
			rg = NULL;
			r = -EPROTO;
		}
		if (r < 0)
			r = rr_etcd_fail(e, r, "range: malformed answer");
	}
	rr_etcd_buf_wipe(&b);
	if (r == 0)
		*out = rg;
	return r;
}

int rr_etcd_get(rr_etcd *e, const void *key, size_t key_len,
		rr_etcd_range **out)
{
	rr_etcd_range *rg = NULL;
	int r;

	if (!e || !out || !key_ok(e, key, key_len))
		return -EINVAL;
	r = range_page(e, key, key_len, NULL, 0, 0, 0, &rg);
	if (r == 0 && (rg->n > 1 || (rg->n == 1 &&
		       (rg->kvs[0].key_len != key_len ||
			memcmp(rg->kvs[0].key, key, key_len) != 0)))) {
		rr_etcd_range_free(rg);
		return rr_etcd_fail(e, -EPROTO, "range: another key answered");
	}
	if (r == 0)
		*out = rg;
	return r;
}

int rr_etcd_prefix_end(const void *prefix, size_t prefix_len,
		       unsigned char *end, size_t *end_len)
{
	size_t n = prefix_len;

	memcpy(end, prefix, prefix_len);
	while (n > 0 && end[n - 1] == 0xff)
		n--;
	if (n == 0)
		return -EINVAL;
	end[n - 1]++;
	*end_len = n;
	return 0;
}

static bool key_before(const rr_etcd_kv *a, const rr_etcd_kv *b)
{
	size_t m = a->key_len < b->key_len ? a->key_len : b->key_len;
	/* an empty key may be NULL: memcmp's arguments must not be */
	int c = m ? memcmp(a->key, b->key, m) : 0;

	return c < 0 || (c == 0 && a->key_len < b->key_len);
}

/* Append page `p` to `all` (taking its items); checks key order. */
static int range_append(rr_etcd *e, rr_etcd_range *all, rr_etcd_range *p)
{
	rr_etcd_kv *kvs;
	size_t i;

	if (all->n + p->n > e->lim.max_items)
		return rr_etcd_fail(e, -E2BIG, "more than %zu keys",
				    e->lim.max_items);
	kvs = realloc(all->kvs, (all->n + p->n + 1) * sizeof(*kvs));
	if (!kvs)
		return rr_etcd_fail(e, -ENOMEM, "out of memory");
	all->kvs = kvs;
	/* the order first, then the move: a refused page leaves both as
	 * they were */
	for (i = 0; i < p->n; i++) {
		const rr_etcd_kv *prev = i ? &p->kvs[i - 1] :
				all->n ? &all->kvs[all->n - 1] : NULL;

		if (prev && !key_before(prev, &p->kvs[i]))
			return rr_etcd_fail(e, -EPROTO, "range: keys out of "
					    "order");
	}
	for (i = 0; i < p->n; i++)
		all->kvs[all->n + i] = p->kvs[i];
	all->n += p->n;
	for (i = 0; i < p->n; i++)
		memset(&p->kvs[i], 0, sizeof(p->kvs[i]));
	p->n = 0;
	return 0;
}

/* The key after `kv`'s in key order: its key with a NUL byte added. */
static int next_key(rr_etcd *e, const rr_etcd_kv *kv, unsigned char **out)
{
	unsigned char *k;

	if (kv->key_len + 1 > e->lim.max_key)
		return rr_etcd_fail(e, -EPROTO, "range: key too long");
	k = malloc(kv->key_len + 1);
	if (!k)
		return rr_etcd_fail(e, -ENOMEM, "out of memory");
	memcpy(k, kv->key, kv->key_len);
	k[kv->key_len] = '\0';
	*out = k;
	return 0;
}

static int prefix_pages(rr_etcd *e, const void *prefix, size_t prefix_len,
			const unsigned char *end, size_t end_len, size_t page,
			rr_etcd_range *all)
{
	unsigned char *from = NULL;
	size_t from_len = prefix_len;
	rr_etcd_range *p = NULL;
	bool more = true;
	int r = 0;

	while (r == 0 && more) {
		r = range_page(e, from ? from : prefix, from_len, end, end_len,
			       page, all->revision, &p);
		if (r != 0)
			break;
		if (!all->revision)
			all->revision = p->revision;
		more = p->more;
		if (more && p->n == 0)
			r = rr_etcd_fail(e, -EPROTO, "range: empty page "
					 "with more");
		if (r == 0)
			r = range_append(e, all, p);
		if (r == 0 && more) {
			free(from);
			from = NULL;
			from_len = all->kvs[all->n - 1].key_len + 1;
			r = next_key(e, &all->kvs[all->n - 1], &from);
		}
		rr_etcd_range_free(p);
		p = NULL;
	}
	free(from);
	return r;
}

int rr_etcd_get_prefix(rr_etcd *e, const void *prefix, size_t prefix_len,
		       size_t page, rr_etcd_range **out)
{
	unsigned char end[RR_ETCD_DEFAULT_MAX_KEY];
	rr_etcd_range *all;
	size_t end_len;
	int r;

	if (!e || !out || !key_ok(e, prefix, prefix_len) ||
	    prefix_len > sizeof(end) ||
	    rr_etcd_prefix_end(prefix, prefix_len, end, &end_len) < 0)
		return -EINVAL;
	all = calloc(1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	r = prefix_pages(e, prefix, prefix_len, end, end_len,
			 page ? page : RR_ETCD_DEFAULT_PAGE, all);
	if (r < 0) {
		rr_etcd_range_free(all);
		return r;
	}
	*out = all;
	return 0;
}

static json_t *put_req(const rr_etcd *e, const void *key, size_t key_len,
		       const void *value, size_t value_len, int64_t lease)
{
	json_t *req = json_object();

	if (!req || json_object_set_new(req, "key", rr_etcd_json_b64(key, key_len,
							 e->lim.max_key)) ||
	    json_object_set_new(req, "value", rr_etcd_json_b64(value, value_len,
						  e->lim.max_value)) ||
	    (lease && json_object_set_new(req, "lease", rr_etcd_json_i64(lease)))) {
		json_decref(req);
		return NULL;
	}
	return req;
}

int rr_etcd_put(rr_etcd *e, const void *key, size_t key_len,
		const void *value, size_t value_len, int64_t lease,
		int64_t *revision)
{
	rr_buf b = { 0 };
	int64_t rev;
	int r;

	if (!e || !key_ok(e, key, key_len) || value_len > e->lim.max_value)
		return -EINVAL;
	r = rr_etcd_post_json(e, "/v3/kv/put", put_req(e, key, key_len, value,
					       value_len, lease), true, &b);
	if (r == 0 && rr_etcd_parse_put(b.data, b.len, &rev) < 0)
		r = rr_etcd_fail(e, -EPROTO, "put: malformed answer");
	rr_etcd_buf_wipe(&b);
	if (r == 0 && revision)
		*revision = rev;
	return r;
}

int rr_etcd_delete(rr_etcd *e, const void *key, size_t key_len,
		   int64_t *deleted, int64_t *revision)
{
	json_t *req;
	rr_buf b = { 0 };
	int64_t rev, del;
	int r;

	if (!e || !key_ok(e, key, key_len))
		return -EINVAL;
	req = json_object();
	if (req && json_object_set_new(req, "key", rr_etcd_json_b64(key, key_len,
							e->lim.max_key))) {
		json_decref(req);
		req = NULL;
	}
	r = rr_etcd_post_json(e, "/v3/kv/deleterange", req, true, &b);
	if (r == 0 && rr_etcd_parse_delete(b.data, b.len, &del, &rev) < 0)
		r = rr_etcd_fail(e, -EPROTO, "deleterange: malformed answer");
	rr_etcd_buf_wipe(&b);
	if (r == 0 && deleted)
		*deleted = del;
	if (r == 0 && revision)
		*revision = rev;
	return r;
}

static json_t *txn_cmp(const rr_etcd *e, const rr_etcd_cmp *c)
{
	json_t *o;

	if (!key_ok(e, c->key, c->key_len) || c->mod_revision < 0)
		return NULL;
	o = json_pack("{s:o, s:s, s:s, s:o}",
		      "key", rr_etcd_json_b64(c->key, c->key_len, e->lim.max_key),
		      "target", "MOD", "result", "EQUAL",
		      "mod_revision", rr_etcd_json_i64(c->mod_revision));
	return o;
}

static json_t *txn_op(const rr_etcd *e, const rr_etcd_op *op)
{
	json_t *o;

	if (!key_ok(e, op->key, op->key_len))
		return NULL;
	switch (op->type) {
	case RR_ETCD_OP_PUT:
		o = put_req(e, op->key, op->key_len, op->value, op->value_len,
			    op->lease);
		return o ? json_pack("{s:o}", "request_put", o) : NULL;
	case RR_ETCD_OP_DELETE:
		return json_pack("{s:{s:o}}", "request_delete_range", "key",
				 rr_etcd_json_b64(op->key, op->key_len, e->lim.max_key));
	default:
		return NULL;
	}
}

static json_t *txn_req(const rr_etcd *e, const rr_etcd_cmp *cmp, size_t n_cmp,
		       const rr_etcd_op *ops, size_t n_ops)
{
	json_t *req = json_pack("{s:[], s:[]}", "compare", "success");
	json_t *ca = json_object_get(req, "compare");
	json_t *sa = json_object_get(req, "success");
	size_t i;

	for (i = 0; req && i < n_cmp; i++)
		if (json_array_append_new(ca, txn_cmp(e, &cmp[i])) < 0)
			goto fail;
	for (i = 0; req && i < n_ops; i++)
		if (json_array_append_new(sa, txn_op(e, &ops[i])) < 0)
			goto fail;
	return req;
fail:
	json_decref(req);
	return NULL;
}

int rr_etcd_txn(rr_etcd *e, const rr_etcd_cmp *cmp, size_t n_cmp,
		const rr_etcd_op *ops, size_t n_ops, bool *succeeded,
		int64_t *revision)
{
	rr_buf b = { 0 };
	int64_t rev;
	bool ok;
	json_t *req;
	int r;

	if (!e || !succeeded || n_cmp > RR_ETCD_MAX_TXN_OPS ||
	    n_ops > RR_ETCD_MAX_TXN_OPS || (n_cmp && !cmp) || (n_ops && !ops))
		return -EINVAL;
	req = txn_req(e, cmp, n_cmp, ops, n_ops);
	if (!req)
		return rr_etcd_fail(e, -EINVAL, "txn: a key or value is "
				    "empty or too long");
	r = rr_etcd_post_json(e, "/v3/kv/txn", req, false, &b);
	if (r == 0 && rr_etcd_parse_txn(b.data, b.len, &ok, &rev) < 0)
		r = rr_etcd_fail(e, -EPROTO, "txn: malformed answer");
	rr_etcd_buf_wipe(&b);
	if (r == 0) {
		*succeeded = ok;
		if (revision)
			*revision = rev;
	}
	return r;
}

int rr_etcd_cas(rr_etcd *e, const void *key, size_t key_len,
		int64_t mod_revision, const void *value, size_t value_len,
		bool *succeeded, int64_t *revision)
{
	rr_etcd_cmp c = { key, key_len, mod_revision };
	rr_etcd_op op = { RR_ETCD_OP_PUT, key, key_len, value, value_len, 0 };

	return rr_etcd_txn(e, &c, 1, &op, 1, succeeded, revision);
}

int rr_etcd_lease_keepalive(rr_etcd *e, int64_t id, int64_t *ttl)
{
	rr_buf b = { 0 };
	int64_t t = 0;
	int r;

	if (!e || id <= 0 || !ttl)
		return -EINVAL;
	/* one message on the gateway's stream (LeaseKeepAlive); renewing is
	 * idempotent, so it may go to another member */
	r = rr_etcd_post_json(e, "/v3/lease/keepalive",
			      json_pack("{s:o}", "ID", rr_etcd_json_i64(id)),
			      true, &b);
	if (r == 0 && rr_etcd_parse_keepalive(b.data, b.len, id, &t) < 0)
		r = rr_etcd_fail(e, -EPROTO, "lease keepalive: malformed "
				 "answer");
	rr_etcd_buf_wipe(&b);
	if (r == 0)
		*ttl = t;
	return r;
}

int rr_etcd_lease_grant(rr_etcd *e, int64_t ttl, int64_t *id,
			int64_t *granted_ttl)
{
	rr_buf b = { 0 };
	int64_t i, t;
	int r;

	if (!e || !id || ttl <= 0)
		return -EINVAL;
	r = rr_etcd_post_json(e, "/v3/lease/grant", json_pack("{s:o}", "TTL", rr_etcd_json_i64(ttl)),
		      false, &b);
	if (r == 0 && rr_etcd_parse_lease(b.data, b.len, &i, &t) < 0)
		r = rr_etcd_fail(e, -EPROTO, "lease grant: malformed answer");
	rr_etcd_buf_wipe(&b);
	if (r == 0) {
		*id = i;
		if (granted_ttl)
			*granted_ttl = t;
	}
	return r;
}
