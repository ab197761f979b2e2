/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host inventory (rr_fleet_hosts.h): each riskd's record under
 * P "hosts/" H, written again every few seconds under a lease of its own,
 * and the list riskctl reads.
 */
#include "rr_fleet_hosts.h"
#include "rr_fleet_dir.h"

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

static const char *host_name(const void *v)
{
	return ((const rr_fleet_host_rec *)v)->host;
}

static int host_decode(const char *text, size_t len, void *v)
{
	return rr_fleet_host_decode(text, len, v);
}

int rr_fleet_hosts_read(rr_etcd *e, const char *prefix,
			rr_fleet_host_rec **rows, size_t *n,
			size_t *malformed)
{
	static const rr_fleet_dir d = {RR_FLEET_KEY_HOST, sizeof(**rows),
				       host_decode, host_name, host_cmp};
	void *out = NULL;
	int r = rr_fleet_dir_read(e, prefix, &d, &out, n, malformed);

	*rows = out;
	return r;
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
