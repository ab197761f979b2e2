/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host inventory (rr_fleet_hosts.h): each riskd's record under
 * P "hosts/" H, written again every few seconds under a lease of its own,
 * and the list riskctl reads.
 */
#include "rr_fleet_hosts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_MAX 1024

int64_t rr_fleet_beat_every_ms(int64_t max_staleness_ms)
{
	int64_t every = max_staleness_ms / 3;

	if (every < RR_FLEET_BEAT_MIN_MS)
		every = RR_FLEET_BEAT_MIN_MS;
	if (every > RR_FLEET_BEAT_MAX_MS)
		every = RR_FLEET_BEAT_MAX_MS;
	return every;
}

int64_t rr_fleet_beat_ttl_s(int64_t max_staleness_ms)
{
	int64_t ttl = 3 * ((max_staleness_ms + 999) / 1000);

	return ttl < RR_FLEET_BEAT_TTL_MIN_S ? RR_FLEET_BEAT_TTL_MIN_S : ttl;
}

/* The lease: renewed, or a new one when it expired (or none yet). */
static int lease(rr_fleet_beat *b, rr_etcd *e)
{
	int64_t ttl = 0;
	int r;

	if (b->lease) {
		r = rr_etcd_lease_keepalive(e, b->lease, &ttl);
		if (r < 0)
			return r;
		if (ttl > 0)
			return 0;
		b->lease = 0; /* expired: this host was silent too long */
	}
	return rr_etcd_lease_grant(e, rr_fleet_beat_ttl_s(b->max_staleness_ms),
				   &b->lease, NULL);
}

int rr_fleet_beat_send(rr_fleet_beat *b, rr_etcd *e, int64_t revision,
		       int64_t staleness_ms, uint64_t queued, int64_t now)
{
	rr_fleet_host_rec v;
	char key[KEY_MAX], *text = NULL;
	size_t len = 0;
	int r;

	if (!b || !e)
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	snprintf(v.host, sizeof(v.host), "%s", b->host);
	snprintf(v.version, sizeof(v.version), "%s", b->version);
	v.started = b->started;
	v.seen = now;
	v.every_ms = rr_fleet_beat_every_ms(b->max_staleness_ms);
	v.revision = revision;
	v.staleness_ms = staleness_ms < 0 ? -1 : staleness_ms;
	v.max_staleness_ms = b->max_staleness_ms;
	v.queued = (int64_t)queued;
	r = rr_fleet_key_host(b->prefix, b->host, key, sizeof(key));
	if (r == 0)
		r = rr_fleet_host_encode(&v, &text, &len);
	if (r == 0)
		r = lease(b, e);
	if (r == 0)
		r = rr_etcd_put(e, key, strlen(key), text, len, b->lease, NULL);
	if (r == -ENOENT) /* the lease ended between renewal and put */
		b->lease = 0;
	rr_fleet_text_free(text);
	return r;
}

static int host_cmp(const void *a, const void *b)
{
	return strcmp(((const rr_fleet_host_rec *)a)->host,
		      ((const rr_fleet_host_rec *)b)->host);
}

int rr_fleet_hosts_read(rr_etcd *e, const char *prefix,
			rr_fleet_host_rec **rows, size_t *n,
			size_t *malformed)
{
	char key[KEY_MAX];
	rr_etcd_range *rg = NULL;
	rr_fleet_host_rec *out;
	rr_fleet_key k;
	size_t i, m = 0, bad = 0;
	int r;

	if (!e || !prefix || !rows || !n)
		return -EINVAL;
	*rows = NULL;
	*n = 0;
	r = rr_fleet_key_dir(prefix, RR_FLEET_KEY_HOST, key, sizeof(key));
	if (r < 0)
		return r;
	r = rr_etcd_get_prefix(e, key, strlen(key), 0, &rg);
	if (r < 0)
		return r;
	out = calloc(rg->n ? rg->n : 1, sizeof(*out));
	if (!out) {
		rr_etcd_range_free(rg);
		return -ENOMEM;
	}
	for (i = 0; i < rg->n; i++) {
		/* a record must be the one its key names */
		if (rr_fleet_key_parse(prefix, (const char *)rg->kvs[i].key,
				       rg->kvs[i].key_len, &k) == 0 &&
		    k.kind == RR_FLEET_KEY_HOST &&
		    rr_fleet_host_decode((const char *)rg->kvs[i].value,
					 rg->kvs[i].value_len, &out[m]) == 0 &&
		    !strcmp(out[m].host, k.name))
			m++;
		else
			bad++;
	}
	rr_etcd_range_free(rg);
	qsort(out, m, sizeof(*out), host_cmp);
	*rows = out;
	*n = m;
	if (malformed)
		*malformed = bad;
	return 0;
}

bool rr_fleet_host_silent(const rr_fleet_host_rec *h, int64_t now,
			  int64_t max_staleness_s)
{
	return now - h->seen > max_staleness_s;
}

bool rr_fleet_host_stale(const rr_fleet_host_rec *h, int64_t max_staleness_s)
{
	return h->staleness_ms < 0 ||
	       h->staleness_ms > max_staleness_s * 1000;
}
