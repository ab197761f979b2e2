/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The other hosts' records of one directory of the tenant -- failed
 * sign-ins (P "fails/", rr_fleet_fails.h), risky sign-ins (P "signins/",
 * rr_fleet_signins.h) -- followed into this host's store: a full read
 * (what the store held of them cleared first, one store batch), then each
 * watch message's events (a key put: its record replaces what it said;
 * gone: dropped).  A key that is not of the directory's kind, or a value
 * that does not decode, is counted in *bad (may be NULL) and what its key
 * said is dropped.  This host's own records are left out (the store has
 * them).  Returns 0 or a negative errno.
 */
#ifndef RR_FLEET_FOLLOW_H
#define RR_FLEET_FOLLOW_H

#include "rr_etcd.h"
#include "rr_fleet_model.h"
#include "rr_store_replica.h"

typedef struct {
	rr_fleet_key_kind kind;
	size_t size; /* of the record decoded into `scratch` */
	int (*clear)(rr_store *s);
	int (*drop)(rr_store *s, const char *name);
	/* `len` bytes of the record of key segment `name` into scratch:
	 * 0, or -EPROTO when malformed */
	int (*decode)(const char *name, const char *text, size_t len,
		      void *scratch);
	/* the record's host */
	const char *(*host)(const void *scratch);
	/* keep it (what `name` said before is replaced) */
	int (*put)(rr_store *s, const char *name, const void *scratch);
} rr_fleet_follow;

int rr_fleet_follow_load(const rr_fleet_follow *d, const char *prefix,
			 const char *host, rr_etcd *e, rr_store *s,
			 int64_t *revision, size_t *bad);
int rr_fleet_follow_apply(const rr_fleet_follow *d, const char *prefix,
			  const char *host, rr_store *s,
			  const rr_etcd_watch_msg *m, size_t *bad);

#endif
