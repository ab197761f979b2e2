/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Risky sign-ins across the fleet, by reference.  Each riskd's publisher
 * sends its host's risky sign-ins -- a detection, a control required, a
 * block or a denial; a clean allowed sign-in stays in the host's log --
 * to P "signins/" REF (rr_fleet_signin), in the order the store changed
 * them (rr_store_signins_changed: an interrupted sign-in is sent again
 * when it ends).  A round reads at most RR_FLEET_SIGNINS_READ changes and
 * writes at most RR_FLEET_SIGNINS_PUTS of them in one etcd transaction,
 * every half second: at most two etcd writes a second per host.  A key
 * lives as long as the host keeps the sign-in (retention): it goes under
 * the lease of its sign-in's day, which ends `retention` after that day
 * (older sign-ins are not sent).  riskctl finds a reference from any host
 * or admin machine.  Returns 0 or a negative errno.
 */
#ifndef RR_FLEET_SIGNINS_H
#define RR_FLEET_SIGNINS_H

#include "rr_etcd.h"
#include "rr_fleet_follow.h"
#include "rr_fleet_model.h"
#include "rr_store_replica.h"

#define RR_FLEET_SIGNINS_READ 256
#define RR_FLEET_SIGNINS_PUTS 32

typedef struct {
	const char *prefix;
	const char *host;
	int64_t retention_s; /* the policy's signin_retention_days */
	int64_t lease;       /* 0: none yet */
	int64_t lease_day;   /* the day (UTC, time / 86400) it is for */
} rr_fleet_signins_pub;

/* Whether the sign-in is risky (published): a detection, an action other
 * than allow, or an outcome other than success. */
bool rr_fleet_signin_risky(const rr_store_signin *s);

/* The lease of what happened on `day` (UTC, time / 86400): it ends
 * `retention` after the day (at least a minute from now); one for the
 * day, granted once.  The attacks raised for the fleet
 * (rr_fleet_attacks.h) live as long as the sign-ins. */
int rr_fleet_signins_lease(rr_fleet_signins_pub *p, rr_etcd *e, int64_t day,
			   int64_t now, int64_t *id);

/* One round: the risky sign-ins among the store's changes after its mark
 * (RR_STORE_MARK_SIGNINS), in one transaction; the mark moved past what
 * was read.  `now`: this host's clock, seconds. */
int rr_fleet_signins_publish(rr_fleet_signins_pub *p, rr_etcd *e,
			     rr_store *s, int64_t now);

/* Whether a published sign-in counts toward its user's aggregation
 * (rr_store_aggregate): its detections still at risk, one of them neither
 * bruteForce nor passwordSpray (those come from failed attempts and mark
 * the source, not the user), and a sign-in risk. */
bool rr_fleet_signin_counts(const rr_fleet_signin *v);

/* The other hosts' risky sign-ins, followed into the store with
 * rr_fleet_follow_load and _apply: those that count kept
 * (fleet_signins), the others and the gone dropped. */
extern const rr_fleet_follow rr_fleet_signins_follow;

/* The sign-in with reference `ref`: -ENOENT when etcd has none (never
 * risky, or past its retention), -EPROTO when its record is malformed. */
int rr_fleet_signin_get(rr_etcd *e, const char *prefix, const char *ref,
			rr_fleet_signin *out);

/* Every published sign-in, newest first (*rows malloc'd, free()); a key
 * whose value is not a valid record of the reference it names is counted
 * in *malformed (may be NULL) and left out. */
int rr_fleet_signins_read(rr_etcd *e, const char *prefix,
			  rr_fleet_signin **rows, size_t *n,
			  size_t *malformed);

#endif
