/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Other hosts' records followed into the store (rr_fleet_follow.h).
 */
#include "rr_fleet_follow.h"
#include "rr_fleet_dir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One key and its value (NULL: deleted) into s. */
static int apply_one(const rr_fleet_follow *d, const char *prefix,
		     const char *host, rr_store *s, const unsigned char *key,
		     size_t key_len, const unsigned char *value,
		     size_t value_len, void *scratch, size_t *bad)
{
	rr_fleet_key k;
	int r;

	if (rr_fleet_key_parse(prefix, (const char *)key, key_len, &k) < 0 ||
	    k.kind != d->kind) {
		(*bad)++;
		return 0;
	}
	if (!value)
		return d->drop(s, k.name);
	memset(scratch, 0, d->size);
	if (d->decode(k.name, (const char *)value, value_len, scratch) < 0) {
		(*bad)++;
		/* what it said before no longer holds */
		return d->drop(s, k.name);
	}
	if (!strcmp(d->host(scratch), host))
		return 0; /* this host's own: the store has it */
	r = d->put(s, k.name, scratch);
	if (r == -EINVAL) { /* a record the store refuses to keep */
		(*bad)++;
		return d->drop(s, k.name);
	}
	return r;
}

int rr_fleet_follow_load(const rr_fleet_follow *d, const char *prefix,
			 const char *host, rr_etcd *e, rr_store *s,
			 int64_t *revision, size_t *bad)
{
	rr_etcd_range *rg = NULL;
	size_t i, nbad = 0;
	void *v;
	int r;

	if (!d || !prefix || !host || !e || !s || !revision)
		return -EINVAL;
	r = rr_fleet_dir_range(e, prefix, d->kind, &rg);
	if (r < 0)
		return r;
	v = calloc(1, d->size);
	r = v ? rr_store_replica_begin(s) : -ENOMEM;
	if (!r) {
		r = d->clear(s);
		for (i = 0; !r && i < rg->n; i++)
			r = apply_one(d, prefix, host, s, rg->kvs[i].key,
				      rg->kvs[i].key_len, rg->kvs[i].value,
				      rg->kvs[i].value_len, v, &nbad);
		r = rr_store_replica_end(s, r, 0);
	}
	if (!r)
		*revision = rg->revision;
	if (bad)
		*bad = nbad;
	free(v);
	rr_etcd_range_free(rg);
	return r;
}

int rr_fleet_follow_apply(const rr_fleet_follow *d, const char *prefix,
			  const char *host, rr_store *s,
			  const rr_etcd_watch_msg *m, size_t *bad)
{
	size_t i, nbad = 0;
	void *v;
	int r;

	if (!d || !prefix || !host || !s || !m)
		return -EINVAL;
	if (m->kind != RR_ETCD_WATCH_EVENTS || !m->n_events)
		return 0;
	v = calloc(1, d->size);
	r = v ? rr_store_replica_begin(s) : -ENOMEM;
	for (i = 0; !r && i < m->n_events; i++) {
		const rr_etcd_event *ev = &m->events[i];

		r = apply_one(d, prefix, host, s, ev->kv.key, ev->kv.key_len,
			      ev->type == RR_ETCD_EV_PUT ? ev->kv.value : NULL,
			      ev->kv.value_len, v, &nbad);
	}
	if (v)
		r = rr_store_replica_end(s, r, 0);
	if (bad)
		*bad = nbad;
	free(v);
	return r;
}
