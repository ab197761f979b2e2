/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: an answer of etcd's JSON gateway as whoever holds an
 * etcd endpoint (or sits in the network path) could send it to the etcd
 * client (risk_store/etcd).  Every parser either rejects it (-EPROTO) or
 * returns values within the caps: keys, values and item counts bounded,
 * revisions not negative, watch events in revision order.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rr_etcd_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const rr_etcd_limits lim = { 64, 256, 8 };

static void check_kv(const rr_etcd_kv *kv)
{
	assert(kv->key_len > 0 && kv->key_len <= lim.max_key);
	assert(kv->value_len <= lim.max_value);
	assert(kv->key[kv->key_len] == '\0' && kv->value[kv->value_len] == '\0');
	assert(kv->mod_revision > 0 && kv->create_revision >= 0);
	assert(kv->create_revision <= kv->mod_revision);
}

static void range(const char *s, size_t n)
{
	rr_etcd_range *rg = NULL;
	size_t i;
	int r = rr_etcd_parse_range(s, n, &lim, 5, &rg);

	assert(r == 0 || r == -EPROTO);
	if (r < 0)
		return;
	assert(rg->n <= 5 && rg->revision >= 0);
	for (i = 0; i < rg->n; i++)
		check_kv(&rg->kvs[i]);
	rr_etcd_range_free(rg);
}

static void watch(const char *s, size_t n)
{
	rr_etcd_watch_line w;
	size_t i;
	int r = rr_etcd_parse_watch(s, n, &lim, &w);

	assert(r == 0 || r == -EPROTO);
	if (r < 0)
		return;
	assert(w.msg.n_events <= lim.max_items);
	for (i = 0; i < w.msg.n_events; i++) {
		check_kv(&w.msg.events[i].kv);
		assert(!i || w.msg.events[i].kv.mod_revision >=
		       w.msg.events[i - 1].kv.mod_revision);
	}
	assert(w.compact_revision >= 0);
	rr_etcd_watch_line_clear(&w);
}

static void others(const char *s, size_t n)
{
	rr_etcd_rpc_error err;
	char token[32];
	int64_t a, b;
	bool ok;
	int r;

	r = rr_etcd_parse_error(s, n, &err);
	assert(r == 0 || r == 1 || r == -EPROTO);
	if (r == 1)
		assert(strlen(err.message) <= RR_ETCD_MAX_MESSAGE);
	r = rr_etcd_parse_put(s, n, &a);
	assert(r == -EPROTO || (r == 0 && a >= 0));
	r = rr_etcd_parse_delete(s, n, &a, &b);
	assert(r == -EPROTO || (r == 0 && a >= 0 && b >= 0));
	r = rr_etcd_parse_txn(s, n, &ok, &a);
	assert(r == -EPROTO || (r == 0 && a >= 0));
	r = rr_etcd_parse_lease(s, n, &a, &b);
	assert(r == -EPROTO || r == -EINVAL || (r == 0 && a != 0 && b > 0));
	r = rr_etcd_parse_keepalive(s, n, 42, &b);
	assert(r == -EPROTO || (r == 0 && b >= 0));
	r = rr_etcd_parse_token(s, n, token, sizeof(token));
	assert(r == -EPROTO || (r == 0 && strlen(token) < sizeof(token)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	range(s, size);
	watch(s, size);
	others(s, size);
	return 0;
}
