/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bruteForce and passwordSpray raised once for the whole fleet.  Every
 * host counts the fleet's failed sign-ins (rr_fleet_fails.h); a sign-in
 * from a source over a threshold carries the detection on whichever host
 * it happens.  The attack itself -- a user's failures from one network,
 * or one address failing against many names -- is raised once: by the
 * host whose count crosses the policy's threshold, with the fleet's count
 * and a reference, as P "attacks/" REF (rr_fleet_attack, kept as long as
 * sign-ins are).  Hosts that cross it together write one: the record is
 * created in a transaction only while the attack's mark P "attackmarks/"
 * M is absent, and the mark lives for the detection's window (then the
 * same attack may be raised again).
 *
 * Which attacks a host checks: the subjects of its own failures (noted as
 * its publisher sends them, rr_fleet_fails_publish), the newest
 * RR_FLEET_ATTACK_SUBJECTS, each until it is raised or out of its window.
 * A round (every half second, riskd's publisher) counts at most
 * RR_FLEET_ATTACK_CHECKS of them in the host's store, which holds the
 * other hosts' failures, and raises at most RR_FLEET_ATTACK_RAISES: at
 * most 2 x RR_FLEET_ATTACK_RAISES etcd calls a round (a lease and a
 * transaction each), and a subject is raised at most once per window.
 * Returns 0 or a negative errno.
 */
#ifndef RR_FLEET_ATTACKS_H
#define RR_FLEET_ATTACKS_H

#include "rr_engine.h"
#include "rr_etcd.h"
#include "rr_fleet_model.h"
#include "rr_fleet_signins.h"
#include "rr_store_replica.h"

#define RR_FLEET_ATTACK_SUBJECTS 64
#define RR_FLEET_ATTACK_CHECKS 16
#define RR_FLEET_ATTACK_RAISES 2

typedef struct {
	bool used;
	rr_event type;
	char user[RR_USER_MAX + 1];    /* bruteForce; "" for spray */
	char source[RR_RHOST_MAX + 1]; /* netkey, or the address */
	int64_t seen;       /* the newest own failure (time) */
	int64_t done_until; /* raised (here or elsewhere): not before then */
} rr_fleet_attack_subject;

typedef struct {
	const char *prefix;
	const char *host;
	rr_detection_cfg brute; /* the policy's bruteForce */
	rr_detection_cfg spray; /* and passwordSpray */
	rr_fleet_signins_pub *days; /* its leases (the retention) */
	size_t next;                /* where the next round's checks begin */
	rr_fleet_attack_subject subj[RR_FLEET_ATTACK_SUBJECTS];
} rr_fleet_attacks;

/* One of this host's failures (as published): its user and network, and
 * its address, become subjects to check (the least recently seen subject
 * makes way when the table is full). */
void rr_fleet_attacks_note(rr_fleet_attacks *a, const rr_fleet_failure *f);

/* One round at `now` (this host's clock, seconds): each attack raised by
 * this host into raised[*n] (at most RR_FLEET_ATTACK_RAISES), for the
 * caller to log; *lost: attacks another host had raised first. */
int rr_fleet_attacks_raise(rr_fleet_attacks *a, rr_etcd *e, rr_store *s,
			   int64_t now, rr_fleet_attack *raised, size_t *n,
			   size_t *lost);

/* Every raised attack, newest first (*rows malloc'd, free()); a
 * malformed record is counted in *malformed (may be NULL), left out. */
int rr_fleet_attacks_read(rr_etcd *e, const char *prefix,
			  rr_fleet_attack **rows, size_t *n,
			  size_t *malformed);

#endif
