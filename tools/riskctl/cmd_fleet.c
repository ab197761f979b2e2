/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskctl fleet status: the etcd members of a fleet policy and this host's
 * replica (riskctl(8)).  Exit 0 when a member with a leader answers and
 * the replica (when this host has one) is within max_staleness; else
 * RC_STORE, so that monitoring can run it.
 * riskctl fleet hosts: every host's record (rr_fleet_hosts.h), the stale
 * and the silent ones flagged; RC_STORE when there is one.
 */
#include "json.h"
#include "riskctl.h"
#include "rr_fleet.h"
#include "rr_fleet_hosts.h"
#include "rr_store_replica.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
	bool present;   /* this host has a store (riskd's replica) */
	int64_t revision;
	int64_t heard;  /* wall clock; 0: never */
	uint64_t queued;
	char error[160];
} replica;

static void replica_read(const char *path, replica *rp)
{
	struct stat st;
	rr_store *s = NULL;
	int r;

	memset(rp, 0, sizeof(*rp));
	if (stat(path, &st) < 0)
		return; /* an admin machine: no replica here */
	rp->present = true;
	r = rr_store_open(path, &s);
	if (!r)
		r = rr_store_replica_revision(s, &rp->revision);
	if (!r)
		r = rr_store_replica_heard(s, &rp->heard);
	if (!r)
		r = rr_store_queue_count(s, &rp->queued);
	if (r)
		snprintf(rp->error, sizeof(rp->error), "%s",
			 s ? rr_store_last_error(s) : strerror(-r));
	rr_store_close(s);
}

static const char *role(const rr_fleet_member *m)
{
	if (!m->reachable)
		return "unreachable";
	if (m->leader)
		return "leader";
	return m->has_leader ? "follower" : "no leader";
}

/* A fleet client of the loaded policy, RC_USAGE for a SQLite one. */
static int fleet_of(struct ctl *c, const char *verb, rr_fleet **f)
{
	int r = ctl_load_policy(c, NULL);

	if (r != RC_OK)
		return r;
	if (c->policy->backend != RR_BACKEND_ETCD) {
		ctl_err("%s: not a fleet policy (store.backend is sqlite); "
			"%s needs one", c->policy_path, verb);
		return RC_USAGE;
	}
	return ctl_fleet_new(c, f);
}

int cmd_fleet_status(struct ctl *c)
{
	rr_fleet_member *m = NULL;
	rr_fleet *f = NULL;
	replica rp;
	int64_t cluster_rev = 0, now = (int64_t)time(NULL), stale_s = -1;
	size_t n = 0, i;
	bool quorum = false, stale;
	int r;

	r = fleet_of(c, "fleet status", &f);
	if (r != RC_OK)
		return r;
	r = rr_fleet_members(f, &m, &n);
	if (r < 0) {
		ctl_err("fleet status: %s", strerror(-r));
		rr_fleet_free(f);
		return RC_STORE;
	}
	for (i = 0; i < n; i++) {
		if (m[i].reachable && m[i].has_leader)
			quorum = true;
		if (m[i].revision > cluster_rev)
			cluster_rev = m[i].revision;
	}
	replica_read(c->policy->store_path, &rp);
	if (rp.present && rp.heard)
		stale_s = now - rp.heard;
	stale = rp.present &&
		(stale_s < 0 || stale_s > (int64_t)c->policy->offline.max_staleness_s);
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "prefix", rr_fleet_prefix(f));
		json_kstr(&j, "host", rr_fleet_host(f));
		json_kint(&j, "revision", cluster_rev);
		json_key(&j, "endpoints");
		json_arr_begin(&j);
		for (i = 0; i < n; i++) {
			json_obj_begin(&j);
			json_kstr(&j, "endpoint", m[i].endpoint);
			json_kstr(&j, "role", role(&m[i]));
			json_kbool(&j, "reachable", m[i].reachable);
			json_kbool(&j, "leader", m[i].leader);
			json_kint(&j, "revision", m[i].revision);
			json_kstr(&j, "version",
				  m[i].reachable ? m[i].version : NULL);
			json_kstr(&j, "error",
				  m[i].reachable ? NULL : m[i].error);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_key(&j, "replica");
		if (!rp.present) {
			json_null(&j);
		} else {
			json_obj_begin(&j);
			json_kstr(&j, "path", c->policy->store_path);
			json_kint(&j, "revision", rp.revision);
			json_kint(&j, "lag", cluster_rev > rp.revision
						 ? cluster_rev - rp.revision
						 : 0);
			json_ktime(&j, "last_heard", rp.heard);
			json_key(&j, "staleness_s");
			if (stale_s < 0)
				json_null(&j);
			else
				json_int(&j, stale_s);
			json_kbool(&j, "stale", stale);
			json_kint(&j, "queued", (int64_t)rp.queued);
			json_kstr(&j, "error", rp.error[0] ? rp.error : NULL);
			json_obj_end(&j);
		}
		json_obj_end(&j);
		r = fail_output(json_finish(&j));
	} else {
		printf("fleet %s, this host %s, revision %lld\n",
		       rr_fleet_prefix(f), rr_fleet_host(f),
		       (long long)cluster_rev);
		for (i = 0; i < n; i++) {
			if (m[i].reachable)
				printf("  %-40s %-11s revision %lld, etcd "
				       "%s\n", m[i].endpoint, role(&m[i]),
				       (long long)m[i].revision,
				       m[i].version);
			else
				printf("  %-40s unreachable: %s\n",
				       m[i].endpoint, m[i].error);
		}
		if (!rp.present)
			printf("replica: none on this machine (%s)\n",
			       c->policy->store_path);
		else if (rp.error[0])
			printf("replica: %s: %s\n", c->policy->store_path,
			       rp.error);
		else
			printf("replica: %s at revision %lld (lag %lld), "
			       "%s%lld s since etcd was last heard%s, %llu "
			       "write%s queued\n",
			       c->policy->store_path, (long long)rp.revision,
			       (long long)(cluster_rev > rp.revision
					       ? cluster_rev - rp.revision
					       : 0),
			       stale_s < 0 ? "never heard: " : "",
			       (long long)(stale_s < 0 ? 0 : stale_s),
			       stale ? " (STALE)" : "",
			       (unsigned long long)rp.queued,
			       rp.queued == 1 ? "" : "s");
		r = RC_OK;
	}
	if (r == RC_OK && (!quorum || stale || rp.error[0])) {
		ctl_err("fleet status: %s", !quorum ? "no etcd member with a "
			"leader answered" : rp.error[0] ? "the replica cannot "
			"be read" : "this host's replica is stale");
		r = RC_STORE;
	}
	free(m);
	rr_fleet_free(f);
	return r;
}

static const char *host_status(bool stale, bool silent)
{
	return silent ? "SILENT" : stale ? "STALE" : "ok";
}

static void staleness_text(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "never heard");
	else
		snprintf(buf, len, "%lld.%lld s", (long long)(ms / 1000),
			 (long long)(ms % 1000 / 100));
}

int cmd_fleet_hosts(struct ctl *c)
{
	rr_fleet_host_rec *h = NULL;
	rr_fleet *f = NULL;
	int64_t now = (int64_t)time(NULL), max_s;
	size_t n = 0, bad = 0, i, flagged = 0;
	int r;

	r = fleet_of(c, "fleet hosts", &f);
	if (r != RC_OK)
		return r;
	max_s = (int64_t)c->policy->offline.max_staleness_s;
	r = rr_fleet_hosts(f, &h, &n, &bad);
	if (r < 0) {
		ctl_err("fleet hosts: %s", strerror(-r));
		rr_fleet_free(f);
		return RC_STORE;
	}
	for (i = 0; i < n; i++)
		if (rr_fleet_host_stale(&h[i], max_s) ||
		    rr_fleet_host_silent(&h[i], now, max_s))
			flagged++;
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "prefix", rr_fleet_prefix(f));
		json_kint(&j, "max_staleness_s", max_s);
		json_kint(&j, "malformed", (int64_t)bad);
		json_key(&j, "hosts");
		json_arr_begin(&j);
		for (i = 0; i < n; i++) {
			json_obj_begin(&j);
			json_kstr(&j, "host", h[i].host);
			json_kstr(&j, "version", h[i].version);
			json_ktime(&j, "started", h[i].started);
			json_ktime(&j, "last_seen", h[i].seen);
			json_kint(&j, "seen_ago_s",
				  now > h[i].seen ? now - h[i].seen : 0);
			json_kint(&j, "every_ms", h[i].every_ms);
			json_kint(&j, "revision", h[i].revision);
			json_key(&j, "staleness_ms");
			if (h[i].staleness_ms < 0)
				json_null(&j);
			else
				json_int(&j, h[i].staleness_ms);
			json_kint(&j, "queued", h[i].queued);
			json_kbool(&j, "stale",
				   rr_fleet_host_stale(&h[i], max_s));
			json_kbool(&j, "silent",
				   rr_fleet_host_silent(&h[i], now, max_s));
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		r = fail_output(json_finish(&j));
	} else {
		printf("fleet %s: %zu host%s (max_staleness %lld s)\n",
		       rr_fleet_prefix(f), n, n == 1 ? "" : "s",
		       (long long)max_s);
		if (n)
			printf("  %-24s %-8s %-9s %-12s %-6s %-19s %s\n",
			       "HOST", "VERSION", "REVISION", "STALENESS",
			       "QUEUED", "LAST SEEN", "STATUS");
		for (i = 0; i < n; i++) {
			char seen[32], stale[32];

			ctl_time_local(h[i].seen, seen, sizeof(seen));
			staleness_text(h[i].staleness_ms, stale,
				       sizeof(stale));
			printf("  %-24s %-8s %-9lld %-12s %-6lld %-19s %s",
			       h[i].host, h[i].version,
			       (long long)h[i].revision, stale,
			       (long long)h[i].queued, seen,
			       host_status(rr_fleet_host_stale(&h[i], max_s),
					   rr_fleet_host_silent(&h[i], now,
								max_s)));
			if (rr_fleet_host_silent(&h[i], now, max_s))
				printf(" (not seen for %lld s)",
				       (long long)(now - h[i].seen));
			printf("\n");
		}
		if (bad)
			printf("%zu malformed host record%s under %shosts/ "
			       "(left out)\n", bad, bad == 1 ? "" : "s",
			       rr_fleet_prefix(f));
		r = RC_OK;
	}
	if (r == RC_OK && flagged) {
		ctl_err("fleet hosts: %zu host%s stale or silent beyond "
			"max_staleness (%lld s)", flagged,
			flagged == 1 ? "" : "s", (long long)max_s);
		r = RC_STORE;
	}
	free(h);
	rr_fleet_free(f);
	return r;
}
