/* SPDX-License-Identifier: BSD-3-Clause */
/* One directory of the tenant's records, or one record of it
 * (rr_fleet_dir.h). */
#include "rr_fleet_dir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 1024

/* A record must be the one its key names. */
static bool record_of(const char *prefix, const rr_fleet_dir *d,
		      const rr_etcd_kv *kv, void *slot)
{
	rr_fleet_key k;

	return rr_fleet_key_parse(prefix, (const char *)kv->key, kv->key_len,
				  &k) == 0 &&
	       k.kind == d->kind &&
	       d->decode((const char *)kv->value, kv->value_len, slot) == 0 &&
	       (!d->name || !strcmp(d->name(slot), k.name));
}

int rr_fleet_dir_range(rr_etcd *e, const char *prefix, rr_fleet_key_kind kind,
		       rr_etcd_range **out)
{
	char key[KEY_MAX];
	int r = rr_fleet_key_dir(prefix, kind, key, sizeof(key));

	return r < 0 ? r : rr_etcd_get_prefix(e, key, strlen(key), 0, out);
}

int rr_fleet_dir_read(rr_etcd *e, const char *prefix, const rr_fleet_dir *d,
		      void **rows, size_t *n, size_t *malformed)
{
	rr_etcd_range *rg = NULL;
	unsigned char *out;
	size_t i, m = 0, bad = 0;
	int r;

	if (!e || !prefix || !d || !rows || !n)
		return -EINVAL;
	*rows = NULL;
	*n = 0;
	r = rr_fleet_dir_range(e, prefix, d->kind, &rg);
	if (r < 0)
		return r;
	out = calloc(rg->n ? rg->n : 1, d->size);
	if (!out) {
		rr_etcd_range_free(rg);
		return -ENOMEM;
	}
	for (i = 0; i < rg->n; i++) {
		if (record_of(prefix, d, &rg->kvs[i], out + m * d->size))
			m++;
		else
			bad++;
	}
	rr_etcd_range_free(rg);
	qsort(out, m, d->size, d->cmp);
	*rows = out;
	*n = m;
	if (malformed)
		*malformed = bad;
	return 0;
}

int rr_fleet_dir_get(rr_etcd *e, const char *prefix, const rr_fleet_dir *d,
		     const char *key, void *slot)
{
	rr_etcd_range *rg = NULL;
	int r;

	if (!e || !prefix || !d || !key || !slot)
		return -EINVAL;
	r = rr_etcd_get(e, key, strlen(key), &rg);
	if (r < 0)
		return r;
	if (rg->n == 0)
		r = -ENOENT;
	else if (!record_of(prefix, d, &rg->kvs[0], slot))
		r = -EPROTO;
	rr_etcd_range_free(rg);
	return r;
}
