/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the rr_mfa sources; not part of the API. */
#ifndef RR_MFA_INT_H
#define RR_MFA_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "rr_mfa.h"

/* sodium_init() once (idempotent, thread-safe): 0 or -EIO. */
int rr_mfa_sodium_ready(void);

/* Parameters in range (alg known, digits 6|8, period 15..300, window
 * 0..10): 0 or -EINVAL. */
int rr_totp_params_check(const rr_totp_params *p);

/* True when `s` is a non-empty RFC 4648 base32 string (A-Z, 2-7, no
 * padding) of at most `max` characters. */
bool rr_mfa_is_b32(const char *s, size_t max);

#endif
