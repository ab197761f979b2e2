/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Admin-provided IP lists (anonymizedIPAddress, maliciousIPAddress): one
 * address or CIDR per line, '#' comments, blank lines.  Loaded into sorted,
 * merged ranges and searched in O(log n).
 *
 * Beside each list `riskctl feeds update` / `riskctl lists compile` keep a
 * compiled index, LIST.idx: a header naming the text it was built from
 * (size, mtime, ctime, inode, BLAKE2b-256 of the bytes) and the merged
 * ranges, sorted.  A sign-in maps it and binary-searches it, so a login
 * never parses a million-line text; when the index is missing, stale or
 * damaged the text is parsed instead (same answers, slower) and the caller
 * is told, so it can ask the admin to run `riskctl feeds update`.
 */
#ifndef RR_IPLIST_H
#define RR_IPLIST_H

#include "rr_types.h"

#define RR_IPLIST_MAX_BYTES (256u * 1024u * 1024u)
#define RR_IPLIST_MAX_ENTRIES 20000000u
#define RR_IPLIST_IDX_SUFFIX ".idx"
#define RR_IPLIST_HASH_LEN 32

typedef struct rr_iplist rr_iplist;
typedef struct rr_iplist_index rr_iplist_index;

/* Load a trusted file (root-owned, not group/other-writable, no symlink).
 * A malformed line fails the load with -EINVAL and *bad_line set. */
int rr_iplist_load(const char *path, rr_iplist **out, unsigned *bad_line);
/* Same from memory. */
int rr_iplist_parse(const char *buf, size_t len, rr_iplist **out,
		    unsigned *bad_line);
bool rr_iplist_contains(const rr_iplist *l, const rr_addr *a);
/* Number of merged ranges. */
size_t rr_iplist_size(const rr_iplist *l);
void rr_iplist_free(rr_iplist *l);

/* ---- compiled index ---------------------------------------------------- */

/* Why a lookup could not use the index (rr_iplist_lookup *flags). */
enum {
	RR_IPLIST_IDX_MISSING = 1u << 0, /* no LIST.idx */
	RR_IPLIST_IDX_STALE = 1u << 1,   /* the text changed since compile */
	RR_IPLIST_IDX_BAD = 1u << 2,     /* damaged, foreign, untrusted */
	RR_IPLIST_UNINDEXED = RR_IPLIST_IDX_MISSING | RR_IPLIST_IDX_STALE |
			      RR_IPLIST_IDX_BAD,
};

/* "LIST.idx" into buf: 0 or -ENAMETOOLONG. */
int rr_iplist_index_path(const char *list, char *buf, size_t len);

/*
 * Compile the trusted list file `list` into LIST.idx: parse it (-EINVAL
 * with *bad_line on a malformed line), write a temporary file (0644) in the
 * same directory, fsync, rename.  Retries when the text changes while it
 * is read (-EAGAIN after a few attempts).  *n_ranges: merged ranges.
 */
int rr_iplist_compile(const char *list, size_t *n_ranges,
		      unsigned *bad_line);

/*
 * Open the index of `list` (trusted-file rules) and check that it was
 * compiled from the text as it is now (size, mtime, ctime, inode).
 * -ENOENT no index, -ESTALE stale, -EBADMSG damaged or foreign, -EPERM /
 * -ELOOP untrusted, or the error opening the text itself.
 */
int rr_iplist_index_open(const char *list, rr_iplist_index **out);
bool rr_iplist_index_contains(const rr_iplist_index *x, const rr_addr *a);
size_t rr_iplist_index_size(const rr_iplist_index *x);
void rr_iplist_index_close(rr_iplist_index *x);

/*
 * Full check for tools (O(n)): the index is current, the ranges are
 * sorted, disjoint and well-formed, and the text's BLAKE2b matches the one
 * recorded.  0 or the errors of rr_iplist_index_open.
 */
int rr_iplist_index_verify(const char *list);

/*
 * Is `a` in the list file `list`?  Uses the index when it is current;
 * otherwise parses the text and sets RR_IPLIST_IDX_* in *flags (the answer
 * is the same).  Errors are those of rr_iplist_load (the text is missing,
 * untrusted or malformed), never of the index.
 */
int rr_iplist_lookup(const char *list, const rr_addr *a, bool *hit,
		     unsigned *flags);

/* "has no index", "index is stale", "index is damaged or untrusted". */
const char *rr_iplist_index_problem(unsigned flags);

#endif
