/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the list parser (rr_iplist.c) and its compiled index
 * (rr_iplist_idx.c): one range layout, one search, so both give the same
 * answers.  Not for other units.
 */
#ifndef RR_IPLIST_INT_H
#define RR_IPLIST_INT_H

#include "rr_iplist.h"

#include <stddef.h>
#include <stdint.h>

/* A CIDR as an inclusive range [lo, hi] of big-endian numbers; IPv4 uses
 * the first 4 bytes, the rest zero.  Also the record of LIST.idx. */
typedef struct {
	uint8_t family; /* 4 or 6 */
	uint8_t lo[16];
	uint8_t hi[16];
} rr_ip_range;

_Static_assert(sizeof(rr_ip_range) == 33, "rr_ip_range is packed bytes");

struct rr_iplist {
	rr_ip_range *r;
	size_t n;
	size_t cap;
};

/* Binary search of n ranges sorted by (family, lo), disjoint. */
bool rr_ranges_find(const rr_ip_range *r, size_t n, const rr_addr *a);
/* Sorted, disjoint, not touching, families 4/6, lo <= hi. */
bool rr_ranges_valid(const rr_ip_range *r, size_t n);

#endif
