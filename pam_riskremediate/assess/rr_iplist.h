/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Admin-provided IP lists (anonymizedIPAddress, maliciousIPAddress): one
 * address or CIDR per line, '#' comments, blank lines.  Loaded into sorted,
 * merged ranges and searched in O(log n).
 */
#ifndef RR_IPLIST_H
#define RR_IPLIST_H

#include "rr_types.h"

#define RR_IPLIST_MAX_BYTES (256u * 1024u * 1024u)
#define RR_IPLIST_MAX_ENTRIES 20000000u

typedef struct rr_iplist rr_iplist;

/* Load a trusted file (root-owned, not group/other-writable, no symlink).
 * A malformed line fails the load with -EINVAL and *bad_line set. */
int rr_iplist_load(const char *path, rr_iplist **out, unsigned *bad_line);
/* Same from memory. */
int rr_iplist_parse(const char *buf, size_t len, rr_iplist **out,
		    unsigned *bad_line);
bool rr_iplist_contains(const rr_iplist *l, const rr_addr *a);
size_t rr_iplist_size(const rr_iplist *l);
void rr_iplist_free(rr_iplist *l);

#endif
