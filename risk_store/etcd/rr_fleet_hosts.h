/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet's host inventory.  Each riskd keeps its host's record
 * (rr_fleet_host_rec, P "hosts/" H) under a lease of its own: written again
 * every rr_fleet_beat_every_ms (a third of store.offline.max_staleness,
 * 1 to 10 s), the lease renewed with it and of rr_fleet_beat_ttl_s (three
 * times max_staleness, at least 10 s).  A riskd that stops leaves its
 * record: first silent (not written for longer than max_staleness), then
 * gone when the lease ends.  One etcd write per host per interval.
 * Returns 0 or a negative errno (rr_etcd's).
 */
#ifndef RR_FLEET_HOSTS_H
#define RR_FLEET_HOSTS_H

#include "rr_etcd.h"
#include "rr_fleet_model.h"

#include <stdbool.h>
#include <stdint.h>

#define RR_FLEET_BEAT_MIN_MS 1000
#define RR_FLEET_BEAT_MAX_MS 10000
#define RR_FLEET_BEAT_TTL_MIN_S 10

int64_t rr_fleet_beat_every_ms(int64_t max_staleness_ms);
int64_t rr_fleet_beat_ttl_s(int64_t max_staleness_ms);

/* One host's writer (riskd's publisher thread). */
typedef struct {
	const char *prefix;
	const char *host;
	const char *version;
	int64_t started;
	int64_t max_staleness_ms;
	int64_t lease; /* 0: none yet, or it expired */
} rr_fleet_beat;

/* Renew the lease (a new one after it expired) and write the record as of
 * `now` (seconds, this host's clock). */
int rr_fleet_beat_send(rr_fleet_beat *b, rr_etcd *e, int64_t revision,
		       int64_t staleness_ms, uint64_t queued, int64_t now);

/* Every host's record, by name.  A key under P "hosts/" whose value is
 * not a valid record of the host it names is counted in *malformed (may be
 * NULL) and left out. */
int rr_fleet_hosts_read(rr_etcd *e, const char *prefix,
			rr_fleet_host_rec **rows, size_t *n,
			size_t *malformed);

/* Not written for longer than max_staleness_s (its riskd stopped, or
 * cannot reach etcd). */
bool rr_fleet_host_silent(const rr_fleet_host_rec *h, int64_t now,
			  int64_t max_staleness_s);
/* Its replica had not heard from etcd for longer than max_staleness_s
 * when it wrote the record (or never had). */
bool rr_fleet_host_stale(const rr_fleet_host_rec *h, int64_t max_staleness_s);

#endif
