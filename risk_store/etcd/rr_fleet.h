/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet backend (DESIGN.md 7.1): one tenant of risk in etcd, each
 * host's SQLite store its replica (rr_store_replica.h).  Used by riskd
 * (the replica, followed with a watch; the module's writes published as
 * compare-and-swap transactions) and by riskctl (a one-shot copy in
 * memory, its writes published the same way).  Returns 0 or a negative
 * errno; reports through cfg.log only.
 */
#ifndef RR_FLEET_H
#define RR_FLEET_H

#include "rr_engine.h"
#include "rr_etcd.h"
#include "rr_store_replica.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rr_fleet rr_fleet;

typedef void (*rr_fleet_log_fn)(int priority, const char *msg);

/*
 * A link to the fleet of policy p (store.backend etcd): its endpoints,
 * TLS files, authentication, prefix and this host's name (store.etcd.host,
 * else the machine's host name).  store_path: this host's store (the
 * replica), or NULL for none (riskctl on an admin machine).  log may be
 * NULL (silent).  -EINVAL for a policy without an etcd backend.
 */
int rr_fleet_new(const rr_policy *p, const char *store_path,
		 rr_fleet_log_fn log, rr_fleet **out);
/* Stops the replica (rr_fleet_replicate) first. */
void rr_fleet_free(rr_fleet *f);
/* Ask the replica's thread to end (it does within about a second);
 * rr_fleet_free waits for it. */
void rr_fleet_stop(rr_fleet *f);
const char *rr_fleet_prefix(const rr_fleet *f);
const char *rr_fleet_host(const rr_fleet *f);
const char *rr_fleet_store(const rr_fleet *f); /* "" for none */

/* Whether p's fleet is this one (same prefix, endpoints and store, and
 * the same bruteForce, passwordSpray, aggregation and retention settings
 * its threads count with): a policy reloaded unchanged keeps its
 * replica. */
bool rr_fleet_same(const rr_fleet *f, const rr_policy *p,
		   const char *store_path);

/*
 * Link a store connection to the fleet: its writes of shared records are
 * published through a client of its own (rr_store_link).  One connection
 * per link, used by one thread at a time.  rr_fleet_unlink before the
 * store is closed.
 */
typedef struct rr_fleet_conn rr_fleet_conn;
int rr_fleet_link(rr_fleet *f, rr_store *s, rr_fleet_conn **out);
/* The same through the fleet's own client (one TLS connection and one
 * auth token for everything; its calls take turns): for a tool that does
 * one thing at a time (riskctl), where a second client would cost a
 * second connection and authentication per run. */
int rr_fleet_link_shared(rr_fleet *f, rr_store *s, rr_fleet_conn **out);
void rr_fleet_unlink(rr_fleet_conn *c);

/*
 * Load every shared record of the tenant into s once (a full read at one
 * revision; records s holds that etcd no longer has become absent).  For
 * riskctl's copy in memory, and the replica's first load.
 */
int rr_fleet_load(rr_fleet *f, rr_store *s);

/* Publish the writes queued in s (made while etcd was unreachable, and
 * deferred ones), in order (each merged with etcd's record,
 * rr_fleet_merge; an entry whose records changed here meanwhile stays for
 * the next round).  *left (may be NULL): entries still queued. */
int rr_fleet_drain(rr_fleet *f, rr_store *s, uint64_t *left);

/*
 * Keep this host's store (store_path) a replica: a thread loads it (or
 * resumes from its revision), follows the tenant with a watch (progress
 * notifications, only from a member with a leader), starts over on a
 * compaction, publishes queued writes when etcd is back, and retries
 * forever with a back-off; a second thread publishes what is queued
 * while the watch runs (deferred writes), every half second, with this
 * host's failed sign-ins (rr_fleet_fails.h), the attacks they make it
 * cross (rr_fleet_attacks.h) and its risky sign-ins
 * (rr_fleet_signins.h), and keeps this host's record in the inventory
 * (rr_fleet_hosts.h; `version`: riskd's).  Once per rr_fleet.
 */
int rr_fleet_replicate(rr_fleet *f, const char *version);

typedef struct {
	int64_t staleness_ms;  /* since the replica last heard from etcd;
				* -1: never */
	int64_t revision;      /* the revision the replica reflects */
	uint64_t queued;       /* writes waiting for etcd */
	bool watching;         /* a watch is in place */
	char last_error[160];  /* "" when none since the watch started */
} rr_fleet_state;

void rr_fleet_state_get(rr_fleet *f, rr_fleet_state *st);

/*
 * Merging a record changed here while etcd was unreachable (`mine`) with
 * etcd's (`theirs`), into `mine`; has[] of both count.  Familiar networks
 * and devices: the union.  MFA: etcd's authenticator and registration; the
 * newest accepted step of both when it is the same authenticator; the
 * wrong codes of both; the earliest grace start.  Risk: the record changed
 * last (its `updated` time).  TAP and the forced password change are never
 * changed offline: etcd's.
 */
void rr_fleet_merge(rr_shared_kind kind, rr_fleet_user *mine,
		    const rr_fleet_user *theirs);

/* ---- what riskctl reads from etcd directly ----------------------------- */

/* The newest `limit` audit rows (0: all, at most RR_STORE_MAX_ROWS),
 * newest first. */
int rr_fleet_audit_list(rr_fleet *f, size_t limit, rr_fleet_audit **rows,
			size_t *n);

/* A risky sign-in by reference, from any host (rr_fleet_signin_get:
 * -ENOENT when none). */
int rr_fleet_signin_find(rr_fleet *f, const char *ref, rr_fleet_signin *out);
/* Every attack raised for the fleet, newest first (rr_fleet_attacks_read),
 * free(). */
int rr_fleet_attacks_list(rr_fleet *f, rr_fleet_attack **rows, size_t *n,
			  size_t *malformed);
/* Every published sign-in, newest first (rr_fleet_signins_read), free(). */
int rr_fleet_signins(rr_fleet *f, rr_fleet_signin **rows, size_t *n,
		     size_t *malformed);

/* Every host's record (rr_fleet_hosts_read): *rows by name, free(). */
int rr_fleet_hosts(rr_fleet *f, rr_fleet_host_rec **rows, size_t *n,
		   size_t *malformed);

typedef struct {
	char endpoint[RR_ETCD_MAX_URL];
	bool reachable;
	bool has_leader;
	bool leader;
	int64_t revision;
	char version[32];
	char error[120];
} rr_fleet_member;

/* Each endpoint's status (POST /v3/maintenance/status): rows[i] for
 * endpoint i. */
int rr_fleet_members(rr_fleet *f, rr_fleet_member **rows, size_t *n);

#endif
