/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One directory of the tenant's records -- P "audit/", "signins/",
 * "hosts/" (rr_fleet_key_dir) -- read whole for riskctl's listings, or one
 * record of it for a lookup: every value decoded strictly and of the key
 * that names it; in a listing a malformed one is counted and left out,
 * never the whole answer refused.
 */
#ifndef RR_FLEET_DIR_H
#define RR_FLEET_DIR_H

#include "rr_etcd.h"
#include "rr_fleet_model.h"

/* Decode one value into `slot`: 0, or any negative errno (malformed). */
typedef int (*rr_fleet_dir_decode_fn)(const char *text, size_t len,
				      void *slot);
/* The name the record gives itself (the host, the reference), which its
 * key must give too; NULL: the key's name is not checked (audit ids). */
typedef const char *(*rr_fleet_dir_name_fn)(const void *slot);

typedef struct {
	rr_fleet_key_kind kind;
	size_t size; /* of one record */
	rr_fleet_dir_decode_fn decode;
	rr_fleet_dir_name_fn name;
	int (*cmp)(const void *, const void *); /* the order of *rows */
} rr_fleet_dir;

/* Every key of directory `kind` under `prefix` (rr_fleet_key_dir), as
 * etcd has them (rr_etcd_get_prefix). */
int rr_fleet_dir_range(rr_etcd *e, const char *prefix, rr_fleet_key_kind kind,
		       rr_etcd_range **out);

/* Every record of d's kind under `prefix`, in d->cmp's order: *rows a
 * calloc'd array of *n records (free()); a key that is not of the kind, a
 * value that does not decode or names another key is counted in
 * *malformed (may be NULL) and left out.  0 or a negative errno. */
int rr_fleet_dir_read(rr_etcd *e, const char *prefix, const rr_fleet_dir *d,
		      void **rows, size_t *n, size_t *malformed);
/* The record of key `key` (one of d's kind) into *slot: -ENOENT when
 * etcd has none, -EPROTO when it is not a valid record of that key. */
int rr_fleet_dir_get(rr_etcd *e, const char *prefix, const rr_fleet_dir *d,
		     const char *key, void *slot);

#endif
