/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Failed sign-ins across the fleet, for the fleet-wide bruteForce and
 * passwordSpray counts.  Each riskd's publisher sends its host's new
 * failures (those with a source: console failures stay on their host) as
 * batches under P "fails/" (rr_fleet_fails), at most RR_FLEET_FAILS_KEYS
 * batches in one etcd transaction per round (every half second): at most
 * two etcd writes a second per host however many failures arrive.  A
 * round reads at most RR_FLEET_FAILS_READ failures and keeps, per user (or
 * unknown name) and source network, the newest `keep` (the bruteForce
 * threshold: more add nothing to a count that is already over it), and
 * per address each user's newest (passwordSpray counts users).  The keys
 * live under a lease of twice the longer detection window, renewed after
 * one window, so that they vanish once out of every window.  Each riskd's
 * replicator follows P "fails/" into the store (fleet_failures), skipping
 * its own host's batches.  Returns 0 or a negative errno.
 */
#ifndef RR_FLEET_FAILS_H
#define RR_FLEET_FAILS_H

#include "rr_etcd.h"
#include "rr_fleet_attacks.h"
#include "rr_fleet_follow.h"
#include "rr_fleet_model.h"
#include "rr_store_replica.h"

#define RR_FLEET_FAILS_READ 512
#define RR_FLEET_FAILS_KEYS 4

typedef struct {
	const char *prefix;
	const char *host;
	unsigned keep;      /* per user and source, >= 1 */
	int64_t window_s;   /* the longer of the two detection windows */
	int64_t lease;      /* 0: none yet */
	int64_t lease_until; /* monotonic s: a new one from then on */
	rr_fleet_attacks *attacks; /* told of each failure sent; may be NULL */
} rr_fleet_fails_pub;

/* One round: the failures after the store's mark, aggregated, in one
 * transaction; the mark moved past them. */
int rr_fleet_fails_publish(rr_fleet_fails_pub *p, rr_etcd *e, rr_store *s,
			   int64_t now_mono_s);

/* The other hosts' batches, followed into the store (fleet_failures)
 * with rr_fleet_follow_load and _apply: a batch put replaces its rows, a
 * batch gone is dropped. */
extern const rr_fleet_follow rr_fleet_fails_follow;

#endif
