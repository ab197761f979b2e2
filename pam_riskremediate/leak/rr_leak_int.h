/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to pam_riskremediate/leak. */
#ifndef RR_LEAK_INT_H
#define RR_LEAK_INT_H

#include "rr_leak.h"

#define rr_leak_stat(st, field)                                              \
	do {                                                                 \
		if (st)                                                      \
			(st)->field++;                                       \
	} while (0)

/* `n` hex characters; uppercase only unless `lower_ok`. */
bool rr_leak_is_hex(const char *s, size_t n, bool lower_ok);

/* ":COUNT" (1 to 20 digits, the whole of [p, p + len)); *zero when the
 * count is 0 (padding).  0 or -EPROTO. */
int rr_leak_parse_count(const char *p, size_t len, bool *zero);

#endif
